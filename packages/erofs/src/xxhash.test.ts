import { describe, expect, it } from 'vitest';
import { xxh32 } from './xxhash.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('xxh32', () => {
  it('matches published test vectors', () => {
    expect(xxh32(new Uint8Array(0), 0)).toBe(0x02cc5d05);
    expect(xxh32(ascii('abc'), 0)).toBe(0x32d153ff);
    expect(xxh32(ascii('Nobody inspects the spammish repetition'), 0)).toBe(0xe2293b2f);
  });

  it('depends on the seed', () => {
    expect(xxh32(ascii('comment'), 0x25bbe08f + 1)).not.toBe(xxh32(ascii('comment'), 0x25bbe08f + 4));
  });
});
