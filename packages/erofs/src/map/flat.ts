import { corrupt } from '../errors.js';
import { DataLayout, type Inode } from '../inode.js';
import { formatNid } from '../nid.js';
import { ExtentKind, type Extent } from './extent.js';

/**
 * FLAT_PLAIN and FLAT_INLINE: contiguous blocks from startBlock, and for FLAT_INLINE
 * the last partial block stored right after the inode and its xattrs.
 * `offset` must be below i_size.
 */
export function mapFlat(inode: Inode, offset: number, blkszbits: number): Extent {
  const blockSize = 2 ** blkszbits;
  const size = inode.size;
  let tailStart = size; // FLAT_PLAIN: everything is in blocks
  if (inode.layout === DataLayout.FlatInline) {
    tailStart = (Math.ceil(size / blockSize) - 1) * blockSize;
  }
  if (offset < tailStart) {
    if (inode.startBlock === null) {
      return { kind: ExtentKind.Hole, logical: offset, length: tailStart - offset, physical: 0, deviceId: 0 };
    }
    return {
      kind: ExtentKind.Data,
      logical: offset,
      length: tailStart - offset,
      physical: inode.startBlock * blockSize + offset,
      deviceId: 0,
    };
  }
  const tailLen = size - tailStart;
  const inBlock = inode.ibase % blockSize;
  if (inBlock + tailLen > blockSize) {
    throw corrupt(`inode ${formatNid(inode.nid)}`, inode.ibase, `inline tail of ${tailLen} bytes crosses a block boundary`);
  }
  return {
    kind: ExtentKind.Inline,
    logical: offset,
    length: size - offset,
    physical: inode.ibase + (offset - tailStart),
    deviceId: 0,
  };
}
