/**
 * Benchmark of RangeSource (issue #18): an image served over HTTP on loopback with a
 * fixed delay added to every request (default 20 ms), read through the decoder.
 *
 *   npx tsx tools/bench/range.ts [IMAGE] [--latency MS] [--slow-budget S]
 *
 * IMAGE defaults to the largest Debian image in the bench corpus cache, else the largest
 * fixture (say which). Reports:
 *   1. open + read /etc/os-release (following its symlink): requests, bytes fetched, time;
 *   2. a full walk + read of every regular file: readahead (defaults) vs one request at a
 *      time (one block per request, no readahead; run for at most --slow-budget seconds and
 *      reported as a rate) vs downloading the whole image first;
 *   3. a shell's start-up files (STARTUP below, those the image has) read cold, and read
 *      after Filesystem.readahead of each (the host's prefetch): requests and time of the
 *      reads, and of prefetch + reads.
 * Not a test: numbers vary with the machine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Image, MemorySource, isReg, loadCodecs, walk, type ByteSource, type RangeSourceOptions } from '../../packages/erofs/src/index.js';
import { openRangeSource } from '../../packages/erofs/src/node.js';
import { Filesystem, ROOT, resolve } from '../../packages/vfs/src/index.js';
import { ServerProcess } from '../../tests/range-server.js';
import { CACHE } from './corpus.js';

const { values: o, positionals } = parseArgs({ options: { latency: { type: 'string' }, 'slow-budget': { type: 'string' } }, allowPositionals: true });
const latency = Number(o.latency ?? 20);
const slowBudget = Number(o['slow-budget'] ?? 20) * 1000;

function pickImage(): { path: string; why: string } {
  if (positionals[0]) return { path: positionals[0], why: 'given' };
  try {
    const dir = join(CACHE, 'images');
    const debian = readdirSync(dir).filter((f) => f.startsWith('debian') && f.endsWith('.erofs')).map((f) => join(dir, f));
    if (debian.length) return { path: debian.sort((a, b) => statSync(b).size - statSync(a).size)[0], why: 'bench corpus (largest Debian image)' };
  } catch {
    /* no corpus */
  }
  const fx = new URL('../../fixtures/', import.meta.url).pathname;
  const best = readdirSync(fx).filter((f) => f.endsWith('.erofs')).sort((a, b) => statSync(fx + b).size - statSync(fx + a).size)[0];
  return { path: fx + best, why: 'largest fixture: no bench corpus image is cached (npx tsx tools/bench/corpus.ts builds them)' };
}

const MiB = 1 << 20;

/** What starting a shell and `cat /etc/os-release` opens on Debian (dash, bash, coreutils' cat, glibc, terminfo). */
const STARTUP = [
  '/usr/bin/dash',
  '/usr/bin/bash',
  '/usr/bin/cat',
  '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libtinfo.so.6',
  '/etc/ld.so.cache',
  '/etc/nsswitch.conf',
  '/etc/passwd',
  '/etc/group',
  '/etc/bash.bashrc',
  '/etc/profile',
  '/usr/lib/os-release',
  '/usr/share/terminfo/x/xterm',
];
const fmt = (n: number, d = 1) => n.toFixed(d);

/** Reads every regular file; stops after `budgetMs` (returns how far it got). */
function walkRead(image: Image, budgetMs = Infinity): { files: number; bytes: number; ms: number; complete: boolean } {
  const t0 = performance.now();
  const buf = new Uint8Array(128 << 10);
  let files = 0;
  let bytes = 0;
  let complete = true;
  walk(image, (e) => {
    if (performance.now() - t0 > budgetMs) {
      complete = false;
      return false;
    }
    if (!isReg(e.inode)) return;
    for (let off = 0; off < e.inode.size; ) {
      const n = image.read(e.inode, off, buf);
      if (n <= 0) break;
      off += n;
      bytes += n;
    }
    files++;
  });
  return { files, bytes, ms: performance.now() - t0, complete };
}

async function main(): Promise<void> {
  await loadCodecs();
  const { path, why } = pickImage();
  const bytes = new Uint8Array(readFileSync(path));
  const server = await ServerProcess.start();
  try {
    await server.put('/image.erofs', bytes);
    await server.set({ latencyMs: latency });
    const url = server.url('/image.erofs');
    console.log(`image: ${path} (${fmt(bytes.length / MiB)} MiB; ${why}); ${latency} ms added per request\n`);

    // 1. open + /etc/os-release
    {
      await server.reset();
      const t0 = performance.now();
      const src = await openRangeSource(url);
      const image = new Image(src);
      let text = '(no /etc/os-release)';
      try {
        const d = resolve(new Filesystem(image), '/etc/os-release', ROOT);
        d.decRef();
        text = new TextDecoder().decode(image.readFile(d.inode.raw)).split('\n')[0];
      } catch (e) {
        text = `(${(e as Error).message})`;
      }
      const ms = performance.now() - t0;
      const st = await server.stats();
      console.log(`open + read /etc/os-release: ${st.requests} requests, ${fmt(st.bytesSent / 1024)} KiB fetched of ${fmt(bytes.length / MiB)} MiB, ${fmt(ms, 0)} ms  [${text}]`);
      src.close();
    }

    // 2. walk + read
    const rows: string[][] = [['mode', 'requests', 'MiB fetched', 'MiB read', 'seconds', 'MiB/s of files']];
    const run = async (mode: string, options: RangeSourceOptions, budget = Infinity) => {
      await server.reset();
      const src = await openRangeSource(url, options);
      const r = walkRead(new Image(src), budget);
      const st = await server.stats();
      rows.push([mode + (r.complete ? '' : ` (stopped after ${budget / 1000} s)`), String(st.requests), fmt(st.bytesSent / MiB), fmt(r.bytes / MiB), fmt(r.ms / 1000, 2), fmt(r.bytes / MiB / (r.ms / 1000), 2)]);
      src.close();
      return r;
    };
    await run('readahead (defaults: 32 KiB blocks, up to 1 MiB windows, 6 in flight)', {});
    await run('one request at a time (32 KiB, no readahead)', { readaheadMax: 32 << 10, inFlight: 1 }, slowBudget);
    {
      await server.reset();
      const t0 = performance.now();
      const res = await fetch(url);
      const whole = new Uint8Array(await res.arrayBuffer());
      const dl = performance.now() - t0;
      const r = walkRead(new Image(new MemorySource(whole) as ByteSource));
      const ms = performance.now() - t0;
      rows.push([`download whole first (${fmt(dl / 1000, 2)} s of it downloading)`, '1', fmt(whole.length / MiB), fmt(r.bytes / MiB), fmt(ms / 1000, 2), fmt(r.bytes / MiB / (ms / 1000), 2)]);
    }
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    console.log('\nfull walk + read of every regular file:');
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));

    // 3. start-up files, cold and after prefetch
    {
      const startup = async (prefetch: boolean) => {
        const src = await openRangeSource(url);
        const fs = new Filesystem(new Image(src));
        const nodes = STARTUP.flatMap((p) => {
          try {
            return [resolve(fs, p, ROOT)];
          } catch {
            return [];
          }
        });
        await server.reset();
        const t0 = performance.now();
        let queued = 0;
        if (prefetch) {
          const done = nodes.map((d) => fs.readahead(d, 0, d.inode.size));
          queued = done.reduce((a, r) => a + r.bytes, 0);
          await Promise.all(done.map((r) => r.done));
        }
        const t1 = performance.now();
        const before = (await server.stats()).requests;
        let bytes = 0;
        for (const d of nodes) bytes += fs.image.readFile(d.inode.raw).length;
        const t2 = performance.now();
        const st = await server.stats();
        for (const d of nodes) d.decRef();
        src.close();
        return { files: nodes.length, bytes, queued, prefetchMs: t1 - t0, readMs: t2 - t1, prefetchRequests: before, readRequests: st.requests - before };
      };
      const cold = await startup(false);
      const warm = await startup(true);
      console.log(`\nstart-up files (${cold.files} of ${STARTUP.length} found, ${fmt(cold.bytes / MiB, 2)} MiB; metadata looked up before the clock starts):`);
      console.log(`  cold reads:              ${cold.readRequests} requests, ${fmt(cold.readMs, 0)} ms`);
      console.log(`  prefetch, then reads:    prefetch ${warm.prefetchRequests} requests (${fmt(warm.queued / MiB, 2)} MiB queued), ${fmt(warm.prefetchMs, 0)} ms; reads ${warm.readRequests} requests, ${fmt(warm.readMs, 0)} ms; together ${fmt(warm.prefetchMs + warm.readMs, 0)} ms`);
    }
  } finally {
    await server.close();
  }
}

await main();
