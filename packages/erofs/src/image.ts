import { ErofsError, corrupt, unsupported } from './errors.js';
import { DirBlock, type DirEntry } from './dirent.js';
import {
  COMPACT_INODE_SIZE,
  DataLayout,
  EXTENDED_INODE_SIZE,
  decodeInode,
  isCompressed,
  isDir,
  isSymlink,
  type Inode,
} from './inode.js';
import { mapChunk } from './map/chunk.js';
import { CompressedMapper } from './map/compressed.js';
import { ExtentKind, FORMAT_INTERLACED, FORMAT_SHIFTED, type Extent } from './map/extent.js';
import { readCompressionConfig, type CompressionConfig } from './compression.js';
import { PageCache, type CacheDomain } from './page-cache.js';
import { ALGORITHM_NAMES, type Codec } from './codecs/codec.js';
import { defaultCodecs } from './codecs/index.js';
import { mapFlat } from './map/flat.js';
import { formatNid, isMetaboxNid, nidIndex } from './nid.js';
import { MemorySource, type ByteSource } from './source.js';
import { COMPAT, INCOMPAT, readSuperblock, type Superblock, type SuperblockOptions } from './superblock.js';
import { getXattr, listXattrs, parsePrefixTable, type LongPrefix, type Xattr, type XattrContext } from './xattr.js';

export interface ImageOptions extends SuperblockOptions {
  /**
   * Sources for the extra devices of a multi-device image, in device-table order
   * (device id 1 is index 0). A read that needs a device not given fails with EIO.
   */
  devices?: (ByteSource | undefined)[];
  /**
   * Decompressors by algorithm id (0 lz4, 1 lzma, 2 deflate, 3 zstd), replacing the
   * built-in ones: a Node build can pass native zlib, a browser a wasm Zstandard.
   */
  codecs?: Partial<Record<number, Codec>>;
  /**
   * The host's page cache (decoded file data; page-cache.ts) this image takes a share of.
   * Default: a page cache of its own, of `cacheBytes`.
   */
  pageCache?: PageCache;
  /**
   * Most bytes of decoded data this image keeps in the page cache (default 8 MiB, or the
   * whole budget of a given `pageCache`; 0: no caching). See the README's "Benchmarks" for
   * what budgets buy: a walk reads each file once, a second pass is served from the cache
   * when the budget holds what the first decoded.
   */
  cacheBytes?: number;
}

/** The page cache limit of an image opened without one. */
export const DEFAULT_IMAGE_CACHE_BYTES = 8 << 20;

/** Symlink targets longer than this are refused, like Linux's PATH_MAX - 1. */
export const SYMLINK_MAX = 4095;

const encoder = new TextEncoder();

/**
 * An opened EROFS image: turns NIDs into inodes, inodes into bytes, directory data into
 * entries. It holds no per-inode caches (the layers above own those); everything it
 * returns is a fresh value.
 */
export class Image {
  readonly sb: Superblock;
  readonly blockSize: number;
  readonly blkszbits: number;
  private readonly devices: (ByteSource | undefined)[];
  private metaboxInode: Inode | undefined;
  private prefixes: LongPrefix[] | undefined;
  private xctx: XattrContext | undefined;
  readonly compression: CompressionConfig;
  private readonly codecs: Partial<Record<number, Codec>>;
  /**
   * This image's share of the page cache: decoded extents of compressed files, so that a
   * pcluster is decoded once however the file is read, and again only after eviction.
   * Null when caching is off (cacheBytes 0).
   */
  get cache(): CacheDomain | null {
    return this.cacheDomain;
  }
  private cacheDomain: CacheDomain | null;
  private readonly cacheLimit: number;
  private packed: Inode | undefined;
  /** Nesting of reads through other inodes (fragments, metabox), bounded against hostile images. */
  private depth = 0;

  constructor(readonly source: ByteSource, options: ImageOptions = {}) {
    this.sb = readSuperblock(source, options);
    this.blockSize = this.sb.blockSize;
    this.blkszbits = this.sb.blkszbits;
    this.devices = options.devices ?? [];
    this.compression = readCompressionConfig(source, this.sb);
    this.codecs = { ...defaultCodecs(this.compression), ...options.codecs };
    const limit = options.cacheBytes ?? options.pageCache?.budget ?? DEFAULT_IMAGE_CACHE_BYTES;
    this.cacheLimit = limit;
    this.cacheDomain = limit > 0 ? (options.pageCache ?? new PageCache(limit)).domain(limit) : null;
    if (this.sb.featureIncompat & INCOMPAT.METABOX) {
      const mb = this.inode(this.sb.metaboxNid);
      if (isDir(mb)) throw corrupt('superblock', 1024 + 0x80, `metabox inode ${formatNid(mb.nid)} is a directory`);
      this.metaboxInode = mb;
    }
    const root = this.inode(this.sb.rootNid);
    if (!isDir(root)) throw corrupt('superblock', 1024 + 0x0e, `root inode ${formatNid(root.nid)} is not a directory`);
  }

  static open(source: ByteSource, options?: ImageOptions): Image {
    return new Image(source, options);
  }

  /**
   * A new limit for this image's share of the page cache (a mount's own limit): 0 drops the
   * share, a positive limit on an image without one gives it a page cache of its own.
   */
  setCacheLimit(limit: number): void {
    if (!(Number.isSafeInteger(limit) && limit >= 0)) throw new RangeError(`cache limit must be a non-negative integer, not ${limit}`);
    if (limit === 0) {
      this.cacheDomain?.clear();
      this.cacheDomain = null;
    } else if (this.cacheDomain === null) {
      this.cacheDomain = new PageCache(limit).domain(limit);
    } else {
      this.cacheDomain.limit = limit;
    }
  }

  /**
   * @deprecated The decoded-extent cache became the page cache (`cache`); this answers the
   * questions asked of the old one: the limit the image was opened with, hits and misses.
   */
  get extentCache(): { maxBytes: number; hits: number; misses: number } {
    const s = this.cache?.stats();
    return { maxBytes: this.cacheLimit, hits: s?.hits ?? 0, misses: s?.misses ?? 0 };
  }

  get rootNid(): number {
    return this.sb.rootNid;
  }

  root(): Inode {
    return this.inode(this.sb.rootNid);
  }

  /** Size of a meta space: the primary image, or the metabox inode's data. */
  metaSpaceSize(inMetabox: boolean): number {
    if (!inMetabox) return this.source.size;
    if (!this.metaboxInode) throw corrupt('metabox', undefined, 'inode in the metabox, but the image has no metabox');
    return this.metaboxInode.size;
  }

  /**
   * Bytes of a meta space. Primary-image bytes come back as a transient view (valid until
   * the next read of the source); metabox bytes as a fresh copy.
   */
  metaView(inMetabox: boolean, pos: number, length: number): Uint8Array {
    const limit = this.metaSpaceSize(inMetabox);
    if (!(pos >= 0 && pos + length <= limit)) {
      throw corrupt(inMetabox ? 'metabox data' : 'metadata', pos, `${length} bytes run past the end (${limit} bytes)`);
    }
    if (!inMetabox) return this.source.view(pos, length);
    const out = new Uint8Array(length);
    const mb = this.metaboxInode!;
    this.nested(mb, () => this.read(mb, pos, out));
    return out;
  }

  /** Position of an inode in its meta space. */
  inodePos(nid: number): number {
    if (isMetaboxNid(nid)) return nidIndex(nid) * 32;
    return this.sb.metaBlkaddr * this.blockSize + nid * 32;
  }

  inode(nid: number): Inode {
    const inMetabox = isMetaboxNid(nid);
    const pos = this.inodePos(nid);
    const limit = this.metaSpaceSize(inMetabox);
    if (pos + COMPACT_INODE_SIZE > limit) {
      throw corrupt(`inode ${formatNid(nid)}`, pos, `nid points past the end of the ${inMetabox ? 'metabox' : 'image'} (${limit} bytes)`);
    }
    let bytes = this.metaView(inMetabox, pos, COMPACT_INODE_SIZE);
    if (bytes[0] & 1) {
      if (pos + EXTENDED_INODE_SIZE > limit) {
        throw corrupt(`inode ${formatNid(nid)}`, pos, `extended inode runs past the end of the ${inMetabox ? 'metabox' : 'image'}`);
      }
      bytes = this.metaView(inMetabox, pos, EXTENDED_INODE_SIZE);
    }
    return decodeInode(this.sb, nid, pos, inMetabox, bytes);
  }

  /** The extent holding byte `offset` (< i_size) of the inode. */
  map(inode: Inode, offset: number): Extent {
    switch (inode.layout) {
      case DataLayout.FlatPlain:
      case DataLayout.FlatInline:
        return mapFlat(inode, offset, this.blkszbits);
      case DataLayout.ChunkBased:
        // No feature check: mkfs --tar=i writes chunk-based inodes without setting
        // CHUNKED_FILE, and the kernel reads them.
        return mapChunk(inode, offset, this.blkszbits, this.sb.extraDevices, (m, p, l) => this.metaView(m, p, l));
      default:
        return new CompressedMapper(
          {
            blkszbits: this.blkszbits,
            bigPcluster: (this.sb.featureIncompat & INCOMPAT.COMPR_CFGS) !== 0,
            availableAlgs: this.compression.availableAlgs,
            meta: (m, p, l) => this.metaView(m, p, l),
          },
          inode,
        ).map(offset);
    }
  }

  /** The packed inode that holds fragments. */
  private packedInode(inode: Inode): Inode {
    const sb = this.sb;
    if (!(sb.featureIncompat & INCOMPAT.FRAGMENTS) || sb.packedNid === 0) {
      throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, 'fragment extent in an image without a packed inode');
    }
    this.packed ??= this.inode(sb.packedNid);
    if (inode.nid === this.packed.nid) throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, 'the packed inode refers to fragments of itself');
    return this.packed;
  }

  /** Reads through another inode (packed, metabox) with a bound on nesting. */
  private nested<T>(inode: Inode, fn: () => T): T {
    if (this.depth >= 4) throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, 'reads nest too deeply (packed or metabox inode loop)');
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  /**
   * Decodes an encoded extent (its pcluster, or a stored copy) into `out`, exactly
   * ext.length bytes: the caller's buffer when a read covers the whole extent, else a
   * buffer for the page cache.
   */
  private decodeExtent(inode: Inode, ext: Extent, out: Uint8Array): void {
    // Built only for an error: formatting the nid (through BigInt) on every decode showed in profiles.
    const W = () => `pcluster of inode ${formatNid(inode.nid)}`;
    const plen = ext.plen!;
    const raw = ext.inMeta
      ? this.metaView(inode.inMetabox, ext.physical, plen)
      : (() => {
          const { src, off } = this.resolve(inode, 0, ext.physical, plen);
          return src.view(off, plen);
        })();
    const format = ext.format!;
    if (format === FORMAT_SHIFTED) {
      out.set(raw.subarray(0, ext.length));
    } else if (format === FORMAT_INTERLACED) {
      // The block is rotated so that each byte sits at its offset within the block.
      const rot = (ext.logical % this.blockSize) % plen;
      const first = Math.min(ext.length, plen - rot);
      out.set(raw.subarray(rot, rot + first));
      if (first < ext.length) out.set(raw.subarray(0, ext.length - first), first);
    } else {
      const codec = this.codecs[format];
      if (!codec) throw unsupported(W(), ext.physical, `no decoder for ${ALGORITHM_NAMES[format] ?? 'algorithm ' + format}`);
      let input = raw;
      let partial = ext.partial === true;
      if (this.sb.featureIncompat & INCOMPAT.ZERO_PADDING) {
        // Streams are right-aligned: skip the zero padding, which ends within the first block.
        const limit = Math.min(plen, this.blockSize);
        let k = 0;
        while (k < limit && raw[k] === 0) k++;
        if (k === limit) throw corrupt(W(), ext.physical, 'pcluster starts with a whole block of zero padding');
        input = raw.subarray(k);
      } else {
        // Pre-0padding LZ4 images: the stream starts at the pcluster and may be followed by garbage.
        partial = true;
      }
      codec.decode(input, out, partial);
    }
  }

  /** The source and byte offset holding `length` bytes at a data address. */
  private resolve(inode: Inode, deviceId: number, physical: number, length: number): { src: ByteSource; off: number } {
    let src: ByteSource | undefined = this.source;
    let off = physical;
    let dev = 0;
    if (deviceId !== 0) {
      dev = deviceId;
      src = this.devices[deviceId - 1];
    } else {
      const bs = this.blockSize;
      const slots = this.sb.devices;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i];
        if (s.uniaddr === 0) continue;
        const start = s.uniaddr * bs;
        if (physical >= start && physical < start + s.blocks * bs) {
          dev = i + 1;
          src = this.devices[i];
          off = physical - start;
          break;
        }
      }
    }
    if (!src) throw new ErofsError('EIO', `data of inode ${formatNid(inode.nid)}`, physical, `extra device ${dev} was not supplied`);
    if (!(off >= 0 && off + length <= src.size)) {
      throw corrupt(`data of inode ${formatNid(inode.nid)}`, off, `${length} bytes run past the end of device ${dev} (${src.size} bytes)`);
    }
    return { src, off };
  }

  /**
   * Reads up to `length` bytes at file offset `offset` into `dest[destOffset..]`.
   * Returns the number of bytes read: less than asked only at end of file.
   *
   * Compressed files go through the page cache: a cached range is copied out without
   * mapping the file; an extent the read covers whole is decoded straight into `dest` and
   * then copied into the cache if it admits it (room, or asked for before: see
   * CacheDomain.admit); one it covers in part is decoded into a buffer the cache keeps. Other files are copied from the source (no cache of ours: the source's bytes
   * are the host's page cache, or memory).
   */
  read(inode: Inode, offset: number, dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    const end = Math.min(inode.size, offset + length);
    const cache = this.cache !== null && isCompressed(inode) ? this.cache : null;
    let pos = offset;
    while (pos < end) {
      const d = destOffset + (pos - offset);
      if (cache !== null) {
        const hit = cache.find(inode.nid, pos);
        if (hit !== undefined) {
          const n = Math.min(hit.end, end) - pos;
          const at = pos - hit.start;
          dest.set(n === hit.bytes.length ? hit.bytes : hit.bytes.subarray(at, at + n), d);
          pos += n;
          continue;
        }
      }
      const ext = this.map(inode, pos);
      const n = Math.min(ext.logical + ext.length, end) - pos;
      const encoded = ext.kind === ExtentKind.Encoded || ext.kind === ExtentKind.Fragment;
      if (!(n > 0) || (encoded ? ext.logical > pos : ext.logical !== pos)) {
        throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, `mapping of offset ${pos} made no progress`);
      }
      if (ext.kind === ExtentKind.Encoded) {
        const skip = pos - ext.logical;
        if (skip === 0 && n === ext.length) {
          const into = dest.subarray(d, d + n);
          this.decodeExtent(inode, ext, into);
          if (cache !== null && cache.admit(inode.nid, pos, n)) {
            const copy = cache.alloc(n);
            copy.set(into);
            cache.insert(inode.nid, pos, copy);
          }
        } else {
          const out = cache !== null ? cache.alloc(ext.length) : new Uint8Array(ext.length);
          this.decodeExtent(inode, ext, out);
          cache?.insert(inode.nid, ext.logical, out);
          dest.set(out.subarray(skip, skip + n), d);
        }
      } else if (ext.kind === ExtentKind.Fragment) {
        const packed = this.packedInode(inode);
        const at = ext.physical + (pos - ext.logical);
        if (at + n > packed.size) throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, `fragment at ${at} runs past the packed inode's ${packed.size} bytes`);
        this.nested(inode, () => this.read(packed, at, dest, d, n));
      } else if (ext.kind === ExtentKind.Hole) {
        dest.fill(0, d, d + n);
      } else if (ext.kind === ExtentKind.Inline) {
        dest.set(this.metaView(inode.inMetabox, ext.physical, n), d);
      } else {
        const { src, off } = this.resolve(inode, ext.deviceId, ext.physical, n);
        src.readInto(dest, d, off, n);
      }
      pos += n;
    }
    return Math.max(0, end - offset);
  }

  /**
   * Starts fetching the stored bytes behind [offset, offset + length) of a file or
   * directory, in the background, from the sources that can (ByteSource.prefetch: a
   * RangeSource): plain data, the pclusters of compressed extents, fragments in the packed
   * inode; inline tails live with the inode. Mapping the extents reads the inode's
   * metadata (compressed indexes, chunk tables) as any read does, synchronously. Returns
   * the bytes queued and a promise that resolves once nothing queued is outstanding in
   * those sources (the bytes are cached, or failed: a read reports that). Images on
   * sources without prefetch queue nothing and map nothing.
   */
  prefetch(inode: Inode, offset = 0, length = inode.size - offset): { bytes: number; done: Promise<void> } {
    const touched = new Set<ByteSource>();
    let bytes = 0;
    if (this.source.prefetch || this.devices.some((d) => d?.prefetch)) {
      let run: { src: ByteSource; off: number; n: number } | undefined;
      const flush = () => {
        if (!run?.src.prefetch) return;
        const q = run.src.prefetch(run.off, run.n);
        if (q > 0) {
          bytes += q;
          touched.add(run.src);
        }
      };
      // Neighbouring ranges on one source go as one.
      const add = (src: ByteSource, off: number, n: number) => {
        if (run && run.src === src && run.off + run.n === off) {
          run.n += n;
          return;
        }
        flush();
        run = { src, off, n };
      };
      this.prefetchRange(inode, offset, length, add);
      flush();
    }
    return { bytes, done: Promise.all([...touched].map((s) => s.idle?.())).then(() => undefined) };
  }

  private prefetchRange(inode: Inode, offset: number, length: number, add: (src: ByteSource, off: number, n: number) => void): void {
    const end = Math.min(inode.size, offset + length);
    let pos = Math.max(0, offset);
    while (pos < end) {
      const ext = this.map(inode, pos);
      const stop = Math.min(ext.logical + ext.length, end);
      if (!(stop > pos)) throw corrupt(`inode ${formatNid(inode.nid)}`, inode.pos, `mapping of offset ${pos} made no progress`);
      if (ext.kind === ExtentKind.Data) {
        const { src, off } = this.resolve(inode, ext.deviceId, ext.physical, stop - pos);
        add(src, off, stop - pos);
      } else if (ext.kind === ExtentKind.Encoded && !ext.inMeta) {
        const { src, off } = this.resolve(inode, 0, ext.physical, ext.plen!);
        add(src, off, ext.plen!);
      } else if (ext.kind === ExtentKind.Fragment) {
        const packed = this.packedInode(inode);
        this.nested(inode, () => this.prefetchRange(packed, ext.physical + (pos - ext.logical), stop - pos, add));
      }
      pos = stop;
    }
  }

  /**
   * A zero-copy view of the file's bytes [offset, offset + length), or null when there is
   * none: the range must lie inside the file, in plain data (Data extents, including
   * chunks and extra devices) stored contiguously on one in-memory source (MemorySource,
   * whose views alias its bytes for as long as it lives). Inline tails, holes and
   * compressed data give null: callers copy those with read(). The view must not be
   * written to. Meant for memory mapping, where a page is handed out for good.
   */
  dataView(inode: Inode, offset: number, length: number): Uint8Array | null {
    if (!(Number.isSafeInteger(offset) && offset >= 0 && length > 0 && offset + length <= inode.size)) return null;
    let src: ByteSource | undefined;
    let start = 0;
    let pos = offset;
    while (pos < offset + length) {
      const ext = this.map(inode, pos);
      if (ext.kind !== ExtentKind.Data || ext.logical !== pos || !(ext.length > 0)) return null;
      const n = Math.min(ext.logical + ext.length, offset + length) - pos;
      const r = this.resolve(inode, ext.deviceId, ext.physical, n);
      if (!(r.src instanceof MemorySource)) return null;
      if (src === undefined) {
        src = r.src;
        start = r.off;
      } else if (r.src !== src || r.off !== start + (pos - offset)) {
        return null;
      }
      pos += n;
    }
    return (src as MemorySource).bytes.subarray(start, start + length);
  }

  /**
   * `length` bytes of a file at `offset` that lie in one extent, as a view of the source
   * when it can (zero-copy for in-memory images), else a copy. Valid until the next read.
   */
  private span(inode: Inode, offset: number, length: number): Uint8Array {
    const ext = this.map(inode, offset);
    if (ext.logical + ext.length >= offset + length) {
      if (ext.kind === ExtentKind.Inline) return this.metaView(inode.inMetabox, ext.physical, length);
      if (ext.kind === ExtentKind.Data) {
        const { src, off } = this.resolve(inode, ext.deviceId, ext.physical, length);
        return src.view(off, length);
      }
    }
    const out = new Uint8Array(length);
    this.read(inode, offset, out);
    return out;
  }

  /** The whole content of a file. Refuses sizes above `limit` (default 1 GiB) with EFBIG. */
  readFile(inode: Inode, limit = 2 ** 30): Uint8Array {
    if (inode.size > limit) {
      throw new ErofsError('EFBIG', `inode ${formatNid(inode.nid)}`, inode.pos, `file of ${inode.size} bytes is larger than the ${limit}-byte limit`);
    }
    const out = new Uint8Array(inode.size);
    this.read(inode, 0, out);
    return out;
  }

  readlink(inode: Inode): Uint8Array {
    const where = `inode ${formatNid(inode.nid)}`;
    if (!isSymlink(inode)) throw new ErofsError('EINVAL', where, inode.pos, 'not a symlink');
    if (inode.size === 0 || inode.size > SYMLINK_MAX) {
      throw corrupt(where, inode.pos, `symlink target of ${inode.size} bytes is not 1..${SYMLINK_MAX}`);
    }
    // Linux keeps the target as a C string: readlink(2) and path walks stop at the first NUL
    // a crafted image may put inside it (st_size still counts every byte).
    const target = this.readFile(inode);
    const nul = target.indexOf(0);
    return nul < 0 ? target : target.subarray(0, nul);
  }

  private dirBlock(dir: Inode, start: number): DirBlock {
    const maxsize = Math.min(this.blockSize, dir.size - start);
    const where = `dirent of directory ${formatNid(dir.nid)}`;
    return new DirBlock(this.span(dir, start, maxsize), start, maxsize, where);
  }

  private checkDir(dir: Inode): void {
    if (!isDir(dir)) throw new ErofsError('ENOTDIR', `inode ${formatNid(dir.nid)}`, dir.pos, 'not a directory');
  }

  /**
   * Directory entries in on-disk order ("." and ".." included), starting at the entry at
   * or after position `from` (a position between entries rounds up to the next one).
   * Each block is decoded whole before its entries are yielded, so callers may read
   * other parts of the image between steps.
   */
  *readdir(dir: Inode, from = 0): Generator<DirEntry> {
    this.checkDir(dir);
    const bs = this.blockSize;
    let start = Math.floor(from / bs) * bs;
    let first = Math.ceil((from - start) / 12);
    while (start < dir.size) {
      const block = this.dirBlock(dir, start);
      const entries: DirEntry[] = [];
      for (let i = first; i < block.count; i++) entries.push(block.entry(i));
      yield* entries;
      start += bs;
      first = 0;
    }
  }

  /**
   * Finds `name` in a directory by the kernel's two-level binary search: first over the
   * blocks by their first names, then inside the chosen block.
   */
  lookup(dir: Inode, name: string | Uint8Array): DirEntry | undefined {
    this.checkDir(dir);
    const target = typeof name === 'string' ? encoder.encode(name) : name;
    if (target.length === 0 || target.length > 255) return undefined;
    const bs = this.blockSize;
    let lo = 0;
    let hi = Math.ceil(dir.size / bs) - 1;
    let candidate = -1;
    while (lo <= hi) {
      // Not `>> 1`: a corrupt i_size gives more than 2^31 blocks, and a 32-bit shift would
      // wrap the midpoint and keep the search from converging.
      const mid = lo + Math.floor((hi - lo) / 2);
      const block = this.dirBlock(dir, mid * bs);
      const c = block.compare(target, 0);
      if (c === 0) return block.entry(0);
      if (c < 0) hi = mid - 1;
      else {
        candidate = mid;
        lo = mid + 1;
      }
    }
    if (candidate < 0) return undefined;
    const block = this.dirBlock(dir, candidate * bs);
    let l = 1;
    let h = block.count - 1;
    while (l <= h) {
      const mid = l + ((h - l) >> 1);
      const c = block.compare(target, mid);
      if (c === 0) return block.entry(mid);
      if (c < 0) h = mid - 1;
      else l = mid + 1;
    }
    return undefined;
  }

  private xattrContext(): XattrContext {
    if (this.xctx) return this.xctx;
    const sb = this.sb;
    this.xctx = {
      blockSize: this.blockSize,
      xattrBlkaddr: sb.xattrBlkaddr,
      useFilter: (sb.featureCompat & COMPAT.XATTR_FILTER) !== 0 && sb.xattrFilterReserved === 0,
      sharedInMetabox: (sb.featureCompat & COMPAT.SHARED_EA_IN_METABOX) !== 0,
      prefixes: this.longPrefixes(),
      meta: (m, p, l) => this.metaView(m, p, l),
    };
    return this.xctx;
  }

  /** The long xattr name prefix table, loaded on first use from wherever the flags put it. */
  longPrefixes(): LongPrefix[] {
    if (this.prefixes) return this.prefixes;
    const sb = this.sb;
    if (!(sb.featureIncompat & INCOMPAT.XATTR_PREFIXES) || sb.xattrPrefixCount === 0) return (this.prefixes = []);
    const start = sb.xattrPrefixStart * 4;
    let read: (pos: number, len: number) => Uint8Array;
    let where = 'xattr prefix table';
    let limit: number;
    if (sb.featureCompat & COMPAT.PLAIN_XATTR_PFX || (!(sb.featureIncompat & INCOMPAT.METABOX) && !(sb.featureIncompat & INCOMPAT.FRAGMENTS && sb.packedNid))) {
      limit = this.source.size;
      read = (p, l) => this.metaView(false, p, l);
    } else if (sb.featureIncompat & INCOMPAT.METABOX) {
      limit = this.metaSpaceSize(true);
      read = (p, l) => this.metaView(true, p, l);
      where += ' (metabox)';
    } else {
      const packed = this.inode(sb.packedNid);
      limit = packed.size;
      where += ' (packed inode)';
      read = (p, l) => {
        const out = new Uint8Array(l);
        if (p + l > packed.size) throw corrupt(where, p, `${l} bytes run past the packed inode's ${packed.size} bytes`);
        this.read(packed, p, out);
        return out;
      };
    }
    const guarded = (p: number, l: number) => {
      if (p + l > limit) throw corrupt(where, p, `${l} bytes run past the end (${limit} bytes)`);
      return read(p, l);
    };
    this.prefixes = parsePrefixTable(guarded, start, sb.xattrPrefixCount, where);
    return this.prefixes;
  }

  private sharedXattrLimit(): number {
    return this.metaSpaceSize((this.sb.featureCompat & COMPAT.SHARED_EA_IN_METABOX) !== 0);
  }

  listXattrs(inode: Inode): Xattr[] {
    if (inode.xattrIcount === 0) return [];
    return listXattrs(this.xattrContext(), inode, this.sharedXattrLimit());
  }

  getXattr(inode: Inode, name: string | Uint8Array): Uint8Array | undefined {
    if (inode.xattrIcount === 0) return undefined;
    return getXattr(this.xattrContext(), inode, name, this.sharedXattrLimit());
  }
}

/** The non-empty components of a path, as views of its bytes (runs of "/" separate them). */
export function splitPath(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    while (i < bytes.length && bytes[i] === 0x2f) i++;
    const s = i;
    while (i < bytes.length && bytes[i] !== 0x2f) i++;
    if (i > s) parts.push(bytes.subarray(s, i));
  }
  return parts;
}

const nameDecoder = new TextDecoder('utf-8');
export function decodeName(name: Uint8Array): string {
  return nameDecoder.decode(name);
}
