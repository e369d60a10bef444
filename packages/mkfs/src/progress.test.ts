import { describe, expect, it } from 'vitest';
import { buildImage, buildImageTo } from './builder.js';
import { treeSource } from './table.js';
import { dir, file } from './tree.js';

describe('BuildOptions.onProgress', () => {
  it('reports the bytes written so far and the image size, rising to the size, the image unchanged', () => {
    // Bytes LZ4 cannot shrink (xorshift), so that the image is megabytes long.
    let x = 2463534242;
    const noise = new Uint8Array(1 << 20).map(() => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x & 0xff));
    const tree = dir({ a: file(noise), b: file('x'.repeat(10_000)), c: dir({ d: file(new Uint8Array(70_000).fill(7)) }) });
    const calls: [number, number][] = [];
    const pieces: Uint8Array[] = [];
    const size = buildImageTo(treeSource(tree), { write: (b) => pieces.push(b.slice()) }, { compression: 'lz4', onProgress: (done, total) => calls.push([done, total]) }, 1 << 16);
    expect(calls.length).toBeGreaterThan(2);
    for (let k = 0; k < calls.length; k++) {
      expect(calls[k][1]).toBe(size);
      if (k) expect(calls[k][0]).toBeGreaterThan(calls[k - 1][0]);
    }
    expect(calls[calls.length - 1][0]).toBe(size);
    const whole = new Uint8Array(size);
    let at = 0;
    for (const p of pieces) (whole.set(p, at), (at += p.length));
    expect(whole).toEqual(buildImage(tree, { compression: 'lz4' }));
  });
});
