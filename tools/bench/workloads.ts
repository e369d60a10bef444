/**
 * Guest workloads over the corpus (tools/bench/corpus.ts), through the mount layer's Task
 * the way an emulator's syscall handlers call it, against the baselines in the same run:
 *
 *   1. walk + read: getdents64, newfstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) of every
 *      entry, openat + fstat + read in 64 KiB pieces + close of every regular file;
 *      cold (page cache dropped when /proc/sys/vm/drop_caches is writable, fresh
 *      FileSource and Filesystem), fresh (new objects, image in the page cache), warm
 *      (a second pass over the same mount, whose share of a 256 MiB page cache holds what
 *      the cold pass decoded); and "abs": the fresh walk with every stat and open by its
 *      absolute path (what find, tar and most programs do);
 *   2. metadata walk: the same without opening files;
 *   3. 100k random lstat lookups of existing and of missing paths, cold (fresh
 *      filesystem) and warm, plus a hot set of 200 paths that fits the dentry cache;
 *   4. the largest file read sequentially in 64 KiB pieces, and 20k random 4 KiB preads;
 *   5. mount time: open the file, read and checksum the superblock, resolve the root,
 *      build the namespace and a task;
 *   6. peak RSS (VmHWM) of workloads 1 and 2 (default dentry cache), each in its own process;
 *   7. page cache budgets: walk + read twice in a process of its own with a host page cache
 *      of 8, 32, 128 and 512 MiB: the time of each pass and the peak RSS.
 *
 * Baselines: `fsck.erofs --extract` (1.8+, no target) on the same image; the same walk in
 * Node (readdirSync, lstatSync, openSync/fstatSync/readSync 64 KiB/closeSync) over the
 * unpacked tree through the host kernel, and over the kernel's own loop mount of the
 * image (cold: remounted after dropping caches). A baseline the machine cannot run is
 * left out with its reason.
 *
 *   npx tsx tools/bench/workloads.ts [--quick] [--rounds=3] [--out=PATH] [--only=walk,meta,lookups,big,mount,rss,budgets] [--trees=debian] [--images=lz4,zstd]
 *
 * Writes OUT.json (every figure) and OUT.md (the tables and the targets); OUT defaults to
 * $TMPDIR/erofs-js-workloads. `npm run bench` (index.ts) folds them into bench-results/.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PageCache, loadCodecs, type Codec } from '../../packages/erofs/src/index.js';
import { createNodeDeflate } from '../../packages/erofs/src/node.js';
import { O_DIRECTORY, O_RDONLY, ROOT, resolve as vfsResolve, type FilesystemStats } from '../../packages/vfs/src/index.js';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, type Task } from '../../packages/mount/src/task.js';
import { ensureCorpus, findMkfs, type BuiltImage, type Tree } from './corpus.js';
import { guestLookups, guestWalk, guestWalkAbs, hostWalk, mountImage, type Mounted, type WalkCount } from './guest.js';

/** The page cache budget of the warm pass (issue 17's target is stated for 256 MiB). */
const WARM_BUDGET = 256 << 20;

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const QUICK = args.quick === 'true';
const ROUNDS = Number(args.rounds ?? (QUICK ? 2 : 3));
const log = (s: string) => process.stderr.write(s + '\n');

// ---- the machine ------------------------------------------------------------------------


function dropCaches(): boolean {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
const canDrop = dropCaches();
const dropNote = canDrop
  ? 'cold = `echo 3 > /proc/sys/vm/drop_caches` (page, dentry and inode caches of the host kernel) before the pass, plus fresh objects on our side'
  : 'cold: /proc/sys/vm/drop_caches is not writable here, so "cold" means fresh objects only (the host page cache stays warm)';

const KM = '/tmp/erofs-js-bench-kmount';
let kmountNote = '';
function kmount(image: string): boolean {
  kumount();
  mkdirSync(KM, { recursive: true });
  const r = spawnSync('mount', ['-t', 'erofs', '-o', 'loop,ro', image, KM], { encoding: 'utf8' });
  if (r.status !== 0) {
    kmountNote = `kernel loop mount unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
    return false;
  }
  return true;
}
function kumount(): void {
  spawnSync('umount', [KM], { stdio: 'ignore' });
}
const canMount = process.getuid?.() === 0 && (() => {
  try {
    return /\berofs\b/.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
})();
if (!canMount) kmountNote = process.getuid?.() !== 0 ? 'kernel loop mount skipped: needs root' : 'kernel loop mount skipped: no erofs in /proc/filesystems';

const bins = findMkfs();
const fsckNote = bins.fsck ? '' : 'fsck.erofs 1.8+ not found (/opt/erofs-utils/bin/fsck.erofs19 or one on PATH): that baseline is left out';

// ---- timing -------------------------------------------------------------------------------

/** Wall time and this process's CPU time (user + system, which includes the kernel's work in our syscalls). */
interface Took {
  ms: number;
  cpu: number;
}

function time<T>(fn: () => T): Took & { r: T } {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = fn();
  const ms = performance.now() - t;
  const u = process.cpuUsage(c);
  return { ms, cpu: (u.user + u.system) / 1000, r };
}

const min = (xs: number[]) => (xs.length ? Math.min(...xs) : NaN);

/** Best wall time and best CPU time of a series of runs. */
class Series {
  private readonly walls: number[] = [];
  private readonly cpus: number[] = [];
  add(t: Took): void {
    if (Number.isNaN(t.ms)) return;
    this.walls.push(t.ms);
    this.cpus.push(t.cpu);
  }
  get ms(): number | undefined {
    return this.walls.length ? min(this.walls) : undefined;
  }
  get cpu(): number | undefined {
    return this.cpus.length ? min(this.cpus) : undefined;
  }
}

/**
 * fsck.erofs --extract, timed from here (wall) and by the shell's `times` (its CPU time,
 * user + system, as getrusage reports for the child).
 */
function fsckRun(image: string): Took {
  if (!bins.fsck) return { ms: NaN, cpu: NaN };
  const t = performance.now();
  const r = spawnSync('bash', ['-c', '"$0" --extract "$1" >/dev/null 2>&1 || exit 1; times', bins.fsck, image], { encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) return { ms: NaN, cpu: NaN };
  // second line: children's user and system time, "0m0.012s 0m0.020s"
  const line = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { ms, cpu: secs.length === 2 ? (secs[0] + secs[1]) * 1000 : NaN };
}

// ---- results --------------------------------------------------------------------------------

interface WalkRow {
  tree: string;
  image: string;
  imageMiB: number;
  count: WalkCount;
  oursCold: number;
  oursFresh: number;
  oursWarm: number;
  /** Fresh, every stat and open by absolute path. */
  oursAbs: number;
  fsck?: number;
  hostCold: number;
  hostWarm: number;
  kmCold?: number;
  kmWarm?: number;
  /** The same, in CPU time of the process doing the work (ms). */
  cpu: Record<'oursCold' | 'oursFresh' | 'oursWarm' | 'oursAbs' | 'fsck' | 'hostCold' | 'hostWarm' | 'kmCold' | 'kmWarm', number | undefined>;
  mismatch?: string;
}

interface LookupRow {
  tree: string;
  image: string;
  paths: number;
  // million lookups per second
  existingCold: number;
  existingWarm: number;
  missingCold: number;
  missingWarm: number;
  hotWarm: number;
  /** The hot set through the VFS's own resolve (string paths), without the mount layer. */
  hotVfs: number;
  /** Warm rates in CPU time (million per CPU second): existing, hot. */
  existingWarmCpu: number;
  hotWarmCpu: number;
  hostExisting: number;
  hostMissing: number;
  hostHot: number;
  stats: FilesystemStats;
}

interface BigRow {
  tree: string;
  image: string;
  file: string;
  bytes: number;
  seqMs: number;
  randMs: number;
  /** The random preads on a mount with a 256 MiB page cache, after one sequential read. */
  randWarmMs: number;
  hostSeqMs: number;
  hostRandMs: number;
  kmSeqMs?: number;
  kmRandMs?: number;
}

interface MountRow {
  tree: string;
  image: string;
  bestMs: number;
  medianMs: number;
}

interface BudgetRow {
  tree: string;
  image: string;
  budgetMiB: number;
  passMs: number[];
  maxRssMiB: number;
  cachedMiB: number;
}

interface RssRow {
  tree: string;
  image: string;
  walk: 'read' | 'meta';
  maxRssMiB: number;
  entries: number;
  dentriesCached: number;
}

const results = {
  walk: [] as WalkRow[],
  meta: [] as WalkRow[],
  lookups: [] as LookupRow[],
  big: [] as BigRow[],
  mount: [] as MountRow[],
  rss: [] as RssRow[],
  budgets: [] as BudgetRow[],
  restRssMiB: NaN,
  notes: [] as string[],
  skipped: [] as string[],
};

// ---- workloads 1 and 2 ----------------------------------------------------------------------

function sameCount(a: WalkCount, b: WalkCount, read: boolean): boolean {
  return a.entries === b.entries && (!read || (a.files === b.files && a.bytes === b.bytes));
}

function walkBench(tree: Tree, img: BuiltImage, read: boolean, codecs?: Partial<Record<number, Codec>>, label = img.variant, baselines = true): WalkRow {
  const [cold, fresh, warm, abs, fsck, hc, hw, kc, kw] = Array.from({ length: 9 }, () => new Series());
  let count: WalkCount = { entries: 0, files: 0, bytes: 0 };
  let mismatch: string | undefined;
  const useKm = baselines && canMount && !kmountNote.startsWith('kernel loop mount unavailable');
  for (let r = 0; r < ROUNDS; r++) {
    // ours: cold, then a second pass (warm) on the same mount, with a page cache that
    // holds what the first pass decoded
    dropCaches();
    let m = mountImage(img.path, codecs, new PageCache(WARM_BUDGET));
    const c1 = time(() => guestWalk(m.task, read));
    cold.add(c1);
    count = c1.r;
    warm.add(time(() => guestWalk(m.task, read)));
    m.close();
    // ours: fresh objects (default page cache), image bytes already in the host's page cache
    m = mountImage(img.path, codecs);
    fresh.add(time(() => guestWalk(m.task, read)));
    m.close();
    // the same by absolute paths
    m = mountImage(img.path, codecs);
    const a = time(() => guestWalkAbs(m.task, read));
    abs.add(a);
    m.close();
    if (!sameCount(a.r, count, read)) mismatch = `absolute-path walk counted ${JSON.stringify(a.r)}, the dirfd walk ${JSON.stringify(count)}`;
    if (read && baselines) fsck.add(fsckRun(img.path));
    if (baselines) {
      dropCaches();
      const h = time(() => hostWalk(tree.dir, read));
      hc.add(h);
      hw.add(time(() => hostWalk(tree.dir, read)));
      if (!sameCount(h.r, count, read)) mismatch = `host tree counted ${JSON.stringify(h.r)}, ours ${JSON.stringify(count)}`;
    }
    if (useKm) {
      dropCaches();
      if (kmount(img.path)) {
        const k = time(() => hostWalk(KM, read));
        kc.add(k);
        kw.add(time(() => hostWalk(KM, read)));
        kumount();
        if (!sameCount(k.r, count, read)) mismatch = `kernel mount counted ${JSON.stringify(k.r)}, ours ${JSON.stringify(count)}`;
      }
    }
  }
  return {
    tree: tree.name,
    image: label,
    imageMiB: img.bytes / 1048576,
    count,
    oursCold: cold.ms!,
    oursFresh: fresh.ms!,
    oursWarm: warm.ms!,
    oursAbs: abs.ms!,
    fsck: fsck.ms,
    hostCold: hc.ms ?? NaN,
    hostWarm: hw.ms ?? NaN,
    kmCold: kc.ms,
    kmWarm: kw.ms,
    cpu: { oursCold: cold.cpu, oursFresh: fresh.cpu, oursWarm: warm.cpu, oursAbs: abs.cpu, fsck: fsck.cpu, hostCold: hc.cpu, hostWarm: hw.cpu, kmCold: kc.cpu, kmWarm: kw.cpu },
    mismatch,
  };
}

// ---- workload 3: lookups ---------------------------------------------------------------------

/** Every path below `dir` (relative, with a leading slash), and the regular files among them. */
function treePaths(dir: string): { paths: string[]; files: Set<string> } {
  const paths: string[] = [];
  const files = new Set<string>();
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p)) {
      const st = lstatSync(p + '/' + name);
      paths.push(rel + '/' + name);
      if (st.isFile()) files.add(rel + '/' + name);
      if (st.isDirectory()) walk(p + '/' + name, rel + '/' + name);
    }
  };
  walk(dir, '');
  return { paths, files };
}

function lookupBench(tree: Tree, img: BuiltImage): LookupRow {
  const { paths, files } = treePaths(tree.dir);
  let seed = 12345;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  const N = 100000;
  const enc = new TextEncoder();
  const existing = Array.from({ length: N }, () => paths[rnd(paths.length)]);
  // Missing: a sibling that is not there, or a name under a file (ENOTDIR) now and then.
  // (a name under a symlink or directory might exist, so only under regular files)
  const missing = existing.map((p, i) => (i % 10 === 0 && files.has(p) ? p + '/x' : p + '.missing'));
  const hot = Array.from({ length: N }, (_, i) => existing[i % 200]);
  const bytes = (l: string[]) => l.map((p) => enc.encode(p));
  const [eB, mB, hB] = [bytes(existing), bytes(missing), bytes(hot)];
  const ours = guestLookups;
  const host = (list: string[]) => {
    let ok = 0;
    for (const p of list) {
      try {
        if (lstatSync(tree.dir + p, { throwIfNoEntry: false })) ok++;
      } catch {
        // ENOTDIR (a name under a file)
      }
    }
    return ok;
  };
  const rate = (ms: number) => N / ms / 1000;
  const vfsHot = (m: Mounted) => {
    for (const p of hot) {
      const d = vfsResolve(m.fs, p, ROOT, { follow: false });
      m.fs.stat(d);
      d.decRef();
    }
  };
  const eWc: number[] = [], hWc: number[] = [], hV: number[] = [];
  const eC: number[] = [], eW: number[] = [], mC: number[] = [], mW: number[] = [], hW: number[] = [];
  const hE: number[] = [], hM: number[] = [], hH: number[] = [];
  let stats!: FilesystemStats;
  for (let r = 0; r < ROUNDS; r++) {
    let m = mountImage(img.path);
    const c = time(() => ours(m.task, eB));
    if (c.r !== N) throw new Error(`lookups: ${N - c.r} existing paths not found in ${img.path}`);
    eC.push(c.ms);
    ours(m.task, eB);
    const ew = time(() => ours(m.task, eB));
    eW.push(ew.ms);
    eWc.push(ew.cpu);
    stats = m.fs.stats();
    m.close();
    m = mountImage(img.path);
    const mc = time(() => ours(m.task, mB));
    if (mc.r !== 0) throw new Error(`lookups: ${mc.r} missing paths found`);
    mC.push(mc.ms);
    ours(m.task, mB);
    mW.push(time(() => ours(m.task, mB)).ms);
    ours(m.task, hB);
    const hw = time(() => ours(m.task, hB));
    hW.push(hw.ms);
    hWc.push(hw.cpu);
    hV.push(time(() => vfsHot(m)).ms);
    m.close();
    host(existing);
    hE.push(time(() => host(existing)).ms);
    hM.push(time(() => host(missing)).ms);
    hH.push(time(() => host(hot)).ms);
  }
  return {
    tree: tree.name,
    image: img.variant,
    paths: paths.length,
    existingCold: rate(min(eC)),
    existingWarm: rate(min(eW)),
    missingCold: rate(min(mC)),
    missingWarm: rate(min(mW)),
    hotWarm: rate(min(hW)),
    hotVfs: rate(min(hV)),
    existingWarmCpu: rate(min(eWc)),
    hotWarmCpu: rate(min(hWc)),
    hostExisting: rate(min(hE)),
    hostMissing: rate(min(hM)),
    hostHot: rate(min(hH)),
    stats,
  };
}

// ---- workload 4: the largest file -------------------------------------------------------------

function largest(dir: string): { rel: string; size: number } {
  let best = { rel: '', size: -1 };
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p)) {
      const st = lstatSync(p + '/' + name);
      if (st.isDirectory()) walk(p + '/' + name, rel + '/' + name);
      else if (st.isFile() && st.size > best.size) best = { rel: rel + '/' + name, size: st.size };
    }
  };
  walk(dir, '');
  return best;
}

function bigBench(tree: Tree, imgs: BuiltImage[]): BigRow[] {
  const { rel, size } = largest(tree.dir);
  const R = 20000;
  let seed = 777;
  const offsets = Array.from({ length: R }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % Math.max(1, Math.floor(size / 4096))) * 4096);
  const data = new Uint8Array(1 << 16);
  const page = new Uint8Array(4096);
  const oursSeq = (task: Task) => {
    const fd = task.openat(AT_FDCWD, rel, O_RDONLY);
    let n = 0;
    for (let k; (k = task.read(fd, data)) > 0; ) n += k;
    task.close(fd);
    if (n !== size) throw new Error(`read ${n} of ${size} bytes of ${rel}`);
  };
  const oursRand = (task: Task) => {
    const fd = task.openat(AT_FDCWD, rel, O_RDONLY);
    for (const o of offsets) task.pread64(fd, page, o);
    task.close(fd);
  };
  const hostSeq = (path: string) => {
    const fd = openSync(path, 'r');
    let n = 0;
    for (let k; (k = readSync(fd, data, 0, data.length, null)) > 0; ) n += k;
    closeSync(fd);
    if (n !== size) throw new Error(`read ${n} of ${size} bytes of ${path}`);
  };
  const hostRand = (path: string) => {
    const fd = openSync(path, 'r');
    for (const o of offsets) readSync(fd, page, 0, 4096, o);
    closeSync(fd);
  };
  const rows: BigRow[] = [];
  const hs: number[] = [], hr: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    hostSeq(tree.dir + rel);
    hs.push(time(() => hostSeq(tree.dir + rel)).ms);
    hr.push(time(() => hostRand(tree.dir + rel)).ms);
  }
  for (const img of imgs) {
    const s: number[] = [], rr: number[] = [], rw: number[] = [], ks: number[] = [], kr: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const m = mountImage(img.path);
      oursSeq(m.task);
      s.push(time(() => oursSeq(m.task)).ms);
      rr.push(time(() => oursRand(m.task)).ms);
      m.close();
      const w = mountImage(img.path, undefined, new PageCache(WARM_BUDGET));
      oursSeq(w.task);
      rw.push(time(() => oursRand(w.task)).ms);
      w.close();
      if (canMount && !kmountNote && kmount(img.path)) {
        hostSeq(KM + rel);
        ks.push(time(() => hostSeq(KM + rel)).ms);
        kr.push(time(() => hostRand(KM + rel)).ms);
        kumount();
      }
    }
    rows.push({
      tree: tree.name,
      image: img.variant,
      file: rel,
      bytes: size,
      seqMs: min(s),
      randMs: min(rr),
      randWarmMs: min(rw),
      hostSeqMs: min(hs),
      hostRandMs: min(hr),
      kmSeqMs: ks.length ? min(ks) : undefined,
      kmRandMs: kr.length ? min(kr) : undefined,
    });
  }
  return rows;
}

// ---- workload 5: mount time --------------------------------------------------------------------

function mountBench(tree: Tree, img: BuiltImage): MountRow {
  const xs: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const m = mountImage(img.path);
    m.task.close(m.task.openat(AT_FDCWD, '/', O_RDONLY | O_DIRECTORY));
    xs.push(performance.now() - t);
    m.close();
  }
  xs.sort((a, b) => a - b);
  return { tree: tree.name, image: img.variant, bestMs: xs[0], medianMs: xs[xs.length >> 1] };
}

// ---- workload 6: peak RSS ------------------------------------------------------------------------

/**
 * The child runs as plain node on an esbuild bundle of walk-child.ts (esbuild comes with
 * tsx), so that its RSS is ours and node's, not the TypeScript loader's; without esbuild
 * it runs under tsx and the note says so.
 */
let childCmd: string[];
let childNote = '';
const childDir = mkdtempSync(join(tmpdir(), 'erofs-js-bench-child-'));
try {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const outfile = join(childDir, 'walk-child.mjs');
  esbuild.buildSync({ entryPoints: [fileURLToPath(new URL('./walk-child.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error' });
  childCmd = [outfile];
} catch (e) {
  childCmd = ['--import', 'tsx', fileURLToPath(new URL('./walk-child.ts', import.meta.url))];
  childNote = `RSS children run under tsx (esbuild not loadable: ${(e as Error).message.split('\n')[0]}), which adds the loader's memory`;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function child(extra: string[]): Record<string, any> {
  const r = spawnSync(process.execPath, [...childCmd, ...extra], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${extra.join(' ')} failed: ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout);
}

// ---- formatting -------------------------------------------------------------------------------------

const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) ? '–' : (a / b).toFixed(2) + '×');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function walkTable(rows: WalkRow[], read: boolean): string {
  const head = ['tree', 'image', 'MiB img', read ? 'files / MiB read' : 'entries', 'ours cold', 'ours fresh', 'ours warm', 'ours abs'];
  if (read) head.push('fsck.erofs', 'fresh / fsck', 'same in CPU', 'abs / fsck');
  head.push('host cold', 'host warm', 'ours/host cold', 'ours/host warm', 'same in CPU', 'kmount cold', 'kmount warm', 'ours/kmount warm');
  return table(
    head,
    rows.map((w) => {
      const r = [w.tree, w.image, f1(w.imageMiB), read ? `${w.count.files} / ${f1(w.count.bytes / 1048576)}` : String(w.count.entries), f1(w.oursCold), f1(w.oursFresh), f1(w.oursWarm), f1(w.oursAbs)];
      if (read) r.push(f1(w.fsck), ratio(w.oursFresh, w.fsck), ratio(w.cpu.oursFresh, w.cpu.fsck), ratio(w.oursAbs, w.fsck));
      r.push(f1(w.hostCold), f1(w.hostWarm), ratio(w.oursCold, w.hostCold), ratio(w.oursWarm, w.hostWarm), ratio(w.cpu.oursWarm, w.cpu.hostWarm), f1(w.kmCold), f1(w.kmWarm), ratio(w.oursWarm, w.kmWarm));
      return r;
    }),
  );
}

// ---- main ---------------------------------------------------------------------------------------------

await loadCodecs();
const corpus = ensureCorpus({ quick: QUICK });
results.skipped.push(...corpus.skipped);
if (fsckNote) results.skipped.push(fsckNote);
if (!canDrop) results.skipped.push('page cache drop: /proc/sys/vm/drop_caches not writable');
results.notes.push(dropNote);

/** --only=walk,meta,lookups,big,mount,rss and --trees=debian,...: a subset, for trying a change. */
const only = args.only ? new Set(args.only.split(',')) : undefined;
const want = (w: string) => !only || only.has(w);
const treeFilter = args.trees ? new Set(args.trees.split(',')) : undefined;
const imageFilter = args.images ? new Set(args.images.split(',')) : undefined;
for (const tree of corpus.trees) {
  if (treeFilter && !treeFilter.has(tree.name)) continue;
  const imgs = corpus.images.filter((i) => i.tree === tree.name && (!imageFilter || imageFilter.has(i.variant)));
  if (!imgs.length) continue;
  for (const img of imgs) {
    if (want('walk')) {
      log(`workloads: ${tree.name}/${img.variant}: walk + read`);
      results.walk.push(walkBench(tree, img, true));
      if (img.variant === 'deflate') {
        log(`workloads: ${tree.name}/${img.variant}: walk + read with node:zlib`);
        results.walk.push(walkBench(tree, img, true, { 2: createNodeDeflate() }, 'deflate (node:zlib codec)', true));
      }
    }
    if (want('meta')) {
      log(`workloads: ${tree.name}/${img.variant}: metadata walk`);
      results.meta.push(walkBench(tree, img, false));
    }
    if (want('mount')) results.mount.push(mountBench(tree, img));
  }
  const plain = imgs.find((i) => i.variant === 'plain-18') ?? imgs[0];
  if (want('lookups')) {
    log(`workloads: ${tree.name}: lookups`);
    results.lookups.push(lookupBench(tree, plain));
  }
  if (want('big')) {
    log(`workloads: ${tree.name}: largest file`);
    results.big.push(...bigBench(tree, QUICK ? imgs : imgs.filter((i) => ['plain-18', 'lz4', 'lz4hc-64k', 'zstd', 'deflate', 'lzma', 'chunk-64k'].includes(i.variant))));
  }
  if (want('budgets')) {
    log(`workloads: ${tree.name}: page cache budgets`);
    for (const img of imgs.filter((i) => ['lz4', 'zstd'].includes(i.variant))) {
      for (const mib of [8, 32, 128, 512]) {
        // best of two processes, each walking twice
        const runs = [child([img.path, 'read', '2', String(mib)]), child([img.path, 'read', '2', String(mib)])];
        const j = runs.reduce((a, b) => (b.passMs[1] < a.passMs[1] ? b : a));
        results.budgets.push({ tree: tree.name, image: img.variant, budgetMiB: mib, passMs: j.passMs, maxRssMiB: Math.max(...runs.map((r) => r.maxRssKiB)) / 1024, cachedMiB: j.pageCache.bytes / 1048576 });
      }
    }
  }
  if (want('rss')) {
    log(`workloads: ${tree.name}: peak RSS`);
    for (const img of imgs) {
      for (const walk of ['read', 'meta'] as const) {
        const j = child([img.path, walk]);
        results.rss.push({ tree: tree.name, image: img.variant, walk, maxRssMiB: j.maxRssKiB / 1024, entries: j.entries, dentriesCached: j.dentriesCached });
      }
    }
  }
}
kumount();
try {
  rmdirSync(KM);
} catch {
  // not created
}
results.restRssMiB = child(['-', 'rest']).maxRssKiB / 1024;
rmSync(childDir, { recursive: true, force: true });
if (childNote) results.skipped.push(childNote);
if (kmountNote) results.skipped.push(kmountNote);

// ---- targets ----------------------------------------------------------------------------------------------

interface Target {
  target: string;
  measured: string;
  met: boolean | undefined;
}
const targets: Target[] = [];
const mainTree = corpus.trees.find((t) => t.name === 'debian') ? 'debian' : 'node_modules';
const treeNote = mainTree === 'debian' ? '' : ' (no Debian tree: measured on node_modules)';
const cpuNote = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || Number.isNaN(a / b) ? '' : `; in CPU time ${(a / b).toFixed(2)}×`);
const judge = (r: number, lim: number) => (Number.isNaN(r) ? undefined : r <= lim);
// Issue 17's targets, all from this run.
const fsckLimits: [(v: string) => boolean, number][] = [
  [(v) => v.startsWith('plain'), 1],
  [(v) => ['lz4', 'lz4hc-64k', 'lz4hc-frag-dedupe'].includes(v), 2],
  [(v) => ['zstd', 'deflate', 'deflate (node:zlib codec)'].includes(v), 1.5],
  [(v) => v === 'lzma', 2],
];
for (const w of results.walk.filter((x) => x.tree === mainTree)) {
  const lim = fsckLimits.find(([f]) => f(w.image))?.[1];
  if (lim === undefined) continue;
  const r = w.oursAbs / (w.fsck ?? NaN);
  targets.push({
    target: `walk+read by absolute paths, ${w.tree}/${w.image}: ≤ ${lim}× fsck.erofs --extract${treeNote}`,
    measured: `${r.toFixed(2)}× (${f1(w.oursAbs)} vs ${f1(w.fsck)} ms${cpuNote(w.cpu.oursAbs, w.cpu.fsck)}); dirfd walk ${ratio(w.oursFresh, w.fsck)}`,
    met: judge(r, lim),
  });
  if (w.image.startsWith('plain')) {
    const base = w.kmWarm ?? w.hostWarm;
    const k = w.oursAbs / base;
    targets.push({
      target: `walk+read by absolute paths, ${w.tree}/${w.image}: ≤ 0.7× Node over the ${w.kmWarm !== undefined ? "kernel's mount" : 'unpacked tree'}, warm`,
      measured: `${k.toFixed(2)}× (${f1(w.oursAbs)} vs ${f1(base)} ms)`,
      met: judge(k, 0.7),
    });
  } else if (w.image !== 'chunk-64k') {
    const base = w.kmWarm ?? w.hostWarm;
    const k = w.oursWarm / base;
    targets.push({
      target: `second pass (page cache of ${WARM_BUDGET >> 20} MiB), ${w.tree}/${w.image}: ≤ 1.5× Node over the ${w.kmWarm !== undefined ? "kernel's mount" : 'unpacked tree'}, warm`,
      measured: `${k.toFixed(2)}× (${f1(w.oursWarm)} vs ${f1(base)} ms${cpuNote(w.cpu.oursWarm, w.kmWarm !== undefined ? w.cpu.kmWarm : w.cpu.hostWarm)})`,
      met: judge(k, 1.5),
    });
  }
}
for (const b of results.big.filter((x) => x.tree === mainTree && !x.image.startsWith('plain') && x.image !== 'chunk-64k')) {
  const base = b.kmRandMs ?? b.hostRandMs;
  const r = b.randWarmMs / base;
  targets.push({ target: `20k random 4 KiB preads, warm (${WARM_BUDGET >> 20} MiB page cache), ${b.tree}/${b.image} ${b.file}: ≤ 3× the ${b.kmRandMs !== undefined ? "kernel's mount" : 'unpacked tree'}`, measured: `${r.toFixed(2)}× (${f1(b.randWarmMs)} vs ${f1(base)} ms); with the default 8 MiB ${(b.randMs / base).toFixed(2)}×`, met: judge(r, 3) });
}
for (const l of results.lookups) {
  targets.push({ target: `random lstat of existing paths, default dentry cache (${l.tree}): ≥ 1.5× Node's lstatSync`, measured: `${(l.existingWarm / l.hostExisting).toFixed(2)}× (${l.existingWarm.toFixed(2)} vs ${l.hostExisting.toFixed(2)} M/s)`, met: l.existingWarm >= 1.5 * l.hostExisting });
  targets.push({ target: `hot 200 paths ≥ 4 M/s (${l.tree})`, measured: `${l.hotWarm.toFixed(2)} M/s (${l.hotVfs.toFixed(2)} through the VFS's resolve alone)`, met: l.hotWarm >= 4 });
  targets.push({ target: `missing paths ≥ 1 M/s (${l.tree})`, measured: `${l.missingWarm.toFixed(2)} M/s`, met: l.missingWarm >= 1 });
}
const rssRead = results.rss.filter((r) => r.walk === 'read');
if (rssRead.length) {
  const worst = rssRead.reduce((a, b) => (b.maxRssMiB > a.maxRssMiB ? b : a));
  targets.push({ target: 'peak RSS of walk + read with the default budgets ≤ 150 MiB (every image)', measured: `worst ${f1(worst.maxRssMiB)} MiB (${worst.tree}/${worst.image}); node at rest ${f1(results.restRssMiB)} MiB`, met: worst.maxRssMiB <= 150 });
}

// ---- the report ----------------------------------------------------------------------------------------------

const md: string[] = [];
md.push(`Times in ms, best of ${ROUNDS} rounds, the contenders interleaved in each round. ${dropNote}. "fresh": new FileSource and Filesystem with the image in the host page cache; "warm": a second pass over the same mount. Ratios below 1 mean ours is faster. "same in CPU": the ratio of CPU time (user + system of the process doing the work: ours, fsck.erofs, or the Node walker, whose system time includes the host kernel's work), which a loaded machine disturbs less than wall time. The targets are judged on wall time.`);
md.push('\n### 1. Walk + read of every file (getdents64, lstat, open, fstat, read 64 KiB, close)\n');
md.push(walkTable(results.walk, true));
md.push('\n### 2. Metadata walk (getdents64 + lstat of every entry)\n');
md.push(walkTable(results.meta, false));
md.push('\n### 3. 100k lstat lookups (newfstatat through the Task, byte paths), million per second (default dentry cache of 1000; hot: 200 paths repeated)\n');
md.push(
  table(
    ['tree', 'image', 'paths', 'existing cold', 'existing warm', 'missing cold', 'missing warm', 'hot 200 warm', 'hot 200, VFS resolve only', 'host existing', 'host missing', 'host hot'],
    results.lookups.map((l) => [l.tree, l.image, String(l.paths), f1(l.existingCold), f1(l.existingWarm), f1(l.missingCold), f1(l.missingWarm), f1(l.hotWarm), f1(l.hotVfs), f1(l.hostExisting), f1(l.hostMissing), f1(l.hostHot)]),
  ),
);
md.push(`\n### 4. The largest file: sequential read (64 KiB pieces) and 20k random 4 KiB preads, warm, ms (default page cache, and ${WARM_BUDGET >> 20} MiB after one sequential read)\n`);
md.push(
  table(
    ['tree', 'image', 'file', 'MiB', 'ours seq', 'host seq', 'kmount seq', 'ours rand', `ours rand, ${WARM_BUDGET >> 20} MiB cache`, 'host rand', 'kmount rand', 'ours/host seq', 'ours/host rand', `same, ${WARM_BUDGET >> 20} MiB`],
    results.big.map((b) => [b.tree, b.image, b.file, f1(b.bytes / 1048576), f1(b.seqMs), f1(b.hostSeqMs), f1(b.kmSeqMs), f1(b.randMs), f1(b.randWarmMs), f1(b.hostRandMs), f1(b.kmRandMs), ratio(b.seqMs, b.hostSeqMs), ratio(b.randMs, b.hostRandMs), ratio(b.randWarmMs, b.hostRandMs)]),
  ),
);
md.push('\n### 5. Mount time (open, superblock + checksum, root, namespace, task, open "/"), ms of 30\n');
md.push(table(['tree', 'image', 'best', 'median'], results.mount.map((m) => [m.tree, m.image, f1(m.bestMs), f1(m.medianMs)])));
md.push(`\n### 6. Peak RSS (VmHWM of a child process, plain node on a bundle, that mounts and walks once), MiB; node at rest (codecs loaded): ${f1(results.restRssMiB)} MiB\n`);
const rssImgs = [...new Set(results.rss.map((r) => `${r.tree}\u0000${r.image}`))];
md.push(
  table(
    ['tree', 'image', 'walk + read', 'metadata walk', 'dentries cached at the end'],
    rssImgs.map((k) => {
      const [tree, image] = k.split('\u0000');
      const rd = results.rss.find((r) => r.tree === tree && r.image === image && r.walk === 'read');
      const mt = results.rss.find((r) => r.tree === tree && r.image === image && r.walk === 'meta');
      return [tree, image, f1(rd?.maxRssMiB), f1(mt?.maxRssMiB), String(rd?.dentriesCached ?? '–')];
    }),
  ),
);
md.push(`\n### 7. Page cache budgets: walk + read twice in one process (a host page cache of the budget), ms and peak RSS MiB\n`);
md.push(
  table(
    ['tree', 'image', 'budget MiB', 'pass 1', 'pass 2', 'pass 2 / pass 1', 'peak RSS', 'cached at the end MiB'],
    results.budgets.map((b) => [b.tree, b.image, String(b.budgetMiB), f1(b.passMs[0]), f1(b.passMs[1]), ratio(b.passMs[1], b.passMs[0]), f1(b.maxRssMiB), f1(b.cachedMiB)]),
  ),
);
md.push('\n### Targets (issue #17)\n');
md.push(table(['target', 'measured', 'met'], targets.map((t) => [t.target, t.measured, t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'])));
const mism = [...results.walk, ...results.meta].filter((w) => w.mismatch);
if (mism.length) md.push('\nCount mismatches (a bug somewhere): ' + mism.map((w) => `${w.tree}/${w.image}: ${w.mismatch}`).join('; '));
if (results.skipped.length) md.push('\nLeft out on this machine:\n' + results.skipped.map((s) => `- ${s}`).join('\n'));
const text = md.join('\n') + '\n';
console.log(text);

// index.ts passes --out and folds the tables into bench-results/latest.md.
const out = args.out ?? join(tmpdir(), QUICK ? 'erofs-js-workloads-quick' : 'erofs-js-workloads');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out + '.md', text);
log(`workloads: wrote ${out}.md and ${out}.json`);
writeFileSync(out + '.json', JSON.stringify({ ...results, targets, rounds: ROUNDS, quick: QUICK, corpus: corpus.images.map((i) => ({ tree: i.tree, variant: i.variant, bytes: i.bytes, mkfs: i.mkfs, args: i.args })) }, null, 1) + '\n');
