/**
 * NodeFs: the synchronous half of node:fs, over one guest Task of an EROFS mount namespace.
 * Every call is a thin translation: Node's argument forms in, a Task syscall (the mount
 * layer does resolution, permissions and Linux's errno order), Node's result shapes and
 * error shapes out. Paths are the guest's: absolute ones start at the task root, relative
 * ones at its cwd; the host filesystem is never touched.
 *
 * Write-type calls are the Task's write surface too (write, pwrite64, mkdirat, unlinkat,
 * renameat2, linkat, symlinkat, ftruncate, fchmodat, fchownat, utimensat, ...): on a
 * writable mount (a tmpfs) they write; on an image or a read-only mount the Task answers
 * as Linux does there (the checks Linux makes first, then EROFS). Where Node composes
 * several calls (writeFileSync, mkdirSync recursive, rmSync, copyFileSync, truncateSync)
 * the composition is Node's and libuv's own, so the calls made and the error reported are
 * the ones Node makes and reports.
 */
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, checkPath, pathBytes, type Task } from '@erofs-js/mount';
import { O_DIRECTORY, O_RDONLY, SysError, UTIME_NOW, UTIME_OMIT, parseDirents, type Errno, type Stat, type Timespec } from '@erofs-js/vfs';
import { constants, openFlags } from './constants.js';
import { call, fsError, nodeError } from './errors.js';
import { BigIntStats, DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, Dirent, Stats } from './stats.js';

/** A path as node:fs takes it. */
export type PathLike = string | Uint8Array | URL;
/** What readSync and writeSync take as a buffer. */
export type BufferLike = ArrayBufferView;
export type Encoding = 'utf8' | 'utf-8' | 'latin1' | 'binary' | 'ascii' | 'base64' | 'base64url' | 'hex' | 'ucs2' | 'ucs-2' | 'utf16le' | 'utf-16le' | 'buffer';

/** An encoding that gives a string (all but "buffer"). */
export type StringEncoding = Exclude<Encoding, 'buffer'>;

/**
 * readlinkSync and realpathSync: a string unless "buffer" is asked for, as Node's
 * overloads say (so the facade fits runtimes typed against them).
 */
export interface PathTextFn {
  (path: PathLike, options?: StringEncoding | { encoding?: StringEncoding }): string;
  (path: PathLike, options: 'buffer' | { encoding: 'buffer' }): Uint8Array;
  (path: PathLike, options?: string | { encoding?: string | null }): string | Uint8Array;
}

export interface NodeFsOptions {
  /** Receives writeSync() to descriptor 1 (the guest's stdout), for runtimes that write stdio through fs. */
  stdout?: (data: Uint8Array) => void;
  /** Receives writeSync() to descriptor 2. */
  stderr?: (data: Uint8Array) => void;
}

export interface StatOptions {
  bigint?: boolean;
  throwIfNoEntry?: boolean;
}

export interface ReaddirOptions {
  withFileTypes?: boolean;
  encoding?: Encoding | null;
  recursive?: boolean;
}

const utf8 = new TextDecoder();
const SLASH = 0x2f;
const DIRENT_BUF = 32 * 1024;

type NodeBuffer = Uint8Array & { toString(encoding?: string): string };
interface BufferCtor {
  from(data: Uint8Array | string, encoding?: string): NodeBuffer;
}
/** Node's Buffer where there is one (results with an encoding need it); plain bytes elsewhere. */
const NodeBuf: BufferCtor | undefined = (globalThis as { Buffer?: BufferCtor }).Buffer;

function invalidArg(name: string, value: unknown): TypeError {
  const e = new TypeError(`The argument '${name}' is invalid. Received ${String(value)}`) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

/** The path's bytes as the Task takes them (strings are UTF-8, as Node encodes them). */
function toPath(p: PathLike, name = 'path'): string | Uint8Array {
  let out: string | Uint8Array;
  if (typeof p === 'string') out = p;
  else if (p instanceof Uint8Array) out = p;
  else if (typeof URL !== 'undefined' && p instanceof URL) {
    if (p.protocol !== 'file:') throw invalidArg(name, p);
    out = decodeURIComponent(p.pathname);
  } else throw invalidArg(name, p);
  // Node refuses NUL bytes before any system call; a C path would end there.
  if (typeof out === 'string' ? out.includes('\0') : out.includes(0)) throw invalidArg(name, p);
  return out;
}

/** How a path is shown in error messages and Dirent.parentPath. */
function showPath(p: PathLike): string {
  if (typeof p === 'string') return p;
  if (p instanceof Uint8Array) return utf8.decode(p);
  return decodeURIComponent(p.pathname);
}

function encodingOf(options: unknown, fallback: Encoding | null = null): Encoding | null {
  if (typeof options === 'string') return options as Encoding;
  if (options && typeof options === 'object' && 'encoding' in options) return ((options as { encoding?: Encoding | null }).encoding ?? null) as Encoding | null;
  return fallback;
}

/** Bytes as Node returns them for `encoding`: a string, or a Buffer for "buffer" / none. */
function encode(bytes: Uint8Array, encoding: Encoding | null): string | Uint8Array {
  if (encoding === 'buffer' || encoding === null) return NodeBuf ? NodeBuf.from(bytes) : bytes;
  if (encoding === 'utf8' || encoding === 'utf-8') return utf8.decode(bytes);
  if (!NodeBuf) throw invalidArg('encoding', encoding);
  return NodeBuf.from(bytes).toString(encoding);
}

function viewOf(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw invalidArg('buffer', buffer);
}

function rangeError(name: string, value: unknown): RangeError {
  const e = new RangeError(`The value of "${name}" is out of range. Received ${String(value)}`) as RangeError & { code: string };
  e.code = 'ERR_OUT_OF_RANGE';
  return e;
}

/** A time as Node's utimes family takes it: seconds (a number or numeric string) or a Date. */
export type TimeLike = number | string | Date;

/**
 * Node's time argument as utimensat(2) gets it: toUnixTimestamp (a numeric string is a
 * number, a negative number means now, a Date its milliseconds / 1000), then libuv's
 * uv__fs_to_timespec (seconds truncated, nanoseconds cut to whole microseconds, Infinity
 * UTIME_NOW, NaN UTIME_OMIT).
 */
function timeSpec(t: TimeLike, name: string): Timespec {
  let s: number;
  // eslint-disable-next-line eqeqeq
  if (typeof t === 'string' && +t == (t as unknown as number)) s = +t;
  else if (typeof t === 'number' && Number.isFinite(t)) s = t < 0 ? Date.now() / 1000 : t;
  else if (t instanceof Date) s = t.getTime() / 1000;
  else {
    const e = new TypeError(`The "${name}" argument must be of type number or an instance of Date. Received ${String(t)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_TYPE';
    throw e;
  }
  if (s === Infinity || s === -Infinity) return { sec: 0, nsec: UTIME_NOW };
  if (Number.isNaN(s)) return { sec: 0, nsec: UTIME_OMIT };
  let sec = Math.trunc(s);
  let nsec = Math.trunc((s - sec) * 1e9);
  nsec -= nsec % 1000;
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  return { sec, nsec };
}

/** Node's parseFileMode: a number, or a string of octal digits. */
function fileMode(mode: number | string, name: string): number {
  const m = typeof mode === 'string' && /^[0-7]+$/.test(mode) ? parseInt(mode, 8) : mode;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0xffffffff) {
    const e = new TypeError(`The argument '${name}' must be a 32-bit unsigned integer or an octal string. Received ${String(mode)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
  return m;
}

/** A string's bytes in `encoding` (Node's Buffer where there is one; UTF-8 otherwise). */
function bytesOf(data: string, encoding: Encoding | null): Uint8Array {
  if (encoding === null || encoding === 'utf8' || encoding === 'utf-8' || encoding === 'buffer') return new TextEncoder().encode(data);
  if (!NodeBuf) throw invalidArg('encoding', encoding);
  return NodeBuf.from(data, encoding);
}

/** The characters mkdtemp(3) picks from. */
const TEMP_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface WriteFileOptions {
  encoding?: Encoding | null;
  mode?: number | string;
  flag?: string | number;
  flush?: boolean;
}

export class NodeFs {
  readonly constants = constants;
  readonly Stats = Stats;
  readonly BigIntStats = BigIntStats;
  readonly Dirent = Dirent;
  /** realpathSync.native: the same resolution, errors reported as realpath(3)'s. */
  readonly realpathSync: PathTextFn & { native: PathTextFn };

  constructor(
    /** The guest task whose descriptor table, cwd, root and credentials this facade uses. */
    readonly task: Task,
    private readonly options: NodeFsOptions = {},
  ) {
    // Runtimes take methods off the object (`const { readSync } = fs`); bind them all.
    for (const key of Object.getOwnPropertyNames(NodeFs.prototype)) {
      const v = (this as unknown as Record<string, unknown>)[key];
      if (key !== 'constructor' && typeof v === 'function') (this as unknown as Record<string, unknown>)[key] = v.bind(this);
    }
    const native = (path: PathLike, opts?: Encoding | { encoding?: Encoding | null }) => {
      try {
        return this.realpath(path, opts);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code && code.startsWith('E') && (e as { syscall?: string }).syscall) throw fsError(code as Errno, 'realpath', showPath(path));
        throw e;
      }
    };
    this.realpathSync = Object.assign((path: PathLike, opts?: Encoding | { encoding?: Encoding | null }) => this.realpath(path, opts), { native }) as PathTextFn & { native: PathTextFn };
  }

  // ---- descriptors ------------------------------------------------------------------

  openSync(path: PathLike, flags?: string | number | null, mode?: number | string | null): number {
    const p = toPath(path);
    const m = fileMode(mode ?? 0o666, 'mode');
    return call('open', showPath(path), () => this.task.open(p, openFlags(flags ?? undefined), m));
  }

  closeSync(fd: number): void {
    call('close', undefined, () => this.task.close(fd));
  }

  /**
   * readSync(fd, buffer, offset, length, position) or readSync(fd, buffer, { offset,
   * length, position }). A position of null, undefined or -1 reads at the descriptor's
   * offset and advances it; any other position reads there and leaves the offset alone.
   */
  readSync(
    fd: number,
    buffer: BufferLike,
    offsetOrOptions?: number | { offset?: number; length?: number; position?: number | bigint | null } | null,
    length?: number,
    position?: number | bigint | null,
  ): number {
    const view = viewOf(buffer);
    let offset: number;
    if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
      offset = offsetOrOptions.offset ?? 0;
      length = offsetOrOptions.length ?? view.length - offset;
      position = offsetOrOptions.position ?? null;
    } else {
      offset = offsetOrOptions ?? 0;
      length ??= view.length - offset;
    }
    if (!Number.isInteger(offset) || offset < 0 || offset > view.length) throw rangeError('offset', offset);
    if (!Number.isInteger(length) || length < 0 || offset + length > view.length) throw rangeError('length', length);
    const dest = view.subarray(offset, offset + length);
    if (position === null || position === undefined || position === -1 || position === -1n) return call('read', undefined, () => this.task.read(fd, dest));
    const pos = Number(position);
    if (!Number.isSafeInteger(pos) || pos < 0) throw rangeError('position', position);
    return call('read', undefined, () => this.task.pread64(fd, dest, pos));
  }

  readvSync(fd: number, buffers: readonly BufferLike[], position?: number | null): number {
    const iov = buffers.map(viewOf);
    if (position === null || position === undefined) return call('read', undefined, () => this.task.readv(fd, iov));
    return call('read', undefined, () => this.task.preadv(fd, iov, position));
  }

  fstatSync(fd: number, options?: { bigint?: false }): Stats;
  fstatSync(fd: number, options: { bigint: true }): BigIntStats;
  fstatSync(fd: number, options: StatOptions = {}): Stats | BigIntStats {
    return this.toStats(call('fstat', undefined, () => this.task.fstat(fd)), options);
  }

  // ---- paths --------------------------------------------------------------------------

  // The overloads are Node's: only `throwIfNoEntry: false` can give undefined, so the
  // facade fits the `fs` types of WASI runtimes (@tybys/wasm-util's IFs) as it is.
  statSync(path: PathLike, options?: StatOptions & { bigint?: false; throwIfNoEntry?: true }): Stats;
  statSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry?: true }): BigIntStats;
  statSync(path: PathLike, options: StatOptions & { bigint?: false; throwIfNoEntry: false }): Stats | undefined;
  statSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry: false }): BigIntStats | undefined;
  statSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined;
  statSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined {
    return this.statAt('stat', path, options, (p) => this.task.stat(p));
  }

  lstatSync(path: PathLike, options?: StatOptions & { bigint?: false; throwIfNoEntry?: true }): Stats;
  lstatSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry?: true }): BigIntStats;
  lstatSync(path: PathLike, options: StatOptions & { bigint?: false; throwIfNoEntry: false }): Stats | undefined;
  lstatSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry: false }): BigIntStats | undefined;
  lstatSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined;
  lstatSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined {
    return this.statAt('lstat', path, options, (p) => this.task.lstat(p));
  }

  private statAt(syscall: string, path: PathLike, options: StatOptions = {}, fn: (p: string | Uint8Array) => Stat): Stats | BigIntStats | undefined {
    const p = toPath(path);
    let st: Stat;
    try {
      st = fn(p);
    } catch (e) {
      // throwIfNoEntry: false turns only ENOENT into undefined, as in Node.
      if (options.throwIfNoEntry === false && e instanceof SysError && e.code === 'ENOENT') return undefined;
      throw nodeError(e, syscall, showPath(path));
    }
    return this.toStats(st, options);
  }

  private toStats(st: Stat, options: StatOptions = {}): Stats | BigIntStats {
    return options.bigint ? new BigIntStats(st) : new Stats(st);
  }

  accessSync(path: PathLike, mode: number = constants.F_OK): void {
    const p = toPath(path);
    call('access', showPath(path), () => this.task.access(p, mode));
  }

  /** True when the path resolves (following symlinks); false on any error, as in Node. */
  existsSync(path: PathLike): boolean {
    try {
      this.task.access(toPath(path), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  readlinkSync(path: PathLike, options?: StringEncoding | { encoding?: StringEncoding }): string;
  readlinkSync(path: PathLike, options: 'buffer' | { encoding: 'buffer' }): Uint8Array;
  readlinkSync(path: PathLike, options?: string | { encoding?: string | null }): string | Uint8Array;
  readlinkSync(path: PathLike, options?: string | { encoding?: string | null }): string | Uint8Array {
    const p = toPath(path);
    const buf = new Uint8Array(4096);
    const n = call('readlink', showPath(path), () => this.task.readlinkat(AT_FDCWD, p, buf));
    return encode(buf.slice(0, n), encodingOf(options, 'utf8'));
  }

  /**
   * readdirSync: names without "." and "..", in the directory's own order (EROFS keeps
   * names sorted), as strings, Buffers (encoding "buffer") or Dirents (withFileTypes).
   * `recursive` walks subdirectories (not through symlinks), as Node 20 does.
   */
  readdirSync(path: PathLike, options?: StringEncoding | null | (ReaddirOptions & { encoding?: StringEncoding | null; withFileTypes?: false })): string[];
  readdirSync(path: PathLike, options: 'buffer' | (ReaddirOptions & { encoding: 'buffer'; withFileTypes?: false })): Uint8Array[];
  readdirSync(path: PathLike, options: ReaddirOptions & { encoding?: StringEncoding | null; withFileTypes: true }): Dirent<string>[];
  readdirSync(path: PathLike, options: ReaddirOptions & { encoding: 'buffer'; withFileTypes: true }): Dirent<Uint8Array>[];
  readdirSync(path: PathLike, options?: string | ReaddirOptions | null): (string | Uint8Array | Dirent<string | Uint8Array>)[];
  readdirSync(path: PathLike, options?: string | ReaddirOptions | null): (string | Uint8Array | Dirent<string | Uint8Array>)[] {
    const opts: ReaddirOptions = typeof options === 'string' ? { encoding: options as Encoding } : (options ?? {});
    const encoding = opts.encoding ?? 'utf8';
    const top = showPath(path);
    const out: (string | Uint8Array | Dirent<string | Uint8Array>)[] = [];
    const pending: { path: string | Uint8Array; shown: string; rel: string }[] = [{ path: toPath(path), shown: top, rel: '' }];
    while (pending.length) {
      const dir = pending.shift()!;
      for (const e of this.scandir(dir.path, dir.shown)) {
        let type = e.type;
        const name = e.name;
        const nameStr = utf8.decode(name);
        const childPath = joinPath(dir.path, name);
        if (type === DT_UNKNOWN && (opts.withFileTypes || opts.recursive)) type = dtypeOf(this.task.lstat(childPath).mode);
        const rel = dir.rel ? `${dir.rel}/${nameStr}` : nameStr;
        if (opts.withFileTypes) out.push(new Dirent(encoding === 'buffer' ? encode(name, 'buffer') : nameStr, type, dir.shown));
        else out.push(encoding === 'buffer' ? encode(opts.recursive ? new TextEncoder().encode(rel) : name, 'buffer') : opts.recursive ? rel : nameStr);
        if (opts.recursive && type === DT_DIR) pending.push({ path: childPath, shown: `${dir.shown}/${nameStr}`, rel });
      }
    }
    return out;
  }

  /** One directory's entries through open(O_DIRECTORY) and getdents64; errors are scandir's. */
  private scandir(p: string | Uint8Array, shown: string): { name: Uint8Array; type: number }[] {
    return call('scandir', shown, () => {
      const fd = this.task.open(p, O_RDONLY | O_DIRECTORY);
      try {
        const buf = new Uint8Array(DIRENT_BUF);
        const out: { name: Uint8Array; type: number }[] = [];
        for (let n = this.task.getdents64(fd, buf); n > 0; n = this.task.getdents64(fd, buf)) {
          for (const d of parseDirents(buf, n)) {
            if ((d.name.length === 1 && d.name[0] === 0x2e) || (d.name.length === 2 && d.name[0] === 0x2e && d.name[1] === 0x2e)) continue;
            out.push({ name: d.name, type: d.type });
          }
        }
        return out;
      } finally {
        this.task.close(fd);
      }
    });
  }

  /**
   * readFileSync(path | fd, options): the whole file. A path is opened with `flag`
   * (default "r", so write flags meet EROFS) and closed after; a descriptor is read from
   * its current offset. A directory is EISDIR from read, as in Node.
   */
  readFileSync(path: PathLike | number, options?: Encoding | { encoding?: Encoding | null; flag?: string | number } | null): string | Uint8Array {
    const opts = typeof options === 'string' ? { encoding: options } : (options ?? {});
    const isFd = typeof path === 'number';
    const fd = isFd ? path : this.openSync(path, opts.flag ?? 'r');
    try {
      const size = this.fstatSync(fd).size;
      let buf = new Uint8Array(size > 0 ? size : 8192);
      let n = 0;
      for (;;) {
        if (n === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const got = call('read', undefined, () => this.task.read(fd, buf.subarray(n)));
        if (got === 0) break;
        n += got;
      }
      return encode(n === buf.length ? buf : buf.subarray(0, n), opts.encoding ?? null);
    } finally {
      if (!isFd) this.task.close(fd);
    }
  }

  /**
   * realpathSync: the canonical absolute path, resolved component by component with
   * lstat and readlink as Node's own implementation does, so its errors name the same
   * call and partial path ("ENOENT: no such file or directory, lstat '/a'").
   */
  private realpath(path: PathLike, options?: Encoding | { encoding?: Encoding | null }): string | Uint8Array {
    const bytes = pathBytes(toPath(path));
    // The kernel's resolution (the one walker, through the Task). Node's own realpathSync
    // reports a failure as the call it made on the way: stat when following a link failed
    // (a loop, a dangling link), lstat when a name was missing or not a directory.
    const resolved = call('lstat', showPath(path), () => {
      try {
        return this.task.realpath(bytes);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        let viaLink = e.code === 'ELOOP';
        try {
          viaLink ||= (this.task.lstat(bytes).mode & constants.S_IFMT) === constants.S_IFLNK;
        } catch {
          // The path itself is missing: lstat's error.
        }
        if (viaLink) throw fsError(e.code, 'stat', showPath(path));
        throw e;
      }
    });
    return encode(resolved, encodingOf(options, 'utf8'));
  }

  // ---- writing: descriptors --------------------------------------------------------------

  /**
   * writeSync(fd, buffer, offset?, length?, position?), writeSync(fd, buffer, { offset,
   * length, position }) or writeSync(fd, string, position?, encoding?). A position that is
   * not a number (null, undefined) writes at the descriptor's offset; a number is pwrite.
   * Like libuv, a short write is continued until everything is written or an error comes.
   * Descriptors 1 and 2 go to the stdout / stderr callbacks when they are given.
   */
  writeSync(
    fd: number,
    buffer: BufferLike | string,
    offsetOrOptions?: number | { offset?: number; length?: number; position?: number | bigint | null } | null,
    lengthOrEncoding?: number | string | null,
    position?: number | bigint | null,
  ): number {
    let data: Uint8Array;
    let pos: number | bigint | null | undefined;
    if (typeof buffer === 'string') {
      data = bytesOf(buffer, typeof lengthOrEncoding === 'string' ? (lengthOrEncoding as Encoding) : 'utf8');
      pos = offsetOrOptions as number | null | undefined;
    } else {
      const view = viewOf(buffer);
      let offset = offsetOrOptions as number | undefined | null;
      let length = lengthOrEncoding as number | undefined | null;
      pos = position;
      if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
        offset = offsetOrOptions.offset ?? 0;
        length = offsetOrOptions.length ?? view.byteLength - offset;
        pos = offsetOrOptions.position ?? null;
      }
      if (typeof offset !== 'number') offset = 0;
      if (typeof length !== 'number') length = view.byteLength - offset;
      if (!Number.isInteger(offset) || offset < 0 || offset > view.byteLength) throw rangeError('offset', offset);
      if (!Number.isInteger(length) || length < 0 || offset + length > view.byteLength) throw rangeError('length', length);
      data = view.subarray(offset, offset + length);
    }
    const sink = fd === 1 ? this.options.stdout : fd === 2 ? this.options.stderr : undefined;
    if (sink) {
      sink(new Uint8Array(data)); // a copy: data may be a view of the caller's Buffer
      return data.length;
    }
    const at = typeof pos === 'number' || typeof pos === 'bigint' ? Number(pos) : -1;
    return call('write', undefined, () => this.writeAll(fd, data, at));
  }

  /** write(2) or pwrite64(2) (position >= 0) until `data` is written, as libuv's write loop. */
  private writeAll(fd: number, data: Uint8Array, position: number): number {
    let done = 0;
    while (done < data.length) {
      const rest = data.subarray(done);
      const n = position >= 0 ? this.task.pwrite64(fd, rest, position + done) : this.task.write(fd, rest);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }

  /** writevSync(fd, buffers, position?): writev(2), or pwritev(2) at a numeric position. */
  writevSync(fd: number, buffers: readonly BufferLike[], position?: number | null): number {
    const iov = buffers.map(viewOf);
    if (typeof position !== 'number') return call('write', undefined, () => this.task.writev(fd, iov));
    return call('write', undefined, () => this.task.pwritev(fd, iov, position));
  }

  /**
   * writeFileSync(path | fd, data, options): a path is opened with `flag` (default "w")
   * and `mode` (default 0o666), written whole and closed; a descriptor is written at its
   * offset. `flush` fsyncs before closing.
   */
  writeFileSync(path: PathLike | number, data: string | BufferLike, options?: Encoding | WriteFileOptions | null): void {
    const opts: WriteFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    const bytes = typeof data === 'string' ? bytesOf(data, opts.encoding ?? 'utf8') : viewOf(data);
    const isFd = typeof path === 'number';
    const fd = isFd ? path : this.openSync(path, opts.flag ?? 'w', opts.mode ?? 0o666);
    try {
      call('write', undefined, () => this.writeAll(fd, bytes, -1));
      if (opts.flush) this.fsyncSync(fd);
    } finally {
      if (!isFd) this.task.close(fd);
    }
  }

  /** appendFileSync: writeFileSync with flag "a" (always "a" for a descriptor, as Node). */
  appendFileSync(path: PathLike | number, data: string | BufferLike, options?: Encoding | WriteFileOptions | null): void {
    const opts: WriteFileOptions = typeof options === 'string' ? { encoding: options } : { ...(options ?? {}) };
    if (!opts.flag || typeof path === 'number') opts.flag = 'a';
    this.writeFileSync(path, data, opts);
  }

  /** truncateSync: Node opens the file with "r+" and ftruncates it (a descriptor is ftruncated). */
  truncateSync(path: PathLike | number, len = 0): void {
    if (typeof path === 'number') return this.ftruncateSync(path, len);
    const fd = this.openSync(path, 'r+');
    try {
      this.ftruncateSync(fd, len);
    } finally {
      this.task.close(fd);
    }
  }

  /** ftruncate(2); Node raises a negative length to 0. */
  ftruncateSync(fd: number, len = 0): void {
    if (!Number.isInteger(len)) throw rangeError('len', len);
    call('ftruncate', undefined, () => this.task.ftruncate(fd, Math.max(0, len)));
  }

  fsyncSync(fd: number): void {
    call('fsync', undefined, () => this.task.fsync(fd));
  }

  fdatasyncSync(fd: number): void {
    call('fdatasync', undefined, () => this.task.fdatasync(fd));
  }

  fchmodSync(fd: number, mode: number | string): void {
    const m = fileMode(mode, 'mode');
    call('fchmod', undefined, () => this.task.fchmod(fd, m));
  }

  fchownSync(fd: number, uid: number, gid: number): void {
    call('fchown', undefined, () => this.task.fchown(fd, uid, gid));
  }

  futimesSync(fd: number, atime: TimeLike, mtime: TimeLike): void {
    const times = [timeSpec(atime, 'atime'), timeSpec(mtime, 'mtime')] as const;
    call('futime', undefined, () => this.task.futimens(fd, times));
  }

  // ---- writing: names ----------------------------------------------------------------------

  /**
   * mkdirSync(path, mode | { recursive, mode }): mkdir(2). With `recursive`, Node's own
   * algorithm (src/node_file.cc MKDirpSync): create, on ENOENT create the parent first, on
   * another error accept an existing directory; returns the first directory it made, or
   * undefined when there was nothing to make. Errors name the path given.
   */
  mkdirSync(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string }): string | undefined {
    const opts = typeof options === 'object' && options !== null ? options : { mode: options };
    const mode = fileMode(opts.mode ?? 0o777, 'mode');
    const p = toPath(path);
    if (!opts.recursive) {
      call('mkdir', showPath(path), () => this.task.mkdir(p, mode));
      return undefined;
    }
    return call('mkdir', showPath(path), () => this.mkdirp(pathBytes(p), mode));
  }

  private mkdirp(path: Uint8Array, mode: number): string | undefined {
    const stack: Uint8Array[] = [path];
    let first: Uint8Array | undefined;
    while (stack.length) {
      const next = stack.pop()!;
      let err: SysError | undefined;
      try {
        this.task.mkdir(next, mode);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        err = e;
      }
      if (!err) {
        first ??= next;
        continue;
      }
      switch (err.code) {
        case 'EACCES':
        case 'ENOSPC':
        case 'ENOTDIR':
        case 'EPERM':
          throw err;
        case 'ENOENT': {
          // The parent as Node computes it: everything before the last slash.
          const cut = next.lastIndexOf(SLASH);
          const dir = cut < 0 ? next : next.subarray(0, cut);
          if (dir.length !== next.length) stack.push(next, dir);
          else if (stack.length === 0) this.mkdirpExisting(next, 'EEXIST', 0);
          break;
        }
        default:
          this.mkdirpExisting(next, err.code, stack.length, err);
      }
    }
    return first === undefined ? undefined : utf8.decode(first);
  }

  /** An existing name met by mkdirp: fine if it is a directory, else EEXIST (ENOTDIR when it is in the way of a deeper one). */
  private mkdirpExisting(p: Uint8Array, code: string, pending: number, original?: SysError): void {
    let st: Stat;
    try {
      st = this.task.stat(p);
    } catch (e) {
      throw e instanceof SysError || !original ? e : original;
    }
    if ((st.mode & constants.S_IFMT) !== constants.S_IFDIR) {
      throw new SysError(code === 'EEXIST' && pending > 0 ? 'ENOTDIR' : 'EEXIST', 'not a directory');
    }
  }

  /** mkdtemp(3): prefix + six random characters, mode 0700; errors name "prefixXXXXXX". */
  mkdtempSync(prefix: string | Uint8Array, options?: Encoding | { encoding?: Encoding | null }): string | Uint8Array {
    const pre = pathBytes(toPath(prefix, 'prefix'));
    const shown = `${showPath(prefix)}XXXXXX`;
    return call('mkdtemp', shown, () => {
      for (let tries = 0; ; tries++) {
        const name = new Uint8Array(pre.length + 6);
        name.set(pre);
        for (let i = 0; i < 6; i++) name[pre.length + i] = TEMP_CHARS.charCodeAt(Math.floor(Math.random() * TEMP_CHARS.length));
        try {
          this.task.mkdir(name, 0o700);
          return encode(name, encodingOf(options, 'utf8'));
        } catch (e) {
          if (!(e instanceof SysError && e.code === 'EEXIST') || tries >= 100) throw e;
        }
      }
    });
  }

  symlinkSync(target: PathLike, path: PathLike, _type?: string | null): void {
    const t = toPath(target, 'target');
    const p = toPath(path);
    call('symlink', showPath(target), () => this.task.symlink(t, p), showPath(path));
  }

  linkSync(existingPath: PathLike, newPath: PathLike): void {
    const o = toPath(existingPath, 'existingPath');
    const n = toPath(newPath, 'newPath');
    call('link', showPath(existingPath), () => this.task.link(o, n), showPath(newPath));
  }

  unlinkSync(path: PathLike): void {
    const p = toPath(path);
    call('unlink', showPath(path), () => this.task.unlink(p));
  }

  /**
   * rmdirSync: rmdir(2). The deprecated `recursive` removes a directory tree as rmSync
   * does (never forced); on something that is not a directory it is plain rmdir (ENOTDIR).
   */
  rmdirSync(path: PathLike, options?: { recursive?: boolean }): void {
    if (options?.recursive) {
      const st = this.lstatSync(path) as Stats;
      if (st.isDirectory()) return this.rimraf(toPath(path));
    }
    const p = toPath(path);
    call('rmdir', showPath(path), () => this.task.rmdir(p));
  }

  /**
   * rmSync(path, { recursive, force }), as Node's (lib/internal/fs/rimraf.js): lstat first
   * unless both options are given (ENOENT unless `force`); a directory without `recursive`
   * is ERR_FS_EISDIR; then unlink,
   * or rmdir with the children removed first when it is not empty.
   */
  rmSync(path: PathLike, options: { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number } = {}): void {
    // Node looks first only when it may refuse: without `force`, or without `recursive`.
    const st = !options.force || !options.recursive ? (this.lstatSync(path, { throwIfNoEntry: !options.force }) as Stats | undefined) : undefined;
    if (st?.isDirectory() && !options.recursive) {
      const e = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${showPath(path)}`) as Error & Record<string, unknown>;
      Object.assign(e, { code: 'ERR_FS_EISDIR', errno: 21, syscall: 'rm', path: showPath(path) });
      throw e;
    }
    this.rimraf(toPath(path));
  }

  private rimraf(p: string | Uint8Array): void {
    let st: Stat | undefined;
    try {
      st = this.task.lstat(p);
    } catch (e) {
      if (e instanceof SysError && e.code === 'ENOENT') return;
    }
    try {
      if (st && (st.mode & constants.S_IFMT) === constants.S_IFDIR) this.rimrafDir(p, null);
      else this.unlinkSync(p);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOENT') return;
      if (code !== 'EISDIR' && code !== 'EPERM') throw e;
      this.rimrafDir(p, e);
    }
  }

  private rimrafDir(p: string | Uint8Array, original: unknown): void {
    try {
      this.rmdirSync(p);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOENT') return;
      if (code === 'ENOTDIR') throw original ?? e;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw original ?? e;
      const dir = pathBytes(p);
      for (const child of this.readdirSync(dir, 'buffer') as Uint8Array[]) this.rimraf(joinPath(dir, child));
      this.rmdirSync(p);
    }
  }

  renameSync(oldPath: PathLike, newPath: PathLike): void {
    const o = toPath(oldPath, 'oldPath');
    const n = toPath(newPath, 'newPath');
    call('rename', showPath(oldPath), () => this.task.rename(o, n), showPath(newPath));
  }

  /**
   * copyFileSync(src, dest, mode), as libuv copies: open the source, create the
   * destination with the source's mode (O_EXCL with COPYFILE_EXCL), stop if both are the
   * same file, truncate, give it the source's permission bits, copy the bytes; on an
   * error after the destination was opened, remove it. COPYFILE_FICLONE_FORCE is ENOSYS
   * (no reflinks here); FICLONE falls back to copying.
   */
  copyFileSync(src: PathLike, dest: PathLike, mode = 0): void {
    const s = toPath(src, 'src');
    const d = toPath(dest, 'dest');
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) throw rangeError('mode', mode);
    call('copyfile', showPath(src), () => this.copyFile(s, d, mode), showPath(dest));
  }

  private copyFile(s: string | Uint8Array, d: string | Uint8Array, mode: number): void {
    const { O_WRONLY, O_CREAT, O_EXCL, COPYFILE_EXCL, COPYFILE_FICLONE_FORCE } = constants;
    const src = this.task.open(s, O_RDONLY);
    let dst = -1;
    let failed = true;
    try {
      const sst = this.task.fstat(src);
      dst = this.task.open(d, O_WRONLY | O_CREAT | (mode & COPYFILE_EXCL ? O_EXCL : 0), sst.mode);
      if (!(mode & COPYFILE_EXCL)) {
        const dst2 = this.task.fstat(dst);
        if (dst2.dev === sst.dev && dst2.ino === sst.ino) {
          failed = false;
          return;
        }
        this.task.ftruncate(dst, 0);
      }
      this.task.fchmod(dst, sst.mode & 0o7777);
      if (mode & COPYFILE_FICLONE_FORCE) throw new SysError('ENOSYS', 'no reflinks');
      const buf = new Uint8Array(Math.min(Math.max(sst.size, 1), 1 << 20));
      for (let off = 0; ; ) {
        const n = this.task.pread64(src, buf, off);
        if (n === 0) break;
        this.writeAll(dst, buf.subarray(0, n), off);
        off += n;
      }
      failed = false;
    } finally {
      this.task.close(src);
      if (dst >= 0) {
        this.task.close(dst);
        if (failed) {
          try {
            this.task.unlink(d);
          } catch {
            // As libuv: the first error is the one reported.
          }
        }
      }
    }
  }

  chmodSync(path: PathLike, mode: number | string): void {
    const p = toPath(path);
    const m = fileMode(mode, 'mode');
    call('chmod', showPath(path), () => this.task.chmod(p, m));
  }

  chownSync(path: PathLike, uid: number, gid: number): void {
    const p = toPath(path);
    call('chown', showPath(path), () => this.task.chown(p, uid, gid));
  }

  lchownSync(path: PathLike, uid: number, gid: number): void {
    const p = toPath(path);
    call('lchown', showPath(path), () => this.task.lchown(p, uid, gid));
  }

  utimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    const p = toPath(path);
    const times = [timeSpec(atime, 'atime'), timeSpec(mtime, 'mtime')] as const;
    call('utime', showPath(path), () => this.task.utimensat(AT_FDCWD, p, times, 0));
  }

  lutimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    const p = toPath(path);
    const times = [timeSpec(atime, 'atime'), timeSpec(mtime, 'mtime')] as const;
    call('lutime', showPath(path), () => this.task.utimensat(AT_FDCWD, p, times, AT_SYMLINK_NOFOLLOW));
  }
}

/** Node's lchmodSync exists only where O_SYMLINK does (macOS); on Linux it is undefined. */
(NodeFs.prototype as unknown as { lchmodSync?: unknown }).lchmodSync = undefined;

function dtypeOf(mode: number): number {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFREG:
      return DT_REG;
    case constants.S_IFDIR:
      return DT_DIR;
    case constants.S_IFLNK:
      return DT_LNK;
    case constants.S_IFCHR:
      return DT_CHR;
    case constants.S_IFBLK:
      return DT_BLK;
    case constants.S_IFIFO:
      return DT_FIFO;
    case constants.S_IFSOCK:
      return DT_SOCK;
    default:
      return DT_UNKNOWN;
  }
}

/** Splits path bytes at slashes, dropping empty components. */
function pushParts(out: Uint8Array[], p: Uint8Array): void {
  let s = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === SLASH) {
      if (i > s) out.push(p.subarray(s, i));
      s = i + 1;
    }
  }
}

/** "/" followed by the components joined with slashes. */
function joinParts(parts: Uint8Array[]): Uint8Array {
  let n = parts.length === 0 ? 1 : 0;
  for (const c of parts) n += c.length + 1;
  const out = new Uint8Array(n);
  out[0] = SLASH;
  let o = 0;
  for (const c of parts) {
    out[o++] = SLASH;
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** `dir` + "/" + `name`, as bytes or as a string when `dir` is one. */
function joinPath(dir: string | Uint8Array, name: Uint8Array): Uint8Array {
  const d = typeof dir === 'string' ? new TextEncoder().encode(dir) : dir;
  const sep = d.length > 0 && d[d.length - 1] !== SLASH ? 1 : 0;
  const out = new Uint8Array(d.length + sep + name.length);
  out.set(d);
  if (sep) out[d.length] = SLASH;
  out.set(name, d.length + sep);
  return out;
}
