/**
 * The synthetic root: an empty, read-only directory tree that lives only in memory.
 *
 * A namespace whose root is not an image starts here. Only the host adds directories
 * (mount points such as /dev, /proc, /tmp, /mnt/data): an EROFS image cannot grow a
 * directory, and asking every image author to pre-create the mount points is what
 * gVisor's users had to do. The guest sees plain root-owned 0755 directories on a
 * read-only filesystem: lookup, getdents64, stat, statx, statfs, access and xattr calls
 * answer as they would on a read-only tmpfs; every write is EROFS.
 */
import { S_IFDIR, splitDev } from '@erofs-js/erofs';
import {
  EROFS_STATX_MASK,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  NAME_MAX,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOATIME,
  O_NOFOLLOW,
  O_PATH,
  O_TMPFILE,
  O_TRUNC,
  STATX_ATTR_AUTOMOUNT,
  STATX_ATTR_DAX,
  STATX_ATTR_MOUNT_ROOT,
  SEEK_CUR,
  SEEK_SET,
  ST_RDONLY,
  ST_RELATIME,
  ST_VALID,
  SysError,
  checkPermission,
  direntSize,
  hasCap,
  ownerOrCapable,
  CAP_DAC_READ_SEARCH,
  checkMknodType,
  nameKey,
  readOnly,
  refuseCreate,
  refuseRemovexattr,
  refuseRename,
  refuseRmdir,
  refuseSetxattr,
  refuseTruncate,
  refuseUnlink,
  refuseUtimes,
  type Credentials,
  type FilesystemImpl,
  type OpenFile,
  type Stat,
  type StatFs,
  type Statx,
  type Timespec,
} from '@erofs-js/vfs';

/** f_type of ramfs / the initial rootfs, which the synthetic root stands in for. */
export const RAMFS_MAGIC = 0x858458f6;
/** Linux's BOGO_DIRENT_SIZE: a tmpfs directory's size grows by 20 per entry. */
const BOGO_DIRENT_SIZE = 20;
const DT_DIR = 4;
const BLOCK = 4096;

export interface SyntheticFsOptions {
  /** st_dev (glibc makedev encoding). */
  dev: number;
  /** Time stamp of every directory, seconds since the epoch (default: now). */
  time?: number;
  /** Mode bits of the root directory (default 0755). */
  mode?: number;
}

/** One directory of the synthetic tree. */
export class SynthDir {
  /** Subdirectories by name (latin1 key of the name bytes), in creation order. */
  readonly children = new Map<string, SynthDir>();
  readonly uid = 0;
  readonly gid = 0;

  constructor(
    readonly fs: SyntheticFs,
    readonly parent: SynthDir | null,
    /** Name bytes as a latin1 string ("" for the root). */
    readonly key: string,
    readonly ino: number,
    /** Type and permission bits (always a directory). */
    readonly mode: number,
  ) {}

  get isDir(): true {
    return true;
  }

  /** Holding a synthetic directory costs nothing: the tree never shrinks. */
  incRef(): this {
    return this;
  }

  decRef(): void {}
}

/** A name for one step: "/" and NUL cannot occur in it. */
function checkName(key: string): void {
  if (key.length === 0) throw new SysError('ENOENT', 'empty name');
  if (key.includes('/') || key.includes('\0')) throw new SysError('EINVAL', 'a name cannot hold "/" or NUL');
}

export class SyntheticFs implements FilesystemImpl<SynthDir> {
  readonly type = 'rootfs';
  readonly readOnly = true;
  readonly root: SynthDir;
  readonly dev: number;
  readonly time: number;
  private nextIno = 2;
  private count = 1;

  constructor(options: SyntheticFsOptions) {
    this.dev = options.dev;
    this.time = options.time ?? Math.floor(Date.now() / 1000);
    this.root = new SynthDir(this, null, '', 1, S_IFDIR | ((options.mode ?? 0o755) & 0o7777));
  }

  /** Directories in the tree, the root included. */
  get size(): number {
    return this.count;
  }

  private mayLookup(dir: SynthDir, creds: Credentials): void {
    if (hasCap(creds, CAP_DAC_READ_SEARCH)) return;
    checkPermission(creds, dir, MAY_EXEC);
  }

  /** One step of a path walk, as vfs Filesystem.lookup answers it. */
  lookup(dir: SynthDir, name: Uint8Array, creds: Credentials): SynthDir {
    this.mayLookup(dir, creds);
    const key = nameKey(name);
    checkName(key);
    if (key === '.') return dir;
    if (key === '..') return dir.parent ?? dir;
    const hit = dir.children.get(key);
    if (hit) return hit;
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    throw new SysError('ENOENT', 'no such file or directory');
  }

  /** Host only: adds a directory (EEXIST when the name is taken). */
  addDir(dir: SynthDir, key: string, mode = 0o755): SynthDir {
    checkName(key);
    if (key === '.' || key === '..' || dir.children.has(key)) throw new SysError('EEXIST', 'file exists');
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const d = new SynthDir(this, dir, key, this.nextIno++, S_IFDIR | (mode & 0o7777));
    dir.children.set(key, d);
    this.count++;
    return d;
  }

  stat(d: SynthDir): Stat {
    return {
      dev: this.dev,
      ino: d.ino,
      mode: d.mode,
      nlink: 2 + d.children.size,
      uid: d.uid,
      gid: d.gid,
      rdev: 0,
      size: (d.children.size + 2) * BOGO_DIRENT_SIZE,
      blksize: BLOCK,
      blocks: 0,
      atime: this.time,
      atimeNsec: 0,
      mtime: this.time,
      mtimeNsec: 0,
      ctime: this.time,
      ctimeNsec: 0,
    };
  }

  statx(d: SynthDir): Statx {
    const s = this.stat(d);
    return {
      mask: EROFS_STATX_MASK,
      blksize: s.blksize,
      attributes: 0,
      nlink: s.nlink,
      uid: s.uid,
      gid: s.gid,
      mode: s.mode,
      ino: s.ino,
      size: s.size,
      blocks: 0,
      attributesMask: STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX,
      atime: s.atime,
      atimeNsec: 0,
      btime: 0,
      btimeNsec: 0,
      ctime: s.ctime,
      ctimeNsec: 0,
      mtime: s.mtime,
      mtimeNsec: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      devMajor: splitDev(this.dev).major,
      devMinor: splitDev(this.dev).minor,
    };
  }

  statfs(): StatFs {
    return {
      type: RAMFS_MAGIC,
      bsize: BLOCK,
      blocks: 0,
      bfree: 0,
      bavail: 0,
      files: 0n,
      ffree: 0n,
      fsid: [0, 0],
      namelen: NAME_MAX,
      frsize: BLOCK,
      flags: ST_RDONLY | ST_VALID | ST_RELATIME,
    };
  }

  /** access(2): writes are EROFS, the rest is the mode check. */
  access(d: SynthDir, mode: number, creds: Credentials): void {
    if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
    if (mode === 0) return;
    if (mode & MAY_WRITE) throw new SysError('EROFS', 'read-only file system');
    checkPermission(creds, d, mode);
  }

  readlink(_d: SynthDir): never {
    throw new SysError('EINVAL', 'not a symbolic link');
  }

  /** listxattr(2): none. */
  listxattr(_d: SynthDir, _dest: Uint8Array | null, _creds: Credentials): number {
    return 0;
  }

  /** getxattr(2): no attribute exists; the name checks come first, as on Linux. */
  getxattr(d: SynthDir, name: Uint8Array, _dest: Uint8Array | null, creds: Credentials): never {
    if (name.length === 0 || name.length > 255) throw new SysError('ERANGE', `xattr name of ${name.length} bytes`);
    const s = String.fromCharCode(...name);
    if (s.startsWith('trusted.') || s.startsWith('security.') || s.startsWith('system.')) throw new SysError('ENODATA', 'no such attribute');
    if (!s.startsWith('user.')) throw new SysError('EOPNOTSUPP', `no handler for xattr namespace of "${s}"`);
    if (s === 'user.') throw new SysError('EINVAL', 'xattr name has no name after its prefix');
    checkPermission(creds, d, MAY_READ);
    throw new SysError('ENODATA', 'no such attribute');
  }

  /**
   * open(2) of a synthetic directory, with the checks Linux makes for a directory on a
   * read-only filesystem, in its order.
   */
  open(d: SynthDir, flags: number, creds: Credentials): SynthFile {
    if (flags & O_PATH) return new SynthFile(d, 'path', flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC));
    if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) throw new SysError('EINVAL', 'O_CREAT with O_DIRECTORY');
    let acc = [MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE][flags & O_ACCMODE];
    if (flags & 0o20000000) {
      if ((flags & O_TMPFILE) !== O_TMPFILE || !(acc & MAY_WRITE)) throw new SysError('EINVAL', 'O_TMPFILE needs O_DIRECTORY and write access');
      throw new SysError('EROFS', 'read-only file system');
    }
    if (flags & O_TRUNC) acc |= MAY_WRITE;
    if (flags & O_CREAT) {
      if (flags & O_EXCL) throw new SysError('EEXIST', 'file exists');
      throw new SysError('EISDIR', 'is a directory');
    }
    if (acc & MAY_WRITE) throw new SysError('EISDIR', 'is a directory');
    checkPermission(creds, d, acc);
    if (flags & O_NOATIME && !ownerOrCapable(creds, d)) throw new SysError('EPERM', 'O_NOATIME by a non-owner');
    return new SynthFile(d, 'dir', flags);
  }

  // ---- writes: the guest sees a read-only filesystem (readonly.ts has Linux's orders) --

  create(dir: SynthDir, name: Uint8Array, _mode: number, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }

  tmpfile(_dir: SynthDir, _mode: number, _creds: Credentials): never {
    return readOnly();
  }

  mkdir(dir: SynthDir, name: Uint8Array, _mode: number, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }

  mknod(dir: SynthDir, name: Uint8Array, mode: number, _rdev: number, creds: Credentials): never {
    checkMknodType(mode);
    return refuseCreate(dir, name, creds);
  }

  symlink(dir: SynthDir, name: Uint8Array, target: Uint8Array, creds: Credentials): never {
    if (target.length === 0) throw new SysError('ENOENT', 'empty symlink target');
    return refuseCreate(dir, name, creds);
  }

  link(_existing: SynthDir, dir: SynthDir, name: Uint8Array, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }

  unlink(dir: SynthDir, name: Uint8Array, creds: Credentials): never {
    return refuseUnlink(dir, name, creds);
  }

  rmdir(dir: SynthDir, name: Uint8Array, creds: Credentials): never {
    return refuseRmdir(dir, name, creds);
  }

  rename(oldDir: SynthDir, oldName: Uint8Array, newDir: SynthDir, newName: Uint8Array, flags: number, creds: Credentials): never {
    return refuseRename(oldDir, oldName, newDir, newName, flags, creds);
  }

  chmod(_d: SynthDir, _mode: number, _creds: Credentials): never {
    return readOnly();
  }

  chown(_d: SynthDir, _uid: number, _gid: number, _creds: Credentials): never {
    return readOnly();
  }

  utimes(_d: SynthDir, times: readonly [Timespec, Timespec] | null, _creds: Credentials): void {
    refuseUtimes(times);
  }

  truncate(d: SynthDir, length: number, _creds: Credentials): never {
    return refuseTruncate(d, length);
  }

  setxattr(_d: SynthDir, name: Uint8Array, value: Uint8Array, flags: number, _creds: Credentials): never {
    return refuseSetxattr(name, value, flags);
  }

  removexattr(_d: SynthDir, name: Uint8Array, _creds: Credentials): never {
    return refuseRemovexattr(name);
  }

  sync(): void {}

  /** Nothing to free: the tree is plain objects. */
  release(): void {}
}

/**
 * An open synthetic directory. Positions are entry indexes: 0 ".", 1 "..", then the
 * subdirectories in creation order (new ones are appended, so positions stay valid).
 */
export class SynthFile implements OpenFile {
  offset = 0;
  private closed = false;

  constructor(
    readonly dir: SynthDir,
    readonly kind: 'dir' | 'path',
    public flags: number,
  ) {}

  get node(): SynthDir {
    return this.dir;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private live(): SynthDir {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    return this.dir;
  }

  private io(): SynthDir {
    const d = this.live();
    if (this.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
    return d;
  }

  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
  }

  read(_dest: Uint8Array, _destOffset?: number, _length?: number): number {
    this.io();
    throw new SysError('EISDIR', 'is a directory');
  }

  pread(_dest: Uint8Array, position: number): number {
    this.io();
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    throw new SysError('EISDIR', 'is a directory');
  }

  readv(buffers: readonly Uint8Array[]): number {
    return this.preadv(buffers, this.offset);
  }

  preadv(_buffers: readonly Uint8Array[], position: number): number {
    return this.pread(new Uint8Array(0), position);
  }

  /** Like Linux's dcache_dir_lseek: SEEK_SET and SEEK_CUR only. */
  lseek(offset: number, whence: number): number {
    this.io();
    let pos: number;
    if (whence === SEEK_SET) pos = offset;
    else if (whence === SEEK_CUR) pos = this.offset + offset;
    else throw new SysError('EINVAL', `bad whence ${whence}`);
    if (!(Number.isSafeInteger(pos) && pos >= 0)) throw new SysError('EINVAL', `offset ${pos} out of range`);
    this.offset = pos;
    return pos;
  }

  getdents64(dest: Uint8Array): number {
    const dir = this.io();
    const names: [string, number][] = [
      ['.', dir.ino],
      ['..', (dir.parent ?? dir).ino],
    ];
    for (const c of dir.children.values()) names.push([c.key, c.ino]);
    const dv = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    let written = 0;
    while (this.offset < names.length) {
      const [key, ino] = names[this.offset];
      const reclen = direntSize(key.length);
      if (written + reclen > dest.length) {
        if (written === 0) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${reclen}-byte record`);
        break;
      }
      dv.setUint32(written, ino, true);
      dv.setUint32(written + 4, 0, true);
      dv.setUint32(written + 8, this.offset + 1, true);
      dv.setUint32(written + 12, 0, true);
      dv.setUint16(written + 16, reclen, true);
      dest[written + 18] = DT_DIR;
      for (let i = 0; i < key.length; i++) dest[written + 19 + i] = key.charCodeAt(i);
      dest.fill(0, written + 19 + key.length, written + reclen);
      written += reclen;
      this.offset++;
    }
    return written;
  }

  stat(): Stat {
    return this.dir.fs.stat(this.live());
  }

  statx(): Statx {
    return this.dir.fs.statx(this.live());
  }

  readlink(): Uint8Array {
    this.live();
    throw new SysError('EINVAL', 'not a symbolic link');
  }

  write(_src: Uint8Array, _srcOffset?: number, _length?: number): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }

  pwrite(_src: Uint8Array, _position: number, _srcOffset?: number, _length?: number): never {
    return this.write(_src);
  }

  writev(_buffers: readonly Uint8Array[]): never {
    return this.write(new Uint8Array(0));
  }

  pwritev(_buffers: readonly Uint8Array[], _position: number): never {
    return this.write(new Uint8Array(0));
  }

  /** ftruncate(2) of a directory description: EINVAL (not open for writing). */
  truncate(_length: number): never {
    this.io();
    throw new SysError('EINVAL', 'not open for writing');
  }

  fallocate(_mode: number, _offset: number, _length: number): never {
    return this.write(new Uint8Array(0));
  }

  fsync(): never {
    this.io();
    throw new SysError('EINVAL', 'fsync not supported');
  }

  fdatasync(): never {
    return this.fsync();
  }
}
