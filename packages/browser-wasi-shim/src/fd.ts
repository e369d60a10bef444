/**
 * The shim's Fd over one descriptor of a mount-layer Task. Every call goes to the Task's
 * Linux-shaped syscall surface (openat, read, pread64, lseek, getdents64, newfstatat,
 * readlinkat; write, pwrite64, fallocate, ftruncate, futimens, fsync, mkdirat, unlinkat,
 * renameat, linkat, symlinkat, utimensat) and its SysError comes back as a WASI errno: on
 * a tmpfs the guest writes, on an image it gets Linux's read-only answers; nothing is read ahead or
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
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SysError,
  UTIME_NOW,
  UTIME_OMIT,
  parseDirents,
  type Stat,
  type Timespec,
} from '@erofs-js/vfs';
import { AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, F_SETFL, type Task } from '@erofs-js/mount';
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
    private fdflags: number,
    /** O_RDONLY, O_WRONLY or O_RDWR: what the description was opened for (its rights show it). */
    private readonly accmode: number = O_RDONLY,
  ) {
    super();
  }

  /** Wraps a descriptor just opened in `task`; closes it again if fstat fails. */
  static adopt(task: Task, fd: number, fdflags = 0, accmode = O_RDONLY): ErofsFd {
    let st: Stat;
    try {
      st = task.fstat(fd);
    } catch (e) {
      task.close(fd);
      throw e;
    }
    return new ErofsFd(task, fd, filetypeOfMode(st.mode), fdflags, accmode);
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
    // wasi-libc's fcntl(F_GETFL) reads the access mode back from FD_READ and FD_WRITE.
    if (this.isDirectory) st.fs_rights_base = DIR_RIGHTS;
    else {
      st.fs_rights_base = FILE_RIGHTS;
      if (this.accmode === O_WRONLY) st.fs_rights_base &= ~b(wasi.RIGHTS_FD_READ);
      if (this.accmode !== O_RDONLY) st.fs_rights_base |= WRITE_RIGHTS | b(wasi.RIGHTS_FD_DATASYNC | wasi.RIGHTS_FD_SYNC);
    }
    st.fs_rights_inherited = this.isDirectory ? INHERITED_RIGHTS : 0n;
    return { ret: wasi.ERRNO_SUCCESS, fdstat: st };
  }

  /** fcntl(F_SETFL): O_APPEND and O_NONBLOCK go to the description; the flags are remembered. */
  override fd_fdstat_set_flags(flags: number): number {
    return guard(() => {
      this.task.fcntl(this.live(), F_SETFL, (flags & wasi.FDFLAGS_APPEND ? O_APPEND : 0) | (flags & wasi.FDFLAGS_NONBLOCK ? O_NONBLOCK : 0));
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

  /**
   * A buffer length for a read of `size` bytes: no more than is left of a regular file
   * now (files on a writable mount grow and shrink, so the size is asked each time).
   */
  private readLength(size: number, position: () => number): number {
    let n = Math.max(0, Math.min(size, READ_CHUNK));
    if (this.filetype === wasi.FILETYPE_REGULAR_FILE && n > 0) n = Math.max(0, Math.min(n, this.task.fstat(this.fd).size - position()));
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

  // ---- writing through the descriptor -----------------------------------------------

  /** write(2) at the description's offset (O_APPEND: at the end). */
  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    try {
      return { ret: wasi.ERRNO_SUCCESS, nwritten: this.task.write(this.live(), data) };
    } catch (e) {
      return { ret: errnoOf(e), nwritten: 0 };
    }
  }

  /** pwrite64(2) at `offset`, leaving the description's offset alone. */
  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    try {
      const fd = this.live();
      return { ret: wasi.ERRNO_SUCCESS, nwritten: this.task.pwrite64(fd, data, toOffset(offset)) };
    } catch (e) {
      return { ret: errnoOf(e), nwritten: 0 };
    }
  }

  /** WASI fd_allocate is posix_fallocate: fallocate(2) with mode 0. */
  override fd_allocate(offset: bigint, len: bigint): number {
    return guard(() => this.task.fallocate(this.live(), 0, offset, len));
  }

  /** ftruncate(2). */
  override fd_filestat_set_size(size: bigint): number {
    return guard(() => this.task.ftruncate(this.live(), size));
  }

  /** futimens(2) with WASI's fst_flags turned into UTIME_NOW / UTIME_OMIT. */
  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    return guard(() => {
      const fd = this.live();
      const times = timesOf(atim, mtim, fstFlags);
      if (typeof times === 'number') return times;
      return this.task.futimens(fd, times);
    });
  }

  /** fsync(2) (the shim sends fd_datasync here too). EROFS has no fsync: EINVAL, as Linux. */
  override fd_sync(): number {
    return guard(() => this.task.fsync(this.live()));
  }

  // ---- path calls (relative to this descriptor) --------------------------------------

  /**
   * openat(2). Write rights open for writing (both kinds: O_RDWR); OFLAGS_CREAT creates
   * with mode 0666 less the task's umask (WASI carries no mode; uvwasi uses the same).
   */
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
      if (fdflags & wasi.FDFLAGS_NONBLOCK) flags |= O_NONBLOCK;
      const fd = this.task.openat(this.live(), p, flags, 0o666);
      return { ret: wasi.ERRNO_SUCCESS, fd_obj: ErofsFd.adopt(this.task, fd, fdflags, flags & 3) };
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
   * The old side of the shim's path_link: the name must resolve (linkat(2) resolves the
   * old path first too); the handle on (this descriptor, path) is what path_link below
   * turns into linkat(2).
   */
  override path_lookup(path: string, dirflags: number): { ret: number; inode_obj: Inode | null } {
    const r = this.path_filestat_get(dirflags, path);
    if (!r.filestat) return { ret: r.ret, inode_obj: null };
    return { ret: wasi.ERRNO_SUCCESS, inode_obj: new ErofsInode(this, path, dirflags) };
  }

  /** mkdirat(2) with mode 0777 less the umask (WASI carries no mode). */
  override path_create_directory(path: string): number {
    return this.atPath(path, (fd, p) => this.task.mkdirat(fd, p, 0o777));
  }

  /**
   * The new side of the shim's path_link and path_rename: linkat(2) for a handle from
   * path_lookup, renameat(2) for one from path_unlink. The shim relinks the old name after
   * a failed rename and wants success: nothing was unlinked, so that is a no-op.
   */
  override path_link(path: string, inode: Inode, _allowDir: boolean): number {
    if (inode instanceof PendingRename) {
      if (inode.failed || inode.done) return wasi.ERRNO_SUCCESS;
      return this.atPath(path, (fd, p) => {
        try {
          const r = inode.dir.task === this.task ? this.task.renameat(inode.dir.live(), inode.bytes, fd, p) : crossTask();
          inode.done = true;
          return r;
        } catch (e) {
          inode.failed = true;
          throw e;
        }
      });
    }
    if (inode instanceof ErofsInode) {
      return this.atPath(path, (fd, p) => {
        const old = relativePath(inode.path);
        if (typeof old === 'number') return old;
        if (inode.dir.task !== this.task) return crossTask();
        return this.task.linkat(inode.dir.live(), old, fd, p, inode.dirflags & LOOKUPFLAGS_SYMLINK_FOLLOW ? AT_SYMLINK_FOLLOW : 0);
      });
    }
    return wasi.ERRNO_XDEV;
  }

  /** unlinkat(2). */
  override path_unlink_file(path: string): number {
    return this.atPath(path, (fd, p) => this.task.unlinkat(fd, p, 0));
  }

  /** unlinkat(AT_REMOVEDIR). */
  override path_remove_directory(path: string): number {
    return this.atPath(path, (fd, p) => this.task.unlinkat(fd, p, AT_REMOVEDIR));
  }

  /**
   * The old side of the shim's path_rename (it "unlinks", then links the inode at the new
   * name): nothing is removed here; the handle lets path_link make one renameat(2).
   */
  override path_unlink(path: string): { ret: number; inode_obj: Inode | null } {
    const p = relativePath(path);
    if (typeof p === 'number') return { ret: p, inode_obj: null };
    return { ret: wasi.ERRNO_SUCCESS, inode_obj: new PendingRename(this, p) };
  }

  /** utimensat(2); `flags` is WASI's lookupflags (follow a final symlink or not). */
  override path_filestat_set_times(flags: number, path: string, atim: bigint, mtim: bigint, fstFlags: number): number {
    return this.atPath(path, (fd, p) => {
      const times = timesOf(atim, mtim, fstFlags);
      if (typeof times === 'number') return times;
      return this.task.utimensat(fd, p, times, flags & LOOKUPFLAGS_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
    });
  }

  /** symlinkat(2): the target is stored as given (installSymlink routes the shim's import here). */
  path_symlink_bytes(target: Uint8Array, path: string): number {
    return this.atPath(path, (fd, p) => this.task.symlinkat(target, fd, p));
  }

  /** Runs `fn` with this descriptor and the checked relative path; what it throws becomes a WASI errno. */
  private atPath(path: string, fn: (fd: number, p: Uint8Array) => number): number {
    return guard(() => {
      const p = relativePath(path);
      if (typeof p === 'number') return p;
      // Task calls return 0; a WASI-level refusal (EINVAL for bad fst_flags) is its errno.
      return fn(this.live(), p);
    });
  }
}

/** Two preopens run two Tasks: a name cannot be moved or linked from one to the other. */
function crossTask(): never {
  throw new SysError('EXDEV', 'across preopens');
}

/** The old name of a rename in progress (see ErofsFd.path_unlink). */
class PendingRename extends Inode {
  failed = false;
  done = false;
  constructor(
    readonly dir: ErofsFd,
    readonly bytes: Uint8Array,
  ) {
    super();
  }
  path_open(): { ret: number; fd_obj: Fd | null } {
    return { ret: wasi.ERRNO_BADF, fd_obj: null };
  }
  stat(): wasi.Filestat {
    return new wasi.Filestat(0n, wasi.FILETYPE_UNKNOWN, 0n);
  }
}

/** A name found by path_lookup: linked by path_link, or opened again. */
export class ErofsInode extends Inode {
  constructor(
    readonly dir: ErofsFd,
    readonly path: string,
    readonly dirflags: number,
  ) {
    super();
  }

  path_open(oflags: number, rightsBase: bigint, fdflags: number): { ret: number; fd_obj: Fd | null } {
    return this.dir.path_open(this.dirflags, this.path, oflags, rightsBase, 0n, fdflags);
  }

  stat(): wasi.Filestat {
    const r = this.dir.path_filestat_get(this.dirflags, this.path);
    return r.filestat ?? new wasi.Filestat(0n, wasi.FILETYPE_UNKNOWN, 0n);
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

/**
 * WASI's (atim, mtim, fst_flags) as utimensat's times: a time set, UTIME_NOW, or
 * UTIME_OMIT when neither flag of a time is given. Unknown flags, or a time given both as a
 * value and as "now", are EINVAL.
 */
function timesOf(atim: bigint, mtim: bigint, fstFlags: number): [Timespec, Timespec] | number {
  if (fstFlags & ~TIME_FLAGS) return wasi.ERRNO_INVAL;
  if (fstFlags & wasi.FSTFLAGS_ATIM && fstFlags & wasi.FSTFLAGS_ATIM_NOW) return wasi.ERRNO_INVAL;
  if (fstFlags & wasi.FSTFLAGS_MTIM && fstFlags & wasi.FSTFLAGS_MTIM_NOW) return wasi.ERRNO_INVAL;
  const one = (t: bigint, set: number, now: number): Timespec => {
    if (fstFlags & now) return { sec: 0, nsec: UTIME_NOW };
    if (!(fstFlags & set)) return { sec: 0, nsec: UTIME_OMIT };
    // WASI timestamps are unsigned nanoseconds; a time before 1970 arrives wrapped (as uvwasi reads it back).
    const ns = BigInt.asIntN(64, t);
    const sec = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
    return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
  };
  return [one(atim, wasi.FSTFLAGS_ATIM, wasi.FSTFLAGS_ATIM_NOW), one(mtim, wasi.FSTFLAGS_MTIM, wasi.FSTFLAGS_MTIM_NOW)];
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
