/**
 * Zstandard: frames from the zstd CLI (fixtures/codecs/zstd, tools/codecs/zstd-vectors.py)
 * through libzstd-in-wasm (`createZstd()`); the frame walk; partial
 * prefixes; wrong lengths; hostile input (fast-check: seed printed, FC_SEED=<seed> to
 * replay, FC_RUNS=k multiplies the runs).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Codec } from './codec.js';
import { ZSTD_MAX_FRAME_OUTPUT, createZstd, readZstdFrame, zstd, zstdEngineKind, zstdWasmReady } from './zstd.js';
import { ErofsError } from '../errors.js';
import { guarded, mutate, mutation } from '../../../../tests/codec-harness.js';
import { fcRuns } from '../../../../tests/fc-runs.js';

interface Vector {
  file: string;
  outputLength: number;
  sha256: string;
  compressedLength: number;
  args: string;
}

const dir = new URL('../../../../fixtures/codecs/zstd/', import.meta.url);
const vectors: Vector[] = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8'));
const streams = new Map(vectors.map((v) => [v.file, new Uint8Array(readFileSync(new URL(v.file, dir)))]));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// tests/setup.ts has already compiled the wasm (loadCodecs), as every image reader must.
const wasm = await createZstd();

const codecs: [string, Codec][] = [['wasm (libzstd)', wasm]];

const originals = new Map<string, Uint8Array>();
for (const v of vectors) {
  const out = new Uint8Array(v.outputLength);
  wasm.decode(streams.get(v.file)!, out, false);
  originals.set(v.file, out);
}

function euclean(fn: () => void): ErofsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    expect((e as ErofsError).code).toBe('EUCLEAN');
    expect((e as ErofsError).structure).toBe('zstd');
    return e as ErofsError;
  }
  throw new Error('expected EUCLEAN, decode succeeded');
}

/** A copy of a vector's frame with bytes changed. */
function patched(file: string, edit: (b: Uint8Array) => void): Uint8Array {
  const b = streams.get(file)!.slice();
  edit(b);
  return b;
}

describe.each(codecs)('zstd %s', (_name, codec) => {
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
      for (const n of new Set([0, 1, 7, 4096, 131072, 131073, L >> 1, L - 1, L].filter((n) => n >= 0 && n <= L))) {
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
      euclean(() => codec.decode(s, new Uint8Array(v.outputLength + 1), true));
    }
  });

  it('rejects truncated frames and trailing bytes (trailing bytes are fine when partial)', () => {
    for (const v of vectors) {
      const s = streams.get(v.file)!;
      const out = new Uint8Array(v.outputLength);
      for (const cut of [1, 4, s.length >> 1, s.length]) euclean(() => codec.decode(s.subarray(0, s.length - cut), out, false));
      const longer = new Uint8Array(s.length + 3);
      longer.set(s);
      euclean(() => codec.decode(longer, out, false));
      codec.decode(longer, out, true);
      expect(sha256(out)).toBe(v.sha256);
    }
  });

  it('rejects a content size that disagrees with the blocks', () => {
    // text4096-3: single segment, 2-byte Frame_Content_Size (value - 256) at offset 5
    const s = streams.get('text4096-3.zst')!;
    expect(s[4] >> 6).toBe(1);
    expect(s[5] | (s[6] << 8)).toBe(4096 - 256);
    const bigger = patched('text4096-3.zst', (b) => (b[5] += 1));
    euclean(() => codec.decode(bigger, new Uint8Array(4096), false));
    euclean(() => codec.decode(bigger, new Uint8Array(4097), false));
    const smaller = patched('text4096-3.zst', (b) => (b[5] -= 1));
    euclean(() => codec.decode(smaller, new Uint8Array(4095), false));
  });
});

describe('zstd engine', () => {
  it('calls libzstd directly, so that a frame is copied out of the wasm memory once', () => {
    expect(zstdEngineKind()).toBe('direct');
  });

  it('decodes frames back to back (the output copied before the wasm buffers are freed)', () => {
    expect(vectors.length).toBeGreaterThan(1);
    for (let round = 0; round < 3; round++) {
      for (const v of vectors) {
        const out = new Uint8Array(v.outputLength);
        zstd.decode(streams.get(v.file)!, out, false);
        expect(sha256(out)).toBe(v.sha256);
      }
    }
  });
});

describe('zstd frame walk', () => {
  it('reads the headers the CLI writes', () => {
    const f = readZstdFrame(streams.get('text4096-3.zst')!);
    expect(f).toEqual({ size: streams.get('text4096-3.zst')!.length, contentSize: 4096, windowSize: 4096, maxOutput: 4096, checksum: true });
    const g = readZstdFrame(streams.get('text32768-stdin.zst')!);
    expect(g.contentSize).toBe(-1);
    expect(g.windowSize).toBe(2 << 20);
    const h = readZstdFrame(streams.get('text200000-3-stdin.zst')!);
    expect(h.checksum).toBe(false);
    expect(h.maxOutput).toBeGreaterThanOrEqual(200000);
    const z = readZstdFrame(streams.get('zeros300000-3.zst')!);
    expect(z.maxOutput).toBe(300000); // RLE blocks count exactly
  });

  it('names what is wrong', () => {
    const f = 'text4096-3.zst';
    expect(euclean(() => readZstdFrame(new Uint8Array(5))).message).toMatch(/frame header/);
    expect(euclean(() => readZstdFrame(Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0))).message).toMatch(/skippable/);
    expect(euclean(() => readZstdFrame(patched(f, (b) => (b[0] ^= 1)))).message).toMatch(/magic/);
    expect(euclean(() => readZstdFrame(patched(f, (b) => (b[4] |= 8)))).message).toMatch(/reserved bit/);
    // dictionary id: descriptor 0x01 (1-byte dict id), window byte, dict id 7
    expect(euclean(() => readZstdFrame(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x00, 0x07, 1, 0, 0))).message).toMatch(/dictionary 7/);
    // block header after a 1 KiB window: reserved block type, then an oversized raw block
    expect(euclean(() => readZstdFrame(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x07, 0, 0))).message).toMatch(/reserved/);
    expect(euclean(() => readZstdFrame(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01 | (1025 << 3) & 0xff, (1025 << 3) >> 8, 0))).message).toMatch(
      /block maximum of 1024/,
    );
    expect(euclean(() => readZstdFrame(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01 | (16 << 3), 0, 0, 1, 2))).message).toMatch(/block needs 16 bytes/);
  });

  it('accepts an empty frame (one empty raw block) and a minimal RLE frame', () => {
    const empty = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00); // single segment, FCS 0
    for (const [, codec] of codecs) {
      codec.decode(empty, new Uint8Array(0), false);
      euclean(() => codec.decode(empty, new Uint8Array(1), false));
      const rle = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x03 | (5 << 3), 0x00, 0x00, 0x61); // "aaaaa"
      const out = new Uint8Array(5);
      codec.decode(rle, out, false);
      expect(Buffer.from(out).toString()).toBe('aaaaa');
    }
  });

  it('refuses to decode whole a frame declaring more than a pcluster holds', () => {
    // single segment, 4-byte FCS of 32 MiB, one raw block of 1 byte (walk fails: blocks too small)
    const huge = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 2, 0x01 | (1 << 3), 0, 0, 0x61);
    expect(euclean(() => readZstdFrame(huge)).message).toMatch(/declares 33554432 bytes/);
    expect(ZSTD_MAX_FRAME_OUTPUT).toBe(16 << 20);
  });

  it('a block whose sequences claim far more than the block holds fails at once', () => {
    // raw literals of size 0; 98047 sequences; RLE tables: literal length 0, offset code 0,
    // match length code 52 (65539 bytes each): 6·10^9 bytes from an 18-byte frame. Unpatched
    // fzstd spent 197 s on it and then returned success.
    const content = [0x00, 0xff, 0xff, 0xff, 0x54, 0x00, 0x00, 0x34, 0x01];
    const bh = 1 | (2 << 1) | (content.length << 3);
    const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 200, bh & 0xff, (bh >> 8) & 0xff, bh >> 16, ...content);
    for (const [, codec] of codecs) {
      const t0 = performance.now();
      euclean(() => codec.decode(frame, new Uint8Array(200), false));
      euclean(() => codec.decode(frame, new Uint8Array(100), true));
      expect(performance.now() - t0).toBeLessThan(100);
    }
  });

  it('a frame of many tiny blocks and a large window decodes in linear time', () => {
    // 1 MiB window, 50000 RLE blocks of one byte each: published fzstd moved the whole
    // window for every block (5·10^10 bytes here)
    const n = 50_000;
    const frame = new Uint8Array(6 + 4 * n);
    frame.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, 10 << 3]);
    for (let i = 0; i < n; i++) {
      const bh = (i === n - 1 ? 1 : 0) | (1 << 1) | (1 << 3);
      frame.set([bh, 0, 0, 0x61], 6 + 4 * i);
    }
    for (const [, codec] of codecs) {
      const t0 = performance.now();
      const out = new Uint8Array(n);
      codec.decode(frame, out, false);
      expect(out.every((b) => b === 0x61)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });

  it('the libzstd codec verifies the checksum', () => {
    const bad = patched('text32768-3.zst', (b) => (b[b.length - 1] ^= 0x40));
    euclean(() => wasm.decode(bad, new Uint8Array(32768), false));
  });

  it('`zstd` decodes with libzstd once createZstd() has resolved', () => {
    expect(zstdWasmReady()).toBe(true);
    const bad = patched('text32768-3.zst', (b) => (b[b.length - 1] ^= 0x40));
    euclean(() => zstd.decode(bad, new Uint8Array(32768), false));
  });
});

describe('zstd hostile input (fast-check)', () => {
  const { runs } = fcRuns('zstd');
  const pool = vectors.filter((v) => v.compressedLength <= 40_000);


  it('mutated frames decode or throw EUCLEAN', () => {
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
          guarded(wasm, input, outLen, partial);
        },
      ),
      runs(300),
    );
  });

  it('random compressed-block contents behind valid frame and block headers decode or throw EUCLEAN, within bounds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.integer({ min: 256, max: 65791 }),
        fc.boolean(),
        fc.boolean(),
        (content, size, partial, exact) => {
          // single segment, 2-byte content size, one last compressed block
          const bh = 1 | (2 << 1) | (content.length << 3);
          const input = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x60, (size - 256) & 0xff, (size - 256) >> 8, bh & 0xff, (bh >> 8) & 0xff, bh >> 16, ...content);
          const outLen = exact ? size : size >> 1;
          guarded(wasm, input, outLen, partial);
        },
      ),
      runs(300),
    );
  });

  it('random bytes behind a valid magic decode or throw EUCLEAN, within bounds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.integer({ min: 0, max: 1 << 17 }),
        fc.boolean(),
        (bytes, outLen, partial) => {
          const input = new Uint8Array(4 + bytes.length);
          input.set([0x28, 0xb5, 0x2f, 0xfd]);
          input.set(bytes, 4);
          guarded(wasm, input, outLen, partial);
        },
      ),
      runs(300),
    );
  });
});
