import { corrupt } from './errors.js';
import { nidFromParts } from './nid.js';
import { copyBytes } from './source.js';

export const DIRENT_SIZE = 12;
export const NAME_MAX = 255;

/** file_type values of a dirent; they mirror Linux's FT_* and DT_* (via fileTypeToDtype). */
export const FT = { UNKNOWN: 0, REG_FILE: 1, DIR: 2, CHRDEV: 3, BLKDEV: 4, FIFO: 5, SOCK: 6, SYMLINK: 7 } as const;
const DT_OF_FT = [0, 8, 4, 2, 6, 1, 12, 10];
/** DT_* of a dirent file type (DT_UNKNOWN for values the format does not define). */
export const fileTypeToDtype = (ft: number) => DT_OF_FT[ft] ?? 0;

/** Byte order of names, the order a directory's dirents must follow (lookup's binary search relies on it). */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export interface DirEntry {
  /** Name bytes (not NUL-terminated, 1..255 bytes). A copy: safe to keep. */
  name: Uint8Array;
  nid: number;
  fileType: number;
  /** Position of this entry in the directory (block start + 12 * index): where a readdir resumes to get it. */
  offset: number;
  /** Position of the next entry (Linux's d_off): the end of the block's valid part after the last entry. */
  next: number;
}

/**
 * One directory block, validated lazily: the header (entry count) when constructed,
 * each name when asked for. `maxsize` is the valid part of the block
 * (min(block size, i_size - block start)); names end at the next nameoff, or for the
 * last entry at the first NUL or at maxsize.
 */
export class DirBlock {
  readonly count: number;
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly maxsize: number,
    readonly where: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (maxsize < DIRENT_SIZE) throw corrupt(where, start, `directory block of ${maxsize} bytes cannot hold a dirent`);
    const nameoff0 = this.dv.getUint16(8, true);
    if (nameoff0 < DIRENT_SIZE || nameoff0 >= maxsize) {
      throw corrupt(where, start, `first nameoff ${nameoff0} outside ${DIRENT_SIZE}..${maxsize - 1}`);
    }
    this.count = Math.floor(nameoff0 / DIRENT_SIZE);
  }

  nid(i: number): number {
    const o = i * DIRENT_SIZE;
    return nidFromParts(this.dv.getUint32(o, true), this.dv.getUint32(o + 4, true), this.where, this.start + o);
  }

  fileType(i: number): number {
    return this.dv.getUint8(i * DIRENT_SIZE + 10);
  }

  /** [begin, end) of entry i's name within the block, validated. */
  nameRange(i: number): [number, number] {
    const o = i * DIRENT_SIZE;
    const begin = this.dv.getUint16(o + 8, true);
    let end: number;
    if (i + 1 < this.count) {
      end = this.dv.getUint16(o + DIRENT_SIZE + 8, true);
    } else {
      end = begin;
      const limit = this.maxsize;
      const b = this.bytes;
      while (end < limit && b[end] !== 0) end++;
    }
    const len = end - begin;
    if (begin < this.count * DIRENT_SIZE || len < 1 || len > NAME_MAX || end > this.maxsize) {
      throw corrupt(this.where, this.start + o, `entry ${i}: name at ${begin}..${end} is not 1..${NAME_MAX} bytes within the ${this.maxsize}-byte block`);
    }
    return [begin, end];
  }

  name(i: number): Uint8Array {
    const [b, e] = this.nameRange(i);
    return copyBytes(this.bytes, b, e);
  }

  /** Compares `target` with entry i's name bytewise: <0 if target sorts first. */
  compare(target: Uint8Array, i: number): number {
    const [b, e] = this.nameRange(i);
    const bytes = this.bytes;
    const n = Math.min(target.length, e - b);
    for (let k = 0; k < n; k++) {
      const d = target[k] - bytes[b + k];
      if (d !== 0) return d;
    }
    return target.length - (e - b);
  }

  entry(i: number): DirEntry {
    return {
      name: this.name(i),
      nid: this.nid(i),
      fileType: this.fileType(i),
      offset: this.start + i * DIRENT_SIZE,
      next: i + 1 < this.count ? this.start + (i + 1) * DIRENT_SIZE : this.start + this.maxsize,
    };
  }
}
