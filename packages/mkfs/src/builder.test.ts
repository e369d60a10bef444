import { describe, expect, it } from 'vitest';
import { DataLayout, Image, MemorySource, readSuperblock, COMPAT, INCOMPAT } from '@erofs-js/erofs';
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

  it('shares xattrs carried by two inodes, keeps the others inline', () => {
    const same = { 'user.s': new Uint8Array([1, 2, 3]) };
    const img = open(buildImage(dir({ a: file('a', { xattrs: same }), b: file('b', { xattrs: { ...same, 'trusted.x': new Uint8Array([9]) } }) })));
    const xs = img.listXattrs(child(img, 'b'));
    expect(xs.map((x) => [x.name, x.shared]).sort()).toEqual([['trusted.x', false], ['user.s', true]]);
  });

  it('hard links share one inode with nlink; devices, fifos and symlinks round-trip', () => {
    const f = file('f');
    const img = open(buildImage(dir({ a: f, d: dir({ b: f }), dev: device('blockdev', 259, 70000), p: fifo(), l: symlink('a') })));
    expect(child(img, 'a').nid).toBe(img.resolvePath('/d/b').nid);
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
  });
});
