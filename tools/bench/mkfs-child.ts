/**
 * One `erofs mkfs` (the CLI's main()) in a process of its own, for its peak RSS
 * (tools/bench/mkfs.ts bundles this file with esbuild and runs it with plain node, so that
 * the figure is not tsx's). Prints one JSON line.
 *
 *   node mkfs-child.mjs SRC IMAGE [-zlz4]     or     node mkfs-child.mjs --rest
 */
import { main } from '../../packages/cli/src/main.js';
import { peakKiB } from './guest.js';

const args = process.argv.slice(2);
if (args[0] === '--rest') {
  process.stdout.write(JSON.stringify({ maxRssKiB: peakKiB() }));
} else {
  const t = performance.now();
  const rc = await main(['mkfs', ...args.slice(2), args[0], args[1]]);
  process.stdout.write(JSON.stringify({ rc, ms: performance.now() - t, maxRssKiB: peakKiB() }));
}
