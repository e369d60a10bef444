import { describe, expect, it } from 'vitest';
import { FileSource } from './node.js';
import { fixtureBytes, FIXTURES, nodeAt, openFixture } from '../../../tests/fixtures.js';
import { Image } from './image.js';
import { PageCache } from './page-cache.js';
import { DataLayout, isReg, type Inode } from './inode.js';
import { ExtentKind } from './map/extent.js';
import { walk } from './walk.js';
import { MemorySource } from './source.js';
import { ErofsError } from './errors.js';
import { superblockChecksum } from './superblock.js';

const dec = new TextDecoder();
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    return (e as ErofsError).code;
  }
  return 'ok';
};

describe('Image.read', () => {
  for (const name of ['basic-18.erofs', 'basic-18-b512.erofs', 'basic-18-chunk.erofs', 'basic-18-noinline.erofs']) {
    it(`${name}: any (offset, length) equals the same slice of the whole file`, () => {
      const image = openFixture(name);
      let x = 99;
      const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % Math.max(1, n));
      walk(image, (e) => {
        if (!isReg(e.inode) || e.inode.size === 0) return;
        const whole = image.readFile(e.inode);
        for (let k = 0; k < 5; k++) {
          const off = rnd(e.inode.size + 10);
          const len = rnd(e.inode.size + 10);
          const dest = new Uint8Array(len + 3).fill(0xaa);
          const n = image.read(e.inode, off, dest, 3, len);
          expect(n).toBe(Math.max(0, Math.min(len, e.inode.size - off)));
          expect(Buffer.compare(dest.subarray(3, 3 + n), whole.subarray(off, off + n))).toBe(0);
          expect(dest[3 + n] ?? 0xaa).toBe(0xaa); // nothing written past what was read
        }
      });
    });
  }

  it('reads chunk holes as zeros and maps them as holes', () => {
    const image = openFixture('basic-18-chunk.erofs');
    const sparse = nodeAt(image, '/files/sparse');
    expect(sparse.layout).toBe(DataLayout.ChunkBased);
    const kinds = new Set<ExtentKind>();
    for (let off = 0; off < sparse.size; ) {
      const ext = image.map(sparse, off);
      kinds.add(ext.kind);
      if (ext.kind === ExtentKind.Hole) {
        const z = new Uint8Array(ext.length);
        image.read(sparse, off, z);
        expect(z.every((b) => b === 0)).toBe(true);
      }
      off = ext.logical + ext.length;
    }
    expect(kinds.has(ExtentKind.Hole)).toBe(true);
    expect(kinds.has(ExtentKind.Data)).toBe(true);
  });

  it('refuses files larger than the readFile limit with EFBIG', () => {
    const image = openFixture('basic-18.erofs');
    expect(codeOf(() => image.readFile(nodeAt(image, '/files/size-4097'), 4096))).toBe('EFBIG');
  });

  it('gives the same bytes through a FileSource with a tiny cache', () => {
    const mem = openFixture('basic-18-b512.erofs');
    const src = new FileSource(FIXTURES + 'basic-18-b512.erofs', { blockSize: 512, cacheBlocks: 2 });
    const file = new Image(src);
    const paths: string[] = [];
    walk(mem, (e) => {
      if (isReg(e.inode)) paths.push(dec.decode(e.path));
    });
    for (const p of paths.slice(0, 200)) {
      expect(Buffer.compare(file.readFile(nodeAt(file, p)), mem.readFile(nodeAt(mem, p))), p).toBe(0);
    }
    src.close();
  });
});

describe('Image.read of compressed files, through the page cache', () => {
  for (const name of ['z-lz4hc-18-C64k.erofs', 'z-lzma-18.erofs', 'z-lz4-15.erofs']) {
    it(`${name}: whole reads, 4 KiB pieces and uncached reads agree; a second pass is all hits`, () => {
      const whole = openFixture(name);
      const inode = nodeAt(whole, '/big/counter-1m');
      const a = new Uint8Array(inode.size);
      expect(whole.read(inode, 0, a)).toBe(inode.size);
      const first = whole.cache!.stats();
      expect(first.misses).toBeGreaterThan(0);
      // 1 MiB, inside the default 8 MiB; buffers are counted whole (4 KiB multiples)
      expect(first.bytes).toBeGreaterThanOrEqual(inode.size);
      expect(first.bytes).toBeLessThan(inode.size + first.entries * 4096);
      // The second pass finds every extent cached: no misses, no decoding.
      const again = new Uint8Array(inode.size);
      whole.read(inode, 0, again);
      const second = whole.cache!.stats();
      expect(second.misses).toBe(first.misses);
      expect(second.hits).toBeGreaterThan(first.hits);
      expect(Buffer.compare(a, again)).toBe(0);

      const pieces = openFixture(name);
      const p = nodeAt(pieces, '/big/counter-1m');
      const b = new Uint8Array(p.size);
      for (let off = 0; off < p.size; off += 4096) pieces.read(p, off, b.subarray(off, off + 4096));
      expect(Buffer.compare(a, b)).toBe(0);
      // each pcluster decoded once: the pieces within it were hits
      expect(pieces.cache!.stats().hits).toBeGreaterThan(pieces.cache!.stats().misses);

      const uncached = new Image(new MemorySource(fixtureBytes(name)), { cacheBytes: 0 });
      expect(uncached.cache).toBeNull();
      const c = new Uint8Array(p.size);
      for (let off = 0; off < p.size; off += 5000) uncached.read(nodeAt(uncached, '/big/counter-1m'), off, c.subarray(off, off + 5000));
      expect(Buffer.compare(a, c)).toBe(0);
      expect(uncached.extentCache).toEqual({ maxBytes: 0, hits: 0, misses: 0 });
    });
  }

  it('images share a host page cache: each within its limit, all within the budget', () => {
    const host = new PageCache(256 << 10);
    const x = new Image(new MemorySource(fixtureBytes('z-lz4hc-18.erofs')), { pageCache: host, cacheBytes: 128 << 10 });
    const y = new Image(new MemorySource(fixtureBytes('z-lzma-18.erofs')), { pageCache: host });
    expect(x.extentCache.maxBytes).toBe(128 << 10);
    expect(y.cache!.limit).toBe(256 << 10);
    const files = (image: Image) => {
      const out: Inode[] = [];
      walk(image, (e) => {
        if (isReg(e.inode) && e.inode.size < 128 << 10) out.push(e.inode);
      });
      return out;
    };
    const buf = new Uint8Array(3000);
    for (const image of [x, y, x]) {
      for (const inode of files(image)) {
        for (let off = 0; off < inode.size; off += 3000) image.read(inode, off, buf);
        expect(x.cache!.stats().bytes).toBeLessThanOrEqual(128 << 10);
        expect(host.stats().bytes).toBeLessThanOrEqual(256 << 10);
        expect(x.cache!.stats().bytes + y.cache!.stats().bytes).toBe(host.stats().bytes);
      }
    }
    expect(x.cache!.stats().evictions).toBeGreaterThan(0);
    expect(y.cache!.stats().evictions).toBeGreaterThan(0);
    x.cache!.clear();
    expect(host.stats().bytes).toBe(y.cache!.stats().bytes);
  });

});

describe('Image.readdir', () => {
  it('resumes from any entry position and rounds positions between entries up', () => {
    const image = openFixture('basic-18.erofs');
    const dir = nodeAt(image, '/bigdir');
    const all = [...image.readdir(dir)];
    expect(all.length).toBeGreaterThan(2000);
    expect(all[all.length - 1].next).toBe(dir.size);
    for (const i of [0, 1, 17, 500, all.length - 1]) {
      const rest = [...image.readdir(dir, all[i].offset)];
      expect(rest.map((d) => d.nid)).toEqual(all.slice(i).map((d) => d.nid));
      // One byte past an entry's start resumes at the next entry.
      const after = [...image.readdir(dir, all[i].offset + 1)];
      expect(after[0]?.offset).toBe(all[i + 1]?.offset);
    }
    expect([...image.readdir(dir, dir.size)]).toEqual([]);
  });

  it('includes "." and ".." sorted among the names', () => {
    const image = openFixture('basic-18.erofs');
    const names = [...image.readdir(image.root())].map((d) => dec.decode(d.name));
    expect(names.indexOf('!bang')).toBeLessThan(names.indexOf('.'));
    expect(names.indexOf('.')).toBeLessThan(names.indexOf('..'));
    expect(image.lookup(image.root(), '..')?.nid).toBe(image.rootNid);
  });

  it('refuses to list or search a non-directory with ENOTDIR', () => {
    const image = openFixture('basic-18.erofs');
    const f = nodeAt(image, '/files/size-1');
    expect(codeOf(() => image.lookup(f, 'x'))).toBe('ENOTDIR');
    expect(codeOf(() => [...image.readdir(f)])).toBe('ENOTDIR');
  });
});

describe('Image bounds', () => {
  it('refuses nids past the end of the image with EUCLEAN naming the inode', () => {
    const image = openFixture('rootfs-18.erofs');
    try {
      image.inode(image.source.size);
      expect.unreachable();
    } catch (e) {
      expect((e as ErofsError).code).toBe('EUCLEAN');
      expect((e as ErofsError).message).toMatch(/^inode \d+ at byte \d+: nid points past the end/);
    }
  });

  it('refuses data and metadata past the end of a truncated image with EUCLEAN', () => {
    const bytes = fixtureBytes('basic-18.erofs');
    let dataFailures = 0;
    for (const cut of [4096, 65536, 200000]) {
      const image = new Image(new MemorySource(bytes.subarray(0, bytes.length - cut)));
      expect(
        codeOf(() =>
          walk(image, (e) => {
            if (!isReg(e.inode)) return;
            try {
              image.readFile(e.inode);
            } catch (err) {
              expect((err as ErofsError).code).toBe('EUCLEAN');
              expect((err as ErofsError).message).toMatch(/past the end/);
              dataFailures++;
            }
          }),
        ),
      ).toMatch(/ok|EUCLEAN/);
    }
    expect(dataFailures).toBeGreaterThan(0);
  });
});

describe('recursion bounds against crafted images', () => {
  function withSuperblockEdit(name: string, edit: (dv: DataView) => void): Uint8Array {
    const bytes = fixtureBytes(name);
    edit(new DataView(bytes.buffer, bytes.byteOffset));
    const src = new MemorySource(bytes);
    const bs = 1 << bytes[1024 + 0x0c];
    new DataView(bytes.buffer).setUint32(1024 + 4, superblockChecksum(src, bs), true);
    return bytes;
  }

  it('a packed inode that is itself a fragment file is refused, not followed forever', () => {
    const clean = openFixture('z-lz4hc-18-allfrag.erofs');
    let fragNid = -1;
    walk(clean, (e) => {
      if (fragNid < 0 && isReg(e.inode) && e.inode.size > 0 && clean.map(e.inode, 0).kind === ExtentKind.Fragment) fragNid = e.inode.nid;
    });
    expect(fragNid).toBeGreaterThan(0);
    const bytes = withSuperblockEdit('z-lz4hc-18-allfrag.erofs', (dv) => dv.setBigUint64(1024 + 0x60, BigInt(fragNid), true));
    const image = new Image(new MemorySource(bytes));
    const inode = image.inode(fragNid);
    expect(codeOf(() => image.readFile(inode))).toBe('EUCLEAN');
    // Other fragment files now read through a packed inode that refers to itself.
    let refused = 0;
    walk(image, (e) => {
      if (!isReg(e.inode) || e.inode.size === 0) return;
      if (codeOf(() => image.readFile(e.inode)) === 'EUCLEAN') refused++;
    });
    expect(refused).toBeGreaterThan(1);
  });

  it('a metabox inode inside the metabox is refused at open', () => {
    const bytes = withSuperblockEdit('z-lz4hc-19-metabox.erofs', (dv) => dv.setUint32(1024 + 0x84, dv.getUint32(1024 + 0x84, true) | 0x80000000, true));
    expect(codeOf(() => new Image(new MemorySource(bytes)))).toBe('EUCLEAN');
  });
});

describe('Image.dataView', () => {
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

  it('is a view of the source bytes for plain data, null for inline tails, holes and past the end', () => {
    const image = openFixture('basic-18.erofs');
    const bytes = (image.source as MemorySource).bytes;
    const f = nodeAt(image, '/files/size-102407');
    expect(f.layout).toBe(DataLayout.FlatInline);
    const v = image.dataView(f, 4096, 8192)!;
    expect(v.buffer).toBe(bytes.buffer);
    const copy = new Uint8Array(8192);
    image.read(f, 4096, copy);
    expect(same(v, copy)).toBe(true);
    // The inline tail (the last 102407 % 4096 bytes) and anything reaching past i_size.
    expect(image.dataView(f, 102400, 7)).toBeNull();
    expect(image.dataView(f, 98304, 4096)).not.toBeNull();
    expect(image.dataView(f, 98304, 4103)).toBeNull();
    expect(image.dataView(f, 102400, 4096)).toBeNull();
    expect(image.dataView(f, 0, 0)).toBeNull();
    expect(image.dataView(f, -1, 4)).toBeNull();
  });

  it('spans chunks stored back to back, and gives null for chunk holes', () => {
    const image = openFixture('basic-18-chunk.erofs');
    const bytes = (image.source as MemorySource).bytes;
    const f = nodeAt(image, '/files/size-16384');
    expect(f.layout).toBe(DataLayout.ChunkBased);
    const whole = image.readFile(f);
    for (let off = 0; off < f.size; off += 4096) {
      const v = image.dataView(f, off, 4096)!;
      expect(v.buffer).toBe(bytes.buffer);
      expect(same(v, whole.subarray(off, off + 4096))).toBe(true);
    }
    const sparse = nodeAt(image, '/files/sparse');
    let holes = 0;
    for (let off = 0; off < sparse.size; off += 4096) {
      const ext = image.map(sparse, off);
      if (ext.kind === ExtentKind.Hole) {
        holes++;
        expect(image.dataView(sparse, off, 4096)).toBeNull();
      }
    }
    expect(holes).toBeGreaterThan(0);
  });

  it('views extra-device data on an in-memory device source', () => {
    const image = openFixture('basic-18-blobdev.erofs');
    const f = nodeAt(image, '/files/size-8192');
    const v = image.dataView(f, 0, 8192)!;
    expect(v).not.toBeNull();
    expect(v.buffer).not.toBe((image.source as MemorySource).bytes.buffer);
    expect(same(v, image.readFile(f))).toBe(true);
  });

  it('gives null for compressed data and for sources whose views are transient', () => {
    const z = openFixture('z-lz4hc-18.erofs');
    let compressed = 0;
    walk(z, (e) => {
      const layout = e.inode.layout;
      if (!isReg(e.inode) || e.inode.size < 4096 || (layout !== DataLayout.CompressedFull && layout !== DataLayout.CompressedCompact)) return;
      compressed++;
      expect(z.dataView(e.inode, 0, 4096)).toBeNull();
    });
    expect(compressed).toBeGreaterThan(0);
    const file = new Image(new FileSource(FIXTURES + 'basic-18.erofs'));
    try {
      expect(file.dataView(nodeAt(file, '/files/size-8192'), 0, 4096)).toBeNull();
    } finally {
      file.source.close?.();
    }
  });

  it('agrees with read wherever it answers, over every regular file of basic-18-b512', () => {
    const image = openFixture('basic-18-b512.erofs');
    let views = 0;
    walk(image, (e) => {
      if (!isReg(e.inode)) return;
      const whole = image.readFile(e.inode);
      for (let off = 0; off + 4096 <= e.inode.size; off += 4096) {
        const v = image.dataView(e.inode, off, 4096);
        if (v) {
          views++;
          expect(same(v, whole.subarray(off, off + 4096))).toBe(true);
        }
      }
    });
    expect(views).toBeGreaterThan(0);
  });
});
