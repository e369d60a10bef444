/**
 * `npm run bench`: every benchmark, one after the other, each printing ratios measured in
 * one run against its native baseline. Benchmarks are not tests: run them on a quiet
 * machine. The native baselines need gcc, liblz4-dev, liblzma-dev, libzstd-dev and
 * erofs-utils (fsck.erofs); a column is left out when its baseline is missing.
 *
 *   npm run bench [-- --quick]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const runs: [string, string, string[]][] = [
  ['LZ4 block decoding', 'lz4.ts', quick ? ['--ms=100', '--mib=2'] : ['--ms=300', '--mib=8']],
  ['MicroLZMA decoding', 'lzma.ts', [quick ? '0.3' : '1']],
  ['DEFLATE and Zstandard decoding', 'codecs.ts', []],
  ['Whole images and the extent cache', 'image.ts', [quick ? '--rounds=3' : '--rounds=7']],
  ['The VFS against the host kernel', 'vfs.ts', [quick ? '--entries=100000' : '--entries=1000000']],
];
let failed = 0;
for (const [title, file, args] of runs) {
  console.log(`\n=== ${title} (tools/bench/${file}) ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', here(file), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`(tools/bench/${file} exited with ${r.status}; is its native baseline installed? see the file's header)`);
  }
}
process.exitCode = failed ? 1 : 0;
