/**
 * Node's `fs.Stats`, `fs.BigIntStats` and `fs.Dirent`, built from the VFS's struct stat and
 * getdents64 records. Field names, units and methods follow Node: *Ms are milliseconds
 * (fractional in Stats, truncated in BigIntStats), *Ns nanoseconds (BigIntStats only), the
 * Date fields are made from the Ms values. EROFS records no birth time; like Node on a
 * filesystem whose statx has no STATX_BTIME, birthtime is the epoch.
 */
import type { Stat } from '@erofs-js/vfs';
import { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } from '@erofs-js/erofs';


/** The type predicates Stats and BigIntStats share; `mode` is a number or a bigint. */
abstract class StatsBase<T extends number | bigint> {
  abstract readonly mode: T;
  private type(): number {
    return Number(this.mode) & S_IFMT;
  }
  isFile(): boolean {
    return this.type() === S_IFREG;
  }
  isDirectory(): boolean {
    return this.type() === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type() === S_IFLNK;
  }
  isFIFO(): boolean {
    return this.type() === S_IFIFO;
  }
  isSocket(): boolean {
    return this.type() === S_IFSOCK;
  }
  isBlockDevice(): boolean {
    return this.type() === S_IFBLK;
  }
  isCharacterDevice(): boolean {
    return this.type() === S_IFCHR;
  }
}

export class Stats extends StatsBase<number> {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(st: Stat) {
    super();
    this.dev = st.dev;
    this.ino = st.ino;
    this.mode = st.mode;
    this.nlink = st.nlink;
    this.uid = st.uid;
    this.gid = st.gid;
    this.rdev = st.rdev;
    this.size = st.size;
    this.blksize = st.blksize;
    this.blocks = st.blocks;
    this.atimeMs = st.atime * 1e3 + st.atimeNsec / 1e6;
    this.mtimeMs = st.mtime * 1e3 + st.mtimeNsec / 1e6;
    this.ctimeMs = st.ctime * 1e3 + st.ctimeNsec / 1e6;
    this.birthtimeMs = 0;
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(0);
  }
}

const NS = 1_000_000_000n;
const MS = 1_000_000n;

function nanos(sec: number, nsec: number): bigint {
  return BigInt(sec) * NS + BigInt(nsec);
}

/** Floor division, as Node truncates BigIntStats' *Ms toward minus infinity. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

export class BigIntStats extends StatsBase<bigint> {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(st: Stat) {
    super();
    this.dev = BigInt(st.dev);
    this.ino = BigInt(st.ino);
    this.mode = BigInt(st.mode);
    this.nlink = BigInt(st.nlink);
    this.uid = BigInt(st.uid);
    this.gid = BigInt(st.gid);
    this.rdev = BigInt(st.rdev);
    this.size = BigInt(st.size);
    this.blksize = BigInt(st.blksize);
    this.blocks = BigInt(st.blocks);
    this.atimeNs = nanos(st.atime, st.atimeNsec);
    this.mtimeNs = nanos(st.mtime, st.mtimeNsec);
    this.ctimeNs = nanos(st.ctime, st.ctimeNsec);
    this.birthtimeNs = 0n;
    this.atimeMs = floorDiv(this.atimeNs, MS);
    this.mtimeMs = floorDiv(this.mtimeNs, MS);
    this.ctimeMs = floorDiv(this.ctimeNs, MS);
    this.birthtimeMs = 0n;
    this.atime = new Date(Number(this.atimeMs));
    this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs));
    this.birthtime = new Date(0);
  }
}

/** getdents64's d_type values. */
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

/** A directory entry as readdirSync(..., { withFileTypes: true }) returns it. */
export class Dirent<N extends string | Uint8Array = string> {
  /** The directory the entry was read from (Node 20.12+; `path` is its older name). */
  parentPath: string;
  path: string;
  constructor(
    public name: N,
    /** d_type from getdents64. */
    private readonly dtype: number,
    parentPath: string,
  ) {
    this.parentPath = parentPath;
    this.path = parentPath;
  }
  isFile(): boolean {
    return this.dtype === DT_REG;
  }
  isDirectory(): boolean {
    return this.dtype === DT_DIR;
  }
  isSymbolicLink(): boolean {
    return this.dtype === DT_LNK;
  }
  isFIFO(): boolean {
    return this.dtype === DT_FIFO;
  }
  isSocket(): boolean {
    return this.dtype === DT_SOCK;
  }
  isBlockDevice(): boolean {
    return this.dtype === DT_BLK;
  }
  isCharacterDevice(): boolean {
    return this.dtype === DT_CHR;
  }
}
