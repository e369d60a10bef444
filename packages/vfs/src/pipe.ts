/**
 * Pipes and fifos: one pipe per fifo inode, shared by every opener of any of its names,
 * and anonymous pipes (pipe2) from the same code.
 *
 * ## The pipe (fs/pipe.c, as Linux 6.18 answers; observed with python3 on a tmpfs)
 * - A ring of 16 page-sized slots (64 KiB, F_GETPIPE_SZ 65536). A write first adds its
 *   last `length % 4096` bytes' worth of data to the last slot when they fit there (so
 *   small writes merge: 65536 one-byte writes fill a pipe), then fills fresh slots of up
 *   to 4096 bytes each. A slot is freed when a reader has taken all of it. So a write of
 *   at most PIPE_BUF (4096) bytes goes in whole or not at all (atomic); a larger one may
 *   go in partly. Readiness to write is "a slot is free" (a pipe of 16 full slots with
 *   one byte read is still full).
 * - read of an empty pipe: 0 (EOF) once no writer is left, EAGAIN with O_NONBLOCK, else it
 *   blocks. A read returns what is there (up to the request) and never waits for more.
 *   read and write of 0 bytes return 0 at once (no EPIPE, no SIGPIPE).
 * - write with no reader: EPIPE and SIGPIPE. A full pipe: EAGAIN with O_NONBLOCK (a write
 *   larger than PIPE_BUF returns the bytes that fitted, if any), else it blocks until it
 *   has written everything.
 * - When the last opener closes, the pipe and any data left in it are gone.
 * - Packet mode (pipe2 O_DIRECT): each write of up to 4096 bytes is a packet in its own
 *   slot; a read takes one packet and drops what did not fit in the buffer.
 * - A fifo's description: lseek ESPIPE (EINVAL first for a whence above 4), pread/pwrite
 *   ESPIPE (EINVAL first for a negative position), getdents64 ENOTDIR, ftruncate EINVAL,
 *   fsync EINVAL, fallocate ESPIPE, read on a write-only end EBADF. stat is the inode's
 *   (size 0). An anonymous pipe's inode is on pipefs: S_IFIFO|0600, the creator's ids,
 *   nlink 1, size 0, blksize 4096; statfs f_type PIPEFS_MAGIC with no blocks or files.
 *
 * ## Opening a fifo (fs/pipe.c fifo_open)
 * - O_RDONLY: counts as a reader at once, then waits until a writer has opened (even one
 *   that closed again since); with O_NONBLOCK it never waits.
 * - O_WRONLY: with O_NONBLOCK and no reader, ENXIO; else counts as a writer at once and
 *   waits until a reader has opened.
 * - O_RDWR never waits. Access mode 3: EINVAL. O_DIRECT: EINVAL.
 * - A reader or writer waiting in open already counts: a writer that opens with
 *   O_NONBLOCK while a reader waits gets in, and its data is there when the reader's open
 *   returns.
 *
 * ## Would block: the protocol
 * The calls stay synchronous. Where Linux would put the caller to sleep (a blocking read
 * of an empty pipe, a blocking write into a full one, a fifo open waiting for the other
 * side), the call throws `WouldBlock`: a SysError with code EAGAIN (so a caller that
 * knows nothing of it fails safe) that carries
 *   - `wait`: a Promise that resolves when the call may succeed if retried (it may
 *     resolve early: retrying then just throws a new WouldBlock). It never rejects.
 *   - `done`: the bytes this call has already moved (only a blocking write of more than
 *     PIPE_BUF bytes moves some and then waits; 0 otherwise).
 *   - `retry()`: continues exactly this call (a write goes on after its first `done`
 *     bytes; an open completes). It returns the call's result or throws again.
 *   - `cancel()`: the emulator gives up on the call (a signal interrupted it, the task
 *     died): a waiting open stops counting as a reader/writer. The emulator then answers
 *     EINTR, or `done` if bytes moved, as Linux does.
 * O_NONBLOCK descriptions get a plain SysError EAGAIN instead, for the guest.
 * Instead of `retry()` an emulator may re-issue the same system call: reads and opens
 * are safe to repeat (a fifo open finds its waiting place again through the `waiter` it
 * was given), and so is a write whose `done` is 0; a write with `done` > 0 must be
 * re-issued for the bytes after `done` and `done` added to the result.
 *
 * EPIPE is a `BrokenPipe` error (`isSigpipe(e)`): raise SIGPIPE in the calling thread, and
 * answer `e.done` when a continued write had moved bytes before the readers left, -EPIPE
 * otherwise.
 *
 * Readiness for poll/select/epoll: `PipeFile.poll()` gives the POLL* mask Linux's
 * pipe_poll gives; `PipeFile.ready(events)` a promise for the next change that may set
 * one of them.
 */
import { S_IFDIR, S_IFIFO, S_IFMT, makedev, splitDev } from '@erofs-js/erofs';
import type { FilesystemImpl, FsNode, OpenFile, Timespec } from './contract.js';
import { MAY_WRITE, checkPermission, genericPermission, hasCap, inGroup, ownerOrCapable, type Credentials } from './credentials.js';
import { SpecialFile } from './devices.js';
import { SysError } from './errno.js';
import { O_ACCMODE, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from './file.js';
import { ST_VALID, type StatFs } from './filesystem.js';
import { STATX_BASIC_STATS, STATX_BTIME, STATX_ATTR_AUTOMOUNT, STATX_ATTR_DAX, STATX_ATTR_MOUNT_ROOT, type Stat, type Statx } from './inode.js';

/** Writes of at most this many bytes are atomic. */
export const PIPE_BUF = 4096;
/** Slots of a new pipe (each a page): 64 KiB. */
export const PIPE_DEF_BUFFERS = 16;
/** /proc/sys/fs/pipe-max-size's default: F_SETPIPE_SZ above it needs CAP_SYS_RESOURCE. */
export const PIPE_MAX_SIZE = 1 << 20;
export const PIPEFS_MAGIC = 0x50495045;
const PAGE = 4096;
const CAP_CHOWN = 0;
const CAP_SYS_RESOURCE = 24;

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;

const noop = () => {};

/** A call that would block: wait for `wait`, then `retry()` (see the header). */
export class WouldBlock<T = number> extends SysError {
  constructor(
    readonly wait: Promise<void>,
    readonly done: number,
    readonly retry: () => T,
    readonly cancel: () => void = noop,
    message = 'would block',
  ) {
    super('EAGAIN', message);
  }
}

export function isWouldBlock(e: unknown): e is WouldBlock<unknown> {
  return e instanceof WouldBlock;
}

/** EPIPE: no reader is left. The emulator raises SIGPIPE in the writing thread. */
export class BrokenPipe extends SysError {
  readonly sigpipe = true;
  constructor(
    /** Bytes a continued write had moved before the readers left (its result then). */
    readonly done = 0,
  ) {
    super('EPIPE', 'no reader on the pipe (SIGPIPE)');
  }
}

export function isSigpipe(e: unknown): e is BrokenPipe {
  return e instanceof BrokenPipe;
}

/** A promise for "something changed", renewed after each wake. */
class Wakeup {
  private promise: Promise<void> | null = null;
  private resolve: (() => void) | null = null;

  wait(): Promise<void> {
    if (!this.promise) this.promise = new Promise<void>((r) => (this.resolve = r));
    return this.promise;
  }

  wake(): void {
    const r = this.resolve;
    if (!r) return;
    this.promise = null;
    this.resolve = null;
    r();
  }
}

interface Slot {
  data: Uint8Array;
  /** Start and length of the unread bytes. */
  offset: number;
  len: number;
  /** A packet (O_DIRECT writer): never merged into, read whole or dropped. */
  packet: boolean;
}

/** The bytes of a write still to go in: buffers and a position in them. */
class Source {
  private i = 0;
  private off = 0;
  left: number;

  constructor(private readonly bufs: readonly Uint8Array[]) {
    let n = 0;
    for (const b of bufs) n += b.length;
    this.left = n;
  }

  copyTo(dst: Uint8Array, at: number, n: number): void {
    this.left -= n;
    while (n > 0) {
      const b = this.bufs[this.i];
      const k = Math.min(n, b.length - this.off);
      if (k > 0) {
        dst.set(k === b.length ? b : b.subarray(this.off, this.off + k), at);
        at += k;
        n -= k;
        this.off += k;
      }
      if (this.off === b.length) {
        this.i++;
        this.off = 0;
      }
    }
  }
}

/** The shared state of one pipe: Linux's pipe_inode_info. */
class Pipe {
  readers = 0;
  writers = 0;
  /** Open descriptions, and fifo opens still waiting. */
  files = 0;
  /** Bumped by every reader / writer open (a waiting open waits for the other's to move). */
  rCounter = 1;
  wCounter = 1;
  /** Slots the pipe may use (F_SETPIPE_SZ / 4096). */
  maxUsage = PIPE_DEF_BUFFERS;
  private slots: Slot[] = [];
  private spare: Uint8Array | null = null;
  /** Woken by writers' actions (data, a writer opening, the last writer leaving): what readers wait for. */
  readonly forReaders = new Wakeup();
  /** Woken by readers' actions (space, a reader opening, the last reader leaving): what writers wait for. */
  readonly forWriters = new Wakeup();

  constructor(
    /** Anonymous (pipefs): opens never wait and never ENXIO. */
    readonly anonymous: boolean,
    /** Called when the last opener has gone. */
    readonly onFree: () => void,
  ) {}

  get empty(): boolean {
    return this.slots.length === 0;
  }

  get full(): boolean {
    return this.slots.length >= this.maxUsage;
  }

  get occupancy(): number {
    return this.slots.length;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.slots) n += s.len;
    return n;
  }

  /** Copies unread bytes into the buffers in turn; one packet at most. Returns the bytes copied. */
  take(bufs: readonly Uint8Array[]): number {
    let ret = 0;
    let bi = 0;
    let bo = 0;
    while (this.slots.length > 0) {
      const s = this.slots[0];
      // Copy from this slot until it is empty or the buffers are full.
      while (s.len > 0) {
        while (bi < bufs.length && bo === bufs[bi].length) {
          bi++;
          bo = 0;
        }
        if (bi === bufs.length) break;
        const d = bufs[bi];
        const n = Math.min(s.len, d.length - bo);
        d.set(s.data.subarray(s.offset, s.offset + n), bo);
        bo += n;
        ret += n;
        s.offset += n;
        s.len -= n;
      }
      // A packet is read whole or its rest dropped.
      if (s.packet) s.len = 0;
      if (s.len > 0) break;
      this.slots.shift();
      this.spare = s.data;
      if (s.packet) break;
    }
    return ret;
  }

  /**
   * Puts as much of src in as fits, Linux's way (see the header): the tail of the request
   * merged into the last slot unless `continuing` a blocked write, then whole slots.
   */
  put(src: Source, packet: boolean, continuing: boolean): number {
    let done = 0;
    const chars = src.left & (PAGE - 1);
    if (chars && !continuing && this.slots.length > 0) {
      const last = this.slots[this.slots.length - 1];
      const end = last.offset + last.len;
      if (!last.packet && end + chars <= PAGE) {
        src.copyTo(last.data, end, chars);
        last.len += chars;
        done = chars;
      }
    }
    while (src.left > 0 && this.slots.length < this.maxUsage) {
      const n = Math.min(PAGE, src.left);
      const data = this.spare ?? new Uint8Array(PAGE);
      this.spare = null;
      src.copyTo(data, 0, n);
      this.slots.push({ data, offset: 0, len: n, packet });
      done += n;
    }
    return done;
  }
}

/** Timestamps of a pipefs inode. */
interface Times {
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
}

function now(): Timespec {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/** The inode of an anonymous pipe, on pipefs. */
class PipeNode implements FsNode {
  readonly parent = null;
  readonly key = '';
  refs = 0;
  mode = S_IFIFO | 0o600;
  times: Times;

  constructor(
    readonly fs: PipeFs,
    readonly pipe: Pipe,
    readonly ino: number,
    public uid: number,
    public gid: number,
  ) {
    const t = now();
    this.times = { atime: t, mtime: t, ctime: t };
  }

  incRef(): void {
    this.refs++;
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error('pipefs node: decRef without a reference');
    this.refs--;
  }
}

const rootNode = (fs: PipeFs): FsNode => ({ fs, parent: null, key: '', mode: S_IFDIR | 0o700, incRef: noop, decRef: noop });

/**
 * pipefs: where anonymous pipes' inodes live. No path reaches it; the mount layer shows
 * a pipe in /proc/self/fd as `pipe:[ino]` (PipeTable.anonName) and reopens it through
 * PipeTable.openFifo.
 */
class PipeFs implements FilesystemImpl {
  readonly type = 'pipefs';
  readonly root: FsNode;
  private nextIno = 1;

  constructor(readonly dev: number) {
    this.root = rootNode(this);
  }

  newNode(pipe: Pipe, creds: Credentials): PipeNode {
    return new PipeNode(this, pipe, this.nextIno++, creds.uid, creds.gid);
  }

  private pipeNode(n: FsNode): PipeNode {
    if (n instanceof PipeNode) return n;
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  lookup(dir: FsNode): FsNode {
    throw new SysError(dir === this.root ? 'ENOENT' : 'ENOTDIR', 'pipefs has no names');
  }

  stat(n: FsNode): Stat {
    const p = n instanceof PipeNode ? n : null;
    const t = p?.times ?? { atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 }, ctime: { sec: 0, nsec: 0 } };
    return {
      dev: this.dev, ino: p?.ino ?? 0, mode: n.mode, nlink: 1, uid: p?.uid ?? 0, gid: p?.gid ?? 0, rdev: 0, size: 0, blksize: PAGE, blocks: 0,
      atime: t.atime.sec, atimeNsec: t.atime.nsec, mtime: t.mtime.sec, mtimeNsec: t.mtime.nsec, ctime: t.ctime.sec, ctimeNsec: t.ctime.nsec,
    };
  }

  statx(n: FsNode): Statx {
    const s = this.stat(n);
    const dev = splitDev(this.dev);
    return {
      mask: STATX_BASIC_STATS & ~STATX_BTIME, blksize: s.blksize, attributes: 0, nlink: s.nlink, uid: s.uid, gid: s.gid, mode: s.mode, ino: s.ino, size: 0, blocks: 0,
      attributesMask: STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX,
      atime: s.atime, atimeNsec: s.atimeNsec, btime: 0, btimeNsec: 0, ctime: s.ctime, ctimeNsec: s.ctimeNsec, mtime: s.mtime, mtimeNsec: s.mtimeNsec,
      rdevMajor: 0, rdevMinor: 0, devMajor: dev.major, devMinor: dev.minor,
    };
  }

  statfs(): StatFs {
    return { type: PIPEFS_MAGIC, bsize: PAGE, blocks: 0, bfree: 0, bavail: 0, files: 0n, ffree: 0n, fsid: [0, 0], namelen: 255, frsize: PAGE, flags: ST_VALID };
  }

  readlink(): Uint8Array {
    throw new SysError('EINVAL', 'not a symbolic link');
  }

  access(n: FsNode, mode: number, creds: Credentials): void {
    checkPermission(creds, this.owned(n), mode);
  }

  open(): OpenFile {
    throw new SysError('ENXIO', 'open a pipe through PipeTable.openFifo');
  }

  getxattr(): number {
    throw new SysError('EOPNOTSUPP', 'pipefs has no xattrs');
  }

  listxattr(): number {
    return 0;
  }

  create(): FsNode {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  tmpfile(): FsNode {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  mkdir(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  mknod(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  symlink(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  link(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  unlink(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  rmdir(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  rename(): void {
    throw new SysError('ENOTDIR', 'pipefs has no directories to use');
  }

  /** fchmod of a pipe works as on any inode: the owner or CAP_FOWNER. */
  chmod(n: FsNode, mode: number, creds: Credentials): void {
    const p = this.pipeNode(n);
    if (!ownerOrCapable(creds, p)) throw new SysError('EPERM', 'not the owner');
    p.mode = S_IFIFO | (mode & 0o7777);
    p.times.ctime = now();
  }

  /** fchown: a new owner needs CAP_CHOWN; the owner may change the group to one of its own. */
  chown(n: FsNode, uid: number, gid: number, creds: Credentials): void {
    const p = this.pipeNode(n);
    const capable = hasCap(creds, CAP_CHOWN);
    if (uid !== -1 && uid !== p.uid && !capable) throw new SysError('EPERM', 'changing the owner needs CAP_CHOWN');
    if (gid !== -1 && gid !== p.gid && !capable && !(creds.uid === p.uid && inGroup(creds, gid))) throw new SysError('EPERM', 'not a group of the caller');
    if (uid !== -1) p.uid = uid;
    if (gid !== -1) p.gid = gid;
    p.times.ctime = now();
  }

  /** futimens: "now" for the owner or a writer; explicit times for the owner or CAP_FOWNER. */
  utimes(n: FsNode, times: readonly [Timespec, Timespec] | null, creds: Credentials): void {
    const p = this.pipeNode(n);
    if (!ownerOrCapable(creds, p) && (times !== null || !genericPermission(creds, p, MAY_WRITE))) throw new SysError(times ? 'EPERM' : 'EACCES', 'not the owner');
    const t = now();
    p.times.atime = times ? pick(times[0], p.times.atime, t) : t;
    p.times.mtime = times ? pick(times[1], p.times.mtime, t) : t;
    p.times.ctime = t;
  }

  truncate(): void {
    throw new SysError('EINVAL', 'not a regular file');
  }

  setxattr(): void {
    throw new SysError('EOPNOTSUPP', 'pipefs has no xattrs');
  }

  removexattr(): void {
    throw new SysError('EOPNOTSUPP', 'pipefs has no xattrs');
  }

  sync(): void {}

  release(): void {}

  private owned(n: FsNode): { mode: number; uid: number; gid: number } {
    return n instanceof PipeNode ? n : { mode: n.mode, uid: 0, gid: 0 };
  }
}

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

function pick(t: Timespec, old: Timespec, current: Timespec): Timespec {
  if (t.nsec === UTIME_OMIT) return old;
  if (t.nsec === UTIME_NOW) return current;
  return { sec: t.sec, nsec: t.nsec };
}

/** An open end of a pipe or fifo: the OpenFile the mount layer puts in a descriptor table. Pipes have no position (offset stays 0). */
export class PipeFile extends SpecialFile implements OpenFile {
  readonly kind = 'pipe' as const;
  /** The writer-open count this reader saw when it opened with O_NONBLOCK and no writer (Linux's f_pipe: no POLLHUP until a writer came and went). */
  private version = 0;

  /** @internal made by PipeTable */
  constructor(
    node: FsNode,
    private readonly pipe: Pipe,
    flags: number,
    private readonly table: PipeTable,
  ) {
    super(node, flags);
    pipe.files++;
    const acc = flags & O_ACCMODE;
    if (acc !== O_WRONLY) {
      pipe.readers++;
      pipe.rCounter++;
      pipe.forWriters.wake();
    }
    if (acc !== O_RDONLY) {
      pipe.writers++;
      pipe.wCounter++;
      pipe.forReaders.wake();
    }
  }

  private get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }

  private get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }

  // ---- reading ----------------------------------------------------------------------------

  read(dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    this.live();
    if (!this.readable) throw new SysError('EBADF', 'not open for reading');
    if (!(destOffset >= 0 && length >= 0 && destOffset + length <= dest.length)) throw new RangeError('range outside the buffer');
    return this.readInto([length === dest.length ? dest : dest.subarray(destOffset, destOffset + length)], length);
  }

  readv(buffers: readonly Uint8Array[]): number {
    this.live();
    if (!this.readable) throw new SysError('EBADF', 'not open for reading');
    let total = 0;
    for (const b of buffers) total += b.length;
    return this.readInto(buffers, total);
  }

  pread(_dest: Uint8Array, position: number): number {
    return this.noPosition(position);
  }

  preadv(_buffers: readonly Uint8Array[], position: number): number {
    return this.noPosition(position);
  }

  private readInto(buffers: readonly Uint8Array[], total: number): number {
    if (total === 0) return 0;
    const p = this.pipe;
    if (!p.empty) {
      const n = p.take(buffers);
      p.forWriters.wake();
      this.table.touched(this.node, 'read');
      return n;
    }
    if (p.writers === 0) return 0;
    if (this.flags & O_NONBLOCK) throw new SysError('EAGAIN', 'pipe is empty');
    throw new WouldBlock(p.forReaders.wait(), 0, () => {
      this.live();
      return this.readInto(buffers, total);
    }, noop, 'pipe is empty');
  }

  // ---- writing ----------------------------------------------------------------------------

  write(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): number {
    this.live();
    if (!this.writable) throw new SysError('EBADF', 'not open for writing');
    if (!(srcOffset >= 0 && length >= 0 && srcOffset + length <= src.length)) throw new RangeError('range outside the buffer');
    if (length === 0) return 0;
    return this.writeFrom(new Source([length === src.length ? src : src.subarray(srcOffset, srcOffset + length)]), 0, false);
  }

  writev(buffers: readonly Uint8Array[]): number {
    this.live();
    if (!this.writable) throw new SysError('EBADF', 'not open for writing');
    const src = new Source(buffers);
    if (src.left === 0) return 0;
    return this.writeFrom(src, 0, false);
  }

  pwrite(_src: Uint8Array, position: number): number {
    return this.noPosition(position);
  }

  pwritev(_buffers: readonly Uint8Array[], position: number): number {
    return this.noPosition(position);
  }

  /**
   * One attempt of a write: `before` bytes went in on earlier attempts of the same call;
   * a `continuing` attempt (after a wait) fills fresh slots only, as Linux's loop does.
   */
  private writeFrom(src: Source, before: number, continuing: boolean): number {
    const p = this.pipe;
    if (p.readers === 0) throw new BrokenPipe(before);
    const n = p.put(src, (this.flags & O_DIRECT) !== 0, continuing);
    if (n > 0) {
      p.forReaders.wake();
      this.table.touched(this.node, 'write');
    }
    const done = before + n;
    if (src.left === 0) return done;
    if (this.flags & O_NONBLOCK) {
      if (done > 0) return done;
      throw new SysError('EAGAIN', 'pipe is full');
    }
    throw new WouldBlock(p.forWriters.wait(), done, () => {
      this.live();
      return this.writeFrom(src, done, true);
    }, noop, 'pipe is full');
  }

  // ---- the rest of OpenFile -----------------------------------------------------------------

  private noPosition(position: number): never {
    this.live();
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    throw new SysError('ESPIPE', 'pipes have no positions');
  }

  lseek(_offset: number, whence: number): number {
    this.checkWhence(whence);
    throw new SysError('ESPIPE', 'pipes cannot seek');
  }

  fallocate(_mode: number, _offset: number, _length: number): void {
    this.live();
    throw new SysError('ESPIPE', 'fallocate on a pipe');
  }

  protected override release(): void {
    const p = this.pipe;
    if (this.readable) p.readers--;
    if (this.writable) p.writers--;
    p.forReaders.wake();
    p.forWriters.wake();
    if (--p.files === 0) p.onFree();
  }

  // ---- pipe-only calls ----------------------------------------------------------------------

  /** poll(2)'s answer now: POLLIN|POLLRDNORM, POLLOUT|POLLWRNORM, POLLHUP, POLLERR as pipe_poll gives them. */
  poll(): number {
    if (this.isClosed) return 0;
    const p = this.pipe;
    let mask = 0;
    if (this.readable) {
      if (!p.empty) mask |= POLLIN | POLLRDNORM;
      if (p.writers === 0 && this.version !== p.wCounter) mask |= POLLHUP;
    }
    if (this.writable) {
      if (!p.full) mask |= POLLOUT | POLLWRNORM;
      if (p.readers === 0) mask |= POLLERR;
    }
    return mask;
  }

  /** A promise that resolves when poll() may have one of `events` (or POLLHUP/POLLERR); at once if it has. */
  ready(events: number): Promise<void> {
    if (this.poll() & (events | POLLHUP | POLLERR)) return Promise.resolve();
    const p = this.pipe;
    const waits: Promise<void>[] = [];
    if (this.readable) waits.push(p.forReaders.wait());
    if (this.writable) waits.push(p.forWriters.wait());
    return Promise.race(waits);
  }

  /** ioctl FIONREAD: unread bytes. */
  bytesAvailable(): number {
    this.live();
    return this.pipe.bytes;
  }

  /** fcntl F_GETPIPE_SZ. */
  pipeSize(): number {
    this.live();
    return this.pipe.maxUsage * PAGE;
  }

  /**
   * fcntl F_SETPIPE_SZ: rounds up to a power-of-two number of pages (at least one);
   * EPERM past PIPE_MAX_SIZE without CAP_SYS_RESOURCE, EBUSY when the data would not
   * fit, EINVAL above 2^31. Returns the new size.
   */
  setPipeSize(size: number, creds: Credentials): number {
    this.live();
    if (!(size >= 0) || size > 2 ** 31) throw new SysError('EINVAL', `pipe size ${size}`);
    let slots = 1;
    while (slots * PAGE < size) slots *= 2;
    const p = this.pipe;
    if (slots > p.maxUsage && slots * PAGE > PIPE_MAX_SIZE && !hasCap(creds, CAP_SYS_RESOURCE)) throw new SysError('EPERM', 'pipe size above pipe-max-size');
    if (slots < p.occupancy) throw new SysError('EBUSY', 'the data would not fit');
    p.maxUsage = slots;
    p.forWriters.wake();
    return slots * PAGE;
  }

  /** @internal */
  setVersion(v: number): void {
    this.version = v;
  }
}

/** A fifo open waiting for the other side. */
interface Pending {
  pipe: Pipe;
  file: PipeFile;
  reading: boolean;
  /** The other side's open count when the wait began. */
  seen: number;
  waiter: object;
}

export interface PipeTableOptions {
  /** st_dev of pipefs inodes (glibc encoding); default 0:15. */
  pipefsDev?: number;
  /**
   * Called after a fifo read ('read': atime) or write ('write': mtime and ctime) moved
   * bytes, for the mount layer to update the fifo inode's times as Linux's
   * file_accessed / file_update_time do (honouring noatime, relatime and read-only
   * mounts). Anonymous pipes update their pipefs inode themselves.
   */
  touch?: (node: FsNode, what: 'read' | 'write') => void;
}

/**
 * The pipes of one kernel: one per fifo inode while anyone has it open (looked up by the
 * inode's identity), and anonymous pipes.
 */
export class PipeTable {
  private readonly byKey = new Map<object, Pipe>();
  private readonly byInode = new WeakMap<object, Map<number, Pipe>>();
  private readonly pending = new WeakMap<object, Pending>();
  private readonly pipefs: PipeFs;
  private live = 0;

  constructor(private readonly options: PipeTableOptions = {}) {
    this.pipefs = new PipeFs(options.pipefsDev ?? makedev(0, 15));
  }

  /** Fifo pipes in use (opened or being opened by someone). */
  get size(): number {
    return this.live;
  }

  /**
   * Opens a fifo node (after the mount layer's permission check; not for O_PATH), or
   * reopens an anonymous pipe from its pipefs node (/proc/self/fd/N). See the header for
   * the rules and for WouldBlock.
   * - `waiter`: who is opening (the task or thread that would sleep): a re-issued open by
   *   the same waiter of the same fifo in the same access mode takes up the place its
   *   first attempt holds; any other open by that waiter gives the old place up.
   * - `key`: the inode's identity, when the filesystem has an object for it; by default
   *   the pipe is found by (node.fs, st_ino), which names one live inode.
   */
  openFifo(node: FsNode, flags: number, waiter: object, key?: object): PipeFile {
    const anon = node instanceof PipeNode && node.fs === this.pipefs ? node : null;
    const acc = flags & O_ACCMODE;
    if (!anon && (node.mode & S_IFMT) !== S_IFIFO) throw new SysError('EINVAL', 'not a fifo');
    const found = anon ? anon.pipe : this.find(node, key, false);
    const prev = this.pending.get(waiter);
    if (prev) {
      if (prev.pipe === found && prev.reading === (acc === O_RDONLY) && acc !== O_RDWR) return this.resume(prev);
      this.abandon(prev);
    }
    if (acc === 3) throw new SysError('EINVAL', 'fifo open needs read or write access');
    if (!anon && flags & O_DIRECT) throw new SysError('EINVAL', 'no direct I/O on a fifo');
    const nonblock = (flags & O_NONBLOCK) !== 0;
    if (!anon && acc === O_WRONLY && nonblock && !found?.readers) throw new SysError('ENXIO', 'no reader on the fifo');
    const pipe = anon ? anon.pipe : (found ?? this.find(node, key, true)!);
    const file = new PipeFile(node, pipe, flags, this);
    if (anon || acc === O_RDWR) return file;
    if (acc === O_RDONLY && pipe.writers === 0) {
      if (nonblock) {
        file.setVersion(pipe.wCounter);
        return file;
      }
      return this.block({ pipe, file, reading: true, seen: pipe.wCounter, waiter });
    }
    if (acc === O_WRONLY && pipe.readers === 0) return this.block({ pipe, file, reading: false, seen: pipe.rCounter, waiter });
    return file;
  }

  /** pipe2(2): [read end, write end]. Flags: O_NONBLOCK, O_DIRECT (packets), O_CLOEXEC (the descriptor table's). */
  createPipe(flags: number, creds: Credentials): [PipeFile, PipeFile] {
    if (flags & ~(O_NONBLOCK | O_DIRECT | O_CLOEXEC)) throw new SysError('EINVAL', 'pipe2 flags');
    const kept = flags & (O_NONBLOCK | O_DIRECT);
    const pipe = new Pipe(true, noop);
    const node = this.pipefs.newNode(pipe, creds);
    return [new PipeFile(node, pipe, O_RDONLY | kept, this), new PipeFile(node, pipe, O_WRONLY | kept, this)];
  }

  /** What readlink of /proc/self/fd/N shows for an anonymous pipe ("pipe:[ino]"); null for other nodes. */
  anonName(node: FsNode): string | null {
    return node instanceof PipeNode && node.fs === this.pipefs ? `pipe:[${node.ino}]` : null;
  }

  /** @internal a read or write moved bytes. */
  touched(node: FsNode, what: 'read' | 'write'): void {
    if (node instanceof PipeNode) {
      const t = now();
      if (what === 'read') node.times.atime = t;
      else node.times.mtime = node.times.ctime = t;
    } else this.options.touch?.(node, what);
  }

  private find(node: FsNode, key: object | undefined, create: boolean): Pipe | undefined {
    if (key) {
      let pipe = this.byKey.get(key);
      if (!pipe && create) {
        pipe = this.newPipe(() => this.byKey.delete(key));
        this.byKey.set(key, pipe);
      }
      return pipe;
    }
    let inodes = this.byInode.get(node.fs);
    const ino = node.fs.stat(node).ino;
    let pipe = inodes?.get(ino);
    if (!pipe && create) {
      if (!inodes) this.byInode.set(node.fs, (inodes = new Map()));
      const m = inodes;
      pipe = this.newPipe(() => m.delete(ino));
      m.set(ino, pipe);
    }
    return pipe;
  }

  private newPipe(forget: () => void): Pipe {
    this.live++;
    return new Pipe(false, () => {
      this.live--;
      forget();
    });
  }

  private block(pend: Pending): never {
    this.pending.set(pend.waiter, pend);
    const p = pend.pipe;
    const wait = pend.reading ? p.forReaders.wait() : p.forWriters.wait();
    throw new WouldBlock<PipeFile>(wait, 0, () => {
      if (this.pending.get(pend.waiter) !== pend) throw new SysError('EBADF', 'this open was given up');
      return this.resume(pend);
    }, () => {
      if (this.pending.get(pend.waiter) === pend) this.abandon(pend);
    }, pend.reading ? 'fifo has no writer yet' : 'fifo has no reader yet');
  }

  /** A waiting open tried again: done once the other side has opened since it began. */
  private resume(pend: Pending): PipeFile {
    const p = pend.pipe;
    const now = pend.reading ? p.wCounter : p.rCounter;
    if (now === pend.seen) {
      this.pending.delete(pend.waiter);
      return this.block(pend);
    }
    this.pending.delete(pend.waiter);
    return pend.file;
  }

  private abandon(pend: Pending): void {
    this.pending.delete(pend.waiter);
    pend.file.close();
  }
}
