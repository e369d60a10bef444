/**
 * `npm run bench`: every benchmark, one after the other, each measuring ratios in one run
 * against its native baseline, then one report: bench-results/latest.md and latest.json
 * (`--quick`: bench-results/quick.md and quick.json), headed by the machine it ran on.
 * Benchmarks are not tests: run them on a quiet machine.
 *
 *   npm run bench [-- --quick] [--rounds=N] [--only=walk,meta,...] [--trees=debian] [--images=lz4,...]   (the last four go to workloads.ts)
 *
 * First step, automatic: tools/bench/corpus.ts builds the corpus (a copy of node_modules,
 * a Debian minbase tree when debootstrap can run, and EROFS images of both) in
 * $EROFS_BENCH_CACHE or ~/.cache/erofs-js-bench, once; later runs reuse it. --quick keeps
 * to node_modules and three image variants.
 *
 * Then each tool alone: the decoders, the VFS, `erofs mkfs` (peak RSS against the
 * targets of hardening item 5b; tools/bench/mkfs.ts), and the tmpfs write workload
 * (tools/bench/writes.ts).
 *
 * Native baselines: gcc with liblz4-dev, liblzma-dev, zlib1g-dev, libzstd-dev (the codec
 * loops), erofs-utils 1.8+ (fsck.erofs --extract), mkfs.erofs (1.5 and 1.8+), debootstrap,
 * root for the kernel's loop mount and for dropping the page cache. The very first step,
 * tools/bench/setup.sh, installs what is missing (apt-get as root; Debian trixie's
 * erofs-utils unpacked into the cache for 1.8+) and prints what it did; what still cannot
 * be had is left out with the reason printed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMkfs } from './corpus.js';

const quick = process.argv.includes('--quick');
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(REPO, 'bench-results');
const tmp = mkdtempSync(join(tmpdir(), 'erofs-js-bench-'));

/** Runs a bench in a child, its output shown as it comes and kept for the report. */
function run(file: string, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', here(file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      process.stdout.write(s);
    });
    child.on('close', (status) => resolvePromise({ status, out }));
  });
}

function machine(): Record<string, string | number> {
  let cpu = 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    cpu = cpus()[0]?.model ?? 'unknown';
  }
  const version = (bin: string) => {
    try {
      return execFileSync(bin, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
    } catch {
      return '';
    }
  };
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'packages', 'tools/bench'], { encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    fsck: [findMkfs().fsck].filter((p): p is string => !!p).map(version).filter(Boolean)[0] ?? '',
    commit,
    nice: getPriority(),
    loadStart: loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

// Baselines first: a fresh machine gets them here (see tools/bench/setup.sh).
{
  const r = spawnSync('bash', [here('setup.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) console.log(`(tools/bench/setup.sh exited with ${r.status})`);
}
const m = machine();
const codecRuns: [string, string, string[]][] = [
  ['LZ4 block decoding', 'lz4.ts', quick ? ['--ms=100', '--mib=2'] : ['--ms=300', '--mib=8']],
  ['MicroLZMA decoding', 'lzma.ts', [quick ? '0.3' : '1']],
  ['DEFLATE and Zstandard decoding', 'codecs.ts', []],
  ['Whole fixture images and the extent cache', 'image.ts', [quick ? '--rounds=3' : '--rounds=7']],
  ['The VFS against the host kernel (million-entry walk)', 'vfs.ts', [quick ? '--entries=100000' : '--entries=1000000']],
  ['erofs mkfs peak RSS against its targets (Debian tree, generated tree)', 'mkfs.ts', [quick ? '--entries=100000' : '--entries=1000000']],
  ['Writes on our tmpfs through Task against node:fs on the host /dev/shm', 'writes.ts', quick ? ['--files=2000', '--mib=20', '--rounds=3'] : ['--rounds=5']],
];
let failed = 0;
const sections: { title: string; file: string; out: string; status: number | null }[] = [];

console.log(`\n=== Guest workloads over the corpus (tools/bench/workloads.ts; corpus by tools/bench/corpus.ts) ===`);
const wlOut = join(tmp, 'workloads');
const passOn = process.argv.slice(2).filter((a) => /^--(rounds|only|trees|images)=/.test(a));
const wl = await run('workloads.ts', [...(quick ? ['--quick'] : []), ...passOn, `--out=${wlOut}`]);
if (wl.status !== 0) {
  failed++;
  console.log(`(tools/bench/workloads.ts exited with ${wl.status})`);
}
for (const [title, file, args] of codecRuns) {
  console.log(`\n=== ${title} (tools/bench/${file}) ===`);
  const r = await run(file, args);
  sections.push({ title, file, ...r });
  if (r.status !== 0) {
    failed++;
    console.log(`(tools/bench/${file} exited with ${r.status}; is its native baseline installed? see the file's header)`);
  }
}
m.loadEnd = loadavg().map((x) => x.toFixed(2)).join(' ');

const md: string[] = [];
md.push(`# erofs-js benchmarks${quick ? ' (--quick)' : ''}`);
md.push('');
md.push(`Made by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${m.date}: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.fsck || 'no fsck.erofs 1.8+'}, commit ${m.commit || 'unknown'}, run at nice ${m.nice}. Load average (1, 5, 15 min) ${m.loadStart} at the start, ${m.loadEnd} at the end: absolute times drift with it, the ratios within a row were measured under the same load.`);
md.push('');
md.push('## Guest workloads over real trees (tools/bench/workloads.ts)');
md.push('');
if (existsSync(wlOut + '.md')) md.push(readFileSync(wlOut + '.md', 'utf8'));
else md.push(`(the workloads did not finish: exit ${wl.status})\n`);
md.push('## Decoders, the VFS and mkfs alone, against native code or targets');
for (const s of sections) {
  md.push('');
  md.push(`### ${s.title} (tools/bench/${s.file})${s.status === 0 ? '' : ` — exited with ${s.status}`}`);
  md.push('');
  md.push('```');
  md.push(s.out.trimEnd());
  md.push('```');
}
const text = md.join('\n') + '\n';
mkdirSync(RESULTS, { recursive: true });
const base = join(RESULTS, quick ? 'quick' : 'latest');
writeFileSync(base + '.md', text);
const json = {
  machine: m,
  quick,
  workloads: existsSync(wlOut + '.json') ? JSON.parse(readFileSync(wlOut + '.json', 'utf8')) : null,
  codecs: Object.fromEntries(sections.map((s) => [s.file, { title: s.title, status: s.status, output: s.out }])),
};
writeFileSync(base + '.json', JSON.stringify(json, null, 1) + '\n');
rmSync(tmp, { recursive: true, force: true });
console.log(`\nreport: ${base}.md and ${base}.json`);
process.exitCode = failed ? 1 : 0;
