import { describe, expect, it } from 'vitest';
import { DataLayout, Image, MemorySource } from '@erofs-js/erofs';
import { deviceSources, fixtureBytes, openFixture } from '../../../tests/fixtures.js';
import { ROOT } from './credentials.js';
import { SysError } from './errno.js';
import { O_DIRECTORY, O_PATH, O_RDONLY } from './file.js';
import { Filesystem } from './filesystem.js';
import {
  MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, PageCache, SIGBUS_MESSAGE,
  checkMmap, faultPage, isSigbus, mapPages, pageCache,
} from './mmap.js';
import { openPath } from './resolve.js';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

function contentPages(fs: Filesystem, path: string): Uint8Array {
  const f = openPath(fs, path, O_RDONLY, ROOT);
  const size = f.inode.size;
  const out = new Uint8Array(Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);
  f.pread(out, 0, 0, size);
  f.close();
  return out;
}

describe('mmap errors', () => {
  const fs = new Filesystem(openFixture('basic-18.erofs'));
  const f = openPath(fs, '/files/size-8192', O_RDONLY, ROOT);

  it('answers like Linux for a read-only file', () => {
    expect(code(() => f.mmap(0, 8192, PROT_READ, MAP_PRIVATE))).toBe('OK');
    expect(code(() => f.mmap(0, 8192, PROT_READ | PROT_EXEC, MAP_SHARED))).toBe('OK');
    expect(code(() => f.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE))).toBe('OK');
    expect(code(() => f.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EACCES');
    expect(code(() => f.mmap(0, 8192, PROT_WRITE, MAP_SHARED_VALIDATE))).toBe('EACCES');
    expect(code(() => f.mmap(100, 4096, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    expect(code(() => f.mmap(-4096, 4096, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    expect(code(() => f.mmap(0, 0, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    expect(code(() => f.mmap(0, -1, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    expect(code(() => f.mmap(0, 4096, PROT_READ, 0))).toBe('EINVAL');
    expect(code(() => f.mmap(0, 4096, PROT_READ, 0x0f))).toBe('EINVAL');
  });

  it('ENODEV for a directory, EBADF for O_PATH and closed descriptions', () => {
    const d = openPath(fs, '/files', O_RDONLY | O_DIRECTORY, ROOT);
    expect(code(() => d.mmap(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('ENODEV');
    expect(code(() => faultPage(d, 0))).toBe('ENODEV');
    // Write access to a shared mapping is refused first, as Linux checks f_mode before f_op->mmap.
    expect(code(() => d.mmap(0, 4096, PROT_WRITE, MAP_SHARED))).toBe('EACCES');
    d.close();
    const p = openPath(fs, '/files/size-8192', O_PATH, ROOT);
    expect(code(() => p.mmap(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('EBADF');
    // The unaligned offset is checked before the descriptor (as in the syscall entry).
    expect(code(() => p.mmap(1, 4096, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    p.close();
    const c = openPath(fs, '/files/size-8192', O_RDONLY, ROOT);
    c.close();
    expect(code(() => c.mmap(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('EBADF');
    expect(code(() => faultPage(c, 0))).toBe('EBADF');
  });

  it('zero-fills the partial last page and reports pages past EOF as SIGBUS (EFAULT)', () => {
    const g = openPath(fs, '/files/size-4097', O_RDONLY, ROOT);
    const [a, b] = g.mmap(0, 8192, PROT_READ, MAP_PRIVATE);
    expect(a.length).toBe(PAGE_SIZE);
    expect(b.length).toBe(PAGE_SIZE);
    expect(same(a.subarray(0, 4096), contentPages(fs, '/files/size-4097').subarray(0, 4096))).toBe(true);
    expect(b.subarray(1).every((x) => x === 0)).toBe(true);
    // Mapping past EOF is allowed (checkMmap); touching the page there is the SIGBUS condition.
    expect(code(() => checkMmap(g, 0, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE))).toBe('OK');
    let err: unknown;
    try {
      g.mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe('EFAULT');
    expect((err as SysError).errno).toBe(14);
    expect((err as SysError).message).toContain(SIGBUS_MESSAGE);
    expect(isSigbus(err)).toBe(true);
    expect(isSigbus(new SysError('EFAULT', 'bad address'))).toBe(false);
    expect(code(() => faultPage(g, 8192))).toBe('EFAULT');
    const empty = openPath(fs, '/files/empty', O_RDONLY, ROOT);
    expect(code(() => empty.mmap(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('EFAULT');
    // A length that is not a page multiple covers the page it ends in.
    expect(g.mmap(4096, 1, PROT_READ, MAP_PRIVATE)).toHaveLength(1);
    g.close();
    empty.close();
  });
});

describe('mmap sharing', () => {
  it('flat-plain pages are views of the image bytes; a byte written there shows through', () => {
    const image = openFixture('basic-18-noinline.erofs');
    const bytes = (image.source as MemorySource).bytes;
    const fs = new Filesystem(image);
    const f = openPath(fs, '/files/size-8192', O_RDONLY, ROOT);
    expect(f.inode.raw.layout).toBe(DataLayout.FlatPlain);
    const pages = f.mmap(0, 8192, PROT_READ, MAP_PRIVATE);
    for (const p of pages) expect(p.buffer).toBe(bytes.buffer);
    const at = pages[1].byteOffset + 10;
    const old = bytes[at];
    bytes[at] = old ^ 0xff;
    expect(pages[1][10]).toBe(old ^ 0xff);
    bytes[at] = old;
    expect(pageCache(fs).stats().pages).toBe(0);
  });

  it('chunk-based pages are views too, on the image and on an extra device', () => {
    for (const name of ['basic-18-chunk.erofs', 'basic-18-blobdev.erofs']) {
      const devices = deviceSources(name);
      const image = new Image(new MemorySource(fixtureBytes(name)), { devices });
      // Chunk data lives in the image, or in the blob device for basic-18-blobdev.
      const holder = (devices[0] ?? image.source as MemorySource).bytes;
      const fs = new Filesystem(image);
      const path = '/files/size-16384';
      const f = openPath(fs, path, O_RDONLY, ROOT);
      expect(f.inode.raw.layout).toBe(DataLayout.ChunkBased);
      const pages = f.mmap(0, 16384, PROT_READ, MAP_PRIVATE);
      const ref = contentPages(fs, path);
      pages.forEach((p, i) => {
        expect(p.buffer).toBe(holder.buffer);
        expect(same(p, ref.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE))).toBe(true);
        const at = p.byteOffset + 7;
        const old = holder[at];
        holder[at] = old ^ 0x55;
        expect(p[7]).toBe(old ^ 0x55);
        holder[at] = old;
      });
      expect(pageCache(fs).stats().pages).toBe(0);
      f.close();
    }
  });

  it('inline tails, holes and compressed data are copies from the page cache', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const bytes = (fs.image.source as MemorySource).bytes;
    const tail = openPath(fs, '/files/size-102407', O_RDONLY, ROOT);
    expect(tail.inode.raw.layout).toBe(DataLayout.FlatInline);
    const pages = tail.mmap(0, 102407, PROT_READ, MAP_PRIVATE);
    expect(pages).toHaveLength(26);
    expect(pages[0].buffer).toBe(bytes.buffer);
    expect(pages[25].buffer).not.toBe(bytes.buffer);
    expect(same(pages[25], contentPages(fs, '/files/size-102407').subarray(25 * PAGE_SIZE))).toBe(true);
    // A second fault of the same page is a cache hit: the same buffer.
    expect(faultPage(tail, 25 * PAGE_SIZE)).toBe(pages[25]);

    const zfs = new Filesystem(openFixture('z-lz4hc-18.erofs'));
    const zbytes = (zfs.image.source as MemorySource).bytes;
    const z = openPath(zfs, '/big/log-192k', O_RDONLY, ROOT);
    expect(z.inode.isCompressed).toBe(true);
    const zp = z.mmap(0, z.inode.size, PROT_READ, MAP_PRIVATE);
    const zref = contentPages(zfs, '/big/log-192k');
    zp.forEach((p, i) => {
      expect(p.buffer).not.toBe(zbytes.buffer);
      expect(same(p, zref.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE))).toBe(true);
    });
  });
});

describe('page cache', () => {
  it('stays within its byte budget, evicting the least recently used page', () => {
    const fs = new Filesystem(openFixture('z-lz4hc-18.erofs'), { pageCacheBytes: 5 * PAGE_SIZE });
    const f = openPath(fs, '/big/log-192k', O_RDONLY, ROOT);
    const cache = pageCache(fs);
    const first = faultPage(f, 0);
    for (let p = PAGE_SIZE; p < 4 * PAGE_SIZE; p += PAGE_SIZE) faultPage(f, p);
    expect(faultPage(f, 0)).toBe(first); // refreshes page 0
    for (let p = 4 * PAGE_SIZE; p < f.inode.size; p += PAGE_SIZE) {
      faultPage(f, p);
      expect(cache.stats().bytes).toBeLessThanOrEqual(5 * PAGE_SIZE);
    }
    const s = cache.stats();
    expect(s.pages).toBe(5);
    expect(s.budget).toBe(5 * PAGE_SIZE);
    expect(s.evictions).toBe(Math.ceil(f.inode.size / PAGE_SIZE) - 5);
    expect(faultPage(f, 0)).not.toBe(first); // evicted, materialised again with the same bytes
    expect(same(faultPage(f, 0), first)).toBe(true);
  });

  it('a zero budget caches nothing; budgets are validated', () => {
    const fs = new Filesystem(openFixture('z-lz4hc-18.erofs'), { pageCacheBytes: 0 });
    const f = openPath(fs, '/big/log-192k', O_RDONLY, ROOT);
    expect(mapPages(f, 0, 8 * PAGE_SIZE, PROT_READ, MAP_PRIVATE)).toHaveLength(8);
    expect(pageCache(fs).stats().pages).toBe(0);
    expect(() => new Filesystem(openFixture('basic-18.erofs'), { pageCacheBytes: -1 })).toThrow(RangeError);
    expect(() => new PageCache(1.5)).toThrow(RangeError);
  });
});
