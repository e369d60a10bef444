import { ErofsError, corrupt } from './errors.js';
import { BoundedCache } from './cache.js';
import type { ByteSource } from './source.js';
import { INCOMPAT, SUPERBLOCK_OFFSET, type Superblock } from './superblock.js';

/** Per-algorithm settings from the image's configuration records (COMPR_CFGS). */
export interface CompressionConfig {
  /** Bitmap of algorithms the image may use (bit n = algorithm n); LZ4 alone without COMPR_CFGS. */
  availableAlgs: number;
  lz4MaxDistance: number;
  lz4MaxPclusterBlks: number;
  lzmaDictSize: number;
  deflateWindowBits: number;
  zstdWindowLog: number;
}

/**
 * Reads the configuration records that follow the superblock: for every algorithm in the
 * bitmap, ascending, a 4-aligned u16 length and that many payload bytes.
 */
export function readCompressionConfig(source: ByteSource, sb: Superblock): CompressionConfig {
  const cfg: CompressionConfig = {
    availableAlgs: 1,
    lz4MaxDistance: 0,
    lz4MaxPclusterBlks: 1,
    lzmaDictSize: 0,
    deflateWindowBits: 15,
    zstdWindowLog: 0,
  };
  if (!(sb.featureIncompat & INCOMPAT.COMPR_CFGS)) {
    cfg.lz4MaxDistance = sb.availableComprAlgs; // the same field holds lz4_max_distance
    return cfg;
  }
  cfg.availableAlgs = sb.availableComprAlgs;
  let pos = SUPERBLOCK_OFFSET + sb.sbSize;
  const W = 'compression config';
  for (let alg = 0; alg < 16; alg++) {
    if (!(cfg.availableAlgs & (1 << alg))) continue;
    pos = Math.ceil(pos / 4) * 4;
    if (pos + 2 > source.size) throw corrupt(W, pos, 'record header past the end of the image');
    const h = source.view(pos, 2);
    const len = h[0] | (h[1] << 8);
    if (len === 0 || pos + 2 + len > source.size) throw corrupt(W, pos, `record of ${len} bytes for algorithm ${alg} is empty or past the end`);
    // Read in place (the view may share a larger buffer: a Node Buffer's pool).
    const p = source.view(pos + 2, len);
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    switch (alg) {
      case 0:
        if (len >= 4) {
          cfg.lz4MaxDistance = dv.getUint16(0, true);
          cfg.lz4MaxPclusterBlks = dv.getUint16(2, true) || 1;
        }
        break;
      case 1: {
        if (len < 6) throw corrupt(W, pos, `LZMA record of ${len} bytes is too short`);
        const dict = dv.getUint32(0, true);
        const format = dv.getUint16(4, true);
        if (format !== 0) throw new ErofsError('EOPNOTSUPP', W, pos + 6, `unknown LZMA format ${format}`);
        if (dict < 4096 || dict > 8 << 20) throw corrupt(W, pos + 2, `LZMA dictionary size ${dict} outside 4 KiB..8 MiB`);
        cfg.lzmaDictSize = dict;
        break;
      }
      case 2:
        if (len >= 1) {
          cfg.deflateWindowBits = p[0];
          if (p[0] > 15) throw corrupt(W, pos + 2, `DEFLATE window bits ${p[0]} above 15`);
        }
        break;
      case 3:
        if (len >= 2) {
          if (p[0] !== 0) throw new ErofsError('EOPNOTSUPP', W, pos + 2, `unknown Zstandard format ${p[0]}`);
          cfg.zstdWindowLog = p[1];
          if (p[1] > 10) throw corrupt(W, pos + 3, `Zstandard window log ${p[1] + 10} above 20`);
        }
        break;
      default:
        throw new ErofsError('EOPNOTSUPP', W, pos, `unknown algorithm ${alg}`);
    }
    pos += 2 + len;
  }
  return cfg;
}

/**
 * @deprecated The byte-bounded LRU of byte arrays that the decoded-extent cache and the
 * range source's block cache were built on: now the one BoundedCache (cache.ts), under its
 * old name and with its `maxBytes`, for callers that have not moved.
 */
export class ExtentCache<K = string> extends BoundedCache<K, Uint8Array> {
  get maxBytes(): number {
    return this.budget;
  }
}
