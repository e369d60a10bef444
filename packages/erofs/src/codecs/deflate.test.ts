/**
 * Raw DEFLATE: zlib-made vectors (fixtures/codecs/deflate, tools/codecs/deflate-vectors.py)
 * through both paths, the pure-TypeScript `deflate` (pako) and Node's native
 * `createNodeDeflate()`; partial prefixes; wrong lengths; hostile input (fast-check: seed
 * printed, FC_SEED=<seed> to replay, FC_RUNS=k multiplies the runs).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Codec } from './codec.js';
import { deflate, inflateRawInto } from './deflate.js';
import { createNodeDeflate } from './deflate-node.js';
import { ErofsError } from '../errors.js';
import { guarded, mutate, mutation } from '../../../../tests/codec-harness.js';
import { fcRuns } from '../../../../tests/fc-runs.js';

interface Vector {
  file: string;
  outputLength: number;
  sha256: string;
  compressedLength: number;
}

const dir = new URL('../../../../fixtures/codecs/deflate/', import.meta.url);
const vectors: Vector[] = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8'));
const streams = new Map(vectors.map((v) => [v.file, new Uint8Array(readFileSync(new URL(v.file, dir)))]));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const codecs: [string, Codec][] = [
  ['pure (pako)', deflate],
  ['node:zlib', createNodeDeflate()],
  ['node:zlib, no partial slack', createNodeDeflate({ partialSlack: 0 })],
];

/** The decoded bytes of every vector, by the pure decoder, checked against the index. */
const originals = new Map<string, Uint8Array>();
for (const v of vectors) {
  const out = new Uint8Array(v.outputLength);
  deflate.decode(streams.get(v.file)!, out, false);
  originals.set(v.file, out);
}

function euclean(fn: () => void): ErofsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    expect((e as ErofsError).code).toBe('EUCLEAN');
    expect((e as ErofsError).structure).toBe('deflate');
    return e as ErofsError;
  }
  throw new Error('expected EUCLEAN, decode succeeded');
}

describe.each(codecs)('deflate %s', (_name, codec) => {
  it('decodes every vector exactly', () => {
    expect(vectors.length).toBeGreaterThan(30);
    for (const v of vectors) {
      const out = new Uint8Array(v.outputLength);
      codec.decode(streams.get(v.file)!, out, false);
      expect(sha256(out), v.file).toBe(v.sha256);
    }
  });

  it('decodes prefixes with partial=true', () => {
    for (const v of vectors) {
      const L = v.outputLength;
      const full = originals.get(v.file)!;
      for (const n of new Set([0, 1, 7, 4096, L >> 1, L - 1, L].filter((n) => n >= 0 && n <= L))) {
        const out = new Uint8Array(n);
        codec.decode(streams.get(v.file)!, out, true);
        expect(Buffer.compare(out, full.subarray(0, n)), `${v.file} prefix ${n}`).toBe(0);
      }
    }
  });

  it('rejects a wrong output length when not partial', () => {
    for (const v of vectors) {
      const s = streams.get(v.file)!;
      euclean(() => codec.decode(s, new Uint8Array(v.outputLength + 1), false));
      if (v.outputLength > 0) euclean(() => codec.decode(s, new Uint8Array(v.outputLength - 1), false));
      // partial: asking for more than the stream holds is still an error
      euclean(() => codec.decode(s, new Uint8Array(v.outputLength + 1), true));
    }
  });

  it('rejects truncated streams and trailing bytes (trailing bytes are fine when partial)', () => {
    for (const v of vectors) {
      const s = streams.get(v.file)!;
      const out = new Uint8Array(v.outputLength);
      for (const cut of [1, 2, Math.max(1, s.length >> 1)]) {
        if (cut > s.length) continue;
        euclean(() => codec.decode(s.subarray(0, s.length - cut), out, false));
      }
      const longer = new Uint8Array(s.length + 3);
      longer.set(s);
      longer.set([1, 2, 3], s.length);
      euclean(() => codec.decode(longer, out, false));
      codec.decode(longer, out, true);
      expect(sha256(out)).toBe(v.sha256);
    }
  });

  it('rejects empty input, a reserved block type, and a bad stored-block length', () => {
    euclean(() => codec.decode(new Uint8Array(0), new Uint8Array(4), false));
    euclean(() => codec.decode(new Uint8Array(0), new Uint8Array(4), true));
    euclean(() => codec.decode(Uint8Array.of(0x07, 0, 0, 0), new Uint8Array(4), false)); // BTYPE 11
    const e = euclean(() => codec.decode(Uint8Array.of(0x01, 4, 0, 0xfb, 0xfe, 1, 2, 3, 4), new Uint8Array(4), false));
    expect(e.message).toMatch(/stored block lengths/);
    codec.decode(Uint8Array.of(0x01, 4, 0, 0xfb, 0xff, 1, 2, 3, 4), new Uint8Array(4), false);
  });

  it('decodes an empty output from an empty final block', () => {
    codec.decode(Uint8Array.of(0x03, 0x00), new Uint8Array(0), false);
    codec.decode(Uint8Array.of(0x03, 0x00), new Uint8Array(0), true);
  });

  it('rejects a distance reaching before the start of the output', () => {
    const data = Buffer.from('abababababababab');
    const out = new Uint8Array(data.length);
    codec.decode(deflateRawSync(data, { strategy: 4 /* Z_FIXED */ }), out, false);
    expect(Buffer.from(out).toString()).toBe('abababababababab');
    // hand-made: BFINAL=1 BTYPE=01, literal 'a' (0x61 -> 8-bit code 0x91), length 257 (code 0000001, 3 bytes),
    // distance code 1 (dist 2), end of block
    const bits: number[] = [1, 1, 0];
    const put = (code: number, len: number) => {
      for (let i = len - 1; i >= 0; i--) bits.push((code >> i) & 1);
    };
    put(0x30 + 0x61, 8);
    put(0b0000001, 7);
    put(1, 5);
    put(0, 7);
    const bytes = new Uint8Array((bits.length + 7) >> 3);
    bits.forEach((b, i) => (bytes[i >> 3] |= b << (i & 7)));
    const e = euclean(() => codec.decode(bytes, new Uint8Array(4), false));
    expect(e.message).toMatch(/too far back/);
  });
});

describe('deflate internals', () => {
  it('reports the input consumed', () => {
    const s = streams.get(vectors[0].file)!;
    const out = new Uint8Array(vectors[0].outputLength);
    expect(inflateRawInto(s, out, false)).toBe(s.length);
    expect(inflateRawInto(s, out.subarray(0, 100), true)).toBeLessThan(s.length);
  });

  it('partial decoding stops early: a 64 MiB zero stream yields its first 4 KiB at once', () => {
    // ~64 KiB of deflate that inflates to 64 MiB: partial decoding must not inflate it all
    const chunk = deflateRawSync(new Uint8Array(64 << 20), { level: 9 });
    expect(chunk.length).toBeLessThan(100_000);
    const out = new Uint8Array(4096).fill(1);
    const t0 = performance.now();
    for (const [, codec] of codecs) codec.decode(chunk, out, true);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out.every((b) => b === 0)).toBe(true);
    euclean(() => codecs[1][1].decode(chunk, out, false));
  });

  it('does not pin the last buffers it was given', () => {
    const out = new Uint8Array(10);
    deflate.decode(deflateRawSync(Buffer.from('0123456789')), out, false);
    expect(Buffer.from(out).toString()).toBe('0123456789');
  });
});

describe('deflate hostile input (fast-check)', () => {
  const { runs } = fcRuns('deflate');
  const pool = vectors.filter((v) => v.compressedLength <= 40_000);
  const node = createNodeDeflate();


  it('mutated zlib streams decode or throw EUCLEAN, the same way on both paths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: pool.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: -8, max: 8 }),
        (vi, ms, partial, delta) => {
          const v = pool[vi];
          const outLen = Math.max(0, v.outputLength + (Math.abs(delta) > 4 ? delta : 0));
          const input = mutate(streams.get(v.file)!, ms);
          const a = guarded(deflate, input, outLen, partial);
          const b = guarded(node, input, outLen, partial);
          if (a instanceof ErofsError || b instanceof ErofsError) {
            if (!(a instanceof ErofsError && b instanceof ErofsError)) {
              throw new Error(`paths disagree: pure ${a instanceof ErofsError ? a.message : 'ok'}, node ${b instanceof ErofsError ? b.message : 'ok'}`);
            }
          } else if (Buffer.compare(a, b) !== 0) {
            throw new Error('paths produced different bytes');
          }
        },
      ),
      runs(300),
    );
  });

  it('random bytes decode or throw EUCLEAN, within bounds, on both paths', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.integer({ min: 0, max: 1 << 17 }),
        fc.boolean(),
        (bytes, outLen, partial) => {
          guarded(deflate, bytes, outLen, partial);
          guarded(node, bytes, outLen, partial);
        },
      ),
      runs(300),
    );
  });
});
