/**
 * Raw DEFLATE (RFC 1951, no zlib or gzip wrapper) as EROFS stores it in a pcluster: the
 * kernel and erofs-utils both run zlib's `inflateInit2(-15)` over it. Pure TypeScript, so it
 * runs in browsers; Node can use the native path in deflate-node.ts instead.
 *
 * Engine: pako, driven through its zlib-style stream API (`ZStream`, `zlibInflate`). pako
 * is a line-by-line port of zlib's inflate, so it has zlib's semantics exactly: it writes
 * only inside `output[0, avail_out)`, stops the moment that space is full (partial decoding
 * costs no more than the prefix), tells a finished stream (Z_STREAM_END) from one that wants
 * more output or more input (Z_BUF_ERROR), and checks what zlib checks (stored-block
 * LEN/NLEN, over-subscribed and incomplete Huffman codes, distances before the start of the
 * output), naming each failure with zlib's message. In a side-by-side run while choosing,
 * its speed was within ±15 % of fflate's on 4–128 KiB pieces; tools/bench/codecs.ts puts it
 * at 100–230 MiB/s, 35–55 % of C zlib, and Node's native zlib (deflate-node.ts) at 1.7–2.7×
 * that, 14–18 µs against 31–38 µs per 4 KiB pcluster.
 *
 * fflate was the other candidate and was not taken: its one-shot inflate into a caller
 * buffer cannot stop early (it decodes the whole stream, dropping out-of-range writes, which
 * for a hostile 1 MiB pcluster is ~2·10^9 dropped bytes), cannot tell an exact fit from an
 * overrun (the returned view is clamped to the buffer), throws RangeError from a stored block
 * that crosses the end, and does not check stored-block NLEN. Its streaming class only
 * bounds output per pushed input chunk, with a 32 KiB window copy per push.
 */
import {
  ZStream,
  zlibInflate,
  zlibInflateInit2,
  zlibInflateReset,
  Z_BUF_ERROR,
  Z_FINISH,
  Z_OK,
  Z_STREAM_END,
} from 'pako';
import type { Codec } from './codec.js';
import { codecError } from '../errors.js';

const EMPTY = new Uint8Array(0);

/** One stream, reset per call: decoding is synchronous and never re-enters itself. */
let shared: ZStream | undefined;

function stream(): ZStream {
  if (shared === undefined) {
    const s = new ZStream();
    if (zlibInflateInit2(s, -15) !== Z_OK) throw new Error('deflate: pako refused inflateInit2(-15)');
    shared = s;
  } else if (zlibInflateReset(shared) !== Z_OK) {
    throw new Error('deflate: pako refused inflateReset');
  }
  return shared;
}

/**
 * Inflates the raw DEFLATE stream in `input` into `output`.
 *
 * - `partial` false: the stream must end (final block, end-of-block code) after exactly
 *   `output.length` bytes, and `input` must end with it (the stream is right-aligned in its
 *   pcluster, so trailing bytes mean corruption).
 * - `partial` true: decoding stops as soon as `output` is full; whatever follows in the
 *   stream is not looked at. The stream must still fill `output`.
 *
 * Returns the number of input bytes consumed. Throws ErofsError EUCLEAN (structure
 * "deflate", offset = input bytes consumed when the fault was seen) for a malformed,
 * truncated, short or overlong stream. Writes only inside `output`.
 */
export function inflateRawInto(input: Uint8Array, output: Uint8Array, partial: boolean): number {
  const want = output.length;
  if (partial && want === 0) return 0;
  const s = stream();
  s.input = input;
  s.next_in = 0;
  s.avail_in = input.length;
  // pako's typings ask for an ArrayBuffer-backed array; it only indexes it, so a view over a
  // SharedArrayBuffer works the same.
  s.output = output as Uint8Array<ArrayBuffer>;
  s.next_out = 0;
  s.avail_out = want;
  let rc: number;
  try {
    rc = zlibInflate(s, Z_FINISH);
  } finally {
    // Drop the references so that a cached stream does not pin the caller's buffers.
    s.input = EMPTY;
    s.output = EMPTY as Uint8Array<ArrayBuffer>;
  }
  const produced = want - s.avail_out;
  const consumed = s.next_in;
  if (rc === Z_STREAM_END) {
    if (produced !== want) {
      throw codecError('deflate', consumed, `stream ends after ${produced} of ${want} output bytes`);
    }
    if (!partial && consumed !== input.length) {
      throw codecError('deflate', consumed, `${input.length - consumed} bytes follow the end of the stream`);
    }
    return consumed;
  }
  if (rc === Z_BUF_ERROR || rc === Z_OK) {
    if (s.avail_out === 0) {
      if (partial) return consumed;
      throw codecError('deflate', consumed, `stream holds more than ${want} output bytes, or its end is missing`);
    }
    throw codecError('deflate', consumed, `stream is truncated after ${produced} of ${want} output bytes`);
  }
  throw codecError('deflate', consumed, s.msg || `inflate failed (zlib code ${rc})`);
}

/** Raw DEFLATE in pure TypeScript (pako): works in every JavaScript runtime. */
export const deflate: Codec = {
  name: 'deflate',
  decode(input, output, partial) {
    inflateRawInto(input, output, partial);
  },
};
