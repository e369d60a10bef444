import { describe, expect, it } from 'vitest';
import { device, dir, file } from '@erofs-js/mkfs';
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_WRONLY, ROOT, SEEK_CUR, SEEK_END, SEEK_SET, parseDirents, type OpenFile } from '@erofs-js/vfs';
import { mergeListing } from './readdir.js';
import { at, b, code, list, overlay } from './testutil.js';

const lower = dir({ a: file('a'), b: file('b'), c: file('c'), sub: dir({}) });
const upperLayer = dir({ d: file('d'), b: device('chardev', 0, 0), a: file('A') });

function dents(f: OpenFile, size = 4096): [string, number, number][] {
  const buf = new Uint8Array(size);
  const n = f.getdents64(buf);
  return parseDirents(buf, n).map((d) => [new TextDecoder().decode(d.name), d.off, d.type]);
}

describe('merged listings', () => {
  it("put the lowest layer's names first in its order, then the names upper layers added, whiteouts taking a place", () => {
    const ov = overlay([lower, upperLayer]);
    const entries = mergeListing([
      { fs: ov.layers[0].fs, dir: ov.layers[0].fs.root, isUpper: false, xwhiteouts: false },
      { fs: ov.layers[1].fs, dir: ov.layers[1].fs.root, isUpper: false, xwhiteouts: false },
    ]);
    expect(entries.map((e) => (e.whiteout ? `-${e.key}` : e.key))).toEqual(['.', '..', 'a', '-b', 'c', 'sub', 'd']);
    expect(list(ov, ov.root)).toEqual(['a', 'c', 'sub', 'd']);
  });

  it("give d_off as the next call's position: skipped whiteouts and the end included", () => {
    const ov = overlay([lower, upperLayer]);
    const f = ov.open(ov.root, O_RDONLY | O_DIRECTORY, ROOT);
    expect(dents(f)).toEqual([
      ['.', 1, 4],
      ['..', 2, 4],
      ['a', 4, 8],
      ['c', 5, 8],
      ['sub', 6, 4],
      ['d', 7, 8],
    ]);
    expect(f.getdents64(new Uint8Array(4096))).toBe(0);
    expect(f.lseek(3, SEEK_SET)).toBe(3);
    expect(dents(f).map((e) => e[0])).toEqual(['c', 'sub', 'd']);
    expect(f.lseek(-2, SEEK_CUR)).toBe(5);
    expect(code(() => f.lseek(0, SEEK_END))).toBe('EINVAL');
    expect(code(() => f.lseek(-9, SEEK_CUR))).toBe('EINVAL');
    expect(f.lseek(0, SEEK_SET)).toBe(0);
    expect(code(() => f.getdents64(new Uint8Array(16)))).toBe('EINVAL');
    expect(dents(f, 48).map((e) => e.slice(0, 2))).toEqual([
      ['.', 1],
      ['..', 2],
    ]);
    f.close();
  });

  it('go on over the list a listing began with until a rewind finds the directory changed', () => {
    const ov = overlay([lower]);
    ov.mkdir(ov.root, b('x'), 0o755, ROOT);
    const f = ov.open(ov.root, O_RDONLY | O_DIRECTORY, ROOT);
    expect(dents(f, 72).map((e) => e[0])).toEqual(['.', '..', 'a']);
    ov.unlink(ov.root, b('b'), ROOT);
    ov.create(ov.root, b('new'), 0o644, ROOT).decRef();
    expect(dents(f).map((e) => e[0])).toEqual(['b', 'c', 'sub', 'x']);
    const g = ov.open(ov.root, O_RDONLY | O_DIRECTORY, ROOT);
    expect(dents(g).map((e) => e[0])).toEqual(['.', '..', 'a', 'c', 'sub', 'new', 'x']);
    f.lseek(0, SEEK_SET);
    expect(dents(f).map((e) => e[0])).toEqual(['.', '..', 'a', 'c', 'sub', 'new', 'x']);
    f.close();
    g.close();
  });

  it('read a directory of one layer that holds no whiteouts through that layer (its positions), merged once copied up', () => {
    const ov = overlay([dir({ only: dir({ f1: file('1'), f2: file('2') }) })]);
    at(ov, 'only', (n) => {
      const f = ov.open(n, O_RDONLY | O_DIRECTORY, ROOT);
      const real = dents(f, 48);
      expect(real.map((e) => e[0])).toEqual(['.', '..']);
      expect(real[1][1]).toBeGreaterThan(2); // an EROFS byte position
      ov.create(n, b('f3'), 0o644, ROOT).decRef();
      expect(dents(f).map((e) => e[0])).toEqual(['f1', 'f2']);
      f.lseek(0, SEEK_SET);
      expect(dents(f)).toEqual([
        ['.', 1, 4],
        ['..', 2, 4],
        ['f1', 3, 8],
        ['f2', 4, 8],
        ['f3', 5, 8],
      ]);
      f.close();
    });
  });

  it('list a pure upper directory through the tmpfs', () => {
    const ov = overlay([lower]);
    ov.mkdir(ov.root, b('up'), 0o755, ROOT);
    at(ov, 'up', (n) => {
      const h = ov.create(n, b('one'), 0o644, ROOT);
      h.decRef();
      const f = ov.open(n, O_RDONLY | O_DIRECTORY, ROOT);
      expect(dents(f)).toEqual([
        ['.', 1, 4],
        ['..', 3, 4],
        ['one', 0x7fffffff, 8],
      ]);
      f.close();
      expect(code(() => ov.open(n, O_WRONLY | O_CREAT, ROOT))).toBe('EISDIR');
    });
  });
});
