/**
 * The builder's input: every inode and directory entry of a tree in columns of typed
 * arrays, names and symlink targets as bytes in one pool. About 70 bytes per inode plus
 * its name, where an object tree costs several hundred: a million entries fit in ~100 MB.
 *
 * Order is part of the contract. Inodes are numbered breadth first from the root (index
 * 0), each directory's children visited in bytewise name order, so any source of the same
 * tree (objects in memory, a directory scan in readdir order) gives the same table and
 * the same image. A directory's entries are contiguous, sorted, without "." and "..".
 *
 * File content is not here: the builder asks a ContentSource for it by inode index, so a
 * file's bytes are read when they are written and dropped after.
 */
import { compareBytes, nameBytes, type DirNode, type NodeMeta, type NodeType, type TreeNode, type XattrMap } from './tree.js';

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/** Inode kinds, numbered as the directory entry file types (EROFS_FT_*). */
export const KIND: Record<NodeType, number> = { file: 1, dir: 2, chardev: 3, blockdev: 4, fifo: 5, socket: 6, symlink: 7 };
export const FILE = 1;
export const DIR = 2;
export const CHARDEV = 3;
export const BLOCKDEV = 4;
export const SYMLINK = 7;

/** Where the builder reads file content. */
export interface ContentSource {
  /** Fills `dest` with the bytes of file `ino` at `position` (all of them, or throws). */
  read(ino: number, position: number, dest: Uint8Array): void;
  /** The whole content when it is already in memory (read without a copy). */
  bytes?(ino: number): Uint8Array;
  /**
   * Where file `ino`'s bytes already are on extra device 1 (a byte offset, block aligned), or
   * undefined: such a file is stored as a chunk index into the device, its data not copied
   * into the image (mkfs.erofs --tar=i). Needs `devices` in the BuildSource.
   */
  external?(ino: number): number | undefined;
}

/** What the builder needs: the table and where its files' bytes come from. */
export interface BuildSource {
  table: InodeTable;
  content: ContentSource;
  /** Extra devices of the image (a device table): their sizes in bytes and optional tags. */
  devices?: { size: number; tag?: string }[];
}

/** One extended attribute, split as the on-disk entry stores it. */
export interface Xattr {
  /** The full name (for sorting and the filter hash input's suffix below). */
  name: Uint8Array;
  /** Built-in prefix index (EROFS_XATTR_INDEX_*). */
  index: number;
  suffix: Uint8Array;
  value: Uint8Array;
  /** name NUL value, as latin1: the identity of a shareable xattr. */
  key: string;
}

/** Built-in xattr prefixes, longest first so "system.posix_acl_access" wins over nothing. */
const XATTR_PREFIXES: [string, number, boolean][] = [
  ['system.posix_acl_default', 3, true],
  ['system.posix_acl_access', 2, true],
  ['security.', 6, false],
  ['trusted.', 4, false],
  ['user.', 1, false],
];

const utf8 = new TextEncoder();
const NONE = 0xffffffff;

export function latin(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function splitXattr(name: string, value: Uint8Array): Xattr {
  const bytes = utf8.encode(name);
  for (const [prefix, index, whole] of XATTR_PREFIXES) {
    if (whole ? name === prefix : name.startsWith(prefix) && name.length > prefix.length) {
      const suffix = bytes.subarray(utf8.encode(prefix).length);
      if (value.length > 0xffff) throw new BuildError(`xattr ${name}: value of ${value.length} bytes exceeds 65535`);
      if (suffix.length > 255) throw new BuildError(`xattr ${name}: name suffix longer than 255 bytes`);
      return { name: bytes, index, suffix, value, key: latin(bytes) + '\0' + latin(value) };
    }
  }
  throw new BuildError(`xattr ${JSON.stringify(name)}: no built-in prefix (user., trusted., security., system.posix_acl_*)`);
}

function checkName(name: Uint8Array): void {
  const where = () => `entry ${JSON.stringify(latin(name))}`;
  if (name.length < 1 || name.length > 255) throw new BuildError(`${where()}: name of ${name.length} bytes is not 1..255`);
  if (name.includes(0x2f) || name.includes(0)) throw new BuildError(`${where()}: name contains "/" or NUL`);
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) throw new BuildError(`${where()}: name "." or ".."`);
}

function encodeRdev(major: number, minor: number): number {
  if (!(Number.isInteger(major) && major >= 0 && major <= 0xfff && Number.isInteger(minor) && minor >= 0 && minor <= 0xfffff)) {
    throw new BuildError(`device ${major}:${minor} does not fit the 12-bit major / 20-bit minor encoding`);
  }
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

function grown<T extends Column>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, Math.ceil(a.length * 1.5) + 64));
  b.set(a);
  return b;
}

/** One inode's metadata as a source hands it over (the NodeMeta of a tree node). */
export interface InodeMeta {
  /** Permission bits; default 0o755 for directories, 0o777 for symlinks, 0o644 otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  mtimeNsec?: number;
  xattrs?: XattrMap;
}

export class InodeTable {
  /** Number of inodes; inode 0 is the root directory. */
  inodes = 0;
  /** Number of directory entries. */
  entries = 0;

  // ---- per inode
  kind = new Uint8Array(0);
  perm = new Uint16Array(0);
  uid = new Uint32Array(0);
  gid = new Uint32Array(0);
  /** Seconds; NaN: not given (the build epoch). */
  mtime = new Float64Array(0);
  /** Nanoseconds; -1: not given. */
  nsec = new Int32Array(0);
  /** Regular files: content bytes; symlinks: target bytes; directories: set by the builder. */
  size = new Float64Array(0);
  /** Index into `xattrSets`, or -1. */
  xattrs = new Int32Array(0);
  /** Directories: first entry; symlinks: target offset in the byte pool. */
  a = new Float64Array(0);
  /** Directories: entry count; symlinks: target length; devices: the encoded rdev. */
  b = new Uint32Array(0);
  /** The directory of the inode's first link (the root's is itself). */
  parent = new Uint32Array(0);
  /** The inode's first link (an entry index); NONE for the root. */
  link = new Uint32Array(0);

  // ---- per entry
  nameAt = new Float64Array(0);
  nameLen = new Uint8Array(0);
  target = new Uint32Array(0);

  /** Names and symlink targets. */
  pool = new Uint8Array(0);
  poolUsed = 0;

  /** Distinct xattr sets, each sorted by name; inodes refer to them by index. */
  xattrSets: Xattr[][] = [];
  private readonly setIds = new Map<string, number>();
  /** The directory whose entries are being added, and its last name. */
  private open = -1;

  /** Adds an inode; its directory entry (if any) is added separately with addEntry. */
  addInode(type: NodeType, meta: InodeMeta, parent: number): number {
    const i = this.inodes;
    if (i >= NONE - 1) throw new BuildError('more than 2^32 - 2 inodes');
    if (i + 1 > this.kind.length) {
      const n = i + 1;
      this.kind = grown(this.kind, n);
      this.perm = grown(this.perm, n);
      this.uid = grown(this.uid, n);
      this.gid = grown(this.gid, n);
      this.mtime = grown(this.mtime, n);
      this.nsec = grown(this.nsec, n);
      this.size = grown(this.size, n);
      this.xattrs = grown(this.xattrs, n);
      this.a = grown(this.a, n);
      this.b = grown(this.b, n);
      this.parent = grown(this.parent, n);
      this.link = grown(this.link, n);
    }
    const perm = meta.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
    if (!(Number.isInteger(perm) && perm >= 0 && perm <= 0o7777)) throw new BuildError(`mode 0${perm.toString(8)} has bits outside 0o7777`);
    if (meta.mtime !== undefined && !Number.isSafeInteger(meta.mtime)) throw new BuildError(`bad mtime ${meta.mtime}`);
    if (meta.mtimeNsec !== undefined && !(Number.isInteger(meta.mtimeNsec) && meta.mtimeNsec >= 0 && meta.mtimeNsec < 1e9)) {
      throw new BuildError(`bad mtime ${meta.mtime ?? ''}.${meta.mtimeNsec}`);
    }
    const uid = meta.uid ?? 0;
    const gid = meta.gid ?? 0;
    for (const [v, what] of [[uid, 'uid'], [gid, 'gid']] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new BuildError(`${what} ${v} is not a u32`);
    }
    this.kind[i] = KIND[type];
    this.perm[i] = perm;
    this.uid[i] = uid;
    this.gid[i] = gid;
    this.mtime[i] = meta.mtime ?? NaN;
    this.nsec[i] = meta.mtimeNsec ?? -1;
    this.size[i] = 0;
    this.xattrs[i] = meta.xattrs ? this.xattrSet(meta.xattrs) : -1;
    this.a[i] = 0;
    this.b[i] = 0;
    this.parent[i] = parent < 0 ? i : parent;
    this.link[i] = NONE;
    this.inodes++;
    return i;
  }

  /** Regular file content size. */
  setFileSize(ino: number, size: number): void {
    if (!(Number.isSafeInteger(size) && size >= 0)) throw new BuildError(`file size ${size} is not a non-negative integer`);
    this.size[ino] = size;
  }

  setSymlinkTarget(ino: number, target: Uint8Array): void {
    if (target.length < 1 || target.length > 4095) throw new BuildError(`symlink target of ${target.length} bytes is not 1..4095`);
    this.a[ino] = this.poolAdd(target);
    this.b[ino] = target.length;
    this.size[ino] = target.length;
  }

  setDevice(ino: number, major: number, minor: number): void {
    this.b[ino] = encodeRdev(major, minor);
  }

  /** Starts the entries of directory `dir`; add them with addEntry in bytewise name order. */
  beginDir(dir: number): void {
    this.open = dir;
    this.a[dir] = this.entries;
    this.b[dir] = 0;
  }

  /** Adds `name` -> `ino` to the directory begun last. Names must come sorted and distinct. */
  addEntry(name: Uint8Array, ino: number): void {
    const dir = this.open;
    checkName(name);
    const e = this.entries;
    if (this.b[dir] > 0) {
      const c = compareBytes(this.name(e - 1), name);
      if (c === 0) throw new BuildError(`duplicate name ${JSON.stringify(latin(name))}`);
      if (c > 0) throw new Error('InodeTable.addEntry: names out of order (bug in the source)');
    }
    if (e + 1 > this.target.length) {
      this.nameAt = grown(this.nameAt, e + 1);
      this.nameLen = grown(this.nameLen, e + 1);
      this.target = grown(this.target, e + 1);
    }
    this.nameAt[e] = this.poolAdd(name);
    this.nameLen[e] = name.length;
    this.target[e] = ino;
    this.entries++;
    this.b[dir]++;
    if (this.link[ino] === NONE && ino !== 0) {
      this.link[ino] = e;
      this.parent[ino] = dir;
    }
  }

  /** Name of entry `e` (a view into the pool: valid until the next add). */
  name(e: number): Uint8Array {
    const at = this.nameAt[e];
    return this.pool.subarray(at, at + this.nameLen[e]);
  }

  /** Symlink target bytes (a view into the pool). */
  symlinkTarget(ino: number): Uint8Array {
    return this.pool.subarray(this.a[ino], this.a[ino] + this.b[ino]);
  }

  /** Gives the columns back their slack once the table is complete. */
  trim(): void {
    const n = this.inodes;
    const e = this.entries;
    const cut = <T extends Column>(x: T, len: number): T => (x.length === len ? x : (x.slice(0, len) as T));
    this.kind = cut(this.kind, n);
    this.perm = cut(this.perm, n);
    this.uid = cut(this.uid, n);
    this.gid = cut(this.gid, n);
    this.mtime = cut(this.mtime, n);
    this.nsec = cut(this.nsec, n);
    this.size = cut(this.size, n);
    this.xattrs = cut(this.xattrs, n);
    this.a = cut(this.a, n);
    this.b = cut(this.b, n);
    this.parent = cut(this.parent, n);
    this.link = cut(this.link, n);
    this.nameAt = cut(this.nameAt, e);
    this.nameLen = cut(this.nameLen, e);
    this.target = cut(this.target, e);
    this.pool = cut(this.pool, this.poolUsed);
  }

  private poolAdd(bytes: Uint8Array): number {
    const at = this.poolUsed;
    this.pool = grown(this.pool, at + bytes.length);
    this.pool.set(bytes, at);
    this.poolUsed += bytes.length;
    return at;
  }

  private xattrSet(x: XattrMap): number {
    const names = Object.keys(x);
    if (!names.length) return -1;
    const set = names.map((n) => splitXattr(n, x[n])).sort((p, q) => compareBytes(p.name, q.name));
    const key = set.map((e) => `${e.key.length}:${e.key}`).join(''); // length-prefixed: values may hold NULs
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.xattrSets.length;
      this.xattrSets.push(set);
      this.setIds.set(key, id);
    }
    return id;
  }
}

/** A tree of objects as a build source: the table, and content served from the nodes' arrays. */
export function treeSource(root: DirNode): BuildSource {
  if (root.type !== 'dir') throw new BuildError('the root must be a directory');
  const table = new InodeTable();
  const nodes: TreeNode[] = [];
  const seen = new Map<TreeNode, number>();
  const add = (node: TreeNode, parent: number): number => {
    const i = table.addInode(node.type, node as NodeMeta, parent);
    nodes.push(node);
    seen.set(node, i);
    if (node.type === 'file') table.setFileSize(i, node.data.length);
    else if (node.type === 'symlink') table.setSymlinkTarget(i, nameBytes(node.target));
    else if (node.type === 'chardev' || node.type === 'blockdev') table.setDevice(i, node.major, node.minor);
    return i;
  };
  add(root, -1);
  // Breadth first: inode d's children are added when d comes up, so creation order is the order.
  for (let d = 0; d < nodes.length; d++) {
    const node = nodes[d];
    if (node.type !== 'dir') continue;
    const kids = [...node.entries].map(([k, child]) => ({ name: nameBytes(k), child }));
    kids.sort((p, q) => compareBytes(p.name, q.name));
    const inos = kids.map(({ child }) => {
      const known = seen.get(child);
      if (child.type === 'dir') {
        if (known !== undefined) throw new BuildError('a directory appears twice in the tree (directories cannot be hard-linked)');
        return add(child, d);
      }
      return known ?? add(child, d);
    });
    table.beginDir(d);
    kids.forEach((k, j) => table.addEntry(k.name, inos[j]));
  }
  table.trim();
  const content: ContentSource = {
    bytes: (ino) => (nodes[ino] as { data: Uint8Array }).data,
    read(ino, position, dest) {
      const data = (nodes[ino] as { data: Uint8Array }).data;
      if (position + dest.length > data.length) throw new BuildError(`file content shorter than ${position + dest.length} bytes`);
      dest.set(data.subarray(position, position + dest.length));
    },
  };
  return { table, content };
}
