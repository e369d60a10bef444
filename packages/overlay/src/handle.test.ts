import { describe, expect, it } from 'vitest';
import { FILEID_INO64_GEN, decodeOrigin, encodeOrigin, sameUuid } from './handle.js';

const uuid = Uint8Array.from([0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2]);

describe('origin handles', () => {
  it("are the kernel's bytes: the handle Linux 6.18 wrote for NID 48 of a layer with this UUID", () => {
    // trusted.overlay.origin of /etc in fixtures/oracle/overlay.jsonl (upper_manifest).
    const kernel = Buffer.from('APshAIEAAAAAAABAAIAAAAAAAAACAAAAADAAAAAAAAAA', 'base64');
    expect(Buffer.from(encodeOrigin(uuid, 48))).toEqual(kernel);
    expect(decodeOrigin(new Uint8Array(kernel))).toEqual({ uuid, ino: 48 });
  });

  it('carry NIDs past 2^32 as two halves, high first', () => {
    const h = encodeOrigin(uuid, 2 ** 40 + 7);
    expect(h[4]).toBe(FILEID_INO64_GEN);
    expect(Array.from(h.subarray(21, 29))).toEqual([0, 1, 0, 0, 7, 0, 0, 0]);
    expect(decodeOrigin(h)!.ino).toBe(2 ** 40 + 7);
  });

  it('read as "origin unknown" whatever Linux would not decode', () => {
    const good = encodeOrigin(uuid, 5);
    const bad = (f: (h: Uint8Array) => void) => {
      const h = good.slice();
      f(h);
      return decodeOrigin(h);
    };
    expect(decodeOrigin(new Uint8Array(0))).toBeNull();
    expect(decodeOrigin(good.subarray(0, 20))).toBeNull();
    expect(bad((h) => (h[1] = 0xfa))).toBeNull(); // magic
    expect(bad((h) => (h[0] = 1))).toBeNull(); // a newer version
    expect(bad((h) => (h[3] = 1))).toBeNull(); // big-endian
    expect(bad((h) => (h[3] = 8))).toBeNull(); // unknown flag
    expect(bad((h) => (h[4] = 1))).toBeNull(); // another handle type
    expect(bad((h) => (h[2] = 40))).toBeNull(); // longer than the value
    expect(bad((h) => (h[3] = 2))).toEqual({ uuid, ino: 5 }); // any endian
  });

  it('refuse to encode what no handle names', () => {
    expect(() => encodeOrigin(new Uint8Array(8), 1)).toThrow(RangeError);
    expect(() => encodeOrigin(uuid, -1)).toThrow(RangeError);
    expect(sameUuid(uuid, uuid.slice())).toBe(true);
    expect(sameUuid(uuid, new Uint8Array(16))).toBe(false);
  });
});
