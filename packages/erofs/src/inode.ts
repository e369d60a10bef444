import { corrupt, unsupported } from './errors.js';
import { formatNid, nidToIno } from './nid.js';
import type { Superblock } from './superblock.js';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export const enum DataLayout {
  FlatPlain = 0,
  CompressedFull = 1,
  FlatInline = 2,
  CompressedCompact = 3,
  ChunkBased = 4,
}

export const LAYOUT_NAMES = ['flat_plain', 'compressed_full', 'flat_inline', 'compressed_compact', 'chunk_based'];

export const COMPACT_INODE_SIZE = 32;
export const EXTENDED_INODE_SIZE = 64;
const I_FORMAT_ALL = 0x1f;
const NLINK_1_BIT = 4;

export const CHUNK_FORMAT_BLKBITS_MASK = 0x001f;
export const CHUNK_FORMAT_INDEXES = 0x0020;
export const CHUNK_FORMAT_48BIT = 0x0040;
const CHUNK_FORMAT_ALL = 0x007f;

/** A decoded inode: a plain value, cheap to recreate; the decoder keeps no cache of these. */
export interface Inode {
  nid: number;
  /** st_ino as the kernel reports it. */
  ino: number;
  /** Byte position of the inode in its meta space (the image, or the metabox data). */
  pos: number;
  inMetabox: boolean;
  format: number;
  extended: boolean;
  inodeSize: number;
  layout: DataLayout;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  mtimeNsec: number;
  /** Device number, kernel encoding (major << 20 | minor), for char/block devices; 0 otherwise. */
  rdev: number;
  /** st_blocks, in 512-byte units. */
  blocks: number;
  xattrIcount: number;
  /** Size of the inline xattr area after the inode (0 or 12 + 4 * (icount - 1)). */
  xattrSize: number;
  /** Position right after the inode and its xattrs: inline data, chunk tables, compression maps start here. */
  ibase: number;
  /** First data block for flat layouts (unified address), or null for a FLAT_PLAIN hole. */
  startBlock: number | null;
  /** CHUNK_BASED: the chunk format word. */
  chunkFormat: number;
  /** CHUNK_BASED: log2 of the chunk size in bytes. */
  chunkBits: number;
  /** Compressed layouts: i_u as the block count. */
  compressedBlocks: number;
  /** Directory whose "." entry is not stored (48-bit layout). */
  dotOmitted: boolean;
}

export function fileTypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return 1;
    case S_IFDIR: return 2;
    case S_IFCHR: return 3;
    case S_IFBLK: return 4;
    case S_IFIFO: return 5;
    case S_IFSOCK: return 6;
    case S_IFLNK: return 7;
    default: return 0;
  }
}

export const isDir = (i: Inode) => (i.mode & S_IFMT) === S_IFDIR;
export const isReg = (i: Inode) => (i.mode & S_IFMT) === S_IFREG;
export const isSymlink = (i: Inode) => (i.mode & S_IFMT) === S_IFLNK;
export const isCompressed = (i: Inode) => i.layout === DataLayout.CompressedFull || i.layout === DataLayout.CompressedCompact;

/** Linux "new" device encoding from the on-disk value, re-expressed as glibc's makedev() st_rdev. */
export function decodeRdev(v: number): { major: number; minor: number; rdev: number } {
  const major = (v & 0xfff00) >>> 8;
  const minor = (v & 0xff) | ((v >>> 12) & 0xfff00);
  return { major, minor, rdev: makedev(major, minor) };
}

/** glibc's makedev for 32-bit major/minor pairs (exact as a JS number up to 2^53). */
export function makedev(major: number, minor: number): number {
  const lo = ((minor & 0xff) | ((major & 0xfff) << 8)) >>> 0;
  const mid = ((minor & ~0xff) >>> 0) * 2 ** 12; // minor bits 8..31 -> 20..43
  const hi = ((major & ~0xfff) >>> 0) * 2 ** 32; // major bits 12..31 -> 44..63
  return lo + mid + hi;
}

/** The major and minor numbers of a glibc-encoded st_rdev. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const lo = rdev % 2 ** 32;
  const hi = Math.floor(rdev / 2 ** 32);
  return {
    major: ((hi & 0xfffff000) >>> 0) + ((lo >>> 8) & 0xfff),
    minor: (lo & 0xff) + ((Math.floor(rdev / 2 ** 12) & 0xffffff00) >>> 0),
  };
}

/**
 * Decodes the inode whose 32 or 64 bytes start at `bytes[0]`; `bytes` must hold 64 bytes
 * when bit 0 of i_format says the inode is extended (the caller reads the first 32 and
 * widens). `pos` is the inode's position in its meta space, used for errors and ibase.
 */
export function decodeInode(sb: Superblock, nid: number, pos: number, inMetabox: boolean, bytes: Uint8Array): Inode {
  const S = `inode ${formatNid(nid)}`;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = dv.getUint16(0, true);
  if (format & ~I_FORMAT_ALL) throw unsupported(S, pos, `unsupported i_format 0x${format.toString(16)}`);
  const layout = (format >>> 1) & 7;
  if (layout > DataLayout.ChunkBased) throw unsupported(S, pos, `unsupported data layout ${layout}`);
  const extended = (format & 1) === 1;
  const bit4 = ((format >>> NLINK_1_BIT) & 1) === 1;
  const xattrIcount = dv.getUint16(2, true);
  const mode = dv.getUint16(4, true);
  const nb = dv.getUint16(6, true);
  const iu = dv.getUint32(0x10, true);
  let nlink: number, uid: number, gid: number, size: number, mtime: number, mtimeNsec: number;
  let startHi: number;
  let addrBits48: boolean;
  const type = mode & S_IFMT;
  if (extended) {
    if (bytes.length < EXTENDED_INODE_SIZE) throw corrupt(S, pos, 'extended inode truncated');
    const sizeHi = dv.getUint32(0x0c, true);
    if (sizeHi >= 0x200000) throw corrupt(S, pos + 8, `i_size 0x${sizeHi.toString(16)}xxxxxxxx is negative or beyond 2^53`);
    size = sizeHi * 2 ** 32 + dv.getUint32(8, true);
    uid = dv.getUint32(0x18, true);
    gid = dv.getUint32(0x1c, true);
    mtime = Number(dv.getBigInt64(0x20, true));
    mtimeNsec = dv.getUint32(0x28, true);
    nlink = dv.getUint32(0x2c, true);
    startHi = nb;
    addrBits48 = true;
  } else {
    size = dv.getUint32(8, true);
    uid = dv.getUint16(0x18, true);
    gid = dv.getUint16(0x1a, true);
    mtime = sb.epoch + dv.getUint32(0x0c, true);
    mtimeNsec = sb.fixedNsec;
    if (type !== S_IFDIR && bit4) {
      nlink = 1;
      startHi = nb;
      addrBits48 = true;
    } else {
      nlink = nb;
      startHi = 0;
      addrBits48 = false;
    }
  }
  const xattrSize = xattrIcount === 0 ? 0 : 12 + 4 * (xattrIcount - 1);
  const inodeSize = extended ? EXTENDED_INODE_SIZE : COMPACT_INODE_SIZE;
  const inode: Inode = {
    nid,
    ino: nidToIno(nid),
    pos,
    inMetabox,
    format,
    extended,
    inodeSize,
    layout,
    mode,
    nlink,
    uid,
    gid,
    size,
    mtime,
    mtimeNsec,
    rdev: 0,
    blocks: 0,
    xattrIcount,
    xattrSize,
    ibase: pos + inodeSize + xattrSize,
    startBlock: null,
    chunkFormat: 0,
    chunkBits: 0,
    compressedBlocks: 0,
    dotOmitted: false,
  };
  switch (type) {
    case S_IFDIR:
    case S_IFREG:
    case S_IFLNK: {
      if (type === S_IFDIR) inode.dotOmitted = bit4;
      const start = startHi * 2 ** 32 + iu;
      // The kernel's NULL test compares the address with all-ones under a 48- or 32-bit mask;
      // only FLAT_PLAIN treats it as a hole.
      const isNull = iu === 0xffffffff && (!addrBits48 || startHi === 0xffff);
      inode.startBlock = layout === DataLayout.FlatPlain && isNull ? null : start;
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      inode.rdev = decodeRdev(iu).rdev;
      break;
    case S_IFIFO:
    case S_IFSOCK:
      break;
    default:
      throw corrupt(S, pos + 4, `bogus i_mode 0${mode.toString(8)}`);
  }
  if (layout === DataLayout.CompressedFull || layout === DataLayout.CompressedCompact) {
    inode.compressedBlocks = iu + (addrBits48 ? startHi * 2 ** 32 : 0);
    inode.blocks = inode.compressedBlocks * 2 ** (sb.blkszbits - 9);
  } else {
    inode.blocks = Math.ceil(size / sb.blockSize) * (sb.blockSize / 512);
  }
  if (layout === DataLayout.ChunkBased) {
    const cf = iu & 0xffff;
    if (cf & ~CHUNK_FORMAT_ALL) throw unsupported(S, pos + 0x10, `unsupported chunk format 0x${cf.toString(16)}`);
    inode.chunkFormat = cf;
    inode.chunkBits = sb.blkszbits + (cf & CHUNK_FORMAT_BLKBITS_MASK);
  }
  return inode;
}
