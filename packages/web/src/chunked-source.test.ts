import { describe, expect, it } from 'vitest';
import { Image, isErofsError, walk } from '@erofs-js/erofs';
import { deviceSources, fixtureBytes, fixtureNames, openFixture } from '../../../tests/fixtures.js';
import { ChunkedSource } from './chunked-source.js';

/** Byte equality without the matcher's per-element walk (slow on megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const over = (bytes: Uint8Array, blockSize = 4096, cacheBytes = 64 << 10) => {
  const src = new ChunkedSource(bytes.length, (o, l) => bytes.slice(o, o + l), { blockSize, cacheBytes });
  return src;
};

describe('ChunkedSource', () => {
  it('reads and views equal the bytes, within and across blocks, with a bounded cache', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const src = over(bytes, 1024, 8 << 10);
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let k = 0; k < 2000; k++) {
      const off = rnd(bytes.length);
      const len = rnd(Math.min(5000, bytes.length - off) + 1);
      expect(same(src.view(off, len), bytes.subarray(off, off + len)), `view ${off} ${len}`).toBe(true);
      const dest = new Uint8Array(len + 3);
      src.readInto(dest, 3, off, len);
      expect(same(dest.subarray(3), bytes.subarray(off, off + len)), `readInto ${off} ${len}`).toBe(true);
    }
    expect(src.stats.bytes).toBeLessThanOrEqual(8 << 10);
    expect(src.view(bytes.length, 0)).toEqual(new Uint8Array(0));
  });

  it('a read past the end, a failing or short chunk read: EIO', () => {
    const bytes = new Uint8Array(5000);
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isErofsError(e) ? e.code : e;
      }
      return 'no error';
    };
    expect(err(() => over(bytes).view(4000, 1001))).toBe('EIO');
    expect(err(() => new ChunkedSource(5000, () => { throw new Error('gone'); }).view(0, 10))).toBe('EIO');
    expect(err(() => new ChunkedSource(5000, () => new Uint8Array(10)).view(0, 10))).toBe('EIO');
    expect(() => new ChunkedSource(10, () => bytes, { blockSize: 1000 })).toThrow(RangeError);
    expect(err(() => ChunkedSource.fromBlob(new Blob([bytes])))).toBe('EIO'); // no FileReaderSync outside a worker
  });

  // One image of each kind of layout (flat, inline, chunks, chunk indexes, tail packing,
  // fragments, metabox), read through 512-byte blocks and a cache of 16 of them.
  const KINDS = ['rootfs-18.erofs', 'basic-18-b512.erofs', 'basic-18-chunkidx.erofs', 'basic-18-blobdev.erofs', 'basic-19-metabox.erofs', 'z-lz4hc-18-ztail.erofs', 'z-lzma-19-48bit-combo.erofs', 'z-lz4hc-19-metabox.erofs'];
  it('images of every layout decode through it as from memory', () => {
    expect(KINDS.filter((k) => !fixtureNames().includes(k))).toEqual([]);
    for (const name of KINDS) {
      const bytes = fixtureBytes(name);
      const ref = openFixture(name);
      let image: Image;
      try {
        image = new Image(over(bytes, 512, 8192), { devices: deviceSources(name) });
      } catch (e) {
        throw new Error(`${name}: ${e}`);
      }
      const seen: string[] = [];
      walk(image, (e) => {
        seen.push(Buffer.from(e.path).toString('latin1'));
        if ((e.inode.mode & 0o170000) === 0o100000) expect(same(image.readFile(e.inode), ref.readFile(e.inode)), `${name} ${seen.at(-1)}`).toBe(true);
      });
      const want: string[] = [];
      walk(ref, (e) => want.push(Buffer.from(e.path).toString('latin1')));
      expect(seen, name).toEqual(want);
    }
  }, 120_000);
});
