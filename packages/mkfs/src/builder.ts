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
 *
 * Two passes over an InodeTable (table.ts), so that memory stays bounded by the metadata,
 * not the content:
 *   plan   every inode's position, layout and data blocks. Only sizes and names decide
 *          them, except for the chunk layout (which chunks are all zeros) and LZ4 (where
 *          the pclusters end): those files are read here, chunk by chunk or through a
 *          window of one pcluster's reach, and only the decisions are kept.
 *   write  the image from its first byte to its last, through a buffer (ImageSink gets
 *          contiguous pieces in order): superblock, xattr pool, inodes with their inline
 *          tails, then each file's blocks read from the ContentSource as they are written
 *          (LZ4 files compressed again, pcluster by pcluster; the plan's cut points are
 *          checked, so a file that changed in between is an error, not a corrupt image).
 */
import { crc32c, xxh32 } from '@erofs-js/erofs';
import { lz4CompressFill, lz4Bound } from './lz4.js';
import { BuildError, DIR, FILE, SYMLINK, CHARDEV, BLOCKDEV, latin, treeSource, type BuildSource, type InodeTable, type Xattr } from './table.js';
import type { DirNode } from './tree.js';

export { BuildError };

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
  /**
   * Called as the image is written (after the plan, which reads compressed and sparse
   * files once already): bytes written so far and the image size. For progress displays.
   */
  onProgress?(written: number, total: number): void;
}

/**
 * Where a streamed image goes. The builder calls write with contiguous pieces in order:
 * each starts where the previous ended, the first at 0, the last ends at the image size.
 * A piece's bytes are only valid during the call.
 */
export interface ImageSink {
  write(bytes: Uint8Array, position: number): void;
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
const INCOMPAT_DEVICE_TABLE = 0x8;
/** Bytes of one device table slot (tag[64], blocks, uniaddr, ...), right after the superblock. */
const DEVICE_SLOT = 128;
const LAYOUT_FLAT_PLAIN = 0;
const LAYOUT_COMPRESSED_FULL = 1;
const LAYOUT_COMPRESSED_COMPACT = 3;
const LAYOUT_FLAT_INLINE = 2;
const LAYOUT_CHUNK_BASED = 4;
const FILTER_SEED = 0x25bbe08f;
const CHUNK_FORMAT_INDEXES = 0x20;
/** S_IF* by inode kind (table.ts KIND). */
const S_IF = [0, 0o100000, 0o040000, 0o020000, 0o060000, 0o010000, 0o140000, 0o120000];
/** Bytes of file content read or written per step. */
const PIECE = 1 << 18;
/** Size of the write buffer of a streamed image. */
const WRITE_BUFFER = 1 << 20;

const utf8 = new TextEncoder();

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function xattrEntrySize(e: Xattr): number {
  return align(4 + e.suffix.length + e.value.length, 4);
}

/** The most common value (ties: the smallest), or undefined for an empty list. Sorts `values`. */
function mostCommon(values: Float64Array): number | undefined {
  values.sort();
  let best: number | undefined;
  let bestN = 0;
  for (let i = 0; i < values.length; ) {
    let j = i + 1;
    while (j < values.length && values[j] === values[i]) j++;
    if (j - i > bestN) [best, bestN] = [values[i], j - i];
    i = j;
  }
  return best;
}

/** A growable column of numbers (pcluster starts, chunk holes). */
class Pool {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/**
 * A file's bytes [pos, pos + want) as one contiguous range, read ahead through a buffer of
 * twice `want` (or viewed in place when the content is in memory). Successive views of a
 * file move forward.
 */
class Window {
  private buf = new Uint8Array(0);
  private ino = -1;
  private lo = 0;
  private hi = 0;
  constructor(private readonly content: ContentReader) {}

  view(ino: number, size: number, pos: number, want: number): [Uint8Array, number, number] {
    const end = Math.min(size, pos + want);
    const whole = this.content.bytes(ino);
    if (whole) return [whole, pos, end];
    if (this.buf.length < 2 * want) {
      this.buf = new Uint8Array(2 * want);
      this.ino = -1;
    }
    if (ino !== this.ino || pos < this.lo || pos > this.hi) {
      this.ino = ino;
      this.lo = this.hi = pos;
    }
    if (end > this.hi) {
      this.buf.copyWithin(0, pos - this.lo, this.hi - this.lo);
      this.lo = pos;
      const to = Math.min(size, pos + this.buf.length);
      this.content.read(ino, this.hi, this.buf.subarray(this.hi - pos, to - pos));
      this.hi = to;
    }
    return [this.buf, pos - this.lo, end - this.lo];
  }
}

/** The ContentSource with its optional part made total. */
interface ContentReader {
  read(ino: number, position: number, dest: Uint8Array): void;
  bytes(ino: number): Uint8Array | undefined;
}

/**
 * Cuts a file into one-block pclusters, each holding as much of the file as its LZ4 block
 * can take; a pcluster that would not decode to more than a block holds raw bytes instead
 * (PLAIN). Every extent but the last therefore covers at least a block, so no two extents
 * start in the same lcluster. Calls `extent(logical, length, stream, written)` (stream
 * undefined for PLAIN; its bytes valid during the call) and returns false as soon as
 * compression cannot save a block.
 *
 * Each block is offered at most 256 blocks of input (more than one block of LZ4 can
 * describe), so a block depends on a bounded window of the file and the same window gives
 * the same block, read whole or in pieces.
 */
function lz4Pclusters(
  win: Window, ino: number, size: number, bs: number, zbuf: Uint8Array,
  extent: (logical: number, length: number, stream: Uint8Array | undefined, raw: [Uint8Array, number]) => void,
): boolean {
  const blocks = Math.ceil(size / bs);
  if (blocks <= 1) return false;
  const span = 256 * bs;
  let count = 0;
  for (let pos = 0; pos < size; ) {
    const [data, start, end] = win.view(ino, size, pos, span);
    const r = lz4CompressFill(data, start, end, zbuf, bs);
    if (r.consumed > bs) {
      extent(pos, r.consumed, zbuf.subarray(0, r.written), [data, start]);
      pos += r.consumed;
    } else {
      let n = Math.min(bs, size - pos);
      // The kernel takes a PLAIN extent to reach the end of the lcluster being read (it
      // clamps to i_size only with tail packing) and refuses one longer than its block: the
      // last extent must not cross into another lcluster, so it is cut at the boundary.
      if (pos + n === size && Math.floor(pos / bs) !== Math.floor((size - 1) / bs)) n = bs - (pos % bs);
      extent(pos, n, undefined, [data, start]);
      pos += n;
    }
    if (++count >= blocks) return false;
  }
  return true;
}

/**
 * The image being written, front to back: a buffer that is passed to the sink when a
 * later position is asked for (or, in memory, the whole image). Block 0 stays buffered
 * until its bytes are final, so the superblock checksum is filled in before it leaves.
 */
class Writer {
  buf: Uint8Array;
  dv: DataView;
  private base = 0;
  private used = 0;
  private headDone = false;

  constructor(
    private readonly sink: ImageSink | undefined,
    buf: Uint8Array,
    private readonly headEnd: number,
    private readonly head: (buf: Uint8Array) => void,
  ) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Index in `buf` of image position `pos`, with `len` bytes from there in the buffer (zeros until written). */
  at(pos: number, len: number): number {
    let i = pos - this.base;
    if (i < 0) throw new Error(`Writer: position ${pos} is behind the stream (bug)`);
    if (i + len > this.buf.length) {
      if (!this.sink) throw new Error(`Writer: position ${pos + len} beyond the image (bug)`);
      if (this.base === 0 && pos < this.headEnd) {
        this.resize(i + len);
      } else {
        this.flushTo(pos);
        i = 0;
        if (len > this.buf.length) this.resize(len);
      }
    }
    if (i + len > this.used) this.used = i + len;
    return i;
  }

  /** Writes everything up to `total`, the image size. */
  finish(total: number): void {
    if (!this.sink) {
      this.head(this.buf);
      return;
    }
    this.flushTo(total);
  }

  private resize(len: number): void {
    const b = new Uint8Array(Math.max(len, this.buf.length * 2));
    b.set(this.buf.subarray(0, this.used));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  private flushTo(pos: number): void {
    const sink = this.sink!;
    if (!this.headDone) {
      if (this.buf.length < this.headEnd) this.resize(this.headEnd);
      this.head(this.buf);
      this.headDone = true;
    }
    const m = Math.min(pos - this.base, this.buf.length);
    if (m > 0) sink.write(this.buf.subarray(0, m), this.base);
    this.buf.fill(0, 0, this.used);
    this.used = 0;
    // A gap longer than the buffer (a run of holes): zeros from the cleared buffer.
    for (let at = this.base + m; at < pos; ) {
      const k = Math.min(pos - at, this.buf.length);
      sink.write(this.buf.subarray(0, k), at);
      at += k;
    }
    this.base = pos;
  }
}

/** Builds an EROFS image in memory from a tree whose root is a directory, or from a build source (a scanned directory, a tar). */
export function buildImage(root: DirNode | BuildSource, options: BuildOptions = {}): Uint8Array {
  const plan = new Plan('table' in root ? root : treeSource(root), options);
  const img = new Uint8Array(plan.totalBlocks * plan.bs);
  plan.write(undefined, img);
  return img;
}

/**
 * Builds an EROFS image of `source` into `sink`, front to back (see ImageSink), holding
 * the metadata and about a megabyte of content at a time (`bufferBytes`, the write
 * buffer: it grows when one inode's metadata needs more). Returns the image size in bytes.
 */
export function buildImageTo(source: BuildSource, sink: ImageSink, options: BuildOptions = {}, bufferBytes = WRITE_BUFFER): number {
  const plan = new Plan(source, options);
  const total = plan.totalBlocks * plan.bs;
  const report = options.onProgress;
  const out: ImageSink = report
    ? {
        write(bytes, position) {
          sink.write(bytes, position);
          report(position + bytes.length, total);
        },
      }
    : sink;
  plan.write(out, new Uint8Array(bufferBytes));
  return total;
}

/** Per xattr set: ibody size, sorted shared ids, inline entries, name filter. */
interface XattrBody {
  size: number;
  shared: number[];
  inline: Xattr[];
  filter: number;
}

/** The image's layout, decided before a byte is written. */
class Plan {
  readonly bs: number;
  readonly totalBlocks: number;
  private readonly t: InodeTable;
  private readonly content: ContentReader;
  private readonly opts: BuildOptions;
  private readonly useFilter: boolean;
  private readonly checksum: boolean;
  private readonly epoch: number;
  private readonly fixedNsec: number;
  private readonly chunkSize: number;

  // Per inode.
  private readonly nlink: Uint32Array;
  private readonly mtime: Float64Array;
  private readonly nsec: Uint32Array;
  private readonly extended: Uint8Array;
  private readonly layout: Uint8Array;
  private readonly pos: Float64Array;
  /** Inode, xattr body and what follows it (tail, chunk table, lcluster indexes). */
  private readonly body: Uint32Array;
  private readonly startBlock: Uint32Array;
  private readonly dataBlocks: Uint32Array;
  /** CHUNK_BASED: hole flags; COMPRESSED: pcluster starts * 2 + 1 for LZ4, + 0 for PLAIN. At `aux` in `extents`. */
  private readonly aux: Float64Array;
  private readonly auxN: Uint32Array;
  private readonly extents = new Pool();
  /** Files whose data is on extra device 1: its first block there (NaN: none), and the chunk bits. */
  private readonly extBlock: Float64Array;
  private readonly extBits: Uint8Array;
  private readonly devices: { size: number; tag?: string }[];

  private readonly xattrBodies: XattrBody[] = [];
  private readonly sharedPool: Xattr[] = [];
  private anyXattr = false;
  private anyChunked = false;
  private anyCompressed = false;

  private readonly win: Window;
  private readonly zbuf: Uint8Array;

  constructor(source: BuildSource, options: BuildOptions) {
    const bs = (this.bs = options.blockSize ?? 4096);
    if (!(bs >= 512 && bs <= 4096 && (bs & (bs - 1)) === 0)) throw new BuildError(`block size ${bs} is not a power of two in 512..4096`);
    const blkszbits = Math.log2(bs);
    this.opts = options;
    this.useFilter = options.xattrFilter ?? true;
    this.checksum = options.checksum ?? bs === 4096;
    if (options.compression !== undefined && options.compression !== 'lz4') throw new BuildError(`unknown compression ${JSON.stringify(options.compression)}`);
    if (options.chunkBits !== undefined && !(Number.isInteger(options.chunkBits) && options.chunkBits >= 0 && options.chunkBits <= 31 - blkszbits)) {
      throw new BuildError(`chunkBits ${options.chunkBits} out of range`);
    }
    this.chunkSize = options.chunkBits === undefined ? 0 : bs * 2 ** options.chunkBits;
    const t = (this.t = source.table);
    const c = source.content;
    this.content = { read: (i, p, d) => c.read(i, p, d), bytes: (i) => c.bytes?.(i) };
    this.win = new Window(this.content);
    this.zbuf = new Uint8Array(lz4Bound(bs));
    const n = t.inodes;
    if (n === 0 || t.kind[0] !== DIR) throw new BuildError('the root must be a directory');
    this.nlink = new Uint32Array(n);
    this.mtime = new Float64Array(n);
    this.nsec = new Uint32Array(n);
    this.extended = new Uint8Array(n);
    this.layout = new Uint8Array(n);
    this.pos = new Float64Array(n);
    this.body = new Uint32Array(n);
    this.startBlock = new Uint32Array(n).fill(NULL_ADDR);
    this.dataBlocks = new Uint32Array(n);
    this.aux = new Float64Array(n);
    this.auxN = new Uint32Array(n);
    this.extBlock = new Float64Array(n).fill(NaN);
    this.extBits = new Uint8Array(n);
    this.devices = source.devices ?? [];
    if (this.devices.length > 0xffff || SB_OFFSET + SB_SIZE + DEVICE_SLOT * this.devices.length > (bs > SB_OFFSET ? bs : SB_OFFSET + bs)) {
      throw new BuildError(`${this.devices.length} devices do not fit the device table`);
    }

    // ---- 1. Links: non-directories count their entries, directories 2 + subdirectories.
    for (let e = 0; e < t.entries; e++) {
      const i = t.target[e];
      if (t.kind[i] !== DIR) this.nlink[i]++;
    }
    for (let i = 0; i < n; i++) {
      if (t.kind[i] !== DIR) continue;
      let subdirs = 0;
      const first = t.a[i];
      for (let e = first; e < first + t.b[i]; e++) if (t.kind[t.target[e]] === DIR) subdirs++;
      this.nlink[i] = 2 + subdirs;
      t.size[i] = this.dirSize(i);
    }

    // ---- 2. Times and inode form.
    let given = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(t.mtime[i])) given++;
    const times = new Float64Array(given);
    for (let i = 0, k = 0; i < n; i++) if (!Number.isNaN(t.mtime[i])) times[k++] = t.mtime[i];
    const epoch = (this.epoch = options.epoch ?? mostCommon(times) ?? 0);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new BuildError(`epoch ${epoch} is not a non-negative integer`);
    if (options.fixedNsec !== undefined) this.fixedNsec = options.fixedNsec;
    else {
      let atEpoch = 0;
      for (let i = 0; i < n; i++) if ((Number.isNaN(t.mtime[i]) ? epoch : t.mtime[i]) === epoch) atEpoch++;
      const nsecs = new Float64Array(atEpoch);
      for (let i = 0, k = 0; i < n; i++) if ((Number.isNaN(t.mtime[i]) ? epoch : t.mtime[i]) === epoch) nsecs[k++] = Math.max(0, t.nsec[i]);
      this.fixedNsec = mostCommon(nsecs) ?? 0;
    }
    for (let i = 0; i < n; i++) {
      const given = !Number.isNaN(t.mtime[i]);
      const mtime = given ? t.mtime[i] : epoch;
      const nsec = t.nsec[i] >= 0 ? t.nsec[i] : given ? 0 : this.fixedNsec;
      if (!Number.isSafeInteger(mtime) || !(nsec >= 0 && nsec < 1e9 && Number.isInteger(nsec))) throw new BuildError(`bad mtime ${mtime}.${nsec}`);
      this.mtime[i] = mtime;
      this.nsec[i] = nsec;
      this.extended[i] = t.size[i] >= 2 ** 32 || t.uid[i] > 0xffff || t.gid[i] > 0xffff || this.nlink[i] > 0xffff || mtime !== epoch || nsec !== this.fixedNsec ? 1 : 0;
    }

    // ---- 3. Xattrs: shared when `shareXattrsAt` inodes carry the same name and value.
    const shareAt = options.shareXattrsAt ?? 2;
    const sets = t.xattrSets;
    const users = new Array<number>(sets.length).fill(0);
    for (let i = 0; i < n; i++) if (t.xattrs[i] >= 0) users[t.xattrs[i]]++;
    const shareCount = new Map<string, number>();
    sets.forEach((set, s) => {
      for (const e of set) shareCount.set(e.key, (shareCount.get(e.key) ?? 0) + users[s]);
    });
    let pos = SB_OFFSET + SB_SIZE + DEVICE_SLOT * this.devices.length;
    const sharedId = new Map<string, number>();
    const bodyDone = new Uint8Array(sets.length);
    for (let i = 0; i < n; i++) {
      const s = t.xattrs[i];
      if (s < 0 || bodyDone[s]) continue;
      bodyDone[s] = 1;
      for (const e of sets[s]) {
        if ((shareCount.get(e.key) ?? 0) < shareAt || sharedId.has(e.key)) continue;
        sharedId.set(e.key, pos / 4);
        this.sharedPool.push(e);
        pos += xattrEntrySize(e);
      }
    }
    for (const set of sets) {
      this.anyXattr = true;
      let size = 12;
      const shared: number[] = [];
      const inline: Xattr[] = [];
      let bits = 0;
      for (const e of set) {
        const id = sharedId.get(e.key);
        if (id !== undefined && shared.length < 255) {
          shared.push(id);
          size += 4;
        } else {
          inline.push(e);
          size += xattrEntrySize(e);
        }
        bits |= 1 << (xxh32(e.suffix, (FILTER_SEED + e.index) >>> 0) & 31);
      }
      if ((size - 12) / 4 + 1 > 0xffff) throw new BuildError('xattrs of one inode exceed the 256 KiB ibody limit');
      shared.sort((p, q) => p - q);
      this.xattrBodies.push({ size, shared, inline, filter: this.useFilter ? ~bits >>> 0 : 0 });
    }

    // ---- 4. Metadata layout: positions, NIDs, inline decisions (reading the files whose
    // layout depends on their content).
    pos = align(pos, 32);
    for (let i = 0; i < n; i++) {
      const isz = this.extended[i] ? 64 : 32;
      const xsize = t.xattrs[i] >= 0 ? this.xattrBodies[t.xattrs[i]].size : 0;
      // An extended inode may straddle blocks for the kernel, but keeping it whole is simpler for every reader.
      if (this.extended[i] && (pos % bs) + 64 > bs) pos = align(pos, bs);
      let extra = 0;
      let layout = LAYOUT_FLAT_PLAIN;
      const kind = t.kind[i];
      const size = t.size[i];
      const ext = kind === FILE && size > 0 ? c.external?.(i) : undefined;
      if (ext !== undefined) {
        // Data on device 1: chunk indexes {0, device 1, block}, one chunk of the smallest
        // power of two covering the file (mkfs.erofs --tar=i), capped at the 5-bit chunkbits.
        if (!this.devices.length) throw new BuildError(`file ${this.describe(i)} is on a device but the source has no devices`);
        if (!(Number.isSafeInteger(ext) && ext >= 0 && ext % bs === 0)) throw new BuildError(`file ${this.describe(i)}: its data at byte ${ext} of the device is not ${bs}-byte aligned`);
        if (ext + size > this.devices[0].size) throw new BuildError(`file ${this.describe(i)}: its data ends past the device's ${this.devices[0].size} bytes`);
        const bits = Math.min(31, Math.max(0, Math.ceil(Math.log2(size)) - blkszbits));
        const count = Math.ceil(size / (bs * 2 ** bits));
        if (ext / bs + Math.ceil(size / bs) > 0xffffffff) throw new BuildError(`file ${this.describe(i)}: device block beyond 2^32`);
        layout = LAYOUT_CHUNK_BASED;
        this.anyChunked = true;
        this.extBlock[i] = ext / bs;
        this.extBits[i] = bits;
        this.auxN[i] = count;
        extra = align(pos + isz + xsize, 8) - (pos + isz + xsize) + 8 * count;
      } else if ((kind === FILE || kind === SYMLINK || kind === DIR) && size > 0) {
        const tail = size % bs;
        if (this.chunkSize && kind === FILE && this.findHoles(i)) {
          layout = LAYOUT_CHUNK_BASED;
          this.anyChunked = true;
          const unit = options.chunkIndexes ? 8 : 4;
          const tablePos = align(pos + isz + xsize, unit);
          extra = tablePos - (pos + isz + xsize) + unit * this.auxN[i];
        } else if (options.compression && kind === FILE && this.findPclusters(i)) {
          this.anyCompressed = true;
          const ibase = pos + isz + xsize;
          const lclusters = Math.ceil(size / bs);
          if (options.compressedIndexes === 'compact') {
            // 8-aligned map header, then 8-byte packs of two 4-byte entries.
            layout = LAYOUT_COMPRESSED_COMPACT;
            extra = align(ibase, 8) - ibase + 8 + 8 * Math.ceil(lclusters / 2);
          } else {
            // 8-aligned map header (8 bytes), 8 reserved bytes, then one 8-byte index per block.
            layout = LAYOUT_COMPRESSED_FULL;
            extra = align(ibase, 8) - ibase + 16 + 8 * lclusters;
          }
        } else if ((options.inlineData ?? true) && tail > 0) {
          const fits = (p: number) => ((p + isz + xsize) % bs) + tail <= bs;
          if (!fits(pos) && isz + xsize + tail <= bs) pos = align(pos, bs);
          if (fits(pos)) {
            layout = LAYOUT_FLAT_INLINE;
            extra = tail;
          }
        }
      }
      this.layout[i] = layout;
      this.pos[i] = pos;
      this.body[i] = isz + xsize + extra;
      pos = align(pos + isz + xsize + extra, 32);
    }
    if (this.pos[0] / 32 > 0xffff) throw new BuildError(`root nid ${this.pos[0] / 32} does not fit in 16 bits`);

    // ---- 5. Data blocks after the metadata.
    let block = Math.ceil(pos / bs);
    for (let i = 0; i < n; i++) {
      const layout = this.layout[i];
      const size = t.size[i];
      if (!Number.isNaN(this.extBlock[i])) continue;
      if (layout === LAYOUT_CHUNK_BASED) {
        this.startBlock[i] = block;
        const cs = this.chunkSize;
        for (let k = 0; k < this.auxN[i]; k++) if (!this.extents.data[this.aux[i] + k]) block += Math.ceil(Math.min(cs, size - k * cs) / bs);
        continue;
      }
      if (layout === LAYOUT_COMPRESSED_FULL || layout === LAYOUT_COMPRESSED_COMPACT) {
        this.startBlock[i] = block;
        this.dataBlocks[i] = this.auxN[i];
        block += this.auxN[i];
        continue;
      }
      const kind = t.kind[i];
      if (!(kind === FILE || kind === SYMLINK || kind === DIR) || size === 0) continue;
      const blocks = layout === LAYOUT_FLAT_INLINE ? Math.floor(size / bs) : Math.ceil(size / bs);
      this.dataBlocks[i] = blocks;
      if (blocks > 0) {
        this.startBlock[i] = block;
        block += blocks;
      }
    }
    if (block > 0xffffffff) throw new BuildError('image larger than 2^32 blocks');
    this.totalBlocks = block;
    if (options.uuid && options.uuid.length !== 16) throw new BuildError('uuid must be 16 bytes');
    if (options.volumeName && utf8.encode(options.volumeName).length > 16) throw new BuildError('volume name longer than 16 bytes');
  }

  /** Chunk layout: records which chunks are all zeros; false (nothing kept) when none is. */
  private findHoles(i: number): boolean {
    const size = this.t.size[i];
    const cs = this.chunkSize;
    const mark = this.extents.length;
    let any = false;
    const whole = this.content.bytes(i);
    const piece = whole ? undefined : new Uint8Array(Math.min(PIECE, size));
    for (let s = 0; s < size; s += cs) {
      const end = Math.min(size, s + cs);
      let zero = true;
      for (let p = s; p < end && zero; p += PIECE) {
        const q = Math.min(end, p + PIECE);
        let b: Uint8Array;
        if (whole) b = whole.subarray(p, q);
        else {
          b = piece!.subarray(0, q - p);
          this.content.read(i, p, b);
        }
        for (let k = 0; k < b.length; k++) if (b[k] !== 0) { zero = false; break; }
      }
      this.extents.push(zero ? 1 : 0);
      any ||= zero;
    }
    if (!any) {
      this.extents.length = mark;
      return false;
    }
    this.aux[i] = mark;
    this.auxN[i] = this.extents.length - mark;
    return true;
  }

  /** LZ4: records the pclusters; false (nothing kept) when compression saves no block. */
  private findPclusters(i: number): boolean {
    const mark = this.extents.length;
    const ok = lz4Pclusters(this.win, i, this.t.size[i], this.bs, this.zbuf, (logical, _len, stream) => this.extents.push(logical * 2 + (stream ? 1 : 0)));
    if (!ok) {
      this.extents.length = mark;
      return false;
    }
    this.aux[i] = mark;
    this.auxN[i] = this.extents.length - mark;
    return true;
  }

  // ---- directories ------------------------------------------------------------------------

  /**
   * Directory d's entries in on-disk order with "." and ".." merged in: for each, the
   * entry's index in the table, or -1 for "." and -2 for "..". Names below "." (first byte
   * < 0x2e) come first, then ".", then names starting with "." whose second byte is below
   * "." (".-"), then "..", then the rest.
   */
  private dirOrder(d: number): Int32Array {
    const t = this.t;
    const first = t.a[d];
    const n = t.b[d];
    let k1 = 0;
    while (k1 < n && t.pool[t.nameAt[first + k1]] < 0x2e) k1++;
    let k2 = k1;
    while (k2 < n && t.pool[t.nameAt[first + k2]] === 0x2e && t.nameLen[first + k2] > 1 && t.pool[t.nameAt[first + k2] + 1] < 0x2e) k2++;
    const order = new Int32Array(n + 2);
    for (let m = 0; m < n + 2; m++) order[m] = m < k1 ? first + m : m === k1 ? -1 : m <= k2 ? first + m - 1 : m === k2 + 1 ? -2 : first + m - 2;
    return order;
  }

  private nameLength(e: number): number {
    return e === -1 ? 1 : e === -2 ? 2 : this.t.nameLen[e];
  }

  /** Calls fn(block, first, end, used) for each block of directory d: entries [first, end) of `order`, never straddling a block. */
  private dirBlocks(order: Int32Array, fn: (block: number, first: number, end: number, used: number) => void): void {
    let used = 0;
    let start = 0;
    let b = 0;
    for (let m = 0; m < order.length; m++) {
      const need = 12 + this.nameLength(order[m]);
      if (m > 0 && used + need > this.bs) {
        fn(b++, start, m, used);
        start = m;
        used = 0;
      }
      used += need;
    }
    fn(b, start, order.length, used);
  }

  private dirSize(d: number): number {
    let size = 0;
    this.dirBlocks(this.dirOrder(d), (b, _first, _end, used) => (size = b * this.bs + used));
    return size;
  }

  /** Writes the directory block of entries [first, end) of `order` (directory d) at out[o..]. */
  private dirBlock(d: number, order: Int32Array, first: number, end: number, out: Uint8Array, dv: DataView, o: number): void {
    const t = this.t;
    let nameoff = (end - first) * 12;
    for (let m = first; m < end; m++) {
      const e = order[m];
      const ino = e === -1 ? d : e === -2 ? t.parent[d] : t.target[e];
      const p = o + 12 * (m - first);
      dv.setBigUint64(p, BigInt(this.pos[ino] / 32), true);
      dv.setUint16(p + 8, nameoff, true);
      out[p + 10] = t.kind[ino];
      if (e < 0) out.fill(0x2e, o + nameoff, o + nameoff - e);
      else for (let k = 0, at = t.nameAt[e], len = t.nameLen[e]; k < len; k++) out[o + nameoff + k] = t.pool[at + k];
      nameoff += this.nameLength(e);
    }
  }

  // ---- writing ------------------------------------------------------------------------------

  write(sink: ImageSink | undefined, buf: Uint8Array): void {
    const bs = this.bs;
    const t = this.t;
    const headEnd = bs > SB_OFFSET ? bs : SB_OFFSET + bs;
    const w = new Writer(sink, buf, headEnd, (b) => {
      if (!this.checksum) return;
      const dv = new DataView(b.buffer, b.byteOffset);
      dv.setUint32(SB_OFFSET + 4, crc32c(0xffffffff, b.subarray(SB_OFFSET, headEnd)), true);
    });
    this.writeSuperblock(w);
    let xp = SB_OFFSET + SB_SIZE + DEVICE_SLOT * this.devices.length;
    for (const e of this.sharedPool) {
      this.writeXattrEntry(w, w.at(xp, xattrEntrySize(e)), e);
      xp += xattrEntrySize(e);
    }
    for (let i = 0; i < t.inodes; i++) this.writeInode(w, i);
    for (let i = 0; i < t.inodes; i++) this.writeData(w, i);
    w.finish(this.totalBlocks * bs);
  }

  private writeSuperblock(w: Writer): void {
    const o = this.opts;
    const sb = w.at(SB_OFFSET, SB_SIZE);
    const img = w.buf;
    const dv = w.dv;
    const compat = (this.checksum ? COMPAT_SB_CHKSUM : 0) | COMPAT_MTIME | (this.useFilter && this.anyXattr ? COMPAT_XATTR_FILTER : 0);
    dv.setUint32(sb + 0x00, MAGIC, true);
    dv.setUint32(sb + 0x08, compat, true);
    img[sb + 0x0c] = Math.log2(this.bs);
    img[sb + 0x0d] = 0;
    dv.setUint16(sb + 0x0e, this.pos[0] / 32, true);
    dv.setBigUint64(sb + 0x10, BigInt(this.t.inodes), true);
    dv.setBigUint64(sb + 0x18, BigInt(this.epoch), true);
    dv.setUint32(sb + 0x20, this.fixedNsec, true);
    dv.setUint32(sb + 0x24, this.totalBlocks, true);
    dv.setUint32(sb + 0x28, 0, true); // meta_blkaddr
    dv.setUint32(sb + 0x2c, 0, true); // xattr_blkaddr
    if (o.uuid) img.set(o.uuid, sb + 0x30);
    if (o.volumeName) img.set(utf8.encode(o.volumeName), sb + 0x40);
    const ndev = this.devices.length;
    dv.setUint32(sb + 0x50, (this.anyChunked ? INCOMPAT_CHUNKED_FILE : 0) | (this.anyCompressed ? INCOMPAT_ZERO_PADDING : 0) | (ndev ? INCOMPAT_DEVICE_TABLE : 0), true);
    // Without COMPR_CFGS this field is lz4_max_distance: our encoder's window, as mkfs writes it.
    if (this.anyCompressed) dv.setUint16(sb + 0x54, 65535, true);
    if (ndev) {
      // The device table right after the superblock; each device placed after the primary
      // one in the unified address space (as mkfs.erofs does), though chunk indexes name it.
      const at = SB_OFFSET + SB_SIZE;
      dv.setUint16(sb + 0x56, ndev, true);
      dv.setUint16(sb + 0x58, at / DEVICE_SLOT, true);
      let uniaddr = this.totalBlocks;
      this.devices.forEach((d, k) => {
        const slot = w.at(at + DEVICE_SLOT * k, DEVICE_SLOT);
        const tag = utf8.encode(d.tag ?? '');
        if (tag.length > 64) throw new BuildError(`device tag ${JSON.stringify(d.tag)} longer than 64 bytes`);
        const blocks = Math.ceil(d.size / this.bs);
        if (blocks > 0xffffffff || uniaddr > 0xffffffff) throw new BuildError(`device ${k + 1} of ${blocks} blocks does not fit 32-bit block numbers`);
        w.buf.set(tag, slot);
        w.dv.setUint32(slot + 64, blocks, true);
        w.dv.setUint32(slot + 68, uniaddr, true);
        uniaddr += blocks;
      });
    }
  }

  private writeXattrEntry(w: Writer, at: number, e: Xattr): number {
    const img = w.buf;
    img[at] = e.suffix.length;
    img[at + 1] = e.index;
    img[at + 2] = e.value.length & 0xff;
    img[at + 3] = e.value.length >>> 8;
    img.set(e.suffix, at + 4);
    img.set(e.value, at + 4 + e.suffix.length);
    return at + xattrEntrySize(e);
  }

  private writeInode(w: Writer, i: number): void {
    const t = this.t;
    const bs = this.bs;
    const kind = t.kind[i];
    const layout = this.layout[i];
    const ext = this.extended[i] === 1;
    const size = t.size[i];
    const p = w.at(this.pos[i], this.body[i]);
    const img = w.buf;
    const dv = w.dv;
    let iu = 0;
    if (kind === CHARDEV || kind === BLOCKDEV) iu = t.b[i];
    else if (!Number.isNaN(this.extBlock[i])) iu = this.extBits[i] | CHUNK_FORMAT_INDEXES;
    else if (layout === LAYOUT_CHUNK_BASED) iu = this.opts.chunkBits! | (this.opts.chunkIndexes ? CHUNK_FORMAT_INDEXES : 0);
    else if (layout === LAYOUT_COMPRESSED_FULL || layout === LAYOUT_COMPRESSED_COMPACT) iu = this.dataBlocks[i]; // compressed blocks (st_blocks)
    else if (kind === FILE || kind === SYMLINK || kind === DIR) iu = this.startBlock[i];
    const xs = t.xattrs[i];
    const xb = xs >= 0 ? this.xattrBodies[xs] : undefined;
    const icount = xb ? (xb.size - 12) / 4 + 1 : 0;
    dv.setUint16(p, (ext ? 1 : 0) | (layout << 1), true);
    dv.setUint16(p + 2, icount, true);
    dv.setUint16(p + 4, S_IF[kind] | t.perm[i], true);
    const ordinal = this.pos[i] / 32; // i_ino: any unique 32-bit number; the kernel reports the nid.
    if (ext) {
      dv.setUint16(p + 6, 0, true);
      dv.setBigUint64(p + 8, BigInt(size), true);
      dv.setUint32(p + 0x10, iu, true);
      dv.setUint32(p + 0x14, ordinal, true);
      dv.setUint32(p + 0x18, t.uid[i], true);
      dv.setUint32(p + 0x1c, t.gid[i], true);
      dv.setBigInt64(p + 0x20, BigInt(this.mtime[i]), true);
      dv.setUint32(p + 0x28, this.nsec[i], true);
      dv.setUint32(p + 0x2c, this.nlink[i], true);
    } else {
      dv.setUint16(p + 6, this.nlink[i], true);
      dv.setUint32(p + 8, size, true);
      dv.setUint32(p + 0x0c, 0, true);
      dv.setUint32(p + 0x10, iu, true);
      dv.setUint32(p + 0x14, ordinal, true);
      dv.setUint16(p + 0x18, t.uid[i], true);
      dv.setUint16(p + 0x1a, t.gid[i], true);
    }
    let at = p + (ext ? 64 : 32);
    if (xb) {
      dv.setUint32(at, xb.filter, true);
      img[at + 4] = xb.shared.length;
      let q = at + 12;
      for (const id of xb.shared) {
        dv.setUint32(q, id, true);
        q += 4;
      }
      for (const e of xb.inline) q = this.writeXattrEntry(w, q, e);
      at += xb.size;
    }
    if (!Number.isNaN(this.extBlock[i])) {
      // Chunk indexes {startblk_hi 0, device_id 1, startblk_lo}: the file's data on device 1.
      let q = p + (align(this.pos[i] + (at - p), 8) - this.pos[i]);
      const per = 2 ** this.extBits[i];
      for (let k = 0; k < this.auxN[i]; k++, q += 8) {
        dv.setUint16(q, 0, true);
        dv.setUint16(q + 2, 1, true);
        dv.setUint32(q + 4, this.extBlock[i] + k * per, true);
      }
      return;
    }
    if (layout === LAYOUT_CHUNK_BASED) {
      // 4-byte block map entries or 8-byte chunk indexes {startblk_hi 0, device 0 (the
      // unified address space), startblk_lo}; chunk size = bs << chunkBits; holes are NULL_ADDR.
      const indexes = this.opts.chunkIndexes === true;
      let q = p + (align(this.pos[i] + (at - p), indexes ? 8 : 4) - this.pos[i]);
      this.forChunks(i, (_k, hole, block) => {
        if (indexes) {
          dv.setUint32(q, 0, true);
          q += 4;
        }
        dv.setUint32(q, hole ? NULL_ADDR : block, true);
        q += 4;
      });
      return;
    }
    if (layout === LAYOUT_COMPRESSED_FULL || layout === LAYOUT_COMPRESSED_COMPACT) {
      this.writeIndexes(w, i, p + (align(this.pos[i] + (at - p), 8) - this.pos[i]));
      return;
    }
    if (layout !== LAYOUT_FLAT_INLINE) return;
    const full = this.dataBlocks[i] * bs;
    const tail = size - full;
    if (kind === FILE) this.content.read(i, full, img.subarray(at, at + tail));
    else if (kind === SYMLINK) img.set(t.symlinkTarget(i).subarray(full), at);
    else {
      const order = this.dirOrder(i);
      this.dirBlocks(order, (b, first, end) => {
        if (b === this.dataBlocks[i]) this.dirBlock(i, order, first, end, img, dv, at);
      });
    }
  }

  /** fn(chunk, hole, first block) for each chunk of a CHUNK_BASED file. */
  private forChunks(i: number, fn: (k: number, hole: boolean, block: number, length: number) => void): void {
    const cs = this.chunkSize;
    const size = this.t.size[i];
    let block = this.startBlock[i];
    for (let k = 0; k < this.auxN[i]; k++) {
      const hole = this.extents.data[this.aux[i] + k] === 1;
      const length = Math.min(cs, size - k * cs);
      fn(k, hole, block, length);
      if (!hole) block += Math.ceil(length / this.bs);
    }
  }

  /**
   * Full lcluster indexes (8 bytes per block of the file) after the 16-byte map header, or
   * compact ones after an 8-byte header; `hp` is the header's index in the writer's buffer.
   */
  private writeIndexes(w: Writer, i: number, hp: number): void {
    const bs = this.bs;
    const dv = w.dv;
    // Map header: no fragment/inline data, advise 0, algorithm 0 (LZ4), lclusterbits = blkszbits.
    w.buf.fill(0, hp, hp + 16);
    const count = Math.ceil(this.t.size[i] / bs);
    const base = this.aux[i];
    const n = this.auxN[i];
    const logical = (k: number) => Math.floor(this.extents.data[base + k] / 2);
    const isLz4 = (k: number) => this.extents.data[base + k] % 2 === 1;
    const blockOf = (k: number) => this.startBlock[i] + k;
    const compact = this.layout[i] === LAYOUT_COMPRESSED_COMPACT;
    let k = 0; // extent covering the start of lcluster lcn
    for (let lcn = 0; lcn < count; lcn++) {
      while (k + 1 < n && Math.floor(logical(k + 1) / bs) <= lcn) k++;
      const headLcn = Math.floor(logical(k) / bs);
      if (compact) {
        // Pack p (lclusters 2p, 2p+1) at hp + 8 + 8p: two 16-bit fields {lo: 12 bits, type: 2
        // bits}, then the pack's base block: its first HEAD's block - 1 (a HEAD's block is
        // base + 1 + the HEADs before it in the pack). lo is clusterofs for a HEAD, delta[0]
        // for a NONHEAD, except in a pack's last slot, where a NONHEAD stores delta[1].
        const pack = hp + 8 + 8 * (lcn >> 1);
        const slot = lcn & 1;
        let field: number;
        if (headLcn === lcn) {
          field = ((isLz4(k) ? 1 : 0) << 12) | (logical(k) % bs);
          if (slot === 0 || dv.getUint16(pack, true) >> 12 === 2) dv.setUint32(pack + 4, blockOf(k) - 1, true);
        } else {
          const nextHead = k + 1 < n ? Math.floor(logical(k + 1) / bs) : count;
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
        dv.setUint16(at, isLz4(k) ? 1 : 0, true); // HEAD1 (LZ4) or PLAIN
        dv.setUint16(at + 2, logical(k) % bs, true); // clusterofs
        dv.setUint32(at + 4, blockOf(k), true);
      } else {
        const nextHead = k + 1 < n ? Math.floor(logical(k + 1) / bs) : count;
        dv.setUint16(at, 2, true); // NONHEAD
        dv.setUint16(at + 2, 0, true);
        dv.setUint16(at + 4, lcn - headLcn, true); // delta[0]: back to the HEAD
        dv.setUint16(at + 6, nextHead - lcn, true); // delta[1]: on to the next HEAD (or EOF)
      }
    }
  }

  /** The data blocks of inode i. */
  private writeData(w: Writer, i: number): void {
    const t = this.t;
    const bs = this.bs;
    const layout = this.layout[i];
    const kind = t.kind[i];
    const size = t.size[i];
    if (!Number.isNaN(this.extBlock[i])) return; // on device 1
    if (layout === LAYOUT_CHUNK_BASED) {
      this.forChunks(i, (k, hole, block, length) => {
        if (!hole) this.copyFile(w, i, k * this.chunkSize, length, block * bs);
      });
      return;
    }
    if (layout === LAYOUT_COMPRESSED_FULL || layout === LAYOUT_COMPRESSED_COMPACT) {
      const base = this.aux[i];
      let k = 0;
      const changed = () => new BuildError(`file ${this.describe(i)} changed while the image was being built (its LZ4 pclusters differ from the first pass)`);
      const ok = lz4Pclusters(this.win, i, size, bs, this.zbuf, (logical, length, stream, [data, start]) => {
        if (k >= this.auxN[i] || this.extents.data[base + k] !== logical * 2 + (stream ? 1 : 0)) throw changed();
        const block = this.startBlock[i] + k++;
        const at = w.at(block * bs, bs);
        // LZ4 streams right-aligned behind zero padding, raw bytes from the start.
        if (stream) w.buf.set(stream, at + bs - stream.length);
        else w.buf.set(data.subarray(start, start + length), at);
      });
      if (!ok || k !== this.auxN[i]) throw changed();
      return;
    }
    const blocks = this.dataBlocks[i];
    if (blocks === 0) return;
    const start = this.startBlock[i] * bs;
    const len = Math.min(size, blocks * bs);
    if (kind === FILE) this.copyFile(w, i, 0, len, start);
    else if (kind === SYMLINK) {
      const at = w.at(start, len);
      w.buf.set(t.symlinkTarget(i).subarray(0, len), at);
    } else {
      const order = this.dirOrder(i);
      this.dirBlocks(order, (b, first, end) => {
        if (b >= blocks) return;
        const at = w.at(start + b * bs, bs);
        this.dirBlock(i, order, first, end, w.buf, w.dv, at);
      });
    }
  }

  /** File i's bytes [from, from + len) to image position `to`, a piece at a time. */
  private copyFile(w: Writer, i: number, from: number, len: number, to: number): void {
    const whole = this.content.bytes(i);
    for (let off = 0; off < len; off += PIECE) {
      const n = Math.min(PIECE, len - off);
      const at = w.at(to + off, n);
      if (whole) w.buf.set(whole.subarray(from + off, from + off + n), at);
      else this.content.read(i, from + off, w.buf.subarray(at, at + n));
    }
  }

  /** A path of inode i (its first link), for messages. */
  private describe(i: number): string {
    const t = this.t;
    const parts: string[] = [];
    for (let j = i, guard = 0; j !== 0 && guard < 4096; j = t.parent[j], guard++) parts.push(latin(t.name(t.link[j])));
    return JSON.stringify('/' + parts.reverse().join('/'));
  }
}
