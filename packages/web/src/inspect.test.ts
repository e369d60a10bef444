import { describe, expect, it } from 'vitest';
import { ErofsError, S_IFMT, S_IFREG, walk } from '@erofs-js/erofs';
import { FIXTURES, fixtureIndex, nodeAt, openFixture, readJsonl } from '../../../tests/fixtures.js';
import { describeError, details, list, read, rootEntry, storage, summary } from './inspect.js';

type Rec = { path?: string; type: string; mode: number; uid: number; gid: number; size: number; nlink: number; mtime: number; target?: string; xattrs?: Record<string, string>; rdev?: number };
const manifest = (name: string) => readJsonl<Rec>(FIXTURES + name.replace(/\.erofs$/, '.manifest.jsonl'));
const order = (name: string) => readJsonl<{ path?: string; entries?: string[] }>(FIXTURES + name.replace(/\.erofs$/, '.readdir.jsonl'));

describe('summary', () => {
  it('the superblock facts, compression as the image says it', () => {
    const img = openFixture('rootfs-19-label.erofs');
    expect(summary(img, 'x.erofs')).toMatchObject({ name: 'x.erofs', blockSize: 4096, inodes: img.sb.inos, rootNid: img.sb.rootNid, label: 'erofs-js-demo', uuid: 'e0f5e1e2-0000-4000-8000-0000000e20f5', compression: [] });
    expect(summary(openFixture('z-zstd-18.erofs'), 'z').compression).toEqual(['zstd']);
    expect(summary(openFixture('z-lz4-15.erofs'), 'z').compression).toEqual(['lz4']);
    expect(summary(openFixture('z-mixed-18-hints.erofs'), 'z').compression).toEqual(['lz4', 'lzma']);
  });
});

describe('list and details', () => {
  for (const name of ['rootfs-18.erofs', 'basic-18.erofs']) {
    it(`${name}: every directory lists in getdents order with the manifest's fields`, () => {
      const img = openFixture(name);
      const recs = new Map(manifest(name).filter((r) => r.path).map((r) => [r.path!, r]));
      expect(rootEntry(img)).toMatchObject({ type: 'dir', mode: recs.get('/')!.mode });
      for (const dir of order(name)) {
        if (!dir.path || !dir.entries) continue;
        const entries = list(img, nodeAt(img, dir.path).nid);
        expect(entries.map((e) => e.name), dir.path).toEqual(dir.entries);
        for (const e of entries) {
          const p = (dir.path === '/' ? '/' : dir.path + '/') + e.name;
          const r = recs.get(p)!;
          expect(e, p).toMatchObject({ type: r.type, mode: r.mode, uid: r.uid, gid: r.gid, size: r.size, nlink: r.nlink, mtime: r.mtime, xattrCount: Object.keys(r.xattrs ?? {}).length });
          if (r.type === 'symlink') expect(e.target).toBe(r.target);
          const d = details(img, e.nid, new TextEncoder().encode(e.name));
          expect(Object.fromEntries(d.xattrs.map((x) => [x.name, x.size])), p).toEqual(Object.fromEntries(Object.entries(r.xattrs ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').length])));
          for (const x of d.xattrs) {
            const v = Buffer.from(r.xattrs![x.name], 'base64');
            if (x.text !== null) expect(x.text).toBe(v.toString('utf8'));
            expect(x.hex).toBe(v.subarray(0, 256).toString('hex'));
          }
        }
      }
    });
  }

  it('read: ranges of a file, short at its end', () => {
    const img = openFixture('z-lz4hc-18-C64k.erofs');
    const inode = nodeAt(img, '/big/log-192k');
    const all = img.readFile(inode);
    expect(read(img, inode.nid, 1000, 70_000)).toEqual(all.subarray(1000, 71_000));
    expect(read(img, inode.nid, all.length - 10, 100)).toEqual(all.subarray(all.length - 10));
    expect(read(img, inode.nid, all.length + 5, 100)).toEqual(new Uint8Array(0));
  });
});

describe('storage', () => {
  // Every regular file of every fixture: the kinds add up to the file's size; compressed
  // fixtures name their algorithm.
  for (const fx of fixtureIndex()) {
    it(`${fx.image}: extents cover each file exactly`, () => {
      const img = openFixture(fx.image);
      const algs = new Set<string>();
      let pclusters = 0;
      walk(img, (e) => {
        if ((e.inode.mode & S_IFMT) !== S_IFREG) return;
        const s = storage(img, e.inode.nid);
        expect(s.truncated).toBe(false);
        expect(s.pclusterLogical + s.dataBytes + s.inlineBytes + s.fragmentBytes + s.holeBytes, Buffer.from(e.path).toString()).toBe(e.inode.size);
        expect(s.first.length).toBe(Math.min(64, s.extents));
        if (s.extents) expect(s.first[0].logical).toBeLessThanOrEqual(0);
        for (const a of Object.keys(s.algorithms)) algs.add(a);
        pclusters += s.pclusters;
      });
      const z = fx.options.find((o) => o.startsWith('-z'));
      if (!z) expect(pclusters).toBe(0);
      else for (const a of z.slice(2).split(',')[0].split(':')) expect([...algs]).toContain(a.replace('lz4hc', 'lz4'));
    });
  }

  it('stops counting after maxExtents, keeps the first few', () => {
    const img = openFixture('z-lz4hc-18.erofs');
    expect(storage(img, nodeAt(img, '/big/counter-1m').nid).extents).toBeGreaterThan(2);
    const s = storage(img, nodeAt(img, '/big/counter-1m').nid, 2, 1);
    expect(s).toMatchObject({ extents: 2, truncated: true });
    expect(s.first).toHaveLength(1);
  });
});

describe('describeError', () => {
  it('says what a decoder or VFS error means, keeping its own text', () => {
    expect(describeError(new ErofsError('EUCLEAN', 'dirent', 4096, 'names are not sorted'))).toEqual({ code: 'EUCLEAN', headline: 'The image is damaged: a structure in it does not hold together.', text: 'dirent at byte 4096: names are not sorted' });
    expect(describeError(new ErofsError('EINVAL', 'superblock', 1024, 'bad magic 0x0, not an EROFS image')).headline).toBe('This is not an EROFS image, or its superblock is unreadable.');
    expect(describeError(new ErofsError('EOPNOTSUPP', 'superblock', 1024, 'x')).headline).toMatch(/feature this reader does not support/);
    expect(describeError(new TypeError('boom'))).toEqual({ code: undefined, headline: 'Something went wrong while reading the image.', text: 'boom' });
  });
});
