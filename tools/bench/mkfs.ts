/**
 * Peak RSS of `erofs mkfs` (the streaming builder: content read as it is written, metadata
 * in an InodeTable), each run in a child process of its own (plain node on an esbuild
 * bundle of mkfs-child.ts, as workload 6 of workloads.ts does), against the targets of the
 * hardening issue (item 5b):
 *
 *   debian     the corpus's Debian minbase tree (tools/bench/corpus.ts; ~200 MB): < 150 MB
 *   generated  ENTRIES entries made in /dev/shm (1000 per directory: small files of 0..199
 *              bytes, 1% symlinks): < 400 MB
 *
 * Both uncompressed and with -zlz4. The generated image is checked with fsck.erofs 1.8+
 * when it is installed. The generated tree is removed afterwards (--keep keeps it).
 *
 *   npx tsx tools/bench/mkfs.ts [--entries=1000000] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { CACHE, findMkfs } from './corpus.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const ENTRIES = Number(args.entries ?? 1_000_000);
const MB = 1e6;
const TARGETS: Record<string, number> = { debian: 150 * MB, generated: 400 * MB };
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'erofs-js-bench-mkfs-'));

// The child: a bundle whose @erofs-js/* imports are the sources (as in vitest.config.ts), not dist/.
const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
const child = join(work, 'mkfs-child.mjs');
const SRC: [RegExp, string][] = [
  [/^@erofs-js\/erofs\/node$/, 'packages/erofs/src/node.ts'],
  [/^@erofs-js\/mkfs\/node$/, 'packages/mkfs/src/fromdir.ts'],
  [/^@erofs-js\/([a-z-]+)$/, 'packages/$1/src/index.ts'],
];
await esbuild.build({
  entryPoints: [fileURLToPath(new URL('./mkfs-child.ts', import.meta.url))],
  bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: child, logLevel: 'error',
  plugins: [{
    name: 'sources',
    setup(b) {
      b.onResolve({ filter: /^@erofs-js\// }, (a) => {
        for (const [re, to] of SRC) if (re.test(a.path)) return { path: join(REPO, a.path.replace(re, to)) };
        return undefined;
      });
    },
  }],
});

function run(extra: string[]): { rc: number; ms: number; maxRssKiB: number } {
  const r = spawnSync(process.execPath, [child, ...extra], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`mkfs child ${extra.join(' ')} failed: ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout);
}

/** ENTRIES entries under /dev/shm: directories of 1000 (999 files and symlinks each). */
function generate(): string {
  const dir = `/dev/shm/erofs-js-bench-mkfs-${ENTRIES}`;
  if (existsSync(dir + '/.done')) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const t = performance.now();
  const content = Buffer.alloc(200, 'erofs-js ');
  let n = 0;
  for (let d = 0; n < ENTRIES; d++) {
    const sub = join(dir, `d${String(d).padStart(4, '0')}`);
    mkdirSync(sub);
    n++;
    for (let k = 0; k < 999 && n < ENTRIES; k++, n++) {
      const p = join(sub, `entry-${k}`);
      if (k % 100 === 99) symlinkSync(`entry-${k - 1}`, p);
      else writeFileSync(p, content.subarray(0, (k * 37 + d) % 200));
    }
  }
  writeFileSync(dir + '/.done', '');
  console.log(`  (generated ${ENTRIES} entries in ${dir} in ${((performance.now() - t) / 1000).toFixed(0)} s)`);
  return dir;
}

const mib = (kib: number) => (kib / 1024).toFixed(0);
const rest = run(['--rest']);
console.log(`erofs mkfs, peak RSS (VmHWM of a child: plain node on a bundle of the CLI); node at rest: ${mib(rest.maxRssKiB)} MiB`);
console.log('  tree        entries    options  image MiB   seconds  peak MiB  target           result');
const trees: [string, string | undefined][] = [];
const debian = join(CACHE, 'trees', 'debian-bookworm-minbase');
trees.push(['debian', existsSync(debian) ? debian : undefined]);
trees.push(['generated', generate()]);
const fsck = findMkfs().fsck;
let missed = 0;
for (const [name, dir] of trees) {
  if (!dir) {
    console.log(`  ${name.padEnd(10)}  (not in the corpus: run npx tsx tools/bench/corpus.ts as root; skipped)`);
    continue;
  }
  const entries = name === 'generated' ? ENTRIES : Number(spawnSync('sh', ['-c', `find "$0" -mindepth 1 | wc -l`, dir], { encoding: 'utf8' }).stdout.trim());
  for (const opts of [[], ['-zlz4']]) {
    const img = join(work, `${name}.erofs`);
    const r = run([dir, img, ...opts]);
    if (r.rc !== 0) throw new Error(`erofs mkfs ${opts.join(' ')} ${dir} exited with ${r.rc}`);
    const bytes = statSync(img).size;
    const ok = r.maxRssKiB * 1024 < TARGETS[name];
    if (!ok) missed++;
    let check = '';
    if (name === 'generated' && fsck) {
      const f = spawnSync(fsck, ['--extract', img], { stdio: 'ignore' });
      check = `, fsck.erofs ${f.status === 0 ? 'clean' : `FAILED (exit ${f.status})`}`;
      if (f.status !== 0) missed++;
    }
    console.log(
      `  ${name.padEnd(10)} ${String(entries).padStart(8)}  ${(opts.join(' ') || 'plain').padEnd(7)} ${(bytes / 2 ** 20).toFixed(0).padStart(9)} ${(r.ms / 1000).toFixed(1).padStart(9)} ${mib(r.maxRssKiB).padStart(9)}  < ${TARGETS[name] / MB} MB (${(TARGETS[name] / 2 ** 20).toFixed(0)} MiB)  ${ok ? 'met' : 'MISSED'}${check}`,
    );
    rmSync(img, { force: true });
  }
}
if (args.keep !== 'true') rmSync(`/dev/shm/erofs-js-bench-mkfs-${ENTRIES}`, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
process.exitCode = missed ? 1 : 0;
