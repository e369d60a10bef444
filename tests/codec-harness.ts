/**
 * Shared by the codec tests: decoding hostile streams into a guarded buffer, and the
 * byte-level mutations fast-check applies to real encoders' streams.
 */
import fc from 'fast-check';
import { ErofsError, type Codec } from '@erofs-js/erofs';

const GUARD = 64;
const pattern = (k: number) => (k * 131 + 17) & 0xff;

/**
 * Decodes into the middle of a patterned buffer and checks that nothing outside the output
 * changed, that the input was not modified, and that it took bounded time. Returns the
 * output, or the EUCLEAN error (any other exception is rethrown: it is a bug).
 */
export function guarded(codec: Codec, input: Uint8Array, outLen: number, partial: boolean): Uint8Array | ErofsError {
  const buf = new Uint8Array(outLen + 2 * GUARD);
  for (let k = 0; k < buf.length; k++) buf[k] = pattern(k);
  const inputCopy = input.slice();
  const t0 = performance.now();
  let result: Uint8Array | ErofsError;
  try {
    codec.decode(input, buf.subarray(GUARD, GUARD + outLen), partial);
    result = buf.slice(GUARD, GUARD + outLen);
  } catch (e) {
    if (!(e instanceof ErofsError) || e.code !== 'EUCLEAN') throw e;
    result = e;
  }
  const ms = performance.now() - t0;
  for (let k = 0; k < GUARD; k++) {
    if (buf[k] !== pattern(k)) throw new Error(`wrote before output at ${k - GUARD}`);
    const j = GUARD + outLen + k;
    if (buf[j] !== pattern(j)) throw new Error(`wrote past output at +${k}`);
  }
  if (Buffer.compare(input, inputCopy) !== 0) throw new Error('input modified');
  if (ms > 200 + outLen / 1000) throw new Error(`took ${ms.toFixed(1)} ms for ${outLen} bytes`);
  return result;
}

export const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);
export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** A copy of `s` with the mutations applied in order. */
export function mutate(s: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = s.slice();
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'flip') b[at] ^= 1 << m.bit;
    else if (m.op === 'set') b[at] = m.value;
    else if (m.op === 'truncate') b = b.slice(0, at);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = Buffer.concat([b.subarray(0, at), Uint8Array.of(m.value), b.subarray(at)]);
  }
  return b;
}
