import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../../../tests/fixtures.js';
import { fcRuns } from '../../../../tests/fc-runs.js';
import { lz4, lz4Decode } from './lz4.js';
import { lz4Best, lz4DecodeWasm, lz4Wasm, lz4WasmAvailable, lz4WasmCounts } from './lz4-wasm.js';
import { LZ4_WASM_BASE64 } from './lz4-wasm-module.js';
import { defaultCodecs } from './index.js';

// liblz4 in wasm is checked against lz4.ts, the oracle: for every input, the same bytes or
// the same error. Where liblz4 refuses a block lz4.ts decides, so what these tests watch is
// that liblz4 never accepts what lz4.ts would not, nor decodes it differently.

const DIR = FIXTURES + 'codecs/lz4/';
interface Vector { file: string; start: number; end: number; compressedSize: number }
const VECTORS: Vector[] = JSON.parse(readFileSync(DIR + 'index.json', 'utf8')).vectors;
const block = (v: Vector) => new Uint8Array(readFileSync(DIR + v.file));

type Outcome = { ok: true; bytes: string } | { ok: false; error: string };
function outcome(decode: (i: Uint8Array, o: Uint8Array, p: boolean) => unknown, input: Uint8Array, n: number, partial: boolean): Outcome {
  const out = new Uint8Array(n);
  try {
    decode(input, out, partial);
    return { ok: true, bytes: createHash('sha256').update(out).digest('hex') };
  } catch (e) {
    return { ok: false, error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}
const same = (input: Uint8Array, n: number, partial: boolean) =>
  expect(outcome(lz4DecodeWasm, input, n, partial)).toEqual(outcome(lz4Decode, input, n, partial));

describe('liblz4 in WebAssembly', () => {
  it('is the committed module, and loads on Node', () => {
    const wasm = readFileSync(new URL('../../../../tools/lz4-wasm/lz4.wasm', import.meta.url));
    expect(Buffer.from(LZ4_WASM_BASE64, 'base64').equals(wasm)).toBe(true);
    expect(readFileSync(new URL('../../../../tools/lz4-wasm/LICENSE', import.meta.url), 'utf8')).toMatch(/Copyright \(c\) 2011-20\d\d, Yann Collet/);
    expect(lz4WasmAvailable()).toBe(true);
    expect(lz4Best()).toBe(lz4Wasm);
    expect(defaultCodecs({ availableAlgs: 1, lz4MaxDistance: 0, lz4MaxPclusterBlks: 1, lzmaDictSize: 0, deflateWindowBits: 15, zstdWindowLog: 0 })[0]).toBe(lz4Wasm);
    // The TypeScript decoder stays exported as it was.
    expect(lz4.name).toBe('lz4');
  });

  it('decodes every vector and every sampled prefix as lz4.ts does, by liblz4 itself', () => {
    const before = lz4WasmCounts();
    for (const v of VECTORS) {
      const b = block(v);
      const n = v.end - v.start;
      same(b, n, false);
      for (const k of [1, 7, 4095, 4096, 4097, n >> 1, n - 1]) if (k > 0 && k < n) same(b, k, true);
    }
    const after = lz4WasmCounts();
    expect(after.decoded - before.decoded).toBeGreaterThan(VECTORS.length * 4);
  });

  it('grows its memory for a large block and goes on decoding small ones', () => {
    const big = VECTORS.reduce((a, v) => (v.end - v.start > a.end - a.start ? v : a));
    same(block(big), big.end - big.start, false);
    const small = VECTORS.find((v) => v.end - v.start < 1024 && v.compressedSize > 0)!;
    same(block(small), small.end - small.start, false);
  });

  it("accepts, through lz4.ts, blocks that break liblz4's end-of-block rules", () => {
    // 'a' x 4 literals, then a match of 8 at offset 1 ending the block, then an empty literal run.
    const input = new Uint8Array([0x44, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0x00]);
    const out = new Uint8Array(12);
    lz4DecodeWasm(input, out, false);
    expect(new TextDecoder().decode(out)).toBe('abcdabcdabcd');
  });

  it('refuses overlapping input and output as lz4.ts does', () => {
    const buf = new Uint8Array(64);
    expect(() => lz4DecodeWasm(buf.subarray(0, 32), buf.subarray(16, 48), false)).toThrow(RangeError);
  });
});

describe('liblz4 in WebAssembly on hostile input (fast-check)', () => {
  const { runs } = fcRuns('lz4-wasm');
  const small = VECTORS.filter((v) => v.end - v.start <= 16384 && v.compressedSize > 0);
  const blocks = small.map(block);

  it('mutated liblz4 blocks: the same bytes or the same error as lz4.ts', () => {
    fc.assert(
      fc.property(
        fc.nat(small.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -3, max: 3 }),
        fc.boolean(),
        (vi, sets, delta, partial) => {
          const input = blocks[vi].slice();
          for (const [at, value] of sets) input[at % input.length] = value;
          const v = small[vi];
          same(input, Math.max(0, v.end - v.start + delta), partial);
        },
      ),
      runs(1000),
    );
  });

  it('random bytes: the same bytes or the same error as lz4.ts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(3000), fc.boolean(), (input, n, partial) => {
        same(input, n, partial);
      }),
      runs(3000),
    );
  });
});
