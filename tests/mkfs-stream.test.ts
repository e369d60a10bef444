/**
 * The streaming builder against the in-memory one: the same tree must give the same bytes
 * whichever way it reaches the builder (objects in memory, a content reader that serves
 * pieces, a directory scanned on disk) and whatever the write buffer's size; and a source
 * that fails part way (a file that vanishes, shrinks or changes) must leave no image file.
 *
 * The fast-check seed is printed; rerun a failure with FC_SEED=<seed>. FC_RUNS scales the
 * number of runs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, existsSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Image, MemorySource } from '@erofs-js/erofs';
import { buildImage, buildImageTo, treeSource, BuildError, nameBytes, type BuildOptions, type DirNode, type TreeNode } from '@erofs-js/mkfs';
import { buildImageFile, scanDirectory, treeFromDirectory, writeImageFile } from '@erofs-js/mkfs/node';
import { fsck } from '../packages/cli/src/fsck.js';
import { treeOf, treeSpecArb } from './mkfs-tree.js';
import { fcRuns } from './fc-runs.js';

const { runs } = fcRuns('mkfs stream', 20260602);
const isRoot = process.getuid?.() === 0;

/** A sink that checks the contract (contiguous pieces from 0) and keeps the bytes. */
function collect(): { sink: { write(b: Uint8Array, p: number): void }; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  let end = 0;
  return {
    sink: {
      write(b, p) {
        expect(p).toBe(end);
        parts.push(Buffer.from(b)); // the piece is only valid during the call
        end += b.length;
      },
    },
    bytes: () => Buffer.concat(parts),
  };
}

/** The tree's content served in pieces only (no whole-file view): the path a disk source takes. */
function piecewise(tree: DirNode) {
  const src = treeSource(tree);
  return { table: src.table, content: { read: src.content.read } };
}

/** Writes a generated tree to `root` (an existing directory): the kinds a plain user can make, plus devices and fifos as root. */
function materialize(tree: DirNode, root: string): void {
  const first = new Map<TreeNode, Buffer>();
  const dirs: [Buffer, DirNode][] = [];
  const visit = (node: DirNode, path: Buffer) => {
    dirs.push([path, node]);
    for (const [key, child] of node.entries) {
      const p = Buffer.concat([path, Buffer.from('/'), Buffer.from(nameBytes(key))]);
      const seen = first.get(child);
      if (seen) {
        linkSync(seen, p);
        continue;
      }
      if (child.type === 'dir') {
        mkdirSync(p);
        visit(child, p);
        continue;
      }
      if (child.type === 'file') writeFileSync(p, child.data);
      else if (child.type === 'symlink') symlinkSync(Buffer.from(nameBytes(child.target)), p);
      else if (!p.every((c) => c < 0x80)) continue; // mkfifo and mknod take the path as a string
      else if (child.type === 'fifo') spawnSync('mkfifo', [p.toString()]);
      else if ((child.type === 'chardev' || child.type === 'blockdev') && isRoot) {
        spawnSync('mknod', [p.toString(), child.type === 'chardev' ? 'c' : 'b', String(child.major), String(child.minor)]);
      } else continue;
      if (!existsSync(p) && child.type !== 'symlink') continue;
      if (child.type !== 'symlink' && child.mode !== undefined) chmodSync(p, child.mode | (isRoot ? 0 : 0o400));
      if (child.mtime !== undefined) lutimesSync(p, child.mtime, child.mtime);
      first.set(child, p);
    }
  };
  visit(tree, Buffer.from(root));
  // Directories last (their mtimes change as entries are made), deepest first.
  for (const [p, d] of dirs.reverse()) {
    if (d.mode !== undefined) chmodSync(p, d.mode | 0o700);
    if (d.mtime !== undefined) lutimesSync(p, d.mtime, d.mtime);
  }
}

describe('streamed images equal in-memory images', () => {
  it('generated trees: content served in pieces, write buffers from 512 bytes to 64 KiB', () => {
    fc.assert(
      fc.property(treeSpecArb, fc.constantFrom(512, 3000, 4096, 1 << 16), (spec, bufferBytes) => {
        const { tree, options } = treeOf(spec);
        const want = buildImage(tree, options);
        const out = collect();
        const size = buildImageTo(piecewise(tree), out.sink, options, bufferBytes);
        expect(size).toBe(want.length);
        expect(Buffer.compare(out.bytes(), want)).toBe(0);
      }),
      runs(120),
    );
  }, 300_000);

  it('generated trees written to disk: buildImageFile (scan + pread + file sink) = buildImage(treeFromDirectory)', () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-stream-'));
    let n = 0;
    try {
      fc.assert(
        fc.property(treeSpecArb, (spec) => {
          const { tree, options } = treeOf(spec);
          const root = join(work, `t${n++}`);
          mkdirSync(root);
          materialize(tree, root);
          const opts: BuildOptions = { ...options, epoch: undefined, fixedNsec: undefined };
          const want = buildImage(treeFromDirectory(root, { xattrs: false }), opts);
          const dest = join(work, 'out.erofs');
          expect(buildImageFile(root, dest, { ...opts, xattrs: false })).toBe(want.length);
          const got = readFileSync(dest);
          expect(Buffer.compare(got, want)).toBe(0);
          expect(fsck(new Image(new MemorySource(new Uint8Array(got))), { maxErrors: 5 }).errors).toEqual([]);
          rmSync(root, { recursive: true, force: true });
        }),
        runs(25),
      );
      expect(readdirSync(work)).toEqual(['out.erofs']); // no temporary files left
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);

  it('the same image whatever order readdir gives: names sorted bytewise, inodes breadth first', () => {
    const a = buildImage({ type: 'dir', entries: new Map<string, TreeNode>([['b', { type: 'file', data: new Uint8Array(3) }], ['a', { type: 'dir', entries: new Map() }]]) });
    const b = buildImage({ type: 'dir', entries: new Map<string, TreeNode>([['a', { type: 'dir', entries: new Map() }], ['b', { type: 'file', data: new Uint8Array(3) }]]) });
    expect(Buffer.compare(a, b)).toBe(0);
  });
});

describe('xattrs of a scanned tree (one getfattr -R)', () => {
  const haveSetfattr = !spawnSync('setfattr', ['--version']).error;
  it.skipIf(!haveSetfattr)('reads names with newlines, backslashes and non-UTF-8 bytes, symlinks and directories', () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-xattr-'));
    try {
      const odd = Buffer.concat([Buffer.from('we\nird\\na'), Buffer.from([0xff, 0x41])]);
      mkdirSync(join(work, 'sub'));
      writeFileSync(Buffer.concat([Buffer.from(work + '/sub/'), odd]), 'x');
      writeFileSync(join(work, 'plain'), 'y');
      symlinkSync('plain', join(work, 'link'));
      const set = (args: string[], path: string) => spawnSync('setfattr', [...args, path]).status;
      if (set(['-n', 'user.t', '-v', '1'], join(work, 'plain')) !== 0) return; // no user xattrs on this filesystem
      // argv strings cannot carry the name's bytes: the shell's glob hands them over.
      spawnSync('sh', ['-c', 'setfattr -n user.odd -v 0x00ff we*'], { cwd: join(work, 'sub') });
      set(['-n', 'user.d', '-v', 'dir'], join(work, 'sub'));
      if (isRoot) set(['-h', '-n', 'trusted.l', '-v', 'sym'], join(work, 'link'));
      const tree = treeFromDirectory(work);
      const sub = tree.entries.get('sub') as DirNode;
      expect(sub.xattrs).toEqual({ 'user.d': new TextEncoder().encode('dir') });
      const oddNode = [...sub.entries].find(([k]) => Buffer.compare(Buffer.from(nameBytes(k)), odd) === 0)![1];
      expect(oddNode.xattrs).toEqual({ 'user.odd': new Uint8Array([0, 0xff]) });
      if (isRoot) expect(tree.entries.get('link')!.xattrs).toEqual({ 'trusted.l': new TextEncoder().encode('sym') });
      const dest = join(work, '..', `${work.split('/').pop()}.erofs`);
      buildImageFile(work, dest);
      const img = new Image(new MemorySource(new Uint8Array(readFileSync(dest))));
      rmSync(dest);
      const subIno = img.inode(img.lookup(img.root(), 'sub')!.nid);
      expect([...img.getXattr(img.inode(img.lookup(subIno, odd)!.nid), 'user.odd')!]).toEqual([0, 0xff]);
      expect(Buffer.compare(img.readFile(img.inode(img.lookup(subIno, odd)!.nid)), Buffer.from('x'))).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('a source that fails part way leaves no image', () => {
  const setup = () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-fail-'));
    const src = join(work, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(src, 'd', `f${i}`), Buffer.alloc(10_000 + i * 999, `line ${i} of text `));
    const dest = join(work, 'out.erofs');
    return { work, src, dest };
  };
  /** Builds with `damage` done once the image has started (the first piece written). */
  const build = (src: string, dest: string, damage: () => void, options: BuildOptions = {}) => {
    const s = scanDirectory(src, { xattrs: false });
    try {
      return writeImageFile(dest, (sink) => {
        let done = false;
        return buildImageTo(s, { write: (b, p) => (done ||= (damage(), true), sink.write(b, p)) }, options, 4096);
      });
    } finally {
      s.close();
    }
  };

  it('a file that vanishes: the read error, no image file, no temporary file', () => {
    const { work, src, dest } = setup();
    try {
      expect(() => build(src, dest, () => unlinkSync(join(src, 'd', 'f7')))).toThrow(/ENOENT.*f7/);
      expect(readdirSync(work)).toEqual(['src']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('a file that shrinks: BuildError; an existing image stays as it was', () => {
    const { work, src, dest } = setup();
    try {
      writeFileSync(dest, 'the previous image');
      expect(() => build(src, dest, () => truncateSync(join(src, 'd', 'f3'), 100))).toThrow(BuildError);
      expect(readFileSync(dest, 'utf8')).toBe('the previous image');
      expect(readdirSync(work).sort()).toEqual(['out.erofs', 'src']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('an LZ4 file whose bytes change between the passes: BuildError, not a corrupt image', () => {
    const { work, src, dest } = setup();
    try {
      const noise = randomBytes(10_000 + 5 * 999); // same size, nothing to compress
      expect(() => build(src, dest, () => writeFileSync(join(src, 'd', 'f5'), noise), { compression: 'lz4' })).toThrow(/changed while the image was being built/);
      expect(readdirSync(work)).toEqual(['src']);
      // Undamaged, the same build succeeds and decodes.
      expect(build(src, dest, () => {}, { compression: 'lz4' })).toBeGreaterThan(0);
      const img = new Image(new MemorySource(new Uint8Array(readFileSync(dest))));
      const d = img.inode(img.lookup(img.root(), 'd')!.nid);
      expect(Buffer.compare(img.readFile(img.inode(img.lookup(d, 'f5')!.nid)), noise)).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
