import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lz4Decode } from '@erofs-js/erofs';
import { lz4Compress, lz4CompressFill, lz4Bound } from './lz4.js';
import { fcRuns } from '../../../tests/fc-runs.js';

const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog; '.repeat(400));
const noise = (n: number, seed = 1) => {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
};

/** Decodes strictly (not partial): exact output size, the block must end at its input's end. */
function roundTrip(input: Uint8Array): Uint8Array {
  const block = lz4Compress(input);
  expect(block.length).toBeLessThanOrEqual(lz4Bound(input.length));
  const out = new Uint8Array(input.length);
  lz4Decode(block, out, false);
  return out;
}

/** LZ4's end-of-block rules, walked over the sequences: what strict decoders rely on. */
function checkEndRules(block: Uint8Array, outLen: number): void {
  let ip = 0;
  let op = 0;
  for (;;) {
    const token = block[ip++];
    let lit = token >> 4;
    if (lit === 15) for (let b = 255; b === 255; ) lit += b = block[ip++];
    ip += lit;
    op += lit;
    if (ip === block.length) break;
    ip += 2;
    let len = token & 15;
    if (len === 15) for (let b = 255; b === 255; ) len += b = block[ip++];
    len += 4;
    expect(op + 12, 'last match starts 12 bytes before the end').toBeLessThanOrEqual(outLen);
    op += len;
    expect(op + 5, 'last 5 bytes are literals').toBeLessThanOrEqual(outLen);
  }
  expect(op).toBe(outLen);
}

describe('lz4 encoder', () => {
  it('round-trips text, noise, zeros and tiny inputs through the decoder', () => {
    for (const input of [text, noise(10000), new Uint8Array(100000), new Uint8Array(0), new Uint8Array([7]), noise(13), noise(12)]) {
      expect(Buffer.compare(roundTrip(input), input)).toBe(0);
      checkEndRules(lz4Compress(input), input.length);
    }
  });

  it('compresses repetitive data well and never starts a block with 0 (zero padding would eat it)', () => {
    expect(lz4Compress(text).length).toBeLessThan(text.length / 20);
    expect(lz4Compress(new Uint8Array(1 << 20)).length).toBeLessThan(5000);
    for (const input of [text, new Uint8Array(5000), noise(100)]) expect(lz4Compress(input)[0]).not.toBe(0);
  });

  it('fill mode: a block of at most `capacity` bytes that decodes to exactly the consumed prefix', () => {
    const data0 = new Uint8Array(300000);
    data0.set(text, 0);
    data0.set(noise(20000), 30000);
    for (const cap of [13, 64, 512, 4096]) {
      const data = cap < 512 ? data0.subarray(25000, 45000) : data0;
      const out = new Uint8Array(cap);
      for (let pos = 0; pos < data.length; ) {
        const r = lz4CompressFill(data, pos, data.length, out, cap);
        expect(r.written).toBeLessThanOrEqual(cap);
        expect(r.consumed).toBeGreaterThan(0);
        const dec = new Uint8Array(r.consumed);
        lz4Decode(out.subarray(0, r.written), dec, false);
        expect(dec).toEqual(data.subarray(pos, pos + r.consumed));
        checkEndRules(out.subarray(0, r.written), r.consumed);
        pos += r.consumed;
      }
    }
  });

  it('matches never reach before the start of the range', () => {
    const data = new Uint8Array([...text, ...text]);
    const out = new Uint8Array(4096);
    const r = lz4CompressFill(data, text.length, data.length, out);
    const dec = new Uint8Array(r.consumed);
    lz4Decode(out.subarray(0, r.written), dec, false);
    expect(dec).toEqual(data.subarray(text.length, text.length + r.consumed));
  });

  it('property: arbitrary bytes round-trip, in whole and fill modes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(text.subarray(0, 200), new Uint8Array(500))), { maxLength: 20 }), fc.integer({ min: 1, max: 3000 }), (parts, cap) => {
        const input = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) input.set(p, (o += p.length) - p.length);
        expect(roundTrip(input)).toEqual(input);
        const out = new Uint8Array(cap);
        const r = lz4CompressFill(input, 0, input.length, out);
        const dec = new Uint8Array(r.consumed);
        lz4Decode(out.subarray(0, r.written), dec, false);
        expect(dec).toEqual(input.subarray(0, r.consumed));
        if (input.length && cap >= 2) expect(r.consumed).toBeGreaterThan(0);
      }),
      fcRuns('mkfs lz4', 42).runs(300),
    );
  });
});
