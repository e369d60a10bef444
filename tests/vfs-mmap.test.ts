/**
 * Memory mapping across layouts: every regular file of uncompressed, chunk-based,
 * small-block, extra-device and compressed fixtures mapped at random page ranges equals
 * what read() returns (zero-filled to the page end), pages wholly past EOF are SIGBUS,
 * plain pages are views of the image and the page cache stays within its budget.
 * FC_SEED reruns the property with another seed, FC_RUNS=k multiplies its runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Image, MemorySource, isReg, walk } from '@erofs-js/erofs';
import { Filesystem, MAP_PRIVATE, MAP_SHARED, O_RDONLY, PAGE_SIZE, PROT_READ, ROOT, SysError, isSigbus, openPath, pageCache, type FileDescription } from '@erofs-js/vfs';
import { deviceSources, fixtureBytes, openFixture } from './fixtures.js';
import { fcRuns } from './fc-runs.js';

const FIXTURES = [
  'basic-18.erofs',
  'basic-18-chunk.erofs',
  'basic-18-noinline.erofs',
  'basic-18-b512.erofs',
  'basic-18-blobdev.erofs',
  'z-lz4hc-18.erofs',
  'z-lzma-18.erofs',
  'z-lz4hc-18-frag.erofs',
];
const BUDGET = 16 * PAGE_SIZE;
const { runs } = fcRuns('vfs-mmap', 20260609);

function regularFiles(fs: Filesystem): Uint8Array[] {
  const paths: Uint8Array[] = [];
  walk(fs.image, (e) => {
    if (isReg(e.inode)) paths.push(e.path);
  });
  return paths;
}

/** The file's bytes [offset, offset + length) by pread, zero past EOF. */
function expected(f: FileDescription, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (offset < f.inode.size) f.pread(out, offset, 0, Math.min(length, f.inode.size - offset));
  return out;
}

function sigbus(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (isSigbus(e)) return true;
    throw e;
  }
}

/** Maps and checks one range; returns how many pages were views of an in-memory source's bytes. */
function check(f: FileDescription, holders: Set<ArrayBufferLike>, offset: number, length: number): number {
  const pages = f.mmap(offset, length, PROT_READ, MAP_PRIVATE);
  expect(pages).toHaveLength(Math.ceil(length / PAGE_SIZE));
  const want = expected(f, offset, pages.length * PAGE_SIZE);
  let views = 0;
  pages.forEach((p, i) => {
    expect(p.length).toBe(PAGE_SIZE);
    if (Buffer.compare(p, want.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)) !== 0) {
      throw new Error(`page at ${offset + i * PAGE_SIZE} of a ${f.inode.size}-byte file differs from read()`);
    }
    if (holders.has(p.buffer)) views++;
  });
  return views;
}

describe('mmap of every regular file', () => {
  for (const name of FIXTURES) {
    it(`${name}: random page ranges equal read(), the cache stays within budget`, () => {
      const devices = deviceSources(name);
      const image = new Image(new MemorySource(fixtureBytes(name)), { devices });
      // The buffers a zero-copy page may be a view of: the image's and its devices'.
      const holders = new Set<ArrayBufferLike>([(image.source as MemorySource).bytes.buffer, ...devices.map((d) => d.bytes.buffer)]);
      const fs = new Filesystem(image, { pageCacheBytes: BUDGET });
      let x = 7;
      const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % Math.max(1, n));
      let files = 0;
      let pages = 0;
      let views = 0;
      for (const path of regularFiles(fs)) {
        const f = openPath(fs, path, O_RDONLY, ROOT);
        const size = f.inode.size;
        const P = Math.ceil(size / PAGE_SIZE);
        files++;
        if (P === 0) {
          expect(sigbus(() => f.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE))).toBe(true);
        } else {
          views += check(f, holders, 0, size);
          pages += P;
          for (let k = 0; k < 3; k++) {
            const s = rnd(P);
            const len = (1 + rnd(P - s)) * PAGE_SIZE - rnd(PAGE_SIZE);
            views += check(f, holders, s * PAGE_SIZE, len);
          }
          expect(sigbus(() => f.mmap(0, (P + 1) * PAGE_SIZE, PROT_READ, MAP_SHARED))).toBe(true);
        }
        expect(pageCache(fs).stats().bytes).toBeLessThanOrEqual(BUDGET);
        f.close();
      }
      expect(files).toBeGreaterThan(0);
      expect(pages).toBeGreaterThan(0);
      // Uncompressed images hand out views (basic-18-blobdev: of its device's bytes).
      if (name.startsWith('basic-')) expect(views).toBeGreaterThan(0);
    });
  }
});

describe('mmap property', () => {
  const opened = FIXTURES.map((name) => {
    const fs = new Filesystem(openFixture(name), { pageCacheBytes: BUDGET });
    const files = regularFiles(fs)
      .map((p) => openPath(fs, p, O_RDONLY, ROOT))
      .filter((f) => f.inode.size > 0);
    return { fs, files };
  });

  it('any page-aligned offset and positive length maps what read() returns, or SIGBUS past EOF', () => {
    const outcomes = { mapped: 0, sigbus: 0 };
    fc.assert(
      fc.property(
        fc.nat(FIXTURES.length - 1),
        fc.nat(),
        fc.nat(1000),
        fc.nat(),
        (fi, fileIndex, page, lengthSeed) => {
          const { fs, files } = opened[fi];
          const f = files[fileIndex % files.length];
          // Mostly inside the file, sometimes at or past its end.
          const P = Math.ceil(f.inode.size / PAGE_SIZE);
          const first = page % (P + 1);
          const offset = first * PAGE_SIZE;
          const length = 1 + (lengthSeed % ((P - first + 1) * PAGE_SIZE));
          const lastPage = offset + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE - PAGE_SIZE;
          if (lastPage >= f.inode.size) {
            expect(sigbus(() => f.mmap(offset, length, PROT_READ, MAP_PRIVATE))).toBe(true);
            outcomes.sigbus++;
          } else {
            check(f, new Set(), offset, length);
            outcomes.mapped++;
          }
          expect(pageCache(fs).stats().bytes).toBeLessThanOrEqual(BUDGET);
        },
      ),
      runs(400),
    );
    expect(outcomes.mapped).toBeGreaterThan(50);
    expect(outcomes.sigbus).toBeGreaterThan(50);
  });

  it('errors are SysErrors with Linux errnos', () => {
    const f = opened[0].files[0];
    expect(() => f.mmap(1, 1, PROT_READ, MAP_PRIVATE)).toThrow(SysError);
    expect(() => f.mmap(0, 0, PROT_READ, MAP_PRIVATE)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
  });
});
