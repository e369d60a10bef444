import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAscii, nameToString, stringToBytes } from './names.js';
import { fcRuns } from '../../../tests/fc-runs.js';

const utf8 = new TextEncoder();

describe('names as strings', () => {
  it('valid UTF-8 names are their text', () => {
    for (const s of ['a', 'héllo', '日本語', 'emoji-😀', 'e\u0301']) {
      expect(nameToString(utf8.encode(s))).toBe(s);
      expect(stringToBytes(s)).toEqual(utf8.encode(s));
    }
  });

  it('each byte of an invalid sequence becomes U+DC00 + byte, and comes back', () => {
    const b = Uint8Array.from([0x6e, 0xff, 0xfe, 0xc3, 0xa9, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8]);
    const s = nameToString(b);
    expect(s).toBe('n\udcff\udcfeé\udcc3(\udced\udca0\udc80\udcf8');
    expect(stringToBytes(s)).toEqual(b);
  });

  it('overlong forms and code points past U+10FFFF are escaped, not decoded', () => {
    expect(nameToString(Uint8Array.from([0xc0, 0xaf]))).toBe('\udcc0\udcaf');
    expect(nameToString(Uint8Array.from([0xe0, 0x80, 0xaf]))).toBe('\udce0\udc80\udcaf');
    expect(nameToString(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe('\udcf4\udc90\udc80\udc80');
  });

  it('a real surrogate pair is not mistaken for escapes', () => {
    const s = '\ud83d\ude00'; // 😀, whose low half is not in DC80..DCFF; and one that is:
    const t = '\udbff\udcff'; // U+10FFFF
    expect(stringToBytes(s)).toEqual(utf8.encode(s));
    expect(stringToBytes(t)).toEqual(utf8.encode(t));
    expect(stringToBytes('a' + t + '\udcff')).toEqual(Uint8Array.from([0x61, ...utf8.encode(t), 0xff]));
  });

  it('every byte string survives the round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (b) => {
        expect(stringToBytes(nameToString(b))).toEqual(b);
      }),
      fcRuns('zenfs names').runs(2000),
    );
  });

  it('isAscii', () => {
    expect(isAscii('/etc/passwd')).toBe(true);
    expect(isAscii('/é')).toBe(false);
  });
});
