/**
 * Property: arbitrary trees (names up to 255 bytes, non-ASCII and non-UTF-8, sizes around
 * block boundaries, deep and wide directories, every file type, xattrs inline and shared,
 * hard links, block sizes 512..4096, inline or not, sparse chunked files with 4-byte block
 * maps or 8-byte chunk indexes, LZ4-compressed files of text, ramps and noise) built by our
 * builder and read back by our decoder and our VFS equal the tree: metadata, content,
 * directory order, xattrs, lookups of existing and missing names.
 *
 * The fast-check seed is printed; rerun a failure with FC_SEED=<seed>. FC_RUNS scales the
 * number of runs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Image, MemorySource, isDir, walk } from '@erofs-js/erofs';
import { Filesystem, ROOT, O_RDONLY, O_DIRECTORY, O_NOFOLLOW, openPath, parseDirents, resolve } from '@erofs-js/vfs';
import { buildImage, dir, file } from '@erofs-js/mkfs';
import { manifest, readdirRecords } from '../packages/cli/src/manifest.js';
import { fsck } from '../packages/cli/src/fsck.js';
import { expectedOf, treeOf, treeSpecArb, withoutIno, type TreeSpec } from './mkfs-tree.js';
import { fcRuns } from './fc-runs.js';

const { runs } = fcRuns('mkfs properties', 20260601);

const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const utf8 = new TextEncoder();

function checkSpec(spec: TreeSpec): void {
  const { tree, options } = treeOf(spec);
  const bytes = buildImage(tree, options);
  expect(bytes.length % spec.blockSize).toBe(0);
  const want = expectedOf(tree, options);
  const image = new Image(new MemorySource(bytes));

  // Decoder: the manifest `erofs manifest` prints, path by path.
  const got = [...manifest(image)].map(withoutIno);
  const wantRecs = [...want.paths].sort((a, b) => Buffer.compare(a, b)).map((p) => want.records.get(latin(p)));
  expect(got).toEqual(wantRecs);

  // Directory order on disk, and lookups of every name and of missing ones.
  const listings = [...readdirRecords(image)];
  expect(listings.length).toBe(want.listings.size);
  walk(image, (e) => {
    if (!isDir(e.inode)) return;
    const names = want.listings.get(latin(e.path))!;
    const entries = [...image.readdir(e.inode)].filter(({ name: n }) => !(n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e))));
    expect(entries.map((d) => latin(d.name))).toEqual(names.map(latin));
    const present = new Set(names.map(latin));
    // The binary search lands on the very entry the listing holds: name, nid and type.
    for (const d of entries) {
      const hit = image.lookup(e.inode, d.name);
      expect(hit && { name: latin(hit.name), nid: hit.nid, fileType: hit.fileType }, `lookup ${latin(d.name)}`).toEqual({ name: latin(d.name), nid: d.nid, fileType: d.fileType });
    }
    expect(image.lookup(e.inode, '.')!.nid).toBe(e.inode.nid);
    for (const miss of ['\x01', '-', 'zzzz-missing', '\xff', ...names.slice(0, 3).map((n) => latin(n) + '~')]) {
      const mb = Buffer.from(miss, 'latin1');
      if (!present.has(latin(mb))) expect(image.lookup(e.inode, mb), `missing ${miss}`).toBeUndefined();
    }
  });

  // Xattrs one by one, and a missing one on every inode.
  walk(image, (e) => {
    const rec = want.records.get(latin(e.path))!;
    for (const [name, v] of Object.entries(rec.xattrs ?? {})) expect(Buffer.from(image.getXattr(e.inode, name)!).toString('base64')).toBe(v);
    expect(image.getXattr(e.inode, 'user.missing')).toBeUndefined();
  });

  // fsck: no errors.
  expect(fsck(image, { maxErrors: 5 }).errors).toEqual([]);

  // VFS: stat, read, getdents64 order through path resolution.
  const fs = new Filesystem(image);
  for (const p of want.paths) {
    const rec = want.records.get(latin(p))!;
    const d = resolve(fs, p, ROOT, { follow: false });
    const st = fs.stat(d);
    expect({ mode: st.mode, size: st.size, nlink: st.nlink, uid: st.uid, gid: st.gid, mtime: st.mtime, nsec: st.mtimeNsec }).toEqual({
      mode: rec.mode, size: rec.size, nlink: rec.nlink, uid: rec.uid, gid: rec.gid, mtime: rec.mtime, nsec: rec.mtime_nsec,
    });
    d.decRef();
    if (rec.type === 'file') {
      const f = openPath(fs, p, O_RDONLY | O_NOFOLLOW, ROOT);
      const buf = new Uint8Array(rec.size + 1);
      let n = 0;
      for (let r; (r = f.read(buf, n, Math.min(1000, buf.length - n))) > 0; ) n += r;
      expect(n).toBe(rec.size);
      expect(createHash('sha256').update(buf.subarray(0, n)).digest('hex')).toBe(rec.sha256);
      f.close();
    } else if (rec.type === 'dir') {
      const f = openPath(fs, p, O_RDONLY | O_DIRECTORY, ROOT);
      const names: string[] = [];
      const buf = new Uint8Array(700);
      for (let n; (n = f.getdents64(buf)) > 0; ) for (const e of parseDirents(buf, n)) names.push(latin(e.name));
      const sorted = [...want.listings.get(latin(p))!.map(latin), '.', '..'].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
      expect(names).toEqual(sorted);
      f.close();
    }
  }
  fs.release();
}

describe('builder -> decoder and VFS', () => {
  it('an empty root, every block size', () => {
    for (const blockSize of [512, 1024, 2048, 4096]) {
      const image = new Image(new MemorySource(buildImage(dir(), { blockSize })));
      expect([...image.readdir(image.root())].map((d) => latin(d.name))).toEqual(['.', '..']);
    }
  });

  it('a file of every size from 0 to 2 blocks + 1 (512-byte blocks)', () => {
    const entries: Record<string, ReturnType<typeof file>> = {};
    for (let n = 0; n <= 1025; n++) entries[`f${n}`] = file(new Uint8Array(n).fill(n & 255));
    const image = new Image(new MemorySource(buildImage(dir(entries), { blockSize: 512 })));
    for (let n = 0; n <= 1025; n++) {
      const ent = image.lookup(image.root(), `f${n}`)!;
      const data = image.readFile(image.inode(ent.nid));
      expect(data.length).toBe(n);
      expect(data.every((b) => b === (n & 255))).toBe(true);
    }
  });

  it('arbitrary trees equal their images', () => {
    fc.assert(
      fc.property(treeSpecArb, (spec) => {
        checkSpec(spec);
      }),
      runs(250),
    );
  }, 300_000); // LZ4 trees with 300 KB files; the machine runs other jobs

  it('names sort bytewise across blocks, "." and ".." among them', () => {
    const names = ['-', '!', '.a', '..b', 'é', '\u00ff', 'Z', 'a'.repeat(255)];
    const image = new Image(new MemorySource(buildImage(dir(Object.fromEntries(names.map((n) => [n, file(n)]))), { blockSize: 512 })));
    const got = [...image.readdir(image.root())].map((d) => d.name);
    const want = [...names, '.', '..'].map((n) => utf8.encode(n)).sort((a, b) => Buffer.compare(a, b));
    expect(got.map(latin)).toEqual(want.map(latin));
  });
});
