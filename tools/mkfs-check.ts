/**
 * The independent oracle for the builder: builds generated trees (tests/mkfs-tree.ts, fixed
 * seed) and checks every image with the real tools —
 *   fsck.erofs (1.8 and 1.9) --extract: exit status 0;
 *   the Linux kernel: mount -t erofs -o loop,ro, then shared/tools/manifest.py, whose
 *   records (without ino) and directory listings must equal the tree's.
 * Needs root for the mount (skipped otherwise).
 *
 * --lz4 builds every tree with LZ4-compressed files (generated trees otherwise pick
 * compression at random) and also hands every LZ4 block the builder's encoder makes for those
 * trees to the real liblz4 (LZ4_decompress_safe, through a small C program built with gcc
 * against liblz4-dev), which must give back exactly the input.
 *
 * usage: npx tsx tools/mkfs-check.ts [--trees N] [--seed S] [--lz4] [--keep]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DataLayout, Image, MemorySource, walk } from '../packages/erofs/src/index.js';
import { buildImage, dir, file, symlink, device, fifo, socket, lz4Compress, lz4CompressFill, lz4Bound, type DirNode, type BuildOptions, type TreeNode } from '../packages/mkfs/src/index.js';
import { expectedOf, treeOf, treeSpecArb, withoutIno } from '../tests/mkfs-tree.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = opt('--trees', 60);
const SEED = opt('--seed', 20260601);
const keep = args.includes('--keep');
const LZ4 = args.includes('--lz4');
const FSCKS = ['/opt/erofs-utils/bin/fsck.erofs18', '/opt/erofs-utils/bin/fsck.erofs19'];
const MANIFEST = '/work/shared/tools/manifest.py';
const isRoot = process.getuid?.() === 0;

const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const utf8 = new TextEncoder();

function handmade(): { name: string; tree: DirNode; options: BuildOptions }[] {
  const shared = { 'user.shared': utf8.encode('one value, many inodes') };
  const hl = file('linked', { xattrs: shared });
  const wide: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 500; i++) wide[`entry-with-a-longish-name-${i}`] = file(`${i}`);
  const tree = dir({
    'a.txt': file('hello\n'),
    big: file(new Uint8Array(100_000).map((_, i) => i * 31)),
    block: file(new Uint8Array(4096).fill(9)),
    sparse: file(new Uint8Array(64 * 1024).fill(1, 20_000, 20_010)),
    empty: file(''),
    ext: file('extended', { uid: 100_000, mtime: 1, mtimeNsec: 999_999_999 }),
    sub: dir({ deeper: dir({ x: file('x', { xattrs: { ...shared, 'trusted.overlay.opaque': utf8.encode('y') } }) }), link: hl }),
    link2: hl,
    sl: symlink('a.txt'),
    longsl: symlink('t/'.repeat(2000)),
    cdev: device('chardev', 1, 3),
    bdev: device('blockdev', 259, 70_000),
    ff: fifo(),
    so: socket(),
    ['é'.repeat(127) + 'x']: file('long name'),
    wide: dir(wide),
  }, { xattrs: { 'security.x1': utf8.encode('root') } });
  const out = [];
  if (LZ4) {
    // Compressible and incompressible runs in one file, long zero runs, text.
    let x = 1;
    const noise = (n: number) => new Uint8Array(n).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
    const text = utf8.encode('An EROFS image holds this sentence many times over, with small changes: '.repeat(2000));
    tree.entries.set('text', file(text));
    tree.entries.set('mixed', file(new Uint8Array([...text.subarray(0, 50_000), ...noise(30_000), ...new Uint8Array(2 << 20), ...text.subarray(0, 9_999)])));
    tree.entries.set('zeros', file(new Uint8Array(5 << 20)));
    tree.entries.set('noise', file(noise(50_000)));
  }
  for (const blockSize of [512, 1024, 2048, 4096]) {
    for (const inlineData of [true, false]) {
      // Half of them with 8-byte chunk indexes and compact compressed indexes, half with the
      // 4-byte block map and full compressed indexes.
      out.push({ name: `handmade-b${blockSize}${inlineData ? '' : '-noinline-chunkidx'}`, tree, options: { blockSize, inlineData, chunkBits: 0, chunkIndexes: !inlineData, epoch: 1_700_000_000, fixedNsec: 0, volumeName: 'mkfs-check', compression: LZ4 ? 'lz4' : undefined, compressedIndexes: inlineData ? 'full' : 'compact' } });
    }
  }
  return out;
}

function readJsonl<T>(p: string): T[] {
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

const work = mkdtempSync(join(tmpdir(), 'mkfs-check-'));
const cases = [
  ...handmade(),
  ...fc.sample(treeSpecArb, { seed: SEED, numRuns: N }).map((spec, i) => ({ name: `gen-${i}`, ...treeOf(LZ4 ? { ...spec, compression: 'lz4' } : spec) })),
];

/**
 * Every LZ4 block the builder's encoder makes for these trees (one-block fills, as the
 * builder cuts pclusters, and whole-file blocks), decoded by liblz4's LZ4_decompress_safe.
 */
function liblz4Check(): string {
  const c = join(work, 'lz4check.c');
  writeFileSync(c, `#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
/* Records: u32 stream length, u32 decoded length, stream, expected bytes. */
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb");
  uint32_t h[2]; long n = 0, bad = 0;
  while (fread(h, 4, 2, f) == 2) {
    char *in = malloc(h[0] + 1), *want = malloc(h[1] + 1), *out = malloc(h[1] + 1);
    if (fread(in, 1, h[0], f) != h[0] || fread(want, 1, h[1], f) != h[1]) { fprintf(stderr, "short record\\n"); return 2; }
    int r = LZ4_decompress_safe(in, out, (int)h[0], (int)h[1]);
    if (r != (int)h[1] || memcmp(out, want, h[1])) { if (bad < 5) fprintf(stderr, "record %ld: liblz4 returned %d of %u bytes\\n", n, r, h[1]); bad++; }
    n++; free(in); free(want); free(out);
  }
  printf("%ld %ld\\n", n, bad);
  return bad != 0;
}
`);
  const exe = join(work, 'lz4check');
  execFileSync('gcc', ['-O2', '-o', exe, c, '-llz4']);
  const recs: Buffer[] = [];
  const add = (stream: Uint8Array, want: Uint8Array) => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(stream.length, 0);
    h.writeUInt32LE(want.length, 4);
    recs.push(h, Buffer.from(stream), Buffer.from(want));
  };
  const seen = new Set<Uint8Array>();
  for (const c of cases) {
    const bs = c.options.blockSize ?? 4096;
    const buf = new Uint8Array(lz4Bound(bs));
    const visit = (n: TreeNode) => {
      if (n.type === 'dir') for (const k of n.entries.values()) visit(k);
      if (n.type !== 'file' || n.data.length === 0 || seen.has(n.data)) return;
      seen.add(n.data);
      add(lz4Compress(n.data), n.data);
      for (let p = 0; p < n.data.length; ) {
        const r = lz4CompressFill(n.data, p, n.data.length, buf, bs);
        add(buf.subarray(0, r.written), n.data.subarray(p, p + r.consumed));
        p += r.consumed;
      }
    };
    visit(c.tree);
  }
  const recFile = join(work, 'lz4-records.bin');
  writeFileSync(recFile, Buffer.concat(recs));
  const r = spawnSync(exe, [recFile], { encoding: 'utf8' });
  const [n, bad] = r.stdout.trim().split(' ').map(Number);
  if (r.status !== 0) failures.push(`liblz4: ${bad} of ${n} blocks refused or wrong: ${r.stderr.trim()}`);
  return `  liblz4 LZ4_decompress_safe: ${n - bad} of ${n} blocks (whole files and one-block fills) decoded exactly`;
}
const tally = { trees: 0, paths: 0, fsck: new Map<string, [number, number]>(), kernelOk: 0, kernelFail: 0, kernelSkipped: 0, fsck18Skipped: 0 };
const failures: string[] = [];
for (const f of FSCKS) tally.fsck.set(f, [0, 0]);
let chunkIndexFiles = 0;
let blockMapFiles = 0;
let compressedFiles = 0;
let compactFiles = 0;
let compressedBytes = 0;
let storedBytes = 0;

for (const c of cases) {
  tally.trees++;
  const img = join(work, `${c.name}.erofs`);
  const bytes = buildImage(c.tree, c.options);
  writeFileSync(img, bytes);
  {
    // Count what the builder compressed or chunked, read back with our decoder.
    const image = new Image(new MemorySource(bytes));
    walk(image, (e) => {
      if (e.inode.layout === DataLayout.ChunkBased) {
        if (e.inode.chunkFormat & 0x20) chunkIndexFiles++;
        else blockMapFiles++;
      }
      if (e.inode.layout !== DataLayout.CompressedFull && e.inode.layout !== DataLayout.CompressedCompact) return;
      compressedFiles++;
      if (e.inode.layout === DataLayout.CompressedCompact) compactFiles++;
      compressedBytes += e.inode.size;
      storedBytes += e.inode.blocks * 512;
    });
  }
  const want = expectedOf(c.tree, c.options);
  tally.paths += want.records.size;
  for (const f of FSCKS) {
    // fsck.erofs 1.8.6 refuses every 1 KiB-block image ("invalid sb_extslots 0"), mkfs.erofs's own too (fixtures/README.md).
    if (f.endsWith('18') && c.options.blockSize === 1024) {
      tally.fsck18Skipped++;
      continue;
    }
    const x = join(work, `${c.name}.x`);
    const r = spawnSync(f, [`--extract=${x}`, img], { encoding: 'utf8' });
    rmSync(x, { recursive: true, force: true });
    const t = tally.fsck.get(f)!;
    if (r.status === 0) t[0]++;
    else {
      t[1]++;
      failures.push(`${c.name} (${c.options.blockSize} B blocks): ${f.split('/').pop()} exit ${r.status}: ${(r.stderr + r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
    }
  }
  if (!isRoot) {
    tally.kernelSkipped++;
    continue;
  }
  const mnt = join(work, `${c.name}.mnt`);
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'erofs', '-o', 'loop,ro', img, mnt]);
  } catch (e) {
    tally.kernelFail++;
    failures.push(`${c.name}: mount failed: ${(e as Error).message.split('\n')[0]}`);
    continue;
  }
  try {
    const prefix = join(work, c.name);
    const m = spawnSync('python3', [MANIFEST, mnt, prefix], { encoding: 'utf8' });
    if (m.status !== 0) {
      tally.kernelFail++;
      failures.push(`${c.name}: manifest.py failed: ${m.stderr.trim().split('\n').pop()}`);
      continue;
    }
    const got = readJsonl<{ path?: string; path_b64?: string; ino: number }>(`${prefix}.manifest.jsonl`).map(withoutIno);
    const wantRecs = [...want.paths].sort((a, b) => Buffer.compare(a, b)).map((p) => want.records.get(latin(p)));
    const gotDirs = readJsonl<{ path?: string; path_b64?: string; entries?: string[]; entries_b64?: string[] }>(`${prefix}.readdir.jsonl`);
    const problems: string[] = [];
    if (got.length !== wantRecs.length) problems.push(`${got.length} paths, tree has ${wantRecs.length}`);
    for (let i = 0; i < Math.min(got.length, wantRecs.length); i++) {
      if (JSON.stringify(got[i]) !== JSON.stringify(wantRecs[i])) {
        problems.push(`record ${i}: kernel ${JSON.stringify(got[i]).slice(0, 300)} tree ${JSON.stringify(wantRecs[i]).slice(0, 300)}`);
        break;
      }
    }
    for (const d of gotDirs) {
      const key = d.path !== undefined ? latin(utf8.encode(d.path)) : Buffer.from(d.path_b64!, 'base64').toString('latin1');
      const names = d.entries ? d.entries.map((s) => latin(utf8.encode(s))) : d.entries_b64!.map((s) => Buffer.from(s, 'base64').toString('latin1'));
      const expected = want.listings.get(key)?.map(latin);
      if (JSON.stringify(names) !== JSON.stringify(expected)) {
        problems.push(`listing of ${JSON.stringify(key)} differs`);
        break;
      }
    }
    if (problems.length) {
      tally.kernelFail++;
      failures.push(`${c.name}: kernel manifest differs: ${problems.join('; ')}`);
    } else tally.kernelOk++;
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
}

const lines = [
  `mkfs-check: ${tally.trees} trees (${cases.length - N} hand-made + ${N} generated, seed ${SEED}), ${tally.paths} paths`,
  ...[...tally.fsck].map(([f, [ok, bad]]) => `  ${f.split('/').pop()} --extract: ${ok} passed, ${bad} failed` + (f.endsWith('18') && tally.fsck18Skipped ? ` (${tally.fsck18Skipped} images with 1 KiB blocks not run: 1.8.6 refuses all of them)` : '')),
  isRoot ? `  kernel mount + manifest.py equal to the tree: ${tally.kernelOk} passed, ${tally.kernelFail} failed` : `  kernel: skipped (not root)`,
  `  chunk-based files: ${chunkIndexFiles} with 8-byte chunk indexes, ${blockMapFiles} with the 4-byte block map`,
  `  LZ4-compressed files: ${compressedFiles} (${compactFiles} with compact indexes), ${compressedBytes} bytes stored in ${storedBytes} bytes of pclusters`,
];
if (LZ4) lines.push(liblz4Check());
console.log(lines.join('\n'));
for (const f of failures.slice(0, 30)) console.log('  FAIL ' + f);
if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`images kept in ${work}`);
process.exit(failures.length ? 1 : 0);
