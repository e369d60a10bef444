import { describe, expect, it } from 'vitest';
import { DirBlock, fileTypeToDtype, FT } from './dirent.js';
import { ErofsError } from './errors.js';

const enc = new TextEncoder();

/** Builds a directory block the way mkfs does: dirents, then names packed, then zero fill. */
function block(entries: [string | Uint8Array, number, number][], size = 4096): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  let nameoff = entries.length * 12;
  entries.forEach(([name, nid, ft], i) => {
    const n = typeof name === 'string' ? enc.encode(name) : name;
    dv.setUint32(i * 12, nid, true);
    dv.setUint16(i * 12 + 8, nameoff, true);
    dv.setUint8(i * 12 + 10, ft);
    b.set(n, nameoff);
    nameoff += n.length;
  });
  return b;
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    return (e as ErofsError).code;
  }
  return 'ok';
};

describe('DirBlock', () => {
  it('decodes entries, names ending at the next nameoff or the first NUL', () => {
    const b = new DirBlock(block([['.', 36, FT.DIR], ['..', 36, FT.DIR], ['a', 41, FT.REG_FILE]]), 0, 4096, 'dir');
    expect(b.count).toBe(3);
    expect(new TextDecoder().decode(b.name(2))).toBe('a');
    expect(b.entry(1)).toMatchObject({ nid: 36, fileType: FT.DIR, offset: 12, next: 24 });
    // the last entry's d_off is the end of the valid part of the block
    expect(b.entry(2).next).toBe(4096);
  });

  it('ends the last name at maxsize when the block is the short tail of the directory', () => {
    const raw = block([['.', 1, 2], ['xyz', 2, 1]]);
    const tail = new DirBlock(raw, 8192, 24 + 1 + 2, 'dir'); // "xy" only
    expect(new TextDecoder().decode(tail.name(1))).toBe('xy');
    expect(tail.entry(1).next).toBe(8192 + 27);
  });

  it('compares names bytewise, shorter first', () => {
    const b = new DirBlock(block([['ab', 1, 1], ['abc', 2, 1], ['b\xff', 3, 1]]), 0, 4096, 'dir');
    expect(b.compare(enc.encode('ab'), 0)).toBe(0);
    expect(b.compare(enc.encode('a'), 0)).toBeLessThan(0);
    expect(b.compare(enc.encode('abd'), 1)).toBeGreaterThan(0);
    expect(b.compare(new Uint8Array([0x62, 0xc3, 0xbf]), 2)).toBe(0);
  });

  it('accepts names of 255 bytes and refuses 256', () => {
    const ok = new DirBlock(block([['x'.repeat(255), 1, 1]]), 0, 4096, 'dir');
    expect(ok.name(0).length).toBe(255);
    const bad = new DirBlock(block([['x'.repeat(256), 1, 1]]), 0, 4096, 'dir');
    expect(code(() => bad.name(0))).toBe('EUCLEAN');
  });

  it('refuses a first nameoff below 12 or past the block', () => {
    const b = block([['a', 1, 1]]);
    new DataView(b.buffer).setUint16(8, 4, true);
    expect(code(() => new DirBlock(b, 0, 4096, 'dir'))).toBe('EUCLEAN');
    new DataView(b.buffer).setUint16(8, 5000, true);
    expect(code(() => new DirBlock(b, 0, 4096, 'dir'))).toBe('EUCLEAN');
    expect(code(() => new DirBlock(b, 0, 8, 'dir'))).toBe('EUCLEAN');
  });

  it('refuses names overlapping the dirent table, empty names and names past the block', () => {
    const b = block([['a', 1, 1], ['b', 2, 1]]);
    const dv = new DataView(b.buffer);
    dv.setUint16(12 + 8, 12, true); // second name inside the dirents
    expect(code(() => new DirBlock(b, 0, 4096, 'dir').name(0))).toBe('EUCLEAN');
    const c = block([['a', 1, 1], ['b', 2, 1]]);
    new DataView(c.buffer).setUint16(12 + 8, 24, true); // first name empty
    expect(code(() => new DirBlock(c, 0, 4096, 'dir').name(0))).toBe('EUCLEAN');
    const d = block([['a', 1, 1]]);
    expect(code(() => new DirBlock(d, 0, 12, 'dir'))).toBe('EUCLEAN');
  });

  it('names its structure and offset in errors', () => {
    const b = block([['a', 1, 1]]);
    new DataView(b.buffer).setUint16(8, 0, true);
    try {
      new DirBlock(b, 8192, 4096, 'dirent of directory 36');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe('dirent of directory 36 at byte 8192: first nameoff 0 outside 12..4095');
    }
  });

  it('maps file types to DT_* values', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(fileTypeToDtype)).toEqual([0, 8, 4, 2, 6, 1, 12, 10, 0]);
  });
});
