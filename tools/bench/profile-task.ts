/**
 * A small driver for profiling the guest syscall path (issue #7): the lookup and pread
 * loops of tools/bench/workloads.ts (sections 3 and 4), run alone on one cached corpus
 * image so that `node --cpu-prof --import tsx tools/bench/profile-task.ts` shows only them.
 *
 *   node --import tsx tools/bench/profile-task.ts [image.erofs] [tree dir] [rounds]
 *
 * Defaults: the node_modules plain-18 image and its unpacked tree from the bench cache
 * (~/.cache/erofs-js-bench, see corpus.ts). Prints million lookups per second (hot set of
 * 200 through the Task, the same through the VFS's resolve, random existing paths, random
 * missing paths) and ms for 20k random 4 KiB preads of the largest file (ours and Node's),
 * all as the least CPU time of the rounds.
 * `--only=hot|vfs|existing|missing|pread` runs one loop (for a focused profile).
 */
import { closeSync, lstatSync, openSync, readSync, readdirSync, readdirSync as ls } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT, O_RDONLY, resolve as vfsResolve } from '../../packages/vfs/src/index.js';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, type Task } from '../../packages/mount/src/task.js';
import { Image } from '../../packages/erofs/src/index.js';
import { FileSource } from '../../packages/erofs/src/node.js';
import { Filesystem } from '../../packages/vfs/src/index.js';
import { MountNamespace } from '../../packages/mount/src/namespace.js';
import { Task as TaskClass } from '../../packages/mount/src/task.js';
import { guestLookups, mountImage } from './guest.js';

/** mountImage() with a chosen FileSource block size. */
function mountWith(path: string, blockSize: number) {
  const source = new FileSource(path, { blockSize });
  const ns = new MountNamespace({ fs: new Filesystem(new Image(source)), fstype: 'erofs', source: path, onRelease: () => source.close() });
  const task = new TaskClass(ns);
  return {
    task,
    close() {
      task.exit();
      ns.shutdown();
    },
  };
}

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const cache = join(homedir(), '.cache/erofs-js-bench');
const image = args[0] ?? join(cache, 'images', ls(join(cache, 'images')).find((f) => f.startsWith('node_modules-plain-18-'))!);
const treeDir = args[1] ?? join(cache, 'trees/node_modules');
const rounds = Number(args[2] ?? 5);

function treePaths(dir: string) {
  const paths: string[] = [];
  const files = new Set<string>();
  let big = { rel: '', size: -1 };
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p)) {
      const st = lstatSync(p + '/' + name);
      const r = rel + '/' + name;
      paths.push(r);
      if (st.isFile()) {
        files.add(r);
        if (st.size > big.size) big = { rel: r, size: st.size };
      }
      if (st.isDirectory()) walk(p + '/' + name, r);
    }
  };
  walk(dir, '');
  return { paths, files, big };
}

const { paths, files, big } = treePaths(treeDir);
let seed = 12345;
const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
const N = 100000;
const enc = new TextEncoder();
const existing = Array.from({ length: N }, () => paths[rnd(paths.length)]);
const missing = existing.map((p, i) => (i % 10 === 0 && files.has(p) ? p + '/x' : p + '.missing'));
const hot = Array.from({ length: N }, (_, i) => existing[i % 200]);
const [eB, mB, hB] = [existing, missing, hot].map((l) => l.map((p) => enc.encode(p)));


/** Least CPU ms of a loop over the rounds (by process.cpuUsage: a busy machine adds less noise to it than to wall time). */
let lastWall = 0;
function best(fn: () => unknown): number {
  let min = Infinity;
  lastWall = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    fn();
    const u = process.cpuUsage(c);
    lastWall = Math.min(lastWall, performance.now() - t);
    min = Math.min(min, (u.user + u.system) / 1000);
  }
  return min;
}

const m = mountImage(image);
const out: string[] = [];
const rate = (ms: number) => (N / ms / 1000).toFixed(2);
const want = (k: string) => !only || only === k;

if (want('hot')) {
  if (guestLookups(m.task, hB) !== N) throw new Error('hot paths missing');
  out.push(`hot 200 via Task     ${rate(best(() => guestLookups(m.task, hB)))} M/s`);
}
if (want('vfs')) {
  out.push(
    `hot 200 via VFS      ${rate(
      best(() => {
        for (const p of hot) {
          const d = vfsResolve(m.fs, p, ROOT, { follow: false });
          m.fs.stat(d);
          d.decRef();
        }
      }),
    )} M/s`,
  );
}
if (want('existing')) {
  if (guestLookups(m.task, eB) !== N) throw new Error('existing paths missing');
  out.push(`existing via Task    ${rate(best(() => guestLookups(m.task, eB)))} M/s (${paths.length} paths)`);
}
if (want('missing')) {
  if (guestLookups(m.task, mB) !== 0) throw new Error('missing paths found');
  out.push(`missing via Task     ${rate(best(() => guestLookups(m.task, mB)))} M/s`);
}
if (want("pread")) {
  const R = 20000;
  let s = 777;
  const offsets = Array.from({ length: R }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % Math.max(1, Math.floor(big.size / 4096))) * 4096);
  const page = new Uint8Array(4096);
  const fd = m.task.openat(AT_FDCWD, big.rel, O_RDONLY);
  const ours = best(() => {
    for (const o of offsets) m.task.pread64(fd, page, o);
  });
  // The same calls within the first MiB: every block cached, so what is left is the
  // per-call cost of the layers (Task, description, Image.read, map, FileSource copy).
  const near = offsets.map((o) => o % (1 << 20));
  for (const o of near) m.task.pread64(fd, page, o);
  const cached = best(() => {
    for (const o of near) m.task.pread64(fd, page, o);
  });
  m.task.close(fd);
  // The same random reads through a FileSource with 4 KiB blocks (one host read per call).
  const m4 = mountWith(image, 4096);
  const fd4 = m4.task.openat(AT_FDCWD, big.rel, O_RDONLY);
  const ours4 = best(() => {
    for (const o of offsets) m4.task.pread64(fd4, page, o);
  });
  m4.close();
  const hfd = openSync(treeDir + big.rel, 'r');
  const host = best(() => {
    for (const o of offsets) readSync(hfd, page, 0, 4096, o);
  });
  closeSync(hfd);
  out.push(`20k 4K preads        ours ${ours.toFixed(1)} ms (4 KiB source blocks ${ours4.toFixed(1)}; all cached ${cached.toFixed(1)}), host ${host.toFixed(1)} ms (${big.rel}, ${(big.size / 2 ** 20).toFixed(1)} MiB)`);
}
m.close();
console.log(out.join('\n'));
