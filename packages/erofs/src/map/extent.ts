/** Where a range of a file's bytes lives. */
export const enum ExtentKind {
  /** Reads as zeros (a NULL block address, a hole chunk, an empty encoded extent). */
  Hole = 0,
  /** Uncompressed bytes at `physical` in the unified address space of device `deviceId`. */
  Data = 1,
  /** Bytes inline in the inode's meta space (the image, or the metabox data) at `physical`. */
  Inline = 2,
  /**
   * A pcluster: `plen` bytes at `physical` (in the meta space when `inMeta`, i.e. a
   * tail-packed pcluster) that decode with `format` to the extent's bytes. Unlike the
   * kinds above, `logical` is the extent's start, which may lie before the offset asked for.
   */
  Encoded = 3,
  /** Bytes stored in the packed inode, from offset `physical` for the extent's start `logical`. */
  Fragment = 4,
}

/** Extent formats beyond the algorithm ids 0..3 (lz4, lzma, deflate, zstd). */
export const FORMAT_SHIFTED = 4;
export const FORMAT_INTERLACED = 5;

export interface Extent {
  kind: ExtentKind;
  /** First file offset covered. */
  logical: number;
  /** Number of bytes covered from `logical` (never past i_size). */
  length: number;
  /** Byte address of `logical` (meaningless for holes). */
  physical: number;
  /** 0: unified address space; N: extra device N (chunk indexes). */
  deviceId: number;
  /** Encoded: size of the pcluster in bytes. */
  plen?: number;
  /** Encoded: an algorithm id, FORMAT_SHIFTED or FORMAT_INTERLACED. */
  format?: number;
  /** Encoded: the pcluster's stream may hold more than `length` bytes (decode a prefix). */
  partial?: boolean;
  /** Encoded: the pcluster is inline in the inode's meta space (tail packing). */
  inMeta?: boolean;
}
