// SPDX-License-Identifier: LGPL-3.0-or-later
/**
 * How ZenFS's fs does over our backend next to ZenFS over its own InMemory backend holding
 * the same tree, and node:fs on the directory itself: a stat walk (readdir + lstat of every
 * entry) and reading every file, in one run (ratios are the point, absolute times drift).
 *
 *   node --import tsx packages/zenfs/bench/walk.ts [DIR...]   (default: a few node_modules packages)
 */
import * as nodefs from 'node:fs';
import { join } from 'node:path';
import { configure, fs, InMemory, mounts, umount } from '@zenfs/core';
import { buildImage, dir, type DirNode } from '@erofs-js/mkfs';
import { treeFromDirectory } from '@erofs-js/mkfs/node';
import { Erofs, type ErofsFS } from '@erofs-js/zenfs';

type Fs = { readdirSync: typeof nodefs.readdirSync; lstatSync: typeof nodefs.lstatSync; readFileSync: typeof nodefs.readFileSync };

const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['node_modules/@types', 'node_modules/@zenfs', 'node_modules/typescript', 'node_modules/vitest', 'node_modules/fast-check'];
const top = dir(Object.fromEntries(dirs.map((d, i) => [String(i), treeFromDirectory(d)]))) as DirNode;
const image = buildImage(top);

function walk(f: Fs, root: string): { entries: number; files: string[] } {
  let entries = 0;
  const files: string[] = [];
  const stack = [root];
  while (stack.length) {
    const d = stack.pop()!;
    for (const name of f.readdirSync(d) as string[]) {
      const p = d === '/' ? '/' + name : d + '/' + name;
      const st = f.lstatSync(p) as nodefs.Stats;
      entries++;
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile()) files.push(p);
    }
  }
  return { entries, files };
}

function time(fn: () => void, rounds = 5): number {
  fn();
  const t = [];
  for (let i = 0; i < rounds; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[Math.floor(rounds / 2)];
}

function measure(name: string, f: Fs, roots: string[]) {
  let files: string[] = [];
  let entries = 0;
  const walkMs = time(() => {
    files = [];
    entries = 0;
    for (const r of roots) {
      const w = walk(f, r);
      entries += w.entries;
      files.push(...w.files);
    }
  });
  let bytes = 0;
  const readMs = time(() => {
    bytes = 0;
    for (const p of files) bytes += (f.readFileSync(p) as Uint8Array).length;
  });
  return { name, entries, files: files.length, bytes, walkMs, readMs };
}

await configure({ mounts: { '/': { backend: Erofs, data: image } } });
const ours = mounts.get('/') as ErofsFS;
const rows = [measure('ZenFS over Erofs (image in memory)', fs as unknown as Fs, ['/'])];
umount('/');
ours.close();

await configure({ mounts: { '/': InMemory } });
const copy = (src: string, dst: string) => {
  for (const e of nodefs.readdirSync(src, { withFileTypes: true })) {
    const s = join(src, e.name);
    const d = dst + '/' + e.name;
    if (e.isDirectory()) {
      fs.mkdirSync(d);
      copy(s, d);
    } else if (e.isFile()) fs.writeFileSync(d, nodefs.readFileSync(s));
    else if (e.isSymbolicLink()) fs.symlinkSync(nodefs.readlinkSync(s), d);
  }
};
dirs.forEach((d, i) => {
  fs.mkdirSync('/' + i);
  copy(d, '/' + i);
});
rows.push(measure('ZenFS over InMemory (same tree)', fs as unknown as Fs, ['/']));
rows.push(measure('node:fs on the directories', nodefs as unknown as Fs, dirs.map((d) => nodefs.realpathSync(d))));

console.log(`image ${(image.length / 2 ** 20).toFixed(1)} MiB`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(38)} ${String(r.entries).padStart(6)} entries ${String(r.files).padStart(5)} files ` +
      `walk ${r.walkMs.toFixed(1).padStart(7)} ms (${((r.entries / r.walkMs) * 1000 / 1e3).toFixed(0)} k entries/s)  ` +
      `read ${r.readMs.toFixed(1).padStart(7)} ms (${((r.bytes / 2 ** 20) / (r.readMs / 1000)).toFixed(0)} MiB/s)`,
  );
}
