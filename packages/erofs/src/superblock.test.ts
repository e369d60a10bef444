import { describe, expect, it } from 'vitest';
import { fixtureBytes } from '../../../tests/fixtures.js';
import { ErofsError } from './errors.js';
import { MemorySource, type ByteSource } from './source.js';
import { COMPAT, INCOMPAT, featureNames, readSuperblock, superblockChecksum } from './superblock.js';

const SB = 1024;

function withChecksum(bytes: Uint8Array): Uint8Array {
  const src = new MemorySource(bytes);
  const bs = 1 << bytes[SB + 0x0c];
  new DataView(bytes.buffer).setUint32(SB + 4, superblockChecksum(src, bs), true);
  return bytes;
}

function errorOf(fn: () => unknown): ErofsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    return e as ErofsError;
  }
  throw new Error('expected an ErofsError');
}

/**
 * A source whose views are Node Buffers inside a larger allocation (odd byteOffset, foreign
 * bytes on both sides), as a caller's own ByteSource may return: a Buffer's slice() is a
 * view, and its `.buffer` starts elsewhere.
 */
function bufferSource(bytes: Uint8Array): ByteSource & { buf: Buffer } {
  const pad = Buffer.alloc(7, 0xa5);
  const buf = Buffer.concat([pad, bytes, pad]).subarray(pad.length, pad.length + bytes.length);
  return {
    buf,
    size: buf.length,
    readInto: (dest, at, off, n) => dest.set(buf.subarray(off, off + n), at),
    view: (off, n) => buf.subarray(off, off + n),
  };
}

describe('readSuperblock', () => {
  it('decodes a mkfs.erofs 1.8 image (values cross-checked with the fixture build: -T1700000000, fixed uuid)', () => {
    const sb = readSuperblock(new MemorySource(fixtureBytes('basic-18.erofs')));
    expect(sb.blockSize).toBe(4096);
    expect(sb.featureCompat & COMPAT.SB_CHKSUM).toBeTruthy();
    expect(featureNames(sb)).toContain('sb_csum');
    expect(Buffer.from(sb.uuid).toString('hex')).toBe('e0f5e1e2000040008000 0000000e20f5'.replace(' ', ''));
    expect(sb.epoch).toBe(1700000000);
    expect(sb.rootNid).toBeGreaterThan(0);
    expect(sb.inos).toBeGreaterThan(2500);
  });

  it('reads the label', () => {
    expect(readSuperblock(new MemorySource(fixtureBytes('rootfs-19-label.erofs'))).volumeName).toBe('erofs-js-demo');
  });

  it('reads 512-byte and 1 KiB block sizes', () => {
    expect(readSuperblock(new MemorySource(fixtureBytes('basic-18-b512.erofs'))).blockSize).toBe(512);
    expect(readSuperblock(new MemorySource(fixtureBytes('basic-19-b1024.erofs'))).blockSize).toBe(1024);
  });

  it('reads the 48-bit layout flag and root nid', () => {
    const sb = readSuperblock(new MemorySource(fixtureBytes('basic-19-48bit.erofs')));
    expect(sb.featureIncompat & INCOMPAT.BIT48).toBeTruthy();
    expect(featureNames(sb)).toContain('48bit');
  });

  it('reads the device table of a --blobdev image', () => {
    const sb = readSuperblock(new MemorySource(fixtureBytes('basic-18-blobdev.erofs')));
    expect(sb.extraDevices).toBe(1);
    expect(sb.devices).toHaveLength(1);
    expect(sb.devices[0].blocks * sb.blockSize).toBe(fixtureBytes('basic-18-blobdev.blob').length);
  });

  it('reads a Node Buffer (views into a pool) without writing to it: the checksum verifies on every open', () => {
    for (const name of ['basic-18.erofs', 'basic-19-b1024.erofs', 'basic-18-blobdev.erofs']) {
      const src = bufferSource(fixtureBytes(name));
      const before = Buffer.from(src.buf);
      const expected = readSuperblock(new MemorySource(fixtureBytes(name)));
      for (let round = 0; round < 3; round++) {
        const sb = readSuperblock(src);
        expect(sb.featureCompat & COMPAT.SB_CHKSUM, name).toBeTruthy();
        expect(sb, name).toEqual(expected);
        // A Buffer given to MemorySource directly, as openNodeFs({ bytes }) and ZenFS { data } do.
        expect(readSuperblock(new MemorySource(src.buf)), name).toEqual(expected);
      }
      expect(src.buf.equals(before), name).toBe(true);
    }
  });

  it('superblockChecksum equals the CRC of the block with the checksum field zeroed, and writes nothing', () => {
    const b = fixtureBytes('basic-18.erofs');
    const stored = new DataView(b.buffer).getUint32(SB + 4, true);
    const src = bufferSource(b);
    expect(superblockChecksum(src, 4096)).toBe(stored);
    expect(src.buf.readUInt32LE(SB + 4)).toBe(stored);
  });

  it('returns the uuid and device tags as plain copies, not views of the source', () => {
    const src = bufferSource(fixtureBytes('basic-18-blobdev.erofs'));
    const sb = readSuperblock(src);
    const uuid = Buffer.from(sb.uuid).toString('hex');
    const tag = Buffer.from(sb.devices[0].tag).toString('hex');
    expect(sb.uuid.constructor).toBe(Uint8Array);
    expect(sb.devices[0].tag.constructor).toBe(Uint8Array);
    src.buf.fill(0x5a, SB + 0x30, SB + 0x40);
    src.buf.fill(0x5a, sb.devtSlotoff * 128, sb.devtSlotoff * 128 + 64);
    expect(Buffer.from(sb.uuid).toString('hex')).toBe(uuid);
    expect(Buffer.from(sb.devices[0].tag).toString('hex')).toBe(tag);
  });

  it('refuses a wrong magic with EINVAL', () => {
    const b = fixtureBytes('basic-18.erofs');
    b[SB] ^= 0xff;
    const e = errorOf(() => readSuperblock(new MemorySource(b)));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/bad magic/);
    expect(e.offset).toBe(1024);
  });

  it('refuses a checksum mismatch with EUCLEAN, unless told not to verify', () => {
    const b = fixtureBytes('basic-18.erofs');
    b[SB + 0x40] ^= 1; // a byte of the label, covered by the checksum
    const e = errorOf(() => readSuperblock(new MemorySource(b)));
    expect(e.code).toBe('EUCLEAN');
    expect(e.message).toMatch(/checksum mismatch/);
    expect(() => readSuperblock(new MemorySource(b), { verifyChecksum: false })).not.toThrow();
  });

  it('refuses unknown incompatible feature bits with EOPNOTSUPP naming the bit', () => {
    const b = fixtureBytes('basic-18.erofs');
    const dv = new DataView(b.buffer);
    dv.setUint32(SB + 0x50, dv.getUint32(SB + 0x50, true) | 0x400, true);
    const e = errorOf(() => readSuperblock(new MemorySource(withChecksum(b))));
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.message).toMatch(/0x400/);
  });

  it('refuses block sizes outside 512 B..64 KiB', () => {
    for (const [bits, code] of [[8, 'EUCLEAN'], [17, 'EOPNOTSUPP']] as const) {
      const b = fixtureBytes('basic-18.erofs');
      b[SB + 0x0c] = bits;
      expect(errorOf(() => readSuperblock(new MemorySource(b), { verifyChecksum: false })).code).toBe(code);
    }
  });

  it('refuses a non-zero dirblkbits', () => {
    const b = fixtureBytes('basic-18.erofs');
    b[SB + 0x5a] = 1;
    expect(errorOf(() => readSuperblock(new MemorySource(withChecksum(b)))).code).toBe('EOPNOTSUPP');
  });

  it('refuses images too small to hold a superblock', () => {
    for (const n of [0, 100, 1024, 1100]) {
      expect(errorOf(() => readSuperblock(new MemorySource(new Uint8Array(n)))).code).toBe('EINVAL');
    }
  });

  it('checks the metabox extension slot', () => {
    const b = fixtureBytes('basic-18.erofs');
    const dv = new DataView(b.buffer);
    dv.setUint32(SB + 0x50, dv.getUint32(SB + 0x50, true) | INCOMPAT.METABOX, true);
    b[SB + 0x0d] = 0; // no extension slot
    const e = errorOf(() => readSuperblock(new MemorySource(withChecksum(b))));
    expect(e.code).toBe('EUCLEAN');
    expect(e.message).toMatch(/metabox/);
  });
});
