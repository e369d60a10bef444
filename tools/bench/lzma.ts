/**
 * MicroLZMA decode throughput: erofs-js vs liblzma's native MicroLZMA decoder, same streams,
 * same run.  `npx tsx tools/bench/lzma.ts [seconds-per-case]`
 *
 * Needs gcc and liblzma-dev (>= 5.3). The C side (tools/codecs/lzma-vectors.c `bench`)
 * takes the data (the deterministic generator, or the first bytes of a real file), encodes
 * it with lzma_microlzma_encoder (one stream, or mkfs.erofs-style fixed-size pclusters with
 * an 8x pcluster dictionary), writes the streams for us, and times its own decoder. Then we
 * decode the same streams, check the bytes, and time ours. Both sides count process CPU
 * time, which is steadier than wall time on a shared machine; MiB/s is of decoded output.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { microLzmaDecode, LZMA_PROBS_MAX } from '../../packages/erofs/src/codecs/lzma.js';
import { generate, type Kind } from '../codecs/lzma-vectors.js';

const seconds = Number(process.argv[2] ?? 1);
const MiB = 1 << 20;
const source = fileURLToPath(new URL('../codecs/lzma-vectors.c', import.meta.url));
const work = join(tmpdir(), 'erofs-js-lzma-bench');
mkdirSync(work, { recursive: true });
const exe = join(work, 'lzma-vectors');
let stale = true;
try {
  stale = statSync(exe).mtimeMs < statSync(source).mtimeMs;
} catch {
  // not built yet
}
if (stale) execFileSync('gcc', ['-O2', '-o', exe, source, '-llzma'], { stdio: 'inherit' });

/**
 * Up to `size` bytes of the regular files under `dir` that `accept` takes, walked in name
 * order, as one file in the work folder (built once). Undefined when there is too little.
 */
function corpus(name: string, dir: string, accept: (path: string) => boolean, size: number): string | undefined {
  const path = join(work, `${name}.corpus`);
  try {
    if (statSync(path).size === size) return path;
  } catch {
    // build it
  }
  const fd = openSync(path, 'w');
  let left = size;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (left === 0) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && accept(p)) {
        const bytes = readFileSync(p).subarray(0, left);
        writeSync(fd, bytes);
        left -= bytes.length;
      }
    }
  };
  walk(dir);
  closeSync(fd);
  return left === 0 ? path : undefined;
}
const isElf = (p: string) => {
  const head = Buffer.alloc(4);
  const fd = openSync(p, 'r');
  try {
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
};

interface Case {
  label: string;
  data: Kind | { file: string };
  size: number;
  pcluster: number; // 0 = one stream
  preset: number;
}
// Real data where the machine has it (what an EROFS root image mostly holds), then the
// generator's kinds (the same everywhere).
const real: [string, string | undefined, number, number][] = [
  ['ELF executables (/usr/bin)', corpus('usr-bin', '/usr/bin', isElf, 8 * MiB), 16384, 6],
  ['ELF .so (/usr/lib/x86_64-linux-gnu), -9', corpus('so', '/usr/lib/x86_64-linux-gnu', (p) => /\.so[.\d]*$/.test(p) && isElf(p), 8 * MiB), 65536, 9],
  ['Python sources (/usr/lib)', corpus('py', '/usr/lib', (p) => p.endsWith('.py'), 8 * MiB), 16384, 6],
  ['C headers (/usr/include)', corpus('headers', '/usr/include', (p) => p.endsWith('.h'), 8 * MiB), 16384, 6],
];
const cases: Case[] = [
  ...real.flatMap(([label, file, pcluster, preset]) =>
    file ? [{ label: `${label}, ${pcluster >> 10} KiB pclusters`, data: { file }, size: 8 * MiB, pcluster, preset }] : [],
  ),
  { label: 'gen. text, 4 KiB pclusters', data: 'text', size: 8 * MiB, pcluster: 4096, preset: 6 },
  { label: 'gen. text, one 8 MiB stream', data: 'text', size: 8 * MiB, pcluster: 0, preset: 6 },
  { label: 'gen. binary, 64 KiB pclusters', data: 'binary', size: 8 * MiB, pcluster: 65536, preset: 6 },
  { label: 'gen. mixed, 16 KiB pclusters', data: 'mixed', size: 8 * MiB, pcluster: 16384, preset: 6 },
  { label: 'gen. random, 4 KiB pclusters', data: 'random', size: 4 * MiB, pcluster: 4096, preset: 6 },
];

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const rows: string[][] = [['case', 'ratio', 'streams', 'erofs-js MiB/s', 'liblzma MiB/s', 'js/native']];
for (const c of cases) {
  const dict = c.pcluster ? Math.min(8 * c.pcluster, 8 * MiB) : 8 * MiB;
  const kind = typeof c.data === 'string' ? c.data : `file:${c.data.file}`;
  const file = join(work, `${c.label.replace(/[^a-z0-9]+/gi, '-')}.streams`);
  const args = ['bench', kind, '1', String(c.size), String(c.pcluster), String(dict), String(c.preset), file, String(seconds)];
  const native = JSON.parse(execFileSync(exe, args, { encoding: 'utf8' })) as {
    streams: number;
    compressed: number;
    mibps: number;
  };

  // container: u32 count, then per stream u32 clen, u32 ulen, bytes (little endian)
  const raw = new Uint8Array(readFileSync(file));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const streams: { input: Uint8Array; output: Uint8Array }[] = [];
  const out = new Uint8Array(c.size);
  for (let n = view.getUint32(0, true), at = 4, o = 0; n > 0; n--) {
    const clen = view.getUint32(at, true);
    const ulen = view.getUint32(at + 4, true);
    streams.push({ input: raw.subarray(at + 8, at + 8 + clen), output: out.subarray(o, o + ulen) });
    at += 8 + clen;
    o += ulen;
  }
  const probs = new Uint16Array(LZMA_PROBS_MAX); // as createLzma does: one table, reset per stream
  const pass = () => {
    for (const s of streams) microLzmaDecode(s.input, s.output, dict, false, probs);
  };
  pass();
  const want = typeof c.data === 'string' ? generate(c.data, 1, c.size) : readFileSync(c.data.file).subarray(0, c.size);
  if (Buffer.compare(out, want) !== 0) throw new Error(`${c.label}: wrong output`);
  for (const t0 = cpuSeconds(); cpuSeconds() - t0 < 0.3; ) pass(); // let the JIT settle
  let passes = 0;
  const t0 = cpuSeconds();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = cpuSeconds() - t0;
  } while (elapsed < seconds);
  const js = (c.size * passes) / elapsed / MiB;
  rows.push([
    c.label,
    (native.compressed / c.size).toFixed(3),
    String(native.streams),
    js.toFixed(1),
    native.mibps.toFixed(1),
    (js / native.mibps).toFixed(2),
  ]);
}

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) {
  console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
console.log(`node ${process.version}, liblzma ${execFileSync(exe, ['version'], { encoding: 'utf8' }).trim()}`);
