import { describe, expect, it } from 'vitest';
import { ExtentCache, readCompressionConfig } from './compression.js';
import { MemorySource, type ByteSource } from './source.js';
import { INCOMPAT, type Superblock } from './superblock.js';

function image(records: [number, number[]][]): MemorySource {
  const b = new Uint8Array(4096);
  let pos = 1024 + 128;
  for (const [, payload] of records) {
    pos = Math.ceil(pos / 4) * 4;
    b[pos] = payload.length & 0xff;
    b[pos + 1] = payload.length >> 8;
    b.set(payload, pos + 2);
    pos += 2 + payload.length;
  }
  return new MemorySource(b);
}
const sb = (algs: number) => ({ featureIncompat: INCOMPAT.COMPR_CFGS, availableComprAlgs: algs, sbSize: 128 }) as Superblock;
const le32 = (v: number) => [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24];

describe('readCompressionConfig', () => {
  it('assumes LZ4 alone without COMPR_CFGS, the field then being lz4_max_distance', () => {
    const cfg = readCompressionConfig(image([]), { featureIncompat: 0, availableComprAlgs: 65535, sbSize: 128 } as Superblock);
    expect(cfg.availableAlgs).toBe(1);
    expect(cfg.lz4MaxDistance).toBe(65535);
  });

  it('reads records in ascending algorithm order, each 4-aligned', () => {
    const lz4 = [0xff, 0xff, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const lzma = [...le32(1 << 20), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const deflate = [15, 0, 0, 0, 0, 0];
    const zstd = [0, 7, 0, 0, 0, 0];
    const cfg = readCompressionConfig(image([[0, lz4], [1, lzma], [2, deflate], [3, zstd]]), sb(15));
    expect(cfg).toMatchObject({ availableAlgs: 15, lz4MaxDistance: 65535, lz4MaxPclusterBlks: 16, lzmaDictSize: 1 << 20, deflateWindowBits: 15, zstdWindowLog: 7 });
  });

  it('refuses out-of-range settings and empty records', () => {
    expect(() => readCompressionConfig(image([[1, [...le32(100), 0, 0]]]), sb(2))).toThrow(/dictionary size 100/);
    expect(() => readCompressionConfig(image([[1, [...le32(1 << 20), 1, 0]]]), sb(2))).toThrowError(expect.objectContaining({ code: 'EOPNOTSUPP' }));
    expect(() => readCompressionConfig(image([[2, [16, 0]]]), sb(4))).toThrow(/window bits 16/);
    expect(() => readCompressionConfig(image([[3, [0, 11]]]), sb(8))).toThrow(/window log 21/);
    expect(() => readCompressionConfig(image([[0, []]]), sb(1))).toThrow(/empty/);
  });
});

describe('readCompressionConfig over Node Buffers', () => {
  /** The image's bytes in a Buffer that shares a larger allocation: views have a non-zero byteOffset. */
  function pooled(src: MemorySource): { buf: Buffer; source: ByteSource } {
    const pad = Buffer.alloc(9, 0xa5);
    const buf = Buffer.concat([pad, src.bytes, pad]).subarray(pad.length, pad.length + src.size);
    const source: ByteSource = {
      size: buf.length,
      readInto: (dest, at, off, n) => dest.set(buf.subarray(off, off + n), at),
      view: (off, n) => buf.subarray(off, off + n),
    };
    return { buf, source };
  }

  it('reads each record at its own offset (not at the start of the view\'s ArrayBuffer), and writes nothing', () => {
    const lz4 = [0x34, 0x12, 4, 0];
    const lzma = [...le32(3 << 20), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const zstd = [0, 9, 0, 0, 0, 0];
    const { buf, source } = pooled(image([[0, lz4], [1, lzma], [3, zstd]]));
    const before = Buffer.from(buf);
    for (const s of [source, new MemorySource(buf)]) {
      expect(readCompressionConfig(s, sb(11))).toMatchObject({ lz4MaxDistance: 0x1234, lz4MaxPclusterBlks: 4, lzmaDictSize: 3 << 20, zstdWindowLog: 9 });
    }
    expect(buf.equals(before)).toBe(true);
  });
});

describe('ExtentCache', () => {
  it('evicts least recently used entries to stay within its byte budget', () => {
    const c = new ExtentCache(100);
    const [a, b, cc] = [1, 2, 3].map((v) => new Uint8Array(40).fill(v));
    c.set('a', a);
    c.set('b', b);
    expect(c.get('a')).toBe(a); // a is now the most recent
    c.set('c', cc); // evicts b
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(a);
    expect(c.get('c')).toBe(cc);
    expect(c.size).toBe(80);
    c.set('huge', new Uint8Array(101)); // larger than the budget: not kept
    expect(c.get('huge')).toBeUndefined();
    expect(c.hits).toBe(3);
    expect(c.misses).toBe(2);
  });
});
