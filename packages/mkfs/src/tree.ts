/**
 * The in-memory tree an image is built from. Plain objects, so that tests, browsers and
 * generators can make one without touching a disk. A non-directory node that appears at
 * several paths (the same object) is a hard link: one inode, nlink = number of paths.
 */

/** Extended attributes by full name ("user.comment", "security.selinux", ...). */
export type XattrMap = Record<string, Uint8Array>;

export interface NodeMeta {
  /** Permission bits (the low 12 bits of st_mode); defaults: 0o755 dirs, 0o777 symlinks, 0o644 others. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since 1970 (may be negative); defaults to the build epoch. */
  mtime?: number;
  /** 0..999999999; defaults to the build's fixed nanoseconds when mtime is absent, else 0. */
  mtimeNsec?: number;
  xattrs?: XattrMap;
}

export interface FileNode extends NodeMeta {
  type: 'file';
  data: Uint8Array;
}

export interface DirNode extends NodeMeta {
  type: 'dir';
  /** Children by name (UTF-8 string or raw bytes); order does not matter, the image sorts them. */
  entries: Map<string | Uint8Array, TreeNode>;
}

export interface SymlinkNode extends NodeMeta {
  type: 'symlink';
  target: string | Uint8Array;
}

export interface DeviceNode extends NodeMeta {
  type: 'chardev' | 'blockdev';
  major: number;
  minor: number;
}

export interface SpecialNode extends NodeMeta {
  type: 'fifo' | 'socket';
}

export type TreeNode = FileNode | DirNode | SymlinkNode | DeviceNode | SpecialNode;
export type NodeType = TreeNode['type'];

const utf8 = new TextEncoder();

export const file = (data: Uint8Array | string, meta: NodeMeta = {}): FileNode => ({
  type: 'file',
  data: typeof data === 'string' ? utf8.encode(data) : data,
  ...meta,
});

export const dir = (entries: Record<string, TreeNode> | Map<string | Uint8Array, TreeNode> = {}, meta: NodeMeta = {}): DirNode => ({
  type: 'dir',
  entries: entries instanceof Map ? entries : new Map(Object.entries(entries)),
  ...meta,
});

export const symlink = (target: string | Uint8Array, meta: NodeMeta = {}): SymlinkNode => ({ type: 'symlink', target, ...meta });

export const device = (type: 'chardev' | 'blockdev', major: number, minor: number, meta: NodeMeta = {}): DeviceNode => ({
  type,
  major,
  minor,
  ...meta,
});

export const fifo = (meta: NodeMeta = {}): SpecialNode => ({ type: 'fifo', ...meta });
export const socket = (meta: NodeMeta = {}): SpecialNode => ({ type: 'socket', ...meta });

/** Name bytes of a directory entry key. */
export function nameBytes(name: string | Uint8Array): Uint8Array {
  return typeof name === 'string' ? utf8.encode(name) : name;
}

/** Unsigned bytewise comparison, shorter first on a common prefix (the on-disk directory order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
