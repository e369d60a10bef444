/**
 * The contract every decompressor meets. The decoder hands a codec one pcluster's
 * compressed stream (zero padding already stripped where the image uses it) and an output
 * buffer of exactly the number of bytes the extent needs.
 */
export interface Codec {
  readonly name: string;
  /**
   * Decodes `input` into all of `output`.
   * - `partial` false: the stream must produce exactly output.length bytes and end there
   *   (trailing input bytes are allowed only where the format has no end marker to check).
   * - `partial` true: the stream may describe more output than asked for; decoding stops
   *   once output is full (EROFS partial references, prefix reads, images without zero
   *   padding).
   * Never writes outside `output`; a stream that ends early, overruns, or is malformed
   * throws ErofsError EUCLEAN (use `codecError`). Synchronous.
   */
  decode(input: Uint8Array, output: Uint8Array, partial: boolean): void;
}

/** Algorithm ids as stored in the image (h_algorithmtype, config bitmap bit numbers). */
export const enum Algorithm {
  LZ4 = 0,
  LZMA = 1,
  DEFLATE = 2,
  ZSTD = 3,
}

export const ALGORITHM_NAMES = ['lz4', 'lzma', 'deflate', 'zstd'];
