/**
 * struct stat (from the VFS) to WASI's filestat and filetype.
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import type { Stat } from '@erofs-js/vfs';
import { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } from '@erofs-js/erofs';


/**
 * WASI filetype of a mode. WASI has no FIFO type; a fifo is reported as a stream socket,
 * as uvwasi (Node's WASI) reports it, so a guest sees the same type under both.
 */
export function filetypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return wasi.FILETYPE_REGULAR_FILE;
    case S_IFDIR:
      return wasi.FILETYPE_DIRECTORY;
    case S_IFLNK:
      return wasi.FILETYPE_SYMBOLIC_LINK;
    case S_IFCHR:
      return wasi.FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK:
      return wasi.FILETYPE_BLOCK_DEVICE;
    case S_IFSOCK:
    case S_IFIFO:
      return wasi.FILETYPE_SOCKET_STREAM;
    default:
      return wasi.FILETYPE_UNKNOWN;
  }
}

/** WASI filetype of a getdents64 d_type (DT_* = mode >> 12). */
export function filetypeOfDtype(dtype: number): number {
  return dtype === 0 ? wasi.FILETYPE_UNKNOWN : filetypeOfMode(dtype << 12);
}

/**
 * A timestamp in nanoseconds as WASI's u64. Times before 1970 wrap modulo 2^64, which is
 * what uvwasi (Node's WASI) hands a guest for the same file, so both runtimes agree.
 */
export function timestamp(sec: number, nsec: number): bigint {
  return BigInt.asUintN(64, BigInt(sec) * 1_000_000_000n + BigInt(nsec));
}

/**
 * The shim's Filestat with the layout of WASI's filestat: in 0.4.2 the shim writes atim,
 * mtim and ctim at byte offsets 38, 46 and 52 where the ABI has 40, 48 and 56, so the
 * guest would read mangled times. This subclass writes every field at its ABI offset.
 */
export class ErofsFilestat extends wasi.Filestat {
  override write_bytes(view: DataView, ptr: number): void {
    view.setBigUint64(ptr, this.dev, true);
    view.setBigUint64(ptr + 8, this.ino, true);
    view.setUint8(ptr + 16, this.filetype);
    view.setBigUint64(ptr + 24, this.nlink, true);
    view.setBigUint64(ptr + 32, this.size, true);
    view.setBigUint64(ptr + 40, this.atim, true);
    view.setBigUint64(ptr + 48, this.mtim, true);
    view.setBigUint64(ptr + 56, this.ctim, true);
  }
}

export function filestatOf(st: Stat): ErofsFilestat {
  const fs = new ErofsFilestat(BigInt(st.ino), filetypeOfMode(st.mode), BigInt(st.size));
  fs.dev = BigInt(st.dev);
  fs.nlink = BigInt(st.nlink);
  fs.atim = timestamp(st.atime, st.atimeNsec);
  fs.mtim = timestamp(st.mtime, st.mtimeNsec);
  fs.ctim = timestamp(st.ctime, st.ctimeNsec);
  return fs;
}
