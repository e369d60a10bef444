/**
 * Copy-up origin file handles: the value of `trusted.overlay.origin` (Linux's struct
 * ovl_fb, fs/overlayfs/overlayfs.h), byte for byte as the kernel writes it:
 *
 *   0  u8   version   0
 *   1  u8   magic     0xfb
 *   2  u8   len       21 + fid bytes
 *   3  u8   flags     0 on a little-endian machine (bit 0: big-endian, bit 1: any endian)
 *   4  u8   type      the exportfs handle type of the lower filesystem
 *   5  u8[16] uuid    the lower filesystem's UUID (its superblock's)
 *   21 u32[] fid      the lower filesystem's own handle
 *
 * The layers here are identified by UUID and their inodes by number: the fid written is
 * EROFS's (FILEID_INO64_GEN, 0x81: the NID as two u32, high half first, then the
 * generation 0), which is also the form written for any other layer that has a UUID.
 * Decoding gives back (uuid, ino) for st_ino; anything else is "origin unknown".
 */
export const OVL_FH_VERSION = 0;
export const OVL_FH_MAGIC = 0xfb;
export const FILEID_INO64_GEN = 0x81;
const HEADER = 21;

/** The origin handle of inode `ino` on the filesystem with `uuid`. */
export function encodeOrigin(uuid: Uint8Array, ino: number): Uint8Array {
  if (uuid.length !== 16) throw new RangeError(`a UUID has 16 bytes, not ${uuid.length}`);
  if (!(Number.isSafeInteger(ino) && ino >= 0)) throw new RangeError(`bad inode number ${ino}`);
  const out = new Uint8Array(HEADER + 12);
  out[0] = OVL_FH_VERSION;
  out[1] = OVL_FH_MAGIC;
  out[2] = out.length;
  out[3] = 0;
  out[4] = FILEID_INO64_GEN;
  out.set(uuid, 5);
  const dv = new DataView(out.buffer);
  dv.setUint32(HEADER, Math.floor(ino / 2 ** 32), true);
  dv.setUint32(HEADER + 4, ino % 2 ** 32, true);
  dv.setUint32(HEADER + 8, 0, true);
  return out;
}

export interface Origin {
  uuid: Uint8Array;
  ino: number;
}

/**
 * The (uuid, ino) an origin value names, or null: empty ("origin unknown"), too short, a
 * wrong magic or length, a newer version, unknown flags, another endianness or a handle
 * type other than FILEID_INO64_GEN (as ovl_check_fh_len treats them: origin unknown).
 */
export function decodeOrigin(value: Uint8Array): Origin | null {
  if (value.length < HEADER || value[1] !== OVL_FH_MAGIC || value[2] > value.length || value[2] < HEADER) return null;
  if (value[0] > OVL_FH_VERSION || value[3] & ~7 || (!(value[3] & 2) && value[3] & 1)) return null;
  if (value[4] !== FILEID_INO64_GEN || value[2] !== HEADER + 12) return null;
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { uuid: value.slice(5, HEADER), ino: dv.getUint32(HEADER, true) * 2 ** 32 + dv.getUint32(HEADER + 4, true) };
}

export function sameUuid(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
