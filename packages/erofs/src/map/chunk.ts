import { corrupt } from '../errors.js';
import { CHUNK_FORMAT_48BIT, CHUNK_FORMAT_INDEXES, type Inode } from '../inode.js';
import { formatNid } from '../nid.js';
import { ExtentKind, type Extent } from './extent.js';

/** Reads `length` bytes of an inode's meta space (image or metabox data). */
export type MetaReader = (inMetabox: boolean, pos: number, length: number) => Uint8Array;

/** Position of the chunk table: right after the inode and xattrs, aligned to the entry size. */
export function chunkTablePos(inode: Inode): { pos: number; unit: number; count: number } {
  const unit = inode.chunkFormat & CHUNK_FORMAT_INDEXES ? 8 : 4;
  const pos = Math.ceil(inode.ibase / unit) * unit;
  const count = Math.ceil(inode.size / 2 ** inode.chunkBits);
  return { pos, unit, count };
}

/**
 * CHUNK_BASED: chunk k covers [k << chunkBits, ...). Entries are 4-byte block-map
 * addresses or 8-byte chunk indexes (with a device id and, on 48-bit images, high bits).
 * `offset` must be below i_size.
 */
export function mapChunk(inode: Inode, offset: number, blkszbits: number, extraDevices: number, meta: MetaReader): Extent {
  const chunkSize = 2 ** inode.chunkBits;
  const k = Math.floor(offset / chunkSize);
  const { pos, unit } = chunkTablePos(inode);
  const entryPos = pos + k * unit;
  const e = meta(inode.inMetabox, entryPos, unit);
  const dv = new DataView(e.buffer, e.byteOffset, e.byteLength);
  const chunkStart = k * chunkSize;
  const blockSize = 2 ** blkszbits;
  // The kernel maps whole blocks of the chunk; reads stop at i_size anyway.
  const chunkLen = Math.min(chunkSize, Math.ceil((inode.size - chunkStart) / blockSize) * blockSize);
  const length = Math.min(chunkStart + chunkLen, inode.size) - offset;
  let block: number;
  let deviceId = 0;
  let isHole: boolean;
  if (unit === 4) {
    const lo = dv.getUint32(0, true);
    isHole = lo === 0xffffffff;
    block = lo;
  } else {
    const lo = dv.getUint32(4, true);
    if (inode.chunkFormat & CHUNK_FORMAT_48BIT) {
      const hi = dv.getUint16(0, true);
      isHole = lo === 0xffffffff && hi === 0xffff;
      block = hi * 2 ** 32 + lo;
    } else {
      isHole = lo === 0xffffffff;
      block = lo;
    }
    // The kernel masks the device id with the next power of two above the device count.
    let mask = 1;
    while (mask < extraDevices + 1) mask <<= 1;
    deviceId = dv.getUint16(2, true) & (mask - 1);
    if (!isHole && deviceId > extraDevices) {
      throw corrupt(`chunk index of inode ${formatNid(inode.nid)}`, entryPos, `device id ${deviceId} beyond the ${extraDevices} extra devices`);
    }
  }
  if (isHole) return { kind: ExtentKind.Hole, logical: offset, length, physical: 0, deviceId: 0 };
  return { kind: ExtentKind.Data, logical: offset, length, physical: block * blockSize + (offset - chunkStart), deviceId };
}
