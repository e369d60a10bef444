/**
 * Whole-image decode through the decoder, against the native C reader in the same run:
 * `fsck.erofs --extract` (erofs-utils 1.8+, no target: it decodes and checks every file)
 * on the same compressed fixtures. Also shows the decoded-extent cache: a file read in
 * 4 KiB pieces with the cache (each pcluster decoded once) and without it.
 *
 *   npx tsx tools/bench/image.ts [--rounds=5]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Image, MemorySource, isReg, loadCodecs, walk, type Inode } from '../../packages/erofs/src/index.js';
import { createNodeDeflate } from '../../packages/erofs/src/node.js';
import { nodeAt } from '../../tests/fixtures.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.rounds ?? 5);
const FIX = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const IMAGES = ['z-lz4hc-18.erofs', 'z-lz4hc-18-C64k.erofs', 'z-lzma-18.erofs', 'z-deflate-18.erofs', 'z-zstd-18.erofs', 'basic-18.erofs'];

await loadCodecs();

function best(fn: () => void): number {
  let b = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    fn();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

function readAll(bytes: Uint8Array): number {
  const image = new Image(new MemorySource(bytes), { codecs: { 2: createNodeDeflate() } });
  const buf = new Uint8Array(1 << 16);
  let total = 0;
  walk(image, (e) => {
    if (!isReg(e.inode)) return;
    for (let off = 0; off < e.inode.size; ) {
      const n = image.read(e.inode, off, buf);
      off += n;
      total += n;
    }
  });
  return total;
}

const fsck = ['/opt/erofs-utils/bin/fsck.erofs18', 'fsck.erofs'].find((p) => p.startsWith('/') ? existsSync(p) : true)!;
console.log(`whole-image decode, best of ${ROUNDS} (ours: walk + read every file in 64 KiB pieces from memory; native: ${fsck} --extract)`);
console.log('image                      bytes out   ours ms  native ms  ours/native');
for (const name of IMAGES) {
  const bytes = new Uint8Array(readFileSync(FIX + name));
  const out = readAll(bytes);
  const ours = best(() => readAll(bytes));
  let native = NaN;
  try {
    native = best(() => execFileSync(fsck, ['--extract', FIX + name], { stdio: 'ignore' }));
  } catch {
    // fsck.erofs not installed
  }
  console.log(`${name.padEnd(26)} ${String(out).padStart(9)} ${ours.toFixed(1).padStart(9)} ${native.toFixed(1).padStart(10)} ${(ours / native).toFixed(2).padStart(12)}`);
}

// The extent cache: read the largest compressed file in 4 KiB pieces.
console.log('\ndecoded-extent cache: a 1 MiB file read in 4 KiB pieces');
console.log('image                      cache on ms  cache off ms  speed-up  pclusters decoded (on/off)');
for (const name of ['z-lz4hc-18-C64k.erofs', 'z-lzma-18.erofs', 'z-zstd-18.erofs']) {
  const bytes = new Uint8Array(readFileSync(FIX + name));
  const run = (cacheBytes: number) => {
    const image = new Image(new MemorySource(bytes), { cacheBytes });
    const inode: Inode = nodeAt(image, '/big/counter-1m');
    const buf = new Uint8Array(4096);
    for (let off = 0; off < inode.size; off += 4096) image.read(inode, off, buf);
    return image.extentCache.misses;
  };
  const on = best(() => run(16 << 20));
  const off = best(() => run(0));
  console.log(`${name.padEnd(26)} ${on.toFixed(1).padStart(11)} ${off.toFixed(1).padStart(13)} ${(off / on).toFixed(1).padStart(8)}x  ${run(16 << 20)}/${run(0)}`);
}
