import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErofsError } from '../errors.js';
import { createLzma, microLzmaDecode, LZMA_PROBS_MAX } from './lzma.js';
import { generate, type LzmaVector } from '../../../../tools/codecs/lzma-vectors.js';
import { guarded, mutate, mutation } from '../../../../tests/codec-harness.js';
import { fcRuns } from '../../../../tests/fc-runs.js';

// Streams made by liblzma's MicroLZMA encoder (tools/codecs/lzma-vectors.c); the originals
// are rebuilt here from the same deterministic generator.
const dir = new URL('../../../../fixtures/codecs/lzma/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8')) as { vectors: LzmaVector[] };
const vectors = index.vectors;
const streams = new Map(vectors.map((v) => [v.name, new Uint8Array(readFileSync(new URL(v.file, dir)))]));
const originals = new Map<string, Uint8Array>();
function original(v: LzmaVector): Uint8Array {
  let o = originals.get(v.name);
  if (!o) {
    o = generate(v.kind, v.seed, v.generatedLength).subarray(v.offset, v.offset + v.length);
    originals.set(v.name, o);
  }
  return o;
}
const byName = (name: string) => vectors.find((v) => v.name === name)!;

function expectCorrupt(f: () => void, message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ErofsError);
  expect((caught as ErofsError).code).toBe('EUCLEAN');
  if (message) expect((caught as ErofsError).message).toMatch(message);
}

describe('generator', () => {
  it('rebuilds every original the C generator hashed', () => {
    for (const v of vectors) {
      const sha = createHash('sha256').update(original(v)).digest('hex');
      expect(sha, v.name).toBe(v.sha256);
    }
  });
});

describe('liblzma vectors', () => {
  it('has the coverage the generator promises', () => {
    expect(vectors.length).toBeGreaterThan(100);
    expect(new Set(vectors.map((v) => v.dictSize)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(vectors.map((v) => `${v.lc}/${v.lp}/${v.pb}`)).size).toBeGreaterThanOrEqual(10);
    expect(vectors.some((v) => v.outLimit > 0 && v.offset > 0)).toBe(true);
    expect(Math.max(...vectors.map((v) => v.length))).toBe(1 << 20);
  });

  it('decodes every vector exactly (one codec per dictionary size, reused)', () => {
    const codecs = new Map<number, ReturnType<typeof createLzma>>();
    for (const v of vectors) {
      if (v.endMarker) continue;
      let codec = codecs.get(v.dictSize);
      if (!codec) codecs.set(v.dictSize, (codec = createLzma(v.dictSize)));
      expect(codec.name).toBe('lzma');
      const out = new Uint8Array(v.length);
      codec.decode(streams.get(v.name)!, out, false);
      expect(Buffer.compare(out, original(v)), v.name).toBe(0);
      // partial with the exact size is the same decode without the end checks
      const again = new Uint8Array(v.length);
      codec.decode(streams.get(v.name)!, again, true);
      expect(Buffer.compare(again, out), v.name).toBe(0);
    }
  });

  it('decodes prefixes with partial = true', () => {
    const codec = createLzma(8 << 20);
    for (const v of vectors) {
      if (v.length > 70000) continue;
      const want = original(v);
      const lengths = new Set([0, 1, 2, v.length >> 1, v.length - 1, (v.length * 0.9) | 0, (v.seed * 7919) % (v.length + 1)]);
      for (const n of lengths) {
        if (n < 0 || n > v.length) continue;
        const out = new Uint8Array(n);
        codec.decode(streams.get(v.name)!, out, true);
        expect(Buffer.compare(out, want.subarray(0, n)), `${v.name} prefix ${n}`).toBe(0);
      }
    }
  });

  it('accepts distances up to the dictionary size and refuses longer ones', () => {
    const small = byName('dict4096-mixed-64k');
    const out = new Uint8Array(small.length);
    microLzmaDecode(streams.get(small.name)!, out, 4096, false);
    expect(Buffer.compare(out, original(small))).toBe(0);
    // the same data with an 8 MiB dictionary has matches reaching further back than 4 KiB
    const big = byName('dict8388608-mixed-64k');
    expectCorrupt(() => microLzmaDecode(streams.get(big.name)!, new Uint8Array(big.length), 4096, false), /distance/);
  });

  it('refuses an end marker in exact mode (as the kernel does) and stops before it in partial mode', () => {
    for (const v of vectors.filter((x) => x.endMarker)) {
      const s = streams.get(v.name)!;
      expectCorrupt(() => microLzmaDecode(s, new Uint8Array(v.length), v.dictSize, false), /left after/);
      const out = new Uint8Array(v.length);
      microLzmaDecode(s, out, v.dictSize, true);
      expect(Buffer.compare(out, original(v)), v.name).toBe(0);
      // asking for more output than the stream holds runs into the marker
      expectCorrupt(() => microLzmaDecode(s, new Uint8Array(v.length + 1), v.dictSize, true), /end marker/);
    }
  });

  it('refuses trailing input in exact mode, ignores it in partial mode', () => {
    const v = byName('text-4096');
    const s = streams.get(v.name)!;
    const longer = new Uint8Array(s.length + 1);
    longer.set(s);
    expectCorrupt(() => microLzmaDecode(longer, new Uint8Array(v.length), v.dictSize, false), /1 bytes left/);
    const out = new Uint8Array(v.length);
    microLzmaDecode(longer, out, v.dictSize, true);
    expect(Buffer.compare(out, original(v))).toBe(0);
  });

  it('refuses a stream that ends early, or an output longer than the stream', () => {
    const v = byName('mixed-16384');
    const s = streams.get(v.name)!;
    expectCorrupt(() => microLzmaDecode(s.subarray(0, s.length - 1), new Uint8Array(v.length), v.dictSize, false));
    expectCorrupt(() => microLzmaDecode(s.subarray(0, s.length >> 1), new Uint8Array(v.length), v.dictSize, true), /ends early/);
    expectCorrupt(() => microLzmaDecode(s, new Uint8Array(v.length + 100), v.dictSize, false));
  });

  it('refuses a match running past the output end unless partial', () => {
    const v = byName('zeros-4096'); // a few long matches
    const s = streams.get(v.name)!;
    expectCorrupt(() => microLzmaDecode(s, new Uint8Array(1000), v.dictSize, false), /past the end/);
    const out = new Uint8Array(1000).fill(7);
    microLzmaDecode(s, out, v.dictSize, true);
    expect(out.every((b) => b === 0)).toBe(true);
  });
});

describe('header', () => {
  const base = streams.get('text-100')!;
  const withByte0 = (b: number) => {
    const s = base.slice();
    s[0] = b;
    return s;
  };

  it('reads lc/lp/pb from the negated properties byte', () => {
    for (const v of vectors) {
      const props = ~streams.get(v.name)![0] & 0xff;
      expect(props, v.name).toBe(v.props);
      expect([props % 9, Math.floor(props / 9) % 5, Math.floor(props / 45)]).toEqual([v.lc, v.lp, v.pb]);
    }
  });

  it('refuses properties out of range and lc + lp > 4', () => {
    expectCorrupt(() => microLzmaDecode(withByte0(~225 & 0xff), new Uint8Array(100), 4096, true), /properties byte 225/);
    expectCorrupt(() => microLzmaDecode(withByte0(0x00), new Uint8Array(100), 4096, true), /properties byte 255/);
    // lc 5 lp 0, lc 0 lp 5 is impossible (lp < 5), lc 3 lp 2, lc 8 lp 4
    for (const props of [5, 3 + 2 * 9, 8 + 4 * 9]) {
      expectCorrupt(() => microLzmaDecode(withByte0(~props & 0xff), new Uint8Array(100), 4096, true), /exceeds 4/);
    }
  });

  it('refuses streams shorter than five bytes and a first code of 0xFFFFFFFF', () => {
    for (let n = 0; n < 5; n++) expectCorrupt(() => microLzmaDecode(base.subarray(0, n), new Uint8Array(1), 4096, true), /shorter/);
    const bad = new Uint8Array([base[0], 0xff, 0xff, 0xff, 0xff, 0, 0, 0]);
    expectCorrupt(() => microLzmaDecode(bad, new Uint8Array(1), 4096, true), /out of range/);
  });

  it('creates codecs only for dictionary sizes the kernel accepts', () => {
    for (const d of [0, 4095, (8 << 20) + 1, 1.5, NaN]) expectCorrupt(() => createLzma(d), /dictionary size/);
    expect(createLzma(4096).name).toBe('lzma');
    expect(createLzma(8 << 20).name).toBe('lzma');
  });

  it('reuses a caller-provided probability table', () => {
    const v = byName('lc0lp4pb4-mixed-16k');
    const probs = new Uint16Array(LZMA_PROBS_MAX).fill(12345);
    const out = new Uint8Array(v.length);
    microLzmaDecode(streams.get(v.name)!, out, v.dictSize, false, probs);
    expect(Buffer.compare(out, original(v))).toBe(0);
    expect(probs.includes(12345)).toBe(false); // lc + lp = 4 uses the whole table
  });
});

describe('hostile input (fast-check)', () => {
  const { runs } = fcRuns('lzma');
  const pool = vectors.filter((v) => v.length <= 70000);
  // guarded() checks guards, input and time; the codec object wraps the dictionary size.
  const guardedDecode = (input: Uint8Array, outLen: number, dictSize: number, partial: boolean): void => {
    guarded({ name: 'lzma', decode: (i, o, p) => microLzmaDecode(i, o, dictSize, p) }, input, outLen, partial);
  };

  it('mutated liblzma streams decode (matching the original where they succeed) or throw EUCLEAN', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: pool.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: -8, max: 8 }),
        (vi, ms, partial, delta) => {
          const v = pool[vi];
          // mostly the true length, sometimes a little off either way
          const outLen = Math.max(0, v.length + (Math.abs(delta) > 4 ? delta : 0));
          guardedDecode(mutate(streams.get(v.name)!, ms), outLen, v.dictSize, partial);
        },
      ),
      runs(400),
    );
  });

  it('a successful decode of an unmutated stream into any output length is a prefix of the original', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: pool.length - 1 }), fc.nat(), fc.boolean(), (vi, r, partial) => {
        const v = pool[vi];
        const outLen = r % (v.length + 64);
        const out = new Uint8Array(outLen);
        try {
          microLzmaDecode(streams.get(v.name)!, out, v.dictSize, partial);
        } catch (e) {
          if (!(e instanceof ErofsError) || e.code !== 'EUCLEAN') throw e;
          if (partial && outLen <= v.length) throw e; // a valid prefix must always decode
          return;
        }
        // Past the real end a few symbols may still decode from the coder's last bits;
        // everything up to the real end must be right.
        const n = Math.min(outLen, v.length);
        if (Buffer.compare(out.subarray(0, n), original(v).subarray(0, n)) !== 0) throw new Error('wrong bytes');
      }),
      runs(400),
    );
  });

  it('random bytes (with a valid or random header) throw EUCLEAN or decode, within bounds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.option(fc.integer({ min: 0, max: 224 }), { nil: undefined }),
        fc.integer({ min: 0, max: 1 << 16 }),
        fc.boolean(),
        fc.constantFrom(4096, 65536, 8 << 20),
        (bytes, props, outLen, partial, dict) => {
          const input = bytes.slice();
          if (props !== undefined && input.length > 0) input[0] = ~props & 0xff;
          guardedDecode(input, outLen, dict, partial);
        },
      ),
      runs(400),
    );
  });
});
