/**
 * Memory mapping across layouts: every regular file of uncompressed, chunk-based,
 * small-block, extra-device and compressed fixtures mapped at random page ranges equals
 * the file's content as the kernel's manifest knows it (the whole mapping hashes to the
 * manifest's sha256; partial ranges are slices of a content checked against that hash),
 * zero-filled to the page end; pages wholly past EOF are SIGBUS; exactly the pages that
 * lie wholly in plain data, contiguous in one in-memory device, are views of those bytes
 * at that place, and no other page shares the image's memory; the page cache stays within
 * its budget. FC_SEED reruns the property with another seed, FC_RUNS=k multiplies its runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ExtentKind, Image, MemorySource, isCompressed, isReg, walk, type Inode } from '@erofs-js/erofs';
import { Filesystem, MAP_PRIVATE, MAP_SHARED, O_RDONLY, PAGE_SIZE, PROT_READ, ROOT, SysError, isSigbus, openPath, pageCache, type FileDescription } from '@erofs-js/vfs';
import { FIXTURES as FIXTURE_DIR, deviceSources, fixtureBytes, nodeAt, openFixture, readJsonl } from './fixtures.js';
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

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/**
 * Regular files' contents as the kernel's manifest vouches for them: each decoded once from
 * a separate open of the image by path, and accepted only if its sha256 is the manifest's.
 */
class Truth {
  private readonly sums = new Map<string, { size: number; sha256: string }>();
  private readonly contents = new Map<string, Uint8Array>();
  private readonly image: Image;

  constructor(readonly name: string) {
    this.image = new Image(new MemorySource(fixtureBytes(name)), { devices: deviceSources(name) });
    type Rec = { path?: string; path_b64?: string; type: string; size: number; sha256?: string };
    for (const r of readJsonl<Rec>(FIXTURE_DIR + name.replace(/\.erofs$/, '.manifest.jsonl'))) {
      if (r.type !== 'file') continue;
      const path = r.path !== undefined ? Buffer.from(r.path).toString('latin1') : Buffer.from(r.path_b64!, 'base64').toString('latin1');
      this.sums.set(path, { size: r.size, sha256: r.sha256! });
    }
  }

  /** The manifest's size and sha256 of the file at `path`. */
  sum(path: Uint8Array): { size: number; sha256: string } {
    const s = this.sums.get(latin(path));
    if (!s) throw new Error(`${this.name}: ${latin(path)} is not a regular file in the manifest`);
    return s;
  }

  content(path: Uint8Array): Uint8Array {
    let c = this.contents.get(latin(path));
    if (!c) {
      const { size, sha256: want } = this.sum(path);
      c = new Uint8Array(size);
      this.image.read(nodeAt(this.image, path), 0, c);
      expect(sha256(c), `${this.name} ${latin(path)}: decoded content against the manifest's sha256`).toBe(want);
      this.contents.set(latin(path), c);
    }
    return c;
  }
}

/** The file's bytes [offset, offset + length) from the vouched-for content, zero past EOF. */
function expected(content: Uint8Array, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (offset < content.length) out.set(content.subarray(offset, Math.min(content.length, offset + length)));
  return out;
}

/**
 * Where the page at `offset` must be a view, by the layout rule of zero-copy mapping: an
 * uncompressed file's page that lies wholly inside i_size and wholly in plain data extents
 * (not inline tails, not holes) that are contiguous in one in-memory device. Returns that
 * device's bytes and the page's offset in them; null for a page that must be a copy.
 */
function placement(image: Image, devices: MemorySource[], inode: Inode, offset: number): { bytes: Uint8Array; at: number } | null {
  if (isCompressed(inode)) return null;
  if (offset + PAGE_SIZE > inode.size) return null;
  let place: { bytes: Uint8Array; at: number } | null = null;
  for (let pos = offset; pos < offset + PAGE_SIZE; ) {
    const ext = image.map(inode, pos);
    if (ext.kind !== ExtentKind.Data) return null;
    const n = Math.min(ext.logical + ext.length, offset + PAGE_SIZE) - pos;
    const physical = ext.physical + (pos - ext.logical);
    // Device 0 is the image, unless the address falls in an extra device's unified range.
    let bytes = (image.source as MemorySource).bytes;
    let at = physical;
    if (ext.deviceId) bytes = devices[ext.deviceId - 1].bytes;
    else {
      image.sb.devices.forEach((d, i) => {
        const start = d.uniaddr * image.blockSize;
        if (d.uniaddr && physical >= start && physical < start + d.blocks * image.blockSize) [bytes, at] = [devices[i].bytes, physical - start];
      });
    }
    if (place === null) place = { bytes, at };
    else if (place.bytes !== bytes || place.at + (pos - offset) !== at) return null;
    pos += n;
  }
  return place;
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

/**
 * Maps and checks one range against the vouched-for content; with `sharing`, also that
 * exactly the pages `placement` names are views of those bytes at that place and that no
 * other page shares the image's or a device's memory. Returns how many pages were views.
 */
function check(f: FileDescription, content: Uint8Array, offset: number, length: number, sharing?: { image: Image; devices: MemorySource[] }): number {
  const pages = f.mmap(offset, length, PROT_READ, MAP_PRIVATE);
  expect(pages).toHaveLength(Math.ceil(length / PAGE_SIZE));
  const want = expected(content, offset, pages.length * PAGE_SIZE);
  let views = 0;
  pages.forEach((p, i) => {
    expect(p.length).toBe(PAGE_SIZE);
    const at = offset + i * PAGE_SIZE;
    if (Buffer.compare(p, want.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)) !== 0) {
      throw new Error(`page at ${at} of a ${f.inode.size}-byte file differs from the content the manifest's sha256 vouches for`);
    }
    if (!sharing) return;
    const place = placement(sharing.image, sharing.devices, f.inode.raw, at);
    const holders = [(sharing.image.source as MemorySource).bytes, ...sharing.devices.map((d) => d.bytes)];
    if (place) {
      expect(p.buffer === place.bytes.buffer && p.byteOffset === place.bytes.byteOffset + place.at, `page at ${at}: a view of its data at ${place.at}`).toBe(true);
      views++;
    } else {
      expect(holders.some((h) => h.buffer === p.buffer), `page at ${at}: a copy, not the image's memory`).toBe(false);
    }
  });
  return views;
}

describe('mmap of every regular file', () => {
  for (const name of FIXTURES) {
    it(`${name}: whole and random page ranges equal the manifest's content, views exactly where the layout allows, the cache within budget`, () => {
      const devices = deviceSources(name);
      const image = new Image(new MemorySource(fixtureBytes(name)), { devices });
      const sharing = { image, devices };
      const truth = new Truth(name);
      const fs = new Filesystem(image, { pageCacheBytes: BUDGET });
      let x = 7;
      const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % Math.max(1, n));
      let files = 0;
      let pages = 0;
      let views = 0;
      let copies = 0;
      for (const path of regularFiles(fs)) {
        const f = openPath(fs, path, O_RDONLY, ROOT);
        const size = f.inode.size;
        expect(size, latin(path)).toBe(truth.sum(path).size);
        const P = Math.ceil(size / PAGE_SIZE);
        files++;
        if (P === 0) {
          expect(sigbus(() => f.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE))).toBe(true);
        } else {
          // The whole mapping, cut at i_size, is the file the kernel hashed.
          const all = f.mmap(0, size, PROT_READ, MAP_PRIVATE);
          expect(sha256(Buffer.concat(all).subarray(0, size)), latin(path)).toBe(truth.sum(path).sha256);
          const content = truth.content(path);
          const v = check(f, content, 0, size, sharing);
          views += v;
          copies += P - v;
          pages += P;
          for (let k = 0; k < 3; k++) {
            const s = rnd(P);
            const len = (1 + rnd(P - s)) * PAGE_SIZE - rnd(PAGE_SIZE);
            check(f, content, s * PAGE_SIZE, len, sharing);
          }
          expect(sigbus(() => f.mmap(0, (P + 1) * PAGE_SIZE, PROT_READ, MAP_SHARED))).toBe(true);
        }
        expect(pageCache(fs).stats().bytes).toBeLessThanOrEqual(BUDGET);
        f.close();
      }
      expect(files).toBeGreaterThan(0);
      expect(pages).toBeGreaterThan(0);
      console.log(`vfs-mmap ${name}: ${files} files, ${pages} pages: ${views} views, ${copies} copies`);
      // Which pages are views and which copies, check() asserted page by page; both kinds
      // occur in every image but the fragment one (its files' tails live in the packed inode).
      if (!name.includes('frag')) expect(views).toBeGreaterThan(0);
      expect(copies).toBeGreaterThan(0);
    });
  }
});

describe('mmap property', () => {
  const opened = FIXTURES.map((name) => {
    const fs = new Filesystem(openFixture(name), { pageCacheBytes: BUDGET });
    const truth = new Truth(name);
    const files = regularFiles(fs)
      .map((p) => ({ path: p, f: openPath(fs, p, O_RDONLY, ROOT) }))
      .filter(({ f }) => f.inode.size > 0);
    return { fs, files, truth };
  });

  it('any page-aligned offset and positive length maps the manifest-checked content, or SIGBUS past EOF', () => {
    const outcomes = { mapped: 0, sigbus: 0 };
    fc.assert(
      fc.property(
        fc.nat(FIXTURES.length - 1),
        fc.nat(),
        fc.nat(1000),
        fc.nat(),
        (fi, fileIndex, page, lengthSeed) => {
          const { fs, files, truth } = opened[fi];
          const { path, f } = files[fileIndex % files.length];
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
            check(f, truth.content(path), offset, length);
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
    const f = opened[0].files[0].f;
    expect(() => f.mmap(1, 1, PROT_READ, MAP_PRIVATE)).toThrow(SysError);
    expect(() => f.mmap(0, 0, PROT_READ, MAP_PRIVATE)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
  });
});
