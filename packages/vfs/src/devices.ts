/**
 * Character and block devices: a registry of drivers keyed by (type, major, minor), the
 * description a driver hands out, and Linux's memory devices (null, zero, full, random,
 * urandom) built in.
 *
 * A device node lives in some filesystem (an image's /dev/null, a node made by mknod in a
 * tmpfs, the devtmpfs-like /dev the host mounts); the filesystem only stores its type and
 * rdev. Opening it reaches the driver registered for that number, whatever filesystem
 * holds the node, as Linux's chrdev_open/blkdev_open do. The rules, as Linux 6.18 answers
 * them (observed with python3 on a tmpfs, 2025):
 *
 * - Open of a number no driver claims: ENXIO, for char and block devices alike, whatever
 *   the access mode or O_NONBLOCK (240:7 char and block, 1:200, 1:1 on a kernel without
 *   /dev/mem). The caller has already checked nodev (EACCES, before the permission check,
 *   so an unregistered node on a nodev mount is EACCES too) and permission (EACCES).
 *   O_PATH opens never reach a driver. O_TRUNC is ignored; O_DIRECT is EINVAL for the
 *   memory devices (they cannot do direct I/O).
 * - A description keeps the node (held until close) and answers what the device does not
 *   do as Linux does for a char device: getdents64 ENOTDIR, ftruncate EINVAL,
 *   fsync/fdatasync EINVAL (no fsync method), fallocate ENODEV, lseek ESPIPE when the
 *   driver has no llseek, pread/pwrite ESPIPE when it is not positional, read/write EBADF
 *   when the access mode lacks it (and EINVAL when the driver has no read or write).
 *   Ordering of pread/pwrite: a negative position is EINVAL first, then ESPIPE, then EBADF.
 *   An lseek whence above SEEK_HOLE is EINVAL before the driver sees it.
 * - stat/statx of a device description is the inode's (the node's filesystem's stat:
 *   the mode with S_IFCHR/S_IFBLK, rdev, size 0).
 * - drivers/char/mem.c: null reads 0 bytes (EOF) and takes every write whole; zero reads
 *   zeros and takes writes; full reads zeros and fails every write, even of 0 bytes, with
 *   ENOSPC; lseek on all three sets the position to 0 and answers 0 (null_lseek), for any
 *   offset and whence 0..4. random and urandom read random bytes (any length: a 1 MiB read
 *   returns 1 MiB) and accept and ignore writes; their lseek is noop_llseek (answers the
 *   position, which reads never move: always 0). All five are positional (pread/pwrite
 *   work, at any position), fallocate ENODEV; only zero maps (fresh zero pages).
 *
 * Writing a driver: subclass DeviceFile, override the hooks (readAt, writeAt, seek,
 * positional, release, mmap), and register a DeviceDriver whose open() returns it. See
 * devices.test.ts for a tty at 5:0.
 */
import { S_IFBLK, S_IFCHR, S_IFLNK, S_IFMT, makedev, splitDev } from '@erofs-js/erofs';
import type { FsNode, OpenFile } from './contract.js';
import type { Credentials } from './credentials.js';
import { SysError } from './errno.js';
import { O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECT, O_EXCL, O_NOCTTY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_HOLE } from './file.js';
import type { Stat, Statx } from './inode.js';
import { MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, PAGE_SIZE, PROT_WRITE } from './mmap.js';

export type DeviceType = 'char' | 'block';

/** Major numbers Linux gives the devices named here. */
export const MEM_MAJOR = 1;
export const TTYAUX_MAJOR = 5;

/** What a driver gets to open one description. */
export interface DeviceOpen {
  /** The device node (the description must hold it: DeviceFile's constructor does). */
  node: FsNode;
  /** open(2) flags (O_PATH never reaches a driver). */
  flags: number;
  creds: Credentials;
  type: DeviceType;
  major: number;
  minor: number;
}

/** A device driver: opens descriptions of the devices it was registered for. */
export interface DeviceDriver {
  /** Throws SysError to refuse (ENXIO for a minor it lacks, EBUSY, EPERM, ...). */
  open(req: DeviceOpen): OpenFile;
}

/** A device the host's /dev should show, given at registration. */
export interface DeviceName {
  /** The name in /dev (ASCII, one component). */
  name: string;
  /** Permission bits (default 0o600, devtmpfs's default). */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** One entry of a devtmpfs-like /dev, for the mount layer to create on a tmpfs. */
export interface DevEntry {
  /** One component, ASCII. */
  name: string;
  /** st_mode with the type: S_IFCHR / S_IFBLK with the permission bits, or S_IFLNK | 0o777. */
  mode: number;
  uid: number;
  gid: number;
  /** glibc-encoded st_rdev for devices; 0 for links. */
  rdev: number;
  major: number;
  minor: number;
  /** A symlink's target; null for devices. */
  target: string | null;
}

interface Registration {
  driver: DeviceDriver;
  name: DeviceName | null;
}

const keyOf = (type: DeviceType, major: number, minor: number | 'any') => `${type === 'char' ? 'c' : 'b'}${major}:${minor}`;

function checkNumber(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} ${v} outside 0..${max}`);
}

/**
 * Drivers by (type, major, minor). An exact registration wins over one for every minor
 * of the major ('any'). Built in unless `{ builtins: false }`: the memory devices 1:3,
 * 1:5, 1:7, 1:8, 1:9.
 */
export class DeviceRegistry {
  private readonly regs = new Map<string, Registration>();

  constructor(options: { builtins?: boolean } = {}) {
    if (options.builtins !== false) registerMemoryDevices(this);
  }

  /**
   * Registers a driver. A number already taken is EBUSY (unregister first), as Linux's
   * register_chrdev_region answers. `name` puts an exact (major, minor) into devEntries().
   */
  register(type: DeviceType, major: number, minor: number | 'any', driver: DeviceDriver, name?: DeviceName): void {
    checkNumber('major', major, 0xfff);
    if (minor !== 'any') checkNumber('minor', minor, 0xfffff);
    if (name && minor === 'any') throw new RangeError('a name needs an exact minor');
    const key = keyOf(type, major, minor);
    if (this.regs.has(key)) throw new SysError('EBUSY', `${type} device ${major}:${minor} already has a driver`);
    this.regs.set(key, { driver, name: name ?? null });
  }

  /** Removes a registration; false when there was none. Open descriptions stay as they are. */
  unregister(type: DeviceType, major: number, minor: number | 'any'): boolean {
    return this.regs.delete(keyOf(type, major, minor));
  }

  /** The driver that opens (type, major, minor), if any. */
  driver(type: DeviceType, major: number, minor: number): DeviceDriver | undefined {
    return (this.regs.get(keyOf(type, major, minor)) ?? this.regs.get(keyOf(type, major, 'any')))?.driver;
  }

  /**
   * Opens a device node for the mount layer: call it after the nodev check (EACCES) and
   * the filesystem's access check, and never for O_PATH. The node's type and rdev come
   * from its filesystem's stat. ENXIO when no driver claims the number.
   */
  open(node: FsNode, flags: number, creds: Credentials): OpenFile {
    const st = node.fs.stat(node);
    const fmt = st.mode & S_IFMT;
    if (fmt !== S_IFCHR && fmt !== S_IFBLK) throw new SysError('EINVAL', 'not a device node');
    const type: DeviceType = fmt === S_IFCHR ? 'char' : 'block';
    const { major, minor } = splitDev(st.rdev);
    const driver = this.driver(type, major, minor);
    if (!driver) throw new SysError('ENXIO', `no driver for ${type} device ${major}:${minor}`);
    return driver.open({ node, flags, creds, type, major, minor });
  }

  /**
   * The devtmpfs-like /dev the host can mount, as data: every named registration (null,
   * zero, full, random, urandom; tty and others when an emulator registered them with a
   * name), then the links fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2.
   * Sorted by name. Create each on a tmpfs with mknod (mode, rdev) or symlink (target).
   */
  devEntries(): DevEntry[] {
    const out: DevEntry[] = [];
    for (const [key, reg] of this.regs) {
      if (!reg.name) continue;
      const [major, minor] = key.slice(1).split(':').map(Number);
      const type = key[0] === 'c' ? S_IFCHR : S_IFBLK;
      const n = reg.name;
      out.push({ name: n.name, mode: type | ((n.mode ?? 0o600) & 0o7777), uid: n.uid ?? 0, gid: n.gid ?? 0, rdev: makedev(major, minor), major, minor, target: null });
    }
    const link = (name: string, target: string): DevEntry => ({ name, mode: S_IFLNK | 0o777, uid: 0, gid: 0, rdev: 0, major: 0, minor: 0, target });
    out.push(link('fd', '/proc/self/fd'), link('stdin', '/proc/self/fd/0'), link('stdout', '/proc/self/fd/1'), link('stderr', '/proc/self/fd/2'));
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** The flags a description keeps: Linux clears the open-time-only ones (and O_CLOEXEC is the descriptor's). */
const OPEN_ONLY_FLAGS = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;

/**
 * What every description of a node the filesystem does not open itself (a device, a
 * fifo, a pipe) shares: it holds the node until close, keeps the status flags, stats
 * the inode, and is neither a directory nor a regular file (getdents64 ENOTDIR,
 * ftruncate EINVAL, fsync EINVAL). Every call after close is EBADF.
 */
export abstract class SpecialFile {
  abstract readonly kind: 'device' | 'pipe';
  flags: number;
  offset = 0;
  private closed = false;

  constructor(readonly node: FsNode, flags: number) {
    this.flags = flags & ~OPEN_ONLY_FLAGS;
    node.incRef();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once by close(), before the node is released. */
  protected release(): void {}

  protected live(): void {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
  }

  /** lseek's whence above SEEK_HOLE is EINVAL before the file sees it. */
  protected checkWhence(whence: number): void {
    this.live();
    if (!(whence >= 0 && whence <= SEEK_HOLE)) throw new SysError('EINVAL', `whence ${whence}`);
  }

  getdents64(_dest: Uint8Array): number {
    this.live();
    throw new SysError('ENOTDIR', 'not a directory');
  }

  stat(): Stat {
    this.live();
    return this.node.fs.stat(this.node);
  }

  statx(): Statx {
    this.live();
    return this.node.fs.statx(this.node);
  }

  truncate(_length: number): void {
    this.live();
    throw new SysError('EINVAL', 'not a regular file');
  }

  fsync(): void {
    this.live();
    throw new SysError('EINVAL', 'no fsync here');
  }

  fdatasync(): void {
    this.fsync();
  }

  close(): void {
    this.live();
    this.closed = true;
    try {
      this.release();
    } finally {
      this.node.decRef();
    }
  }
}

/**
 * An open device: the OpenFile a driver returns. The base class answers every call the
 * way Linux answers it for a character device whose driver has no such method; a driver
 * overrides the hooks it has. The offset is the description's f_pos.
 */
export class DeviceFile extends SpecialFile implements OpenFile {
  readonly kind = 'device' as const;

  // ---- hooks ----------------------------------------------------------------------------

  /** read_iter: fills dest (the whole request) from `position`; returns the bytes read. No read method: EINVAL. */
  protected readAt(_dest: Uint8Array, _position: number): number {
    throw new SysError('EINVAL', 'device has no read');
  }

  /** write_iter: takes src (the whole request) at `position`; returns the bytes taken. No write method: EINVAL. */
  protected writeAt(_src: Uint8Array, _position: number): number {
    throw new SysError('EINVAL', 'device has no write');
  }

  /** llseek with a whence already checked to be 0..4. No llseek: ESPIPE. */
  protected seek(_offset: number, _whence: number): number {
    throw new SysError('ESPIPE', 'device cannot seek');
  }

  /** Whether pread/pwrite work (FMODE_PREAD/PWRITE); ESPIPE otherwise. */
  protected get positional(): boolean {
    return false;
  }

  /** Whether read/write move the offset by the bytes moved (a device with positions). */
  protected get advances(): boolean {
    return false;
  }

  // ---- OpenFile ---------------------------------------------------------------------------

  protected canRead(): void {
    const acc = this.flags & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_RDWR) throw new SysError('EBADF', 'not open for reading');
  }

  protected canWrite(): void {
    const acc = this.flags & O_ACCMODE;
    if (acc !== O_WRONLY && acc !== O_RDWR) throw new SysError('EBADF', 'not open for writing');
  }

  read(dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    this.live();
    this.canRead();
    const n = this.readAt(range(dest, destOffset, length), this.offset);
    if (this.advances) this.offset += n;
    return n;
  }

  pread(dest: Uint8Array, position: number, destOffset = 0, length = dest.length - destOffset): number {
    this.live();
    this.positionCheck(position);
    this.canRead();
    return this.readAt(range(dest, destOffset, length), position);
  }

  readv(buffers: readonly Uint8Array[]): number {
    this.live();
    this.canRead();
    const n = this.vector(buffers, this.offset, true);
    if (this.advances) this.offset += n;
    return n;
  }

  preadv(buffers: readonly Uint8Array[], position: number): number {
    this.live();
    this.positionCheck(position);
    this.canRead();
    return this.vector(buffers, position, true);
  }

  write(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): number {
    this.live();
    this.canWrite();
    const n = this.writeAt(range(src, srcOffset, length), this.offset);
    if (this.advances) this.offset += n;
    return n;
  }

  pwrite(src: Uint8Array, position: number, srcOffset = 0, length = src.length - srcOffset): number {
    this.live();
    this.positionCheck(position);
    this.canWrite();
    return this.writeAt(range(src, srcOffset, length), position);
  }

  writev(buffers: readonly Uint8Array[]): number {
    this.live();
    this.canWrite();
    const n = this.vector(buffers, this.offset, false);
    if (this.advances) this.offset += n;
    return n;
  }

  pwritev(buffers: readonly Uint8Array[], position: number): number {
    this.live();
    this.positionCheck(position);
    this.canWrite();
    return this.vector(buffers, position, false);
  }

  lseek(offset: number, whence: number): number {
    this.checkWhence(whence);
    return this.seek(offset, whence);
  }

  fallocate(_mode: number, _offset: number, _length: number): void {
    this.live();
    throw new SysError('ENODEV', 'fallocate on a character device');
  }

  private positionCheck(position: number): void {
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    if (!this.positional) throw new SysError('ESPIPE', 'device has no positions');
  }

  /** readv/writev as one request per buffer, stopping at a short one; an error after bytes moved returns them. */
  private vector(buffers: readonly Uint8Array[], position: number, reading: boolean): number {
    let total = 0;
    for (const b of buffers) {
      let n: number;
      try {
        n = reading ? this.readAt(b, position + total) : this.writeAt(b, position + total);
      } catch (e) {
        if (total > 0) return total;
        throw e;
      }
      total += n;
      if (n < b.length) break;
    }
    return total;
  }
}

function range(buf: Uint8Array, offset: number, length: number): Uint8Array {
  if (!(offset >= 0 && length >= 0 && offset + length <= buf.length)) throw new RangeError('range outside the buffer');
  return offset === 0 && length === buf.length ? buf : buf.subarray(offset, offset + length);
}

// ---- memory devices (drivers/char/mem.c, drivers/char/random.c) ---------------------------

type MemKind = 'null' | 'zero' | 'full' | 'random' | 'urandom';

/** crypto.getRandomValues fills at most 65536 bytes a call. */
const RANDOM_CHUNK = 65536;

export class MemoryDeviceFile extends DeviceFile {
  constructor(node: FsNode, flags: number, readonly device: MemKind) {
    super(node, flags);
  }

  protected override get positional(): boolean {
    return true;
  }

  protected override readAt(dest: Uint8Array, _position: number): number {
    switch (this.device) {
      case 'null':
        return 0;
      case 'zero':
      case 'full':
        dest.fill(0);
        return dest.length;
      default: {
        // Browsers refuse views of a SharedArrayBuffer (a threaded guest's memory): those
        // are filled through a scratch array.
        const shared = !(dest.buffer instanceof ArrayBuffer);
        for (let i = 0; i < dest.length; i += RANDOM_CHUNK) {
          const part = dest.subarray(i, i + RANDOM_CHUNK);
          if (shared) part.set(crypto.getRandomValues(new Uint8Array(part.length)));
          else crypto.getRandomValues(part as Uint8Array<ArrayBuffer>);
        }
        return dest.length;
      }
    }
  }

  protected override writeAt(src: Uint8Array, _position: number): number {
    if (this.device === 'full') throw new SysError('ENOSPC', '/dev/full is always full');
    return src.length;
  }

  protected override seek(_offset: number, _whence: number): number {
    // null_lseek (null, zero, full) sets the position to 0; noop_llseek (random,
    // urandom) answers the position, which nothing moves.
    if (this.device === 'random' || this.device === 'urandom') return this.offset;
    return (this.offset = 0);
  }

  /** Only /dev/zero maps (mmap_zero): fresh zero pages; the others have no mmap (ENODEV). */
  mmap(offset: number, length: number, prot: number, flags: number): Uint8Array[] {
    this.live();
    if (this.device !== 'zero') throw new SysError('ENODEV', `/dev/${this.device} cannot be mapped`);
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) throw new SysError('EINVAL', 'bad map type');
    if (!(offset >= 0) || offset % PAGE_SIZE !== 0 || !(length > 0)) throw new SysError('EINVAL', 'bad mmap range');
    const acc = this.flags & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_RDWR) throw new SysError('EACCES', 'mapping needs read access');
    if (type !== MAP_PRIVATE && prot & PROT_WRITE && acc !== O_RDWR) throw new SysError('EACCES', 'shared writable mapping needs write access');
    const pages: Uint8Array[] = [];
    for (let n = Math.ceil(length / PAGE_SIZE); n > 0; n--) pages.push(new Uint8Array(PAGE_SIZE));
    return pages;
  }
}

function memoryDriver(kind: MemKind): DeviceDriver {
  return {
    open({ node, flags }) {
      if (flags & O_DIRECT) throw new SysError('EINVAL', 'no direct I/O on a memory device');
      return new MemoryDeviceFile(node, flags, kind);
    },
  };
}

/** Minor numbers of the memory devices built in (major MEM_MAJOR), with their /dev modes. */
export const MEMORY_DEVICES: readonly { name: MemKind; minor: number }[] = [
  { name: 'null', minor: 3 },
  { name: 'zero', minor: 5 },
  { name: 'full', minor: 7 },
  { name: 'random', minor: 8 },
  { name: 'urandom', minor: 9 },
];

function registerMemoryDevices(r: DeviceRegistry): void {
  for (const { name, minor } of MEMORY_DEVICES) r.register('char', MEM_MAJOR, minor, memoryDriver(name), { name, mode: 0o666 });
}
