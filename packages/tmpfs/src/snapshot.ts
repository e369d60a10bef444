/**
 * Checkpoint and restore of a tmpfs: its whole content as plain data (numbers, arrays,
 * Uint8Arrays), as gVisor saves its tmpfs with the sandbox.
 *
 * A snapshot lists every inode once, by inode number: type and mode, owner, times,
 * xattrs and ACLs (in their xattr encoding), and by type the file's size and pages (a
 * page is 4096 bytes, or null for a page fallocated and never written), a symlink's
 * target, a device's rdev, a directory's entries (name bytes, inode number, position
 * offset, in listing order: the newest first; see dir.ts) and the offset its next entry
 * looks from (`cookie` and `nextCookie` are the fields' names). Version 1 snapshots
 * (entries oldest first, positions one lower) are read too. Hard links are several entries naming one inode; nlink is not
 * stored but counted from them. Inodes that had no name left but were still held (an
 * open unlinked file, an O_TMPFILE file, a removed directory someone is in) are listed
 * in `unlinked`, so that a restore re-creates them for the descriptions that refer to
 * them (Tmpfs.takeUnlinked).
 *
 * Restore treats the snapshot as untrusted input: every field is checked (types, ranges,
 * sizes, counts, references, the shape of the tree: every directory named exactly once
 * and reachable from the root, no inode left without a name or a holder) and the first
 * fault is a SysError EINVAL naming the field, e.g. "snapshot.inodes[3].pages[0]: ...".
 * Content that does not fit the restoring mount's limits is ENOSPC.
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '@erofs-js/erofs';
import { MAX_OFFSET, NAME_MAX, PATH_MAX, SysError, XATTR_NAME_MAX, XATTR_SIZE_MAX, keyBytes, nameKey, type PosixAcl } from '@erofs-js/vfs';
import { encodeAcl, parseAclForSet } from './acl.js';
import { DIR_OFFSET_MAX, DIR_OFFSET_MIN } from './dir.js';
import { PAGE_SIZE } from './data.js';
import { INODE_COST, SHORT_SYMLINK_LEN, XATTR_OVERHEAD, type TmpInode, type TmpNode } from './inode.js';
import type { Tmpfs } from './tmpfs.js';

export const SNAPSHOT_FORMAT = 'erofs-js/tmpfs';
export const SNAPSHOT_VERSION = 2;

/** [seconds, nanoseconds] */
export type SnapshotTime = [number, number];

export interface SnapshotEntry {
  name: Uint8Array;
  ino: number;
  /** The entry's position offset. */
  cookie: number;
}

export interface SnapshotInode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  /** Device number of a character or block device (glibc makedev encoding); 0 otherwise. */
  rdev: number;
  atime: SnapshotTime;
  mtime: SnapshotTime;
  ctime: SnapshotTime;
  btime: SnapshotTime;
  /** [name bytes, value] in the order they were set; the ACLs are not here. */
  xattrs: [Uint8Array, Uint8Array][];
  /** system.posix_acl_access / _default, xattr encoding. */
  acl: Uint8Array | null;
  defaultAcl: Uint8Array | null;
  /** An unlinked O_TMPFILE file linkat may still name. */
  linkable: boolean;
  /** Regular files. */
  size?: number;
  pages?: [number, Uint8Array | null][];
  /** Symlinks. */
  target?: Uint8Array;
  /** Directories: the entries in listing order (newest first), and the next offset. */
  entries?: SnapshotEntry[];
  nextCookie?: number;
}

export interface TmpfsSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** The inode number the next new inode gets. */
  nextIno: number;
  root: number;
  inodes: SnapshotInode[];
  /** Inode numbers of the inodes with no name that were held. */
  unlinked: number[];
}

const t = (x: { sec: number; nsec: number }): SnapshotTime => [x.sec, x.nsec];

function snapshotInode(i: TmpInode): SnapshotInode {
  const s: SnapshotInode = {
    ino: i.ino,
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    rdev: i.rdev,
    atime: t(i.atime),
    mtime: t(i.mtime),
    ctime: t(i.ctime),
    btime: t(i.btime),
    xattrs: [...i.xattrs].map(([k, v]) => [keyBytes(k), v.slice()]),
    acl: i.acl ? encodeAcl(i.acl) : null,
    defaultAcl: i.defaultAcl ? encodeAcl(i.defaultAcl) : null,
    linkable: i.linkable,
  };
  if (i.data) {
    s.size = i.data.size;
    s.pages = [...i.data.pages].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, v ? v.slice() : null]);
  }
  if (i.target) s.target = i.target.slice();
  if (i.dir) {
    s.entries = [...i.dir.entries()].map((c) => ({ name: keyBytes(c.key), ino: c.inode.ino, cookie: c.offset }));
    s.nextCookie = i.dir.nextOffset;
  }
  return s;
}

/** The content of a filesystem as a TmpfsSnapshot (copies: later changes do not reach it). */
export function snapshotTmpfs(fs: Tmpfs): TmpfsSnapshot {
  fs.checkAlive();
  const seen = new Map<number, SnapshotInode>();
  const stack: TmpNode[] = [fs.root];
  while (stack.length > 0) {
    const n = stack.pop() as TmpNode;
    if (seen.has(n.inode.ino)) continue;
    seen.set(n.inode.ino, snapshotInode(n.inode));
    if (n.inode.dir) for (const c of n.inode.dir.entries()) stack.push(c);
  }
  const unlinked: number[] = [];
  for (const i of fs.orphanInodes()) {
    unlinked.push(i.ino);
    seen.set(i.ino, snapshotInode(i));
  }
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    nextIno: fs.nextInodeNumber,
    root: fs.root.inode.ino,
    inodes: [...seen.values()],
    unlinked,
  };
}

// ---- validation ---------------------------------------------------------------------

function bad(field: string, what: string): SysError {
  return new SysError('EINVAL', `snapshot${field}: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(field, `expected an integer in ${min}..${max}, got ${describe(v)}`);
  return v;
}

function bytes(v: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(field, `expected bytes, got ${describe(v)}`);
  if (v.length < min || v.length > max) throw bad(field, `expected ${min}..${max} bytes, got ${v.length}`);
  return v;
}

function array(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(field, `expected an array, got ${describe(v)}`);
  if (v.length > max) throw bad(field, `${v.length} items, at most ${max}`);
  return v;
}

function time(v: unknown, field: string): { sec: number; nsec: number } {
  const a = array(v, field, 2);
  if (a.length !== 2) throw bad(field, 'expected [seconds, nanoseconds]');
  return { sec: int(a[0], `${field}[0]`, -(2 ** 53 - 1), 2 ** 53 - 1), nsec: int(a[1], `${field}[1]`, 0, 999_999_999) };
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  const s = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
  return `${typeof v} ${s}`;
}

function acl(v: unknown, field: string): PosixAcl | null {
  if (v === null || v === undefined) return null;
  const b = bytes(v, field, 4, XATTR_SIZE_MAX);
  let parsed: PosixAcl | null;
  try {
    parsed = parseAclForSet(b);
  } catch (e) {
    throw bad(field, e instanceof SysError ? e.message : String(e));
  }
  if (!parsed) throw bad(field, 'an empty ACL (absent ACLs are null)');
  return parsed;
}

interface Checked {
  raw: SnapshotInode;
  type: number;
  acl: PosixAcl | null;
  defaultAcl: PosixAcl | null;
  xattrs: [string, Uint8Array][];
  pages: [number, Uint8Array | null][];
  /** In listing order, newest first. */
  entries: { key: string; ino: number; offset: number }[];
  nextOffset: number;
  /** Entries naming this inode. */
  names: number;
}

const TYPES = new Set([S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);

function checkInode(v: unknown, at: string, maxInodes: number, version: number): Checked {
  if (!isObject(v)) throw bad(at, `expected an object, got ${describe(v)}`);
  const raw = v as unknown as SnapshotInode;
  int(raw.ino, `${at}.ino`, 1, 2 ** 53 - 2);
  const mode = int(raw.mode, `${at}.mode`, 0, 0o177777);
  const type = mode & S_IFMT;
  if (!TYPES.has(type)) throw bad(`${at}.mode`, `unknown file type 0${type.toString(8)}`);
  int(raw.uid, `${at}.uid`, 0, 2 ** 32 - 2);
  int(raw.gid, `${at}.gid`, 0, 2 ** 32 - 2);
  const rdev = int(raw.rdev, `${at}.rdev`, 0, 2 ** 53 - 1);
  if (rdev !== 0 && type !== S_IFCHR && type !== S_IFBLK) throw bad(`${at}.rdev`, 'only device nodes have one');
  for (const k of ['atime', 'mtime', 'ctime', 'btime'] as const) time(raw[k], `${at}.${k}`);
  if (typeof raw.linkable !== 'boolean') throw bad(`${at}.linkable`, 'expected a boolean');
  if (raw.linkable && type !== S_IFREG) throw bad(`${at}.linkable`, 'only regular files are linkable');
  // xattrs: names and sizes as setxattr allows them.
  const xattrs: [string, Uint8Array][] = [];
  const names = new Set<string>();
  array(raw.xattrs, `${at}.xattrs`, 1 << 20).forEach((x, j) => {
    const f = `${at}.xattrs[${j}]`;
    const pair = array(x, f, 2);
    if (pair.length !== 2) throw bad(f, 'expected [name, value]');
    const key = nameKey(bytes(pair[0], `${f}[0]`, 1, XATTR_NAME_MAX));
    const prefix = ['user.', 'trusted.', 'security.'].find((p) => key.startsWith(p));
    if (!prefix || key.length === prefix.length) throw bad(`${f}[0]`, `"${key}" is not a user., trusted. or security. name`);
    if (prefix === 'user.' && type !== S_IFREG && type !== S_IFDIR) throw bad(`${f}[0]`, 'user.* on a file that is not regular or a directory');
    if (names.has(key)) throw bad(`${f}[0]`, `"${key}" appears twice`);
    names.add(key);
    xattrs.push([key, bytes(pair[1], `${f}[1]`, 0, XATTR_SIZE_MAX).slice()]);
  });
  const a = acl(raw.acl, `${at}.acl`);
  const d = acl(raw.defaultAcl, `${at}.defaultAcl`);
  if (a && type === S_IFLNK) throw bad(`${at}.acl`, 'symlinks have no ACLs');
  if (d && type !== S_IFDIR) throw bad(`${at}.defaultAcl`, 'only directories have a default ACL');
  const c: Checked = { raw, type, acl: a, defaultAcl: d, xattrs, pages: [], entries: [], nextOffset: DIR_OFFSET_MIN, names: 0 };
  // Content by type; nothing of another type's.
  if ((raw.size !== undefined || raw.pages !== undefined) !== (type === S_IFREG)) throw bad(`${at}.size`, 'size and pages belong to regular files');
  if ((raw.target !== undefined) !== (type === S_IFLNK)) throw bad(`${at}.target`, 'a target belongs to symlinks');
  if ((raw.entries !== undefined || raw.nextCookie !== undefined) !== (type === S_IFDIR)) throw bad(`${at}.entries`, 'entries belong to directories');
  if (type === S_IFREG) {
    const size = int(raw.size, `${at}.size`, 0, MAX_OFFSET);
    let last = -1;
    array(raw.pages, `${at}.pages`, 2 ** 32).forEach((p, j) => {
      const f = `${at}.pages[${j}]`;
      const pair = array(p, f, 2);
      if (pair.length !== 2) throw bad(f, 'expected [index, bytes or null]');
      const index = int(pair[0], `${f}[0]`, 0, Math.floor(MAX_OFFSET / PAGE_SIZE));
      if (index <= last) throw bad(`${f}[0]`, `page ${index} after page ${last}: indices must increase`);
      last = index;
      if (pair[1] === null) {
        c.pages.push([index, null]);
        return;
      }
      const b = bytes(pair[1], `${f}[1]`, PAGE_SIZE, PAGE_SIZE);
      if (index * PAGE_SIZE >= size) throw bad(f, `a written page at ${index * PAGE_SIZE} is past the size ${size}`);
      const tail = size - index * PAGE_SIZE;
      if (tail < PAGE_SIZE && b.subarray(tail).some((x) => x !== 0)) throw bad(`${f}[1]`, 'bytes past the size are not zero');
      c.pages.push([index, b]);
    });
  } else if (type === S_IFLNK) {
    const target = bytes(raw.target, `${at}.target`, 1, PATH_MAX - 1);
    if (target.includes(0)) throw bad(`${at}.target`, 'holds NUL');
  } else if (type === S_IFDIR) {
    // Version 1: entries oldest first, positions ("cookies") from 2 increasing, each one
    // below the offset version 2 gives it.
    const v1 = version === 1;
    const shift = v1 ? 1 : 0;
    const next = int(raw.nextCookie, `${at}.nextCookie`, DIR_OFFSET_MIN - shift, DIR_OFFSET_MAX + 1 - shift) + shift;
    let lastCookie = DIR_OFFSET_MIN - shift - 1;
    const seenNames = new Set<string>();
    const seenOffsets = new Set<number>();
    array(raw.entries, `${at}.entries`, maxInodes * 64).forEach((e, j) => {
      const f = `${at}.entries[${j}]`;
      if (!isObject(e)) throw bad(f, `expected an object, got ${describe(e)}`);
      const name = bytes(e.name, `${f}.name`, 1, NAME_MAX);
      if (name.includes(0) || name.includes(0x2f)) throw bad(`${f}.name`, 'holds "/" or NUL');
      const key = nameKey(name);
      if (key === '.' || key === '..') throw bad(`${f}.name`, `"${key}" cannot be an entry`);
      if (seenNames.has(key)) throw bad(`${f}.name`, `"${key}" appears twice`);
      seenNames.add(key);
      const ino = int(e.ino, `${f}.ino`, 1, 2 ** 53 - 2);
      const cookie = int(e.cookie, `${f}.cookie`, DIR_OFFSET_MIN - shift, v1 ? next - 2 : DIR_OFFSET_MAX);
      if (v1) {
        if (cookie <= lastCookie) throw bad(`${f}.cookie`, `${cookie} after ${lastCookie}: cookies must increase`);
        lastCookie = cookie;
      } else if (seenOffsets.has(cookie)) throw bad(`${f}.cookie`, `offset ${cookie} appears twice`);
      seenOffsets.add(cookie);
      c.entries.push({ key, ino, offset: cookie + shift });
    });
    if (v1) c.entries.reverse();
    c.nextOffset = next;
  }
  return c;
}

/**
 * Fills `fs` (a fresh Tmpfs whose root inode has the snapshot's root number) from a
 * snapshot, after checking all of it. @internal: use Tmpfs.restore.
 */
export function restoreInto(fs: Tmpfs, snap: unknown): void {
  if (!isObject(snap)) throw bad('', `expected an object, got ${describe(snap)}`);
  if (snap.format !== SNAPSHOT_FORMAT) throw bad('.format', `expected "${SNAPSHOT_FORMAT}", got ${describe(snap.format)}`);
  if (snap.version !== SNAPSHOT_VERSION && snap.version !== 1) throw bad('.version', `version ${describe(snap.version)} is not 1 or ${SNAPSHOT_VERSION}`);
  const version = snap.version;
  const list = array(snap.inodes, '.inodes', Number.MAX_SAFE_INTEGER);
  if (list.length > fs.maxInodes) throw new SysError('ENOSPC', `snapshot has ${list.length} inodes, nr_inodes allows ${fs.maxInodes}`);
  const byIno = new Map<number, Checked>();
  list.forEach((v, j) => {
    const c = checkInode(v, `.inodes[${j}]`, fs.maxInodes, version);
    if (byIno.has(c.raw.ino)) throw bad(`.inodes[${j}].ino`, `inode ${c.raw.ino} appears twice`);
    byIno.set(c.raw.ino, c);
  });
  const nextIno = int(snap.nextIno, '.nextIno', 1, 2 ** 53 - 1);
  for (const ino of byIno.keys()) if (ino >= nextIno) throw bad('.nextIno', `${nextIno} is not above inode ${ino}`);
  const rootIno = int(snap.root, '.root', 1, 2 ** 53 - 2);
  const root = byIno.get(rootIno);
  if (!root) throw bad('.root', `inode ${rootIno} is not in the list`);
  if (root.type !== S_IFDIR) throw bad('.root', 'the root is not a directory');
  if (rootIno !== fs.root.inode.ino) throw new Error('restoreInto: the root inode number was not set up');
  // References: each entry names an inode in the list; directories exactly once (the root never).
  for (const c of byIno.values()) {
    c.entries.forEach((e, j) => {
      const target = byIno.get(e.ino);
      if (!target) throw bad(`.inodes[ino ${c.raw.ino}].entries[${j}].ino`, `inode ${e.ino} is not in the list`);
      target.names++;
      if (target.type === S_IFDIR && (target.names > 1 || e.ino === rootIno)) throw bad(`.inodes[ino ${c.raw.ino}].entries[${j}]`, `directory ${e.ino} has more than one name`);
    });
  }
  const unlinked = new Set<number>();
  array(snap.unlinked, '.unlinked', fs.maxInodes).forEach((v, j) => {
    const ino = int(v, `.unlinked[${j}]`, 1, 2 ** 53 - 2);
    const c = byIno.get(ino);
    if (!c) throw bad(`.unlinked[${j}]`, `inode ${ino} is not in the list`);
    if (c.names > 0 || ino === rootIno) throw bad(`.unlinked[${j}]`, `inode ${ino} has a name`);
    if (c.type === S_IFDIR && c.entries.length > 0) throw bad(`.unlinked[${j}]`, `removed directory ${ino} has entries`);
    if (unlinked.has(ino)) throw bad(`.unlinked[${j}]`, `inode ${ino} appears twice`);
    unlinked.add(ino);
  });
  for (const [ino, c] of byIno) {
    if (ino !== rootIno && c.names === 0 && !unlinked.has(ino)) throw bad(`.inodes[ino ${ino}]`, 'has no name and is not listed as unlinked');
    if (c.raw.linkable && !unlinked.has(ino)) throw bad(`.inodes[ino ${ino}].linkable`, 'only an unlinked inode can be linkable');
  }
  // The tree: every directory reachable from the root (a cycle of directories is not).
  const reached = new Set<number>([rootIno]);
  const queue = [root];
  while (queue.length > 0) {
    const c = queue.pop() as Checked;
    for (const e of c.entries) {
      const target = byIno.get(e.ino) as Checked;
      if (target.type === S_IFDIR) {
        if (reached.has(e.ino)) throw bad(`.inodes[ino ${c.raw.ino}]`, `directory ${e.ino} is reached twice`);
        reached.add(e.ino);
        queue.push(target);
      }
    }
  }
  for (const [ino, c] of byIno) {
    if (c.type === S_IFDIR && !reached.has(ino) && !unlinked.has(ino)) throw bad(`.inodes[ino ${ino}]`, 'directory not reachable from the root');
  }

  // Build. The root inode exists already: give it the snapshot's attributes.
  fs.setCounters(nextIno);
  const inodes = new Map<number, TmpInode>();
  for (const [ino, c] of byIno) {
    const r = c.raw;
    let inode: TmpInode;
    if (ino === rootIno) {
      inode = fs.root.inode;
      inode.mode = r.mode;
      inode.uid = r.uid;
      inode.gid = r.gid;
    } else {
      const longTarget = r.target !== undefined && r.target.length > SHORT_SYMLINK_LEN;
      if (longTarget && !fs.budget.reserve(1)) throw new SysError('ENOSPC', 'snapshot does not fit the size limit');
      inode = fs.newInode(r.mode, r.uid, r.gid, r.rdev, r.target ? r.target.slice() : null, ino);
    }
    const tm = (x: SnapshotTime) => ({ sec: x[0], nsec: x[1] });
    inode.atime = tm(r.atime);
    inode.mtime = tm(r.mtime);
    inode.ctime = tm(r.ctime);
    inode.btime = tm(r.btime);
    inode.acl = c.acl;
    inode.defaultAcl = c.defaultAcl;
    inode.linkable = r.linkable;
    for (const [k, v] of c.xattrs) inode.xattrs.set(k, v);
    if (inode.data) inode.data.load(r.size as number, c.pages);
    inodes.set(ino, inode);
  }
  // Names, nlink, and the inode budget of extra links and xattrs.
  let ispace = 0;
  fs.root.inode.nlink = 2;
  const work: [TmpNode, Checked][] = [[fs.root, root]];
  while (work.length > 0) {
    const [dirNode, c] = work.pop() as [TmpNode, Checked];
    (dirNode.inode.dir as NonNullable<TmpInode['dir']>).nextOffset = c.nextOffset;
    // Oldest first: each goes to the front of the list.
    for (let j = c.entries.length - 1; j >= 0; j--) {
      const e = c.entries[j];
      const inode = inodes.get(e.ino) as TmpInode;
      const node = fs.restoreEntry(dirNode, e.key, inode, e.offset);
      if (inode.isDir) {
        inode.nlink = 2;
        dirNode.inode.nlink++;
        work.push([node, byIno.get(e.ino) as Checked]);
      } else {
        if (inode.nlink > 0) ispace += INODE_COST;
        inode.nlink++;
      }
    }
  }
  for (const inode of inodes.values()) ispace += xattrCost(inode);
  fs.chargeRestored(0, ispace);
  for (const ino of unlinked) {
    const inode = inodes.get(ino) as TmpInode;
    inode.nlink = 0;
    fs.adoptOrphan(inode);
  }
  for (const inode of inodes.values()) inode.xattrSpace = xattrCost(inode);
}

function xattrCost(inode: TmpInode): number {
  let n = 0;
  for (const [k, v] of inode.xattrs) n += XATTR_OVERHEAD + k.length + v.length;
  return n;
}
