/**
 * A node of the mount layer is a node of whichever filesystem it is in, through the
 * filesystem contract (packages/vfs/src/contract.ts): these helpers call the node's own
 * filesystem, so resolution and the syscall surface never ask which filesystem it is.
 *
 * Reference rule: a node a caller holds is released with drop().
 */
import {
  isDirNode,
  isRegNode,
  isSymlinkNode,
  type AnyFilesystem,
  type Credentials,
  type FsNode,
  type OpenFile as ContractOpenFile,
  type Stat,
  type StatFs,
  type Statx,
} from '@erofs-js/vfs';

export type Node = FsNode;
export type MountedFs = AnyFilesystem;
/** What the syscall surface needs of an open description. */
export type OpenFile = ContractOpenFile;

/** Takes a reference; returns the node. */
export function hold<T extends Node>(n: T): T {
  n.incRef();
  return n;
}

export function drop(n: Node): void {
  n.decRef();
}

export const isDir = isDirNode;
export const isSymlink = isSymlinkNode;
export const isReg = isRegNode;

/** The parent directory within the node's filesystem (the root is its own parent). */
export function parentNode(n: Node): Node {
  return n.parent ?? n;
}

/** The name bytes of a node as a latin1 key ("" for a filesystem root). */
export function nodeKey(n: Node): string {
  return n.key;
}

export function fsOf(n: Node): MountedFs {
  return n.fs;
}

/** One path step: search permission on `dir`, then the name. Returns the node held. */
export function lookup(dir: Node, name: Uint8Array, creds: Credentials): Node {
  return dir.fs.lookup(dir, name, creds);
}

/** lookup() of buf[start..end): the filesystem's byte fast path when it has one. */
export function lookupBytes(dir: Node, buf: Uint8Array, start: number, end: number, creds: Credentials): Node {
  const fs = dir.fs;
  return fs.lookupBytes ? fs.lookupBytes(dir, buf, start, end, creds) : fs.lookup(dir, buf.subarray(start, end), creds);
}

const DOT = new Uint8Array([0x2e]);

/** Search permission on a directory (ENOTDIR, EACCES), as one lookup step checks it. */
export function checkSearch(dir: Node, creds: Credentials): void {
  drop(lookup(dir, DOT, creds));
}

export function readlink(n: Node): Uint8Array {
  return n.fs.readlink(n);
}

export function stat(n: Node): Stat {
  return n.fs.stat(n);
}

export function statx(n: Node): Statx {
  return n.fs.statx(n);
}

export function statfs(fs: MountedFs): StatFs {
  return fs.statfs();
}

export function open(n: Node, flags: number, creds: Credentials, created = false): OpenFile {
  return n.fs.open(n, flags, creds, created);
}

export function access(n: Node, mode: number, creds: Credentials): void {
  n.fs.access(n, mode, creds);
}

export function getxattr(n: Node, name: Uint8Array, dest: Uint8Array | null, creds: Credentials): number {
  return n.fs.getxattr(n, name, dest, creds);
}

export function listxattr(n: Node, dest: Uint8Array | null, creds: Credentials): number {
  return n.fs.listxattr(n, dest, creds);
}

/** The node an open description refers to. */
export function nodeOfFile(f: OpenFile): Node {
  return f.node;
}

