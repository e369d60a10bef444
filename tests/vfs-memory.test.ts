/**
 * Walking many entries keeps the dentry cache bounded: at most N unreferenced dentries
 * cached, pinned ones only along the current path, inodes only for those. Walks a
 * fixture many times with a small N; when mkfs.erofs is installed, also builds an image
 * with a large flat directory tree and walks it with N = 1000.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Image, MemorySource } from '@erofs-js/erofs';
import { Filesystem, ROOT, parseDirents, O_DIRECTORY, O_RDONLY, type Dentry, type FileDescription } from '@erofs-js/vfs';
import { openFixture } from './fixtures.js';

interface WalkStats {
  entries: number;
  maxCached: number;
  maxPinned: number;
  maxInodes: number;
  maxDepth: number;
}

/** Depth-first walk through the VFS: getdents64 of each directory, lookup and stat of each entry. */
function walk(fs: Filesystem, n: number): WalkStats {
  const s: WalkStats = { entries: 0, maxCached: 0, maxPinned: 0, maxInodes: 0, maxDepth: 0 };
  const buf = new Uint8Array(4096);
  const frames: { dir: Dentry; f: FileDescription; pending: Uint8Array[] }[] = [];
  const enter = (d: Dentry) => frames.push({ dir: d, f: fs.open(d, O_RDONLY | O_DIRECTORY, ROOT), pending: [] });
  enter(fs.root.incRef());
  while (frames.length) {
    const top = frames[frames.length - 1];
    if (top.pending.length === 0) {
      const got = top.f.getdents64(buf);
      if (got === 0) {
        top.f.close();
        top.dir.decRef();
        frames.pop();
        continue;
      }
      for (const e of parseDirents(buf, got).reverse()) {
        if (e.name[0] === 0x2e && (e.name.length === 1 || (e.name.length === 2 && e.name[1] === 0x2e))) continue;
        top.pending.push(e.name);
      }
      continue;
    }
    const child = fs.lookup(top.dir, top.pending.pop()!, ROOT);
    s.entries++;
    fs.stat(child);
    const st = fs.stats();
    s.maxCached = Math.max(s.maxCached, st.dentriesCached);
    s.maxPinned = Math.max(s.maxPinned, st.dentriesPinned);
    s.maxInodes = Math.max(s.maxInodes, st.inodesLive);
    expect(st.dentriesCached).toBeLessThanOrEqual(n);
    if (child.inode.isDir) {
      enter(child);
      s.maxDepth = Math.max(s.maxDepth, frames.length);
    } else child.decRef();
  }
  return s;
}

describe('bounded memory while walking', () => {
  for (const n of [0, 1, 16, 100]) {
    it(`basic-18.erofs walked 5 times with N = ${n}`, () => {
      const fs = new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: n });
      let total = 0;
      for (let i = 0; i < 5; i++) {
        const s = walk(fs, n);
        total += s.entries;
        expect(s.maxCached).toBeLessThanOrEqual(n);
        // Pinned: the directories on the current path, and ancestors of cached dentries.
        expect(s.maxPinned).toBeLessThanOrEqual(s.maxDepth + 1 + n * (s.maxDepth + 1));
        expect(s.maxInodes).toBeLessThanOrEqual(s.maxPinned + n);
      }
      expect(total).toBe(5 * 2746);
      expect(fs.stats().dentriesCached).toBeLessThanOrEqual(n);
      fs.release();
      expect(fs.stats()).toMatchObject({ dentriesCached: 0, dentriesPinned: 0, inodesLive: 0 });
    });
  }

  // Skipped where mkfs.erofs is not installed.
  const mkfs = spawnSync('mkfs.erofs', ['--help'], { stdio: 'pipe' }).error ? '' : 'mkfs.erofs';
  // A RAM-backed directory when there is one: 60000 small files on a busy disk take a minute.
  const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkfs ? mkdtempSync(join(scratch, 'vfs-mem-')) : '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!mkfs)('a generated image of 60000 entries walked with N = 1000', () => {
    const tree = join(dir, 'tree');
    for (let d = 0; d < 30; d++) {
      const sub = join(tree, `d${d}`, `e${d % 7}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 2000; f++) writeFileSync(join(sub, `file-${f.toString(36)}-${'x'.repeat(f % 40)}`), '');
    }
    const img = join(dir, 'big.erofs');
    execFileSync(mkfs, ['-T0', '--quiet', img, tree], { stdio: 'pipe' });
    const bytes = new Uint8Array(readFileSync(img));
    const fs = new Filesystem(new Image(new MemorySource(bytes)), { dentryCacheSize: 1000 });
    const before = process.memoryUsage().heapUsed;
    const s = walk(fs, 1000);
    const after = process.memoryUsage().heapUsed;
    expect(s.entries).toBe(30 * 2000 + 30 * 2);
    expect(s.maxCached).toBeLessThanOrEqual(1000);
    expect(s.maxInodes).toBeLessThanOrEqual(1000 + s.maxPinned);
    expect(fs.stats().dirEntriesCached).toBeLessThanOrEqual(16384);
    console.log(`vfs-memory: ${s.entries} entries, max cached ${s.maxCached}, max pinned ${s.maxPinned}, heap ${((after - before) / 2 ** 20).toFixed(1)} MiB delta`);
    fs.release();
  }, 180_000);
});
