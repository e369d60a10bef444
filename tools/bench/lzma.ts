/**
 * MicroLZMA decode throughput: erofs-js vs liblzma's native MicroLZMA decoder, same streams,
 * same run.  `npx tsx tools/bench/lzma.ts [seconds-per-case]`
 *
 * Needs gcc and liblzma-dev (>= 5.3). The C side (tools/codecs/lzma-vectors.c `bench`)
 * generates the data, encodes it with lzma_microlzma_encoder (whole, or mkfs.erofs-style
 * fixed-size pclusters), writes the streams for us, and times its own decoder; then we
 * decode the same streams and check them against the same generator.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { microLzmaDecode, LZMA_PROBS_MAX } from '../../packages/erofs/src/codecs/lzma.js';
import { generate, type Kind } from '../codecs/lzma-vectors.js';

const seconds = Number(process.argv[2] ?? 1);
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

interface Case {
  label: string;
  kind: Kind;
  size: number;
  pcluster: number; // 0 = one stream
  dict: number;
  preset: number;
}
const MiB = 1 << 20;
const cases: Case[] = [
  { label: 'text, one 8 MiB stream', kind: 'text', size: 8 * MiB, pcluster: 0, dict: 8 * MiB, preset: 6 },
  { label: 'mixed, one 8 MiB stream', kind: 'mixed', size: 8 * MiB, pcluster: 0, dict: 8 * MiB, preset: 6 },
  { label: 'text, 4 KiB pclusters', kind: 'text', size: 8 * MiB, pcluster: 4096, dict: 32768, preset: 6 },
  { label: 'mixed, 16 KiB pclusters', kind: 'mixed', size: 8 * MiB, pcluster: 16384, dict: 131072, preset: 6 },
  { label: 'binary, 64 KiB pclusters', kind: 'binary', size: 8 * MiB, pcluster: 65536, dict: 524288, preset: 9 },
  { label: 'random, 4 KiB pclusters', kind: 'random', size: 4 * MiB, pcluster: 4096, dict: 32768, preset: 6 },
];

const rows: string[][] = [['case', 'ratio', 'streams', 'erofs-js MiB/s', 'liblzma MiB/s', 'js/native']];
for (const c of cases) {
  const file = join(work, `${c.kind}-${c.size}-${c.pcluster}.bin`);
  const native = JSON.parse(
    execFileSync(exe, ['bench', c.kind, '1', String(c.size), String(c.pcluster), String(c.dict), String(c.preset), file, String(seconds)], {
      encoding: 'utf8',
    }),
  ) as { streams: number; compressed: number; mibps: number };

  // container: u32 count, then per stream u32 clen, u32 ulen, bytes
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
  const probs = new Uint16Array(LZMA_PROBS_MAX);
  const pass = () => {
    for (const s of streams) microLzmaDecode(s.input, s.output, c.dict, false, probs);
  };
  pass();
  if (Buffer.compare(out, generate(c.kind, 1, c.size)) !== 0) throw new Error(`${c.label}: wrong output`);
  for (let t0 = performance.now(); performance.now() - t0 < 300; ) pass(); // warm up the JIT
  let passes = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = (performance.now() - t0) / 1000;
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
for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
console.log(`node ${process.version}; liblzma ${execFileSync(exe, ['version'], { encoding: 'utf8' }).trim() || '?'}`);
