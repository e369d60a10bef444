import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from './node.js';
import { CountingSource, MemorySource } from './source.js';
import { ErofsError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'erofs-src-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
const file = join(dir, 'img');
writeFileSync(file, data);

describe('MemorySource', () => {
  it('returns zero-copy views and copies on readInto', () => {
    const s = new MemorySource(data);
    const v = s.view(10, 5);
    expect(v.buffer).toBe(data.buffer);
    const d = new Uint8Array(8);
    s.readInto(d, 2, 10, 5);
    expect([...d.subarray(2, 7)]).toEqual([...data.subarray(10, 15)]);
  });

  it('takes a Node Buffer as a plain Uint8Array over the same memory: views are plain, their slice() copies', () => {
    const pool = Buffer.alloc(64, 7);
    const buf = pool.subarray(5, 37);
    buf[0] = 1;
    const s = new MemorySource(buf);
    expect(s.bytes.constructor).toBe(Uint8Array);
    expect([s.bytes.buffer === buf.buffer, s.bytes.byteOffset, s.size]).toEqual([true, 5, 32]);
    const v = s.view(0, 4);
    expect(v.constructor).toBe(Uint8Array);
    expect(v[0]).toBe(1);
    v.slice()[0] = 9;
    expect(buf[0]).toBe(1);
  });

  it('throws EIO past the end', () => {
    const s = new MemorySource(data);
    expect(() => s.view(data.length - 2, 3)).toThrow(ErofsError);
    expect(() => s.view(-1, 1)).toThrow(ErofsError);
  });
});

describe('FileSource', () => {
  it('agrees with the file contents on random reads across cache blocks, with a small cache', () => {
    const s = new FileSource(file, { blockSize: 4096, cacheBlocks: 3 });
    const m = new MemorySource(data);
    let x = 12345;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 2000; i++) {
      const len = rnd(3) === 0 ? rnd(20000) : rnd(100);
      const off = rnd(data.length - len);
      expect(Buffer.compare(s.view(off, len), m.view(off, len))).toBe(0);
      const d = new Uint8Array(len);
      s.readInto(d, 0, off, len);
      expect(Buffer.compare(d, m.view(off, len))).toBe(0);
    }
    s.close();
  });

  it('serves repeated small reads from its cache', () => {
    const s = new FileSource(file, { blockSize: 65536, cacheBlocks: 4 });
    for (let i = 0; i < 1000; i++) s.view(i * 32, 32);
    expect(s.reads).toBe(1);
    s.close();
  });

  it('keeps LRU order with repeated views of the newest block, down to a one-block cache', () => {
    for (const cacheBlocks of [1, 2]) {
      const s = new FileSource(file, { blockSize: 4096, cacheBlocks });
      const m = new MemorySource(data);
      // a a b a c b: with 2 blocks, "a" is evicted by "c" only if the repeat of "a" did not renew it.
      const offs = [0, 100, 4096, 200, 8192, 4100];
      for (const o of offs) expect(Buffer.compare(s.view(o, 16), m.view(o, 16))).toBe(0);
      expect(s.reads).toBe(cacheBlocks === 1 ? 5 : 4);
      s.view(300, 16); // a: evicted by then in both sizes (by b with one block, by b again with two)
      expect(s.reads).toBe(cacheBlocks === 1 ? 6 : 5);
      s.close();
      expect(() => s.view(0, 1)).toThrowError(expect.objectContaining({ code: 'EIO' }));
    }
  });

  it('reports a missing file and reads past the end as EIO', () => {
    expect(() => new FileSource(join(dir, 'missing'))).toThrowError(expect.objectContaining({ code: 'EIO' }));
    const s = new FileSource(file);
    expect(() => s.view(data.length, 1)).toThrowError(expect.objectContaining({ code: 'EIO' }));
    s.close();
  });
});

describe('CountingSource', () => {
  it('counts reads and stops at its cap', () => {
    const c = new CountingSource(new MemorySource(data), 3);
    c.view(0, 1);
    c.readInto(new Uint8Array(4), 0, 0, 4);
    c.view(0, 1);
    expect(c.reads).toBe(3);
    expect(c.bytesRead).toBe(6);
    expect(() => c.view(0, 1)).toThrow(/more than 3 reads/);
  });
});
