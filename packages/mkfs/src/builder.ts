/**
 * Tree -> EROFS image (uncompressed, or with LZ4-compressed files). Layout:
 *
 *   block 0   boot area (1024 zero bytes), superblock at 1024 (128 bytes)
 *   1152..    shared xattr pool (xattr_blkaddr 0, ids counted in 4-byte units from byte 0)
 *   then      inodes, 32-byte aligned, each followed by its xattr body and then its inline
 *             tail or chunk table (meta_blkaddr 0, so nid = position / 32)
 *   then      data blocks, block aligned, in inode order
 *
 * Inode choice follows mkfs: compact unless size ≥ 4 GiB, uid/gid/nlink > 65535, or the
 * mtime differs from (epoch, fixed_nsec). Tails go inline when they fit in the block
 * after the inode and its xattrs (the inode moves to the next block when that makes them
 * fit), else the file is FLAT_PLAIN.
 */
import { crc32c, xxh32 } from '@erofs-js/erofs';
import { compareBytes, nameBytes, type DirNode, type TreeNode } from './tree.js';
import { lz4CompressFill, lz4Bound } from './lz4.js';

export interface BuildOptions {
  /** 512..4096 (a power of two); default 4096. */
  blockSize?: number;
  /** Base time of compact inodes; default: the most common mtime in the tree (or 0). */
  epoch?: number;
  /** Nanoseconds of compact inodes; default: the most common nsec among inodes at the epoch. */
  fixedNsec?: number;
  /** 16 bytes; default all zeros. */
  uuid?: Uint8Array;
  /** Up to 16 bytes of label. */
  volumeName?: string;
  /** Store file and directory tails inline after the inode (default true). */
  inlineData?: boolean;
  /** Write the per-inode xattr name bloom filter (default true). */
  xattrFilter?: boolean;
  /**
   * Chunk-based layout for sparse files: a regular file with at least one all-zero chunk
   * of `blockSize << chunkBits` bytes is stored with a block map whose zero chunks are
   * holes. Off when undefined.
   */
  chunkBits?: number;
  /**
   * Chunk tables as 8-byte chunk indexes (start block and device id; format bit
   * CHUNK_INDEXES) instead of the 4-byte block map. Default false.
   */
  chunkIndexes?: boolean;
  /**
   * Share an xattr (same name and value) through the shared pool when this many inodes
   * carry it (default 2; Infinity keeps every xattr inline).
   */
  shareXattrsAt?: number;
  /** Superblock CRC-32C (default: on for 4 KiB blocks, like mkfs.erofs). */
  checksum?: boolean;
  /**
   * Compress regular files with LZ4 ('lz4'): one-block pclusters filled with as much of the
   * file as fits, full (8-byte) lcluster indexes, zero padding. A file stays uncompressed
   * when that would not save a block; sparse files picked for the chunk layout stay chunked.
   */
  compression?: 'lz4';
  /**
   * Lcluster index format of compressed files: 'full' (8 bytes per block, the default) or
   * 'compact' (4-byte entries in packs of two with a shared base block, as mkfs.erofs
   * writes by default).
   */
  compressedIndexes?: 'full' | 'compact';
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

const SB_OFFSET = 1024;
const SB_SIZE = 128;
const MAGIC = 0xe0f5e1e2;
const NULL_ADDR = 0xffffffff;
const COMPAT_SB_CHKSUM = 0x1;
const COMPAT_MTIME = 0x2;
const COMPAT_XATTR_FILTER = 0x4;
const INCOMPAT_ZERO_PADDING = 0x1;
const INCOMPAT_CHUNKED_FILE = 0x4;
const LAYOUT_FLAT_PLAIN = 0;
const LAYOUT_COMPRESSED_FULL = 1;
const LAYOUT_COMPRESSED_COMPACT = 3;
const LAYOUT_FLAT_INLINE = 2;
const LAYOUT_CHUNK_BASED = 4;
const FILTER_SEED = 0x25bbe08f;
const CHUNK_FORMAT_INDEXES = 0x20;

const S_IF: Record<TreeNode['type'], number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};
const FILE_TYPE: Record<TreeNode['type'], number> = { file: 1, dir: 2, chardev: 3, blockdev: 4, fifo: 5, socket: 6, symlink: 7 };

/** Built-in xattr prefixes, longest first so "system.posix_acl_access" wins over nothing. */
const XATTR_PREFIXES: [string, number, boolean][] = [
  ['system.posix_acl_default', 3, true],
  ['system.posix_acl_access', 2, true],
  ['security.', 6, false],
  ['trusted.', 4, false],
  ['user.', 1, false],
];

const utf8 = new TextEncoder();

interface XattrEntry {
  name: Uint8Array;
  index: number;
  suffix: Uint8Array;
  value: Uint8Array;
  key: string;
  /** Shared pool id, when shared. */
  id?: number;
}

/** One pcluster of a compressed file: a block of LZ4 stream or of raw bytes. */
interface ZExtent {
  /** Decoded range [logical, logical + length) of the file. */
  logical: number;
  length: number;
  /** LZ4 block, or undefined for an uncompressed (PLAIN) pcluster. */
  stream: Uint8Array | undefined;
  block: number;
}

interface DirChild {
  name: Uint8Array;
  ino: Ino;
}

/** One inode of the image being built. */
interface Ino {
  node: TreeNode;
  nlink: number;
  parent: Ino | undefined;
  /** Directories: entries sorted bytewise, "." and ".." included. */
  children: DirChild[];
  /** Directories: index into `children` of the first entry of each block. */
  dirBlockStarts: number[];
  data: Uint8Array | undefined;
  size: number;
  extended: boolean;
  mtime: number;
  nsec: number;
  xattrs: XattrEntry[];
  xattrSize: number;
  layout: number;
  /** CHUNK_BASED: per-chunk start block or hole, filled at data allocation. */
  chunkHoles: boolean[];
  chunkStarts: number[];
  /** CHUNK_BASED: i_u chunk format (chunk bits, CHUNK_INDEXES bit). */
  chunkFormat: number;
  /** COMPRESSED_FULL: the pclusters in file order. */
  zExtents: ZExtent[];
  pos: number;
  nid: number;
  /** First data block (FLAT_*), or NULL_ADDR. */
  startBlock: number;
  dataBlocks: number;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function xattrEntrySize(e: XattrEntry): number {
  return align(4 + e.suffix.length + e.value.length, 4);
}

function splitXattrName(name: string): XattrEntry {
  const bytes = utf8.encode(name);
  for (const [prefix, index, whole] of XATTR_PREFIXES) {
    if (whole ? name === prefix : name.startsWith(prefix) && name.length > prefix.length) {
      return { name: bytes, index, suffix: bytes.subarray(utf8.encode(prefix).length), value: new Uint8Array(0), key: '' };
    }
  }
  throw new BuildError(`xattr ${JSON.stringify(name)}: no built-in prefix (user., trusted., security., system.posix_acl_*)`);
}

function latin(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function checkName(name: Uint8Array, where: string): void {
  if (name.length < 1 || name.length > 255) throw new BuildError(`${where}: name of ${name.length} bytes is not 1..255`);
  if (name.includes(0x2f) || name.includes(0)) throw new BuildError(`${where}: name contains "/" or NUL`);
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) throw new BuildError(`${where}: name "." or ".."`);
}

/** The most common value (ties: the smallest), or undefined for an empty list. */
function mode<T extends number>(values: T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestN = 0;
  for (const [v, n] of counts) if (n > bestN || (n === bestN && v < best!)) [best, bestN] = [v, n];
  return best;
}

/** Builds an EROFS image from a tree whose root is a directory. */
export function buildImage(root: DirNode, options: BuildOptions = {}): Uint8Array {
  const bs = options.blockSize ?? 4096;
  if (!(bs >= 512 && bs <= 4096 && (bs & (bs - 1)) === 0)) throw new BuildError(`block size ${bs} is not a power of two in 512..4096`);
  const blkszbits = Math.log2(bs);
  const inline = options.inlineData ?? true;
  const useFilter = options.xattrFilter ?? true;
  const shareAt = options.shareXattrsAt ?? 2;
  const checksum = options.checksum ?? bs === 4096;
  if (root.type !== 'dir') throw new BuildError('the root must be a directory');

  // ---- 1. Inodes in depth-first order, root first; hard links collapse to one inode.
  const inos: Ino[] = [];
  const byNode = new Map<TreeNode, Ino>();
  const make = (node: TreeNode, parent: Ino | undefined): Ino => {
    const ino: Ino = {
      node, nlink: 0, parent, children: [], dirBlockStarts: [], data: undefined, size: 0, extended: false, mtime: 0, nsec: 0,
      xattrs: [], xattrSize: 0, layout: LAYOUT_FLAT_PLAIN, chunkHoles: [], chunkStarts: [], chunkFormat: 0, zExtents: [], pos: 0, nid: 0, startBlock: NULL_ADDR, dataBlocks: 0,
    };
    inos.push(ino);
    byNode.set(node, ino);
    return ino;
  };
  const rootIno = make(root, undefined);
  rootIno.parent = rootIno;
  const stack: Ino[] = [rootIno];
  while (stack.length) {
    const d = stack.pop()!;
    const dnode = d.node as DirNode;
    const kids: DirChild[] = [];
    const seen = new Set<string>();
    for (const [key, child] of dnode.entries) {
      const name = nameBytes(key);
      checkName(name, `entry ${JSON.stringify(typeof key === 'string' ? key : latin(key))}`);
      const k = latin(name);
      if (seen.has(k)) throw new BuildError(`duplicate name ${JSON.stringify(k)}`);
      seen.add(k);
      let ino = byNode.get(child);
      if (child.type === 'dir') {
        if (ino) throw new BuildError('a directory appears twice in the tree (directories cannot be hard-linked)');
        ino = make(child, d);
        stack.push(ino);
      } else {
        ino ??= make(child, undefined);
        ino.nlink++;
      }
      kids.push({ name, ino });
    }
    kids.push({ name: utf8.encode('.'), ino: d }, { name: utf8.encode('..'), ino: d.parent! });
    kids.sort((a, b) => compareBytes(a.name, b.name));
    d.children = kids;
    // Directory nlink: 2 + subdirectories (kids holds "." and ".." too).
    d.nlink = 2 + kids.filter((c) => c.ino.node.type === 'dir').length - 2;
  }

  // ---- 2. Content sizes, times, inode form.
  const mtimes = inos.filter((i) => i.node.mtime !== undefined).map((i) => i.node.mtime!);
  const epoch = options.epoch ?? mode(mtimes) ?? 0;
  const fixedNsec = options.fixedNsec ?? mode(inos.filter((i) => (i.node.mtime ?? epoch) === epoch).map((i) => i.node.mtimeNsec ?? 0)) ?? 0;
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new BuildError(`epoch ${epoch} is not a non-negative integer`);
  for (const ino of inos) {
    const n = ino.node;
    ino.mtime = n.mtime ?? epoch;
    ino.nsec = n.mtimeNsec ?? (n.mtime === undefined ? fixedNsec : 0);
    if (!Number.isSafeInteger(ino.mtime) || !(ino.nsec >= 0 && ino.nsec < 1e9 && Number.isInteger(ino.nsec))) throw new BuildError(`bad mtime ${ino.mtime}.${ino.nsec}`);
    if (n.type === 'file') ino.data = n.data;
    else if (n.type === 'symlink') {
      ino.data = nameBytes(n.target);
      if (ino.data.length < 1 || ino.data.length > 4095) throw new BuildError(`symlink target of ${ino.data.length} bytes is not 1..4095`);
    } else if (n.type === 'dir') {
      // Cut the sorted entries into blocks: an entry (12 + name) never straddles one.
      let used = 0;
      let full = 0;
      ino.children.forEach((c, i) => {
        const need = 12 + c.name.length;
        if (i === 0 || used + need > bs) {
          if (i > 0) full++;
          ino.dirBlockStarts.push(i);
          used = 0;
        }
        used += need;
      });
      ino.size = full * bs + used;
    }
    if (ino.data) ino.size = ino.data.length;
    const uid = n.uid ?? 0;
    const gid = n.gid ?? 0;
    for (const [v, what] of [[uid, 'uid'], [gid, 'gid']] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new BuildError(`${what} ${v} is not a u32`);
    }
    ino.extended = ino.size >= 2 ** 32 || uid > 0xffff || gid > 0xffff || ino.nlink > 0xffff || ino.mtime !== epoch || ino.nsec !== fixedNsec;
  }

  // ---- 3. Xattrs: shared when `shareAt` inodes carry the same name and value.
  const shareCount = new Map<string, number>();
  for (const ino of inos) {
    const x = ino.node.xattrs;
    if (!x) continue;
    for (const name of Object.keys(x)) {
      const e = splitXattrName(name);
      e.value = x[name];
      if (e.value.length > 0xffff) throw new BuildError(`xattr ${name}: value of ${e.value.length} bytes exceeds 65535`);
      if (e.suffix.length > 255) throw new BuildError(`xattr ${name}: name suffix longer than 255 bytes`);
      e.key = latin(e.name) + '\0' + latin(e.value);
      ino.xattrs.push(e);
      shareCount.set(e.key, (shareCount.get(e.key) ?? 0) + 1);
    }
    ino.xattrs.sort((a, b) => compareBytes(a.name, b.name));
  }
  let pos = SB_OFFSET + SB_SIZE;
  const shared = new Map<string, XattrEntry>();
  for (const ino of inos) {
    for (const e of ino.xattrs) {
      if ((shareCount.get(e.key) ?? 0) < shareAt || shared.has(e.key)) continue;
      e.id = pos / 4;
      shared.set(e.key, e);
      pos += xattrEntrySize(e);
    }
  }
  const sharedPool = [...shared.values()];
  let anyXattr = false;
  for (const ino of inos) {
    if (!ino.xattrs.length) continue;
    anyXattr = true;
    let size = 12;
    let nshared = 0;
    for (const e of ino.xattrs) {
      const s = shared.get(e.key);
      if (s && nshared < 255) {
        e.id = s.id;
        nshared++;
        size += 4;
      } else {
        e.id = undefined;
        size += xattrEntrySize(e);
      }
    }
    if ((size - 12) / 4 + 1 > 0xffff) throw new BuildError('xattrs of one inode exceed the 256 KiB ibody limit');
    ino.xattrSize = size;
  }

  // ---- 4. Metadata layout: positions, NIDs, inline decisions.
  pos = align(pos, 32);
  const chunkSize = options.chunkBits === undefined ? 0 : bs * 2 ** options.chunkBits;
  if (options.chunkBits !== undefined && !(Number.isInteger(options.chunkBits) && options.chunkBits >= 0 && options.chunkBits <= 31 - blkszbits)) {
    throw new BuildError(`chunkBits ${options.chunkBits} out of range`);
  }
  let anyChunked = false;
  let anyCompressed = false;
  if (options.compression !== undefined && options.compression !== 'lz4') throw new BuildError(`unknown compression ${JSON.stringify(options.compression)}`);
  for (const ino of inos) {
    const isz = ino.extended ? 64 : 32;
    // An extended inode may straddle blocks for the kernel, but keeping it whole is simpler for every reader.
    if (ino.extended && (pos % bs) + 64 > bs) pos = align(pos, bs);
    let extra = 0;
    ino.layout = LAYOUT_FLAT_PLAIN;
    const hasData = ino.node.type === 'file' || ino.node.type === 'symlink' || ino.node.type === 'dir';
    if (hasData && ino.size > 0) {
      const tail = ino.size % bs;
      if (chunkSize && ino.node.type === 'file' && hasZeroChunk(ino.data!, chunkSize)) {
        ino.layout = LAYOUT_CHUNK_BASED;
        ino.chunkFormat = options.chunkBits!;
        anyChunked = true;
        const count = Math.ceil(ino.size / chunkSize);
        const unit = options.chunkIndexes ? 8 : 4;
        if (options.chunkIndexes) ino.chunkFormat |= CHUNK_FORMAT_INDEXES;
        const tablePos = align(pos + isz + ino.xattrSize, unit);
        extra = tablePos - (pos + isz + ino.xattrSize) + unit * count;
      } else if (options.compression && ino.node.type === 'file' && (ino.zExtents = compressLz4(ino.data!, bs)).length) {
        anyCompressed = true;
        const ibase = pos + isz + ino.xattrSize;
        const lclusters = Math.ceil(ino.size / bs);
        if (options.compressedIndexes === 'compact') {
          // 8-aligned map header, then 8-byte packs of two 4-byte entries.
          ino.layout = LAYOUT_COMPRESSED_COMPACT;
          extra = align(ibase, 8) - ibase + 8 + 8 * Math.ceil(lclusters / 2);
        } else {
          // 8-aligned map header (8 bytes), 8 reserved bytes, then one 8-byte index per block.
          ino.layout = LAYOUT_COMPRESSED_FULL;
          extra = align(ibase, 8) - ibase + 16 + 8 * lclusters;
        }
      } else if (inline && tail > 0) {
        const fits = (p: number) => ((p + isz + ino.xattrSize) % bs) + tail <= bs;
        if (!fits(pos) && isz + ino.xattrSize + tail <= bs) pos = align(pos, bs);
        if (fits(pos)) {
          ino.layout = LAYOUT_FLAT_INLINE;
          extra = tail;
        }
      }
    }
    ino.pos = pos;
    ino.nid = pos / 32;
    pos = align(pos + isz + ino.xattrSize + extra, 32);
  }
  if (rootIno.nid > 0xffff) throw new BuildError(`root nid ${rootIno.nid} does not fit in 16 bits`);

  // ---- 5. Data blocks after the metadata.
  let block = Math.ceil(pos / bs);
  for (const ino of inos) {
    if (ino.layout === LAYOUT_CHUNK_BASED) {
      const count = Math.ceil(ino.size / chunkSize);
      for (let k = 0; k < count; k++) {
        const start = k * chunkSize;
        const chunk = ino.data!.subarray(start, Math.min(ino.size, start + chunkSize));
        const hole = isZero(chunk);
        ino.chunkHoles.push(hole);
        ino.chunkStarts.push(hole ? NULL_ADDR : block);
        if (!hole) block += Math.ceil(chunk.length / bs);
      }
      continue;
    }
    if (ino.layout === LAYOUT_COMPRESSED_FULL || ino.layout === LAYOUT_COMPRESSED_COMPACT) {
      for (const e of ino.zExtents) e.block = block++;
      ino.dataBlocks = ino.zExtents.length;
      continue;
    }
    const hasData = ino.node.type === 'file' || ino.node.type === 'symlink' || ino.node.type === 'dir';
    if (!hasData || ino.size === 0) continue;
    ino.dataBlocks = ino.layout === LAYOUT_FLAT_INLINE ? Math.floor(ino.size / bs) : Math.ceil(ino.size / bs);
    if (ino.dataBlocks > 0) {
      ino.startBlock = block;
      block += ino.dataBlocks;
    }
  }
  const totalBlocks = block;
  if (totalBlocks > 0xffffffff) throw new BuildError('image larger than 2^32 blocks');

  // ---- 6. Write.
  const img = new Uint8Array(totalBlocks * bs);
  const dv = new DataView(img.buffer);
  for (const e of sharedPool) writeXattrEntry(img, e.id! * 4, e);
  for (const ino of inos) writeInode(img, dv, ino, bs, useFilter);

  // Superblock.
  const sb = SB_OFFSET;
  const compat = (checksum ? COMPAT_SB_CHKSUM : 0) | COMPAT_MTIME | (useFilter && anyXattr ? COMPAT_XATTR_FILTER : 0);
  dv.setUint32(sb + 0x00, MAGIC, true);
  dv.setUint32(sb + 0x08, compat, true);
  img[sb + 0x0c] = blkszbits;
  img[sb + 0x0d] = 0;
  dv.setUint16(sb + 0x0e, rootIno.nid, true);
  dv.setBigUint64(sb + 0x10, BigInt(inos.length), true);
  dv.setBigUint64(sb + 0x18, BigInt(epoch), true);
  dv.setUint32(sb + 0x20, fixedNsec, true);
  dv.setUint32(sb + 0x24, totalBlocks, true);
  dv.setUint32(sb + 0x28, 0, true); // meta_blkaddr
  dv.setUint32(sb + 0x2c, 0, true); // xattr_blkaddr
  if (options.uuid) {
    if (options.uuid.length !== 16) throw new BuildError('uuid must be 16 bytes');
    img.set(options.uuid, sb + 0x30);
  }
  if (options.volumeName) {
    const label = utf8.encode(options.volumeName);
    if (label.length > 16) throw new BuildError('volume name longer than 16 bytes');
    img.set(label, sb + 0x40);
  }
  dv.setUint32(sb + 0x50, (anyChunked ? INCOMPAT_CHUNKED_FILE : 0) | (anyCompressed ? INCOMPAT_ZERO_PADDING : 0), true);
  // Without COMPR_CFGS this field is lz4_max_distance: our encoder's window, as mkfs writes it.
  if (anyCompressed) dv.setUint16(sb + 0x54, 65535, true);
  if (checksum) {
    const len = bs > SB_OFFSET ? bs - SB_OFFSET : bs;
    dv.setUint32(sb + 4, crc32c(0xffffffff, img.subarray(SB_OFFSET, SB_OFFSET + len)), true);
  }
  return img;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function hasZeroChunk(data: Uint8Array, chunkSize: number): boolean {
  for (let s = 0; s < data.length; s += chunkSize) if (isZero(data.subarray(s, Math.min(data.length, s + chunkSize)))) return true;
  return false;
}

function writeXattrEntry(img: Uint8Array, at: number, e: XattrEntry): number {
  img[at] = e.suffix.length;
  img[at + 1] = e.index;
  img[at + 2] = e.value.length & 0xff;
  img[at + 3] = e.value.length >>> 8;
  img.set(e.suffix, at + 4);
  img.set(e.value, at + 4 + e.suffix.length);
  return at + xattrEntrySize(e);
}

function encodeRdev(major: number, minor: number): number {
  if (!(Number.isInteger(major) && major >= 0 && major <= 0xfff && Number.isInteger(minor) && minor >= 0 && minor <= 0xfffff)) {
    throw new BuildError(`device ${major}:${minor} does not fit the 12-bit major / 20-bit minor encoding`);
  }
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

function writeInode(img: Uint8Array, dv: DataView, ino: Ino, bs: number, useFilter: boolean): void {
  const n = ino.node;
  const p = ino.pos;
  const perm = n.mode ?? (n.type === 'dir' ? 0o755 : n.type === 'symlink' ? 0o777 : 0o644);
  if (!(Number.isInteger(perm) && perm >= 0 && perm <= 0o7777)) throw new BuildError(`mode 0${perm.toString(8)} has bits outside 0o7777`);
  const imode = S_IF[n.type] | perm;
  let iu = 0;
  if (n.type === 'chardev' || n.type === 'blockdev') iu = encodeRdev(n.major, n.minor);
  else if (ino.layout === LAYOUT_CHUNK_BASED) iu = ino.chunkFormat; // chunk format: chunk bits, CHUNK_INDEXES
  else if (ino.layout === LAYOUT_COMPRESSED_FULL || ino.layout === LAYOUT_COMPRESSED_COMPACT) iu = ino.dataBlocks; // compressed blocks (st_blocks)
  else if (n.type === 'file' || n.type === 'symlink' || n.type === 'dir') iu = ino.startBlock;
  const icount = ino.xattrSize ? (ino.xattrSize - 12) / 4 + 1 : 0;
  const format = (ino.extended ? 1 : 0) | (ino.layout << 1);
  dv.setUint16(p, format, true);
  dv.setUint16(p + 2, icount, true);
  dv.setUint16(p + 4, imode, true);
  const ordinal = p / 32; // i_ino: any unique 32-bit number; the kernel reports the nid.
  if (ino.extended) {
    dv.setUint16(p + 6, 0, true);
    dv.setBigUint64(p + 8, BigInt(ino.size), true);
    dv.setUint32(p + 0x10, iu, true);
    dv.setUint32(p + 0x14, ordinal, true);
    dv.setUint32(p + 0x18, n.uid ?? 0, true);
    dv.setUint32(p + 0x1c, n.gid ?? 0, true);
    dv.setBigInt64(p + 0x20, BigInt(ino.mtime), true);
    dv.setUint32(p + 0x28, ino.nsec, true);
    dv.setUint32(p + 0x2c, ino.nlink, true);
  } else {
    dv.setUint16(p + 6, ino.nlink, true);
    dv.setUint32(p + 8, ino.size, true);
    dv.setUint32(p + 0x0c, 0, true);
    dv.setUint32(p + 0x10, iu, true);
    dv.setUint32(p + 0x14, ordinal, true);
    dv.setUint16(p + 0x18, n.uid ?? 0, true);
    dv.setUint16(p + 0x1a, n.gid ?? 0, true);
  }
  let at = p + (ino.extended ? 64 : 32);
  if (ino.xattrSize) {
    let filter = 0;
    if (useFilter) {
      let bits = 0;
      for (const e of ino.xattrs) bits |= 1 << (xxh32(e.suffix, (FILTER_SEED + e.index) >>> 0) & 31);
      filter = ~bits >>> 0;
    }
    dv.setUint32(at, filter, true);
    const sharedIds = ino.xattrs.filter((e) => e.id !== undefined).map((e) => e.id!).sort((a, b) => a - b);
    img[at + 4] = sharedIds.length;
    let q = at + 12;
    for (const id of sharedIds) {
      dv.setUint32(q, id, true);
      q += 4;
    }
    for (const e of ino.xattrs) if (e.id === undefined) q = writeXattrEntry(img, q, e);
    at += ino.xattrSize;
  }
  const content = n.type === 'dir' ? dirContent(ino, bs) : ino.data;
  if (ino.layout === LAYOUT_CHUNK_BASED) {
    // 4-byte block map entries or 8-byte chunk indexes {startblk_hi 0, device 0 (the
    // unified address space), startblk_lo}; chunk size = bs << chunkBits; holes are NULL_ADDR.
    const count = ino.chunkStarts.length;
    const indexes = (ino.chunkFormat & CHUNK_FORMAT_INDEXES) !== 0;
    let q = align(at, indexes ? 8 : 4);
    const size = bs * 2 ** (ino.chunkFormat & 0x1f);
    for (let k = 0; k < count; k++) {
      if (indexes) {
        dv.setUint32(q, 0, true);
        q += 4;
      }
      dv.setUint32(q, ino.chunkStarts[k], true);
      q += 4;
      if (!ino.chunkHoles[k]) {
        const chunk = content!.subarray(k * size, Math.min(ino.size, (k + 1) * size));
        img.set(chunk, ino.chunkStarts[k] * bs);
      }
    }
    return;
  }
  if (ino.layout === LAYOUT_COMPRESSED_FULL || ino.layout === LAYOUT_COMPRESSED_COMPACT) {
    writeCompressed(img, dv, ino, align(at, 8), bs);
    return;
  }
  if (!content || ino.size === 0) return;
  const full = ino.dataBlocks * bs;
  if (ino.dataBlocks) img.set(content.subarray(0, Math.min(full, ino.size)), ino.startBlock * bs);
  if (ino.layout === LAYOUT_FLAT_INLINE) img.set(content.subarray(full), at);
}

function dirContent(ino: Ino, bs: number): Uint8Array {
  const out = new Uint8Array(ino.size);
  const dv = new DataView(out.buffer);
  const starts = [...ino.dirBlockStarts, ino.children.length];
  for (let b = 0; b + 1 < starts.length; b++) {
    const base = b * bs;
    const first = starts[b];
    const count = starts[b + 1] - first;
    let nameoff = count * 12;
    for (let i = 0; i < count; i++) {
      const c = ino.children[first + i];
      const d = base + 12 * i;
      dv.setBigUint64(d, BigInt(c.ino.nid), true);
      dv.setUint16(d + 8, nameoff, true);
      out[d + 10] = FILE_TYPE[c.ino.node.type];
      out.set(c.name, base + nameoff);
      nameoff += c.name.length;
    }
  }
  return out;
}

/**
 * Cuts a file into one-block pclusters, each holding as much of the file as its LZ4 block
 * can take; a pcluster that would not decode to more than a block holds raw bytes instead
 * (PLAIN). Every extent but the last therefore covers at least a block, so no two extents
 * start in the same lcluster. Returns [] when compression saves no block.
 */
function compressLz4(data: Uint8Array, bs: number): ZExtent[] {
  const size = data.length;
  const blocks = Math.ceil(size / bs);
  if (blocks <= 1) return [];
  const buf = new Uint8Array(lz4Bound(bs));
  const out: ZExtent[] = [];
  for (let pos = 0; pos < size; ) {
    // The encoder reads only as far as its block fills: about 255 bytes of input per byte at most.
    const r = lz4CompressFill(data, pos, size, buf, bs);
    if (r.consumed > bs) {
      out.push({ logical: pos, length: r.consumed, stream: buf.slice(0, r.written), block: 0 });
      pos += r.consumed;
    } else {
      let n = Math.min(bs, size - pos);
      // The kernel takes a PLAIN extent to reach the end of the lcluster being read (it
      // clamps to i_size only with tail packing) and refuses one longer than its block: the
      // last extent must not cross into another lcluster, so it is cut at the boundary.
      if (pos + n === size && Math.floor(pos / bs) !== Math.floor((size - 1) / bs)) n = bs - (pos % bs);
      out.push({ logical: pos, length: n, stream: undefined, block: 0 });
      pos += n;
    }
    if (out.length >= blocks) return [];
  }
  return out;
}

/**
 * Full lcluster indexes (8 bytes per block of the file) after the 16-byte map header, and
 * the pclusters: LZ4 streams right-aligned behind zero padding, raw bytes from the start.
 */
function writeCompressed(img: Uint8Array, dv: DataView, ino: Ino, hp: number, bs: number): void {
  // Map header: no fragment/inline data, advise 0, algorithm 0 (LZ4), lclusterbits = blkszbits.
  img.fill(0, hp, hp + 16);
  const data = ino.data!;
  const count = Math.ceil(ino.size / bs);
  const exts = ino.zExtents;
  const compact = ino.layout === LAYOUT_COMPRESSED_COMPACT;
  let k = 0; // extent covering the start of lcluster lcn
  for (let lcn = 0; lcn < count; lcn++) {
    while (k + 1 < exts.length && Math.floor(exts[k + 1].logical / bs) <= lcn) k++;
    const e = exts[k];
    const headLcn = Math.floor(e.logical / bs);
    if (compact) {
      // Pack p (lclusters 2p, 2p+1) at hp + 8 + 8p: two 16-bit fields {lo: 12 bits, type: 2
      // bits}, then the pack's base block: its first HEAD's block - 1 (a HEAD's block is
      // base + 1 + the HEADs before it in the pack). lo is clusterofs for a HEAD, delta[0]
      // for a NONHEAD, except in a pack's last slot, where a NONHEAD stores delta[1].
      const pack = hp + 8 + 8 * (lcn >> 1);
      const slot = lcn & 1;
      let field: number;
      if (headLcn === lcn) {
        field = ((e.stream ? 1 : 0) << 12) | (e.logical % bs);
        if (slot === 0 || dv.getUint16(pack, true) >> 12 === 2) dv.setUint32(pack + 4, e.block - 1, true);
      } else {
        const nextHead = k + 1 < exts.length ? Math.floor(exts[k + 1].logical / bs) : count;
        const lo = slot === 1 ? Math.min(nextHead - lcn, 2047) : lcn - headLcn;
        if (lo > 2047) throw new BuildError('compressed extent spans more than 2047 lclusters (compact indexes)');
        field = (2 << 12) | lo;
      }
      dv.setUint16(pack + 2 * slot, field, true);
      if (lcn === count - 1 && slot === 0) dv.setUint16(pack + 2, (2 << 12) | 1, true); // padding: a NONHEAD
      continue;
    }
    const at = hp + 16 + 8 * lcn;
    if (headLcn === lcn) {
      dv.setUint16(at, e.stream ? 1 : 0, true); // HEAD1 (LZ4) or PLAIN
      dv.setUint16(at + 2, e.logical % bs, true); // clusterofs
      dv.setUint32(at + 4, e.block, true);
    } else {
      const nextHead = k + 1 < exts.length ? Math.floor(exts[k + 1].logical / bs) : count;
      dv.setUint16(at, 2, true); // NONHEAD
      dv.setUint16(at + 2, 0, true);
      dv.setUint16(at + 4, lcn - headLcn, true); // delta[0]: back to the HEAD
      dv.setUint16(at + 6, nextHead - lcn, true); // delta[1]: on to the next HEAD (or EOF)
    }
  }
  for (const e of exts) {
    if (e.stream) img.set(e.stream, (e.block + 1) * bs - e.stream.length);
    else img.set(data.subarray(e.logical, e.logical + e.length), e.block * bs);
  }
}
