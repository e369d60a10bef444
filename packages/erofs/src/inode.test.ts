import { describe, expect, it } from 'vitest';
import { ErofsError } from './errors.js';
import { DataLayout, S_IFCHR, S_IFDIR, S_IFREG, decodeInode, decodeRdev, makedev, splitDev } from './inode.js';
import type { Superblock } from './superblock.js';

const sb = { blkszbits: 12, blockSize: 4096, epoch: 1700000000, fixedNsec: 123 } as Superblock;

function compact(fields: { format?: number; mode: number; nb?: number; size?: number; mtime?: number; iu?: number; uid?: number; gid?: number; icount?: number }): Uint8Array {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, fields.format ?? 0, true);
  dv.setUint16(2, fields.icount ?? 0, true);
  dv.setUint16(4, fields.mode, true);
  dv.setUint16(6, fields.nb ?? 1, true);
  dv.setUint32(8, fields.size ?? 0, true);
  dv.setUint32(0x0c, fields.mtime ?? 0, true);
  dv.setUint32(0x10, fields.iu ?? 0, true);
  dv.setUint16(0x18, fields.uid ?? 0, true);
  dv.setUint16(0x1a, fields.gid ?? 0, true);
  return b;
}

function extended(fields: { format?: number; mode: number; nb?: number; size: bigint; iu?: number; uid: number; gid: number; mtime: bigint; nsec: number; nlink: number }): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, (fields.format ?? 0) | 1, true);
  dv.setUint16(4, fields.mode, true);
  dv.setUint16(6, fields.nb ?? 0, true);
  dv.setBigUint64(8, fields.size, true);
  dv.setUint32(0x10, fields.iu ?? 0, true);
  dv.setUint32(0x18, fields.uid, true);
  dv.setUint32(0x1c, fields.gid, true);
  dv.setBigInt64(0x20, fields.mtime, true);
  dv.setUint32(0x28, fields.nsec, true);
  dv.setUint32(0x2c, fields.nlink, true);
  return b;
}

describe('decodeInode', () => {
  it('takes a compact inode mtime from the superblock epoch plus the per-inode field', () => {
    const i = decodeInode(sb, 40, 1280, false, compact({ mode: S_IFREG | 0o644, nb: 2, size: 5000, mtime: 7, iu: 9, uid: 65535, gid: 3 }));
    expect(i).toMatchObject({ extended: false, nlink: 2, size: 5000, mtime: 1700000007, mtimeNsec: 123, uid: 65535, gid: 3, startBlock: 9, ibase: 1280 + 32 });
    expect(i.blocks).toBe(16); // two 4 KiB blocks in 512-byte units
  });

  it('decodes extended inodes: 32-bit ids, signed 64-bit mtime, 64-bit size', () => {
    const i = decodeInode(sb, 3, 96, false, extended({ mode: S_IFREG | 0o600, size: 5n * 2n ** 32n, uid: 4000000000, gid: 70000, mtime: -86400n, nsec: 999999999, nlink: 70000 }));
    expect(i).toMatchObject({ extended: true, inodeSize: 64, size: 5 * 2 ** 32, uid: 4000000000, gid: 70000, mtime: -86400, mtimeNsec: 999999999, nlink: 70000 });
  });

  it('refuses an i_size beyond 2^53 (the kernel refuses negative ones)', () => {
    expect(() => decodeInode(sb, 3, 96, false, extended({ mode: S_IFREG, size: 2n ** 63n, uid: 0, gid: 0, mtime: 0n, nsec: 0, nlink: 1 }))).toThrow(ErofsError);
  });

  it('treats all-ones FLAT_PLAIN start blocks as a hole, under the 32-bit mask for compact inodes', () => {
    expect(decodeInode(sb, 1, 32, false, compact({ mode: S_IFREG, iu: 0xffffffff })).startBlock).toBeNull();
    // FLAT_INLINE keeps the value: it is simply unused when the file is all tail.
    expect(decodeInode(sb, 1, 32, false, compact({ format: DataLayout.FlatInline << 1, mode: S_IFREG, iu: 0xffffffff })).startBlock).toBe(0xffffffff);
  });

  it('uses the 48-bit mask for extended inodes, whose i_nb holds the high bits', () => {
    const hole = decodeInode(sb, 1, 32, false, extended({ mode: S_IFREG, nb: 0xffff, iu: 0xffffffff, size: 1n, uid: 0, gid: 0, mtime: 0n, nsec: 0, nlink: 1 }));
    expect(hole.startBlock).toBeNull();
    const far = decodeInode(sb, 1, 32, false, extended({ mode: S_IFREG, nb: 2, iu: 5, size: 1n, uid: 0, gid: 0, mtime: 0n, nsec: 0, nlink: 1 }));
    expect(far.startBlock).toBe(2 * 2 ** 32 + 5);
  });

  it('reads NLINK_1 compact inodes: nlink 1 and high address bits in i_nb', () => {
    const i = decodeInode(sb, 1, 32, false, compact({ format: 0x10, mode: S_IFREG, nb: 3, iu: 7 }));
    expect(i.nlink).toBe(1);
    expect(i.startBlock).toBe(3 * 2 ** 32 + 7);
  });

  it('reads the same bit on a directory as DOT_OMITTED, keeping nlink', () => {
    const i = decodeInode(sb, 1, 32, false, compact({ format: 0x10, mode: S_IFDIR | 0o755, nb: 5 }));
    expect(i.dotOmitted).toBe(true);
    expect(i.nlink).toBe(5);
  });

  it('decodes device numbers into glibc st_rdev values', () => {
    // major 259, minor 300000 in the kernel's new encoding
    const v = (300000 & 0xff) | (259 << 8) | ((300000 & ~0xff) << 12);
    const i = decodeInode(sb, 1, 32, false, compact({ mode: S_IFCHR | 0o600, iu: v >>> 0 }));
    expect(splitDev(i.rdev)).toEqual({ major: 259, minor: 300000 });
    expect(i.rdev).toBe(makedev(259, 300000));
    expect(decodeRdev((1 << 8) | 3)).toMatchObject({ major: 1, minor: 3, rdev: 259 });
  });

  it('refuses unknown i_format bits and layouts with EOPNOTSUPP, bogus modes with EUCLEAN', () => {
    const code = (b: Uint8Array) => {
      try {
        decodeInode(sb, 1, 32, false, b);
      } catch (e) {
        return (e as ErofsError).code;
      }
      return 'ok';
    };
    expect(code(compact({ format: 0x20, mode: S_IFREG }))).toBe('EOPNOTSUPP');
    expect(code(compact({ format: 5 << 1, mode: S_IFREG }))).toBe('EOPNOTSUPP');
    expect(code(compact({ mode: 0o170000 }))).toBe('EUCLEAN');
    expect(code(compact({ format: DataLayout.ChunkBased << 1, mode: S_IFREG, iu: 0x80 }))).toBe('EOPNOTSUPP');
  });

  it('sizes the xattr area from i_xattr_icount', () => {
    expect(decodeInode(sb, 1, 32, false, compact({ mode: S_IFREG, icount: 0 })).xattrSize).toBe(0);
    const i = decodeInode(sb, 1, 32, false, compact({ mode: S_IFREG, icount: 5 }));
    expect(i.xattrSize).toBe(12 + 16);
    expect(i.ibase).toBe(32 + 32 + 28);
  });
});
