/**
 * One walk of an image in a process of its own, for its peak RSS (workload 6 of
 * tools/bench/workloads.ts, which bundles this file with esbuild and runs it with plain
 * node, so that the figure is not tsx's). Prints one JSON line.
 *
 *   node walk-child.mjs IMAGE read|meta|rest [REPEAT]
 */
import { loadCodecs } from '../../packages/erofs/src/index.js';
import { guestWalk, mountImage, peakKiB } from './guest.js';

const [image, walk, repeat] = process.argv.slice(2);

await loadCodecs();
if (walk === 'rest') {
  process.stdout.write(JSON.stringify({ maxRssKiB: peakKiB() }));
} else {
  const m = mountImage(image);
  let c = guestWalk(m.task, walk === 'read');
  // REPEAT > 1: more passes over the same mount, for profiling the warm case (node --cpu-prof).
  for (let i = 1; i < Number(repeat ?? 1); i++) c = guestWalk(m.task, walk === 'read');
  const st = m.fs.stats();
  process.stdout.write(JSON.stringify({ ...c, maxRssKiB: peakKiB(), dentriesCached: st.dentriesCached }));
}
