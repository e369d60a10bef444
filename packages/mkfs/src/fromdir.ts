/**
 * Node only: a directory on disk -> an in-memory tree (lstat, readlink, file contents).
 * Hard links (same dev and ino) become one node. Extended attributes are read with
 * getfattr when it is installed (Node has no listxattr); `xattrs: false` skips them.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { DirNode, NodeMeta, TreeNode, XattrMap } from './tree.js';

export interface FromDirOptions {
  /** Read extended attributes with getfattr (default true; silently none when getfattr is missing). */
  xattrs?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function nameKey(name: Buffer): string | Uint8Array {
  try {
    return utf8.decode(name);
  } catch {
    return new Uint8Array(name);
  }
}

/** All xattrs of a path, via `getfattr -h -d -m - -e base64`. */
function readXattrs(path: Buffer): XattrMap | undefined {
  const r = spawnSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', path.toString('latin1')], {
    encoding: 'buffer',
  });
  if (r.error || r.status !== 0) return undefined;
  const out: XattrMap = {};
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const m = /^([^#=][^=]*)=0s(.*)$/.exec(line);
    if (m) out[m[1]] = new Uint8Array(Buffer.from(m[2], 'base64'));
    else {
      const e = /^([^#=][^=]*)(?:="(.*)")?$/.exec(line);
      if (e && e[1]) out[e[1]] = new Uint8Array(Buffer.from(e[2] ?? '', 'utf8'));
    }
  }
  return Object.keys(out).length ? out : undefined;
}

let getfattrWorks: boolean | undefined;
function haveGetfattr(): boolean {
  if (getfattrWorks === undefined) getfattrWorks = !spawnSync('getfattr', ['--version']).error;
  return getfattrWorks;
}

/** Reads the tree under `root` (a directory). */
export function treeFromDirectory(root: string, options: FromDirOptions = {}): DirNode {
  const wantX = (options.xattrs ?? true) && haveGetfattr();
  const links = new Map<string, TreeNode>();
  const visit = (path: Buffer): TreeNode => {
    const st = lstatSync(path, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    if (!st.isDirectory() && st.nlink > 1n) {
      const seen = links.get(key);
      if (seen) return seen;
    }
    const meta: NodeMeta = {
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: Number(st.mtimeNs / 1_000_000_000n - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1n : 0n)),
      mtimeNsec: Number(((st.mtimeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n),
    };
    if (wantX) {
      const x = readXattrs(path);
      if (x) meta.xattrs = x;
    }
    let node: TreeNode;
    if (st.isDirectory()) {
      const entries = new Map<string | Uint8Array, TreeNode>();
      for (const name of readdirSync(path, { encoding: 'buffer' })) entries.set(nameKey(name), visit(Buffer.concat([path, Buffer.from('/'), name])));
      node = { type: 'dir', entries, ...meta };
    } else if (st.isFile()) node = { type: 'file', data: new Uint8Array(readFileSync(path)), ...meta };
    else if (st.isSymbolicLink()) node = { type: 'symlink', target: new Uint8Array(readlinkSync(path, { encoding: 'buffer' })), ...meta };
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = Number(st.rdev);
      const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
      const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
      node = { type: st.isCharacterDevice() ? 'chardev' : 'blockdev', major, minor, ...meta };
    } else if (st.isFIFO()) node = { type: 'fifo', ...meta };
    else if (st.isSocket()) node = { type: 'socket', ...meta };
    else throw new Error(`${path.toString()}: unsupported file type`);
    if (!st.isDirectory() && st.nlink > 1n) links.set(key, node);
    return node;
  };
  const top = visit(Buffer.from(join(root)));
  if (top.type !== 'dir') throw new Error(`${root}: not a directory`);
  return top;
}
