/**
 * One walk of an image in a process of its own, for its peak RSS (workload 6 of
 * tools/bench/workloads.ts, which bundles this file with esbuild and runs it with plain
 * node, so that the figure is not tsx's). Prints one JSON line.
 *
 *   node walk-child.mjs IMAGE read|meta|rest [REPEAT] [PAGE_CACHE_MIB]
 *
 * REPEAT > 1: more passes over the same mount (the page cache's second pass; also for
 * profiling the warm case with node --cpu-prof). PAGE_CACHE_MIB: the mount takes its share
 * of a host page cache of that budget instead of the image's default; `passMs` has the
 * wall time of each pass.
 */
import { PageCache, loadCodecs } from '../../packages/erofs/src/index.js';
import { guestWalk, mountImage, peakKiB } from './guest.js';

const [image, walk, repeat, budgetMiB] = process.argv.slice(2);

await loadCodecs();
if (walk === 'rest') {
  process.stdout.write(JSON.stringify({ maxRssKiB: peakKiB() }));
} else {
  const m = mountImage(image, undefined, budgetMiB ? new PageCache(Number(budgetMiB) << 20) : undefined);
  const passMs: number[] = [];
  let c;
  for (let i = 0; i < Math.max(1, Number(repeat ?? 1)); i++) {
    const t = performance.now();
    c = guestWalk(m.task, walk === 'read');
    passMs.push(performance.now() - t);
  }
  const st = m.fs.stats();
  process.stdout.write(JSON.stringify({ ...c, passMs, maxRssKiB: peakKiB(), dentriesCached: st.dentriesCached, pageCache: st.pageCache }));
}
