/**
 * The guest syscall surface: a Task is what an emulator's syscall handlers call. It has
 * Linux's names, argument order and flag values (x86-64 / generic), a per-task
 * descriptor table, a cwd and a root, and the guest's credentials.
 *
 * Convention: every method returns the syscall's non-negative result or throws a
 * SysError carrying the errno (`e.code` "ENOENT", `e.errno` 2). Calls that fill a
 * structure (fstat, newfstatat, statx, statfs, fstatfs) return it as an object; calls
 * that fill a buffer (read, getdents64, readlinkat, getxattr, listxattr, getcwd) take
 * a Uint8Array and return a count. For raw-syscall handlers that want -errno and
 * structs written into guest memory, see syscalls.ts.
 */
import {
  CAP_SYS_ADMIN,
  MAX_OFFSET,
  MAY_EXEC,
  PAGE_SIZE,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  SIGBUS_MESSAGE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_LARGEFILE,
  O_NOCTTY,
  O_NOFOLLOW,
  O_PATH,
  O_TMPFILE,
  O_TRUNC,
  ROOT,
  ST_RDONLY,
  STATX_ATTR_MOUNT_ROOT,
  SysError,
  checkMmap,
  checkOpenFlags,
  hasCap,
  failedCall,
  type Credentials,
  type Stat,
  type StatFs,
  type Statx,
  type FileDescription,
  CAP_DAC_READ_SEARCH,
  UTIME_OMIT,
  RENAME_WHITEOUT,
  checkMknodType,
  checkRenameFlags,
  checkSetxattr,
  checkTimes,
  checkXattrName,
  type Timespec,
  CAP_MKNOD,
  MAY_READ,
  MAY_WRITE,
} from '@erofs-js/vfs';
import type { Location, Mount, MountNamespace } from './namespace.js';
import * as node from './node.js';
import type { OpenFile } from './node.js';
import { mountinfoFor } from './mountinfo.js';
import * as namei from './namei.js';
import { SynthFile } from './synthetic.js';
import { FdTable } from './fdtable.js';
import { Resolver, checkPath, crossMounts, holdLoc, pathBytes, release, resolve, resolveAt, type PathArg } from './resolve.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK } from '@erofs-js/erofs';

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EACCESS = 0x200;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_TYPE = 0x6000;
export const AT_STATX_FORCE_SYNC = 0x2000;
export const AT_STATX_DONT_SYNC = 0x4000;

export const STATX_MNT_ID = 0x1000;
export const STATX__RESERVED = 0x80000000;

export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

export const MS_RDONLY = 0x1;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

const ST_NOSUID = 0x2;
const ST_NODEV = 0x4;
const ST_NOEXEC = 0x8;
const CAP_SYS_CHROOT = 18;

/** statx result with what the mount layer adds: the mount id (STATX_MNT_ID). */
export interface MountStatx extends Statx {
  mntId: number;
}

/**
 * An open file description as the task sees it: shared by dup'ed descriptors (one
 * offset), counted as a user of its mount until the last descriptor closes.
 */
export class OpenDescription {
  /** Descriptors (in any task) pointing here. */
  refs = 1;
  /**
   * The position when it lies past 2^53 (lseek allows up to 2^63 - 1), else null. Every
   * file the layers read ends below 2^53, so such a position is past the end of any of
   * them: meanwhile the file's own offset is parked at MAX_OFFSET, where a read returns 0
   * (EISDIR on a directory) and getdents64 returns nothing, as Linux answers there. Only
   * lseek reports the exact position; read checks that its end stays below 2^63.
   */
  far: bigint | null = null;

  constructor(
    readonly mount: Mount,
    readonly file: OpenFile,
  ) {
    mount.get('file');
  }

  get node(): node.Node {
    return node.nodeOfFile(this.file);
  }

  get location(): Location {
    return { mount: this.mount, node: this.node };
  }

  /** @internal */
  put(): void {
    if (--this.refs > 0) return;
    this.file.close();
    this.mount.put('file');
  }
}

interface FdEntry {
  desc: OpenDescription;
  cloexec: boolean;
}

export interface TaskOptions {
  /** The guest's credentials (default: root with every capability the VFS consults). */
  creds?: Credentials;
  /** Highest descriptor number plus one (RLIMIT_NOFILE; default 1024). */
  maxFds?: number;
  /**
   * Descriptor numbers this table never hands out (e.g. [0, 1, 2] when the emulator
   * owns stdio itself); they answer EBADF here.
   */
  reservedFds?: readonly number[];
  /** Initial working directory (default "/"). */
  cwd?: string;
}

/** Largest file position (loff_t). */
const LOFF_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(MAX_OFFSET);
/** readv/preadv take at most this many buffers (Linux's UIO_MAXIOV). */
export const UIO_MAXIOV = 1024;

/**
 * An off_t argument as the edge keeps it: a safe integer as a number, anything larger (up
 * to 2^63 - 1) or smaller (down to -2^63) as a bigint. Not an integer, or outside off_t:
 * EINVAL.
 */
function offsetArg(v: number | bigint): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isInteger(v)) throw new SysError('EINVAL', `offset ${v} is not an integer`);
    v = BigInt(v);
  } else if (typeof v !== 'bigint') {
    throw new SysError('EINVAL', `offset of type ${typeof v}`);
  }
  if (v < -LOFF_MAX - 1n || v > LOFF_MAX) throw new SysError('EINVAL', `offset ${v} is outside off_t`);
  return v >= -SAFE && v <= SAFE ? Number(v) : v;
}

/** A read of `count` bytes at a far position must end by 2^63 - 1 (EINVAL otherwise, as Linux's rw_verify_area answers). */
function checkFarRead(d: OpenDescription, pos: bigint, count: number): void {
  if (d.file.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
  if (pos + BigInt(count) > LOFF_MAX) throw new SysError('EINVAL', `a read of ${count} bytes at ${pos} would pass 2^63 - 1`);
}

function iovLength(iov: readonly Uint8Array[]): number {
  if (iov.length > UIO_MAXIOV) throw new SysError('EINVAL', `${iov.length} buffers (at most ${UIO_MAXIOV})`);
  let n = 0;
  for (const b of iov) n += b.length;
  return n;
}

/** Everything that can fail in a Task throws SysError; decoder errors are converted too. */
/** A write position: non-negative, and within what the layers address (EFBIG past 2^53, where no file can reach). */
function writeOffset(v: number | bigint): number {
  const off = offsetArg(v);
  if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
  if (typeof off === 'bigint') throw new SysError('EFBIG', `offset ${off} is past the largest file`);
  return off;
}

/** A length or size argument: EINVAL when negative or not an integer; EFBIG past 2^53. */
function lengthArg(v: number | bigint): number {
  if (typeof v === 'bigint') {
    if (v < 0n) throw new SysError('EINVAL', `negative length ${v}`);
    if (v > SAFE) throw new SysError('EFBIG', `length ${v} is past the largest file`);
    return Number(v);
  }
  if (!Number.isInteger(v) || v < 0) throw new SysError('EINVAL', `bad length ${v}`);
  if (v > MAX_OFFSET) throw new SysError('EFBIG', `length ${v} is past the largest file`);
  return v;
}

/** An integer argument (mode, dev): a guest passes C integers; anything else is EINVAL. */
function intArg(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SysError('EINVAL', `bad ${what} ${String(v)}`);
  return v >>> 0;
}

/** A uid or gid for chown: -1 (or 0xffffffff) leaves it unchanged. */
function idArg(v: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SysError('EINVAL', `bad id ${String(v)}`);
  const u = v >>> 0;
  return u === 0xffffffff ? -1 : u;
}

/**
 * Runs the body of a call: whatever it throws leaves as a SysError naming the call and its
 * path (failedCall: Node's `syscall` and `path`), built only when it fails.
 */
function sys<T>(syscall: string, path: PathArg | null | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw failedCall(e, syscall, path);
  }
}

export class Task {
  readonly ns: MountNamespace;
  creds: Credentials;
  readonly maxFds: number;
  private readonly fds: FdTable<FdEntry>;
  private rootLoc: Location;
  private cwdLoc: Location;
  private exited = false;

  constructor(ns: MountNamespace, options: TaskOptions = {}) {
    this.ns = ns;
    this.creds = options.creds ?? ROOT;
    this.maxFds = options.maxFds ?? 1024;
    this.fds = new FdTable(this.maxFds, options.reservedFds ?? []);
    const r = holdLoc({ ...ns.rootLocation });
    r.mount.get();
    this.rootLoc = r;
    this.cwdLoc = holdLoc({ ...r });
    r.mount.get();
    ns.addTask(this);
    if (options.cwd && options.cwd !== '/') {
      try {
        this.chdir(options.cwd);
      } catch (e) {
        this.exit();
        throw e;
      }
    }
  }

  /** The task root (chroot) and cwd, not held. */
  get root(): Location {
    return this.rootLoc;
  }

  get cwdLocation(): Location {
    return this.cwdLoc;
  }

  /** Open descriptor numbers, ascending. */
  openFds(): number[] {
    return this.fds.fds();
  }

  /** Descriptor numbers this table never hands out. */
  get reservedFds(): number[] {
    return this.fds.reservedFds();
  }

  /** The descriptor table as data (ascending): what a checkpoint saves. */
  fdTable(): { fd: number; desc: OpenDescription; cloexec: boolean }[] {
    this.alive();
    return this.openFds().map((fd) => {
      const e = this.fds.get(fd)!;
      return { fd, desc: e.desc, cloexec: e.cloexec };
    });
  }

  /**
   * @internal Checkpoint restore: a task whose root and cwd are the given held locations
   * (their holds pass to the task) and whose table holds the given descriptors. Each
   * description must come with its `refs` already counting every descriptor that points
   * at it, in all tasks.
   */
  static adopt(ns: MountNamespace, options: Omit<TaskOptions, 'cwd'>, root: Location, cwd: Location, fds: readonly { fd: number; desc: OpenDescription; cloexec: boolean }[]): Task {
    const maxFds = options.maxFds ?? 1024;
    const reserved = new Set(options.reservedFds ?? []);
    const seen = new Set<number>();
    for (const { fd } of fds) {
      if (!(Number.isInteger(fd) && fd >= 0 && fd < maxFds) || reserved.has(fd) || seen.has(fd)) throw new SysError('EBADF', `descriptor ${fd} cannot be restored in this table`);
      seen.add(fd);
    }
    const t = new Task(ns, options);
    t.setLocation('root', root);
    t.setLocation('cwd', cwd);
    for (const { fd, desc, cloexec } of fds) t.fds.set(fd, { desc, cloexec });
    return t;
  }

  /** The description behind a descriptor (EBADF when none). */
  description(fd: number): OpenDescription {
    this.alive();
    const e = Number.isInteger(fd) ? this.fds.get(fd) : undefined;
    if (!e) throw new SysError('EBADF', `bad file descriptor ${fd}`);
    return e.desc;
  }

  private alive(): void {
    if (this.exited) throw new Error('task used after exit()');
  }

  // ---- descriptor table ---------------------------------------------------------------

  private install(desc: OpenDescription, cloexec: boolean, from = 0): number {
    return this.fds.add({ desc, cloexec }, from);
  }

  /** Adds a description made elsewhere (it gains a descriptor). */
  private installNew(loc: Location, file: OpenFile, cloexec: boolean): number {
    let fd: number;
    try {
      fd = this.fds.lowestFree(0);
    } catch (e) {
      file.close();
      throw e;
    }
    this.fds.set(fd, { desc: new OpenDescription(loc.mount, file), cloexec });
    return fd;
  }

  close(fd: number): number {
    return sys('close', undefined, () => {
      const desc = this.description(fd);
      this.fds.delete(fd);
      desc.put();
      return 0;
    });
  }

  dup(fd: number): number {
    return sys('dup', undefined, () => {
      const desc = this.description(fd);
      const n = this.install(desc, false);
      desc.refs++;
      return n;
    });
  }

  dup2(oldfd: number, newfd: number): number {
    return sys('dup2', undefined, () => {
      if (oldfd === newfd) {
        this.description(oldfd);
        return newfd;
      }
      return this.dup3(oldfd, newfd, 0);
    });
  }

  dup3(oldfd: number, newfd: number, flags: number): number {
    return sys('dup3', undefined, () => {
      this.alive();
      if (flags & ~O_CLOEXEC) throw new SysError('EINVAL', `bad dup3 flags 0x${flags.toString(16)}`);
      if (oldfd === newfd) throw new SysError('EINVAL', 'dup3 onto itself');
      if (!this.fds.inRange(newfd) || this.fds.isReserved(newfd)) throw new SysError('EBADF', `bad file descriptor ${newfd}`);
      const desc = this.description(oldfd);
      desc.refs++;
      const old = this.fds.set(newfd, { desc, cloexec: (flags & O_CLOEXEC) !== 0 });
      old?.desc.put();
      return newfd;
    });
  }

  fcntl(fd: number, cmd: number, arg = 0): number {
    return sys('fcntl', undefined, () => {
      const desc = this.description(fd);
      const entry = this.fds.get(fd)!;
      switch (cmd) {
        case F_DUPFD:
        case F_DUPFD_CLOEXEC: {
          if (!(Number.isInteger(arg) && arg >= 0 && arg < this.maxFds)) throw new SysError('EINVAL', `bad descriptor floor ${arg}`);
          const n = this.install(desc, cmd === F_DUPFD_CLOEXEC, arg);
          desc.refs++;
          return n;
        }
        case F_GETFD:
          return entry.cloexec ? FD_CLOEXEC : 0;
        case F_SETFD:
          entry.cloexec = (arg & FD_CLOEXEC) !== 0;
          return 0;
        case F_GETFL:
          // open(2) adds O_LARGEFILE to every open but an O_PATH one (which keeps only its few flags).
          return (desc.file.flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | (desc.file.flags & O_PATH ? 0 : O_LARGEFILE);
        case F_SETFL:
          // O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME change nothing a read-only
          // description does; accept them as Linux does.
          return 0;
        default:
          throw new SysError('EINVAL', `unsupported fcntl command ${cmd}`);
      }
    });
  }

  /** Closes the descriptors marked close-on-exec (call at execve). */
  closeOnExec(): void {
    for (const fd of this.fds.fds()) if (this.fds.get(fd)!.cloexec) this.close(fd);
  }

  /**
   * A child task (fork / clone without CLONE_FILES): a copy of the descriptor table
   * sharing the descriptions, the same cwd, root and credentials.
   */
  fork(): Task {
    this.alive();
    const t = new Task(this.ns, { creds: this.creds, maxFds: this.maxFds, reservedFds: this.fds.reservedFds() });
    t.setLocation('root', holdLoc({ ...this.rootLoc }));
    t.setLocation('cwd', holdLoc({ ...this.cwdLoc }));
    for (const fd of this.fds.fds()) {
      const e = this.fds.get(fd)!;
      e.desc.refs++;
      t.fds.set(fd, { desc: e.desc, cloexec: e.cloexec });
    }
    return t;
  }

  /** Closes everything and lets go of cwd and root. */
  exit(): void {
    if (this.exited) return;
    for (const fd of this.fds.fds()) this.close(fd);
    this.exited = true;
    this.ns.removeTask(this);
    release(this.cwdLoc);
    this.cwdLoc.mount.put();
    release(this.rootLoc);
    this.rootLoc.mount.put();
  }

  /** Replaces the cwd or root with a held location. */
  private setLocation(which: 'cwd' | 'root', loc: Location): void {
    loc.mount.get();
    const old = which === 'cwd' ? this.cwdLoc : this.rootLoc;
    if (which === 'cwd') this.cwdLoc = loc;
    else this.rootLoc = loc;
    release(old);
    old.mount.put();
  }

  // ---- resolution helpers -------------------------------------------------------------

  /** Where a relative path given with `dirfd` starts (not held). */
  private startOf(dirfd: number): Location {
    if (dirfd === AT_FDCWD) return this.cwdLoc;
    return this.description(dirfd).location;
  }

  /**
   * Resolves a path argument of an *at call. With AT_EMPTY_PATH an empty path names
   * `dirfd` itself. Returns a held location.
   */
  private lookupAt(dirfd: number, path: PathArg, opts: { follow: boolean; directory?: boolean; emptyPath?: boolean }): Location {
    return this.lookupAtArgs(dirfd, path, opts.follow, opts.directory ?? false, opts.emptyPath ?? false);
  }

  /** lookupAt() with the options as arguments: the hot stat path calls this (no options object). */
  private lookupAtArgs(dirfd: number, path: PathArg, follow: boolean, directory: boolean, emptyPath: boolean): Location {
    this.alive();
    const bytes = pathBytes(path);
    checkPath(bytes, emptyPath);
    // A relative path (or an empty one) needs a valid dirfd; an absolute one ignores it.
    const at = bytes[0] === 0x2f ? this.cwdLoc : this.startOf(dirfd);
    return resolveAt(this.rootLoc, bytes, this.creds, at, follow, directory, emptyPath);
  }

  private withLoc<T>(loc: Location, fn: (l: Location) => T): T {
    try {
      return fn(loc);
    } finally {
      release(loc);
    }
  }

  // ---- open ---------------------------------------------------------------------------

  /**
   * openat(2). The flags are checked before anything else (checkOpenFlags: O_CREAT with
   * O_DIRECTORY, O_TMPFILE without write access are EINVAL; unknown bits are dropped).
   * O_CREAT of a name that does not exist in an existing directory is EROFS; of an
   * existing file it opens it (EEXIST with O_EXCL); of "/", "." or ".." EEXIST with
   * O_EXCL, EISDIR without; of a name followed by "/" EISDIR. O_NOFOLLOW on a symlink is
   * ELOOP (ENOTDIR with O_DIRECTORY); O_PATH gives a handle for fstat, fchdir, *at calls
   * and readlinkat(fd, "").
   */
  openat(dirfd: number, path: PathArg, flagsArg = 0, mode = 0): number {
    return sys('openat', path, () => {
      this.alive();
      // The flags first: EINVAL here beats EBADF, ENOENT and ENAMETOOLONG below.
      const flags = checkOpenFlags(flagsArg);
      const bytes = pathBytes(path);
      checkPath(bytes);
      const start = holdLoc({ ...(bytes[0] === 0x2f ? this.cwdLoc : this.startOf(dirfd)) });
      const r = new Resolver(this.creds, this.rootLoc);
      const cloexec = (flags & O_CLOEXEC) !== 0;
      if (flags & O_PATH || !(flags & O_CREAT)) {
        const tmpfile = (flags & O_TMPFILE) === O_TMPFILE && !(flags & O_PATH);
        const loc = r.walk(start, bytes, !(flags & O_NOFOLLOW), (flags & O_DIRECTORY) !== 0 || tmpfile);
        if (tmpfile) return this.withLoc(loc, (l) => this.openTmpfile(l, flags, intArg(mode, 'mode'), cloexec));
        return this.withLoc(loc, (l) => this.installNew(l, this.openNode(l, flags), cloexec));
      }
      let cur = start;
      let b = bytes;
      for (;;) {
        const { parent, last, trailingSlash } = r.walkParent(cur, b);
        try {
          const dots = last !== null && last[0] === 0x2e && (last.length === 1 || (last.length === 2 && last[1] === 0x2e));
          if (last === null || dots) {
            // A directory named by "/", "." or "..": O_EXCL is checked before "is a
            // directory"; a dot is one step of the walk (search permission first).
            if (dots) node.checkSearch(parent.node, this.creds);
            throw new SysError(flags & O_EXCL ? 'EEXIST' : 'EISDIR', flags & O_EXCL ? 'file exists' : 'is a directory');
          }
          if (trailingSlash) throw new SysError('EISDIR', 'is a directory');
          let found: node.Node;
          try {
            found = node.lookup(parent.node, last, this.creds);
          } catch (e) {
            if (!(e instanceof SysError && e.code === 'ENOENT')) throw e;
            // A new file: the mount must take writes, then the filesystem makes it.
            namei.wantWrite(parent.mount);
            const made = parent.node.fs.create(parent.node, last, intArg(mode, 'mode') & 0o7777, this.creds);
            const loc = { mount: parent.mount, node: made };
            return this.withLoc(loc, (l) => this.installNew(l, node.open(l.node, flags & ~O_TRUNC, this.creds, true), cloexec));
          }
          if (node.isSymlink(found) && !(flags & (O_EXCL | O_NOFOLLOW))) {
            let target: Uint8Array;
            try {
              target = r.follow(found);
            } finally {
              node.drop(found);
            }
            b = target;
            cur = holdLoc({ ...parent });
            continue;
          }
          const loc = crossMounts({ mount: parent.mount, node: found });
          return this.withLoc(loc, (l) => this.installNew(l, this.openNode(l, flags), cloexec));
        } finally {
          release(parent);
        }
      }
    });
  }

  /**
   * Opens an existing node. On a read-only mount of a writable filesystem, opening a
   * regular file for writing (or O_TRUNC) is EROFS after the permission check.
   */
  private openNode(l: Location, flags: number): OpenFile {
    if (!(flags & O_PATH)) {
      const t = l.node.mode & S_IFMT;
      if (t === S_IFCHR || t === S_IFBLK || t === S_IFIFO || t === S_IFSOCK) return this.openSpecial(l, t, flags);
      if (l.mount.readOnly && !l.node.fs.readOnly && t === S_IFREG && ((flags & 3) !== 0 || flags & O_TRUNC)) namei.refuseWriteOpen(l, this.creds);
    }
    return node.open(l.node, flags, this.creds);
  }

  /**
   * Device nodes, fifos and sockets are not opened by their filesystem (may_open, then
   * chrdev_open / fifo_open): a device on a nodev mount is EACCES before the permission
   * check; then the permission for the access mode (O_TRUNC is ignored); then the device
   * registry or the pipe table. A socket file is ENXIO. Writes are allowed on a read-only
   * mount: the node is not changed. A fifo open that would wait throws WouldBlock (see
   * the vfs pipe module); this task is the waiter that a re-issued open resumes.
   */
  private openSpecial(l: Location, t: number, flags: number): OpenFile {
    const isDev = t === S_IFCHR || t === S_IFBLK;
    if (isDev && l.mount.spec.flags?.nodev) throw new SysError('EACCES', 'device node on a nodev mount');
    if (flags & O_DIRECTORY) throw new SysError('ENOTDIR', 'not a directory');
    const acc = flags & 3;
    const mask = acc === 0 ? MAY_READ : acc === 1 ? MAY_WRITE : MAY_READ | MAY_WRITE;
    node.access(l.node, mask, this.creds);
    if (t === S_IFSOCK) throw new SysError('ENXIO', 'cannot open a socket file');
    if (isDev) return this.ns.devices.open(l.node, flags & ~O_TRUNC, this.creds);
    return this.ns.pipes.openFifo(l.node, flags & ~O_TRUNC, this);
  }

  /** pipe2(2): [read end, write end]; flags O_NONBLOCK, O_DIRECT (packets), O_CLOEXEC. */
  pipe2(flags = 0): [number, number] {
    return sys('pipe2', undefined, () => {
      this.alive();
      const [r, w] = this.ns.pipes.createPipe(flags, this.creds);
      const m = this.ns.pipeMount(r.node.fs);
      const cloexec = (flags & O_CLOEXEC) !== 0;
      let rfd = -1;
      // installNew closes the file it could not install (EMFILE).
      try {
        rfd = this.installNew({ mount: m, node: r.node }, r, cloexec);
      } catch (e) {
        w.close();
        throw e;
      }
      try {
        return [rfd, this.installNew({ mount: m, node: w.node }, w, cloexec)];
      } catch (e) {
        this.close(rfd);
        throw e;
      }
    });
  }

  pipe(): [number, number] {
    return this.pipe2(0);
  }

  /** open(O_TMPFILE) in directory `l`: an unnamed regular file, opened as created. */
  private openTmpfile(l: Location, flags: number, mode: number, cloexec: boolean): number {
    namei.wantWrite(l.mount);
    const made = l.node.fs.tmpfile(l.node, mode & 0o7777, this.creds, flags);
    return this.withLoc({ mount: l.mount, node: made }, (t) => this.installNew(t, node.open(t.node, flags & ~O_TMPFILE, this.creds, true), cloexec));
  }

  /** open(2): openat(AT_FDCWD, ...). */
  open(path: PathArg, flags = 0, mode = 0): number {
    return this.openat(AT_FDCWD, path, flags, mode);
  }

  // ---- reading ------------------------------------------------------------------------

  read(fd: number, buf: Uint8Array): number {
    try {
      const d = this.description(fd);
      if (d.far !== null) checkFarRead(d, d.far, buf.length);
      return d.file.read(buf);
    } catch (e) {
      throw failedCall(e, 'read', undefined);
    }
  }

  /**
   * pread64(2) at an offset up to 2^63 - 1 (a number, or a bigint past 2^53). A negative
   * offset is EINVAL before the descriptor is looked at, as in Linux; a read ending past
   * 2^63 - 1 is EINVAL; past the end of the file it returns 0.
   */
  pread64(fd: number, buf: Uint8Array, offset: number | bigint): number {
    try {
      if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return this.description(fd).file.pread(buf, offset);
      const off = offsetArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const d = this.description(fd);
      if (typeof off === 'number') return d.file.pread(buf, off);
      checkFarRead(d, off, buf.length);
      return d.file.pread(buf, MAX_OFFSET);
    } catch (e) {
      throw failedCall(e, 'pread64', undefined);
    }
  }

  readv(fd: number, iov: readonly Uint8Array[]): number {
    return sys('readv', undefined, () => {
      const d = this.description(fd);
      const n = iovLength(iov);
      if (d.far !== null) checkFarRead(d, d.far, n);
      return d.file.readv(iov);
    });
  }

  /** preadv(2): pread64's offset rules for the buffers' total length; at most UIO_MAXIOV buffers. */
  preadv(fd: number, iov: readonly Uint8Array[], offset: number | bigint): number {
    return sys('preadv', undefined, () => {
      const off = offsetArg(offset);
      if (off < 0) throw new SysError('EINVAL', `negative offset ${off}`);
      const d = this.description(fd);
      const n = iovLength(iov);
      if (typeof off === 'number') return d.file.preadv(iov, off);
      checkFarRead(d, off, n);
      return d.file.preadv(iov, MAX_OFFSET);
    });
  }

  /**
   * lseek(2) to any position up to 2^63 - 1, as Linux allows on EROFS files and
   * directories. The offset's type picks the result's: with a bigint offset a position
   * that is not a safe integer comes back as a bigint (a number otherwise); with a number
   * offset the result is always a number, and a position it cannot hold exactly (past
   * 2^53) is EINVAL, leaving the position where it was. (Linux answers a caller whose
   * off_t is too narrow with EOVERFLOW, an errno the table does not carry yet.)
   */
  lseek(fd: number, offset: number, whence: number): number;
  lseek(fd: number, offset: number | bigint, whence: number): number | bigint;
  lseek(fd: number, offset: number | bigint, whence: number): number | bigint {
    return sys('lseek', undefined, () => {
      const d = this.description(fd);
      const off = offsetArg(offset);
      if (d.far === null && typeof off === 'number') {
        // Within the layers' numbers the description seeks itself; it refuses (EINVAL) a
        // result past 2^53, which farSeek then places.
        try {
          return d.file.lseek(off, whence);
        } catch (e) {
          if (!(e instanceof SysError && e.code === 'EINVAL')) throw e;
        }
      }
      const wide = typeof offset === 'bigint';
      const pos = farSeek(d, off, whence, wide);
      return pos;
    });
  }

  getdents64(fd: number, buf: Uint8Array): number {
    return sys('getdents64', undefined, () => this.description(fd).file.getdents64(buf));
  }

  // ---- writing: descriptors ------------------------------------------------------------

  /** write(2) at the description's offset (O_APPEND: at the end). */
  write(fd: number, buf: Uint8Array): number {
    return sys('write', undefined, () => this.description(fd).file.write(buf));
  }

  /** pwrite64(2): at `offset`, leaving the description's offset alone. */
  pwrite64(fd: number, buf: Uint8Array, offset: number | bigint): number {
    return sys('pwrite64', undefined, () => this.description(fd).file.pwrite(buf, writeOffset(offset)));
  }

  writev(fd: number, iov: readonly Uint8Array[]): number {
    return sys('writev', undefined, () => {
      iovLength(iov);
      return this.description(fd).file.writev(iov);
    });
  }

  pwritev(fd: number, iov: readonly Uint8Array[], offset: number | bigint): number {
    return sys('pwritev', undefined, () => {
      const off = writeOffset(offset);
      iovLength(iov);
      return this.description(fd).file.pwritev(iov, off);
    });
  }

  /** ftruncate(2): EINVAL for a negative length, then the description's answer (EINVAL when not open for writing). */
  ftruncate(fd: number, length: number | bigint): number {
    return sys('ftruncate', undefined, () => {
      const d = this.description(fd);
      const len = lengthArg(length);
      // do_ftruncate: a regular file open for writing, else EINVAL (no mnt_want_write: the
      // write access was had at open).
      if (d.file.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
      if (!(d.file.flags & 3) || d.file.kind !== 'file') throw new SysError('EINVAL', 'not a regular file open for writing');
      d.file.truncate(len);
      return 0;
    });
  }

  /** fallocate(2). */
  fallocate(fd: number, mode: number, offset: number | bigint, length: number | bigint): number {
    return sys('fallocate', undefined, () => {
      const d = this.description(fd);
      const off = lengthArg(offset);
      const len = lengthArg(length);
      if (len <= 0) throw new SysError('EINVAL', `bad length ${len}`);
      d.file.fallocate(mode, off, len);
      return 0;
    });
  }

  /** fsync(2): EINVAL where the filesystem has no fsync (EROFS), as Linux answers. */
  fsync(fd: number): number {
    return sys('fsync', undefined, () => {
      this.description(fd).file.fsync();
      return 0;
    });
  }

  fdatasync(fd: number): number {
    return sys('fdatasync', undefined, () => {
      this.description(fd).file.fdatasync();
      return 0;
    });
  }

  /** syncfs(2): the descriptor's filesystem (O_PATH descriptors too: Linux accepts them). */
  syncfs(fd: number): number {
    return sys('syncfs', undefined, () => {
      this.description(fd).node.fs.sync();
      return 0;
    });
  }

  // ---- writing: names ---------------------------------------------------------------------

  /** Where a path argument's walk starts, held (an absolute path ignores `dirfd`). */
  private startHeld(dirfd: number, bytes: Uint8Array): Location {
    return holdLoc({ ...(bytes[0] === 0x2f ? this.cwdLoc : this.startOf(dirfd)) });
  }

  /** A checked path argument and a resolver for one call. */
  private pathArgs(path: PathArg): { bytes: Uint8Array; r: Resolver } {
    this.alive();
    const bytes = pathBytes(path);
    checkPath(bytes);
    return { bytes, r: new Resolver(this.creds, this.rootLoc) };
  }

  mkdirat(dirfd: number, path: PathArg, mode: number): number {
    return sys('mkdirat', path, () => {
      const { bytes, r } = this.pathArgs(path);
      namei.mkdir(r, this.startHeld(dirfd, bytes), bytes, intArg(mode, 'mode'), this.creds);
      return 0;
    });
  }

  mkdir(path: PathArg, mode: number): number {
    return this.mkdirat(AT_FDCWD, path, mode);
  }

  mknodat(dirfd: number, path: PathArg, mode: number, dev = 0): number {
    return sys('mknodat', path, () => {
      const m = intArg(mode, 'mode');
      checkMknodType(m);
      const { bytes, r } = this.pathArgs(path);
      namei.mknod(r, this.startHeld(dirfd, bytes), bytes, m, intArg(dev, 'dev'), this.creds);
      return 0;
    });
  }

  mknod(path: PathArg, mode: number, dev = 0): number {
    return this.mknodat(AT_FDCWD, path, mode, dev);
  }

  symlinkat(target: PathArg, newdirfd: number, linkpath: PathArg): number {
    return sys('symlinkat', target, () => {
      const t = pathBytes(target);
      if (t.length === 0) throw new SysError('ENOENT', 'empty symlink target');
      if (t.length >= 4096) throw new SysError('ENAMETOOLONG', `target of ${t.length} bytes`);
      const { bytes, r } = this.pathArgs(linkpath);
      namei.symlink(r, this.startHeld(newdirfd, bytes), bytes, new Uint8Array(t), this.creds);
      return 0;
    });
  }

  symlink(target: PathArg, linkpath: PathArg): number {
    return this.symlinkat(target, AT_FDCWD, linkpath);
  }

  /** linkat(2): AT_SYMLINK_FOLLOW follows a final symlink of the old path; AT_EMPTY_PATH links `olddirfd` itself. */
  linkat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags = 0): number {
    return sys('linkat', oldpath, () => {
      if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) throw new SysError('EINVAL', `bad linkat flags ${flags}`);
      const emptyPath = (flags & AT_EMPTY_PATH) !== 0;
      if (emptyPath && pathBytes(oldpath).length === 0 && !hasCap(this.creds, CAP_DAC_READ_SEARCH)) throw new SysError('ENOENT', 'AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH');
      const old = this.lookupAt(olddirfd, oldpath, { follow: (flags & AT_SYMLINK_FOLLOW) !== 0, emptyPath });
      try {
        const { bytes, r } = this.pathArgs(newpath);
        namei.link(r, old, this.startHeld(newdirfd, bytes), bytes, this.creds);
      } finally {
        release(old);
      }
      return 0;
    });
  }

  link(oldpath: PathArg, newpath: PathArg): number {
    return this.linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
  }

  /** unlinkat(2): AT_REMOVEDIR makes it rmdir. */
  unlinkat(dirfd: number, path: PathArg, flags = 0): number {
    return sys('unlinkat', path, () => {
      if (flags & ~AT_REMOVEDIR) throw new SysError('EINVAL', `bad unlinkat flags ${flags}`);
      const { bytes, r } = this.pathArgs(path);
      if (flags & AT_REMOVEDIR) namei.rmdir(r, this.startHeld(dirfd, bytes), bytes, this.creds);
      else namei.unlink(r, this.startHeld(dirfd, bytes), bytes, this.creds);
      return 0;
    });
  }

  unlink(path: PathArg): number {
    return this.unlinkat(AT_FDCWD, path, 0);
  }

  rmdir(path: PathArg): number {
    return this.unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
  }

  /** renameat2(2): RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT (CAP_MKNOD). */
  renameat2(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags = 0): number {
    return sys('renameat2', oldpath, () => {
      // (No capability check for RENAME_WHITEOUT: Linux allows it unprivileged since 5.8.)
      checkRenameFlags(flags);
      const o = this.pathArgs(oldpath);
      const n = this.pathArgs(newpath);
      const os = this.startHeld(olddirfd, o.bytes);
      let ns: Location;
      try {
        ns = this.startHeld(newdirfd, n.bytes);
      } catch (e) {
        release(os);
        throw e;
      }
      namei.rename(o.r, os, o.bytes, ns, n.bytes, flags, this.creds);
      return 0;
    });
  }

  renameat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg): number {
    return this.renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
  }

  rename(oldpath: PathArg, newpath: PathArg): number {
    return this.renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
  }

  // ---- writing: attributes ----------------------------------------------------------------

  /** Resolves a path (or, with AT_EMPTY_PATH and "", dirfd itself) for an attribute change. */
  private attrTarget(dirfd: number, path: PathArg, flags: number, allowed: number): Location {
    if (flags & ~allowed) throw new SysError('EINVAL', `bad flags ${flags}`);
    return this.lookupAt(dirfd, path, { follow: !(flags & AT_SYMLINK_NOFOLLOW), emptyPath: (flags & AT_EMPTY_PATH) !== 0 });
  }

  /** The node of a descriptor for an f* attribute call (EBADF for O_PATH, as Linux's fdget). */
  private fdTarget(fd: number): Location {
    const d = this.description(fd);
    if (d.file.kind === 'path') throw new SysError('EBADF', 'O_PATH descriptor');
    return holdLoc(d.location);
  }

  private chmodLoc(loc: Location, mode: number): number {
    return this.withLoc(loc, (l) => {
      namei.wantWrite(l.mount);
      l.node.fs.chmod(l.node, mode & 0o7777, this.creds);
      return 0;
    });
  }

  /** fchmodat2(2): AT_SYMLINK_NOFOLLOW on a symlink is EOPNOTSUPP (Linux cannot chmod a link). */
  fchmodat2(dirfd: number, path: PathArg, mode: number, flags = 0): number {
    return sys('fchmodat2', path, () => {
      const m = intArg(mode, 'mode');
      const loc = this.attrTarget(dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
      return this.withLoc(loc, (l) => {
        // chmod_common: mnt_want_write first, then a symlink's mode cannot change.
        namei.wantWrite(l.mount);
        if (node.isSymlink(l.node)) throw new SysError('EOPNOTSUPP', 'the mode of a symbolic link cannot be changed');
        l.node.fs.chmod(l.node, m & 0o7777, this.creds);
        return 0;
      });
    });
  }

  fchmodat(dirfd: number, path: PathArg, mode: number): number {
    return this.fchmodat2(dirfd, path, mode, 0);
  }

  chmod(path: PathArg, mode: number): number {
    return this.fchmodat2(AT_FDCWD, path, mode, 0);
  }

  fchmod(fd: number, mode: number): number {
    return sys('fchmod', undefined, () => this.chmodLoc(this.fdTarget(fd), intArg(mode, 'mode')));
  }

  private chownLoc(loc: Location, uid: number, gid: number): number {
    return this.withLoc(loc, (l) => {
      namei.wantWrite(l.mount);
      l.node.fs.chown(l.node, idArg(uid), idArg(gid), this.creds);
      return 0;
    });
  }

  fchownat(dirfd: number, path: PathArg, uid: number, gid: number, flags = 0): number {
    return sys('fchownat', path, () => this.chownLoc(this.attrTarget(dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), uid, gid));
  }

  chown(path: PathArg, uid: number, gid: number): number {
    return this.fchownat(AT_FDCWD, path, uid, gid, 0);
  }

  lchown(path: PathArg, uid: number, gid: number): number {
    return this.fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
  }

  fchown(fd: number, uid: number, gid: number): number {
    return sys('fchown', undefined, () => this.chownLoc(this.fdTarget(fd), uid, gid));
  }

  /**
   * utimensat(2): `times` [atime, mtime] (nsec may be UTIME_NOW / UTIME_OMIT) or null for
   * "now". Both UTIME_OMIT succeeds before anything else is looked at; a null path with a
   * descriptor is futimens.
   */
  utimensat(dirfd: number, path: PathArg | null, times: readonly [Timespec, Timespec] | null, flags = 0): number {
    return sys('utimensat', path, () => {
      if (times && times[0].nsec === UTIME_OMIT && times[1].nsec === UTIME_OMIT) return 0;
      checkTimes(times);
      if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError('EINVAL', `bad utimensat flags ${flags}`);
      const loc = path === null ? this.fdTarget(dirfd) : this.attrTarget(dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
      return this.withLoc(loc, (l) => {
        namei.wantWrite(l.mount);
        l.node.fs.utimes(l.node, times, this.creds);
        return 0;
      });
    });
  }

  futimens(fd: number, times: readonly [Timespec, Timespec] | null): number {
    return this.utimensat(fd, null, times, 0);
  }

  /** truncate(2): a negative length is EINVAL before the path is looked at. */
  truncate(path: PathArg, length: number | bigint): number {
    return sys('truncate', path, () => {
      const len = lengthArg(length);
      const loc = this.lookupAt(AT_FDCWD, path, { follow: true });
      return this.withLoc(loc, (l) => {
        namei.truncate(l, len, this.creds);
        return 0;
      });
    });
  }

  private setxattrLoc(loc: Location, name: Uint8Array, value: Uint8Array, flags: number): number {
    return this.withLoc(loc, (l) => {
      namei.wantWrite(l.mount);
      l.node.fs.setxattr(l.node, name, value, flags, this.creds);
      return 0;
    });
  }

  /** setxattr(2): flags, name length and value size are checked before the path. */
  setxattr(path: PathArg, name: PathArg, value: Uint8Array, flags = 0): number {
    return sys('setxattr', path, () => {
      const n = pathBytes(name);
      checkSetxattr(n, value, flags);
      return this.setxattrLoc(this.lookupAt(AT_FDCWD, path, { follow: true }), n, value, flags);
    });
  }

  lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, flags = 0): number {
    return sys('lsetxattr', path, () => {
      const n = pathBytes(name);
      checkSetxattr(n, value, flags);
      return this.setxattrLoc(this.lookupAt(AT_FDCWD, path, { follow: false }), n, value, flags);
    });
  }

  fsetxattr(fd: number, name: PathArg, value: Uint8Array, flags = 0): number {
    return sys('fsetxattr', undefined, () => {
      const n = pathBytes(name);
      checkSetxattr(n, value, flags);
      return this.setxattrLoc(this.fdTarget(fd), n, value, flags);
    });
  }

  private removexattrLoc(loc: Location, name: Uint8Array): number {
    return this.withLoc(loc, (l) => {
      namei.wantWrite(l.mount);
      l.node.fs.removexattr(l.node, name, this.creds);
      return 0;
    });
  }

  removexattr(path: PathArg, name: PathArg): number {
    return sys('removexattr', path, () => {
      const n = pathBytes(name);
      checkXattrName(n);
      return this.removexattrLoc(this.lookupAt(AT_FDCWD, path, { follow: true }), n);
    });
  }

  lremovexattr(path: PathArg, name: PathArg): number {
    return sys('lremovexattr', path, () => {
      const n = pathBytes(name);
      checkXattrName(n);
      return this.removexattrLoc(this.lookupAt(AT_FDCWD, path, { follow: false }), n);
    });
  }

  fremovexattr(fd: number, name: PathArg): number {
    return sys('fremovexattr', undefined, () => {
      const n = pathBytes(name);
      checkXattrName(n);
      return this.removexattrLoc(this.fdTarget(fd), n);
    });
  }

  /** umask(2): sets the creation mask, returns the old one. */
  umask(mask: number): number {
    this.alive();
    const old = this.creds.umask ?? 0o022;
    this.creds = Object.freeze({ ...this.creds, umask: (Number(mask) >>> 0) & 0o777 });
    return old;
  }

  /**
   * mmap(2) of a file descriptor: the PAGE_SIZE pages of the range, read-only by contract
   * (see the vfs mmap module for zero-copy views, the page cache and SIGBUS past end of
   * file). Directories, synthetic ones included, are ENODEV; O_PATH descriptors EBADF.
   */
  mmap(fd: number, offset: number | bigint, length: number, prot: number, flags: number): Uint8Array[] {
    return sys('mmap', undefined, () => {
      const off = offsetArg(offset);
      if (typeof off === 'bigint' && (off < 0n || off % BigInt(PAGE_SIZE) !== 0n)) throw new SysError('EINVAL', `offset ${off} is not a multiple of the page size`);
      const f = this.description(fd).file;
      if (!f.mmap) {
        if (f.kind === 'path') throw new SysError('EBADF', 'O_PATH descriptor');
        throw new SysError('ENODEV', 'cannot map this file');
      }
      if (typeof off === 'number') return f.mmap(off, length, prot, flags);
      // Past 2^53: Linux maps the range if it ends by 2^63 - 1 (EOVERFLOW otherwise), and
      // every page of it lies past the end of the file.
      if (f.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
      if (!(Number.isSafeInteger(length) && length > 0)) throw new SysError('EINVAL', `bad length ${length}`);
      const pages = BigInt(Math.ceil(length / PAGE_SIZE) * PAGE_SIZE);
      if (off + pages > LOFF_MAX) throw new SysError('EOVERFLOW', `mapping of ${length} bytes at ${off} ends past 2^63 - 1`);
      checkMmap(f as FileDescription, 0, length, prot, flags); // only a FileDescription has mmap
      throw new SysError('EFAULT', SIGBUS_MESSAGE);
    });
  }

  // ---- attributes ---------------------------------------------------------------------

  fstat(fd: number): Stat {
    return sys('fstat', undefined, () => this.description(fd).file.stat());
  }

  /** newfstatat(2) (fstatat): flags AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT. */
  newfstatat(dirfd: number, path: PathArg, flags = 0): Stat {
    // sys() and withLoc() spelled out: this is the hottest call a guest makes, and the
    // two closures per call showed in the profile.
    try {
      if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) throw new SysError('EINVAL', `bad flags 0x${flags.toString(16)}`);
      const loc = this.lookupAtArgs(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), false, (flags & AT_EMPTY_PATH) !== 0);
      try {
        return node.stat(loc.node);
      } finally {
        release(loc);
      }
    } catch (e) {
      throw failedCall(e, 'newfstatat', path);
    }
  }

  stat(path: PathArg): Stat {
    return this.newfstatat(AT_FDCWD, path, 0);
  }

  lstat(path: PathArg): Stat {
    return this.newfstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  }

  /**
   * statx(2). Adds what only the mount layer knows: STATX_ATTR_MOUNT_ROOT on the root of
   * a mount and the mount id (STATX_MNT_ID, always returned as Linux does).
   */
  statx(dirfd: number, path: PathArg, flags = 0, mask = 0): MountStatx {
    return sys('statx', path, () => {
      if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) throw new SysError('EINVAL', `bad flags 0x${flags.toString(16)}`);
      if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) throw new SysError('EINVAL', 'AT_STATX_FORCE_SYNC with AT_STATX_DONT_SYNC');
      if (mask & STATX__RESERVED) throw new SysError('EINVAL', 'reserved statx mask bit');
      const loc = this.lookupAt(dirfd, path, { follow: !(flags & AT_SYMLINK_NOFOLLOW), emptyPath: (flags & AT_EMPTY_PATH) !== 0 });
      return this.withLoc(loc, (l) => mountStatx(l));
    });
  }

  /**
   * readlinkat(2): copies at most buf.length bytes of the target (no NUL) and returns the
   * count. An empty path reads the link `dirfd` is an O_PATH handle of (ENOENT when that
   * is not a symlink); a path naming a non-symlink is EINVAL; a zero-size buffer EINVAL.
   */
  readlinkat(dirfd: number, path: PathArg, buf: Uint8Array): number {
    return sys('readlinkat', path, () => {
      if (buf.length <= 0) throw new SysError('EINVAL', 'buffer size must be positive');
      const empty = pathBytes(path).length === 0;
      const loc = this.lookupAt(dirfd, path, { follow: false, emptyPath: true });
      return this.withLoc(loc, (l) => {
        if (!node.isSymlink(l.node)) throw new SysError(empty ? 'ENOENT' : 'EINVAL', 'not a symbolic link');
        const target = node.readlink(l.node);
        const n = Math.min(target.length, buf.length);
        buf.set(target.subarray(0, n));
        return n;
      });
    });
  }

  /**
   * faccessat2(2): mode F_OK or R_OK|W_OK|X_OK; flags AT_EACCESS, AT_SYMLINK_NOFOLLOW,
   * AT_EMPTY_PATH. W_OK on a file of a read-only mount is EROFS; X_OK on a regular file
   * of a noexec mount EACCES.
   */
  faccessat2(dirfd: number, path: PathArg, mode: number, flags = 0): number {
    return sys('faccessat2', path, () => {
      if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
      if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError('EINVAL', `bad flags 0x${flags.toString(16)}`);
      const loc = this.lookupAt(dirfd, path, { follow: !(flags & AT_SYMLINK_NOFOLLOW), emptyPath: (flags & AT_EMPTY_PATH) !== 0 });
      return this.withLoc(loc, (l) => {
        node.access(l.node, mode, this.creds);
        if (mode & MAY_EXEC && l.mount.spec.flags?.noexec && (node.stat(l.node).mode & S_IFMT) === S_IFREG) throw new SysError('EACCES', 'noexec mount');
        return 0;
      });
    });
  }

  /** faccessat(2): faccessat2 without flags. */
  faccessat(dirfd: number, path: PathArg, mode: number): number {
    return this.faccessat2(dirfd, path, mode, 0);
  }

  access(path: PathArg, mode: number): number {
    return this.faccessat2(AT_FDCWD, path, mode, 0);
  }

  // ---- xattrs -------------------------------------------------------------------------

  private xattrTarget(path: PathArg, follow: boolean): Location {
    return this.lookupAt(AT_FDCWD, path, { follow });
  }

  /** getxattr(2): the value's length; with a buffer, the value copied into it (ERANGE when too small). */
  getxattr(path: PathArg, name: PathArg, buf: Uint8Array | null = null): number {
    return sys('getxattr', path, () => this.withLoc(this.xattrTarget(path, true), (l) => node.getxattr(l.node, pathBytes(name), buf, this.creds)));
  }

  lgetxattr(path: PathArg, name: PathArg, buf: Uint8Array | null = null): number {
    return sys('lgetxattr', path, () => this.withLoc(this.xattrTarget(path, false), (l) => node.getxattr(l.node, pathBytes(name), buf, this.creds)));
  }

  fgetxattr(fd: number, name: PathArg, buf: Uint8Array | null = null): number {
    return sys('fgetxattr', undefined, () => node.getxattr(this.ioDescription(fd).node, pathBytes(name), buf, this.creds));
  }

  /** listxattr(2): NUL-terminated names; the size only when no buffer is given. */
  listxattr(path: PathArg, buf: Uint8Array | null = null): number {
    return sys('listxattr', path, () => this.withLoc(this.xattrTarget(path, true), (l) => node.listxattr(l.node, buf, this.creds)));
  }

  llistxattr(path: PathArg, buf: Uint8Array | null = null): number {
    return sys('llistxattr', path, () => this.withLoc(this.xattrTarget(path, false), (l) => node.listxattr(l.node, buf, this.creds)));
  }

  flistxattr(fd: number, buf: Uint8Array | null = null): number {
    return sys('flistxattr', undefined, () => node.listxattr(this.ioDescription(fd).node, buf, this.creds));
  }

  /** A description that is not O_PATH (the f*xattr calls reject O_PATH with EBADF). */
  private ioDescription(fd: number): OpenDescription {
    const d = this.description(fd);
    if (d.file.kind === 'path') throw new SysError('EBADF', 'O_PATH descriptor');
    return d;
  }

  // ---- statfs -------------------------------------------------------------------------

  statfs(path: PathArg): StatFs {
    return sys('statfs', path, () => this.withLoc(this.lookupAt(AT_FDCWD, path, { follow: true }), (l) => mountStatfs(l.mount)));
  }

  fstatfs(fd: number): StatFs {
    return sys('fstatfs', undefined, () => mountStatfs(this.description(fd).mount));
  }

  // ---- cwd and root -------------------------------------------------------------------

  /** chdir(2): the target must be a directory with search permission. */
  chdir(path: PathArg): number {
    return sys('chdir', path, () => {
      const loc = this.lookupAt(AT_FDCWD, path, { follow: true, directory: true });
      try {
        node.access(loc.node, MAY_EXEC, this.creds);
      } catch (e) {
        release(loc);
        throw e;
      }
      this.setLocation('cwd', loc);
      return 0;
    });
  }

  /** fchdir(2): O_PATH descriptors of directories are accepted, as on Linux. */
  fchdir(fd: number): number {
    return sys('fchdir', undefined, () => {
      const d = this.description(fd);
      if (!node.isDir(d.node)) throw new SysError('ENOTDIR', 'not a directory');
      node.access(d.node, MAY_EXEC, this.creds);
      this.setLocation('cwd', holdLoc({ ...d.location }));
      return 0;
    });
  }

  /** chroot(2): needs CAP_SYS_CHROOT (18); the cwd stays where it is. */
  chroot(path: PathArg): number {
    return sys('chroot', path, () => {
      const loc = this.lookupAt(AT_FDCWD, path, { follow: true, directory: true });
      try {
        node.access(loc.node, MAY_EXEC, this.creds);
        if (!hasCap(this.creds, CAP_SYS_CHROOT)) throw new SysError('EPERM', 'chroot needs CAP_SYS_CHROOT');
      } catch (e) {
        release(loc);
        throw e;
      }
      this.setLocation('root', loc);
      return 0;
    });
  }

  /** The cwd as a path from the task root; "(unreachable)..." when outside it (a lazily unmounted directory). */
  cwdPath(): Uint8Array {
    this.alive();
    const { path, reachable } = this.ns.pathOf(this.cwdLoc, this.rootLoc);
    const s = reachable ? path : '(unreachable)' + path;
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }

  /**
   * realpath(3) as the kernel answers it: `path` resolved by the walker (every symlink
   * followed, ".." physical), then the result's path from the task root. ENOENT when the
   * result is out of the root's reach (a lazily detached mount), as getcwd would say.
   */
  realpath(path: PathArg): Uint8Array {
    return sys('realpath', path, () => {
      const loc = this.lookupAt(AT_FDCWD, path, { follow: true });
      return this.withLoc(loc, (l) => {
        const { path: p, reachable } = this.ns.pathOf(l, this.rootLoc);
        if (!reachable) throw new SysError('ENOENT', 'not reachable from the root');
        return Uint8Array.from(p, (c) => c.charCodeAt(0));
      });
    });
  }

  /** getcwd(2): writes the NUL-terminated path and returns its length with the NUL; ERANGE when it does not fit. */
  getcwd(buf: Uint8Array): number {
    return sys('getcwd', undefined, () => {
      const p = this.cwdPath();
      if (p.length + 1 > buf.length) throw new SysError('ERANGE', `cwd of ${p.length + 1} bytes does not fit in ${buf.length}`);
      buf.set(p);
      buf[p.length] = 0;
      return p.length + 1;
    });
  }

  // ---- mounts -------------------------------------------------------------------------

  /**
   * mount(2) from the guest. The guest never mounts images: a type the namespace lists
   * as an image type (erofs) is EPERM whatever the caller's privileges. Everything else
   * is EPERM without CAP_SYS_ADMIN; bind, move and remount are EPERM (the host owns the
   * mount table); an unknown type is ENODEV.
   */
  mount(_source: PathArg | null, _target: PathArg, fstype: PathArg | null, flags = 0, _data: unknown = null): number {
    return sys('mount', _target, () => {
      this.alive();
      const type = fstype === null ? '' : typeof fstype === 'string' ? fstype : new TextDecoder().decode(fstype);
      if (this.ns.policy.imageTypes.includes(type)) throw new SysError('EPERM', `a guest may not mount ${type} images; the host mounts them`);
      if (!hasCap(this.creds, CAP_SYS_ADMIN)) throw new SysError('EPERM', 'mount needs CAP_SYS_ADMIN');
      if (flags & (MS_BIND | MS_MOVE | MS_REMOUNT)) throw new SysError('EPERM', 'the host owns this mount table');
      throw new SysError('ENODEV', `unknown filesystem type "${type}"`);
    });
  }

  /**
   * umount2(2) from the guest: EPERM unless the namespace policy allows guest unmounts,
   * then as Linux: flags checked (EINVAL), the path walked, CAP_SYS_ADMIN (EPERM), the
   * path must be the root of a mount (EINVAL), busy EBUSY unless MNT_DETACH.
   */
  umount2(target: PathArg, flags = 0): number {
    return sys('umount2', target, () => {
      if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) throw new SysError('EINVAL', `bad umount flags 0x${flags.toString(16)}`);
      if (flags & MNT_EXPIRE && flags & (MNT_FORCE | MNT_DETACH)) throw new SysError('EINVAL', 'MNT_EXPIRE with MNT_FORCE or MNT_DETACH');
      const loc = this.lookupAt(AT_FDCWD, target, { follow: !(flags & UMOUNT_NOFOLLOW) });
      let m: Mount;
      try {
        if (!this.ns.policy.guestUnmount) throw new SysError('EPERM', 'guest unmounts are not allowed by the host');
        if (!hasCap(this.creds, CAP_SYS_ADMIN)) throw new SysError('EPERM', 'umount needs CAP_SYS_ADMIN');
        if (loc.node !== loc.mount.root) throw new SysError('EINVAL', 'not a mount point');
        if (loc.mount === this.ns.root || loc.mount.state !== 'attached') throw new SysError('EINVAL', 'cannot unmount this mount');
        if (flags & MNT_EXPIRE) throw new SysError('EINVAL', 'MNT_EXPIRE is not supported');
        m = loc.mount;
      } finally {
        // The walk's own reference must not make the mount look busy.
        release(loc);
      }
      this.ns.unmount(m, { detach: (flags & MNT_DETACH) !== 0 });
      return 0;
    });
  }

  /** umount(2): umount2 without flags. */
  umount(target: PathArg): number {
    return this.umount2(target, 0);
  }

  /** The mountinfo text this task would read from /proc/self/mountinfo. */
  mountinfo(): string {
    this.alive();
    return mountinfoFor(this.ns, this.rootLoc);
  }
}

/** statx of a location, with the mount's additions. */
export function mountStatx(l: Location): MountStatx {
  const sx = node.statx(l.node) as MountStatx;
  sx.mask |= STATX_MNT_ID;
  if (l.node === l.mount.root) sx.attributes |= STATX_ATTR_MOUNT_ROOT;
  sx.mntId = l.mount.id;
  return sx;
}

/** statfs of a mount: the filesystem's answer with the mount's flags. */
export function mountStatfs(m: Mount): StatFs {
  const s = node.statfs(m.fs);
  const f = m.spec.flags ?? {};
  s.flags |= (m.readOnly ? ST_RDONLY : 0) | (f.nosuid ? ST_NOSUID : 0) | (f.nodev ? ST_NODEV : 0) | (f.noexec ? ST_NOEXEC : 0);
  return s;
}

/**
 * lseek when the position is or becomes far (past 2^53; see OpenDescription.far): the
 * description itself answers what it would at its largest position (SEEK_DATA and
 * SEEK_HOLE: ENXIO; a whence it does not know: EINVAL; O_PATH: EBADF) and gives the base
 * of SEEK_END; the sum is checked against 0..2^63-1 (EINVAL), and against 2^53 unless the
 * caller takes `wide` (bigint) results, and either handed back to the description or
 * kept in `far`.
 */
function farSeek(d: OpenDescription, off: number | bigint, whence: number, wide: boolean): number | bigint {
  const f = d.file;
  if (whence === SEEK_DATA || whence === SEEK_HOLE) {
    const pos = f.lseek(typeof off === 'number' ? off : off < 0n ? -1 : MAX_OFFSET, whence);
    d.far = null;
    return pos;
  }
  const saved = f.offset;
  let base: number | bigint;
  if (whence === SEEK_END) {
    base = f.lseek(0, SEEK_END);
    f.offset = saved;
  } else {
    // SEEK_SET, SEEK_CUR, or one the description refuses (EINVAL) without moving.
    f.lseek(0, whence === SEEK_SET ? SEEK_CUR : whence);
    base = whence === SEEK_SET ? 0 : (d.far ?? saved);
  }
  const pos = BigInt(base) + BigInt(off);
  if (pos < 0n || pos > LOFF_MAX) throw new SysError('EINVAL', `position ${pos} out of range`);
  if (pos > SAFE && !wide) throw new SysError('EINVAL', `position ${pos} is not a safe integer (give the offset as a bigint)`);
  if (pos <= SAFE) {
    const n = f.lseek(Number(pos), SEEK_SET);
    d.far = null;
    return n;
  }
  d.far = pos;
  f.offset = MAX_OFFSET;
  return pos;
}
