/**
 * LZ4 block format decoder (the raw block, not the frame format), as EROFS stores it in
 * a pcluster.
 *
 * A block is a run of sequences. Each starts with a token byte: the high nibble is the
 * literal count, the low nibble the match length minus 4 (the minimum match). A nibble of
 * 15 is followed by extension bytes, each added to it, that go on while a byte is 255. After
 * the literals come a 2-byte little-endian offset back into the output and the match
 * length's extension. The last sequence is a token and literals only: the block ends where
 * its input ends.
 *
 * The compressor's tail rules (the last 5 bytes are literals, the last match starts 12 or
 * more bytes before the end) exist so that liblz4's decoder can copy in wide strides past
 * the logical end. This decoder checks every bound exactly, so it does not need them and
 * accepts blocks that break them, as LZ4_decompress_safe_partial (which the kernel uses for
 * partial EROFS reads) does; LZ4_decompress_safe refuses some of them.
 */
import type { Codec } from './codec.js';
import { codecError } from '../errors.js';

/**
 * Most sequences are short: in text and executables, literal runs of 0 to 7 bytes and matches
 * of 4 to 15 make up over 80% of them, so the per-sequence cost decides the speed. Short
 * copies therefore move 8 bytes a step, as two 4-byte moves through DataViews (TurboFan
 * turns an unaligned getInt32/setInt32 into one load or store), and may run up to 7 bytes
 * past their end. Those bytes are inside `output`, ahead of the write position, and the
 * sequences that follow overwrite them before the block is done. A match copied this way
 * needs an offset of at least 4, so that each 4 bytes it reads are already final. This
 * made decoding 1.6 to 2 times faster than byte loops on text and executables. Past WIDE_MAX
 * a bulk copy is as fast (measured with tools/bench/lz4.ts; 32 to 128 were within noise).
 */
const WIDE_MAX = 64;
/**
 * Where the wide copy does not apply (long runs, the last bytes of either buffer, offsets
 * under 4), a byte loop is used below these lengths and a bulk copy above: `set` needs a
 * `subarray` view and `copyWithin` is a call into the runtime, so a bulk copy only pays once
 * it saves some dozens of single-byte moves. Measured with tools/bench/lz4.ts: thresholds from
 * 16 to 256 were within noise of each other.
 */
const LITERAL_BULK_MIN = 32;
const MATCH_BULK_MIN = 32;

/**
 * Decodes one LZ4 block from `input` into `output`.
 *
 * - `partial` false: the block must produce exactly `output.length` bytes and end exactly
 *   at the end of `input` with a literals-only sequence.
 * - `partial` true: decoding stops as soon as `output` is full, even inside a literal run or
 *   a match; whatever input follows is ignored. The block must still fill `output`.
 *
 * Returns the number of input bytes consumed (`input.length` when not partial). Throws
 * ErofsError EUCLEAN, with the input offset of the fault, for a malformed or truncated
 * block. Reads only inside `input`, writes only inside `output`, and runs in time linear in
 * input plus output. After a failure the content of `output` is unspecified. `input` and
 * `output` must not share bytes (a RangeError says so): the wide copies write ahead of the
 * current position.
 */
export function lz4Decode(input: Uint8Array, output: Uint8Array, partial: boolean): number {
  const inLen = input.length;
  const outLen = output.length;
  if (partial && outLen === 0) return 0;
  if (
    input.buffer === output.buffer &&
    input.byteOffset < output.byteOffset + outLen &&
    output.byteOffset < input.byteOffset + inLen
  ) {
    throw new RangeError('lz4: input and output overlap');
  }
  const src = new DataView(input.buffer, input.byteOffset, inLen);
  const dst = new DataView(output.buffer, output.byteOffset, outLen);
  let ip = 0;
  let op = 0;

  for (;;) {
    if (ip >= inLen) {
      throw codecError('lz4', ip, `block ends after ${op} of ${outLen} output bytes, where a token was due`);
    }
    const token = input[ip++];

    let length = token >>> 4;
    if (length < 15 && ip + 18 <= inLen && op + 36 <= outLen) {
      // Fast path, for the sequences most blocks are made of: a short literal run (0 to 14
      // bytes) and, usually, a short match (4 to 18 bytes), with room to spare on both
      // sides. The run is copied as 16 bytes whatever its length, the match as 20, with no
      // loop and no per-length test; the extra bytes land ahead of the write position and
      // later sequences overwrite them (see WIDE_MAX). The run cannot be the block's last
      // (that one ends exactly at inLen, and here 2 more bytes follow) nor fill the output.
      // Text and executables decoded 15-45% faster than with the loops below alone
      // (tools/bench/lz4.ts, 4 KiB to 64 KiB blocks).
      dst.setInt32(op, src.getInt32(ip, true), true);
      dst.setInt32(op + 4, src.getInt32(ip + 4, true), true);
      dst.setInt32(op + 8, src.getInt32(ip + 8, true), true);
      dst.setInt32(op + 12, src.getInt32(ip + 12, true), true);
      op += length;
      ip += length;
      // ip + 2 <= inLen still holds: the offset is there.
      const offset = input[ip] | (input[ip + 1] << 8);
      const ml = token & 15;
      if (ml !== 15 && offset >= 4 && offset <= op) {
        // Offset >= 4: each 4-byte move, in order, reads only bytes already final.
        // op + 20 <= outLen by the test above (op grew by at most 14).
        ip += 2;
        const from = op - offset;
        dst.setInt32(op, dst.getInt32(from, true), true);
        dst.setInt32(op + 4, dst.getInt32(from + 4, true), true);
        dst.setInt32(op + 8, dst.getInt32(from + 8, true), true);
        dst.setInt32(op + 12, dst.getInt32(from + 12, true), true);
        dst.setInt32(op + 16, dst.getInt32(from + 16, true), true);
        op += ml + 4;
        continue;
      }
      // Anything else about the match: the general code below, from the offset.
    } else {
      if (length === 15) {
        // Extension bytes are added on while they are 255; each consumes input, which bounds the loop.
        let b = 255;
        while (b === 255) {
          if (ip >= inLen) throw codecError('lz4', ip, 'block ends inside a literal length');
          b = input[ip++];
          length += b;
        }
      }
      if (length <= WIDE_MAX && ip + length + 8 <= inLen && op + length + 8 <= outLen) {
        // The common case, tested first: both buffers have room to spare, so no check below
        // applies. Wide copy (see WIDE_MAX), up to 7 bytes beyond the run on both sides.
        const end = op + length;
        let from = ip;
        while (op < end) {
          dst.setInt32(op, src.getInt32(from, true), true);
          dst.setInt32(op + 4, src.getInt32(from + 4, true), true);
          op += 8;
          from += 8;
        }
        op = end;
        ip += length;
      } else if (length !== 0) {
        let n = length;
        if (n > outLen - op) {
          if (!partial) {
            throw codecError('lz4', ip, `literal run of ${length} bytes overruns the output (${outLen - op} bytes left)`);
          }
          n = outLen - op;
        }
        if (n > inLen - ip) {
          throw codecError('lz4', ip, `literal run of ${length} bytes runs past the end of input (${inLen - ip} bytes left)`);
        }
        if (n < LITERAL_BULK_MIN) {
          const end = ip + n;
          while (ip < end) output[op++] = input[ip++];
        } else {
          output.set(input.subarray(ip, ip + n), op);
          ip += n;
          op += n;
        }
      }
      if (op === outLen && partial) return ip;
      if (ip === inLen) {
        // A block ends with its literals-only last sequence, exactly where the input does.
        if (op === outLen) return ip;
        throw codecError('lz4', ip, `block ends after ${op} of ${outLen} output bytes`);
      }
    }

    // Match.
    if (inLen - ip < 2) throw codecError('lz4', ip, 'block ends inside a match offset');
    const offset = input[ip] | (input[ip + 1] << 8);
    if (offset === 0) throw codecError('lz4', ip, 'match offset 0');
    if (offset > op) {
      throw codecError('lz4', ip, `match offset ${offset} reaches before the start of output (${op} bytes written)`);
    }
    ip += 2;
    length = (token & 15) + 4;
    if (length === 19) {
      let b = 255;
      while (b === 255) {
        if (ip >= inLen) throw codecError('lz4', ip, 'block ends inside a match length');
        b = input[ip++];
        length += b;
      }
    }
    let from = op - offset;
    if (offset >= 4 && length <= WIDE_MAX && op + length + 8 <= outLen) {
      // The common case again: wide copy (see WIDE_MAX); with offset >= 4 each 4-byte move
      // reads only bytes already final.
      const end = op + length;
      do {
        dst.setInt32(op, dst.getInt32(from, true), true);
        dst.setInt32(op + 4, dst.getInt32(from + 4, true), true);
        op += 8;
        from += 8;
      } while (op < end);
      op = end;
      continue; // output has room left: neither full nor overrun
    }
    let n = length;
    if (n > outLen - op) {
      if (!partial) {
        throw codecError('lz4', ip, `match of ${length} bytes overruns the output (${outLen - op} bytes left)`);
      }
      n = outLen - op;
    }
    if (offset >= n) {
      // Source and destination do not overlap.
      if (n < MATCH_BULK_MIN) {
        const end = op + n;
        while (op < end) output[op++] = output[from++];
      } else {
        output.copyWithin(op, from, from + n);
        op += n;
      }
    } else if (offset === 1) {
      // A run of one byte (RLE): the most common short offset, and fill() is a memset.
      output.fill(output[from], op, op + n);
      op += n;
    } else if (n < MATCH_BULK_MIN) {
      // Overlapping (offsets 2 and 3 here, or near the end of output): a forward byte copy
      // repeats the last `offset` bytes, as LZ77 means.
      const end = op + n;
      while (op < end) output[op++] = output[from++];
    } else {
      // Overlapping and long: the output from `from` on repeats with period `offset`, so a
      // chunk copied out of it may be as long as the distance to where it lands. Each chunk
      // doubles that distance, so the copy takes log2(n / offset) bulk moves.
      const end = op + n;
      while (op < end) {
        const chunk = Math.min(op - from, end - op);
        output.copyWithin(op, from, from + chunk);
        op += chunk;
      }
    }
    if (op === outLen && partial) return ip;
  }
}

export const lz4: Codec = {
  name: 'lz4',
  decode(input: Uint8Array, output: Uint8Array, partial: boolean): void {
    lz4Decode(input, output, partial);
  },
};
