import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErofsError, Image } from '@erofs-js/erofs';
import { fixture, fixtureBytes } from '../../test/helpers.js';
import { FdSource } from './source.js';

describe('FdSource', () => {
  it('reads the same bytes as the file, across cache blocks', () => {
    const bytes = fixtureBytes('rootfs-18.erofs');
    const src = new FdSource(openSync(fixture('rootfs-18.erofs'), 'r'), { blockSize: 512, cacheBlocks: 2 });
    expect(src.size).toBe(bytes.length);
    for (const [off, len] of [[0, 10], [500, 30], [511, 1], [1000, 5000], [bytes.length - 7, 7], [0, 0]]) {
      const out = new Uint8Array(len);
      src.readInto(out, 0, off, len);
      expect(out).toEqual(bytes.subarray(off, off + len));
      expect(src.view(off, len)).toEqual(bytes.subarray(off, off + len));
    }
    expect(() => src.view(bytes.length - 1, 2)).toThrow(ErofsError);
    src.close();
    src.close();
    expect(src.closed).toBe(true);
    expect(() => src.view(0, 1)).toThrow(/closed/);
  });

  it('backs an Image', () => {
    const src = new FdSource(openSync(fixture('basic-18.erofs'), 'r'));
    const img = new Image(src);
    expect(img.root().nid).toBe(40);
    src.close();
  });

  it('refuses what is not a regular file, and bad options', () => {
    const fd = openSync(fixture(''), 'r');
    expect(() => new FdSource(fd)).toThrow(/not a regular file/);
    closeSync(fd);
    expect(() => new FdSource(123456)).toThrow(ErofsError);
    const f = openSync(fixture('rootfs-18.erofs'), 'r');
    expect(() => new FdSource(f, { blockSize: 1000 })).toThrow(RangeError);
    closeSync(f);
  });
});
