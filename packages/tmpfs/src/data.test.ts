/**
 * FileData: the sparse pages of a regular file. Expected answers follow a kernel tmpfs
 * (Linux 6.18, observed with python3's os module on `mount -t tmpfs -o size=1m`):
 * - write 10 bytes at 0, ftruncate to 10000: SEEK_HOLE(0) = 4096, st_blocks 8;
 *   SEEK_DATA(5000) and SEEK_DATA(10000) ENXIO.
 * - fallocate(0, 8192, 4096) on an empty file: size 12288, 8 blocks, SEEK_DATA(0) ENXIO,
 *   SEEK_HOLE(0) = 0 (fallocated pages are holes to SEEK_DATA until written).
 * - a write of 2 MiB into 253 free pages writes 1036288 bytes; the next write ENOSPC.
 */
import { describe, expect, it } from 'vitest';
import { FileData, PAGE_SIZE, type PageBudget } from './data.js';
import { expectErrno } from './testutil.js';

function budget(max: number): PageBudget & { used: number } {
  const b = {
    used: 0,
    reserve(n: number) {
      if (b.used + n > max) return false;
      b.used += n;
      return true;
    },
    release(n: number) {
      b.used -= n;
    },
  };
  return b;
}

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('FileData', () => {
  it('reads holes as zeros and costs nothing for them', () => {
    const bg = budget(100);
    const d = new FileData(bg);
    d.write(3 * PAGE_SIZE + 10, fill(5, 7), 0, 5);
    expect(d.size).toBe(3 * PAGE_SIZE + 15);
    expect(bg.used).toBe(1);
    const out = fill(d.size, 0xff);
    expect(d.read(0, out, 0, out.length)).toBe(d.size);
    expect(out.subarray(0, 3 * PAGE_SIZE + 10).every((x) => x === 0)).toBe(true);
    expect([...out.subarray(3 * PAGE_SIZE + 10)]).toEqual([7, 7, 7, 7, 7]);
    expect(d.read(d.size, out, 0, 10)).toBe(0);
  });

  it('writes across page boundaries and reads back exactly', () => {
    const d = new FileData(budget(100));
    const src = new Uint8Array(3 * PAGE_SIZE + 123).map((_, i) => (i * 31) & 0xff);
    expect(d.write(PAGE_SIZE - 7, src, 0, src.length)).toBe(src.length);
    const out = new Uint8Array(src.length);
    d.read(PAGE_SIZE - 7, out, 0, out.length);
    expect(out).toEqual(src);
    expect(d.pageCount).toBe(5);
  });

  it('stops short at the budget (Linux: 1036288 of 2 MiB into 253 free pages), then ENOSPC', () => {
    const bg = budget(253);
    const d = new FileData(bg);
    expect(d.write(0, fill(2 << 20, 1), 0, 2 << 20)).toBe(1036288);
    expect(d.size).toBe(1036288);
    expectErrno(() => d.write(d.size, fill(10, 2), 0, 10), 'ENOSPC');
    // Writes into pages it has still work.
    expect(d.write(5, fill(10, 3), 0, 10)).toBe(10);
    expect(d.size).toBe(1036288);
  });

  it('truncate frees pages past the end and zeroes the tail of the last one', () => {
    const bg = budget(100);
    const d = new FileData(bg);
    d.write(0, fill(3 * PAGE_SIZE, 9), 0, 3 * PAGE_SIZE);
    d.truncate(PAGE_SIZE + 100);
    expect(bg.used).toBe(2);
    d.truncate(3 * PAGE_SIZE);
    expect(bg.used).toBe(2);
    const out = new Uint8Array(3 * PAGE_SIZE);
    d.read(0, out, 0, out.length);
    expect(out.subarray(0, PAGE_SIZE + 100).every((x) => x === 9)).toBe(true);
    expect(out.subarray(PAGE_SIZE + 100).every((x) => x === 0)).toBe(true);
    d.truncate(0);
    expect(bg.used).toBe(0);
  });

  it('SEEK_DATA / SEEK_HOLE are page-granular (observed: 10 bytes then ftruncate 10000 -> hole at 4096)', () => {
    const d = new FileData(budget(100));
    d.write(0, fill(10, 1), 0, 10);
    expect(d.seekHole(0)).toBe(10);
    d.truncate(10000);
    expect(d.seekHole(0)).toBe(4096);
    expect(d.seekData(0)).toBe(0);
    expect(d.seekData(5)).toBe(5);
    expectErrno(() => d.seekData(5000), 'ENXIO');
    expectErrno(() => d.seekData(10000), 'ENXIO');
    expectErrno(() => d.seekHole(10000), 'ENXIO');
    d.write(8192, fill(1, 1), 0, 1);
    expect(d.seekData(5000)).toBe(8192);
    expect(d.seekHole(8192)).toBe(10000);
  });

  it('fallocate reserves pages that are holes to SEEK_DATA (observed), all or nothing', () => {
    const bg = budget(4);
    const d = new FileData(bg);
    d.allocate(8192, 4096, false);
    expect(d.size).toBe(12288);
    expect(d.pageCount).toBe(1);
    expectErrno(() => d.seekData(0), 'ENXIO');
    expect(d.seekHole(0)).toBe(0);
    expect(d.seekHole(8192)).toBe(8192);
    d.allocate(40960, 4096, true);
    expect(d.size).toBe(12288);
    expect(bg.used).toBe(2);
    expectErrno(() => d.allocate(0, 10 * PAGE_SIZE, false), 'ENOSPC');
    expect(bg.used).toBe(2);
    expect(d.size).toBe(12288);
    // Writing into a fallocated page uses it (no new page) and makes it data.
    d.write(8200, fill(4, 5), 0, 4);
    expect(bg.used).toBe(2);
    expect(d.seekData(0)).toBe(8192);
  });

  it('punch zeroes partial pages and frees whole ones', () => {
    const bg = budget(100);
    const d = new FileData(bg);
    d.write(0, fill(4 * PAGE_SIZE, 6), 0, 4 * PAGE_SIZE);
    d.punch(100, 2 * PAGE_SIZE);
    expect(bg.used).toBe(3); // page 1 freed; pages 0 and 2 zeroed in part
    const out = new Uint8Array(4 * PAGE_SIZE);
    d.read(0, out, 0, out.length);
    expect(out.subarray(0, 100).every((x) => x === 6)).toBe(true);
    expect(out.subarray(100, 100 + 2 * PAGE_SIZE).every((x) => x === 0)).toBe(true);
    expect(out.subarray(100 + 2 * PAGE_SIZE).every((x) => x === 6)).toBe(true);
    d.punch(10, 20); // inside one page
    d.read(0, out, 0, 40);
    expect([...out.subarray(0, 40)]).toEqual([...fill(10, 6), ...fill(20, 0), ...fill(10, 6)]);
    expect(d.size).toBe(4 * PAGE_SIZE);
    d.clear();
    expect(bg.used).toBe(0);
  });
});
