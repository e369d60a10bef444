/**
 * A Filesystem: one EROFS image as a kernel's VFS sees it. It owns the dentry tree (with
 * its bounded LRU of unreferenced dentries), the table of live inodes (one per NID), a
 * bounded negative-lookup cache and a bounded cache of decoded directory blocks, and it
 * answers the single-step operations a syscall layer needs: lookup of one name in a
 * directory, open, stat, statfs, readlink, xattrs, access, and every write-type call
 * with the error Linux gives on a read-only mount (after the checks Linux makes first).
 * Resolving whole paths across mounts is the mount layer's job; resolve.ts has a simple
 * resolver for tests and tools.
 */
import { makedev, type CacheStats, type DirEntry, type Image, S_IFMT, S_IFREG, S_IFDIR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } from '@erofs-js/erofs';
import {
  CAP_DAC_READ_SEARCH,
  CAP_SYS_ADMIN,
  MAY_EXEC,
  MAY_READ,
  hasCap,
  ACL_GROUP,
  ACL_USER,
  parsePosixAcl,
  type Credentials,
} from './credentials.js';
import { Dentry, DentryCache, keyEquals, nameHash, nameKey } from './dentry.js';
import { SysError, decoding } from './errno.js';
import { FileDescription, openDescription } from './file.js';
import { Inode } from './inode.js';
import type { FilesystemImpl, Timespec } from './contract.js';
import {
  XATTR_NAME_MAX, checkMknodType, readOnly, refuseCreate, refuseRemovexattr, refuseRename, refuseRmdir, refuseSetxattr, refuseTruncate, refuseUnlink, refuseUtimes,
} from './readonly.js';

export interface FilesystemOptions {
  /** Most unreferenced dentries kept cached (default 1000; 0 evicts them at once). */
  dentryCacheSize?: number;
  /** Most (directory, name) misses remembered (default 1000; 0 disables). */
  negativeCacheSize?: number;
  /** Most directory entries kept decoded, over all directories (default 16384; 0 disables). */
  dirCacheEntries?: number;
  /**
   * Most bytes of this mount's share of the page cache (decoded data of compressed files,
   * and mapped pages; read, pread and mmap share it). Default: the limit the image was
   * opened with (Image `cacheBytes`, 8 MiB unless given). Given, it replaces that limit;
   * 0 turns caching off for this mount.
   */
  pageCacheBytes?: number;
  /** st_dev of every inode (glibc makedev encoding). Default: a fresh anonymous device 0:N. */
  dev?: number;
}

export interface FilesystemStats {
  /** Unreferenced dentries kept in the LRU list. */
  dentriesCached: number;
  /** Dentries with references (holders or children), the root included. */
  dentriesPinned: number;
  /** Inodes referenced by dentries. */
  inodesLive: number;
  /** Lookups answered from the dentry or negative cache. */
  lookupHits: number;
  /** Lookups that searched the image. */
  lookupMisses: number;
  /** Remembered misses. */
  negativeCached: number;
  dentriesEvicted: number;
  /** Directory entries held decoded in the block cache. */
  dirEntriesCached: number;
  /** This mount's share of the page cache: entries, bytes, its limit (budget), hits, misses, evictions. */
  pageCache: CacheStats;
}

export const EROFS_SUPER_MAGIC = 0xe0f5e1e2;
export const ST_RDONLY = 0x1;
export const ST_VALID = 0x20;
export const ST_RELATIME = 0x1000;
export const NAME_MAX = 255;
export const XATTR_LIST_MAX = 65536;
export {
  XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_CREATE, XATTR_REPLACE, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, UTIME_OMIT, UTIME_NOW,
} from './readonly.js';


/** struct statfs. The 64-bit counts Linux reports as 2^64-1 are bigints. */
export interface StatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: bigint;
  ffree: bigint;
  /** f_fsid.val[0], val[1]: the UUID folded to 64 bits, as Linux does. */
  fsid: [number, number];
  namelen: number;
  frsize: number;
  /** ST_RDONLY | ST_VALID | ST_RELATIME, as a default Linux mount shows; the mount layer may adjust. */
  flags: number;
}

let nextAnonDev = 0x100;

/** A fresh anonymous device number 0:N (glibc makedev encoding), shared by every filesystem type. */
export function allocAnonDev(): number {
  return makedev(0, nextAnonDev++);
}

const utf8 = new TextEncoder();

/** The exact key of a name given as bytes or as a JS string (UTF-8). */
export function toKey(name: string | Uint8Array): string {
  if (typeof name !== 'string') return nameKey(name);
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return nameKey(utf8.encode(name));
  return name;
}

function toBytes(name: string | Uint8Array): Uint8Array {
  return typeof name === 'string' ? utf8.encode(name) : name;
}

function isDots(key: string): boolean {
  return key === '.' || key === '..';
}

/** A name for a single directory step: "/" and NUL cannot occur in one. */
function checkComponent(key: string): void {
  if (key.length === 0) throw new SysError('ENOENT', 'empty name');
  if (key.indexOf('/') >= 0 || key.indexOf('\0') >= 0) throw new SysError('EINVAL', 'a name cannot hold "/" or NUL');
}

export class Filesystem implements FilesystemImpl<Dentry> {
  readonly type = 'erofs';
  readonly readOnly = true;
  readonly image: Image;
  readonly dev: number;
  readonly root: Dentry;
  readonly options: Readonly<Required<Omit<FilesystemOptions, 'dev'>>>;
  private readonly dentries: DentryCache;
  private readonly inodes = new Map<number, Inode>();
  private readonly negative = new Map<string, true>();
  private readonly dirCache = new Map<string, readonly DirEntry[]>();
  private dirCacheCount = 0;
  private hits = 0;
  private misses = 0;
  private released = false;

  constructor(image: Image, options: FilesystemOptions = {}) {
    this.image = image;
    this.options = {
      dentryCacheSize: options.dentryCacheSize ?? 1000,
      negativeCacheSize: options.negativeCacheSize ?? 1000,
      dirCacheEntries: options.dirCacheEntries ?? 16384,
      pageCacheBytes: options.pageCacheBytes ?? image.cache?.limit ?? 0,
    };
    for (const [k, v] of Object.entries(this.options)) {
      if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`${k} must be a non-negative integer, not ${v}`);
    }
    if (options.pageCacheBytes !== undefined) image.setCacheLimit(options.pageCacheBytes);
    this.dev = options.dev ?? allocAnonDev();
    this.dentries = new DentryCache(this.options.dentryCacheSize, (d) => this.putInode(d.inode));
    const rootInode = this.getInode(image.rootNid);
    if (!rootInode.isDir) throw new SysError('EUCLEAN', 'the root inode is not a directory');
    // The filesystem's own reference keeps the root pinned until release().
    this.root = this.dentries.attach(null, '', rootInode).incRef();
  }

  // ---- inodes -----------------------------------------------------------------------

  /** The live inode of `nid`, created (decoded) if needed, with one more reference. */
  private getInode(nid: number): Inode {
    let inode = this.inodes.get(nid);
    if (!inode) {
      const raw = decoding(() => this.image.inode(nid));
      inode = new Inode(this, raw);
      this.inodes.set(nid, inode);
    }
    inode.refs++;
    return inode;
  }

  private putInode(inode: Inode): void {
    if (inode.refs <= 0) throw new Error(`inode ${inode.nid} released more times than referenced`);
    if (--inode.refs === 0) this.inodes.delete(inode.nid);
  }

  /** The live inode of `nid`, if any dentry references it (for tests and tools). */
  liveInode(nid: number): Inode | undefined {
    return this.inodes.get(nid);
  }

  // ---- directory blocks -------------------------------------------------------------

  /** @internal Decoded entries of one directory block, through the bounded block cache. */
  dirBlock(dir: Inode, start: number): readonly DirEntry[] {
    const limit = this.options.dirCacheEntries;
    const key = `${dir.nid}:${start}`;
    const hit = this.dirCache.get(key);
    if (hit) {
      this.dirCache.delete(key);
      this.dirCache.set(key, hit);
      return hit;
    }
    const end = Math.min(start + this.image.blockSize, dir.size);
    const entries: DirEntry[] = [];
    decoding(() => {
      for (const e of this.image.readdir(dir.raw, start)) {
        entries.push(e);
        if (e.next >= end) break;
      }
    });
    if (limit > 0) {
      this.dirCache.set(key, entries);
      this.dirCacheCount += entries.length;
      while (this.dirCacheCount > limit && this.dirCache.size > 1) {
        const [oldKey, old] = this.dirCache.entries().next().value as [string, readonly DirEntry[]];
        this.dirCache.delete(oldKey);
        this.dirCacheCount -= old.length;
      }
    }
    return entries;
  }

  // ---- lookup -----------------------------------------------------------------------

  private checkAlive(): void {
    if (this.released) throw new SysError('EIO', 'filesystem released');
  }

  /** Search permission on a directory, with the common privileged case first. */
  private mayLookup(dir: Dentry, creds: Credentials): void {
    if (!dir.inode.isDir) throw new SysError('ENOTDIR', 'not a directory');
    if (hasCap(creds, CAP_DAC_READ_SEARCH)) return;
    dir.inode.permission(creds, MAY_EXEC);
  }

  /**
   * Looks `name` up in directory `parent`, like one step of Linux's path walk: ENOTDIR
   * when parent is not a directory, EACCES without search permission, "." and ".."
   * answered from the tree (".." of the root is the root), ENAMETOOLONG above 255
   * bytes, ENOENT when absent. Returns the dentry with a reference the caller must drop
   * with decRef().
   */
  lookup(parent: Dentry, name: string | Uint8Array, creds: Credentials): Dentry {
    this.checkAlive();
    if (parent.dead) throw new Error(`lookup in dentry "${parent.key}" after its eviction`);
    this.mayLookup(parent, creds);
    return this.lookupChecked(parent, name);
  }

  /**
   * lookup() of the name buf[start..end), with the same checks, errors and result: a
   * path walk over byte paths calls this, and a cached child is found by a hash of the
   * bytes, without a key string or a view of the name.
   */
  lookupBytes(parent: Dentry, buf: Uint8Array, start: number, end: number, creds: Credentials): Dentry {
    this.checkAlive();
    if (parent.dead) throw new Error(`lookup in dentry "${parent.key}" after its eviction`);
    this.mayLookup(parent, creds);
    const idx = parent.byHash;
    if (idx !== null) {
      const c = idx.get(nameHash(buf, start, end));
      if (c !== undefined && keyEquals(c.key, buf, start, end)) {
        this.hits++;
        return c.incRef();
      }
    }
    return this.lookupChecked(parent, buf.subarray(start, end));
  }

  /** lookup() with null for an absent name (the contract's lookupOrNull: no ENOENT thrown). */
  lookupOrNull(parent: Dentry, name: Uint8Array, creds: Credentials): Dentry | null {
    this.checkAlive();
    if (parent.dead) throw new Error(`lookup in dentry "${parent.key}" after its eviction`);
    this.mayLookup(parent, creds);
    return this.findChild(parent, name);
  }

  /** lookup() after the checks on the parent. */
  private lookupChecked(parent: Dentry, name: string | Uint8Array): Dentry {
    const d = this.findChild(parent, name);
    if (!d) throw new SysError('ENOENT', 'no such file or directory');
    return d;
  }

  /** The child `name` of `parent`, held, or null when it has none (checks on the parent done). */
  private findChild(parent: Dentry, name: string | Uint8Array): Dentry | null {
    const key = toKey(name);
    const hit = parent.children?.get(key);
    if (hit) {
      this.hits++;
      return hit.incRef();
    }
    checkComponent(key);
    if (key === '.') {
      this.hits++;
      return parent.incRef();
    }
    if (key === '..') {
      this.hits++;
      return (parent.parent ?? parent).incRef();
    }
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const negKey = this.options.negativeCacheSize > 0 ? `${parent.inode.nid}/${key}` : '';
    if (negKey && this.negative.has(negKey)) {
      this.hits++;
      this.negative.delete(negKey);
      this.negative.set(negKey, true);
      return null;
    }
    this.misses++;
    const ent = decoding(() => this.image.lookup(parent.inode.raw, toBytes(name)));
    if (!ent) {
      if (negKey) {
        this.negative.set(negKey, true);
        if (this.negative.size > this.options.negativeCacheSize) this.negative.delete(this.negative.keys().next().value as string);
      }
      return null;
    }
    const inode = this.getInode(ent.nid);
    if (inode.isDir) {
      // A directory that is its own ancestor would make the tree a cycle (Linux: ELOOP).
      for (let a: Dentry | null = parent; a; a = a.parent) {
        if (a.inode.nid === inode.nid) {
          this.putInode(inode);
          throw new SysError('ELOOP', `directory ${inode.nid} is its own ancestor`);
        }
      }
    }
    return this.dentries.attach(parent, key, inode).incRef();
  }

  // ---- open, stat, readlink ----------------------------------------------------------

  /**
   * Opens the object a resolved dentry names, with Linux's checks for the flags (see
   * file.ts). The description takes its own reference on the dentry.
   */
  open(d: Dentry, flags: number, creds: Credentials): FileDescription {
    this.checkAlive();
    return openDescription(this, d, flags, creds);
  }

  stat(d: Dentry) {
    return d.inode.stat();
  }

  statx(d: Dentry) {
    return d.inode.statx();
  }

  statfs(): StatFs {
    const sb = this.image.sb;
    let blocks = sb.blocks;
    for (const dev of sb.devices) blocks += dev.blocks;
    const files = (1n << 64n) - 1n;
    const u = sb.uuid;
    let fsid: [number, number] = [0, 0];
    if (u.some((b) => b !== 0)) {
      const le32 = (o: number) => (u[o] | (u[o + 1] << 8) | (u[o + 2] << 16) | (u[o + 3] << 24)) >>> 0;
      fsid = [(le32(0) ^ le32(8)) >>> 0, (le32(4) ^ le32(12)) >>> 0];
    }
    return {
      type: EROFS_SUPER_MAGIC,
      bsize: this.image.blockSize,
      blocks,
      bfree: 0,
      bavail: 0,
      files,
      ffree: files - BigInt(sb.inos),
      fsid,
      namelen: NAME_MAX,
      frsize: this.image.blockSize,
      flags: ST_RDONLY | ST_VALID | ST_RELATIME,
    };
  }

  /** The target of a symlink (EINVAL for anything else). Needs no permission on the link itself. */
  readlink(d: Dentry): Uint8Array {
    this.checkAlive();
    if (!d.inode.isSymlink) throw new SysError('EINVAL', 'not a symbolic link');
    return decoding(() => this.image.readlink(d.inode.raw));
  }

  /**
   * readahead(2) as a host's hint: the image's prefetch of the node's stored bytes (see
   * Image.prefetch): queued at once, fetched in the background by a source that can.
   */
  readahead(d: Dentry, offset: number, length: number): { bytes: number; done: Promise<void> } {
    this.checkAlive();
    return decoding(() => this.image.prefetch(d.inode.raw, offset, length));
  }

  /** access(2): `mode` is F_OK (0) or a mix of R_OK 4, W_OK 2, X_OK 1. */
  access(d: Dentry, mode: number, creds: Credentials): void {
    this.checkAlive();
    if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
    if (mode === 0) return;
    d.inode.permission(creds, mode);
  }

  // ---- xattrs -----------------------------------------------------------------------

  private xattrName(name: string | Uint8Array): Uint8Array {
    const bytes = toBytes(name);
    if (bytes.length === 0 || bytes.length > XATTR_NAME_MAX) throw new SysError('ERANGE', `xattr name of ${bytes.length} bytes`);
    return bytes;
  }

  /**
   * getxattr(2): copies the value into `dest` and returns its length; with no `dest` (or
   * an empty one) returns the length only. ERANGE when `dest` is too small, ENODATA when
   * absent. Unprivileged callers see no trusted.* names (ENODATA); user.* needs read
   * permission and exists only on regular files and directories; a namespace prefix
   * alone ("user.") is EINVAL; an unknown namespace EOPNOTSUPP.
   */
  getxattr(d: Dentry, name: string | Uint8Array, dest: Uint8Array | null, creds: Credentials): number {
    this.checkAlive();
    const value = this.xattrValue(d, name, creds);
    if (!dest || dest.length === 0) return value.length;
    if (value.length > dest.length) throw new SysError('ERANGE', `xattr value of ${value.length} bytes does not fit in ${dest.length}`);
    dest.set(value);
    return value.length;
  }

  /** The value of an xattr, with getxattr's checks. */
  xattrValue(d: Dentry, name: string | Uint8Array, creds: Credentials): Uint8Array {
    this.checkAlive();
    const bytes = this.xattrName(name);
    const full = nameKey(bytes);
    const inode = d.inode;
    // xattr_permission(MAY_READ)
    if (full.startsWith('security.') || full.startsWith('system.')) {
      // no VFS restriction
    } else if (full.startsWith('trusted.')) {
      if (!hasCap(creds, CAP_SYS_ADMIN)) throw new SysError('ENODATA', 'no such attribute');
    } else {
      if (full.startsWith('user.') && !inode.isReg && !inode.isDir) throw new SysError('ENODATA', 'no such attribute');
      inode.permission(creds, MAY_READ);
    }
    // Handler resolution.
    const isAcl = full === 'system.posix_acl_access' || full === 'system.posix_acl_default';
    // Symlinks have no POSIX ACLs: Linux's ACL handler refuses them before looking.
    if (isAcl && inode.isSymlink) throw new SysError('EOPNOTSUPP', 'a symbolic link has no POSIX ACLs');
    if (!isAcl) {
      const prefix = ['user.', 'trusted.', 'security.'].find((p) => full.startsWith(p));
      if (!prefix) throw new SysError('EOPNOTSUPP', `no handler for xattr namespace of "${full}"`);
      if (full.length === prefix.length) throw new SysError('EINVAL', `xattr name "${full}" has no name after its prefix`);
    }
    const value = decoding(() => this.image.getXattr(inode.raw, bytes));
    if (!value) throw new SysError('ENODATA', 'no such attribute');
    if (isAcl) return normalizeAcl(value);
    return value.slice();
  }

  /**
   * listxattr(2): the names, each NUL-terminated, in on-disk order, into `dest`; returns
   * the byte count (only the count when `dest` is empty or null). ERANGE when too small.
   * trusted.* names are listed only to CAP_SYS_ADMIN.
   */
  listxattr(d: Dentry, dest: Uint8Array | null, creds: Credentials): number {
    const names = this.xattrNames(d, creds);
    let total = 0;
    for (const n of names) total += n.length + 1;
    if (total > XATTR_LIST_MAX) throw new SysError('E2BIG', `xattr list of ${total} bytes`);
    if (!dest || dest.length === 0) return total;
    if (total > dest.length) throw new SysError('ERANGE', `xattr list of ${total} bytes does not fit in ${dest.length}`);
    let o = 0;
    for (const n of names) {
      dest.set(n, o);
      dest[o + n.length] = 0;
      o += n.length + 1;
    }
    return total;
  }

  /** The names listxattr would return, as byte strings. */
  xattrNames(d: Dentry, creds: Credentials): Uint8Array[] {
    this.checkAlive();
    const all = decoding(() => this.image.listXattrs(d.inode.raw));
    const admin = hasCap(creds, CAP_SYS_ADMIN);
    const out: Uint8Array[] = [];
    for (const x of all) {
      const n = x.nameBytes;
      if (startsWith(n, USER) || startsWith(n, SECURITY) || startsWith(n, ACL_ACCESS) || startsWith(n, ACL_DEFAULT)) out.push(n);
      else if (startsWith(n, TRUSTED)) {
        if (admin) out.push(n);
      }
    }
    return out;
  }

  // ---- write-type operations: the errors Linux gives on a read-only mount -----------
  // An image is read-only by nature: every write answers as Linux does on a read-only
  // mount, with the checks that come first (readonly.ts has the orders and why).

  create(parent: Dentry, name: string | Uint8Array, _mode: number, creds: Credentials): never {
    this.checkAlive();
    return refuseCreate(parent, toBytes(name), creds);
  }

  /** open(O_TMPFILE): the mount is read-only (EROFS comes first: mnt_want_write precedes the tmpfile op). */
  tmpfile(_dir: Dentry, _mode: number, _creds: Credentials): never {
    this.checkAlive();
    return readOnly();
  }

  mkdir(parent: Dentry, name: string | Uint8Array, _mode: number, creds: Credentials): never {
    this.checkAlive();
    return refuseCreate(parent, toBytes(name), creds);
  }

  /** mknod(2): the type is checked first (a directory EPERM, an unknown type EINVAL). */
  mknod(parent: Dentry, name: string | Uint8Array, mode: number, _rdev: number, creds: Credentials): never {
    this.checkAlive();
    checkMknodType(mode);
    return refuseCreate(parent, toBytes(name), creds);
  }

  /** symlink(2): an empty target is ENOENT before anything else. */
  symlink(parent: Dentry, name: string | Uint8Array, target: string | Uint8Array, creds: Credentials): never {
    this.checkAlive();
    if (toBytes(target).length === 0) throw new SysError('ENOENT', 'empty symlink target');
    return refuseCreate(parent, toBytes(name), creds);
  }

  /** link(2): `existing` is the resolved old path; the new name is checked like mkdir's. */
  link(_existing: Dentry, parent: Dentry, name: string | Uint8Array, creds: Credentials): never {
    this.checkAlive();
    return refuseCreate(parent, toBytes(name), creds);
  }

  unlink(parent: Dentry, name: string | Uint8Array, creds: Credentials): never {
    this.checkAlive();
    return refuseUnlink(parent, toBytes(name), creds);
  }

  rmdir(parent: Dentry, name: string | Uint8Array, creds: Credentials): never {
    this.checkAlive();
    return refuseRmdir(parent, toBytes(name), creds);
  }

  /** renameat2(2) within this filesystem (EXDEV across filesystems). */
  rename(oldParent: Dentry, oldName: string | Uint8Array, newParent: Dentry, newName: string | Uint8Array, flags: number, creds: Credentials): never {
    this.checkAlive();
    return refuseRename(oldParent, toBytes(oldName), newParent, toBytes(newName), flags, creds);
  }

  chmod(_d: Dentry, _mode: number, _creds: Credentials): never {
    this.checkAlive();
    return readOnly();
  }

  chown(_d: Dentry, _uid: number, _gid: number, _creds: Credentials): never {
    this.checkAlive();
    return readOnly();
  }

  /**
   * utimensat(2): `times` null means "now". Nanoseconds outside 0..999999999 that are not
   * UTIME_NOW / UTIME_OMIT are EINVAL; both UTIME_OMIT succeeds (nothing to change).
   */
  utimes(_d: Dentry, times: readonly [Timespec, Timespec] | null, _creds: Credentials): void {
    this.checkAlive();
    refuseUtimes(times);
  }

  truncate(d: Dentry, length: number, _creds: Credentials): never {
    this.checkAlive();
    return refuseTruncate(d, length);
  }

  setxattr(_d: Dentry, name: string | Uint8Array, value: Uint8Array, flags: number, _creds: Credentials): never {
    this.checkAlive();
    return refuseSetxattr(toBytes(name), value, flags);
  }

  removexattr(_d: Dentry, name: string | Uint8Array, _creds: Credentials): never {
    this.checkAlive();
    return refuseRemovexattr(toBytes(name));
  }

  /** syncfs(2): nothing is dirty. */
  sync(): void {
    this.checkAlive();
  }

  // ---- statistics and release -------------------------------------------------------

  stats(): FilesystemStats {
    return {
      dentriesCached: this.dentries.size,
      dentriesPinned: this.dentries.live - this.dentries.size,
      inodesLive: this.inodes.size,
      lookupHits: this.hits,
      lookupMisses: this.misses,
      negativeCached: this.negative.size,
      dentriesEvicted: this.dentries.evictions,
      dirEntriesCached: this.dirCacheCount,
      pageCache: this.image.cache?.stats() ?? { entries: 0, bytes: 0, budget: 0, hits: 0, misses: 0, evictions: 0 },
    };
  }

  /** Unreferenced dentries, most recently used first (for tests and tools). */
  cachedDentries(): IterableIterator<Dentry> {
    return this.dentries.lru();
  }

  /**
   * Evicts every unreferenced dentry and empties the other caches, the image's share of the
   * page cache included (pages already mapped stay valid); pinned dentries stay.
   */
  shrink(): void {
    this.dentries.trim(0);
    this.negative.clear();
    this.dirCache.clear();
    this.dirCacheCount = 0;
    this.image.cache?.clear();
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * Frees everything. EBUSY (and nothing changes) while any dentry besides the root is
   * still referenced from outside: an open description, a cwd, a caller's hold.
   * Afterwards every operation answers EIO. Releasing twice throws.
   */
  release(): void {
    if (this.released) throw new Error('filesystem released twice');
    this.shrink();
    if (this.root.refs !== 1) throw new SysError('EBUSY', `${this.dentries.live - 1} dentries still in use`);
    this.released = true;
    this.root.decRef();
    this.dentries.trim(0);
  }
}

const USER = utf8.encode('user.');
const TRUSTED = utf8.encode('trusted.');
const SECURITY = utf8.encode('security.');
const ACL_ACCESS = utf8.encode('system.posix_acl_access');
const ACL_DEFAULT = utf8.encode('system.posix_acl_default');

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  if (a.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}

/**
 * A POSIX ACL value as Linux's getxattr returns it: decoded (so a malformed one gives
 * the kernel's error) and re-encoded, with the id of entries other than named users
 * and groups set to -1. An empty ACL reads as absent.
 */
function normalizeAcl(value: Uint8Array): Uint8Array {
  const acl = parseAclOrThrow(value);
  const out = new Uint8Array(4 + 8 * acl.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2, true);
  acl.forEach((e, i) => {
    const o = 4 + 8 * i;
    dv.setUint16(o, e.tag, true);
    dv.setUint16(o + 2, e.perm, true);
    dv.setUint32(o + 4, e.tag === ACL_USER || e.tag === ACL_GROUP ? e.id : 0xffffffff, true);
  });
  return out;
}

function parseAclOrThrow(value: Uint8Array) {
  const acl = parsePosixAcl(value);
  if (!acl) throw new SysError('ENODATA', 'empty ACL');
  return acl;
}
