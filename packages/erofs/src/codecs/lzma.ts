/**
 * MicroLZMA decoder (EROFS algorithm 1).
 *
 * MicroLZMA is a raw LZMA1 range-coder stream with a one-byte header: the stream's own
 * first byte, which LZMA1 always writes as 0x00, is replaced by the bitwise NOT of the
 * lc/lp/pb properties byte. The dictionary size comes from the image's LZMA config record
 * and the decoded size from the extent, so the stream carries neither, and no end marker.
 *
 * The decoder writes straight into the caller's output buffer and uses it as the LZMA
 * dictionary: EROFS extents are decoded whole (at most a few MiB), so a match can always
 * be copied from earlier output and no separate window or flush step exists.
 *
 * End-of-stream rules mirror the Linux kernel (lib/xz xz_dec_microlzma_run, which EROFS
 * calls with uncomp_size_is_exact = !partial) and liblzma's lzma_microlzma_decoder:
 * - partial = false: the output must be filled exactly, no match may run past its end,
 *   and after the last symbol the range coder must be normalised, must have consumed every
 *   input byte and must hold code 0 (the encoder's flush leaves exactly that). So trailing
 *   bytes, including an end-of-payload marker after the last byte, are corruption; the
 *   liblzma MicroLZMA encoder (mkfs.erofs) never writes one.
 * - partial = true: decoding stops as soon as the output is full (a match may be cut
 *   short); whatever input remains is not looked at.
 * - An end marker (distance 0xFFFFFFFF) before the output is full is corruption either way.
 * Input is never read past its end: a stream that needs more bytes is corruption.
 */
import type { Codec } from './codec.js';
import { codecError, type ErofsError } from '../errors.js';

/** Smallest and largest dictionary the kernel accepts in the LZMA config record. */
export const LZMA_DICT_MIN = 4096;
export const LZMA_DICT_MAX = 8 << 20;

// Probability model layout: one Uint16Array, regions at fixed offsets. Every probability
// is an 11-bit estimate (of 2048) that the next bit is 0, starting at one half. A const
// enum, so the offsets compile to literals: module-level consts would be context loads
// in the hot loop.
const enum P {
  NUM_STATES = 12,
  POS_STATES_MAX = 16, // pb <= 4
  IS_MATCH = 0, // [state][posState]
  IS_REP = IS_MATCH + NUM_STATES * POS_STATES_MAX, // [state]
  IS_REP_G0 = IS_REP + NUM_STATES,
  IS_REP_G1 = IS_REP_G0 + NUM_STATES,
  IS_REP_G2 = IS_REP_G1 + NUM_STATES,
  IS_REP0_LONG = IS_REP_G2 + NUM_STATES, // [state][posState]
  POS_SLOT = IS_REP0_LONG + NUM_STATES * POS_STATES_MAX, // [min(len, 3)][64-leaf tree]
  // Reverse bit trees for distance slots 4..13; each slot's tree starts at
  // SPEC_POS + base(slot) - slot and is indexed from 1, so index 0 is never used.
  SPEC_POS = POS_SLOT + 4 * 64,
  ALIGN = SPEC_POS + 115, // 4-bit reverse tree for the low bits of far distances
  // Length coder: choice, choice2, low[posState] (3 bits), mid[posState] (3 bits), high (8 bits)
  LEN_CHOICE2 = 1,
  LEN_LOW = 2,
  LEN_MID = LEN_LOW + POS_STATES_MAX * 8,
  LEN_HIGH = LEN_MID + POS_STATES_MAX * 8,
  LEN_SIZE = LEN_HIGH + 256,
  MATCH_LEN = ALIGN + 16,
  REP_LEN = MATCH_LEN + LEN_SIZE,
  LITERAL = REP_LEN + LEN_SIZE, // 0x300 probabilities per literal context
}
/** Probabilities needed for the largest literal context the kernel allows (lc + lp = 4). */
export const LZMA_PROBS_MAX = P.LITERAL + (0x300 << 4);

const enum K {
  PROB_INIT = 1024,
  /** The bias that turns signed int32 comparisons into unsigned ones (see below). */
  MIN = -0x80000000,
}

function fail(offset: number, detail: string): ErofsError {
  return codecError('lzma', offset, detail);
}

/**
 * A JIT warm-up, run once before the first decode. V8 compiles this function while its
 * first long call is still in the loop, so code that call has not reached yet (the end
 * checks, rare symbol kinds) is compiled without type feedback and bails out to the
 * interpreter each time it runs; such "soft" bail-outs keep the compiled code, so a
 * stream of short pcluster decodes each paid one, hundreds of times (seen with
 * --trace-deopt). Decoding this stream first gives every path feedback. It is 394 bytes
 * from liblzma's MicroLZMA encoder (`tools/codecs/lzma-vectors.c warmup`: 1536 bytes of
 * its "mixed" data, seed 3, 4 KiB dictionary), picked as the smallest that takes every
 * path: matched literals, short rep, rep0-3, all length trees and distance codings, both
 * copy loops, the exact end checks and (as a 1535-byte prefix) a match cut short.
 */
const WARM_UP =
  'ojWw2KCYGuYJhOrQ10BHLbaYSAN5RJuSZwitAZLE2a6nyVF1JMlxS92IWTpiyx/ZH55Qk35qSKv3eopfcWrUg7bf' +
  'ot1pk4WU9ZrOexztusZMIV6BHDUs2QCLu8/1jbQCK8ysL5NvW/ewBJv7lfrIbvNJCNeJGC0dnjKjL/tmvo/Ly/r4' +
  '9pP5DXK3ha5HZya2ADdazVnW37c+abeGkoiYDRgJiugAT6rFdoYYXkeVf+q0DY2QaJNpWT2JaiSTvc9qVwtiOTYo' +
  'mA45/n90lTGUru1f2oQDk1wjpK+vRI47vKZa8risQf5qIjxKRLkl+cmGOplAzeLMo2oRwZVas6AkzHF0rzhAxQNu' +
  '1Wr2yZN+pNPYsPja8HoxyHSm7r4FA6h6NUOkvTJtUN4oasLJVbuHH/AL5EROVPLby3j5Mb/4bSw1/RE/NA6fbyh2' +
  'LeLm07MVR8f6ObBvajK8OZadzKCh7TBlm0omOjWL7yl+tzSZQNKwKXNk+aXylhnTXRmuetWxySj+jYTbhSTsAA==';
let warmedUp = false;

function warmUp(): void {
  warmedUp = true;
  const input = Uint8Array.from(atob(WARM_UP), (c) => c.charCodeAt(0));
  const output = new Uint8Array(1536);
  microLzmaDecode(input, output, 4096, false);
  microLzmaDecode(input, output.subarray(0, 1535), 4096, true);
}

/**
 * Decodes one MicroLZMA stream (zero padding already stripped) into all of `output`.
 * `dictSize` bounds match distances (the image's LZMA dict_size). `probs`, when given and
 * at least LZMA_PROBS_MAX long, is reused as the probability table instead of allocating.
 * Throws ErofsError EUCLEAN for any malformed stream; never writes outside `output`.
 */
export function microLzmaDecode(
  input: Uint8Array,
  output: Uint8Array,
  dictSize: number,
  partial: boolean,
  probs?: Uint16Array,
): void {
  if (!warmedUp) warmUp();
  const inLen = input.length;
  // The header byte plus the four code bytes the range coder starts from (the kernel
  // rejects a compressed size below these five bytes too).
  if (inLen < 5) throw fail(0, `stream of ${inLen} bytes is shorter than its 5-byte header`);
  const propsByte = ~input[0] & 0xff;
  if (propsByte >= 9 * 5 * 5) throw fail(0, `properties byte ${propsByte} is out of range`);
  const lc = propsByte % 9;
  const lp = ((propsByte / 9) | 0) % 5;
  const pb = (propsByte / 45) | 0;
  // The kernel's xz decoder (and liblzma's encoder) limit lc + lp to 4; more would also
  // need a literal table 16x larger than anything an EROFS image can use.
  if (lc + lp > 4) throw fail(0, `lc ${lc} + lp ${lp} exceeds 4`);

  const probCount = P.LITERAL + (0x300 << (lc + lp));
  const p = probs !== undefined && probs.length >= probCount ? probs : new Uint16Array(probCount);
  p.fill(K.PROB_INIT, 0, probCount);

  // Range coder. `range` and `code` are uint32 quantities held as int32 bit patterns, so
  // V8 keeps them in 32-bit registers (values >= 2^31 as plain numbers would fall back to
  // doubles). `code` is stored XOR 0x80000000: then a signed comparison against a bound
  // that is XORed the same way is the unsigned comparison the coder needs, and adding or
  // subtracting leaves the bias in place (XOR 2^31 is adding 2^31 mod 2^32).
  // The stream's real first byte is the 0x00 that MicroLZMA replaced with the properties
  // byte, so code starts from bytes 1..4.
  let range = -1; // 0xFFFFFFFF
  let code = ((input[1] << 24) | (input[2] << 16) | (input[3] << 8) | input[4]) ^ K.MIN;
  let inPos = 5;
  // An encoder can never produce code >= range; rejecting it keeps code < range an
  // invariant, so the final code == 0 check means something.
  if (code === 0x7fffffff) throw fail(1, 'range coder starts out of range');

  const outLen = output.length;
  const pbMask = (1 << pb) - 1;
  const lpMask = (1 << lp) - 1;
  const lcShift = 8 - lc;
  let pos = 0;
  let state = 0;
  // Distances are stored minus one, as coded: 0 means "copy the previous byte".
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;

  // Every bit decode is written out where it is used: a helper would have to return the
  // bit and the new range and code, and the hot loop must keep those in locals. Each one
  //   refills a byte when range < 2^24 (before the bit, as the encoder normalises);
  //   bound = (range >>> 11) * prob;
  //   code < bound: bit 0, range = bound, prob += (2048 - prob) >> 5
  //   otherwise:    bit 1, range -= bound, code -= bound, prob -= prob >> 5.
  // Bits that steer control flow (literal or match, which kind of match) use an if.
  // Bits inside bit trees (literals, lengths, distances) are decoded without branches:
  // t = -1 for a 0 bit, 0 for a 1 bit, and the updates select with `& t`. V8 compiles
  // `+(a >= b)` on int32 values to a compare and setcc, no jump. Literal bits of real
  // data are close to coin flips (about 7 input bits per literal in ELF files), so a
  // branch is mispredicted often: against branchy literal loops this was ~15% faster on
  // ELF files, ~3% on Python sources and C headers, 30-60% on poorly compressible data
  // (tools/bench/lzma.ts corpora, V8 11.3 / Node 20, x86-64).
  let prob = 0;
  let bound = 0;
  let i = 0;
  let sym = 0;
  let t = 0;
  let diff = 0;

  while (pos < outLen) {
    const posState = pos & pbMask;

    // is this a literal or a match?
    i = P.IS_MATCH + (state << 4) + posState;
    if ((range >>> 24) === 0) {
      if (inPos >= inLen) throw fail(inPos, 'stream ends early');
      range <<= 8;
      code = ((code << 8) | input[inPos++]) ^ K.MIN;
    }
    prob = p[i];
    bound = Math.imul(range >>> 11, prob);
    if (code < (bound ^ K.MIN)) {
      range = bound;
      p[i] = prob + ((2048 - prob) >>> 5);

      // ---- literal: 8 bits through a 256-leaf tree chosen by position and previous byte
      const prev = pos > 0 ? output[pos - 1] : 0;
      const base = P.LITERAL + 0x300 * (((pos & lpMask) << lc) + (prev >>> lcShift));
      sym = 1;
      if (state >= 7) {
        // Right after a match the byte at rep0 predicts this one: while the decoded bits
        // agree with its bits, a second pair of trees (selected by the match bit) is used.
        // `offs` is 0x100 while they agree and 0 after the first difference, which turns
        // the switch back to the plain tree into arithmetic.
        let match = output[pos - rep0 - 1];
        let offs = 0x100;
        do {
          match <<= 1;
          i = base + offs + (match & offs) + sym;
          if ((range >>> 24) === 0) {
            if (inPos >= inLen) throw fail(inPos, 'stream ends early');
            range <<= 8;
            code = ((code << 8) | input[inPos++]) ^ K.MIN;
          }
          prob = p[i];
          bound = Math.imul(range >>> 11, prob);
          t = +(code >= (bound ^ K.MIN)) - 1;
          diff = (range - bound) | 0;
          range = diff ^ ((diff ^ bound) & t);
          code = (code - (bound & ~t)) | 0;
          diff = prob - (prob >>> 5);
          p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
          sym = (sym << 1) + 1 + t;
          offs &= match ^ t; // keeps 0x100 only while the bit equals the match bit
        } while (sym < 0x100);
      } else {
        do {
          i = base + sym;
          if ((range >>> 24) === 0) {
            if (inPos >= inLen) throw fail(inPos, 'stream ends early');
            range <<= 8;
            code = ((code << 8) | input[inPos++]) ^ K.MIN;
          }
          prob = p[i];
          bound = Math.imul(range >>> 11, prob);
          t = +(code >= (bound ^ K.MIN)) - 1;
          diff = (range - bound) | 0;
          range = diff ^ ((diff ^ bound) & t);
          code = (code - (bound & ~t)) | 0;
          diff = prob - (prob >>> 5);
          p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
          sym = (sym << 1) + 1 + t;
        } while (sym < 0x100);
      }
      output[pos++] = sym; // the Uint8Array store drops the leading 1 bit
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }
    range = (range - bound) | 0;
    code = (code - bound) | 0;
    p[i] = prob - (prob >>> 5);

    // ---- match: a new distance, or one of the four most recent ones
    let lenBase: number;
    let newDistance: boolean;
    i = P.IS_REP + state;
    if ((range >>> 24) === 0) {
      if (inPos >= inLen) throw fail(inPos, 'stream ends early');
      range <<= 8;
      code = ((code << 8) | input[inPos++]) ^ K.MIN;
    }
    prob = p[i];
    bound = Math.imul(range >>> 11, prob);
    if (code < (bound ^ K.MIN)) {
      range = bound;
      p[i] = prob + ((2048 - prob) >>> 5);
      newDistance = true;
      lenBase = P.MATCH_LEN;
      state = state < 7 ? 7 : 10;
    } else {
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      p[i] = prob - (prob >>> 5);
      // Every remembered distance is valid once one byte exists (they start at 0, and
      // any other value was checked against the output when it was decoded).
      if (pos === 0) throw fail(inPos, 'repeated match before any output');
      newDistance = false;
      lenBase = P.REP_LEN;
      i = P.IS_REP_G0 + state;
      if ((range >>> 24) === 0) {
        if (inPos >= inLen) throw fail(inPos, 'stream ends early');
        range <<= 8;
        code = ((code << 8) | input[inPos++]) ^ K.MIN;
      }
      prob = p[i];
      bound = Math.imul(range >>> 11, prob);
      if (code < (bound ^ K.MIN)) {
        range = bound;
        p[i] = prob + ((2048 - prob) >>> 5);
        // rep0: one byte ("short rep") unless a length follows
        i = P.IS_REP0_LONG + (state << 4) + posState;
        if ((range >>> 24) === 0) {
          if (inPos >= inLen) throw fail(inPos, 'stream ends early');
          range <<= 8;
          code = ((code << 8) | input[inPos++]) ^ K.MIN;
        }
        prob = p[i];
        bound = Math.imul(range >>> 11, prob);
        if (code < (bound ^ K.MIN)) {
          range = bound;
          p[i] = prob + ((2048 - prob) >>> 5);
          state = state < 7 ? 9 : 11;
          output[pos] = output[pos - rep0 - 1];
          pos++;
          continue;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          p[i] = prob - (prob >>> 5);
        }
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        p[i] = prob - (prob >>> 5);
        // rep1, rep2 or rep3 moves to the front
        let dist: number;
        i = P.IS_REP_G1 + state;
        if ((range >>> 24) === 0) {
          if (inPos >= inLen) throw fail(inPos, 'stream ends early');
          range <<= 8;
          code = ((code << 8) | input[inPos++]) ^ K.MIN;
        }
        prob = p[i];
        bound = Math.imul(range >>> 11, prob);
        if (code < (bound ^ K.MIN)) {
          range = bound;
          p[i] = prob + ((2048 - prob) >>> 5);
          dist = rep1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          p[i] = prob - (prob >>> 5);
          i = P.IS_REP_G2 + state;
          if ((range >>> 24) === 0) {
            if (inPos >= inLen) throw fail(inPos, 'stream ends early');
            range <<= 8;
            code = ((code << 8) | input[inPos++]) ^ K.MIN;
          }
          prob = p[i];
          bound = Math.imul(range >>> 11, prob);
          if (code < (bound ^ K.MIN)) {
            range = bound;
            p[i] = prob + ((2048 - prob) >>> 5);
            dist = rep2;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            p[i] = prob - (prob >>> 5);
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
      }
      state = state < 7 ? 8 : 11;
    }

    // ---- length (0-based here; the match copies len + 2 bytes)
    let len: number;
    let treeBase: number;
    let treeEnd: number;
    i = lenBase;
    if ((range >>> 24) === 0) {
      if (inPos >= inLen) throw fail(inPos, 'stream ends early');
      range <<= 8;
      code = ((code << 8) | input[inPos++]) ^ K.MIN;
    }
    prob = p[i];
    bound = Math.imul(range >>> 11, prob);
    if (code < (bound ^ K.MIN)) {
      range = bound;
      p[i] = prob + ((2048 - prob) >>> 5);
      treeBase = lenBase + P.LEN_LOW + (posState << 3);
      treeEnd = 8;
      len = 0;
    } else {
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      p[i] = prob - (prob >>> 5);
      i = lenBase + P.LEN_CHOICE2;
      if ((range >>> 24) === 0) {
        if (inPos >= inLen) throw fail(inPos, 'stream ends early');
        range <<= 8;
        code = ((code << 8) | input[inPos++]) ^ K.MIN;
      }
      prob = p[i];
      bound = Math.imul(range >>> 11, prob);
      if (code < (bound ^ K.MIN)) {
        range = bound;
        p[i] = prob + ((2048 - prob) >>> 5);
        treeBase = lenBase + P.LEN_MID + (posState << 3);
        treeEnd = 8;
        len = 8;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        p[i] = prob - (prob >>> 5);
        treeBase = lenBase + P.LEN_HIGH;
        treeEnd = 256;
        len = 16;
      }
    }
    sym = 1;
    do {
      i = treeBase + sym;
      if ((range >>> 24) === 0) {
        if (inPos >= inLen) throw fail(inPos, 'stream ends early');
        range <<= 8;
        code = ((code << 8) | input[inPos++]) ^ K.MIN;
      }
      prob = p[i];
      bound = Math.imul(range >>> 11, prob);
      t = +(code >= (bound ^ K.MIN)) - 1;
      diff = (range - bound) | 0;
      range = diff ^ ((diff ^ bound) & t);
      code = (code - (bound & ~t)) | 0;
      diff = prob - (prob >>> 5);
      p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
      sym = (sym << 1) + 1 + t;
    } while (sym < treeEnd);
    len += sym - treeEnd;

    // ---- distance, for a new match
    if (newDistance) {
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      // 6-bit slot, its tree chosen by the length (short matches favour short distances)
      treeBase = P.POS_SLOT + ((len < 3 ? len : 3) << 6);
      sym = 1;
      do {
        i = treeBase + sym;
        if ((range >>> 24) === 0) {
          if (inPos >= inLen) throw fail(inPos, 'stream ends early');
          range <<= 8;
          code = ((code << 8) | input[inPos++]) ^ K.MIN;
        }
        prob = p[i];
        bound = Math.imul(range >>> 11, prob);
        t = +(code >= (bound ^ K.MIN)) - 1;
        diff = (range - bound) | 0;
        range = diff ^ ((diff ^ bound) & t);
        code = (code - (bound & ~t)) | 0;
        diff = prob - (prob >>> 5);
        p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
        sym = (sym << 1) + 1 + t;
      } while (sym < 64);
      const slot = sym - 64;
      let dist: number;
      if (slot < 4) {
        dist = slot;
      } else {
        // slot = 2 * (bit length - 1) + second-highest bit; the rest are `extra` bits
        const extra = (slot >>> 1) - 1;
        dist = ((2 | (slot & 1)) << extra) >>> 0;
        let low = 0;
        if (slot < 14) {
          // all extra bits modelled, lowest bit first
          treeBase = P.SPEC_POS + dist - slot;
          sym = 1;
          for (let k = 0; k < extra; k++) {
            i = treeBase + sym;
            if ((range >>> 24) === 0) {
              if (inPos >= inLen) throw fail(inPos, 'stream ends early');
              range <<= 8;
              code = ((code << 8) | input[inPos++]) ^ K.MIN;
            }
            prob = p[i];
            bound = Math.imul(range >>> 11, prob);
            t = +(code >= (bound ^ K.MIN)) - 1;
            diff = (range - bound) | 0;
            range = diff ^ ((diff ^ bound) & t);
            code = (code - (bound & ~t)) | 0;
            diff = prob - (prob >>> 5);
            p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
            sym = (sym << 1) + 1 + t;
            low |= (1 + t) << k;
          }
        } else {
          // The high extra bits are coded at probability one half ("direct" bits): halve
          // range, subtract it from code. Since range < 2^31 after halving and code <
          // 2 * range, bit 31 of the wrapped difference says whether code was below
          // range, so the subtraction is undone with a mask instead of a branch.
          let direct = 0;
          for (let k = extra - 4; k > 0; k--) {
            if ((range >>> 24) === 0) {
              if (inPos >= inLen) throw fail(inPos, 'stream ends early');
              range <<= 8;
              code = ((code << 8) | input[inPos++]) ^ K.MIN;
            }
            range >>>= 1;
            diff = ((code ^ K.MIN) - range) | 0;
            t = diff >> 31;
            code = ((diff + (range & t)) | 0) ^ K.MIN;
            direct = (direct << 1) + 1 + t;
          }
          // ... and the low four through the shared reverse "align" tree
          sym = 1;
          for (let k = 0; k < 4; k++) {
            i = P.ALIGN + sym;
            if ((range >>> 24) === 0) {
              if (inPos >= inLen) throw fail(inPos, 'stream ends early');
              range <<= 8;
              code = ((code << 8) | input[inPos++]) ^ K.MIN;
            }
            prob = p[i];
            bound = Math.imul(range >>> 11, prob);
            t = +(code >= (bound ^ K.MIN)) - 1;
            diff = (range - bound) | 0;
            range = diff ^ ((diff ^ bound) & t);
            code = (code - (bound & ~t)) | 0;
            diff = prob - (prob >>> 5);
            p[i] = diff ^ ((diff ^ (prob + ((2048 - prob) >>> 5))) & t);
            sym = (sym << 1) + 1 + t;
            low |= (1 + t) << k;
          }
          low += direct << 4; // direct has at most 26 bits: stays a positive int32
        }
        dist = (dist + low) >>> 0;
      }
      if (dist >= pos || dist >= dictSize) {
        if (dist === 0xffffffff) throw fail(inPos, `end marker after ${pos} of ${outLen} bytes`);
        throw fail(
          inPos,
          `match distance ${dist + 1} reaches before the output (${pos} bytes) or dictionary (${dictSize})`,
        );
      }
      rep0 = dist;
    }

    // ---- copy len + 2 bytes from rep0 + 1 back; the dictionary is the output itself
    let n = len + 2;
    const room = outLen - pos;
    if (n > room) {
      if (!partial) throw fail(inPos, `match of ${n} bytes runs ${n - room} past the end of the output`);
      n = room;
    }
    let from = pos - rep0 - 1;
    const end = pos + n;
    if (n >= 64 && rep0 + 1 >= n) {
      // long and not overlapping itself: a memmove beats the byte loop
      output.copyWithin(pos, from, from + n);
      pos = end;
    } else {
      // short, or overlapping (a run): byte by byte, so each copy sees the bytes before it
      do output[pos++] = output[from++];
      while (pos < end);
    }
  }

  if (partial) return;
  // Exact size: the encoder flushed its range coder right after the last symbol, so the
  // stream ends with the byte a final normalisation reads (when range < 2^24), and code
  // is then 0. Since code < range < 2^24 in that case, shifting that byte in leaves 0
  // only if code and the byte are both 0. Written without branches that a warmed-up
  // stream may not have taken (see WARM_UP).
  const extra = +((range >>> 24) === 0);
  if (inPos + extra !== inLen) {
    if (inPos + extra > inLen) throw fail(inPos, 'stream ends early');
    throw fail(inPos, `${inLen - inPos - extra} bytes left after the last of ${outLen} bytes`);
  }
  if (((code ^ K.MIN) | (input[inLen - 1] & (0 - extra))) !== 0) {
    throw fail(inLen, 'range coder did not finish cleanly');
  }
}

/**
 * The EROFS LZMA codec for an image whose LZMA config record gives `dictSize`. The
 * probability table (28 KiB) is allocated once here and reset for every pcluster.
 */
export function createLzma(dictSize: number): Codec {
  if (!Number.isInteger(dictSize) || dictSize < LZMA_DICT_MIN || dictSize > LZMA_DICT_MAX) {
    throw codecError('lzma', undefined, `dictionary size ${dictSize} outside ${LZMA_DICT_MIN}..${LZMA_DICT_MAX}`);
  }
  const probs = new Uint16Array(LZMA_PROBS_MAX);
  return {
    name: 'lzma',
    decode(input: Uint8Array, output: Uint8Array, partial: boolean): void {
      microLzmaDecode(input, output, dictSize, partial, probs);
    },
  };
}
