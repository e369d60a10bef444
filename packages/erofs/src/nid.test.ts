import { describe, expect, it } from 'vitest';
import { METABOX_NID_FLAG, formatNid, isMetaboxNid, nidFromParts, nidToBigInt, nidToIno } from './nid.js';

describe('nid', () => {
  it('keeps ordinary NIDs as their value and their st_ino', () => {
    expect(nidFromParts(36, 0, 'd', 0)).toBe(36);
    expect(nidToIno(36)).toBe(36);
    expect(nidToIno(2 ** 32 - 1)).toBe(2 ** 32 - 1);
  });

  it('folds NIDs of 2^32 and above into st_ino as low32 ^ high32, like the kernel', () => {
    expect(nidToIno(2 ** 32 + 5)).toBe(4);
    // NID 2^63 + 13 (a metabox inode) gives 2147483661, as observed on a kernel mount.
    const mb = nidFromParts(13, 0x80000000, 'd', 0);
    expect(isMetaboxNid(mb)).toBe(true);
    expect(mb).toBe(METABOX_NID_FLAG + 13);
    expect(nidToIno(mb)).toBe(2147483661);
    expect(nidToBigInt(mb)).toBe((1n << 63n) + 13n);
    expect(formatNid(mb)).toBe('9223372036854775821');
  });

  it('formats ordinary NIDs as their decimal value, up to the largest', () => {
    for (const nid of [0, 36, 2 ** 32 + 5, 2 ** 48 - 1]) expect(formatNid(nid)).toBe(nidToBigInt(nid).toString());
  });

  it('refuses NIDs that cannot address an image below 2^53 bytes', () => {
    expect(() => nidFromParts(0, 0x10000, 'dirent', 100)).toThrow(/dirent at byte 100: nid .* out of range/);
    expect(() => nidFromParts(0, 0x80010000, 'dirent', 100)).toThrow(/out of range/);
  });
});
