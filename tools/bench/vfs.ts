/**
 * The filesystem layer against the host kernel, in one run:
 *   - stat-walk: getdents64 + lstat of every entry of a real tree (the project's
 *     node_modules), through our VFS over an EROFS image of it, against Node's
 *     fs.readdirSync + fs.lstatSync over the same tree unpacked (what an emulator that
 *     passes files through would do);
 *   - warm lookups of existing and missing paths (resolve + stat), against fs.lstatSync;
 *   - peak RSS of walking a generated image of many entries with the default dentry cache
 *     (N = 1000) and, for contrast, with an effectively unbounded one.
 * Needs mkfs.erofs (Debian's erofs-utils) to build the images, cached under /tmp.
 *
 *   npx tsx tools/bench/vfs.ts [--entries=200000]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Image, MemorySource, loadCodecs } from '../../packages/erofs/src/index.js';
import { FileSource } from '../../packages/erofs/src/node.js';
import { peakKiB } from './guest.js';
import { Filesystem, ROOT, O_DIRECTORY, O_RDONLY, parseDirents, resolve, type Dentry } from '../../packages/vfs/src/index.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ENTRIES = Number(args.entries ?? 200000);
const WORK = '/tmp/erofs-js-bench';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
mkdirSync(WORK, { recursive: true });

function mkfs(src: string, img: string, newerThan?: string): void {
  // Rebuild when the tree changed since (an npm install touches node_modules/.package-lock.json).
  if (existsSync(img) && !(newerThan && existsSync(newerThan) && statSync(newerThan).mtimeMs > statSync(img).mtimeMs)) return;
  rmSync(img, { force: true });
  execFileSync('mkfs.erofs', [img + '.tmp', src], { stdio: 'ignore' });
  execFileSync('mv', [img + '.tmp', img]);
}

/** getdents64 + lookup + stat of every entry below the root: what a guest's `find -ls` does. */
function statWalk(fs: Filesystem, onDir?: () => void): number {
  const buf = new Uint8Array(1 << 16);
  let count = 0;
  const walkDir = (d: Dentry) => {
    const f = fs.open(d, O_RDONLY | O_DIRECTORY, ROOT);
    try {
      for (let n; (n = f.getdents64(buf)) > 0; ) {
        for (const e of parseDirents(buf, n)) {
          if (e.name.length <= 2 && e.name[0] === 0x2e && (e.name.length === 1 || e.name[1] === 0x2e)) continue;
          const c = fs.lookup(d, e.name, ROOT);
          try {
            const st = fs.stat(c);
            count++;
            if ((st.mode & 0o170000) === 0o040000) walkDir(c);
          } finally {
            c.decRef();
          }
        }
        onDir?.();
      }
    } finally {
      f.close();
    }
  };
  walkDir(fs.root);
  return count;
}


// ---- child mode: walk an image and report peak RSS ----------------------------------
if (args.rest) {
  process.stdout.write(String(peakKiB()));
  process.exit(0);
}
if (args.child) {
  await loadCodecs();
  const fs = new Filesystem(new Image(new FileSource(args.child)), { dentryCacheSize: Number(args.n) });
  let maxCached = 0;
  const entries = statWalk(fs, () => (maxCached = Math.max(maxCached, fs.stats().dentriesCached)));
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(JSON.stringify({ entries, maxCached, maxRssKiB: peakKiB(), heapAfterGcMiB: process.memoryUsage().heapUsed / 1048576 }));
  process.exit(0);
}

await loadCodecs();

// ---- stat-walk and lookups over node_modules -----------------------------------------
const nmSrc = join(REPO, 'node_modules');
const nmImg = join(WORK, 'node_modules.erofs');
mkfs(nmSrc, nmImg, join(nmSrc, '.package-lock.json'));
let fs = new Filesystem(new Image(new MemorySource(readFileSync(nmImg))), { dentryCacheSize: 1000 });

const vfsWalk = () => statWalk(fs);

function hostWalk(): number {
  let count = 0;
  const walkDir = (p: string) => {
    for (const name of readdirSync(p)) {
      const q = p + '/' + name;
      const st = lstatSync(q);
      count++;
      if (st.isDirectory()) walkDir(q);
    }
  };
  walkDir(nmSrc);
  return count;
}

function best(fn: () => number, rounds = 5): { ms: number; n: number } {
  let ms = Infinity;
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    n = fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, n };
}

const ours = best(vfsWalk, 20);
const fileFs = new Filesystem(new Image(new FileSource(nmImg)), { dentryCacheSize: 1000 });
const memFs = fs;
fs = fileFs;
const oursFile = best(vfsWalk, 20);
fs = memFs;
const host = best(hostWalk, 20);
console.log(`stat-walk (getdents64 + lstat of every entry) of node_modules: ${ours.n} entries (host counted ${host.n}), best of 20, warm`);
console.log(`  erofs-js VFS, image in memory      ${(ours.n / ours.ms / 1000).toFixed(2)} M entries/s  (${ours.ms.toFixed(2)} ms)  ${(host.ms / ours.ms).toFixed(2)}x the host`);
console.log(`  erofs-js VFS, image via FileSource ${(oursFile.n / oursFile.ms / 1000).toFixed(2)} M entries/s  (${oursFile.ms.toFixed(2)} ms)  ${(host.ms / oursFile.ms).toFixed(2)}x the host`);
console.log(`  Node fs.readdirSync + lstatSync    ${(host.n / host.ms / 1000).toFixed(2)} M entries/s  (${host.ms.toFixed(2)} ms)`);

// Paths for lookups: every file, sampled.
const paths: string[] = [];
const collect = (p: string, rel: string) => {
  for (const name of readdirSync(p)) {
    const st = lstatSync(p + '/' + name);
    paths.push(rel + '/' + name);
    if (st.isDirectory()) collect(p + '/' + name, rel + '/' + name);
  }
};
collect(nmSrc, '');
let seed = 1;
const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
const sample = Array.from({ length: 100000 }, () => paths[rnd(paths.length)]);
const missing = sample.map((p) => p + '.missing');

const lookups = (list: string[]) => () => {
  let ok = 0;
  for (const p of list) {
    try {
      const d = resolve(fs, p, ROOT, { follow: false });
      fs.stat(d);
      d.decRef();
      ok++;
    } catch {
      // ENOENT for the missing ones
    }
  }
  return list.length;
};
const hostLookups = (list: string[]) => () => {
  for (const p of list) {
    try {
      lstatSync(nmSrc + p);
    } catch {
      // ENOENT
    }
  }
  return list.length;
};
// lstatSync with throwIfNoEntry false avoids the cost of an exception per miss.
const hostMissing = (list: string[]) => () => {
  for (const p of list) lstatSync(nmSrc + p, { throwIfNoEntry: false });
  return list.length;
};
const hot = Array.from({ length: 100000 }, (_, i) => sample[i % 200]);
lookups(hot)();
const hw = best(lookups(hot), 3);
const hh = best(hostLookups(hot), 3);
lookups(sample)();
const lw = best(lookups(sample), 3);
const lh = best(hostLookups(sample), 3);
const mw = best(lookups(missing), 3);
const mh = best(hostMissing(missing), 3);
console.log(`\n100k random lookups (resolve + lstat), warm dentry cache of 1000 over ${paths.length} paths`);
console.log(`  hot set of 200 paths (all cached): erofs-js ${(100 / hw.ms).toFixed(2)} M/s, host lstatSync ${(100 / hh.ms).toFixed(2)} M/s, ratio ${(hh.ms / hw.ms).toFixed(2)}x`);
console.log(`  existing: erofs-js ${(100 / lw.ms).toFixed(2)} M/s, host lstatSync ${(100 / lh.ms).toFixed(2)} M/s, ratio ${(lh.ms / lw.ms).toFixed(2)}x`);
console.log(`  missing:  erofs-js ${(100 / mw.ms).toFixed(2)} M/s, host lstatSync ${(100 / mh.ms).toFixed(2)} M/s, ratio ${(mh.ms / mw.ms).toFixed(2)}x`);
const st = fs.stats();
console.log(`  dentry cache: ${st.dentriesCached} cached, ${st.dentriesPinned} pinned, hits ${st.lookupHits}, misses ${st.lookupMisses}`);

// ---- peak RSS of a big walk ----------------------------------------------------------
const bigImg = join(WORK, `big-${ENTRIES}.erofs`);
if (!existsSync(bigImg)) {
  const src = join('/dev/shm', `erofs-js-big-${ENTRIES}`);
  rmSync(src, { recursive: true, force: true });
  const perDir = 1000;
  for (let d = 0; d * perDir < ENTRIES; d++) {
    const dir = join(src, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perDir && d * perDir + i < ENTRIES; i++) writeFileSync(join(dir, `file-${i}`), '');
  }
  mkfs(src, bigImg);
  rmSync(src, { recursive: true, force: true });
}
console.log(`\npeak RSS walking a generated image of ${ENTRIES} entries (getdents64 + lookup + stat of each)`);
const self = fileURLToPath(import.meta.url);
const baseline = spawnSync(process.execPath, ['--import', 'tsx', self, '--rest=1']);
console.log(`  node + tsx at rest:      ${(Number(baseline.stdout) / 1024).toFixed(0)} MiB`);
for (const n of [1000, 1e9]) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, `--child=${bigImg}`, `--n=${n}`], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout);
  console.log(
    `  dentry cache N=${n === 1000 ? '1000    ' : 'no bound'}: ${(j.maxRssKiB / 1024).toFixed(0)} MiB peak RSS, ${j.heapAfterGcMiB.toFixed(1)} MiB heap after the walk, ${j.entries} entries, at most ${j.maxCached} cached dentries`,
  );
}
