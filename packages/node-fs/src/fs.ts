/**
 * NodeFs: the synchronous half of node:fs, over one guest Task of an EROFS mount namespace.
 * Every call is a thin translation: Node's argument forms in, a Task syscall (the mount
 * layer does resolution, permissions and Linux's errno order), Node's result shapes and
 * error shapes out. Paths are the guest's: absolute ones start at the task root, relative
 * ones at its cwd; the host filesystem is never touched.
 *
 * Write-type calls fail the way Linux fails them on a read-only mount: the checks Linux
 * makes before it looks at the mount flags still come first (ENOENT for a missing parent,
 * EEXIST for an existing name, EISDIR, EBADF for a descriptor open for reading), then EROFS.
 */
import {
  AT_FDCWD,
  Resolver,
  checkPath,
  holdLoc,
  pathBytes,
  release,
  resolve as resolveLoc,
  type Location,
  type Task,
} from '@erofs-js/mount';
import { O_DIRECTORY, O_RDONLY, SysError, parseDirents, type AnyFilesystem, type Errno, type FsNode, type Stat } from '@erofs-js/vfs';
import { constants, openFlags } from './constants.js';
import { call, fsError, nodeError } from './errors.js';
import { BigIntStats, DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, Dirent, Stats } from './stats.js';

/** A path as node:fs takes it. */
export type PathLike = string | Uint8Array | URL;
/** What readSync and writeSync take as a buffer. */
export type BufferLike = ArrayBufferView;
export type Encoding = 'utf8' | 'utf-8' | 'latin1' | 'binary' | 'ascii' | 'base64' | 'base64url' | 'hex' | 'ucs2' | 'ucs-2' | 'utf16le' | 'utf-16le' | 'buffer';

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
const MAX_SYMLINKS = 40;
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

/** Seconds and nanoseconds from Node's time argument (seconds as a number or string, or a Date). */
function timeSpec(t: number | string | Date | bigint): { sec: number; nsec: number } {
  const s = t instanceof Date ? t.getTime() / 1000 : Number(t);
  if (!Number.isFinite(s)) return { sec: Math.floor(Date.now() / 1000), nsec: 0 };
  const sec = Math.floor(s);
  return { sec, nsec: Math.min(999_999_999, Math.round((s - sec) * 1e9)) };
}

export class NodeFs {
  readonly constants = constants;
  readonly Stats = Stats;
  readonly BigIntStats = BigIntStats;
  readonly Dirent = Dirent;
  /** realpathSync.native: the same resolution, errors reported as realpath(3)'s. */
  readonly realpathSync: ((path: PathLike, options?: Encoding | { encoding?: Encoding | null }) => string | Uint8Array) & {
    native: (path: PathLike, options?: Encoding | { encoding?: Encoding | null }) => string | Uint8Array;
  };

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
    this.realpathSync = Object.assign((path: PathLike, opts?: Encoding | { encoding?: Encoding | null }) => this.realpath(path, opts), { native });
  }

  // ---- descriptors ------------------------------------------------------------------

  openSync(path: PathLike, flags?: string | number, mode?: number): number {
    const p = toPath(path);
    return call('open', showPath(path), () => this.task.open(p, openFlags(flags), mode ?? 0o666));
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

  statSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined {
    return this.statAt('stat', path, options, (p) => this.task.stat(p));
  }

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

  readlinkSync(path: PathLike, options?: Encoding | { encoding?: Encoding | null }): string | Uint8Array {
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
  readdirSync(path: PathLike, options?: Encoding | ReaddirOptions | null): (string | Uint8Array | Dirent<string | Uint8Array>)[] {
    const opts: ReaddirOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
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
    call('lstat', showPath(path), () => checkPath(bytes));
    const rest: Uint8Array[] = [];
    if (bytes[0] !== SLASH) pushParts(rest, this.task.cwdPath());
    pushParts(rest, bytes);
    rest.reverse();
    const done: Uint8Array[] = [];
    let links = 0;
    while (rest.length) {
      const c = rest.pop()!;
      if (c.length === 1 && c[0] === 0x2e) continue;
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
        done.pop();
        continue;
      }
      const here = joinParts([...done, c]);
      const st = call('lstat', utf8.decode(here), () => this.task.lstat(here));
      if ((st.mode & constants.S_IFMT) !== constants.S_IFLNK) {
        done.push(c);
        continue;
      }
      // Node stats a link before reading it (to key its cache of seen links), so a loop or
      // a dangling link is reported by stat on the link's own path.
      call('stat', utf8.decode(here), () => this.task.stat(here));
      if (++links > MAX_SYMLINKS) throw fsError('ELOOP', 'stat', utf8.decode(here));
      const buf = new Uint8Array(4096);
      const n = call('readlink', utf8.decode(here), () => this.task.readlinkat(AT_FDCWD, here, buf));
      const target = buf.subarray(0, n);
      if (target[0] === SLASH) done.length = 0;
      const parts: Uint8Array[] = [];
      pushParts(parts, target);
      for (let i = parts.length - 1; i >= 0; i--) rest.push(parts[i]!);
    }
    return encode(joinParts(done), encodingOf(options, 'utf8'));
  }

  // ---- write-type calls: Linux's errors on a read-only mount ----------------------------

  /**
   * writeSync to descriptor 1 or 2 goes to the stdout / stderr callbacks when given;
   * otherwise it is write(2), which is EBADF on every descriptor this facade opens (all
   * are read-only).
   */
  writeSync(fd: number, buffer: BufferLike | string, offsetOrPosition?: number | null, lengthOrEncoding?: number | string | null, position?: number | null): number {
    let data: Uint8Array;
    if (typeof buffer === 'string') data = new TextEncoder().encode(buffer);
    else {
      const view = viewOf(buffer);
      const offset = typeof offsetOrPosition === 'number' ? offsetOrPosition : 0;
      const length = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : view.length - offset;
      data = view.subarray(offset, offset + length);
    }
    void position;
    const sink = fd === 1 ? this.options.stdout : fd === 2 ? this.options.stderr : undefined;
    if (sink) {
      sink(new Uint8Array(data)); // a copy: data may be a view of the caller's Buffer
      return data.length;
    }
    return call('write', undefined, () => this.task.write(fd, data));
  }

  writeFileSync(path: PathLike | number, data: string | BufferLike, options?: Encoding | { flag?: string | number; mode?: number } | null): void {
    const flag = (typeof options === 'object' && options?.flag) || 'w';
    if (typeof path === 'number') {
      this.writeSync(path, data as BufferLike);
      return;
    }
    const fd = this.openSync(path, flag);
    try {
      this.writeSync(fd, data as BufferLike);
    } finally {
      this.task.close(fd);
    }
  }

  appendFileSync(path: PathLike | number, data: string | BufferLike, options?: Encoding | { flag?: string | number; mode?: number } | null): void {
    const flag = (typeof options === 'object' && options?.flag) || 'a';
    this.writeFileSync(path, data, { flag });
  }

  /** Node's truncateSync opens the file with "r+" and ftruncates it; so do we. */
  truncateSync(path: PathLike, len = 0): void {
    const fd = this.openSync(path, 'r+');
    try {
      this.ftruncateSync(fd, len);
    } finally {
      this.task.close(fd);
    }
  }

  /** ftruncate(2) on a descriptor not open for writing: EINVAL (after EBADF). */
  ftruncateSync(fd: number, len = 0): void {
    call('ftruncate', undefined, () => {
      this.task.description(fd);
      throw new SysError('EINVAL', len < 0 ? 'negative length' : 'not open for writing');
    });
  }

  fsyncSync(fd: number): void {
    call('fsync', undefined, () => this.task.fsync(fd));
  }

  fdatasyncSync(fd: number): void {
    call('fdatasync', undefined, () => this.task.fsync(fd));
  }

  /** mkdir(2); with `recursive`, existing directories are passed and the first missing one is EROFS. */
  mkdirSync(path: PathLike, options?: number | { recursive?: boolean; mode?: number }): string | undefined {
    const recursive = typeof options === 'object' && options?.recursive;
    const p = pathBytes(toPath(path));
    if (!recursive) return this.createAt('mkdir', path, p, (fs, parent, name) => fs.mkdir(parent, name, 0o777, this.task.creds));
    // Walk down: every prefix that is a directory already is fine; the first that is
    // missing is where Linux would be asked to create, and answers EROFS (or ENOTDIR).
    const parts: Uint8Array[] = [];
    pushParts(parts, p);
    let prefix: Uint8Array = p[0] === SLASH ? new Uint8Array([SLASH]) : new Uint8Array();
    for (const c of parts) {
      prefix = prefix.length === 0 ? c : joinPath(prefix, c);
      let st: Stat | undefined;
      try {
        st = this.task.stat(prefix);
      } catch (e) {
        if (!(e instanceof SysError && e.code === 'ENOENT')) throw nodeError(e, 'mkdir', showPath(path));
      }
      if (st && (st.mode & constants.S_IFMT) === constants.S_IFDIR) continue;
      if (st) throw fsError('EEXIST', 'mkdir', showPath(path));
      const at = prefix;
      return this.createAt('mkdir', path, at, (fs, parent, name) => fs.mkdir(parent, name, 0o777, this.task.creds));
    }
    return undefined;
  }

  mkdtempSync(prefix: string): string {
    const shown = `${prefix}XXXXXX`;
    const p = pathBytes(`${prefix}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`);
    return this.createAt('mkdtemp', shown, p, (fs, parent, name) => fs.mkdir(parent, name, 0o700, this.task.creds));
  }

  symlinkSync(target: PathLike, path: PathLike, _type?: string | null): void {
    const t = pathBytes(toPath(target, 'target'));
    const p = pathBytes(toPath(path));
    this.createAt('symlink', showPath(target), p, (fs, parent, name) => fs.symlink(parent, name, t, this.task.creds), showPath(path), t.length === 0);
  }

  /** link(2): the existing path is resolved first (ENOENT), then the new name is checked like mkdir's. */
  linkSync(existingPath: PathLike, newPath: PathLike): void {
    const old = toPath(existingPath, 'existingPath');
    const p = pathBytes(toPath(newPath, 'newPath'));
    call('link', showPath(existingPath), () => this.task.lstat(old), showPath(newPath));
    this.createAt('link', showPath(existingPath), p, (fs, parent, name) => fs.link(parent, parent, name, this.task.creds), showPath(newPath));
  }

  unlinkSync(path: PathLike): void {
    const p = pathBytes(toPath(path));
    this.parentOp('unlink', showPath(path), p, undefined, (parent, name) => {
      parent.node.fs.unlink(parent.node, name, this.task.creds);
    });
  }

  rmdirSync(path: PathLike, _options?: { recursive?: boolean }): void {
    const p = pathBytes(toPath(path));
    this.parentOp('rmdir', showPath(path), p, undefined, (parent, name) => {
      parent.node.fs.rmdir(parent.node, name, this.task.creds);
    });
  }

  /**
   * rmSync: ENOENT unless `force`; a directory without `recursive` is Node's
   * ERR_FS_EISDIR; otherwise the first removal Linux is asked for answers EROFS.
   */
  rmSync(path: PathLike, options: { recursive?: boolean; force?: boolean } = {}): void {
    const st = this.lstatSync(path, { throwIfNoEntry: !options.force });
    if (!st) return;
    if (st.isDirectory()) {
      if (!options.recursive) {
        const e = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${showPath(path)}`) as Error & Record<string, unknown>;
        Object.assign(e, { code: 'ERR_FS_EISDIR', errno: 21, syscall: 'rm', path: showPath(path) });
        throw e;
      }
      const kids = this.readdirSync(path) as string[];
      if (kids.length > 0) {
        const first = typeof path === 'string' ? `${path.replace(/\/+$/, '')}/${kids[0]}` : joinPath(toPath(path) as Uint8Array, new TextEncoder().encode(kids[0]!));
        return this.rmSync(first, options);
      }
      return this.rmdirSync(path);
    }
    this.unlinkSync(path);
  }

  /** rename(2): both parents resolved (ENOENT, ENOTDIR), EXDEV across mounts, then the VFS's checks and EROFS. */
  renameSync(oldPath: PathLike, newPath: PathLike): void {
    const o = pathBytes(toPath(oldPath, 'oldPath'));
    const n = pathBytes(toPath(newPath, 'newPath'));
    this.parentOp('rename', showPath(oldPath), o, showPath(newPath), (op, oname) => {
      this.parentOp('rename', showPath(oldPath), n, showPath(newPath), (np, nname) => {
        if (op.mount !== np.mount) throw new SysError('EXDEV', 'cross-mount rename');
        op.node.fs.rename(op.node, oname, np.node, nname, 0, this.task.creds);
      });
    });
  }

  copyFileSync(src: PathLike, dest: PathLike, mode = 0): void {
    const s = toPath(src, 'src');
    const d = toPath(dest, 'dest');
    call(
      'copyfile',
      showPath(src),
      () => {
        const fd = this.task.open(s, O_RDONLY);
        try {
          this.task.open(d, constants.O_WRONLY | constants.O_CREAT | (mode & constants.COPYFILE_EXCL ? constants.O_EXCL : constants.O_TRUNC), 0o644);
        } finally {
          this.task.close(fd);
        }
      },
      showPath(dest),
    );
  }

  chmodSync(path: PathLike, mode: number | string): void {
    void mode;
    this.onNode('chmod', path, true, (d) => d.fs.chmod(d, 0, this.task.creds));
  }

  chownSync(path: PathLike, uid: number, gid: number): void {
    this.onNode('chown', path, true, (d) => d.fs.chown(d, uid, gid, this.task.creds));
  }

  lchownSync(path: PathLike, uid: number, gid: number): void {
    this.onNode('lchown', path, false, (d) => d.fs.chown(d, uid, gid, this.task.creds));
  }

  utimesSync(path: PathLike, atime: number | string | Date, mtime: number | string | Date): void {
    const times = [timeSpec(atime), timeSpec(mtime)] as [{ sec: number; nsec: number }, { sec: number; nsec: number }];
    this.onNode('utime', path, true, (d) => d.fs.utimes(d, times, this.task.creds));
  }

  lutimesSync(path: PathLike, atime: number | string | Date, mtime: number | string | Date): void {
    const times = [timeSpec(atime), timeSpec(mtime)] as [{ sec: number; nsec: number }, { sec: number; nsec: number }];
    this.onNode('lutime', path, false, (d) => d.fs.utimes(d, times, this.task.creds));
  }

  /** fchmod, fchown and futimes on a descriptor of a read-only mount: EBADF for a bad one, else EROFS. */
  fchmodSync(fd: number, _mode: number | string): void {
    this.onFd('fchmod', fd);
  }

  fchownSync(fd: number, _uid: number, _gid: number): void {
    this.onFd('fchown', fd);
  }

  futimesSync(fd: number, _atime: number | string | Date, _mtime: number | string | Date): void {
    this.onFd('futime', fd);
  }

  // ---- helpers for the write-type calls -------------------------------------------------

  /** Walks to the parent of `p` and hands it and the last name to `fn`; errors are `syscall`'s. */
  private parentOp(syscall: string, shown: string, p: Uint8Array, dest: string | undefined, fn: (parent: Location, name: Uint8Array, trailingSlash: boolean) => void): void {
    call(
      syscall,
      shown,
      () => {
        checkPath(p);
        const start = holdLoc({ ...this.task.cwdLocation });
        const { parent, last, trailingSlash } = new Resolver(this.task.creds, this.task.root).walkParent(start, p);
        try {
          // A path of only slashes names the root itself: its "last name" is ".".
          fn(parent, last ?? new Uint8Array([0x2e]), trailingSlash);
        } finally {
          release(parent);
        }
      },
      dest,
    );
  }

  /**
   * mkdir, symlink, link, mkdtemp: the VFS's create check (search permission, EEXIST for
   * dots and existing names, then EROFS). On the synthetic root the same order is kept here.
   */
  private createAt(
    syscall: string,
    shown: string | PathLike,
    p: Uint8Array,
    fn: (fs: AnyFilesystem, parent: FsNode, name: Uint8Array) => void,
    dest?: string,
    emptyTarget = false,
  ): never {
    this.parentOp(syscall, showPath(shown), p, dest, (parent, name) => {
      if (emptyTarget) throw new SysError('ENOENT', 'empty symlink target');
      fn(parent.node.fs, parent.node, name);
    });
    throw new Error('unreachable: a create on a read-only mount returned');
  }

  /** chmod, chown, utimes: the path resolved (its errors first), then the VFS's answer (EROFS). */
  private onNode(syscall: string, path: PathLike, follow: boolean, fn: (d: FsNode) => void): void {
    const p = toPath(path);
    call(syscall, showPath(path), () => {
      const loc = resolveLoc(this.task.root, p, this.task.creds, { at: this.task.cwdLocation, follow });
      try {
        fn(loc.node);
        // utimes with both times UTIME_OMIT succeeds; Node cannot ask for that, so any return is a no-op.
      } finally {
        release(loc);
      }
    });
  }

  private onFd(syscall: string, fd: number): void {
    call(syscall, undefined, () => {
      this.task.description(fd);
      throw new SysError('EROFS', 'read-only file system');
    });
  }
}

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
