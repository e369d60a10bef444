/**
 * The shim's Fd over one descriptor of a mount-layer Task. Every call goes to the Task's
 * Linux-shaped syscall surface (openat, read, pread64, lseek, getdents64, newfstatat,
 * readlinkat) and its SysError comes back as a WASI errno; nothing is read ahead or
 * mapped eagerly: a directory is listed a getdents64 batch at a time, from the cookie the
 * guest asks for.
 */
import { Fd, Inode, wasi } from '@bjorn3/browser_wasi_shim';
import {
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SysError,
  parseDirents,
  type Stat,
} from '@erofs-js/vfs';
import { AT_SYMLINK_NOFOLLOW, F_SETFL, type Task } from '@erofs-js/mount';
import { errnoOf } from './errno.js';
import { filestatOf, filetypeOfDtype, filetypeOfMode, type ErofsFilestat } from './filestat.js';
import { isDots, relativePath, splitLast } from './path.js';

/** WASI lookupflags: follow a symlink in the last component (the shim does not export it). */
export const LOOKUPFLAGS_SYMLINK_FOLLOW = 1;

const SEEK_SET = 0;
const SEEK_CUR = 1;
/** Largest read served by one call; the shim accepts a short read and asks again. */
const READ_CHUNK = 4 << 20;
/** getdents64 buffer for one batch of directory entries. */
const DIRENT_BATCH = 16 << 10;

const b = (r: number) => BigInt(r);
/** Rights that ask for writing (what wasi-libc requests for O_WRONLY). */
export const WRITE_RIGHTS = b(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_ALLOCATE | wasi.RIGHTS_FD_FILESTAT_SET_SIZE);
const READ_RIGHTS = b(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_READDIR);
const FILE_RIGHTS = b(
  wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_TELL | wasi.RIGHTS_FD_ADVISE | wasi.RIGHTS_FD_FDSTAT_SET_FLAGS | wasi.RIGHTS_FD_FILESTAT_GET | wasi.RIGHTS_POLL_FD_READWRITE,
);
const DIR_RIGHTS = b(
  wasi.RIGHTS_FD_READDIR |
    wasi.RIGHTS_FD_FILESTAT_GET |
    wasi.RIGHTS_PATH_OPEN |
    wasi.RIGHTS_PATH_FILESTAT_GET |
    wasi.RIGHTS_PATH_READLINK |
    wasi.RIGHTS_PATH_CREATE_DIRECTORY |
    wasi.RIGHTS_PATH_CREATE_FILE |
    wasi.RIGHTS_PATH_LINK_SOURCE |
    wasi.RIGHTS_PATH_LINK_TARGET |
    wasi.RIGHTS_PATH_RENAME_SOURCE |
    wasi.RIGHTS_PATH_RENAME_TARGET |
    wasi.RIGHTS_PATH_FILESTAT_SET_TIMES |
    wasi.RIGHTS_PATH_SYMLINK |
    wasi.RIGHTS_PATH_REMOVE_DIRECTORY |
    wasi.RIGHTS_PATH_UNLINK_FILE,
);
/**
 * What a directory lets a guest ask for when it opens something below it: everything,
 * write rights included. wasi-libc requests only the rights it may get (base = wanted &
 * inherited), so hiding the write rights would turn open(O_WRONLY) into a silent read-only
 * open; offering them lets path_open answer EROFS as Linux's open(2) does.
 */
const INHERITED_RIGHTS = (1n << 30n) - 1n;

const TIME_FLAGS = wasi.FSTFLAGS_ATIM | wasi.FSTFLAGS_ATIM_NOW | wasi.FSTFLAGS_MTIM | wasi.FSTFLAGS_MTIM_NOW;

interface DirentRecord {
  /** The cookie (Linux directory position) this entry starts at. */
  at: bigint;
  next: bigint;
  ino: bigint;
  type: number;
  name: Uint8Array;
}

const utf8 = new TextDecoder();

/** A WASI descriptor backed by a descriptor of a mount-layer Task. */
export class ErofsFd extends Fd {
  private closed = false;
  /** The current getdents64 batch (directories only). */
  private batch: DirentRecord[] = [];
  private hint = 0;

  protected constructor(
    /** The Task that owns the descriptor (shared by every Fd of one preopen). */
    readonly task: Task,
    /** The Task's descriptor number. */
    readonly fd: number,
    /** WASI filetype, from fstat at open time (an image never changes type under us). */
    readonly filetype: number,
    /** Size at open time: an upper bound for read buffers (the image is read-only). */
    private readonly size: number,
    private fdflags: number,
  ) {
    super();
  }

  /** Wraps a descriptor just opened in `task`; closes it again if fstat fails. */
  static adopt(task: Task, fd: number, fdflags = 0): ErofsFd {
    let st: Stat;
    try {
      st = task.fstat(fd);
    } catch (e) {
      task.close(fd);
      throw e;
    }
    return new ErofsFd(task, fd, filetypeOfMode(st.mode), st.size, fdflags);
  }

  /** The Task descriptor, or EBADF once this Fd was closed (Task numbers are reused). */
  protected live(): number {
    if (this.closed) throw new SysError('EBADF', 'descriptor closed');
    return this.fd;
  }

  get isDirectory(): boolean {
    return this.filetype === wasi.FILETYPE_DIRECTORY;
  }

  // ---- descriptor calls -------------------------------------------------------------

  override fd_close(): number {
    return guard(() => {
      this.task.close(this.live());
      this.closed = true;
      this.batch = [];
      return wasi.ERRNO_SUCCESS;
    });
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    if (this.closed) return { ret: wasi.ERRNO_BADF, fdstat: null };
    const st = new wasi.Fdstat(this.filetype, this.fdflags);
    st.fs_rights_base = this.isDirectory ? DIR_RIGHTS : FILE_RIGHTS;
    st.fs_rights_inherited = this.isDirectory ? INHERITED_RIGHTS : 0n;
    return { ret: wasi.ERRNO_SUCCESS, fdstat: st };
  }

  /** fcntl(F_SETFL): accepted and remembered, as Linux does on a read-only description. */
  override fd_fdstat_set_flags(flags: number): number {
    return guard(() => {
      this.task.fcntl(this.live(), F_SETFL, 0);
      this.fdflags = flags;
      return wasi.ERRNO_SUCCESS;
    });
  }

  override fd_filestat_get(): { ret: number; filestat: ErofsFilestat | null } {
    try {
      return { ret: wasi.ERRNO_SUCCESS, filestat: filestatOf(this.task.fstat(this.live())) };
    } catch (e) {
      return { ret: errnoOf(e), filestat: null };
    }
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    try {
      const fd = this.live();
      const buf = new Uint8Array(this.readLength(size, () => this.task.lseek(fd, 0, SEEK_CUR)));
      const n = this.task.read(fd, buf);
      return { ret: wasi.ERRNO_SUCCESS, data: buf.subarray(0, n) };
    } catch (e) {
      return { ret: errnoOf(e), data: new Uint8Array(0) };
    }
  }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    try {
      const fd = this.live();
      const pos = toOffset(offset);
      const buf = new Uint8Array(this.readLength(size, () => pos));
      const n = this.task.pread64(fd, buf, pos);
      return { ret: wasi.ERRNO_SUCCESS, data: buf.subarray(0, n) };
    } catch (e) {
      return { ret: errnoOf(e), data: new Uint8Array(0) };
    }
  }

  /** A buffer length for a read of `size` bytes: no more than is left of a regular file. */
  private readLength(size: number, position: () => number): number {
    let n = Math.max(0, Math.min(size, READ_CHUNK));
    if (this.filetype === wasi.FILETYPE_REGULAR_FILE && n > 0) n = Math.max(0, Math.min(n, this.size - position()));
    return n;
  }

  /**
   * lseek(2) on files. Directories answer EBADF, as the shim's own directories do: WASI
   * moves through a directory by cookie, and the batch here owns the position.
   */
  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    try {
      const fd = this.live();
      if (this.isDirectory) return { ret: wasi.ERRNO_BADF, offset: 0n };
      if (whence !== wasi.WHENCE_SET && whence !== wasi.WHENCE_CUR && whence !== wasi.WHENCE_END) return { ret: wasi.ERRNO_INVAL, offset: 0n };
      // WASI's whence values are Linux's SEEK_SET / SEEK_CUR / SEEK_END.
      const pos = this.task.lseek(fd, toSignedOffset(offset), whence);
      return { ret: wasi.ERRNO_SUCCESS, offset: BigInt(pos) };
    } catch (e) {
      return { ret: errnoOf(e), offset: 0n };
    }
  }

  override fd_tell(): { ret: number; offset: bigint } {
    return this.fd_seek(0n, wasi.WHENCE_CUR);
  }

  /**
   * One entry at `cookie` (a Linux directory position: 0 is the start, each entry's d_next
   * is the d_off getdents64 gave it). Entries come from a getdents64 batch; a cookie
   * outside the batch seeks the directory there and reads the next batch.
   */
  override fd_readdir_single(cookie: bigint): { ret: number; dirent: wasi.Dirent | null } {
    try {
      const fd = this.live();
      let rec = this.fromBatch(cookie);
      if (!rec) {
        if (cookie > BigInt(Number.MAX_SAFE_INTEGER)) return { ret: wasi.ERRNO_SUCCESS, dirent: null };
        this.fill(fd, cookie);
        rec = this.fromBatch(cookie);
        // getdents64 rounds a position between entries up to the next entry.
        if (!rec && this.batch.length > 0) rec = this.batch[0];
        if (rec) this.hint = this.batch.indexOf(rec);
      }
      if (!rec) return { ret: wasi.ERRNO_SUCCESS, dirent: null };
      this.hint++;
      const d = new wasi.Dirent(rec.next, rec.ino, '', rec.type);
      // The name goes to the guest as the bytes on disk (not through a UTF-8 round trip).
      d.dir_name = rec.name;
      d.d_namlen = rec.name.length;
      return { ret: wasi.ERRNO_SUCCESS, dirent: d };
    } catch (e) {
      return { ret: errnoOf(e), dirent: null };
    }
  }

  private fromBatch(cookie: bigint): DirentRecord | undefined {
    const h = this.batch[this.hint];
    if (h && h.at === cookie) return h;
    return this.batch.find((r) => r.at === cookie);
  }

  private fill(fd: number, cookie: bigint): void {
    this.batch = [];
    this.hint = 0;
    this.task.lseek(fd, Number(cookie), SEEK_SET);
    const buf = new Uint8Array(DIRENT_BATCH);
    const n = this.task.getdents64(fd, buf);
    let at = cookie;
    for (const r of parseDirents(buf, n)) {
      this.batch.push({ at, next: BigInt(r.off), ino: BigInt(r.ino), type: filetypeOfDtype(r.type), name: r.name.slice() });
      at = BigInt(r.off);
    }
  }

  // ---- write-type descriptor calls: what Linux answers on a read-only description ----

  /** write(2) on a description never open for writing: EBADF. */
  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    try {
      return { ret: wasi.ERRNO_SUCCESS, nwritten: this.task.write(this.live(), data) };
    } catch (e) {
      return { ret: errnoOf(e), nwritten: 0 };
    }
  }

  /** pwrite(2): EBADF, as write. */
  override fd_pwrite(data: Uint8Array, _offset: bigint): { ret: number; nwritten: number } {
    return this.fd_write(data);
  }

  /** fallocate(2) needs a description open for writing: EBADF. */
  override fd_allocate(_offset: bigint, _len: bigint): number {
    return guard(() => {
      this.task.fstat(this.live());
      throw new SysError('EBADF', 'not open for writing');
    });
  }

  /** ftruncate(2) of a description not open for writing: EINVAL. */
  override fd_filestat_set_size(_size: bigint): number {
    return guard(() => {
      this.task.fstat(this.live());
      throw new SysError('EINVAL', 'not open for writing');
    });
  }

  /** futimens(2): EROFS unless both times are omitted (then nothing to do, success). */
  override fd_filestat_set_times(_atim: bigint, _mtim: bigint, fstFlags: number): number {
    return guard(() => {
      this.task.fstat(this.live());
      return setTimes(fstFlags);
    });
  }

  /** fsync(2) / fdatasync(2): EROFS has no fsync, so Linux answers EINVAL. */
  override fd_sync(): number {
    return guard(() => this.task.fsync(this.live()));
  }

  // ---- path calls (relative to this descriptor) --------------------------------------

  override path_open(
    dirflags: number,
    path: string,
    oflags: number,
    rightsBase: bigint,
    _rightsInheriting: bigint,
    fdflags: number,
  ): { ret: number; fd_obj: ErofsFd | null } {
    try {
      const p = relativePath(path);
      if (typeof p === 'number') return { ret: p, fd_obj: null };
      const write = (rightsBase & WRITE_RIGHTS) !== 0n;
      const read = (rightsBase & READ_RIGHTS) !== 0n;
      let flags = write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
      if (oflags & wasi.OFLAGS_CREAT) flags |= O_CREAT;
      if (oflags & wasi.OFLAGS_EXCL) flags |= O_EXCL;
      if (oflags & wasi.OFLAGS_TRUNC) flags |= O_TRUNC;
      if (oflags & wasi.OFLAGS_DIRECTORY) flags |= O_DIRECTORY;
      if (!(dirflags & LOOKUPFLAGS_SYMLINK_FOLLOW)) flags |= O_NOFOLLOW;
      if (fdflags & wasi.FDFLAGS_APPEND) flags |= O_APPEND;
      const fd = this.task.openat(this.live(), p, flags);
      return { ret: wasi.ERRNO_SUCCESS, fd_obj: ErofsFd.adopt(this.task, fd, fdflags) };
    } catch (e) {
      return { ret: errnoOf(e), fd_obj: null };
    }
  }

  override path_filestat_get(flags: number, path: string): { ret: number; filestat: ErofsFilestat | null } {
    try {
      const p = relativePath(path);
      if (typeof p === 'number') return { ret: p, filestat: null };
      const st = this.task.newfstatat(this.live(), p, flags & LOOKUPFLAGS_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
      return { ret: wasi.ERRNO_SUCCESS, filestat: filestatOf(st) };
    } catch (e) {
      return { ret: errnoOf(e), filestat: null };
    }
  }

  /** The target as a string (the shim's interface), decoded from UTF-8. */
  override path_readlink(path: string): { ret: number; data: string | null } {
    const r = this.path_readlink_bytes(path);
    return { ret: r.ret, data: r.data === null ? null : utf8.decode(r.data) };
  }

  /** The target's bytes as stored (used by installPosixReadlink). */
  path_readlink_bytes(path: string): { ret: number; data: Uint8Array | null } {
    try {
      const p = relativePath(path);
      if (typeof p === 'number') return { ret: p, data: null };
      const buf = new Uint8Array(4096);
      const n = this.task.readlinkat(this.live(), p, buf);
      return { ret: wasi.ERRNO_SUCCESS, data: buf.slice(0, n) };
    } catch (e) {
      return { ret: errnoOf(e), data: null };
    }
  }

  /**
   * The inode a path names, for the shim's path_link (the old side of link(2)). It is a
   * snapshot of the file's attributes; path_link on this filesystem refuses anyway.
   */
  override path_lookup(path: string, dirflags: number): { ret: number; inode_obj: Inode | null } {
    const r = this.path_filestat_get(dirflags, path);
    if (!r.filestat) return { ret: r.ret, inode_obj: null };
    return { ret: wasi.ERRNO_SUCCESS, inode_obj: new ErofsInode(this, path, dirflags, r.filestat) };
  }

  /** mkdirat(2): Linux's order is parent errors, EEXIST, then EROFS. */
  override path_create_directory(path: string): number {
    return this.createCheck(path);
  }

  /** linkat(2), new side: as mkdirat. */
  override path_link(path: string, _inode: Inode, _allowDir: boolean): number {
    return this.createCheck(path);
  }

  /** unlinkat(2): parent errors, EISDIR for "." and "..", then EROFS (before the name is looked up). */
  override path_unlink_file(path: string): number {
    return this.removeCheck(path, (last) => (isDots(last) ? 'EISDIR' : null));
  }

  /** unlinkat(AT_REMOVEDIR): parent errors, EINVAL for ".", ENOTEMPTY for "..", then EROFS. */
  override path_remove_directory(path: string): number {
    return this.removeCheck(path, (last) => (last.length === 1 && last[0] === 0x2e ? 'EINVAL' : isDots(last) ? 'ENOTEMPTY' : null));
  }

  /**
   * The old side of the shim's rename (it unlinks, then links): renameat(2) gives parent
   * errors, EBUSY for "." and "..", then EROFS.
   */
  override path_unlink(path: string): { ret: number; inode_obj: Inode | null } {
    return { ret: this.removeCheck(path, (last) => (isDots(last) ? 'EBUSY' : null)), inode_obj: null };
  }

  override path_rename(oldPath: string, _newFd: number, _newPath: string): number {
    return this.path_unlink(oldPath).ret;
  }

  /** utimensat(2): the path must resolve; then success if both times are omitted, else EROFS. */
  override path_filestat_set_times(flags: number, path: string, _atim: bigint, _mtim: bigint, fstFlags: number): number {
    const r = this.path_filestat_get(flags, path);
    if (!r.filestat) return r.ret;
    return guard(() => setTimes(fstFlags));
  }

  /** The parent a create or remove call walks: it must be a directory. */
  private parentOf(p: Uint8Array): Uint8Array {
    const { parent, last } = splitLast(p);
    const st = this.task.newfstatat(this.live(), parent, 0);
    if ((st.mode & 0o170000) !== 0o040000) throw new SysError('ENOTDIR', 'not a directory');
    return last;
  }

  private createCheck(path: string): number {
    return guard(() => {
      const p = relativePath(path);
      if (typeof p === 'number') return p;
      const last = this.parentOf(p);
      if (last.length === 0 || isDots(last)) throw new SysError('EEXIST', 'file exists');
      try {
        this.task.newfstatat(this.fd, p, AT_SYMLINK_NOFOLLOW);
      } catch (e) {
        if (e instanceof SysError && e.code === 'ENOENT') throw new SysError('EROFS', 'read-only file system');
        throw e;
      }
      throw new SysError('EEXIST', 'file exists');
    });
  }

  private removeCheck(path: string, dots: (last: Uint8Array) => 'EISDIR' | 'EINVAL' | 'ENOTEMPTY' | 'EBUSY' | null): number {
    return guard(() => {
      const p = relativePath(path);
      if (typeof p === 'number') return p;
      const last = this.parentOf(p);
      const code = dots(last);
      if (code) throw new SysError(code, 'cannot remove this name');
      throw new SysError('EROFS', 'read-only file system');
    });
  }
}

/** A file found by path_lookup: its attributes, and a way to open it again. */
export class ErofsInode extends Inode {
  constructor(
    private readonly dir: ErofsFd,
    private readonly path: string,
    private readonly dirflags: number,
    private readonly filestat: ErofsFilestat,
  ) {
    super();
    this.ino = filestat.ino;
  }

  path_open(oflags: number, rightsBase: bigint, fdflags: number): { ret: number; fd_obj: Fd | null } {
    return this.dir.path_open(this.dirflags, this.path, oflags, rightsBase, 0n, fdflags);
  }

  stat(): wasi.Filestat {
    return this.filestat;
  }
}

/** Runs a call that returns a WASI errno, turning a thrown SysError into its errno. */
function guard(fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    return errnoOf(e);
  }
}

/** WASI's fst_flags check, then the read-only answer. */
function setTimes(fstFlags: number): number {
  if (fstFlags & ~TIME_FLAGS) return wasi.ERRNO_INVAL;
  if (fstFlags & wasi.FSTFLAGS_ATIM && fstFlags & wasi.FSTFLAGS_ATIM_NOW) return wasi.ERRNO_INVAL;
  if (fstFlags & wasi.FSTFLAGS_MTIM && fstFlags & wasi.FSTFLAGS_MTIM_NOW) return wasi.ERRNO_INVAL;
  if ((fstFlags & TIME_FLAGS) === 0) return wasi.ERRNO_SUCCESS; // both UTIME_OMIT
  throw new SysError('EROFS', 'read-only file system');
}

/** A WASI filesize as a position (EINVAL beyond 2^53, where JS numbers stop being exact). */
function toOffset(v: bigint): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SysError('EINVAL', `offset ${v} out of range`);
  return Number(v);
}

/** A WASI filedelta (signed) as a number. */
function toSignedOffset(v: bigint): number {
  if (v < -BigInt(Number.MAX_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SysError('EINVAL', `offset ${v} out of range`);
  return Number(v);
}
