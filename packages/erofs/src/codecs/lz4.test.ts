import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../../../tests/fixtures.js';
import { fcRuns } from '../../../../tests/fc-runs.js';
import { ErofsError } from '../errors.js';
import { lz4, lz4Decode } from './lz4.js';

// ---- the vectors: raw blocks from liblz4 (tools/codecs/lz4-vectors.c) -------------------

interface Vector {
  file: string;
  kind: string;
  seed: number;
  genLength: number;
  start: number;
  end: number;
  compressor: string;
  compressedSize: number;
  sha256: string;
}

const DIR = FIXTURES + 'codecs/lz4/';
const VECTORS: Vector[] = JSON.parse(readFileSync(DIR + 'index.json', 'utf8')).vectors;
const block = (v: Vector) => new Uint8Array(readFileSync(DIR + v.file));

// The TypeScript twin of the generators in tools/codecs/lz4-vectors.c: same xorshift32, same
// draws in the same order. The sha256 of every original in index.json checks the two agree.
const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'file', 'system', 'block', 'inode', 'compressed', 'data', 'image',
  'read', 'only', 'erofs', 'lz4', 'cluster', 'page', 'kernel', 'offset', 'length', 'match', 'literal',
  'stream', 'decoder', 'buffer', 'output', 'input', 'extent', 'directory', 'superblock',
].map((w) => new TextEncoder().encode(w));
const SEPS = ['.\n', ', ', ' '].map((s) => new TextEncoder().encode(s));

function generate(kind: string, seed: number, n: number): Uint8Array {
  let s = seed | 0;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const buf = new Uint8Array(n);
  const text = (pos: number, end: number) => {
    while (pos < end) {
      const w = WORDS[next() >>> 27];
      for (let i = 0; i < w.length && pos < end; i++) buf[pos++] = w[i];
      const r = next() >>> 28;
      const sep = SEPS[r === 0 ? 0 : r === 1 ? 1 : 2];
      for (let i = 0; i < sep.length && pos < end; i++) buf[pos++] = sep[i];
    }
  };
  let pos = 0;
  switch (kind) {
    case 'zeros':
      break;
    case 'random':
      for (let i = 0; i < n; i++) buf[i] = next() >>> 24;
      break;
    case 'text':
      text(0, n);
      break;
    case 'runs':
      while (pos < n) {
        const r = next();
        const k = r >>> 30;
        let len = 1 + ((r >>> 16) & 0x1ff);
        if (k === 1) len = 1 + (len & 31);
        len = Math.min(len, n - pos);
        if (k === 0) buf.fill(r & 0xff, pos, pos + len);
        else if (k === 1) for (let i = 0; i < len; i++) buf[pos + i] = next() >>> 24;
        else if (k === 2) {
          const p = 2 + (r & 7);
          const pat: number[] = [];
          for (let i = 0; i < p; i++) pat.push(next() >>> 24);
          for (let i = 0; i < len; i++) buf[pos + i] = pat[i % p];
        } else {
          const d = Math.min(1 + (next() & 0xffff), pos);
          if (pos !== 0) for (let i = 0; i < len; i++) buf[pos + i] = buf[pos + i - d];
        }
        pos += len;
      }
      break;
    case 'mixed':
      while (pos < n) {
        const r = next();
        const len = Math.min(1 + ((r >>> 8) & 1023), n - pos);
        if (r & 1) text(pos, pos + len);
        else for (let i = 0; i < len; i++) buf[pos + i] = next() >>> 24;
        pos += len;
      }
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  return buf;
}

const generated = new Map<string, Uint8Array>();
function original(v: Vector): Uint8Array {
  const key = `${v.kind}/${v.seed}/${v.genLength}`;
  let g = generated.get(key);
  if (!g) generated.set(key, (g = generate(v.kind, v.seed, v.genLength)));
  return g.subarray(v.start, v.end);
}

// ---- helpers ----------------------------------------------------------------------------

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Index of the first differing byte, or -1: cheap on megabyte arrays, unlike toEqual. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.compare(a, b) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function expectEuclean(f: () => unknown): ErofsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    const err = e as ErofsError;
    expect(err.code).toBe('EUCLEAN');
    expect(err.structure).toBe('lz4');
    return err;
  }
  throw new Error('expected EUCLEAN, but decoding succeeded');
}

function decodeTo(input: Uint8Array, n: number, partial = false): Uint8Array {
  const out = new Uint8Array(n);
  lz4Decode(input, out, partial);
  return out;
}

/** Deterministic prefix lengths: the first and last bytes, the 4 KiB edges, a spread between. */
function prefixLengths(n: number, salt: number): number[] {
  const set = new Set<number>();
  for (let i = 0; i <= Math.min(n, 24); i++) set.add(i);
  for (let i = Math.max(0, n - 24); i <= n; i++) set.add(i);
  for (let b = 4096; b < Math.min(n, 65537); b += 4096) for (const d of [-1, 0, 1]) set.add(b + d);
  let s = (salt * 2654435761) | 1;
  for (let i = 0; i < 48; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    set.add((s >>> 0) % (n + 1));
  }
  return [...set].filter((x) => x <= n).sort((a, b) => a - b);
}

/**
 * The format written as plainly as possible, one byte at a time, as a model to compare the
 * decoder with on arbitrary bytes. Returns the output and bytes consumed, or null for a
 * malformed block.
 */
function model(input: Uint8Array, outLen: number, partial: boolean): { out: Uint8Array; used: number } | null {
  const out = new Uint8Array(outLen);
  let op = 0;
  let ip = 0;
  const done = () => ({ out, used: ip });
  if (partial && outLen === 0) return done();
  for (;;) {
    if (ip >= input.length) return null;
    const token = input[ip++];
    let lit = token >> 4;
    if (lit === 15) {
      let b;
      do {
        if (ip >= input.length) return null;
        b = input[ip++];
        lit += b;
      } while (b === 255);
    }
    for (let i = 0; i < lit; i++) {
      if (op === outLen) return partial ? done() : null;
      if (ip >= input.length) return null;
      out[op++] = input[ip++];
    }
    if (partial && op === outLen) return done();
    if (ip === input.length) return op === outLen ? done() : null;
    if (input.length - ip < 2) return null;
    const offset = input[ip] | (input[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) return null;
    let ml = (token & 15) + 4;
    if (ml === 19) {
      let b;
      do {
        if (ip >= input.length) return null;
        b = input[ip++];
        ml += b;
      } while (b === 255);
    }
    for (let i = 0; i < ml; i++) {
      if (op === outLen) return partial ? done() : null;
      out[op] = out[op - offset];
      op++;
    }
    if (partial && op === outLen) return done();
  }
}

const GUARD = 64;
const GUARD_BYTE = 0xa5;

/**
 * Decodes into a view with guard bytes on both sides and checks, whatever the outcome: the
 * guards are untouched, a failure is a clean EUCLEAN, and the result matches the model.
 */
function checkAgainstModel(input: Uint8Array, outLen: number, partial: boolean): void {
  const arena = new Uint8Array(GUARD + outLen + GUARD).fill(GUARD_BYTE);
  const out = arena.subarray(GUARD, GUARD + outLen);
  let used: number | undefined;
  try {
    used = lz4Decode(input, out, partial);
  } catch (e) {
    if (!(e instanceof ErofsError) || e.code !== 'EUCLEAN') throw e;
  }
  for (let i = 0; i < GUARD; i++) {
    if (arena[i] !== GUARD_BYTE || arena[GUARD + outLen + i] !== GUARD_BYTE) {
      throw new Error('wrote outside the output');
    }
  }
  const want = model(input, outLen, partial);
  if (want === null) {
    if (used !== undefined) throw new Error('decoded a block the model refuses');
    return;
  }
  if (used === undefined) throw new Error('refused a block the model decodes');
  if (used !== want.used) throw new Error(`consumed ${used}, model ${want.used}`);
  if (!partial && used !== input.length) throw new Error('non-partial success left input unread');
  const d = firstDifference(out, want.out);
  if (d >= 0) throw new Error(`output differs from the model at byte ${d}`);
}

/** Builds a block from sequences, with no regard for the compressor's tail rules. */
interface Seq {
  literals: Uint8Array;
  offset?: number;
  matchLength?: number; // >= 4
}
function encode(seqs: Seq[]): Uint8Array {
  const bytes: number[] = [];
  const ext = (n: number) => {
    while (n >= 255) {
      bytes.push(255);
      n -= 255;
    }
    bytes.push(n);
  };
  for (const s of seqs) {
    const lit = s.literals.length;
    const ml = s.matchLength === undefined ? 0 : s.matchLength - 4;
    bytes.push((Math.min(lit, 15) << 4) | Math.min(ml, 15));
    if (lit >= 15) ext(lit - 15);
    bytes.push(...s.literals);
    if (s.offset === undefined) break;
    bytes.push(s.offset & 0xff, s.offset >> 8);
    if (ml >= 15) ext(ml - 15);
  }
  return new Uint8Array(bytes);
}
const ascii = (s: string) => new TextEncoder().encode(s);

// ---- the tests --------------------------------------------------------------------------

describe('lz4 vectors from liblz4', () => {
  it('has vectors of every kind, size class and compressor', () => {
    expect(VECTORS.length).toBeGreaterThan(400);
    const compressors = new Set(VECTORS.map((v) => v.compressor));
    for (const c of ['default', 'fast8', 'hc3', 'hc9', 'hc12', 'destsize', 'hcdest9']) expect(compressors).toContain(c);
    const sizes = new Set(VECTORS.map((v) => v.end - v.start));
    for (const n of [0, 1, 15, 16, 4095, 4096, 65536, 1 << 20]) expect(sizes).toContain(n);
  });

  it('regenerates every original exactly (the C and TS generators agree)', () => {
    for (const v of VECTORS) expect(sha256(original(v)), v.file).toBe(v.sha256);
  });

  it('decodes every vector to its original, consuming all input', () => {
    for (const v of VECTORS) {
      const input = block(v);
      expect(input.length).toBe(v.compressedSize);
      const want = original(v);
      const out = new Uint8Array(want.length);
      expect(lz4Decode(input, out, false), v.file).toBe(input.length);
      expect(firstDifference(out, want), v.file).toBe(-1);
    }
  });

  it('decodes every sampled prefix of every vector with partial=true', () => {
    let checked = 0;
    VECTORS.forEach((v, vi) => {
      const input = block(v);
      const want = original(v);
      let lastUsed = 0;
      for (const n of prefixLengths(want.length, vi + 1)) {
        const out = new Uint8Array(n);
        const used = lz4Decode(input, out, true);
        expect(used, `${v.file} prefix ${n}`).toBeLessThanOrEqual(input.length);
        expect(used, `${v.file} prefix ${n}`).toBeGreaterThanOrEqual(lastUsed);
        lastUsed = used;
        expect(firstDifference(out, want.subarray(0, n)), `${v.file} prefix ${n}`).toBe(-1);
        checked++;
      }
      // The whole output, with trailing bytes after the block as a pcluster without zero padding has.
      const padded = new Uint8Array(input.length + 37).fill(0x5a);
      padded.set(input);
      const out = new Uint8Array(want.length);
      // Partial decoding stops once the output is full: for an empty one, before the token.
      expect(lz4Decode(padded, out, true)).toBe(want.length === 0 ? 0 : input.length);
      expect(firstDifference(out, want), v.file).toBe(-1);
    });
    expect(checked).toBeGreaterThan(20000);
  });

  it('refuses a wrong output length when not partial, and a too long one when partial', () => {
    for (const v of VECTORS) {
      const input = block(v);
      const n = v.end - v.start;
      expectEuclean(() => decodeTo(input, n + 1));
      expectEuclean(() => decodeTo(input, n + 1, true));
      if (n > 0) expectEuclean(() => decodeTo(input, n - 1));
    }
  });

  it('refuses every sampled truncation, and trailing bytes when not partial', () => {
    VECTORS.forEach((v, vi) => {
      const input = block(v);
      const n = v.end - v.start;
      const out = new Uint8Array(n);
      for (const cut of prefixLengths(input.length - 1, vi + 7)) {
        expectEuclean(() => lz4Decode(input.subarray(0, cut), out, false));
        if (n > 0) expectEuclean(() => lz4Decode(input.subarray(0, cut), out, true));
      }
      const padded = new Uint8Array(input.length + 1);
      padded.set(input);
      expectEuclean(() => decodeTo(padded, n));
    });
  });
});

describe('lz4 hand-made blocks', () => {
  it('decodes a literals-only block and the empty block', () => {
    expect(decodeTo(encode([{ literals: ascii('hello') }]), 5)).toEqual(ascii('hello'));
    expect(lz4Decode(new Uint8Array([0]), new Uint8Array(0), false)).toBe(1);
    expect(lz4Decode(new Uint8Array([0]), new Uint8Array(0), true)).toBe(0);
    expect(lz4Decode(new Uint8Array(0), new Uint8Array(0), true)).toBe(0);
    // An empty input has no last sequence, so is no block at all.
    expectEuclean(() => decodeTo(new Uint8Array(0), 0));
    expectEuclean(() => decodeTo(new Uint8Array(0), 1, true));
  });

  it('refuses offset 0 and an offset before the start of output, and accepts offset == written', () => {
    const e = expectEuclean(() => decodeTo(new Uint8Array([0x10, 0x61, 0x00, 0x00, 0x00]), 5));
    expect(e.offset).toBe(2);
    expect(e.message).toMatch(/offset 0/);
    expectEuclean(() => decodeTo(encode([{ literals: ascii('ab'), offset: 3, matchLength: 4 }, { literals: ascii('') }]), 6));
    expectEuclean(() => decodeTo(encode([{ literals: ascii(''), offset: 1, matchLength: 4 }, { literals: ascii('') }]), 4));
    expect(decodeTo(encode([{ literals: ascii('ab'), offset: 2, matchLength: 4 }, { literals: ascii('') }]), 6)).toEqual(
      ascii('ababab'),
    );
  });

  it('reaches back the full 65535 bytes', () => {
    const lits = generate('random', 7, 65535);
    const out = decodeTo(encode([{ literals: lits, offset: 65535, matchLength: 300 }, { literals: ascii('z') }]), 65836);
    expect(firstDifference(out.subarray(65535, 65835), lits.subarray(0, 300))).toBe(-1);
    expect(out[65835]).toBe(0x7a);
  });

  it('reads literal length extensions: 15 + 0, 15 + 255 + 0, 15 + 255 + 255 + 3', () => {
    for (const n of [15, 16, 269, 270, 271, 15 + 255 + 255 + 3]) {
      const lits = generate('text', 3, n);
      const input = encode([{ literals: lits }]);
      expect(input.length, `${n}`).toBe(1 + n + Math.floor((n - 15) / 255) + 1);
      expect(firstDifference(decodeTo(input, n), lits)).toBe(-1);
    }
    // Token 0xF0 and extension 255, 0 hand-written: 270 literals.
    const hand = new Uint8Array(3 + 270);
    hand.set([0xf0, 0xff, 0x00]);
    hand.fill(0x41, 3);
    expect(decodeTo(hand, 270)).toEqual(new Uint8Array(270).fill(0x41));
  });

  it('reads match length extensions: 4 + 15 + 0, 4 + 15 + 255 + 1', () => {
    for (const ml of [18, 19, 20, 19 + 254, 19 + 255, 19 + 256, 19 + 255 * 3 + 1]) {
      const input = encode([{ literals: ascii('xyz'), offset: 3, matchLength: ml }, { literals: ascii('') }]);
      const out = decodeTo(input, 3 + ml);
      for (let i = 0; i < out.length; i++) expect(out[i]).toBe(ascii('xyz')[i % 3]);
    }
    // Token 0x1F, 'a', offset 1, extension 255, 1: 4 + 15 + 256 = 275 more 'a's.
    const hand = new Uint8Array([0x1f, 0x61, 0x01, 0x00, 0xff, 0x01, 0x00]);
    expect(decodeTo(hand, 276)).toEqual(new Uint8Array(276).fill(0x61));
  });

  it('refuses blocks that end inside a length extension, an offset or a literal run', () => {
    expectEuclean(() => decodeTo(new Uint8Array([0xf0]), 15));
    expectEuclean(() => decodeTo(new Uint8Array([0xf0, 0xff]), 300));
    expectEuclean(() => decodeTo(new Uint8Array([0x1f, 0x61, 0x01, 0x00]), 40));
    expectEuclean(() => decodeTo(new Uint8Array([0x1f, 0x61, 0x01, 0x00, 0xff]), 400));
    expectEuclean(() => decodeTo(new Uint8Array([0x14, 0x61, 0x01]), 9));
    expectEuclean(() => decodeTo(new Uint8Array([0x50, 0x61, 0x62]), 5));
    expectEuclean(() => decodeTo(new Uint8Array([0x50, 0x61, 0x62]), 5, true));
    // Partial decoding may stop inside the run, if the output is full first.
    expect(decodeTo(new Uint8Array([0x50, 0x61, 0x62]), 2, true)).toEqual(ascii('ab'));
  });

  it('refuses a huge length claim quickly: extension bytes run into the end of input', () => {
    const input = new Uint8Array(1 << 20).fill(0xff);
    input[0] = 0xf0;
    const t = performance.now();
    expectEuclean(() => decodeTo(input, 1 << 20));
    expectEuclean(() => decodeTo(input, 1 << 20, true));
    expect(performance.now() - t).toBeLessThan(500);
  });

  it('requires a literals-only last sequence when not partial (the block ends after literals)', () => {
    // Ends right after a match: no last sequence.
    const noTail = encode([{ literals: ascii('ab'), offset: 2, matchLength: 4 }]);
    expectEuclean(() => decodeTo(noTail, 6));
    // ... which partial decoding accepts, since it stops once the output is full.
    expect(decodeTo(noTail, 6, true)).toEqual(ascii('ababab'));
    expect(decodeTo(noTail, 5, true)).toEqual(ascii('ababa'));
    // A last sequence with no literals (token 0x00) is a valid end.
    const zeroTail = encode([{ literals: ascii('ab'), offset: 2, matchLength: 4 }, { literals: ascii('') }]);
    expect(lz4Decode(zeroTail, new Uint8Array(6), false)).toBe(zeroTail.length);
    // A match that overruns the output: an error unless partial.
    expectEuclean(() => decodeTo(zeroTail, 5));
    // Literals after the output is full.
    expectEuclean(() => decodeTo(encode([{ literals: ascii('ab'), offset: 2, matchLength: 4 }, { literals: ascii('c') }]), 6));
  });

  it("accepts blocks that break the compressor's tail rules (last 5 bytes literals, last match 12 from the end)", () => {
    // liblz4 never writes these, but they are well formed, and the kernel's partial decoder takes them.
    const shortTail = encode([{ literals: ascii('abcd'), offset: 4, matchLength: 8 }, { literals: ascii('!') }]);
    expect(decodeTo(shortTail, 13)).toEqual(ascii('abcdabcdabcd!'));
    const matchAtEnd = encode([{ literals: ascii('a'), offset: 1, matchLength: 4 }, { literals: ascii('') }]);
    expect(decodeTo(matchAtEnd, 5)).toEqual(ascii('aaaaa'));
    expect(decodeTo(matchAtEnd, 5, true)).toEqual(ascii('aaaaa'));
  });

  it('copies overlapping matches as repeats, for every short period and length', () => {
    const tail = generate('random', 99, 40);
    for (let offset = 1; offset <= 20; offset++) {
      for (const ml of [4, 5, 7, 8, 9, offset, offset + 1, 2 * offset + 3, 31, 32, 33, 63, 64, 65, 100, 1000, 5000]) {
        if (ml < 4) continue;
        const lits = generate('random', offset, offset);
        // With and without literals after the match: at the very end of output, the wide copy cannot run.
        for (const after of [0, 1, 8, 40]) {
          const input = encode([{ literals: lits, offset, matchLength: ml }, { literals: tail.subarray(0, after) }]);
          const out = decodeTo(input, offset + ml + after);
          for (let i = 0; i < offset + ml; i++) if (out[i] !== lits[i % offset]) expect([offset, ml, after, i]).toBe('a repeat');
          expect(firstDifference(out.subarray(offset + ml), tail.subarray(0, after))).toBe(-1);
          // Every partial stop inside the match too.
          for (const n of [offset + 1, offset + (ml >> 1), offset + ml - 1]) {
            expect(firstDifference(decodeTo(input, n, true), out.subarray(0, n))).toBe(-1);
          }
        }
      }
    }
  });

  it('refuses input and output that share bytes (the wide copies write ahead)', () => {
    const buf = new Uint8Array(64);
    expect(() => lz4Decode(buf.subarray(0, 10), buf.subarray(5, 20), false)).toThrow(RangeError);
    // Neighbours in one buffer are fine.
    buf.set(encode([{ literals: ascii('hello') }]));
    lz4Decode(buf.subarray(0, 6), buf.subarray(6, 11), false);
    expect(buf.subarray(6, 11)).toEqual(ascii('hello'));
  });

  it('is the same through the Codec object', () => {
    expect(lz4.name).toBe('lz4');
    const out = new Uint8Array(5);
    lz4.decode(encode([{ literals: ascii('hello') }]), out, false);
    expect(out).toEqual(ascii('hello'));
    expectEuclean(() => lz4.decode(new Uint8Array([0x10]), new Uint8Array(1), false));
  });
});

describe('lz4 on hostile input (fast-check)', () => {
  const { runs } = fcRuns('lz4');
  const small = VECTORS.filter((v) => v.end - v.start <= 16384 && v.compressedSize > 0);
  const blocks = small.map(block);

  const mutation = fc.oneof(
    fc.record({ t: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ t: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ t: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ t: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ t: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
  function mutate(input: Uint8Array, ms: Mutation[]): Uint8Array {
    let b = Array.from(input);
    for (const m of ms) {
      const at = b.length === 0 ? 0 : m.at % b.length;
      if (m.t === 'flip') b[at] ^= 1 << m.bit;
      else if (m.t === 'set') b[at] = m.value;
      else if (m.t === 'cut') b = b.slice(0, at);
      else if (m.t === 'insert') b.splice(at, 0, ...m.bytes);
      else b.splice(at, m.n);
    }
    return new Uint8Array(b);
  }

  it('mutated liblz4 blocks decode as the model says or fail with EUCLEAN, inside the output', () => {
    fc.assert(
      fc.property(
        fc.nat(small.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -3, max: 3 }),
        fc.boolean(),
        (vi, ms, delta, partial) => {
          const v = small[vi];
          const input = mutate(blocks[vi], ms);
          checkAgainstModel(input, Math.max(0, v.end - v.start + delta), partial);
        },
      ),
      runs(1000),
    );
  });

  it('random bytes decode as the model says or fail with EUCLEAN, inside the output', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(3000), fc.boolean(), (input, outLen, partial) => {
        checkAgainstModel(input, outLen, partial);
      }),
      runs(3000),
    );
  });

  it('runs of short sequences (the fast path: literals 0-14, matches 4-18, offsets near 4 and 8) decode as the model says', () => {
    const seqs = fc.array(
      fc.record({
        literals: fc.uint8Array({ maxLength: 14 }),
        offset: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 65535 })),
        matchLength: fc.oneof(fc.integer({ min: 4, max: 18 }), fc.integer({ min: 4, max: 40 })),
      }),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(seqs, fc.uint8Array({ maxLength: 24 }), fc.boolean(), fc.integer({ min: -40, max: 4 }), (ss, last, partial, delta) => {
        let written = 0;
        const fixed: Seq[] = ss.map((s) => {
          written += s.literals.length;
          // An empty first run leaves nothing to match: offset 0, which must fail cleanly.
          const offset = written === 0 ? 0 : 1 + ((s.offset - 1) % written);
          written += s.matchLength;
          return { literals: s.literals, offset, matchLength: s.matchLength };
        });
        const input = encode([...fixed, { literals: last }]);
        written += last.length;
        checkAgainstModel(input, written, partial);
        checkAgainstModel(input, Math.max(0, written + delta), partial);
      }),
      runs(1000),
    );
  });

  it('well-formed blocks of arbitrary shape decode as the model says', () => {
    // Sequences with any literal count, offset and match length, not just what a compressor
    // writes: matches reaching exactly to the start, overlapping, at the very end.
    const seqs = fc.array(
      fc.record({
        literals: fc.uint8Array({ maxLength: 300 }),
        offset: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 65535 })),
        matchLength: fc.oneof(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 4, max: 2000 })),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(seqs, fc.uint8Array({ maxLength: 20 }), fc.boolean(), fc.integer({ min: -10, max: 10 }), (ss, last, partial, delta) => {
        // Keep offsets inside the output written so far, so most blocks are valid.
        let written = 0;
        const fixed: Seq[] = ss.map((s) => {
          written += s.literals.length;
          const offset = written === 0 ? 1 : 1 + ((s.offset - 1) % written);
          const r = { literals: s.literals, offset: written === 0 ? 0 : offset, matchLength: s.matchLength };
          written += s.matchLength;
          return r;
        });
        const input = encode([...fixed, { literals: last }]);
        written += last.length;
        checkAgainstModel(input, written, partial);
        checkAgainstModel(input, Math.max(0, written + delta), partial);
      }),
      runs(1000),
    );
  });
});
