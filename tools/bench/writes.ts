/**
 * The write workload of the open mount table (issue #14): a guest on our tmpfs, through
 * the Task surface, against Node's fs on the host's /dev/shm (a kernel tmpfs), the same
 * operations in the same order, rounds interleaved so both see the same machine load.
 *
 *   node --import tsx tools/bench/writes.ts [--files=10000] [--mib=100] [--rounds=5]
 *
 * Phases: create 10k small files (open O_CREAT|O_WRONLY, write 100 bytes, close); write
 * 100 MiB into one file in 64 KiB pieces; rename every small file; unlink every small
 * file and the big one. Reported: the median time per operation of each phase on both
 * sides and their ratio. Target: within 1.5x of the host per operation. Not a test.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tmpfs } from '../../packages/tmpfs/src/index.js';
import { O_CREAT, O_TRUNC, O_WRONLY } from '../../packages/vfs/src/index.js';
import { MountNamespace } from '../../packages/mount/src/namespace.js';
import { Task } from '../../packages/mount/src/task.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '10000' }, mib: { type: 'string', default: '100' }, rounds: { type: 'string', default: '5' } } });
const FILES = Number(values.files);
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);
const small = new Uint8Array(100).fill(0x61);
const piece = new Uint8Array(64 << 10).fill(0x62);
const pieces = (MIB << 20) / piece.length;

type Phases = Record<'create' | 'write' | 'rename' | 'unlink', number>;
const PHASES = ['create', 'write', 'rename', 'unlink'] as const;
const OPS: Phases = { create: FILES, write: pieces, rename: FILES, unlink: FILES + 1 };

function clock<T>(fn: () => T): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** One round on our tmpfs through Task (a fresh tmpfs sized for the data). */
function ours(): Phases {
  const fs = new Tmpfs({ size: (MIB + 64) * 2 ** 20, nr_inodes: FILES * 2 + 100 });
  const ns = new MountNamespace({ fs, fstype: 'tmpfs', source: 'tmpfs' });
  const t = new Task(ns);
  const names = Array.from({ length: FILES }, (_, i) => `/f${i}`);
  const r: Phases = { create: 0, write: 0, rename: 0, unlink: 0 };
  r.create = clock(() => {
    for (const n of names) {
      const fd = t.open(n, O_CREAT | O_WRONLY | O_TRUNC, 0o644);
      t.write(fd, small);
      t.close(fd);
    }
  });
  r.write = clock(() => {
    const fd = t.open('/big', O_CREAT | O_WRONLY | O_TRUNC, 0o644);
    for (let i = 0; i < pieces; i++) t.write(fd, piece);
    t.close(fd);
  });
  r.rename = clock(() => {
    for (const n of names) t.rename(n, n + '.r');
  });
  r.unlink = clock(() => {
    for (const n of names) t.unlink(n + '.r');
    t.unlink('/big');
  });
  t.exit();
  ns.shutdown();
  return r;
}

/** One round with node:fs in a fresh directory of /dev/shm. */
function host(base: string): Phases {
  const dir = mkdtempSync(join(base, 'w-'));
  const names = Array.from({ length: FILES }, (_, i) => join(dir, `f${i}`));
  const r: Phases = { create: 0, write: 0, rename: 0, unlink: 0 };
  const flags = constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC;
  r.create = clock(() => {
    for (const n of names) {
      const fd = openSync(n, flags, 0o644);
      writeSync(fd, small);
      closeSync(fd);
    }
  });
  r.write = clock(() => {
    const fd = openSync(join(dir, 'big'), flags, 0o644);
    for (let i = 0; i < pieces; i++) writeSync(fd, piece);
    closeSync(fd);
  });
  r.rename = clock(() => {
    for (const n of names) renameSync(n, n + '.r');
  });
  r.unlink = clock(() => {
    for (const n of names) unlinkSync(n + '.r');
    unlinkSync(join(dir, 'big'));
  });
  rmSync(dir, { recursive: true, force: true });
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const shm = '/dev/shm';
mkdirSync(shm, { recursive: true });
// One warm-up round each (JIT, page cache), then ROUNDS interleaved.
ours();
host(shm);
const a: Phases[] = [];
const b: Phases[] = [];
for (let i = 0; i < ROUNDS; i++) {
  a.push(ours());
  b.push(host(shm));
}
console.log(`tmpfs through Task vs node:fs on ${shm} (kernel tmpfs); ${FILES} files, ${MIB} MiB in 64 KiB writes; median of ${ROUNDS} rounds`);
console.log(`${'phase'.padEnd(8)} ${'ours µs/op'.padStart(11)} ${'host µs/op'.padStart(11)} ${'ratio'.padStart(7)}  target ≤ 1.5x`);
for (const p of PHASES) {
  const o = (median(a.map((r) => r[p])) * 1000) / OPS[p];
  const h = (median(b.map((r) => r[p])) * 1000) / OPS[p];
  const ratio = o / h;
  console.log(`${p.padEnd(8)} ${o.toFixed(2).padStart(11)} ${h.toFixed(2).padStart(11)} ${ratio.toFixed(2).padStart(6)}x  ${ratio <= 1.5 ? 'met' : 'missed'}`);
}
