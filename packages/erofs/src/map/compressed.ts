import { ErofsError, corrupt } from '../errors.js';
import { DataLayout, type Inode } from '../inode.js';
import { formatNid } from '../nid.js';
import { ExtentKind, FORMAT_INTERLACED, FORMAT_SHIFTED, type Extent } from './extent.js';
import type { MetaReader } from './chunk.js';
import { copyBytes } from '../source.js';

/*
 * Compressed files: logical offset -> extent, for the three index formats EROFS has
 * (full "legacy" lcluster indexes, compact 2/4-byte packs, and encoded extent records),
 * with big pclusters, tail packing, fragments and partial references.
 *
 * Every walk here moves an lcluster number strictly down (look-back) or strictly up
 * (look-ahead) within [0, number of lclusters), so a hostile index cannot loop.
 */

const ADVISE_COMPACTED_2B = 0x01; // compact layout; EXTENTS for the full layout
const ADVISE_EXTENTS = 0x01;
const ADVISE_BIG_PCLUSTER_1 = 0x02;
const ADVISE_BIG_PCLUSTER_2 = 0x04;
const ADVISE_INLINE_PCLUSTER = 0x08;
const ADVISE_INTERLACED_PCLUSTER = 0x10;
const ADVISE_FRAGMENT_PCLUSTER = 0x20;

const TYPE_PLAIN = 0;
const TYPE_HEAD1 = 1;
const TYPE_NONHEAD = 2;
const TYPE_HEAD2 = 3;

const D0_CBLKCNT = 0x800;
const PARTIAL_REF = 0x8000;
const EXTENT_PLEN_MASK = 0x1fffff;
const EXTENT_PLEN_PARTIAL = 1 << 27;
/** 4-byte extent records: one remembered prefix sum per this many records. */
const RECORD_STEP = 256;

/** Kernel limits: a pcluster holds at most 1 MiB, an extent decodes to at most 12 MiB. */
export const PCLUSTER_MAX_SIZE = 1 << 20;
export const PCLUSTER_MAX_DSIZE = 12 << 20;

export interface CompressionContext {
  blkszbits: number;
  /** Superblock BIG_PCLUSTER (COMPR_CFGS) feature. */
  bigPcluster: boolean;
  /** Bitmap of algorithms the image declares (bit n = algorithm n). */
  availableAlgs: number;
  meta: MetaReader;
}

/** Per-inode compression header, decoded once and kept on the inode value. */
export interface ZInfo {
  advise: number;
  algs: [number, number];
  lclusterBits: number;
  /** Fragment offset in the packed inode (FRAGMENT_PCLUSTER). */
  fragmentOff: number;
  /** Size of the tail-packed pcluster (INLINE_PCLUSTER). */
  idataSize: number;
  /** The whole file is one fragment. */
  wholeFragment: boolean;
  /** Encoded-extent mode: record size and count. */
  recsz: number;
  extents: number;
  /** Head lcluster of the last extent (tail packing, fragments); -1 when not needed. */
  tailHeadLcn: number;
  /** Position of the tail-packed pcluster in the meta space. */
  inlinePos: number;
  /**
   * 4-byte extent records: physical start of record k * RECORD_STEP (prefix sums), grown
   * as far as reads reach. Memory and work follow the offsets read, not i_size: a whole
   * table read at once allocated 4 bytes per lcluster of the claimed size, which through a
   * metabox inode (whose own claimed size bounds the reads) could be gigabytes.
   */
  recordPa?: number[];
}

interface Lcluster {
  lcn: number;
  type: number;
  clusterofs: number;
  delta0: number;
  delta1: number;
  pblk: number;
  compressedBlks: number;
  partialRef: boolean;
  nextPackOff: number;
}

type ZInode = Inode & { z?: ZInfo };

const where = (inode: Inode) => `compression index of inode ${formatNid(inode.nid)}`;

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export class CompressedMapper {
  constructor(
    private readonly ctx: CompressionContext,
    private readonly inode: ZInode,
  ) {}

  /**
   * The error-message prefix, built only when an error is thrown: a template with the nid
   * on every call was a measurable share of mapping time (formatNid goes through BigInt).
   */
  private get W(): string {
    return where(this.inode);
  }

  private get headerPos(): number {
    return Math.ceil(this.inode.ibase / 8) * 8;
  }

  private lclusterCount(z: ZInfo): number {
    return Math.ceil(this.inode.size / 2 ** z.lclusterBits);
  }

  /** Decodes (once) the 8-byte map header after the inode and its xattrs. */
  info(): ZInfo {
    const inode = this.inode;
    if (inode.z) return inode.z;
    const W = where(inode);
    const hp = this.headerPos;
    const h = copyBytes(this.ctx.meta(inode.inMetabox, hp, 8));
    const z: ZInfo = {
      advise: 0,
      algs: [0, 0],
      lclusterBits: this.ctx.blkszbits,
      fragmentOff: 0,
      idataSize: 0,
      wholeFragment: false,
      recsz: 0,
      extents: 0,
      tailHeadLcn: -1,
      inlinePos: 0,
    };
    if (h[7] & 0x80) {
      // The whole file lives in the packed inode; the rest of the 8 bytes is the offset.
      z.advise = ADVISE_FRAGMENT_PCLUSTER;
      z.wholeFragment = true;
      z.fragmentOff = u32(h, 0) + (u32(h, 4) & 0x7fffffff) * 2 ** 32;
      z.tailHeadLcn = 0;
      if (z.fragmentOff > Number.MAX_SAFE_INTEGER) throw corrupt(W, hp, 'fragment offset beyond 2^53');
      inode.z = z;
      return z;
    }
    z.advise = u16(h, 4);
    z.lclusterBits = this.ctx.blkszbits + (h[7] & 15);
    if (inode.layout === DataLayout.CompressedFull && z.advise & ADVISE_EXTENTS) {
      z.recsz = 4 << ((z.advise >> 1) & 3);
      z.extents = u32(h, 0) + (z.recsz >= 16 ? u16(h, 6) * 2 ** 32 : 0);
      inode.z = z;
      return z;
    }
    z.algs = [h[6] & 15, h[6] >> 4];
    if (z.algs[0] >= 4 || z.algs[1] >= 4) {
      throw new ErofsError('EOPNOTSUPP', W, hp + 6, `unknown compression algorithm ${z.algs[0] >= 4 ? z.algs[0] : z.algs[1]}`);
    }
    if (z.advise & ADVISE_FRAGMENT_PCLUSTER) z.fragmentOff = u32(h, 0);
    else if (z.advise & ADVISE_INLINE_PCLUSTER) z.idataSize = u16(h, 2);
    if (!this.ctx.bigPcluster && z.advise & (ADVISE_BIG_PCLUSTER_1 | ADVISE_BIG_PCLUSTER_2)) {
      throw corrupt(W, hp + 4, 'big pcluster advise without the big pcluster feature');
    }
    if (inode.layout === DataLayout.CompressedCompact && !(z.advise & ADVISE_BIG_PCLUSTER_1) !== !(z.advise & ADVISE_BIG_PCLUSTER_2)) {
      throw corrupt(W, hp + 4, 'compact indexes need both big pcluster advise bits or neither');
    }
    if (inode.layout === DataLayout.CompressedCompact && z.lclusterBits > 14) {
      throw new ErofsError('EOPNOTSUPP', W, hp + 7, `lcluster size 2^${z.lclusterBits} too large for compact indexes`);
    }
    inode.z = z;
    if (z.idataSize || z.advise & ADVISE_FRAGMENT_PCLUSTER) {
      // Find the tail extent's head once: tail packing and fragments apply to it alone.
      this.mapIndexed(inode.size - 1, true);
    }
    return z;
  }

  private loadFull(z: ZInfo, lcn: number): Lcluster {
    if (lcn >= this.lclusterCount(z)) throw corrupt(this.W, this.headerPos, `lcluster ${lcn} beyond the end of the file`);
    const pos = this.headerPos + 16 + lcn * 8;
    const e = this.ctx.meta(this.inode.inMetabox, pos, 8);
    const advise = u16(e, 0);
    const type = advise & 3;
    const r: Lcluster = { lcn, type, clusterofs: 0, delta0: 0, delta1: 0, pblk: 0, compressedBlks: 0, partialRef: false, nextPackOff: pos + 8 };
    if (type === TYPE_NONHEAD) {
      r.clusterofs = 2 ** z.lclusterBits;
      r.delta0 = u16(e, 4);
      if (r.delta0 & D0_CBLKCNT) {
        if (!(z.advise & (ADVISE_BIG_PCLUSTER_1 | ADVISE_BIG_PCLUSTER_2))) throw corrupt(this.W, pos, 'CBLKCNT without big pclusters');
        r.compressedBlks = r.delta0 & ~D0_CBLKCNT;
        r.delta0 = 1;
      }
      r.delta1 = u16(e, 6);
    } else {
      r.partialRef = (advise & PARTIAL_REF) !== 0;
      r.clusterofs = u16(e, 2);
      if (r.clusterofs >= 2 ** z.lclusterBits) throw corrupt(this.W, pos, `clusterofs ${r.clusterofs} past the lcluster`);
      r.pblk = u32(e, 4);
    }
    return r;
  }

  private loadCompact(z: ZInfo, lcnIn: number, lookahead: boolean): Lcluster {
    const ebase = this.headerPos + 8;
    const totalidx = Math.ceil(this.inode.size / 2 ** this.ctx.blkszbits);
    if (lcnIn >= totalidx) throw corrupt(this.W, ebase, `lcluster ${lcnIn} beyond the ${totalidx} indexes`);
    const initial4b = ((32 - (ebase % 32)) / 4) & 7;
    let n2b = 0;
    if (z.advise & ADVISE_COMPACTED_2B && initial4b < totalidx) n2b = Math.floor((totalidx - initial4b) / 16) * 16;
    let pos = ebase;
    let lcn = lcnIn;
    let shift = 2;
    if (lcn >= initial4b) {
      pos += initial4b * 4;
      lcn -= initial4b;
      if (lcn < n2b) shift = 1;
      else {
        pos += n2b * 2;
        lcn -= n2b;
      }
    }
    pos += lcn * (1 << shift);
    let vcnt: number;
    if (shift === 2) vcnt = 2;
    else if (z.lclusterBits <= 12) vcnt = 16;
    else throw new ErofsError('EOPNOTSUPP', this.W, pos, `2-byte compact indexes with lcluster size 2^${z.lclusterBits}`);
    const packSize = vcnt << shift;
    const packStart = pos - (pos % packSize);
    // A view, not a copy: nothing below reads the source again while `pack` is in use.
    const pack = this.ctx.meta(this.inode.inMetabox, packStart, packSize);
    const lobits = Math.max(z.lclusterBits, 12);
    const encodebits = ((packSize - 4) * 8) / vcnt;
    const field = (i: number) => {
      const bit = encodebits * i;
      const byte = bit >> 3;
      // Fields sit LSB-first; a u32 read from the field's first byte always covers it.
      const v = (pack[byte] | (pack[byte + 1] << 8) | (pack[byte + 2] << 16) | ((pack[byte + 3] ?? 0) << 24)) >>> (bit & 7);
      return { lo: v & ((1 << lobits) - 1), type: (v >>> lobits) & 3 };
    };
    let i = (pos - packStart) >> shift;
    const r: Lcluster = { lcn: lcnIn, type: 0, clusterofs: 0, delta0: 0, delta1: 0, pblk: 0, compressedBlks: 0, partialRef: false, nextPackOff: packStart + packSize };
    const bigPcluster = (z.advise & ADVISE_BIG_PCLUSTER_1) !== 0;
    let { lo, type } = field(i);
    r.type = type;
    if (type === TYPE_NONHEAD) {
      r.clusterofs = 2 ** z.lclusterBits;
      if (lookahead) {
        // Distance to the next HEAD: the run of NONHEADs to the pack's end, plus the
        // last entry's stored delta[1] when the run reaches it.
        let d1 = 0;
        let j = i;
        let last = lo;
        let ended = false;
        for (; j < vcnt; j++) {
          const f = field(j);
          last = f.lo;
          if (f.type !== TYPE_NONHEAD) {
            ended = true;
            break;
          }
          d1++;
        }
        if (!ended && !(last & D0_CBLKCNT)) d1 += last - 1;
        r.delta1 = d1;
      }
      if (lo & D0_CBLKCNT) {
        if (!bigPcluster) throw corrupt(this.W, packStart, 'CBLKCNT without big pclusters');
        r.compressedBlks = lo & ~D0_CBLKCNT;
        r.delta0 = 1;
        return r;
      }
      if (i + 1 !== vcnt) {
        r.delta0 = lo;
        return r;
      }
      // The pack's last entry stores delta[1]; delta[0] comes from the entry before it.
      const prev = field(i - 1);
      let plo = prev.lo;
      if (prev.type !== TYPE_NONHEAD) plo = 0;
      else if (plo & D0_CBLKCNT) plo = 1;
      r.delta0 = plo + 1;
      return r;
    }
    r.clusterofs = lo;
    if (lo >= 2 ** z.lclusterBits) throw corrupt(this.W, packStart, `clusterofs ${lo} past the lcluster`);
    // Block address: the pack's base plus the pclusters before this HEAD in the pack.
    let nblk: number;
    if (!bigPcluster) {
      nblk = 1;
      while (i > 0) {
        i--;
        ({ lo, type } = field(i));
        if (type === TYPE_NONHEAD) i -= lo;
        if (i >= 0) nblk++;
      }
    } else {
      nblk = 0;
      while (i > 0) {
        i--;
        ({ lo, type } = field(i));
        if (type === TYPE_NONHEAD) {
          if (lo & D0_CBLKCNT) {
            i--;
            nblk += lo & ~D0_CBLKCNT;
            continue;
          }
          if (lo <= 1) throw corrupt(this.W, packStart, 'plain delta[0] of 1 in a big-pcluster pack');
          i -= lo - 2;
          continue;
        }
        nblk++;
      }
    }
    r.pblk = u32(pack, packSize - 4) + nblk;
    return r;
  }

  private load(z: ZInfo, lcn: number, lookahead: boolean): Lcluster {
    return this.inode.layout === DataLayout.CompressedFull ? this.loadFull(z, lcn) : this.loadCompact(z, lcn, lookahead);
  }

  /** The extent holding byte `offset` (< i_size). */
  map(offset: number): Extent {
    const z = this.info();
    if (z.wholeFragment) {
      return { kind: ExtentKind.Fragment, logical: 0, length: this.inode.size, physical: z.fragmentOff, deviceId: 0 };
    }
    if (z.recsz) return this.mapExtents(z, offset);
    return this.mapIndexed(offset, false);
  }

  private mapIndexed(offset: number, findTail: boolean): Extent {
    const inode = this.inode;
    const z = inode.z!;
    const lcs = 2 ** z.lclusterBits;
    const initialLcn = Math.floor(offset / lcs);
    const endoff = offset - initialLcn * lcs;
    let m = this.load(z, initialLcn, false);
    const ztail = z.idataSize > 0;
    if (findTail && ztail) z.inlinePos = m.nextPackOff;
    let mla: number;
    let delta = m.delta0;
    // Where the kernel takes the extent to end for this offset: the end of its lcluster
    // (clamped to i_size only with tail packing), or the next HEAD's start when that lies in
    // the same lcluster. It refuses a PLAIN extent longer than its pcluster by that measure.
    let kernelEnd = (initialLcn + 1) * lcs;
    if (m.type !== TYPE_NONHEAD && endoff >= m.clusterofs) {
      mla = m.lcn * lcs + m.clusterofs;
      if (ztail) kernelEnd = Math.min(kernelEnd, inode.size);
    } else {
      if (m.type !== TYPE_NONHEAD) {
        if (m.lcn === 0) throw corrupt(this.W, inode.pos, 'offset before the first extent');
        delta = 1;
        kernelEnd = m.lcn * lcs + m.clusterofs;
      }
      // Look back to the HEAD.
      for (;;) {
        if (delta === 0 || m.lcn < delta) throw corrupt(this.W, inode.pos, `bogus look-back distance ${delta} at lcluster ${m.lcn}`);
        m = this.load(z, m.lcn - delta, false);
        if (m.type !== TYPE_NONHEAD) break;
        delta = m.delta0;
      }
      mla = m.lcn * lcs + m.clusterofs;
    }
    const partialRef = m.partialRef;
    const headType = m.type;
    const headLcn = m.lcn;
    if (findTail) {
      z.tailHeadLcn = headLcn;
      if (z.advise & ADVISE_FRAGMENT_PCLUSTER && inode.layout === DataLayout.CompressedFull) {
        z.fragmentOff += m.pblk * 2 ** 32;
      }
    }
    // The exact extent end, so that an extent is decoded whole, once.
    const end = this.extentEnd(z, headLcn);
    const ext: Extent = { kind: ExtentKind.Encoded, logical: mla, length: end - mla, physical: 0, deviceId: 0, partial: partialRef };
    if (ztail && headLcn === z.tailHeadLcn) {
      ext.inMeta = true;
      ext.physical = z.inlinePos;
      ext.plen = z.idataSize;
      const bs = 2 ** this.ctx.blkszbits;
      if ((z.inlinePos % bs) + z.idataSize > bs) throw corrupt(this.W, z.inlinePos, `tail-packed pcluster of ${z.idataSize} bytes crosses a block boundary`);
    } else if (z.advise & ADVISE_FRAGMENT_PCLUSTER && headLcn === z.tailHeadLcn) {
      return { kind: ExtentKind.Fragment, logical: mla, length: end - mla, physical: z.fragmentOff, deviceId: 0 };
    } else {
      ext.physical = m.pblk * 2 ** this.ctx.blkszbits;
      ext.plen = this.compressedLength(z, m, headType) * 2 ** this.ctx.blkszbits;
    }
    if (headType === TYPE_PLAIN) {
      const llen = Math.max(ext.length, kernelEnd - mla);
      if (llen > ext.plen!) throw corrupt(this.W, inode.pos, `uncompressed extent of ${llen} bytes (as mapped at offset ${offset}) larger than its ${ext.plen}-byte pcluster`);
      ext.format = z.advise & ADVISE_INTERLACED_PCLUSTER ? FORMAT_INTERLACED : FORMAT_SHIFTED;
    } else {
      ext.format = headType === TYPE_HEAD2 ? z.algs[1] : z.algs[0];
      if (!(this.ctx.availableAlgs & (1 << ext.format))) {
        throw corrupt(this.W, inode.pos, `algorithm ${ext.format} is not among the image's algorithms`);
      }
    }
    this.checkLimits(ext);
    return ext;
  }

  private compressedLength(z: ZInfo, head: Lcluster, headType: number): number {
    const big1 = (z.advise & ADVISE_BIG_PCLUSTER_1) !== 0;
    const big2 = (z.advise & ADVISE_BIG_PCLUSTER_2) !== 0;
    const lcn = head.lcn + 1;
    if ((headType === TYPE_HEAD1 && !big1) || ((headType === TYPE_PLAIN || headType === TYPE_HEAD2) && !big2) || lcn * 2 ** z.lclusterBits >= this.inode.size) {
      return 1;
    }
    const n = this.load(z, lcn, false);
    if (n.type === TYPE_NONHEAD) {
      if (n.delta0 !== 1) throw corrupt(this.W, this.inode.pos, `bogus CBLKCNT at lcluster ${lcn}`);
      if (n.compressedBlks) return n.compressedBlks;
      throw corrupt(this.W, this.inode.pos, `no CBLKCNT at lcluster ${lcn}`);
    }
    return 1;
  }

  /**
   * Where the extent whose HEAD is lcluster `headLcn` ends: the next HEAD's start, found
   * by walking NONHEADs by their delta[1] (bounded: lcn only grows), or EOF.
   */
  private extentEnd(z: ZInfo, headLcn: number): number {
    const lcs = 2 ** z.lclusterBits;
    const size = this.inode.size;
    let lcn = headLcn;
    for (;;) {
      if (lcn * lcs >= size) return size;
      const m = this.load(z, lcn, true);
      if (m.type !== TYPE_NONHEAD) {
        if (lcn !== headLcn) return lcn * lcs + m.clusterofs;
        lcn += 1;
      } else {
        lcn += m.delta1 || 1; // pre-1.0 mkfs wrote delta[1] = 0; the kernel steps by one
      }
    }
  }

  /** Encoded extent records (mkfs.erofs 1.9, 48-bit layout): 4/8-byte lcluster-shaped or 16/32-byte sorted. */
  private mapExtents(z: ZInfo, offset: number): Extent {
    const inode = this.inode;
    const recsz = z.recsz;
    let pos = Math.ceil((this.headerPos + 8) / recsz) * recsz;
    const size = inode.size;
    let lend = size;
    let lstart: number;
    let plen = 0;
    let pa = 0;
    let last: boolean;
    const read = (p: number, n: number) => this.ctx.meta(inode.inMetabox, p, n);
    if (recsz <= 8) {
      const lcs = 2 ** z.lclusterBits;
      const k = Math.floor(offset / lcs);
      const count = Math.ceil(size / lcs);
      if (recsz === 4) {
        // Physical starts are implicit: a base, then the sum of earlier records' lengths.
        if (!z.recordPa) {
          const base = read(pos, 8);
          z.recordPa = [u32(base, 0) + u32(base, 4) * 2 ** 32];
        }
        pos += 8;
        const ck = z.recordPa;
        const sum = (from: number, n: number, acc: number) => {
          const recs = read(pos + from * 4, n * 4);
          for (let i = 0; i < n; i++) acc += u32(recs, i * 4) & EXTENT_PLEN_MASK;
          return acc;
        };
        const j = Math.floor(k / RECORD_STEP);
        while (ck.length <= j) {
          const from = (ck.length - 1) * RECORD_STEP;
          ck.push(sum(from, Math.min(RECORD_STEP, count - from), ck[ck.length - 1]));
        }
        pa = sum(j * RECORD_STEP, k - j * RECORD_STEP, ck[j]);
      }
      const rec = read(pos + k * recsz, recsz);
      plen = u32(rec, 0);
      if (recsz === 8) pa = u32(rec, 4);
      lstart = k * lcs;
      last = (k + 1) * lcs >= Math.ceil(size / lcs) * lcs;
      lend = Math.min((k + 1) * lcs, size);
    } else {
      // Binary search for the last record starting at or before `offset`.
      lstart = lend;
      let l = 0;
      let r = z.extents;
      let found = false;
      while (l < r) {
        const mid = l + Math.floor((r - l) / 2);
        const rec = read(pos + mid * recsz, recsz);
        let la = u32(rec, 12);
        if (recsz === 32) la += u32(rec, 16) * 2 ** 32;
        const p = u32(rec, 4) + u32(rec, 8) * 2 ** 32;
        if (la > offset) {
          r = mid;
          if (la > lend) throw corrupt(this.W, pos + mid * recsz, `extent record ${mid} starts at ${la}, past ${lend}`);
          lend = la;
        } else {
          l = mid + 1;
          if (offset === la) r = Math.min(l + 1, r);
          lstart = la;
          plen = u32(rec, 0);
          pa = p;
          found = true;
        }
      }
      if (!found) throw corrupt(this.W, pos, `no extent record covers offset ${offset}`);
      last = l >= z.extents;
    }
    if (!(lstart < lend)) throw corrupt(this.W, pos, `empty extent at offset ${offset}`);
    if (last && z.advise & ADVISE_FRAGMENT_PCLUSTER) {
      // The last record of a fragment file holds the fragment offset in place of plen.
      const off = plen + (recsz > 4 ? pa * 2 ** 32 : 0);
      if (off > Number.MAX_SAFE_INTEGER) throw corrupt(this.W, pos, 'fragment offset beyond 2^53');
      return { kind: ExtentKind.Fragment, logical: lstart, length: lend - lstart, physical: off, deviceId: 0 };
    }
    if (plen === 0) return { kind: ExtentKind.Hole, logical: lstart, length: lend - lstart, physical: 0, deviceId: 0 };
    const fmt = plen >>> 28;
    const bs = 2 ** this.ctx.blkszbits;
    const ext: Extent = {
      kind: ExtentKind.Encoded,
      logical: lstart,
      length: lend - lstart,
      physical: pa,
      deviceId: 0,
      plen: plen & EXTENT_PLEN_MASK,
      partial: (plen & EXTENT_PLEN_PARTIAL) !== 0,
    };
    if (fmt) {
      ext.format = fmt - 1;
      if (ext.format >= 4) throw new ErofsError('EOPNOTSUPP', this.W, pos, `unknown extent format ${fmt}`);
      if (!(this.ctx.availableAlgs & (1 << ext.format))) throw corrupt(this.W, pos, `algorithm ${ext.format} is not among the image's algorithms`);
    } else {
      ext.format = z.advise & ADVISE_INTERLACED_PCLUSTER && pa % bs === 0 ? FORMAT_INTERLACED : FORMAT_SHIFTED;
      if (ext.length > ext.plen!) throw corrupt(this.W, pos, `uncompressed extent of ${ext.length} bytes larger than its ${ext.plen}-byte pcluster`);
    }
    this.checkLimits(ext);
    return ext;
  }

  private checkLimits(ext: Extent): void {
    if (ext.plen! > PCLUSTER_MAX_SIZE || ext.length > PCLUSTER_MAX_DSIZE) {
      throw new ErofsError('EOPNOTSUPP', where(this.inode), this.inode.pos, `extent of ${ext.length} bytes from a ${ext.plen}-byte pcluster exceeds the kernel's limits`);
    }
  }
}
