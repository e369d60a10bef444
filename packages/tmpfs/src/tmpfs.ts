/**
 * tmpfs: a writable in-memory filesystem with Linux's tmpfs semantics, behind the
 * filesystem contract (@erofs-js/vfs contract.ts).
 *
 * Rules, as Linux 6.18 answers (checked on a kernel tmpfs; the tests record what was
 * observed):
 * - Creating (create, mkdir, mknod, symlink, link): search permission on the directory
 *   (EACCES), "." / ".." EEXIST, names over 255 bytes ENAMETOOLONG, an existing name
 *   EEXIST, a removed directory ENOENT, then write permission on it (EACCES); then what
 *   the type needs (CAP_MKNOD for device nodes, EPERM; a whiteout 0:0 needs none), then
 *   room (ENOSPC). The mode is masked by the umask unless the directory has a default
 *   ACL, which then masks it and is inherited (acl.ts). The new inode is owned by the
 *   caller's fsuid, and by its fsgid unless the directory is setgid (then the directory's
 *   gid, and a new directory is setgid too); a setgid+group-exec file made by a caller
 *   outside the directory's group without CAP_FSETID loses S_ISGID.
 * - Removing (unlink, rmdir, rename's victims): search, the name, ENOENT, write
 *   permission (EACCES), the sticky bit (only the file's or the directory's owner or
 *   CAP_FOWNER: EPERM), then the types (EISDIR, ENOTDIR), then ENOTEMPTY.
 * - Attributes: chmod and explicit utimes need the owner or CAP_FOWNER (EPERM); "now"
 *   utimes is allowed to writers too; chown needs CAP_CHOWN except an owner's chgrp to a
 *   group of theirs. chmod drops S_ISGID when the caller is outside the file's group
 *   without CAP_FSETID; chown of a non-directory drops S_ISUID, and S_ISGID when
 *   group-exec is set (even for root). A write, truncate or fallocate by a caller without
 *   CAP_FSETID drops S_ISUID, and S_ISGID when group-exec is set (or when outside the
 *   group).
 * - Times: mtime+ctime on write/truncate/fallocate and on a directory's entries changing;
 *   ctime on chmod/chown/link/unlink/rename/xattr changes; atime per the mount option:
 *   relatime (default: when atime <= mtime or ctime, or a day old), strictatime, noatime.
 * - Limits: `size` caps the bytes of pages (files, fallocated ranges, symlink targets over
 *   128 bytes), `nr_inodes` the inodes; as in Linux, each inode and each extra hard link
 *   takes 1 KiB of an inode budget of nr_inodes KiB, and xattrs take their size from it
 *   too. Exhausting either is ENOSPC; a write stops short at the page that did not fit.
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, splitDev } from '@erofs-js/erofs';
import {
  CAP_CHOWN,
  CAP_FOWNER,
  CAP_FSETID,
  CAP_MKNOD,
  CAP_SYS_ADMIN,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  MAX_OFFSET,
  NAME_MAX,
  O_ACCMODE,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOATIME,
  O_PATH,
  O_TMPFILE,
  O_TRUNC,
  PATH_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  STATX_ATTR_AUTOMOUNT,
  STATX_ATTR_DAX,
  STATX_ATTR_MOUNT_ROOT,
  STATX_BASIC_STATS,
  STATX_BTIME,
  ST_VALID,
  ST_RELATIME,
  SysError,
  UTIME_NOW,
  UTIME_OMIT,
  XATTR_CREATE,
  XATTR_LIST_MAX,
  XATTR_NAME_MAX,
  XATTR_REPLACE,
  XATTR_SIZE_MAX,
  allocAnonDev,
  checkPermission,
  hasCap,
  inGroup,
  nameKey,
  ownerOrCapable,
  type Credentials,
  type FilesystemImpl,
  type Stat,
  type StatFs,
  type Statx,
  type Timespec,
  checkMknodType,
} from '@erofs-js/vfs';
import { XATTR_ACL_ACCESS, XATTR_ACL_DEFAULT, aclChmod, aclCreate, aclEquivMode, encodeAcl, parseAclForSet } from './acl.js';
import { FileData, PAGE_SIZE, type PageBudget } from './data.js';
import { Dir } from './dir.js';
import { TmpFile } from './file.js';
import { INODE_COST, SHORT_SYMLINK_LEN, TmpInode, TmpNode, XATTR_OVERHEAD, type Time } from './inode.js';
import { restoreInto, snapshotTmpfs, type TmpfsSnapshot } from './snapshot.js';

export { INODE_COST, SHORT_SYMLINK_LEN, XATTR_OVERHEAD };

export const TMPFS_MAGIC = 0x01021994;
/** statfs f_flags bit of a noatime mount. */
export const ST_NOATIME = 0x400;
/** Default `size`: 64 MiB of pages. */
export const DEFAULT_SIZE = 64 << 20;
/** Default `nr_inodes`. */
export const DEFAULT_NR_INODES = 16384;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;
const DAY = 24 * 60 * 60;

export type AtimeMode = 'relatime' | 'strictatime' | 'noatime';

export interface TmpfsOptions {
  /**
   * Most bytes of pages: a number, or a string with a k/m/g/t suffix as mount(8) takes it.
   * Rounded up to whole 4 KiB pages. Default 64 MiB. There is no "unlimited": a host
   * must choose how much memory a guest may fill.
   */
  size?: number | string;
  /** Most inodes (hard links and xattrs count too, see the header). Default 16384. */
  nr_inodes?: number | string;
  /** Permission bits of the root directory (a number or an octal string). Default 0o1777, as Linux. */
  mode?: number | string;
  /** Owner of the root directory. Default 0. */
  uid?: number;
  gid?: number;
  /** When reads update atime. Default 'relatime'. */
  atime?: AtimeMode;
  /** Shorthand for atime: 'noatime'. */
  noatime?: boolean;
  /** Refuse hard links to files the caller could not write (fs.protected_hardlinks = 1, the usual setting). Default true. */
  protectedHardlinks?: boolean;
  /** st_dev (glibc makedev encoding). Default: a fresh anonymous device 0:N. */
  dev?: number;
  /** The clock for timestamps. Default: Date.now() (millisecond resolution). */
  clock?: () => Time;
}

export interface TmpfsStats {
  /** Inodes alive (named, or unlinked and still held). */
  inodes: number;
  /** Inodes with no name, kept alive by holders (open unlinked files, O_TMPFILE files). */
  orphans: number;
  /** Pages charged to `size`, and their bytes. */
  pages: number;
  bytesUsed: number;
  /** Bytes of the inode budget taken (inodes, extra links, xattrs). */
  inodeSpaceUsed: number;
  /** References held on nodes from outside (lookups, open descriptions). */
  nodesHeld: number;
}

/** Parses a size as mount(8) writes it: digits with an optional k, m, g or t suffix. */
export function parseSize(v: number | string, what: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else {
    const m = /^(\d+)([kKmMgGtT]?)$/.exec(v.trim());
    if (!m) throw new SysError('EINVAL', `${what}: cannot parse "${v}"`);
    const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
    n = Number(m[1]) * mult;
  }
  if (!(Number.isSafeInteger(n) && n > 0)) throw new SysError('EINVAL', `${what} must be a positive integer, not ${v}`);
  return n;
}

function defaultClock(): Time {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

function timeBefore(a: Time, b: Time): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

/** A name for one directory step: ENOENT when empty; "/" and NUL are EINVAL (they never reach a filesystem). */
function checkName(name: Uint8Array): string {
  if (name.length === 0) throw new SysError('ENOENT', 'empty name');
  for (let i = 0; i < name.length; i++) if (name[i] === 0x2f || name[i] === 0) throw new SysError('EINVAL', 'a name cannot hold "/" or NUL');
  return nameKey(name);
}

const isDots = (key: string) => key === '.' || key === '..';

export class Tmpfs implements FilesystemImpl<TmpNode> {
  readonly type = 'tmpfs';
  readonly readOnly = false;
  readonly dev: number;
  readonly root: TmpNode;
  /** Pages `size` allows. */
  readonly maxPages: number;
  readonly maxInodes: number;
  readonly atimeMode: AtimeMode;
  readonly protectedHardlinks: boolean;
  private readonly clock: () => Time;
  private usedPages = 0;
  private usedIspace = 0;
  private nextIno = 1;
  private liveInodes = 0;
  private orphanCount = 0;
  private held = 0;
  private released = false;
  /** Unlinked inodes a restore re-created, each with one reference waiting for takeUnlinked(). */
  private untaken = new Map<number, TmpNode>();
  /** @internal The page budget files charge. */
  readonly budget: PageBudget = {
    reserve: (n) => {
      if (this.usedPages + n > this.maxPages) return false;
      this.usedPages += n;
      return true;
    },
    release: (n) => {
      this.usedPages -= n;
    },
  };

  /**
   * A new, empty tmpfs. Options are checked (SysError EINVAL, as mount(2) answers a bad
   * option). `restoreRoot` is for Tmpfs.restore: the root's inode number.
   */
  constructor(options: TmpfsOptions = {}, restoreRoot?: number) {
    const size = parseSize(options.size ?? DEFAULT_SIZE, 'size');
    this.maxPages = Math.ceil(size / PAGE_SIZE);
    this.maxInodes = parseSize(options.nr_inodes ?? DEFAULT_NR_INODES, 'nr_inodes');
    const mode = typeof options.mode === 'string' ? parseInt(options.mode, 8) : options.mode ?? 0o1777;
    if (!(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) throw new SysError('EINVAL', `mode must be permission bits, not ${options.mode}`);
    const uid = options.uid ?? 0;
    const gid = options.gid ?? 0;
    for (const [k, v] of [['uid', uid], ['gid', gid]] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 32 - 1)) throw new SysError('EINVAL', `${k} must be an id, not ${v}`);
    }
    this.atimeMode = options.noatime ? 'noatime' : options.atime ?? 'relatime';
    if (!['relatime', 'strictatime', 'noatime'].includes(this.atimeMode)) throw new SysError('EINVAL', `atime must be relatime, strictatime or noatime, not ${options.atime}`);
    this.protectedHardlinks = options.protectedHardlinks ?? true;
    this.dev = options.dev ?? allocAnonDev();
    this.clock = options.clock ?? defaultClock;
    if (restoreRoot !== undefined) this.nextIno = restoreRoot;
    const inode = this.newInode(S_IFDIR | mode, uid, gid, 0);
    inode.nlink = 2;
    this.root = new TmpNode(this, inode, null, '');
    this.root.attached = true;
  }

  // ---- bookkeeping --------------------------------------------------------------------

  /** @internal */
  checkAlive(): void {
    if (this.released) throw new SysError('EIO', 'filesystem released');
  }

  /** @internal */
  now(): Time {
    return this.clock();
  }

  /** @internal Node references changed. */
  holdsChanged(d: number): void {
    this.held += d;
  }

  /** Takes `bytes` of the inode budget; ENOSPC when they do not fit. */
  private chargeIspace(bytes: number): void {
    if (this.usedIspace + bytes > this.maxInodes * INODE_COST) throw new SysError('ENOSPC', 'no inodes left');
    this.usedIspace += bytes;
  }

  /**
   * @internal A new inode (ENOSPC past nr_inodes): its nlink starts at 0 and the caller
   * links it; `dir`/`data`/`target` by type.
   */
  newInode(mode: number, uid: number, gid: number, rdev: number, target: Uint8Array | null = null, ino?: number): TmpInode {
    this.chargeIspace(INODE_COST);
    const type = mode & S_IFMT;
    const number = ino ?? this.nextIno++;
    const inode = new TmpInode(
      number,
      mode,
      uid,
      gid,
      rdev,
      this.clock(),
      type === S_IFREG ? new FileData(this.budget) : null,
      type === S_IFDIR ? new Dir<TmpNode>() : null,
      target,
    );
    this.liveInodes++;
    return inode;
  }

  /** Frees an inode with no names and no holders: its pages, symlink page, xattrs and inode budget. */
  private evict(inode: TmpInode): void {
    if (inode.dead) return;
    inode.dead = true;
    inode.data?.clear();
    if (inode.target && inode.target.length > SHORT_SYMLINK_LEN) this.budget.release(1);
    this.usedIspace -= INODE_COST + inode.xattrSpace;
    inode.xattrSpace = 0;
    inode.xattrs.clear();
    this.liveInodes--;
  }

  /** An inode lost a name or a holder: free it when it has neither. */
  private maybeEvict(inode: TmpInode): void {
    if (inode.nlink === 0 && inode.holds === 0) {
      if (!inode.dead && this.isOrphan(inode)) this.orphanCount--;
      this.evict(inode);
    }
  }

  private orphans = new Set<TmpInode>();

  private isOrphan(inode: TmpInode): boolean {
    return this.orphans.delete(inode);
  }

  /** Records an inode that lost its last name while held. */
  private orphaned(inode: TmpInode): void {
    if (inode.nlink === 0 && inode.holds > 0 && !this.orphans.has(inode)) {
      this.orphans.add(inode);
      this.orphanCount++;
    }
  }

  /** @internal A detached node's last reference went. */
  nodeDropped(node: TmpNode): void {
    this.maybeEvict(node.inode);
  }

  /** @internal atime after a read, per the mount's atime mode. */
  touchAtime(inode: TmpInode): void {
    if (this.atimeMode === 'noatime') return;
    const now = this.clock();
    if (this.atimeMode === 'relatime') {
      const a = inode.atime;
      if (timeBefore(inode.mtime, a) && timeBefore(inode.ctime, a) && now.sec - a.sec < DAY) return;
    }
    inode.atime = now;
  }

  private touchMC(inode: TmpInode, now: Time = this.clock()): void {
    inode.mtime = { ...now };
    inode.ctime = { ...now };
  }

  /**
   * @internal file_modified: setuid/setgid dropped for a caller without CAP_FSETID
   * (setattr_should_drop_suidgid), then mtime and ctime.
   */
  fileModified(inode: TmpInode, creds: Credentials): void {
    this.killPrivs(inode, creds);
    this.touchMC(inode);
  }

  private killPrivs(inode: TmpInode, creds: Credentials): void {
    if (!inode.isReg || hasCap(creds, CAP_FSETID)) return;
    let mode = inode.mode;
    if (mode & S_ISUID) mode &= ~S_ISUID;
    if (mode & S_ISGID && (mode & S_IXGRP || !inGroup(creds, inode.gid))) mode &= ~S_ISGID;
    inode.mode = mode;
  }

  /** inode_permission with the inode's ACL. */
  private permission(inode: TmpInode, creds: Credentials, mask: number): void {
    checkPermission(creds, inode, mask, () => inode.acl);
  }

  private node(n: TmpNode): TmpNode {
    this.checkAlive();
    if (n.fs !== this) throw new Error('node of another filesystem');
    if (n.inode.dead) throw new Error(`tmpfs node "${n.key}" used after its inode was freed`);
    return n;
  }

  private dirOf(n: TmpNode): Dir<TmpNode> {
    const dir = n.inode.dir;
    if (!dir) throw new SysError('ENOTDIR', 'not a directory');
    return dir;
  }

  /** may_lookup: the directory and search permission on it. */
  private mayLookup(dir: TmpNode, creds: Credentials): Dir<TmpNode> {
    const d = this.dirOf(this.node(dir));
    this.permission(dir.inode, creds, MAY_EXEC);
    return d;
  }

  // ---- reading ----------------------------------------------------------------------

  lookup(dir: TmpNode, name: Uint8Array, creds: Credentials): TmpNode {
    const d = this.mayLookup(dir, creds);
    const key = checkName(name);
    let found: TmpNode | undefined;
    if (key === '.') found = dir;
    else if (key === '..') found = dir.dirNode ?? dir;
    else {
      if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
      found = d.get(key);
    }
    if (!found || found.inode.dead) throw new SysError('ENOENT', 'no such file or directory');
    found.incRef();
    return found;
  }

  stat(n: TmpNode): Stat {
    const i = this.node(n).inode;
    return {
      dev: this.dev,
      ino: i.ino,
      mode: i.mode,
      nlink: i.nlink,
      uid: i.uid,
      gid: i.gid,
      rdev: i.rdev,
      size: i.size,
      blksize: PAGE_SIZE,
      blocks: this.blocksOf(i),
      atime: i.atime.sec,
      atimeNsec: i.atime.nsec,
      mtime: i.mtime.sec,
      mtimeNsec: i.mtime.nsec,
      ctime: i.ctime.sec,
      ctimeNsec: i.ctime.nsec,
    };
  }

  private blocksOf(i: TmpInode): number {
    if (i.data) return i.data.pageCount * (PAGE_SIZE / 512);
    if (i.target && i.target.length > SHORT_SYMLINK_LEN) return PAGE_SIZE / 512;
    return 0;
  }

  statx(n: TmpNode): Statx {
    const s = this.stat(n);
    const i = n.inode;
    const rdev = splitDev(s.rdev);
    const dev = splitDev(this.dev);
    return {
      mask: STATX_BASIC_STATS | STATX_BTIME,
      blksize: s.blksize,
      attributes: 0,
      nlink: s.nlink,
      uid: s.uid,
      gid: s.gid,
      mode: s.mode,
      ino: s.ino,
      size: s.size,
      blocks: s.blocks,
      // STATX_ATTR_APPEND | IMMUTABLE | NODUMP (tmpfs's own), and the three the VFS adds.
      attributesMask: 0x20 | 0x10 | 0x40 | STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX,
      atime: s.atime,
      atimeNsec: s.atimeNsec,
      btime: i.btime.sec,
      btimeNsec: i.btime.nsec,
      ctime: s.ctime,
      ctimeNsec: s.ctimeNsec,
      mtime: s.mtime,
      mtimeNsec: s.mtimeNsec,
      rdevMajor: rdev.major,
      rdevMinor: rdev.minor,
      devMajor: dev.major,
      devMinor: dev.minor,
    };
  }

  /** statfs: blocks from `size`, files from `nr_inodes` (ffree: whole inodes left in the inode budget). */
  statfs(): StatFs {
    this.checkAlive();
    const free = this.maxPages - this.usedPages;
    return {
      type: TMPFS_MAGIC,
      bsize: PAGE_SIZE,
      blocks: this.maxPages,
      bfree: free,
      bavail: free,
      files: BigInt(this.maxInodes),
      ffree: BigInt(Math.floor((this.maxInodes * INODE_COST - this.usedIspace) / INODE_COST)),
      fsid: [this.dev % 2 ** 32, Math.floor(this.dev / 2 ** 32)],
      namelen: NAME_MAX,
      frsize: PAGE_SIZE,
      flags: ST_VALID | (this.atimeMode === 'noatime' ? ST_NOATIME : this.atimeMode === 'relatime' ? ST_RELATIME : 0),
    };
  }

  /** readlink(2): EINVAL for anything but a symlink; updates atime. */
  readlink(n: TmpNode): Uint8Array {
    const i = this.node(n).inode;
    if (!i.target) throw new SysError('EINVAL', 'not a symbolic link');
    this.touchAtime(i);
    return i.target.slice();
  }

  access(n: TmpNode, mode: number, creds: Credentials): void {
    const i = this.node(n).inode;
    if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
    if (mode === 0) return;
    this.permission(i, creds, mode);
  }

  /**
   * open(2) of a resolved node, in Linux's order: O_PATH keeps a handle (ENOTDIR with
   * O_DIRECTORY on a non-directory); O_CREAT with O_EXCL on an existing name EEXIST, on a
   * directory EISDIR; O_DIRECTORY on a non-directory ENOTDIR; a symlink ELOOP; a directory
   * for writing EISDIR; permission (EACCES; O_TRUNC needs write); O_NOATIME by a non-owner
   * EPERM; fifos, devices and sockets ENXIO (the mount layer opens those). O_TRUNC of a
   * regular file truncates it. A node just made by create() or tmpfile() (`created`, or
   * its first open) is opened without the permission check, O_EXCL, O_TRUNC or the
   * O_TMPFILE bits, as Linux opens a file it created.
   */
  open(n: TmpNode, flags: number, creds: Credentials, created = false): TmpFile {
    const i = this.node(n).inode;
    if (flags & O_PATH) {
      if (flags & O_DIRECTORY && !i.isDir) throw new SysError('ENOTDIR', 'not a directory');
      return new TmpFile(this, n, 'path', flags, creds);
    }
    const fresh = created || n.fresh;
    n.fresh = false;
    if (fresh) flags &= ~(O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY) | (i.isDir ? 0 : O_DIRECTORY));
    if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) throw new SysError('EINVAL', 'O_CREAT with O_DIRECTORY');
    let acc = [MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE][flags & O_ACCMODE];
    if (flags & O_TRUNC) acc |= MAY_WRITE;
    if (flags & O_CREAT) {
      if (flags & O_EXCL) throw new SysError('EEXIST', 'file exists');
      if (i.isDir) throw new SysError('EISDIR', 'is a directory');
    }
    if (flags & O_DIRECTORY && !i.isDir) throw new SysError('ENOTDIR', 'not a directory');
    if (i.isSymlink) throw new SysError('ELOOP', 'is a symbolic link (open it with O_PATH)');
    if (i.isDir && (flags & O_ACCMODE) !== 0) throw new SysError('EISDIR', 'is a directory');
    if (!fresh) this.permission(i, creds, acc);
    if (flags & O_NOATIME && !ownerOrCapable(creds, i)) throw new SysError('EPERM', 'O_NOATIME by a non-owner');
    if (!i.isDir && !i.isReg) throw new SysError('ENXIO', 'no device behind this special file');
    if (i.isReg && flags & O_TRUNC) this.truncateInode(i, 0, creds, true);
    return new TmpFile(this, n, i.isDir ? 'dir' : 'file', flags & ~(O_CREAT | O_EXCL | O_TRUNC), creds);
  }

  // ---- xattrs -----------------------------------------------------------------------

  /** setxattr's and getxattr's check of the name: ERANGE for an empty one or one over 255 bytes. */
  private xattrKey(name: Uint8Array): string {
    if (name.length === 0 || name.length > XATTR_NAME_MAX) throw new SysError('ERANGE', `xattr name of ${name.length} bytes`);
    return nameKey(name);
  }

  /**
   * xattr_permission, then the handler's checks: trusted.* needs CAP_SYS_ADMIN (EPERM to
   * write, ENODATA to read); user.* exists only on regular files and directories (EPERM /
   * ENODATA), in a sticky directory only its owner may write it (EPERM); user.* and
   * trusted.* need read or write permission (EACCES); security.* is free to read and needs
   * CAP_SYS_ADMIN to write (the capability module's rule). Then the name: an unknown
   * namespace EOPNOTSUPP, a bare prefix EINVAL.
   */
  private xattrCheck(i: TmpInode, key: string, write: boolean, creds: Credentials): void {
    if (key.startsWith('security.')) {
      if (write && !hasCap(creds, CAP_SYS_ADMIN)) throw new SysError('EPERM', 'security.* needs CAP_SYS_ADMIN');
    } else if (key.startsWith('system.')) {
      // the ACL handlers check for themselves
    } else if (key.startsWith('trusted.')) {
      if (!hasCap(creds, CAP_SYS_ADMIN)) throw new SysError(write ? 'EPERM' : 'ENODATA', 'trusted.* needs CAP_SYS_ADMIN');
    } else {
      if (key.startsWith('user.')) {
        if (!i.isReg && !i.isDir) throw new SysError(write ? 'EPERM' : 'ENODATA', 'user.* xattrs are for regular files and directories');
        if (write && i.isDir && i.mode & S_ISVTX && !ownerOrCapable(creds, i)) throw new SysError('EPERM', 'sticky directory');
      }
      this.permission(i, creds, write ? MAY_WRITE : MAY_READ);
    }
    if (key === XATTR_ACL_ACCESS || key === XATTR_ACL_DEFAULT) return;
    const prefix = ['user.', 'trusted.', 'security.'].find((p) => key.startsWith(p));
    if (!prefix) throw new SysError('EOPNOTSUPP', `no handler for xattr "${key}"`);
    if (key.length === prefix.length) throw new SysError('EINVAL', `xattr name "${key}" has nothing after its prefix`);
  }

  private xattrValue(i: TmpInode, key: string, creds: Credentials): Uint8Array {
    this.xattrCheck(i, key, false, creds);
    if (key === XATTR_ACL_ACCESS || key === XATTR_ACL_DEFAULT) {
      if (i.isSymlink) throw new SysError('EOPNOTSUPP', 'symlinks have no ACLs');
      const acl = key === XATTR_ACL_ACCESS ? i.acl : i.defaultAcl;
      if (!acl) throw new SysError('ENODATA', 'no such attribute');
      return encodeAcl(acl);
    }
    const v = i.xattrs.get(key);
    if (!v) throw new SysError('ENODATA', 'no such attribute');
    return v;
  }

  getxattr(n: TmpNode, name: Uint8Array, dest: Uint8Array | null, creds: Credentials): number {
    const i = this.node(n).inode;
    const value = this.xattrValue(i, this.xattrKey(name), creds);
    if (!dest || dest.length === 0) return value.length;
    if (value.length > dest.length) throw new SysError('ERANGE', `xattr value of ${value.length} bytes does not fit in ${dest.length}`);
    dest.set(value);
    return value.length;
  }

  /** listxattr(2): the ACL names first, then the others in the order they were set; trusted.* only to CAP_SYS_ADMIN. */
  listxattr(n: TmpNode, dest: Uint8Array | null, creds: Credentials): number {
    const i = this.node(n).inode;
    const names: string[] = [];
    if (i.acl) names.push(XATTR_ACL_ACCESS);
    if (i.defaultAcl) names.push(XATTR_ACL_DEFAULT);
    const admin = hasCap(creds, CAP_SYS_ADMIN);
    for (const k of i.xattrs.keys()) if (admin || !k.startsWith('trusted.')) names.push(k);
    let total = 0;
    for (const k of names) total += k.length + 1;
    if (total > XATTR_LIST_MAX) throw new SysError('E2BIG', `xattr list of ${total} bytes`);
    if (!dest || dest.length === 0) return total;
    if (total > dest.length) throw new SysError('ERANGE', `xattr list of ${total} bytes does not fit in ${dest.length}`);
    let o = 0;
    for (const k of names) {
      for (let j = 0; j < k.length; j++) dest[o++] = k.charCodeAt(j);
      dest[o++] = 0;
    }
    return total;
  }

  /**
   * setxattr(2): ERANGE for the name, E2BIG over 64 KiB, EINVAL for unknown flags, then
   * the permission rules (xattrCheck), EEXIST with XATTR_CREATE, ENODATA with
   * XATTR_REPLACE, ENOSPC when the inode budget cannot take it. An empty value is kept.
   * The ACL names are decoded, validated and applied (setAcl).
   */
  setxattr(n: TmpNode, name: Uint8Array, value: Uint8Array, flags: number, creds: Credentials): void {
    const i = this.node(n).inode;
    const key = this.xattrKey(name);
    if (value.length > XATTR_SIZE_MAX) throw new SysError('E2BIG', `xattr value of ${value.length} bytes`);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) throw new SysError('EINVAL', `bad setxattr flags ${flags}`);
    if (key === XATTR_ACL_ACCESS || key === XATTR_ACL_DEFAULT) {
      this.setAcl(i, key, value.length === 0 ? null : parseAclForSet(value), creds);
      return;
    }
    this.xattrCheck(i, key, true, creds);
    const old = i.xattrs.get(key);
    if (flags & XATTR_CREATE && old) throw new SysError('EEXIST', 'attribute exists');
    if (flags & XATTR_REPLACE && !old) throw new SysError('ENODATA', 'no such attribute');
    const cost = XATTR_OVERHEAD + key.length + value.length;
    const oldCost = old ? XATTR_OVERHEAD + key.length + old.length : 0;
    this.chargeIspace(Math.max(0, cost - oldCost));
    if (cost < oldCost) this.usedIspace -= oldCost - cost;
    i.xattrSpace += cost - oldCost;
    i.xattrs.set(key, value.slice());
    i.ctime = this.clock();
  }

  removexattr(n: TmpNode, name: Uint8Array, creds: Credentials): void {
    const i = this.node(n).inode;
    const key = this.xattrKey(name);
    if (key === XATTR_ACL_ACCESS || key === XATTR_ACL_DEFAULT) {
      this.setAcl(i, key, null, creds);
      return;
    }
    this.xattrCheck(i, key, true, creds);
    const old = i.xattrs.get(key);
    if (!old) throw new SysError('ENODATA', 'no such attribute');
    const cost = XATTR_OVERHEAD + key.length + old.length;
    i.xattrs.delete(key);
    i.xattrSpace -= cost;
    this.usedIspace -= cost;
    i.ctime = this.clock();
  }

  /**
   * set_posix_acl: EOPNOTSUPP on a symlink, EPERM unless owner or CAP_FOWNER, EACCES for
   * a default ACL on a non-directory. An access ACL sets the mode's permission bits and
   * is dropped when the mode says it all (S_ISGID goes when the caller is outside the
   * group without CAP_FSETID). Removing an absent ACL succeeds, as Linux's does.
   */
  private setAcl(i: TmpInode, key: string, acl: ReturnType<typeof parseAclForSet>, creds: Credentials): void {
    if (i.isSymlink) throw new SysError('EOPNOTSUPP', 'symlinks have no ACLs');
    if (!ownerOrCapable(creds, i)) throw new SysError('EPERM', 'only the owner may set an ACL');
    if (key === XATTR_ACL_DEFAULT) {
      if (!i.isDir) {
        if (acl) throw new SysError('EACCES', 'default ACLs are for directories');
        return;
      }
      i.defaultAcl = acl;
    } else if (acl) {
      const { perms, equivalent } = aclEquivMode(acl);
      let mode = (i.mode & ~0o777) | perms;
      if (!inGroup(creds, i.gid) && !hasCap(creds, CAP_FSETID)) mode &= ~S_ISGID;
      i.mode = mode;
      i.acl = equivalent ? null : acl;
    } else {
      i.acl = null;
    }
    i.ctime = this.clock();
  }

  // ---- creating ---------------------------------------------------------------------

  /**
   * filename_create + may_create: the checks before anything is made (see the header).
   * Returns the directory's entries and the name key.
   */
  private prepareCreate(dir: TmpNode, name: Uint8Array, creds: Credentials): { d: Dir<TmpNode>; key: string } {
    const d = this.mayLookup(dir, creds);
    const key = checkName(name);
    if (isDots(key)) throw new SysError('EEXIST', 'file exists');
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    if (d.has(key)) throw new SysError('EEXIST', 'file exists');
    if (dir.inode.nlink === 0) throw new SysError('ENOENT', 'directory was removed');
    this.permission(dir.inode, creds, MAY_WRITE | MAY_EXEC);
    return { d, key };
  }

  /**
   * The mode and ACLs of a new inode in `dir`: S_ISGID stripped per mode_strip_sgid, then
   * the default ACL or the umask, then setgid-directory inheritance. Symlinks are 0777.
   */
  private initialMode(dir: TmpInode, mode: number, creds: Credentials): { mode: number; gid: number; acl: TmpInode['acl']; dflt: TmpInode['defaultAcl'] } {
    const type = mode & S_IFMT;
    const isDir = type === S_IFDIR;
    let gid = creds.gid;
    let acl: TmpInode['acl'] = null;
    let dflt: TmpInode['defaultAcl'] = null;
    if (type !== S_IFLNK) {
      if (!isDir && (mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP) && dir.mode & S_ISGID && !inGroup(creds, dir.gid) && !hasCap(creds, CAP_FSETID)) {
        mode &= ~S_ISGID;
      }
      if (dir.defaultAcl) {
        const r = aclCreate(dir.defaultAcl, mode & 0o777, isDir);
        mode = (mode & ~0o777) | r.mode;
        acl = r.access;
        dflt = r.dflt;
      } else {
        mode &= ~((creds.umask ?? 0o022) & 0o777);
      }
    }
    if (dir.mode & S_ISGID) {
      gid = dir.gid;
      if (isDir) mode |= S_ISGID;
    }
    return { mode, gid, acl, dflt };
  }

  /** Makes an inode of `mode` (type included) under dir, named key, with one name. */
  private makeChild(dir: TmpNode, d: Dir<TmpNode>, key: string, mode: number, rdev: number, creds: Credentials, target: Uint8Array | null = null): TmpNode {
    const m = this.initialMode(dir.inode, mode, creds);
    const bigLink = target !== null && target.length > SHORT_SYMLINK_LEN;
    if (bigLink && !this.budget.reserve(1)) throw new SysError('ENOSPC', 'no space for the symlink target');
    let inode: TmpInode;
    try {
      inode = this.newInode(m.mode, creds.uid, m.gid, rdev, target);
    } catch (e) {
      if (bigLink) this.budget.release(1);
      throw e;
    }
    inode.acl = m.acl;
    inode.defaultAcl = m.dflt;
    let offset: number;
    try {
      offset = d.allocate();
    } catch (e) {
      this.evict(inode);
      throw e;
    }
    return this.attachNew(dir, d, key, inode, offset);
  }

  private attachNew(dir: TmpNode, d: Dir<TmpNode>, key: string, inode: TmpInode, offset: number): TmpNode {
    const node = new TmpNode(this, inode, dir, key);
    d.insert(node, offset);
    node.attached = true;
    inode.nlink = inode.isDir ? 2 : 1;
    if (inode.isDir) dir.inode.nlink++;
    const now = this.clock();
    this.touchMC(dir.inode, now);
    return node;
  }

  /** open(O_CREAT) of a missing name: a regular file (mode & 07777 before the umask), returned held. */
  create(dir: TmpNode, name: Uint8Array, mode: number, creds: Credentials): TmpNode {
    const { d, key } = this.prepareCreate(dir, name, creds);
    const node = this.makeChild(dir, d, key, S_IFREG | (mode & 0o7777), 0, creds);
    node.incRef();
    node.fresh = true;
    return node;
  }

  /**
   * open(O_TMPFILE): an unnamed regular file, returned held; `flags` are the open flags,
   * and one opened with O_EXCL can never be linked (Linux's I_LINKABLE).
   */
  tmpfile(dir: TmpNode, mode: number, creds: Credentials, flags = 0): TmpNode {
    this.mayLookup(dir, creds);
    if (dir.inode.nlink === 0) throw new SysError('ENOENT', 'directory was removed');
    this.permission(dir.inode, creds, MAY_WRITE | MAY_EXEC);
    const m = this.initialMode(dir.inode, S_IFREG | (mode & 0o7777), creds);
    const inode = this.newInode(m.mode, creds.uid, m.gid, 0);
    inode.acl = m.acl;
    inode.linkable = !(flags & O_EXCL);
    const node = new TmpNode(this, inode, dir, '');
    node.incRef();
    node.fresh = true;
    this.orphaned(inode);
    return node;
  }

  /** mkdir(2): mode & (0777 | S_ISVTX) before the umask. */
  mkdir(dir: TmpNode, name: Uint8Array, mode: number, creds: Credentials): void {
    const { d, key } = this.prepareCreate(dir, name, creds);
    this.makeChild(dir, d, key, S_IFDIR | (mode & 0o1777), 0, creds);
  }

  /**
   * mknod(2): the type first (a directory EPERM, an unknown type EINVAL; type 0 is a
   * regular file), then the name, then CAP_MKNOD for character and block devices (EPERM)
   * except a whiteout (character device 0:0), which anyone may make.
   */
  mknod(dir: TmpNode, name: Uint8Array, mode: number, rdev: number, creds: Credentials): void {
    const type = checkMknodType(mode);
    if (!(Number.isSafeInteger(rdev) && rdev >= 0)) throw new SysError('EINVAL', `bad device number ${rdev}`);
    const { d, key } = this.prepareCreate(dir, name, creds);
    const whiteout = type === S_IFCHR && rdev === 0;
    if ((type === S_IFCHR || type === S_IFBLK) && !whiteout && !hasCap(creds, CAP_MKNOD)) throw new SysError('EPERM', 'device nodes need CAP_MKNOD');
    this.makeChild(dir, d, key, type | (mode & 0o7777), type === S_IFCHR || type === S_IFBLK ? rdev : 0, creds);
  }

  /**
   * symlink(2): an empty target ENOENT and one of PATH_MAX (4096) bytes or more
   * ENAMETOOLONG come first (Linux reads the target before the path); then the name. A
   * target over 128 bytes takes a page (ENOSPC).
   */
  symlink(dir: TmpNode, name: Uint8Array, target: Uint8Array, creds: Credentials): void {
    if (target.length === 0) throw new SysError('ENOENT', 'empty symlink target');
    if (target.length >= PATH_MAX) throw new SysError('ENAMETOOLONG', `symlink target of ${target.length} bytes`);
    if (target.includes(0)) throw new SysError('EINVAL', 'symlink target holds NUL');
    const { d, key } = this.prepareCreate(dir, name, creds);
    this.makeChild(dir, d, key, S_IFLNK | 0o777, 0, creds, target.slice());
  }

  /**
   * link(2): the new name's checks, then fs.protected_hardlinks (EPERM: a caller who is
   * not the owner nor CAP_FOWNER may link only a regular file without setuid, without
   * setgid+group-exec, that they may read and write), EPERM for a directory, ENOENT for
   * an inode without names unless it is a linkable O_TMPFILE file, ENOSPC when the inode
   * budget cannot take another name.
   */
  link(existing: TmpNode, dir: TmpNode, name: Uint8Array, creds: Credentials): void {
    const i = this.node(existing).inode;
    const { d, key } = this.prepareCreate(dir, name, creds);
    if (this.protectedHardlinks && !ownerOrCapable(creds, i) && !this.safeHardlinkSource(i, creds)) {
      throw new SysError('EPERM', 'protected_hardlinks: not the owner of the source');
    }
    if (i.isDir) throw new SysError('EPERM', 'hard link to a directory');
    if (i.nlink === 0 && !i.linkable) throw new SysError('ENOENT', 'the file has no name left');
    if (i.nlink > 0) this.chargeIspace(INODE_COST);
    let offset: number;
    try {
      offset = d.allocate();
    } catch (e) {
      if (i.nlink > 0) this.usedIspace -= INODE_COST;
      throw e;
    }
    const wasOrphan = i.nlink === 0;
    const node = new TmpNode(this, i, dir, key);
    d.insert(node, offset);
    node.attached = true;
    i.nlink++;
    i.linkable = false;
    if (wasOrphan && this.orphans.delete(i)) this.orphanCount--;
    const now = this.clock();
    i.ctime = { ...now };
    this.touchMC(dir.inode, now);
  }

  private safeHardlinkSource(i: TmpInode, creds: Credentials): boolean {
    if (!i.isReg) return false;
    if (i.mode & S_ISUID) return false;
    if ((i.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) return false;
    try {
      this.permission(i, creds, MAY_READ | MAY_WRITE);
    } catch {
      return false;
    }
    return true;
  }

  // ---- removing ---------------------------------------------------------------------

  /** check_sticky: in a sticky directory only the file's owner, the directory's owner or CAP_FOWNER may remove or replace. */
  private sticky(dir: TmpInode, victim: TmpInode, creds: Credentials): boolean {
    if (!(dir.mode & S_ISVTX)) return false;
    if (creds.uid === victim.uid || creds.uid === dir.uid) return false;
    return !hasCap(creds, CAP_FOWNER);
  }

  /** may_delete: write+search permission on dir (EACCES), the sticky bit (EPERM), the types (ENOTDIR / EISDIR). */
  private mayDelete(dir: TmpNode, victim: TmpNode, isDir: boolean, creds: Credentials): void {
    this.permission(dir.inode, creds, MAY_WRITE | MAY_EXEC);
    if (this.sticky(dir.inode, victim.inode, creds)) throw new SysError('EPERM', 'sticky directory');
    if (isDir) {
      if (!victim.inode.isDir) throw new SysError('ENOTDIR', 'not a directory');
    } else if (victim.inode.isDir) throw new SysError('EISDIR', 'is a directory');
  }

  private lookupVictim(d: Dir<TmpNode>, key: string): TmpNode {
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const v = d.get(key);
    if (!v) throw new SysError('ENOENT', 'no such file or directory');
    return v;
  }

  /** unlink(2): "." and ".." EISDIR; see mayDelete. */
  unlink(dir: TmpNode, name: Uint8Array, creds: Credentials): void {
    const d = this.mayLookup(dir, creds);
    const key = checkName(name);
    if (isDots(key)) throw new SysError('EISDIR', 'is a directory');
    const v = this.lookupVictim(d, key);
    this.mayDelete(dir, v, false, creds);
    this.removeName(dir, d, v, this.clock());
  }

  /** rmdir(2): "." EINVAL, ".." ENOTEMPTY; see mayDelete; then ENOTEMPTY. */
  rmdir(dir: TmpNode, name: Uint8Array, creds: Credentials): void {
    const d = this.mayLookup(dir, creds);
    const key = checkName(name);
    if (key === '.') throw new SysError('EINVAL', 'cannot remove "."');
    if (key === '..') throw new SysError('ENOTEMPTY', 'directory not empty');
    const v = this.lookupVictim(d, key);
    this.mayDelete(dir, v, true, creds);
    if ((v.inode.dir as Dir<TmpNode>).size > 0) throw new SysError('ENOTEMPTY', 'directory not empty');
    this.removeName(dir, d, v, this.clock());
  }

  /**
   * Takes a name away: the entry goes, nlink drops (a directory's to 0 and its parent's
   * by one), the extra-link share of the inode budget comes back, times change; the inode
   * is freed unless held.
   */
  private removeName(dir: TmpNode, d: Dir<TmpNode>, v: TmpNode, now: Time): void {
    const i = v.inode;
    d.remove(v);
    v.attached = false;
    if (i.isDir) {
      i.nlink = 0;
      dir.inode.nlink--;
    } else {
      if (i.nlink > 1) this.usedIspace -= INODE_COST;
      i.nlink--;
    }
    i.ctime = { ...now };
    this.touchMC(dir.inode, now);
    if (i.nlink === 0) {
      if (i.holds > 0) this.orphaned(i);
      else this.evict(i);
    }
  }

  // ---- rename -----------------------------------------------------------------------

  /** Whether `a` is `b` or one of its ancestors. */
  private isAncestor(a: TmpNode, b: TmpNode): boolean {
    for (let n: TmpNode | null = b; n; n = n.parent) if (n === a) return true;
    return false;
  }

  /**
   * renameat2(2) within this filesystem, in do_renameat2's and vfs_rename's order: flags
   * (EINVAL); search permission on both directories; "." / ".." (EBUSY, or EEXIST for the
   * new name with RENAME_NOREPLACE); the source (ENOENT); RENAME_NOREPLACE onto an
   * existing name EEXIST, RENAME_EXCHANGE with a missing one ENOENT; the source an
   * ancestor of the new directory EINVAL, the target an ancestor of the old directory
   * ENOTEMPTY (EINVAL when exchanging); the same inode on both sides: nothing to do; then
   * may_delete of the source, may_create or may_delete of the target (EACCES, sticky
   * EPERM, ENOTDIR/EISDIR), write permission on a directory that changes parent (its
   * ".."), ENOTEMPTY, and room for a whiteout. RENAME_WHITEOUT needs no capability (Linux
   * 6.18 lets an unprivileged caller make one, observed).
   */
  rename(oldDir: TmpNode, oldName: Uint8Array, newDir: TmpNode, newName: Uint8Array, flags: number, creds: Credentials): void {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) throw new SysError('EINVAL', `bad rename flags ${flags}`);
    if (flags & RENAME_EXCHANGE && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) throw new SysError('EINVAL', 'RENAME_EXCHANGE with other flags');
    const od = this.mayLookup(oldDir, creds);
    const nd = this.mayLookup(newDir, creds);
    const ok = checkName(oldName);
    const nk = checkName(newName);
    if (isDots(ok)) throw new SysError('EBUSY', 'cannot rename "." or ".."');
    if (isDots(nk)) throw new SysError(flags & RENAME_NOREPLACE ? 'EEXIST' : 'EBUSY', 'cannot rename onto "." or ".."');
    const src = this.lookupVictim(od, ok);
    if (nk.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${nk.length} bytes`);
    const dst = nd.get(nk) ?? null;
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    if (flags & RENAME_NOREPLACE && dst) throw new SysError('EEXIST', 'file exists');
    if (exchange && !dst) throw new SysError('ENOENT', 'no such file or directory');
    if (this.isAncestor(src, newDir)) throw new SysError('EINVAL', 'cannot move a directory into itself');
    if (dst && this.isAncestor(dst, oldDir)) throw new SysError(exchange ? 'EINVAL' : 'ENOTEMPTY', 'the target is an ancestor of the source');
    if (dst && dst.inode === src.inode) return;
    const srcIsDir = src.inode.isDir;
    this.mayDelete(oldDir, src, srcIsDir, creds);
    if (!dst) {
      if (newDir.inode.nlink === 0) throw new SysError('ENOENT', 'directory was removed');
      this.permission(newDir.inode, creds, MAY_WRITE | MAY_EXEC);
    } else {
      this.mayDelete(newDir, dst, exchange ? dst.inode.isDir : srcIsDir, creds);
    }
    if (oldDir !== newDir) {
      if (srcIsDir) this.permission(src.inode, creds, MAY_WRITE);
      if (exchange && dst && dst.inode.isDir) this.permission(dst.inode, creds, MAY_WRITE);
    }
    const now = this.clock();
    if (exchange && dst) {
      Dir.exchange(od, src, nd, dst, (c, key) => {
        c.key = key;
      });
      const sp = src.dirNode;
      src.dirNode = dst.dirNode;
      dst.dirNode = sp;
      if (oldDir !== newDir && srcIsDir !== dst.inode.isDir) {
        if (srcIsDir) {
          oldDir.inode.nlink--;
          newDir.inode.nlink++;
        } else {
          newDir.inode.nlink--;
          oldDir.inode.nlink++;
        }
      }
      src.inode.ctime = { ...now };
      dst.inode.ctime = { ...now };
      this.touchMC(oldDir.inode, now);
      this.touchMC(newDir.inode, now);
      return;
    }
    if (dst && dst.inode.isDir && (dst.inode.dir as Dir<TmpNode>).size > 0) throw new SysError('ENOTEMPTY', 'directory not empty');
    // Positions as shmem_rename2 and d_move leave them (dir.ts): the whiteout is made
    // first (a new offset, the front of the old directory's list); the source gives up
    // its offset and takes the target's, or a new one, and goes to the front of the new
    // directory's list. (Offsets are taken before anything changes, so that running out
    // of them, ENOSPC, changes nothing; only a directory whose offsets wrapped around
    // could see a difference from Linux's order of taking them.)
    let whiteout: TmpInode | null = null;
    if (flags & RENAME_WHITEOUT) {
      const m = this.initialMode(oldDir.inode, S_IFCHR, creds);
      whiteout = this.newInode(m.mode, creds.uid, m.gid, 0);
    }
    let whiteoutOffset = 0;
    let offset: number;
    try {
      if (whiteout) whiteoutOffset = od.allocate();
      offset = dst ? dst.offset : nd.allocate();
    } catch (e) {
      if (whiteout) this.maybeEvict(whiteout);
      throw e;
    }
    od.remove(src);
    if (whiteout) this.attachNew(oldDir, od, ok, whiteout, whiteoutOffset);
    if (dst) this.removeName(newDir, nd, dst, now);
    src.key = nk;
    src.dirNode = newDir;
    nd.insert(src, offset);
    if (srcIsDir && oldDir !== newDir) {
      oldDir.inode.nlink--;
      newDir.inode.nlink++;
    }
    src.inode.ctime = { ...now };
    this.touchMC(oldDir.inode, now);
    this.touchMC(newDir.inode, now);
  }

  // ---- attributes -------------------------------------------------------------------

  /** chmod(2): owner or CAP_FOWNER (EPERM); S_ISGID dropped outside the group without CAP_FSETID; the ACL follows. */
  chmod(n: TmpNode, mode: number, creds: Credentials): void {
    const i = this.node(n).inode;
    if (!ownerOrCapable(creds, i)) throw new SysError('EPERM', 'only the owner may chmod');
    let m = mode & 0o7777;
    if (!inGroup(creds, i.gid) && !hasCap(creds, CAP_FSETID)) m &= ~S_ISGID;
    i.mode = (i.mode & S_IFMT) | m;
    if (i.acl) i.acl = aclChmod(i.acl, m);
    i.ctime = this.clock();
  }

  /**
   * chown(2), -1 keeping an id: a uid change needs CAP_CHOWN; a gid change needs the owner
   * moving it to a group of theirs, or CAP_CHOWN (EPERM). A non-directory loses S_ISUID,
   * and S_ISGID when group-exec is set or the caller is outside the group without
   * CAP_FSETID, even when nothing changes (observed: root's chown(f, -1, -1) of a 6755
   * file leaves 0755, of a 6745 file with chown(f, 0, 0) leaves 2745).
   */
  chown(n: TmpNode, uid: number, gid: number, creds: Credentials): void {
    const i = this.node(n).inode;
    const newUid = uid === -1 || uid === 0xffffffff ? i.uid : uid;
    const newGid = gid === -1 || gid === 0xffffffff ? i.gid : gid;
    if (!(Number.isInteger(newUid) && newUid >= 0 && Number.isInteger(newGid) && newGid >= 0 && newUid < 2 ** 32 && newGid < 2 ** 32)) throw new SysError('EINVAL', 'bad id');
    const capChown = hasCap(creds, CAP_CHOWN);
    if (uid !== -1 && uid !== 0xffffffff && !(creds.uid === i.uid && newUid === i.uid) && !capChown) {
      throw new SysError('EPERM', 'changing the owner needs CAP_CHOWN');
    }
    if (gid !== -1 && gid !== 0xffffffff && !((creds.uid === i.uid && (newGid === i.gid || inGroup(creds, newGid))) || capChown)) {
      throw new SysError('EPERM', 'changing the group needs CAP_CHOWN or membership');
    }
    if (!i.isDir) {
      let mode = i.mode & ~S_ISUID;
      if (mode & S_ISGID && (mode & S_IXGRP || (!inGroup(creds, i.gid) && !hasCap(creds, CAP_FSETID)))) mode &= ~S_ISGID;
      i.mode = mode;
    }
    i.uid = newUid;
    i.gid = newGid;
    i.ctime = this.clock();
  }

  /**
   * utimensat(2): nanoseconds outside 0..999999999 that are not UTIME_NOW / UTIME_OMIT
   * EINVAL; both UTIME_OMIT: nothing; "now" for both (or null): the owner, CAP_FOWNER or
   * anyone with write permission (EACCES); anything else needs the owner or CAP_FOWNER
   * (EPERM; observed: [UTIME_NOW, UTIME_OMIT] by a writer who is not the owner is EPERM).
   * ctime becomes now.
   */
  utimes(n: TmpNode, times: readonly [Timespec, Timespec] | null, creds: Credentials): void {
    const i = this.node(n).inode;
    if (times) {
      for (const t of times) {
        if (t.nsec !== UTIME_OMIT && t.nsec !== UTIME_NOW && !(Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec <= 999_999_999)) throw new SysError('EINVAL', `bad nanoseconds ${t.nsec}`);
        if (t.nsec !== UTIME_OMIT && t.nsec !== UTIME_NOW && !Number.isSafeInteger(t.sec)) throw new SysError('EINVAL', `bad seconds ${t.sec}`);
      }
      if (times[0].nsec === UTIME_OMIT && times[1].nsec === UTIME_OMIT) return;
    }
    const touch = !times || (times[0].nsec === UTIME_NOW && times[1].nsec === UTIME_NOW);
    if (!ownerOrCapable(creds, i)) {
      if (!touch) throw new SysError('EPERM', 'only the owner may set explicit times');
      this.permission(i, creds, MAY_WRITE);
    }
    const now = this.clock();
    const pick = (t: Timespec | undefined, old: Time): Time => {
      if (!t || t.nsec === UTIME_NOW) return { ...now };
      if (t.nsec === UTIME_OMIT) return old;
      return { sec: t.sec, nsec: t.nsec };
    };
    i.atime = pick(times?.[0], i.atime);
    i.mtime = pick(times?.[1], i.mtime);
    i.ctime = { ...now };
  }

  /**
   * truncate(2) of a path: EINVAL for a negative length, EISDIR, EINVAL for a non-regular
   * file, write permission (EACCES), EFBIG. mtime and ctime change with the size, and
   * also at the same size when the file has pages (shmem_setattr then still truncates the
   * page range, which sets them; observed: truncate(f, 7) of a 7-byte file changes both).
   */
  truncate(n: TmpNode, length: number, creds: Credentials): void {
    const i = this.node(n).inode;
    if (!(length >= 0)) throw new SysError('EINVAL', 'negative length');
    if (i.isDir) throw new SysError('EISDIR', 'is a directory');
    if (!i.isReg) throw new SysError('EINVAL', 'not a regular file');
    this.permission(i, creds, MAY_WRITE);
    this.truncateInode(i, length, creds, false);
  }

  /**
   * @internal do_truncate: EFBIG, setuid/setgid dropped, the size, the times: always for
   * ftruncate and O_TRUNC (ATTR_MTIME | ATTR_CTIME), for truncate(2) as truncate() says.
   */
  truncateInode(i: TmpInode, length: number, creds: Credentials, alwaysTouch: boolean): void {
    if (length > MAX_OFFSET) throw new SysError('EFBIG', 'file too large');
    const data = i.data as FileData;
    this.killPrivs(i, creds);
    const touch = alwaysTouch || length !== data.size || data.pageCount > 0;
    data.truncate(length);
    if (touch) this.touchMC(i);
  }

  /**
   * The times a read or write of data the filesystem does not move itself changes (a
   * fifo's, through the pipe table): atime by the mount's atime rule (file_accessed), or
   * mtime and ctime (file_update_time).
   */
  touch(n: TmpNode, what: 'read' | 'write'): void {
    const i = this.node(n).inode;
    if (what === 'read') this.touchAtime(i);
    else this.touchMC(i);
  }

  sync(): void {
    this.checkAlive();
  }

  // ---- statistics, restore hooks, release ---------------------------------------------

  stats(): TmpfsStats {
    return {
      inodes: this.liveInodes,
      orphans: this.orphanCount,
      pages: this.usedPages,
      bytesUsed: this.usedPages * PAGE_SIZE,
      inodeSpaceUsed: this.usedIspace,
      nodesHeld: this.held,
    };
  }

  /** @internal for snapshot.ts: every inode alive, by walking the tree plus the orphans. */
  orphanInodes(): IterableIterator<TmpInode> {
    return this.orphans.values();
  }

  /** @internal for snapshot.ts */
  setCounters(nextIno: number): void {
    this.nextIno = nextIno;
  }

  /** @internal for snapshot.ts */
  get nextInodeNumber(): number {
    return this.nextIno;
  }

  /** @internal for restore: an inode with no name that a holder had; held once until taken. */
  adoptOrphan(inode: TmpInode): void {
    const node = new TmpNode(this, inode, null, '');
    node.incRef();
    this.orphaned(inode);
    this.untaken.set(inode.ino, node);
  }

  /** @internal for restore: links an inode under a directory at an offset, at the front of its list. */
  restoreEntry(dir: TmpNode, key: string, inode: TmpInode, offset: number): TmpNode {
    const node = new TmpNode(this, inode, dir, key);
    (dir.inode.dir as Dir<TmpNode>).insert(node, offset);
    node.attached = true;
    return node;
  }

  /** @internal for restore */
  chargeRestored(pages: number, ispace: number): void {
    if (!this.budget.reserve(pages)) throw new SysError('ENOSPC', `snapshot needs ${pages} pages, the size limit allows ${this.maxPages}`);
    if (this.usedIspace + ispace > this.maxInodes * INODE_COST) {
      this.budget.release(pages);
      throw new SysError('ENOSPC', 'snapshot needs more inodes than nr_inodes allows');
    }
    this.usedIspace += ispace;
  }

  /** @internal for restore */
  countRestoredInode(): void {
    this.liveInodes++;
  }

  /**
   * After Tmpfs.restore: the node of an unlinked inode (by inode number) that was held
   * when the snapshot was taken, with the reference the restore took for the caller.
   * Each is taken once; release the rest with dropUntaken().
   */
  takeUnlinked(ino: number): TmpNode {
    const node = this.untaken.get(ino);
    if (!node) throw new SysError('ENOENT', `no unlinked inode ${ino} waiting`);
    this.untaken.delete(ino);
    return node;
  }

  /** Drops the unlinked inodes nobody took after a restore. */
  dropUntaken(): void {
    const nodes = [...this.untaken.values()];
    this.untaken.clear();
    for (const n of nodes) n.decRef();
  }

  /** The whole content, for checkpointing (see snapshot.ts). */
  snapshot(): TmpfsSnapshot {
    return snapshotTmpfs(this);
  }

  /**
   * A tmpfs with a snapshot's content and the given options (limits, dev, clock; the root's
   * mode and owner come from the snapshot). The snapshot is untrusted: SysError EINVAL
   * naming the field at fault, ENOSPC when it does not fit the limits. Unlinked inodes
   * that were held wait for takeUnlinked().
   */
  static restore(snapshot: TmpfsSnapshot | unknown, options: TmpfsOptions = {}): Tmpfs {
    const rootIno = (snapshot as { root?: unknown } | null)?.root;
    const fs = new Tmpfs(options, typeof rootIno === 'number' && Number.isSafeInteger(rootIno) && rootIno >= 1 ? rootIno : 1);
    restoreInto(fs, snapshot);
    return fs;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * Unmount: everything is freed. EBUSY (nothing changes) while a node is held from
   * outside. Afterwards every operation answers EIO; releasing twice throws.
   */
  release(): void {
    if (this.released) throw new Error('filesystem released twice');
    this.dropUntaken();
    if (this.held > 0) throw new SysError('EBUSY', `${this.held} node references still held`);
    this.released = true;
    const free = (n: TmpNode) => {
      const d = n.inode.dir;
      if (d) for (const c of [...d.entries()]) free(c);
      if (!n.inode.dead) this.evict(n.inode);
    };
    free(this.root);
    for (const o of this.orphans) this.evict(o);
    this.orphans.clear();
    this.orphanCount = 0;
  }
}

