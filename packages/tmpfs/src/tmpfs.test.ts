import { describe, expect, it } from 'vitest';
import { Tmpfs } from './tmpfs.js';
import { b, readFile, writeFile, at, parentOf, ROOT } from './testutil.js';
describe('smoke', () => {
  it('works', () => {
    const fs = new Tmpfs();
    fs.mkdir(fs.root, b('d'), 0o755, ROOT);
    writeFile(fs, 'd/f', 'hello');
    expect(new TextDecoder().decode(readFile(fs, 'd/f'))).toBe('hello');
    at(fs, 'd', (d) => fs.rename(d, b('f'), fs.root, b('g'), 0, ROOT));
    expect(new TextDecoder().decode(readFile(fs, 'g'))).toBe('hello');
    const snap = fs.snapshot();
    const fs2 = Tmpfs.restore(snap);
    expect(new TextDecoder().decode(readFile(fs2, 'g'))).toBe('hello');
    parentOf(fs, 'g', (d, n) => fs.unlink(d, n, ROOT));
    expect(fs.stats()).toMatchObject({ inodes: 2, pages: 0 });
    fs.release();
  });
});
