/**
 * LZ4 block decoding throughput (MiB/s of decoded output): ours (liblz4 in wasm, the default
 * codec, and the TypeScript decoder, its fallback) against the baselines, in one run,
 * interleaved, on three corpora cut into blocks the way EROFS pclusters are. The wasm
 * figures include copying each block into the wasm memory and its output out, as images do.
 *
 *   npx tsx tools/bench/lz4.ts [--ms=200] [--mib=8] [--impl=path/to/variant.ts ...]
 *
 * Corpora (built from files on this machine, capped at --mib each):
 *   text    JavaScript, TypeScript and Markdown from node_modules
 *   binary  executables from /usr/bin
 *   low     already-compressed .gz files from /usr/share (random bytes if too few)
 * Blockings:
 *   lz4 4K      LZ4_compress_destSize into 4 KiB pclusters (mkfs.erofs -zlz4)
 *   lz4hc 16K   LZ4_compress_HC_destSize level 9 into 16 KiB (mkfs.erofs -zlz4hc -C16384)
 *   64K blocks  LZ4_compress_default of 64 KiB pieces
 * Blocks are compressed by liblz4 through tools/codecs/lz4-vectors.c (needs gcc and
 * liblz4-dev); the same program times LZ4_decompress_safe as the native baseline.
 * Baselines are used when installed (`npm install --no-save lz4js lz4-napi lz4-wasm-nodejs`):
 * lz4js (pure JS), lz4-napi (Rust lz4_flex over N-API; allocates its output) and
 * lz4-wasm-nodejs (lz4_flex in wasm; allocates and copies its output out).
 * --impl adds a module exporting lz4Decode with our signature, for trying a variant.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lz4Decode } from '../../packages/erofs/src/codecs/lz4.js';
import { lz4DecodeWasm, lz4WasmAvailable, lz4WasmFailure } from '../../packages/erofs/src/codecs/lz4-wasm.js';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const MS = Number(args.ms ?? 200);
const CAP = Number(args.mib ?? 8) << 20;
const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const tmp = mkdtempSync(join(tmpdir(), 'lz4-bench-'));

function walk(dir: string, keep: (p: string) => boolean, out: string[] = [], depth = 0): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch {
      continue;
    }
    if (!st) continue;
    if (st.isDirectory() && depth < 12) walk(p, keep, out, depth + 1);
    else if (st.isFile() && keep(p)) out.push(p);
  }
  return out;
}

function concat(files: string[]): Uint8Array {
  const out = new Uint8Array(CAP);
  let n = 0;
  for (const f of files) {
    if (n >= CAP) break;
    let b: Uint8Array;
    try {
      b = readFileSync(f);
    } catch {
      continue;
    }
    const take = Math.min(b.length, CAP - n);
    out.set(b.subarray(0, take), n);
    n += take;
  }
  return out.subarray(0, n);
}

function corpora(): Record<string, Uint8Array> {
  const text = concat(walk(join(root, 'node_modules'), (p) => /\.(m?js|cjs|d\.ts|md)$/.test(p)));
  const binary = concat(walk('/usr/bin', () => true));
  let low = concat(walk('/usr/share', (p) => p.endsWith('.gz')));
  if (low.length < CAP / 2) {
    low = new Uint8Array(CAP);
    let s = 1;
    for (let i = 0; i < low.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      low[i] = s >>> 24;
    }
  }
  return { text, binary, low };
}

interface Blocks {
  raw: number[]; // decoded length of each block
  at: number[]; // where each block's output starts in the corpus
  comp: Uint8Array[]; // the blocks
  prefixed: Uint8Array[]; // [u32 raw length][block], lz4_flex's size-prepended form
  compressed: number;
  file: string;
}

const exe = join(tmp, 'lz4-vectors');
execFileSync('gcc', ['-O2', '-o', exe, join(root, 'tools/codecs/lz4-vectors.c'), '-llz4'], { stdio: 'inherit' });

function cut(corpus: Uint8Array, mode: string, size: number, name: string): Blocks {
  const src = join(tmp, `${name}.raw`);
  const file = join(tmp, `${name}.${mode}.${size}.blocks`);
  writeFileSync(src, corpus);
  execFileSync(exe, ['compress', mode, String(size), src, file]);
  const buf = new Uint8Array(readFileSync(file));
  const b: Blocks = { raw: [], at: [], comp: [], prefixed: [], compressed: 0, file };
  const dv = new DataView(buf.buffer, buf.byteOffset);
  let at = 0;
  for (let p = 0; p + 8 <= buf.length; ) {
    const raw = dv.getUint32(p, true);
    const c = dv.getUint32(p + 4, true);
    b.raw.push(raw);
    b.at.push(at);
    b.comp.push(buf.subarray(p + 8, p + 8 + c));
    const pre = new Uint8Array(4 + c);
    new DataView(pre.buffer).setUint32(0, raw, true);
    pre.set(buf.subarray(p + 8, p + 8 + c), 4);
    b.prefixed.push(pre);
    b.compressed += c;
    at += raw;
    p += 8 + c;
  }
  if (at !== corpus.length) throw new Error(`${name}: blocks cover ${at} of ${corpus.length} bytes`);
  return b;
}

type Pass = (b: Blocks, out: Uint8Array) => void;
const contenders: [string, Pass][] = [];

// The default codec (liblz4 in wasm, tools/lz4-wasm) first, then the TypeScript decoder.
if (!lz4WasmAvailable()) throw new Error(`the wasm LZ4 decoder does not load here: ${lz4WasmFailure()}`);
contenders.push(['ours: liblz4 wasm', (b, out) => {
  for (let i = 0; i < b.comp.length; i++) lz4DecodeWasm(b.comp[i], out.subarray(b.at[i], b.at[i] + b.raw[i]), false);
}]);
contenders.push(['ours: TypeScript', (b, out) => {
  for (let i = 0; i < b.comp.length; i++) lz4Decode(b.comp[i], out.subarray(b.at[i], b.at[i] + b.raw[i]), false);
}]);

for (const impl of (args.impl ? String(args.impl).split(',') : [])) {
  const mod = await import(pathToFileURL(resolve(impl)).href);
  const f = mod.lz4Decode as typeof lz4Decode;
  contenders.push([`variant ${impl.split('/').pop()}`, (b, out) => {
    for (let i = 0; i < b.comp.length; i++) f(b.comp[i], out.subarray(b.at[i], b.at[i] + b.raw[i]), false);
  }]);
}

function optional(name: string): any {
  try {
    return require(name);
  } catch {
    console.log(`(${name} not installed: npm install --no-save ${name})`);
    return undefined;
  }
}
const lz4js = optional('lz4js');
if (lz4js) {
  contenders.push(['lz4js', (b, out) => {
    for (let i = 0; i < b.comp.length; i++) lz4js.decompressBlock(b.comp[i], out, 0, b.comp[i].length, b.at[i]);
  }]);
}
const napi = optional('lz4-napi');
if (napi) {
  contenders.push(['lz4-napi (native)', (b, out) => {
    for (let i = 0; i < b.comp.length; i++) out.set(napi.uncompressSync(b.prefixed[i]), b.at[i]);
  }]);
}
const wasm = optional('lz4-wasm-nodejs');
if (wasm) {
  contenders.push(['lz4-wasm-nodejs', (b, out) => {
    for (let i = 0; i < b.comp.length; i++) out.set(wasm.decompress(b.prefixed[i]), b.at[i]);
  }]);
}

/** CPU seconds of this process: steadier than wall time on a shared 2-core machine. */
function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function time(pass: Pass, b: Blocks, out: Uint8Array, corpus: Uint8Array): number {
  out.fill(0);
  pass(b, out); // warm up, and check
  if (Buffer.compare(out, corpus) !== 0) throw new Error('decoded output differs from the corpus');
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let passes = 0;
    const t0 = cpu();
    let t = 0;
    do {
      pass(b, out);
      passes++;
      t = cpu() - t0;
    } while (t < MS / 3000);
    best = Math.max(best, (corpus.length * passes) / t / 2 ** 20);
  }
  return best;
}

const modes: [string, string, number][] = [
  ['lz4 4K', 'destsize', 4096],
  ['lz4hc 16K', 'hcdest9', 16384],
  ['64K blocks', 'default', 65536],
];
const rows: string[][] = [];
const header = ['corpus', 'blocking', 'ratio', ...contenders.map((c) => c[0]), 'liblz4 C', 'wasm/C', 'TS/C'];
try {
  for (const [name, corpus] of Object.entries(corpora())) {
    const out = new Uint8Array(corpus.length);
    for (const [label, mode, size] of modes) {
      const b = cut(corpus, mode, size, name);
      // Interleaved: the native loop between the contenders, each measured twice, best kept,
      // so that a change of load on a shared machine falls on all of them alike.
      const first = contenders.map(([, pass]) => time(pass, b, out, corpus));
      const native = () => Number(execFileSync(exe, ['bench', b.file, String(MS)]).toString().split('\t')[0]);
      const c1 = native();
      const speeds = contenders.map(([, pass], i) => Math.max(first[i], time(pass, b, out, corpus)));
      const c = Math.max(c1, native());
      rows.push([
        `${name} ${(corpus.length / 2 ** 20).toFixed(1)}M`,
        label,
        (corpus.length / b.compressed).toFixed(2),
        ...speeds.map((s) => s.toFixed(0)),
        c.toFixed(0),
        (speeds[0] / c).toFixed(2),
        (speeds[1] / c).toFixed(2),
      ]);
      console.error(rows[rows.length - 1].join('  '));
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => '| ' + r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
console.log(`\nLZ4 block decode, MiB/s of output (best of 3 x ${MS / 3 | 0} ms of CPU time), node ${process.version}`);
console.log(line(header));
console.log('|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of rows) console.log(line(r));
