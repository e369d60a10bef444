import { ErofsError, corrupt, unsupported } from './errors.js';
import { crc32c } from './crc32c.js';
import { nidFromParts } from './nid.js';
import { copyBytes, type ByteSource } from './source.js';

export const EROFS_MAGIC = 0xe0f5e1e2;
export const SUPERBLOCK_OFFSET = 1024;
const SB_BASE_SIZE = 128;

export const COMPAT = {
  SB_CHKSUM: 0x01,
  MTIME: 0x02,
  XATTR_FILTER: 0x04,
  SHARED_EA_IN_METABOX: 0x08,
  PLAIN_XATTR_PFX: 0x10,
  ISHARE_XATTRS: 0x20,
} as const;

export const INCOMPAT = {
  ZERO_PADDING: 0x001,
  COMPR_CFGS: 0x002, // also BIG_PCLUSTER
  CHUNKED_FILE: 0x004,
  DEVICE_TABLE: 0x008, // also COMPR_HEAD2
  ZTAILPACKING: 0x010,
  FRAGMENTS: 0x020, // also DEDUPE
  XATTR_PREFIXES: 0x040,
  BIT48: 0x080,
  METABOX: 0x100,
} as const;

/** Every incompatible bit this decoder understands; any other bit makes the image unreadable. */
export const INCOMPAT_KNOWN = 0x1ff;

const COMPAT_NAMES: [number, string][] = [
  [COMPAT.SB_CHKSUM, 'sb_csum'],
  [COMPAT.MTIME, 'mtime'],
  [COMPAT.XATTR_FILTER, 'xattr_filter'],
  [COMPAT.SHARED_EA_IN_METABOX, 'shared_ea_in_metabox'],
  [COMPAT.PLAIN_XATTR_PFX, 'plain_xattr_pfx'],
  [COMPAT.ISHARE_XATTRS, 'ishare_xattrs'],
];
const INCOMPAT_NAMES: [number, string][] = [
  [INCOMPAT.ZERO_PADDING, '0padding'],
  [INCOMPAT.COMPR_CFGS, 'compr_cfgs/big_pcluster'],
  [INCOMPAT.CHUNKED_FILE, 'chunked_file'],
  [INCOMPAT.DEVICE_TABLE, 'device_table/compr_head2'],
  [INCOMPAT.ZTAILPACKING, 'ztailpacking'],
  [INCOMPAT.FRAGMENTS, 'fragments/dedupe'],
  [INCOMPAT.XATTR_PREFIXES, 'xattr_prefixes'],
  [INCOMPAT.BIT48, '48bit'],
  [INCOMPAT.METABOX, 'metabox'],
];

/** One extra device of a multi-device image (the device table, 128-byte slots). */
export interface DeviceSlot {
  /** Opaque tag (mkfs stores the blob's path or digest); NULs trimmed. */
  tag: Uint8Array;
  /** Size in blocks. */
  blocks: number;
  /** First block of this device in the unified address space; 0 when not mapped there. */
  uniaddr: number;
}

/** Every field of the on-disk superblock, decoded. */
export interface Superblock {
  magic: number;
  checksum: number;
  featureCompat: number;
  featureIncompat: number;
  blkszbits: number;
  blockSize: number;
  sbExtslots: number;
  /** 128 + 16 * sbExtslots */
  sbSize: number;
  /** The root NID in effect (rootnid_8b when 48-bit and non-zero, else rootnid_2b). */
  rootNid: number;
  rootNid2b: number;
  rootNid8b: number;
  inos: number;
  /** Base time of compact inodes, seconds (signed). Older tools call it build_time. */
  epoch: number;
  /** Nanoseconds of every compact inode's mtime. */
  fixedNsec: number;
  /** Primary device block count (blocks_lo, plus blocks_hi on 48-bit images). */
  blocks: number;
  metaBlkaddr: number;
  xattrBlkaddr: number;
  uuid: Uint8Array;
  volumeName: string;
  /** COMPR_CFGS: bitmap of algorithms with config records; otherwise lz4_max_distance. */
  availableComprAlgs: number;
  extraDevices: number;
  devtSlotoff: number;
  dirblkbits: number;
  xattrPrefixCount: number;
  /** Position of the long prefix table, in 4-byte units. */
  xattrPrefixStart: number;
  packedNid: number;
  xattrFilterReserved: number;
  ishareXattrPrefixId: number;
  /** Seconds after `epoch` at which the image was made (48-bit layout); 0 otherwise. */
  buildTime: number;
  /** Metabox inode NID (METABOX only), 0 when absent. */
  metaboxNid: number;
  devices: DeviceSlot[];
}

export interface SuperblockOptions {
  /** Verify the CRC-32C when SB_CHKSUM is set (default true). */
  verifyChecksum?: boolean;
}

export function featureNames(sb: Pick<Superblock, 'featureCompat' | 'featureIncompat'>): string[] {
  const names: string[] = [];
  for (const [bit, name] of COMPAT_NAMES) if (sb.featureCompat & bit) names.push(name);
  for (const [bit, name] of INCOMPAT_NAMES) if (sb.featureIncompat & bit) names.push(name);
  return names;
}

function u64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32;
}

/** Byte range covered by the superblock checksum, starting at SUPERBLOCK_OFFSET. */
function checksumLength(blockSize: number): number {
  return blockSize > SUPERBLOCK_OFFSET ? blockSize - SUPERBLOCK_OFFSET : blockSize;
}

const ZERO4 = new Uint8Array(4);

/**
 * CRC-32C of the superblock's block with the checksum field (bytes 4..8) taken as zero.
 * Computed in three runs over the source's view: nothing is copied, and the caller's
 * bytes (a MemorySource aliases them) are never written.
 */
export function superblockChecksum(source: ByteSource, blockSize: number): number {
  const len = checksumLength(blockSize);
  const bytes = source.view(SUPERBLOCK_OFFSET, len);
  let crc = crc32c(0xffffffff, bytes.subarray(0, 4));
  crc = crc32c(crc, ZERO4);
  return crc32c(crc, bytes.subarray(8));
}

export function readSuperblock(source: ByteSource, options: SuperblockOptions = {}): Superblock {
  const S = 'superblock';
  if (source.size < SUPERBLOCK_OFFSET + SB_BASE_SIZE) {
    throw new ErofsError('EINVAL', S, SUPERBLOCK_OFFSET, `image of ${source.size} bytes is too small to hold a superblock`);
  }
  const base = source.view(SUPERBLOCK_OFFSET, SB_BASE_SIZE);
  let dv = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== EROFS_MAGIC) {
    throw new ErofsError('EINVAL', S, SUPERBLOCK_OFFSET, `bad magic 0x${magic.toString(16).padStart(8, '0')}, not an EROFS image`);
  }
  const blkszbits = dv.getUint8(0x0c);
  if (blkszbits < 9) throw corrupt(S, SUPERBLOCK_OFFSET + 0x0c, `blkszbits ${blkszbits} below the minimum of 9`);
  if (blkszbits > 16) throw unsupported(S, SUPERBLOCK_OFFSET + 0x0c, `block size 2^${blkszbits} above 64 KiB is not supported`);
  const blockSize = 1 << blkszbits;
  const sbExtslots = dv.getUint8(0x0d);
  const sbSize = SB_BASE_SIZE + 16 * sbExtslots;
  if (SUPERBLOCK_OFFSET + sbSize > Math.max(4096, blockSize)) {
    throw corrupt(S, SUPERBLOCK_OFFSET + 0x0d, `sb_extslots ${sbExtslots} makes the superblock (${sbSize} bytes) overflow its block`);
  }
  if (source.size < SUPERBLOCK_OFFSET + sbSize) {
    throw corrupt(S, SUPERBLOCK_OFFSET, `image of ${source.size} bytes ends inside the ${sbSize}-byte superblock`);
  }
  const featureCompat = dv.getUint32(0x08, true);
  const checksum = dv.getUint32(0x04, true);
  if (featureCompat & COMPAT.SB_CHKSUM && options.verifyChecksum !== false) {
    const len = checksumLength(blockSize);
    if (source.size < SUPERBLOCK_OFFSET + len) {
      throw corrupt(S, SUPERBLOCK_OFFSET, `image ends inside the ${len} bytes covered by the checksum`);
    }
    const actual = superblockChecksum(source, blockSize);
    if (actual !== checksum) {
      throw corrupt(S, SUPERBLOCK_OFFSET + 4, `checksum mismatch: stored 0x${checksum.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}`);
    }
  }
  // Re-take the view (the checksum read may have reused a scratch buffer) and copy it:
  // the device table read below may reuse it again.
  const full = copyBytes(source.view(SUPERBLOCK_OFFSET, sbSize));
  dv = new DataView(full.buffer, full.byteOffset, full.byteLength);

  const featureIncompat = dv.getUint32(0x50, true);
  const unknown = featureIncompat & ~INCOMPAT_KNOWN;
  if (unknown) {
    const bit = unknown & -unknown;
    throw unsupported(S, SUPERBLOCK_OFFSET + 0x50, `unknown incompatible feature bit 0x${(bit >>> 0).toString(16)} (feature_incompat 0x${(featureIncompat >>> 0).toString(16)})`);
  }
  const dirblkbits = dv.getUint8(0x5a);
  if (dirblkbits !== 0) throw unsupported(S, SUPERBLOCK_OFFSET + 0x5a, `dirblkbits ${dirblkbits} is not supported`);

  const is48 = (featureIncompat & INCOMPAT.BIT48) !== 0;
  const rootNid2b = dv.getUint16(0x0e, true);
  const rootNid8b = is48 ? nidFromParts(dv.getUint32(0x70, true), dv.getUint32(0x74, true), S, SUPERBLOCK_OFFSET + 0x70) : 0;
  const wide = is48 && rootNid8b !== 0;
  const rootNid = wide ? rootNid8b : rootNid2b;
  const blocks = dv.getUint32(0x24, true) + (wide ? rootNid2b * 2 ** 32 : 0);

  const packedHi = dv.getUint32(0x64, true);
  if (packedHi & 0x80000000) throw corrupt(S, SUPERBLOCK_OFFSET + 0x60, 'packed_nid has the metabox bit set');
  const packedNid = nidFromParts(dv.getUint32(0x60, true), packedHi, S, SUPERBLOCK_OFFSET + 0x60);

  let metaboxNid = 0;
  if (featureIncompat & INCOMPAT.METABOX) {
    if (sbSize <= 0x80) throw corrupt(S, SUPERBLOCK_OFFSET + 0x0d, 'metabox feature set but the superblock has no extension slot for metabox_nid');
    const hi = dv.getUint32(0x84, true);
    if (hi & 0x80000000) throw corrupt(S, SUPERBLOCK_OFFSET + 0x80, 'metabox_nid points into the metabox itself');
    metaboxNid = nidFromParts(dv.getUint32(0x80, true), hi, S, SUPERBLOCK_OFFSET + 0x80);
  }

  const availableComprAlgs = dv.getUint16(0x54, true);
  if (featureIncompat & INCOMPAT.COMPR_CFGS && availableComprAlgs & ~0x000f) {
    throw unsupported(S, SUPERBLOCK_OFFSET + 0x54, `unknown compression algorithms in bitmap 0x${availableComprAlgs.toString(16)}`);
  }
  const xattrPrefixCount = dv.getUint8(0x5b);
  const ishareXattrPrefixId = dv.getUint8(0x69);
  if (featureCompat & COMPAT.ISHARE_XATTRS && ishareXattrPrefixId >= xattrPrefixCount) {
    throw corrupt(S, SUPERBLOCK_OFFSET + 0x69, `ishare prefix id ${ishareXattrPrefixId} not below the prefix count ${xattrPrefixCount}`);
  }

  const nameBytes = full.subarray(0x40, 0x50);
  const nul = nameBytes.indexOf(0);
  const volumeName = new TextDecoder('utf-8', { fatal: false }).decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul));

  const sb: Superblock = {
    magic,
    checksum,
    featureCompat,
    featureIncompat,
    blkszbits,
    blockSize,
    sbExtslots,
    sbSize,
    rootNid,
    rootNid2b,
    rootNid8b,
    inos: u64(dv, 0x10),
    epoch: Number(dv.getBigInt64(0x18, true)),
    fixedNsec: dv.getUint32(0x20, true),
    blocks,
    metaBlkaddr: dv.getUint32(0x28, true),
    xattrBlkaddr: dv.getUint32(0x2c, true),
    uuid: copyBytes(full, 0x30, 0x40),
    volumeName,
    availableComprAlgs,
    extraDevices: dv.getUint16(0x56, true),
    devtSlotoff: dv.getUint16(0x58, true),
    dirblkbits,
    xattrPrefixCount,
    xattrPrefixStart: dv.getUint32(0x5c, true),
    packedNid,
    xattrFilterReserved: dv.getUint8(0x68),
    ishareXattrPrefixId,
    buildTime: is48 ? dv.getUint32(0x6c, true) : 0,
    metaboxNid,
    devices: [],
  };
  if (featureIncompat & INCOMPAT.DEVICE_TABLE) sb.devices = readDeviceTable(source, sb);
  return sb;
}

const DEVICE_SLOT_SIZE = 128;

function readDeviceTable(source: ByteSource, sb: Superblock): DeviceSlot[] {
  const start = sb.devtSlotoff * DEVICE_SLOT_SIZE;
  const count = sb.extraDevices;
  if (count === 0) return [];
  if (start + count * DEVICE_SLOT_SIZE > source.size) {
    throw corrupt('device table', start, `${count} slots run past the end of the image (${source.size} bytes)`);
  }
  const is48 = (sb.featureIncompat & INCOMPAT.BIT48) !== 0;
  const devices: DeviceSlot[] = [];
  for (let i = 0; i < count; i++) {
    const slot = source.view(start + i * DEVICE_SLOT_SIZE, DEVICE_SLOT_SIZE);
    const dv = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
    let tagEnd = slot.subarray(0, 64).indexOf(0);
    if (tagEnd < 0) tagEnd = 64;
    devices.push({
      tag: copyBytes(slot, 0, tagEnd),
      blocks: dv.getUint32(0x40, true) + (is48 ? dv.getUint16(0x48, true) * 2 ** 32 : 0),
      uniaddr: dv.getUint32(0x44, true) + (is48 ? dv.getUint16(0x4a, true) * 2 ** 32 : 0),
    });
  }
  return devices;
}
