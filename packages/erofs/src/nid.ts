import { corrupt } from './errors.js';

/**
 * NIDs are u64 on disk. Bit 63 marks an inode stored inside the metabox inode's data.
 * We keep NIDs as JS numbers so that the hot paths (lookup, maps keyed by nid) never
 * touch bigint: a normal NID is its value (< 2^48, since nid * 32 must land inside an
 * image smaller than 2^53 bytes), and a metabox NID is METABOX_NID_FLAG + its low bits.
 */
export const METABOX_NID_FLAG = 2 ** 52;
const MAX_NID_LOW = 2 ** 48;

export function isMetaboxNid(nid: number): boolean {
  return nid >= METABOX_NID_FLAG;
}

/** The NID's position index inside its meta space (without the metabox flag). */
export function nidIndex(nid: number): number {
  return nid >= METABOX_NID_FLAG ? nid - METABOX_NID_FLAG : nid;
}

/** Builds a NID from the two little-endian halves of an on-disk u64. */
export function nidFromParts(lo: number, hi: number, structure: string, offset: number): number {
  const metabox = (hi & 0x80000000) !== 0;
  const high = hi & 0x7fffffff;
  const low = high * 2 ** 32 + lo;
  if (low >= MAX_NID_LOW) throw corrupt(structure, offset, `nid 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} out of range`);
  return metabox ? METABOX_NID_FLAG + low : low;
}

export function nidToBigInt(nid: number): bigint {
  return nid >= METABOX_NID_FLAG ? (1n << 63n) | BigInt(nid - METABOX_NID_FLAG) : BigInt(nid);
}

/** st_ino as the Linux kernel reports it: the NID itself, or low32 ^ high32 for NIDs of 2^32 and above. */
export function nidToIno(nid: number): number {
  const low = nidIndex(nid);
  const lo32 = low % 2 ** 32;
  let hi32 = Math.floor(low / 2 ** 32);
  if (nid >= METABOX_NID_FLAG) hi32 = (hi32 | 0x80000000) >>> 0;
  if (hi32 === 0) return lo32;
  return (lo32 ^ hi32) >>> 0;
}

export function formatNid(nid: number): string {
  // Error-message prefixes are built on hot paths (every inode decoded): skip the bigint
  // for the common NIDs, whose decimal form is the number's own.
  return nid < METABOX_NID_FLAG ? String(nid) : nidToBigInt(nid).toString();
}
