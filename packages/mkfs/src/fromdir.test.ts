import { describe, expect, it } from 'vitest';
import { chmodSync, lstatSync, mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, linkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeFromDirectory } from './fromdir.js';
import type { DirNode, TreeNode } from './tree.js';

/** Content as its length and hash: a mismatch prints two lines, not two arrays. */
const content = (b: Uint8Array) => ({ length: b.length, sha256: createHash('sha256').update(b).digest('hex') });

/** What node:fs says of `path`, in the tree's terms: the truth a node is compared with. */
function observed(path: string): Record<string, unknown> {
  const st = lstatSync(path, { bigint: true });
  const meta = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: Number(st.mtimeNs / 1_000_000_000n), mtimeNsec: Number(st.mtimeNs % 1_000_000_000n) };
  if (st.isDirectory()) return { type: 'dir', ...meta };
  if (st.isSymbolicLink()) return { type: 'symlink', target: new Uint8Array(readlinkSync(path, { encoding: 'buffer' })), ...meta };
  if (st.isFile()) return { type: 'file', data: content(readFileSync(path)), ...meta };
  throw new Error(`unexpected file type at ${path}`);
}

function comparable(node: TreeNode | undefined): Record<string, unknown> | undefined {
  if (!node) return undefined;
  const { entries: _entries, xattrs: _xattrs, ...rest } = node as TreeNode & { entries?: unknown };
  const r: Record<string, unknown> = { ...rest };
  if (node.type === 'file') r.data = content(node.data);
  if (node.type === 'symlink') r.target = typeof node.target === 'string' ? new TextEncoder().encode(node.target) : new Uint8Array(node.target);
  return r;
}

describe('treeFromDirectory', () => {
  it('reads files, directories, symlinks and hard links as node:fs sees them: names, metadata, content', () => {
    const d = mkdtempSync(join(tmpdir(), 'fromdir-'));
    try {
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'a'), 'hello');
      chmodSync(join(d, 'a'), 0o640);
      linkSync(join(d, 'a'), join(d, 'sub', 'b'));
      symlinkSync('a', join(d, 'l'));
      writeFileSync(join(d, 'empty'), '');
      writeFileSync(join(d, 'sub', 'big'), randomBytes(200_003));
      chmodSync(join(d, 'sub', 'big'), 0o4755);
      utimesSync(join(d, 'sub', 'big'), 1_000_000_000.25, -86_400.5);
      // A name that is not UTF-8 is kept as its bytes.
      writeFileSync(Buffer.concat([Buffer.from(d + '/'), Buffer.from([0x6e, 0xff, 0x2e])]), 'raw name');

      const t = treeFromDirectory(d, { xattrs: false });
      const paths: [string[], string | Buffer][] = [
        [[], d],
        [['a'], join(d, 'a')],
        [['empty'], join(d, 'empty')],
        [['l'], join(d, 'l')],
        [['sub'], join(d, 'sub')],
        [['sub', 'b'], join(d, 'sub', 'b')],
        [['sub', 'big'], join(d, 'sub', 'big')],
      ];
      const at = (names: (string | Uint8Array)[]): TreeNode | undefined => {
        let n: TreeNode | undefined = t;
        for (const name of names) n = n?.type === 'dir' ? n.entries.get(name) : undefined;
        return n;
      };
      for (const [names, path] of paths) expect(comparable(at(names)), '/' + names.join('/')).toEqual(observed(path as string));

      // Every name, and nothing else; the non-UTF-8 one under its bytes.
      const keys = (n: TreeNode | undefined) => [...(n as DirNode).entries.keys()].map((k) => (typeof k === 'string' ? k : Buffer.from(k).toString('hex'))).sort();
      expect(keys(t)).toEqual(['6eff2e', 'a', 'empty', 'l', 'sub']);
      expect(keys(at(['sub']))).toEqual(['b', 'big']);
      const raw = [...t.entries].find(([k]) => typeof k !== 'string')!;
      expect(comparable(raw[1])).toMatchObject({ type: 'file', data: content(new TextEncoder().encode('raw name')) });

      // A hard link is one object at both paths; other files are not shared.
      const a = at(['a']);
      expect(a).toBeTypeOf('object');
      expect(at(['sub', 'b'])).toBe(a);
      expect(at(['empty'])).not.toBe(a);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
