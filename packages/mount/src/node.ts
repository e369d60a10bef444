/**
 * A node of the mount layer: a vfs Dentry (in an image's Filesystem) or a directory of
 * the synthetic root. These helpers give both one face, so that resolution and the
 * syscall surface need not care which filesystem they are in.
 *
 * Reference rule: a Dentry that a caller holds must be released with drop(); holding a
 * synthetic directory costs nothing (the tree never shrinks).
 */
import {
  Dentry,
  Filesystem,
  SysError,
  toKey,
  type Credentials,
  type FileDescription,
  type Stat,
  type StatFs,
  type Statx,
} from '@erofs-js/vfs';
import { SynthDir, SyntheticFs, type SynthFile } from './synthetic.js';

export type Node = Dentry | SynthDir;
export type MountedFs = Filesystem | SyntheticFs;

/** What the syscall surface needs of an open description (vfs FileDescription or SynthFile). */
export type OpenFile = FileDescription | SynthFile;

export function isSynth(n: Node): n is SynthDir {
  return n instanceof SynthDir;
}

export function rootOf(fs: MountedFs): Node {
  return fs.root;
}

/** Takes a reference (a no-op for synthetic directories); returns the node. */
export function hold<T extends Node>(n: T): T {
  if (!(n instanceof SynthDir)) (n as Dentry).incRef();
  return n;
}

export function drop(n: Node): void {
  if (!(n instanceof SynthDir)) n.decRef();
}

export function isDir(n: Node): boolean {
  return n instanceof SynthDir || n.inode.isDir;
}

export function isSymlink(n: Node): boolean {
  return !(n instanceof SynthDir) && n.inode.isSymlink;
}

export function isReg(n: Node): boolean {
  return !(n instanceof SynthDir) && n.inode.isReg;
}

/** The parent directory within the node's filesystem (the root is its own parent). */
export function parentNode(n: Node): Node {
  return n.parent ?? n;
}

/** The name bytes of a node as a latin1 key ("" for a filesystem root). */
export function nodeKey(n: Node): string {
  return n.key;
}

export function fsOf(n: Node): MountedFs {
  return n instanceof SynthDir ? n.fs : n.inode.fs;
}

/** One path step: search permission on `dir`, then the name. Returns the node held. */
export function lookup(dir: Node, name: Uint8Array, creds: Credentials): Node {
  if (dir instanceof SynthDir) return dir.fs.lookup(dir, toKey(name), creds);
  return dir.inode.fs.lookup(dir, name, creds);
}

/** Search permission on a directory (ENOTDIR, EACCES), as one lookup step checks it. */
export function checkSearch(dir: Node, creds: Credentials): void {
  const self = lookup(dir, DOT, creds);
  drop(self);
}

const DOT = new Uint8Array([0x2e]);

export function readlink(n: Node): Uint8Array {
  if (n instanceof SynthDir) throw new SysError('EINVAL', 'not a symbolic link');
  return n.inode.fs.readlink(n);
}

export function stat(n: Node): Stat {
  return n instanceof SynthDir ? n.fs.stat(n) : n.inode.stat();
}

export function statx(n: Node): Statx {
  return n instanceof SynthDir ? n.fs.statx(n) : n.inode.statx();
}

export function statfs(fs: MountedFs): StatFs {
  return fs.statfs();
}

export function open(n: Node, flags: number, creds: Credentials): OpenFile {
  if (n instanceof SynthDir) return n.fs.open(n, flags, creds);
  return n.inode.fs.open(n, flags, creds);
}

export function access(n: Node, mode: number, creds: Credentials): void {
  if (n instanceof SynthDir) n.fs.access(n, mode, creds);
  else n.inode.fs.access(n, mode, creds);
}

export function getxattr(n: Node, name: Uint8Array, dest: Uint8Array | null, creds: Credentials): number {
  if (n instanceof SynthDir) return n.fs.getxattr(n, name, creds);
  return n.inode.fs.getxattr(n, name, dest, creds);
}

export function listxattr(n: Node, dest: Uint8Array | null, creds: Credentials): number {
  if (n instanceof SynthDir) return 0;
  return n.inode.fs.listxattr(n, dest, creds);
}

/** The node an open description refers to. */
export function nodeOfFile(f: OpenFile): Node {
  return 'dentry' in f ? f.dentry : f.dir;
}
