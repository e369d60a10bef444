/**
 * Descriptor-table cost through the Task (hardening issue, item 4): N opens of one file
 * (N descriptors open at once), closes in a random order, N reopens (each takes the
 * lowest free number, so the holes the closes left are refilled from the bottom), then
 * a table whose every number but the last is reserved (what a checkpoint may ask for:
 * 2^20 - 1 reserved descriptors) doing open/close pairs.
 *
 *   node --import tsx tools/bench/fdtable.ts [N=100000] [pairs=2000]
 *
 * Prints operations per second for each phase. Not a test and not timed anywhere else;
 * the order of the closes comes from a fixed seed, so runs are comparable.
 */
import { readFileSync } from 'node:fs';
import { Image, MemorySource } from '../../packages/erofs/src/index.js';
import { Filesystem } from '../../packages/vfs/src/index.js';
import { MountNamespace } from '../../packages/mount/src/namespace.js';
import { Task } from '../../packages/mount/src/task.js';

const N = Number(process.argv[2] ?? 100_000);
const PAIRS = Number(process.argv[3] ?? 2000);
const image = new URL('../../fixtures/basic-18.erofs', import.meta.url);
const bytes = new Uint8Array(readFileSync(image));
const ns = new MountNamespace({ fs: new Filesystem(new Image(new MemorySource(bytes))), fstype: 'erofs', source: 'basic-18.erofs' });
const PATH = '/files/size-1';

/** A small seeded generator (mulberry32), so every run closes in the same order. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function timed(label: string, ops: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rate = ops / (ms / 1000);
  console.log(`${label.padEnd(44)} ${String(ops).padStart(8)} ops ${ms.toFixed(1).padStart(10)} ms ${Math.round(rate).toLocaleString('en-US').padStart(14)} ops/s`);
}

const task = new Task(ns, { maxFds: N + 16, reservedFds: [0, 1, 2] });
const fds: number[] = new Array(N);
timed(`open x ${N} (all held open)`, N, () => {
  for (let i = 0; i < N; i++) fds[i] = task.open(PATH);
});
const order = fds.slice();
const r = rng(20260601);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(r() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
timed('close in random order', N, () => {
  for (const fd of order) task.close(fd);
});
timed(`reopen x ${N}`, N, () => {
  for (let i = 0; i < N; i++) fds[i] = task.open(PATH);
});
if (fds[0] !== 3 || fds[N - 1] !== N + 2) throw new Error(`reopen did not refill from the bottom: ${fds[0]}..${fds[N - 1]}`);
task.exit();

const MAX = 1 << 20;
const reserved = Array.from({ length: MAX - 1 }, (_, i) => i);
let t2!: Task;
timed('table with 2^20-1 reserved numbers: create', 1, () => {
  t2 = new Task(ns, { maxFds: MAX, reservedFds: reserved });
});
timed(`  open+close pairs (fd ${MAX - 1})`, PAIRS, () => {
  for (let i = 0; i < PAIRS; i++) {
    const fd = t2.open(PATH);
    if (fd !== MAX - 1) throw new Error(`got ${fd}`);
    t2.close(fd);
  }
});
t2.exit();
ns.shutdown();
