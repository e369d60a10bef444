import { describe, expect, it } from 'vitest';
import { DataLayout, ExtentKind, Image, MemorySource, readSuperblock, COMPAT, INCOMPAT } from '@erofs-js/erofs';
import { buildImage, BuildError } from './builder.js';
import { dir, file, symlink, device, fifo } from './tree.js';

const open = (b: Uint8Array) => new Image(new MemorySource(b));
const child = (img: Image, name: string) => img.inode(img.lookup(img.root(), name)!.nid);

describe('buildImage', () => {
  it('writes a superblock with checksum, epoch, label, uuid, counts', () => {
    const uuid = new Uint8Array(16).map((_, i) => i + 1);
    const b = buildImage(dir({ a: file('x') }), { epoch: 1234, fixedNsec: 5, volumeName: 'label', uuid });
    const sb = readSuperblock(new MemorySource(b));
    expect(sb.featureCompat & COMPAT.SB_CHKSUM).toBeTruthy();
    expect(sb.featureCompat & COMPAT.MTIME).toBeTruthy();
    expect([sb.epoch, sb.fixedNsec, sb.volumeName, sb.inos, sb.blocks * 4096]).toEqual([1234, 5, 'label', 2, b.length]);
    expect([...sb.uuid]).toEqual([...uuid]);
    expect(sb.rootNid).toBe(36);
  });

  it('chooses compact and extended inodes as mkfs does', () => {
    const img = open(buildImage(dir({ c: file('c'), u: file('u', { uid: 65536 }), t: file('t', { mtime: 9 }), n: file('n', { mtimeNsec: 1 }) }, { mtime: 100 }), { epoch: 100 }));
    expect(child(img, 'c').extended).toBe(false);
    for (const n of ['u', 't', 'n']) expect(child(img, n).extended, n).toBe(true);
    expect(child(img, 't').mtime).toBe(9);
  });

  it('uses FLAT_INLINE for tails, FLAT_PLAIN for whole blocks, empty files and when inline is off', () => {
    const tree = dir({ tail: file(new Uint8Array(5000)), whole: file(new Uint8Array(8192)), empty: file('') });
    const img = open(buildImage(tree));
    expect(child(img, 'tail').layout).toBe(DataLayout.FlatInline);
    expect(child(img, 'whole').layout).toBe(DataLayout.FlatPlain);
    expect(child(img, 'empty').startBlock).toBeNull();
    expect(child(open(buildImage(tree, { inlineData: false })), 'tail').layout).toBe(DataLayout.FlatPlain);
  });

  it('keeps inline tails inside one block (moves the inode to the next block when needed)', () => {
    const entries: Record<string, ReturnType<typeof file>> = {};
    for (let i = 0; i < 40; i++) entries[`f${i}`] = file(new Uint8Array(300 + i * 7).fill(i));
    const img = open(buildImage(dir(entries), { blockSize: 512 }));
    for (let i = 0; i < 40; i++) {
      const ino = child(img, `f${i}`);
      if (ino.layout === DataLayout.FlatInline) expect((ino.ibase % 512) + (ino.size % 512)).toBeLessThanOrEqual(512);
      expect(img.readFile(ino).every((b) => b === i)).toBe(true);
    }
  });

  it('stores sparse files chunk-based with holes', () => {
    const data = new Uint8Array(5 * 4096).fill(3, 4096, 4100);
    const b = buildImage(dir({ s: file(data) }), { chunkBits: 0 });
    const img = open(b);
    expect(img.sb.featureIncompat & INCOMPAT.CHUNKED_FILE).toBeTruthy();
    expect(child(img, 's').layout).toBe(DataLayout.ChunkBased);
    expect(img.readFile(child(img, 's'))).toEqual(data);
    expect(b.length).toBeLessThan(3 * 4096);
  });

  it('writes 8-byte chunk indexes (CHUNK_INDEXES, device 0) when asked', () => {
    const data = new Uint8Array(7 * 1024).fill(5, 3000, 3100).fill(6, 7000);
    const img = open(buildImage(dir({ s: file(data, { xattrs: { 'user.x': new Uint8Array(3) } }) }), { chunkBits: 0, chunkIndexes: true, blockSize: 1024 }));
    const s = child(img, 's');
    expect(s.layout).toBe(DataLayout.ChunkBased);
    expect(s.chunkFormat & 0x20).toBe(0x20);
    expect(img.readFile(s)).toEqual(data);
    const m = img.map(s, 0);
    expect(m.kind).toBe(ExtentKind.Hole);
    expect(img.map(s, 3000).kind).toBe(ExtentKind.Data);
  });

  it('compresses files with LZ4 when that saves a block: full indexes, zero padding, PLAIN pclusters for noise', () => {
    const text = new TextEncoder().encode('erofs compresses this line again and again. '.repeat(3000));
    let x = 7;
    const noise = new Uint8Array(20000).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
    const mixed = new Uint8Array([...text.subarray(0, 30000), ...noise, ...text.subarray(0, 30000)]);
    const tree = dir({ text: file(text), noise: file(noise), mixed: file(mixed), zeros: file(new Uint8Array(3 << 20)), small: file('tiny') });
    for (const [blockSize, compressedIndexes] of [[512, 'full'], [4096, 'full'], [512, 'compact'], [4096, 'compact']] as const) {
      const b = buildImage(tree, { compression: 'lz4', blockSize, compressedIndexes });
      const img = open(b);
      expect(img.sb.featureIncompat & INCOMPAT.ZERO_PADDING).toBeTruthy();
      expect(img.sb.featureIncompat & INCOMPAT.COMPR_CFGS).toBe(0);
      for (const [name, want] of [['text', text], ['mixed', mixed], ['zeros', new Uint8Array(3 << 20)]] as const) {
        const ino = child(img, name);
        expect(ino.layout, name).toBe(compressedIndexes === 'full' ? DataLayout.CompressedFull : DataLayout.CompressedCompact);
        expect(Buffer.compare(img.readFile(ino), want), name).toBe(0); // toEqual is slow on megabytes
        // Reads that start and end inside extents.
        const part = new Uint8Array(5000);
        expect(img.read(ino, 12345, part)).toBe(5000);
        expect(part).toEqual(want.subarray(12345, 17345));
      }
      expect(child(img, 'noise').layout).toBe(DataLayout.FlatInline);
      expect(child(img, 'small').layout).toBe(DataLayout.FlatInline);
      // Noise stays raw (twice), the rest takes a few pclusters (3 MiB of zeros: about 255
      // bytes per stream byte); full indexes cost 8 bytes per block of every compressed file.
      const indexes = 8 * Math.ceil((text.length + mixed.length + (3 << 20)) / blockSize);
      expect(b.length).toBeLessThan(2 * noise.length + indexes + 45 * blockSize);
    }
  });

  it('LZ4 files keep the kernel\'s PLAIN rule: the extent a read maps, up to the end of its lcluster, fits the block', () => {
    // Text then noise, so that files end in uncompressed pclusters at every offset in a block.
    let x = 3;
    const text = new TextEncoder().encode('a compressible line of text, '.repeat(200));
    for (const bs of [512, 4096]) {
      for (let tail = 1; tail < 2 * bs; tail += Math.floor(bs / 11)) {
        const noise = new Uint8Array(tail + 3 * bs).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
        const data = new Uint8Array([...text, ...noise]);
        const b = buildImage(dir({ f: file(data) }), { compression: 'lz4', blockSize: bs });
        const img = open(b);
        const f = child(img, 'f');
        expect(f.layout).toBe(DataLayout.CompressedFull);
        expect(Buffer.compare(img.readFile(f), data)).toBe(0);
        // The kernel's computation, from the raw full indexes: for a read in lcluster lcn,
        // end = exact when a HEAD's clusterofs is past the offset, else the lcluster's end.
        const hp = Math.ceil(f.ibase / 8) * 8 + 16;
        const dv = new DataView(b.buffer);
        const type = (l: number) => dv.getUint16(hp + 8 * l, true) & 3;
        const ofs = (l: number) => dv.getUint16(hp + 8 * l + 2, true);
        for (let off = 0; off < data.length; off += 97) {
          const lcn = Math.floor(off / bs);
          let end = (lcn + 1) * bs;
          let h = lcn;
          if (type(lcn) !== 2 && off % bs < ofs(lcn)) {
            end = lcn * bs + ofs(lcn);
            h--;
          }
          while (type(h) === 2) h -= dv.getUint16(hp + 8 * h + 4, true);
          if (type(h) === 0) expect(end - (h * bs + ofs(h)), `bs ${bs} tail ${tail} offset ${off}`).toBeLessThanOrEqual(bs);
        }
      }
    }
  });

  it('shares xattrs carried by two inodes, keeps the others inline', () => {
    const same = { 'user.s': new Uint8Array([1, 2, 3]) };
    const img = open(buildImage(dir({ a: file('a', { xattrs: same }), b: file('b', { xattrs: { ...same, 'trusted.x': new Uint8Array([9]) } }) })));
    const xs = img.listXattrs(child(img, 'b'));
    expect(xs.map((x) => [x.name, x.shared]).sort()).toEqual([['trusted.x', false], ['user.s', true]]);
  });

  it('hard links share one inode with nlink; devices, fifos and symlinks round-trip', () => {
    const f = file('f');
    const img = open(buildImage(dir({ a: f, d: dir({ b: f }), dev: device('blockdev', 259, 70000), p: fifo(), l: symlink('a') })));
    expect(child(img, 'a').nid).toBe(img.lookup(child(img, 'd'), 'b')!.nid);
    expect(child(img, 'a').nlink).toBe(2);
    expect(img.root().nlink).toBe(3);
    expect(child(img, 'dev').rdev).toBeGreaterThan(0);
    expect(new TextDecoder().decode(img.readlink(child(img, 'l')))).toBe('a');
  });

  it('refuses what EROFS cannot hold', () => {
    const d = dir();
    expect(() => buildImage(dir({ a: d, b: d }))).toThrow(BuildError);
    expect(() => buildImage(dir({ ['x'.repeat(256)]: file('') }))).toThrow(BuildError);
    expect(() => buildImage(dir({ 'a/b': file('') }))).toThrow(BuildError);
    expect(() => buildImage(dir({ a: file('', { xattrs: { 'bogus.x': new Uint8Array(1) } }) }))).toThrow(BuildError);
    expect(() => buildImage(dir(), { blockSize: 8192 })).toThrow(BuildError);
    expect(() => buildImage(dir({ l: symlink('') }))).toThrow(BuildError);
    expect(() => buildImage(dir(), { compression: 'zstd' as 'lz4' })).toThrow(BuildError);
  });
});
