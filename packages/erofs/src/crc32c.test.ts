import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the standard CRC-32C check value once the final inversion is applied', () => {
    // CRC-32C("123456789") = 0xE3069283 in the usual (inverted) convention.
    expect((crc32c(0xffffffff, ascii('123456789')) ^ 0xffffffff) >>> 0).toBe(0xe3069283);
  });

  it('gives the seed the kernel starts from after the magic and a zeroed checksum', () => {
    // The kernel skips those 8 bytes and starts from 0x5045B54A: the same register value.
    expect(crc32c(0xffffffff, new Uint8Array([0xe2, 0xe1, 0xf5, 0xe0, 0, 0, 0, 0]))).toBe(0x5045b54a);
  });

  it('is the same whether the input is fed whole or in pieces of any length', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 131 + 7) & 0xff);
    const whole = crc32c(0xffffffff, data);
    for (const cut of [1, 7, 8, 9, 500, 999]) {
      expect(crc32c(crc32c(0xffffffff, data.subarray(0, cut)), data.subarray(cut))).toBe(whole);
    }
  });
});
