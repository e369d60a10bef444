/** Where a range of a file's bytes lives. */
export const enum ExtentKind {
  /** Reads as zeros (a NULL block address, a hole chunk). */
  Hole = 0,
  /** Uncompressed bytes at `physical` in the unified address space of device `deviceId`. */
  Data = 1,
  /** Bytes inline in the inode's meta space (the image, or the metabox data) at `physical`. */
  Inline = 2,
}

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
}
