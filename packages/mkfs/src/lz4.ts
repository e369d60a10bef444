/**
 * LZ4 block encoder (the raw block format EROFS stores in a pcluster): greedy, one hash
 * table of the last position per 4-byte hash, no chains. Its "fill" mode stops when the
 * output buffer is full and reports how much input it consumed, which is what EROFS's
 * fixed-size-output pclusters need: as much of the file as fits in one block.
 *
 * Every block it writes keeps LZ4's end-of-block rules, so strict decoders
 * (LZ4_decompress_safe, the kernel's non-partial path) accept it: the last 5 bytes are
 * literals, and the last match starts at least 12 bytes before the end.
 */

const MIN_MATCH = 4;
/** The last match must end this many bytes before the end (they are literals). */
const LAST_LITERALS = 5;
/** ...and start at least this many bytes before the end. */
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
const HASH_LOG = 14;
/** After this many misses in a row the search step grows by one (skips incompressible runs fast). */
const SKIP_TRIGGER = 6;

/** Worst-case size of the block for `n` input bytes (incompressible data). */
export function lz4Bound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

export interface Lz4FillResult {
  /** Input bytes the block decodes to: input[start, start + consumed). */
  consumed: number;
  /** Bytes written to the output. */
  written: number;
}

/** Bytes of length extension for a nibble value `n` (literal count or match length - 4). */
function extBytes(n: number): number {
  return n < 15 ? 0 : Math.floor((n - 15) / 255) + 1;
}

function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function hash(v: number): number {
  return Math.imul(v, 2654435761) >>> (32 - HASH_LOG);
}

/**
 * Shared between calls and not cleared per call (no 64 KiB fill per pcluster): a call
 * stores positions as `base + (position - start)` and raises `base` past them when it
 * ends, so entries of earlier calls read as below `base` and are ignored. The block a call
 * writes therefore depends on input[start, end) alone, never on what was compressed
 * before: the builder compresses a file twice (once to lay the image out, once to write
 * it) and from a window of a file as well as from the whole of it, and must get the same
 * bytes each time.
 */
const table = new Uint32Array(1 << HASH_LOG);
let base = 1;

/**
 * Compresses input[start, end) into out[0, capacity) as one LZ4 block, taking as much input
 * as fits (all of it when capacity ≥ lz4Bound(end - start)). Matches never reach before
 * `start`: the block decodes on its own. `consumed` is 0 only for an empty range or a
 * capacity of 0.
 */
export function lz4CompressFill(input: Uint8Array, start: number, end: number, out: Uint8Array, capacity = out.length): Lz4FillResult {
  if (capacity > out.length) throw new RangeError('lz4: capacity larger than the output buffer');
  if (!(start >= 0 && start <= end && end <= input.length)) throw new RangeError('lz4: bad input range');
  let op = 0;
  let anchor = start;
  let ip = start + 1;
  const mfLimit = end - MF_LIMIT; // a match may start at ip <= mfLimit
  const matchLimit = end - LAST_LITERALS; // and end at or before matchLimit

  const putLength = (n: number) => {
    n -= 15;
    while (n >= 255) {
      out[op++] = 255;
      n -= 255;
    }
    out[op++] = n;
  };

  // Stored values stay below 2^32: a call stores positions up to end (in practice up to
  // ~256 * capacity past start, the most a block can hold).
  if (base + (end - start) >= 0xffffffff) {
    table.fill(0);
    base = 1;
  }
  const rel = base - start; // stored value of a position
  let top = start; // the highest position stored
  if (end - start >= MF_LIMIT + 1) {
    table[hash(u32(input, start))] = start + rel;
    let misses = 0;
    while (ip <= mfLimit) {
      // A literal run longer than the block cannot be followed by a match: stop searching
      // (incompressible input costs ~capacity steps per block, not a scan to `end`).
      if (ip - anchor > capacity) break;
      const seq = u32(input, ip);
      const h = hash(seq);
      const v = table[h];
      const cand = v - rel;
      table[h] = ip + rel;
      top = ip;
      if (v < base || cand >= ip || ip - cand > MAX_DISTANCE || u32(input, cand) !== seq) {
        ip += 1 + (misses++ >> SKIP_TRIGGER);
        continue;
      }
      misses = 0;
      // Extend backwards into the pending literals, then forwards.
      let m = cand;
      while (ip > anchor && m > start && input[ip - 1] === input[m - 1]) {
        ip--;
        m--;
      }
      const lit = ip - anchor;
      // Keep room for a final run of at least 12 literals (token + 12 bytes), so that the
      // block can still end by the rules wherever the output fills up. A match is only
      // extended as far as its length bytes fit (runs of zeros fill a block this way).
      const spare = capacity - op - (1 + MF_LIMIT) - (1 + extBytes(lit) + lit + 2);
      if (spare < 0) break;
      const maxLen = Math.min(matchLimit - ip, MIN_MATCH + (spare === 0 ? 14 : 14 + 255 * spare));
      let len = MIN_MATCH;
      while (len < maxLen && input[ip + len] === input[m + len]) len++;
      const tokenAt = op++;
      out[tokenAt] = (Math.min(lit, 15) << 4) | Math.min(len - MIN_MATCH, 15);
      if (lit >= 15) putLength(lit);
      out.set(input.subarray(anchor, ip), op);
      op += lit;
      const dist = ip - m;
      out[op++] = dist & 255;
      out[op++] = dist >> 8;
      if (len - MIN_MATCH >= 15) putLength(len - MIN_MATCH);
      ip += len;
      anchor = ip;
      // Seed the table inside the match so the next search finds recent positions.
      if (ip - 2 > start && ip - 2 <= mfLimit) table[hash(u32(input, ip - 2))] = ip - 2 + rel;
    }
    base += Math.max(top, ip) - start + 1;
  }

  // Final literals: as many as fit.
  const room = capacity - op - 1;
  if (room < 0) return { consumed: 0, written: 0 };
  let n = Math.min(end - anchor, room);
  while (n > 0 && n + extBytes(n) > room) n--;
  out[op++] = Math.min(n, 15) << 4;
  if (n >= 15) putLength(n);
  out.set(input.subarray(anchor, anchor + n), op);
  op += n;
  return { consumed: anchor + n - start, written: op };
}

/** The whole of `input` as one LZ4 block. */
export function lz4Compress(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(lz4Bound(input.length));
  const r = lz4CompressFill(input, 0, input.length, out);
  if (r.consumed !== input.length) throw new Error('lz4: bound too small (bug)');
  return out.slice(0, r.written);
}
