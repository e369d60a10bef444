import { describe, expect, it } from 'vitest';
import { DataLayout, Image, MemorySource, PageCache } from '@erofs-js/erofs';
import { deviceSources, fixtureBytes, openFixture } from '../../../tests/fixtures.js';
import { ROOT } from './credentials.js';
import { SysError } from './errno.js';
import { O_DIRECTORY, O_PATH, O_RDONLY, type FileDescription } from './file.js';
import { Filesystem } from './filesystem.js';
import {
  MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, SIGBUS_MESSAGE,
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
  it('pages of a compressed file are views of the extents read() decoded: one decode for both', () => {
    const fs = new Filesystem(openFixture('z-lz4hc-18.erofs'));
    const f = openPath(fs, '/big/log-192k', O_RDONLY, ROOT);
    const size = f.inode.size;
    const data = new Uint8Array(size);
    f.pread(data, 0);
    const decoded = fs.stats().pageCache;
    expect(decoded.misses).toBeGreaterThan(0);
    const pages = f.mmap(0, size, PROT_READ, MAP_PRIVATE);
    const after = fs.stats().pageCache;
    expect(after.misses).toBe(decoded.misses); // nothing decoded again
    expect(after.hits).toBeGreaterThanOrEqual(pages.length);
    let views = 0;
    pages.forEach((p, i) => {
      expect(p.length).toBe(PAGE_SIZE);
      expect(same(p.subarray(0, Math.min(PAGE_SIZE, size - i * PAGE_SIZE)), data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE))).toBe(true);
      if (p.buffer.byteLength > PAGE_SIZE) views++; // a view of a decoded extent
      // A second fault gives the same bytes (the same memory when it is a view).
      const again = faultPage(f, i * PAGE_SIZE);
      expect(same(again, p)).toBe(true);
      if (p.buffer.byteLength > PAGE_SIZE) expect(again.buffer).toBe(p.buffer);
    });
    expect(views).toBeGreaterThan(pages.length / 2);
  });

  it('inline tails are cached as pages in the same cache; evicted pages stay valid', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'), { pageCacheBytes: 2 * PAGE_SIZE });
    const tails = ['/files/size-102407', '/files/size-4097', '/files/size-12289'].map((p) => openPath(fs, p, O_RDONLY, ROOT));
    const last = (f: FileDescription) => Math.floor((f.inode.size - 1) / PAGE_SIZE) * PAGE_SIZE;
    const first = faultPage(tails[0], last(tails[0]));
    expect(faultPage(tails[0], last(tails[0]))).toBe(first);
    const copy = first.slice();
    faultPage(tails[1], last(tails[1]));
    faultPage(tails[2], last(tails[2])); // evicts the first tail page
    expect(fs.stats().pageCache).toMatchObject({ entries: 2, bytes: 2 * PAGE_SIZE, budget: 2 * PAGE_SIZE, evictions: 1 });
    expect(pageCache(fs).stats().pages).toBe(2);
    expect(same(first, copy)).toBe(true); // never reused
    const again = faultPage(tails[0], last(tails[0]));
    expect(again).not.toBe(first);
    expect(same(again, first)).toBe(true);
  });

  it('stays within the mount limit and a host budget shared by mounts', () => {
    const host = new PageCache(48 * PAGE_SIZE);
    const open = (name: string, limit?: number) => new Filesystem(new Image(new MemorySource(fixtureBytes(name)), { pageCache: host, cacheBytes: limit }));
    const a = open('z-lz4hc-18.erofs', 32 * PAGE_SIZE);
    const b = open('z-lzma-18.erofs');
    expect(a.options.pageCacheBytes).toBe(32 * PAGE_SIZE);
    expect(b.options.pageCacheBytes).toBe(48 * PAGE_SIZE);
    for (const fs of [a, b, a]) {
      const f = openPath(fs, '/big/log-192k', O_RDONLY, ROOT);
      for (let p = 0; p < f.inode.size; p += PAGE_SIZE) {
        faultPage(f, p);
        expect(a.stats().pageCache.bytes).toBeLessThanOrEqual(32 * PAGE_SIZE);
        expect(host.stats().bytes).toBeLessThanOrEqual(48 * PAGE_SIZE);
      }
      f.close();
    }
    expect(a.stats().pageCache.evictions + b.stats().pageCache.evictions).toBeGreaterThan(0);
    a.shrink();
    expect(a.stats().pageCache.bytes).toBe(0);
    expect(host.stats().bytes).toBe(b.stats().pageCache.bytes);
  });

  it('a zero budget caches nothing; budgets are validated', () => {
    const fs = new Filesystem(openFixture('z-lz4hc-18.erofs'), { pageCacheBytes: 0 });
    expect(fs.image.cache).toBeNull();
    const f = openPath(fs, '/big/log-192k', O_RDONLY, ROOT);
    expect(mapPages(f, 0, 8 * PAGE_SIZE, PROT_READ, MAP_PRIVATE)).toHaveLength(8);
    expect(pageCache(fs).stats().pages).toBe(0);
    expect(() => new Filesystem(openFixture('basic-18.erofs'), { pageCacheBytes: -1 })).toThrow(RangeError);
    expect(() => new PageCache(1.5)).toThrow(RangeError);
  });
});
