/**
 * DEFLATE and Zstandard decoder throughput, one run, same data for every decoder.
 *
 *     npx tsx tools/bench/codecs.ts            (BENCH_MS=ms per round, BENCH_ROUNDS=rounds)
 *
 * Data: a text and a binary corpus (deterministic, as in tools/codecs/deflate-vectors.py),
 * cut into 4–128 KiB pieces the way a pcluster holds them; DEFLATE by Node's zlib (level 6,
 * raw), Zstandard by the zstd CLI (-3, one file per piece, so every frame has its content
 * size, as erofs-utils writes them). Decoders:
 *
 *   deflate  pure (pako, codecs/deflate.ts) · node:zlib (codecs/deflate-node.ts) · C zlib
 *   zstd     wasm libzstd (createZstd) · C libzstd
 *
 * The C loops (compiled here with cc -O2 against the system zlib and libzstd: apt-get
 * install zlib1g-dev libzstd-dev) decode the same pieces from memory, one call per piece,
 * reusing one context, which is the native ceiling. Each figure is the best of
 * BENCH_ROUNDS rounds of at least BENCH_MS ms, in MiB/s of decoded output; the rounds of
 * the contenders alternate, so that load from elsewhere falls on all of them alike.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { Codec } from '../../packages/erofs/src/codecs/codec.js';
import { deflate } from '../../packages/erofs/src/codecs/deflate.js';
import { createNodeDeflate } from '../../packages/erofs/src/codecs/deflate-node.js';
import { createZstd } from '../../packages/erofs/src/codecs/zstd.js';

const ROUND_MS = Number(process.env.BENCH_MS ?? 150);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [4096, 16384, 65536, 131072];
/** Decoded bytes per (corpus, size) set. */
const SET_BYTES = 2 << 20;

// ---- corpora (same generators as tools/codecs/deflate-vectors.py) ----

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'
).split(' ');

function text(seed: number, n: number): Uint8Array {
  const r = rng(seed);
  const parts: string[] = [];
  let size = 0;
  let line = 0;
  while (size < n) {
    let piece = WORDS[Math.floor(r() ** 2.2 * WORDS.length)];
    line += piece.length + 1;
    if (r() < 0.07) piece += '.';
    if (line > 70) {
      piece += '\n';
      line = 0;
    } else piece += ' ';
    if (r() < 0.01) piece += `${Math.floor(r() * 100000)} `;
    parts.push(piece);
    size += piece.length;
  }
  return new TextEncoder().encode(parts.join('')).subarray(0, n);
}

function binary(seed: number, n: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(n);
  const ops = [0x48, 0x89, 0xe5, 0x8b, 0x45, 0xfc, 0x83, 0xc0, 0x01, 0xc3, 0xe8, 0x00];
  let i = 0;
  while (i < n) {
    const k = r();
    if (k < 0.3) {
      const id = Math.floor(r() * 1000);
      for (let j = 0; j < 16 && i < n; j++, i++) b[i] = j < 4 ? (id >> (j * 8)) & 255 : j < 8 ? 0 : j < 12 ? (i >> ((j - 8) * 8)) & 255 : 0x90;
    } else if (k < 0.5) {
      const len = 8 + Math.floor(r() * 40);
      for (let j = 0; j < len && i < n; j++) b[i++] = Math.floor(r() * 256);
    } else if (k < 0.7) {
      const back = i ? 1 + Math.floor(r() * Math.min(i, 4000)) : 1;
      const len = 4 + Math.floor(r() * 60);
      for (let j = 0; j < len && i < n; j++, i++) b[i] = i >= back ? b[i - back] : 0;
    } else {
      const len = 4 + Math.floor(r() * 20);
      for (let j = 0; j < len && i < n; j++) b[i++] = ops[Math.floor(r() * ops.length)];
    }
  }
  return b;
}

// ---- native baseline ----

const NATIVE_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>
/* usage: native deflate|zstd FILE ROUND_MS ROUNDS; FILE = records of u32 clen, u32 dlen, clen bytes */
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char **argv) {
  int zs = strcmp(argv[1], "zstd") == 0; double roundMs = atof(argv[3]); int rounds = atoi(argv[4]);
  FILE *f = fopen(argv[2], "rb"); fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n); if (fread(buf, 1, n, f) != (size_t)n) return 2; fclose(f);
  int count = 0; unsigned char *src[4096]; unsigned clen[4096], dlen[4096]; unsigned maxd = 0; double total = 0;
  for (long p = 0; p < n; count++) { memcpy(&clen[count], buf + p, 4); memcpy(&dlen[count], buf + p + 4, 4); src[count] = buf + p + 8; p += 8 + clen[count]; if (dlen[count] > maxd) maxd = dlen[count]; total += dlen[count]; }
  unsigned char *out = malloc(maxd); ZSTD_DCtx *dctx = ZSTD_createDCtx(); z_stream s; memset(&s, 0, sizeof s); inflateInit2(&s, -15);
  double best = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now(), t; long iters = 0;
    do {
      for (int i = 0; i < count; i++) {
        if (zs) { size_t k = ZSTD_decompressDCtx(dctx, out, dlen[i], src[i], clen[i]); if (k != dlen[i]) { fprintf(stderr, "zstd fail\n"); return 1; } }
        else { inflateReset(&s); s.next_in = src[i]; s.avail_in = clen[i]; s.next_out = out; s.avail_out = dlen[i];
               if (inflate(&s, Z_FINISH) != Z_STREAM_END || s.avail_out) { fprintf(stderr, "zlib fail\n"); return 1; } }
      }
      iters++; t = now() - t0;
    } while (t < roundMs);
    double mibs = total * iters / 1048576.0 / (t / 1e3); if (mibs > best) best = mibs;
  }
  printf("%.1f\n", best); return 0;
}
`;

function buildNative(dir: string): string | undefined {
  const src = join(dir, 'native.c');
  const bin = join(dir, 'native');
  writeFileSync(src, NATIVE_C);
  const r = spawnSync('cc', ['-O2', '-o', bin, src, '-lz', '-lzstd'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`native baseline unavailable (cc -lz -lzstd failed): ${(r.stderr || r.error?.message || '').split('\n')[0]}`);
    return undefined;
  }
  return bin;
}

/** Writes the pieces for the C loop; returns a function that runs one round of it. */
function nativeRound(bin: string | undefined, dir: string, kind: 'deflate' | 'zstd', pieces: Uint8Array[], lengths: number[]): () => number | undefined {
  if (!bin) return () => undefined;
  const parts: Uint8Array[] = [];
  pieces.forEach((p, i) => {
    const h = new Uint8Array(8);
    new DataView(h.buffer).setUint32(0, p.length, true);
    new DataView(h.buffer).setUint32(4, lengths[i], true);
    parts.push(h, p);
  });
  const file = join(dir, `${kind}.records`);
  writeFileSync(file, Buffer.concat(parts));
  return () => Number(execFileSync(bin, [kind, file, String(ROUND_MS), '1'], { encoding: 'utf8' }).trim());
}

// ---- measurement ----

/** One round: decodes every piece, over and over for at least ROUND_MS; MiB/s of output. */
function round(codec: Codec, pieces: Uint8Array[], outs: Uint8Array[]): number {
  const total = outs.reduce((a, o) => a + o.length, 0);
  const t0 = performance.now();
  let t: number;
  let iters = 0;
  do {
    for (let i = 0; i < pieces.length; i++) codec.decode(pieces[i], outs[i], false);
    iters++;
    t = performance.now() - t0;
  } while (t < ROUND_MS);
  return (total * iters) / 1048576 / (t / 1000);
}

/**
 * Best of ROUNDS rounds per contender, the rounds interleaved (a round of each in turn) so
 * that load from elsewhere on the machine falls on all of them alike.
 */
function bestOf(contenders: (() => number | undefined)[]): (number | undefined)[] {
  const best: (number | undefined)[] = contenders.map(() => undefined);
  for (let r = 0; r < ROUNDS; r++) {
    contenders.forEach((run, i) => {
      const x = run();
      if (x !== undefined) best[i] = Math.max(best[i] ?? 0, x);
    });
  }
  return best;
}

function zstdPieces(dir: string, chunks: Uint8Array[]): Uint8Array[] {
  const names = chunks.map((c, i) => {
    const f = join(dir, `p${i}`);
    writeFileSync(f, c);
    return f;
  });
  execFileSync('zstd', ['-q', '-f', '-3', ...names]);
  const frames = names.map((f) => new Uint8Array(readFileSync(`${f}.zst`)));
  for (const f of names) {
    rmSync(f);
    rmSync(`${f}.zst`);
  }
  return frames;
}

const fmt = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(0)).padStart(7);
const pct = (a: number, b: number | undefined) => (b === undefined ? '–' : `${((100 * a) / b).toFixed(0)}%`).padStart(6);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'erofs-bench-codecs-'));
  try {
    const native = buildNative(dir);
    const zstdWasm = await createZstd();
    const nodeDeflate = createNodeDeflate();
    const corpora: [string, Uint8Array][] = [
      ['text', text(1, SET_BYTES)],
      ['binary', binary(2, SET_BYTES)],
    ];
    console.log(`best of ${ROUNDS} rounds of >= ${ROUND_MS} ms; MiB/s of decoded output; node ${process.version}`);
    console.log('\nDEFLATE (zlib level 6, raw)');
    console.log('corpus  piece   ratio   pako   node:zlib  C zlib  node/pako  pako/C  node/C  µs/call pako node');
    const zrows: string[] = [];
    for (const [name, corpus] of corpora) {
      for (const size of SIZES) {
        const chunks: Uint8Array[] = [];
        for (let o = 0; o + size <= corpus.length; o += size) chunks.push(corpus.subarray(o, o + size));
        const outs = chunks.map((c) => new Uint8Array(c.length));
        const lengths = chunks.map((c) => c.length);
        const dfl = chunks.map((c) => new Uint8Array(deflateRawSync(c, { level: 6 })));
        const ratio = chunks.length * size / dfl.reduce((a, d) => a + d.length, 0);
        const [p, n, c] = bestOf([
          () => round(deflate, dfl, outs),
          () => round(nodeDeflate, dfl, outs),
          nativeRound(native, dir, 'deflate', dfl, lengths),
        ]) as [number, number, number | undefined];
        const us = (mibs: number) => ((size / 1048576 / mibs) * 1e6).toFixed(1).padStart(5);
        console.log(
          `${name.padEnd(7)} ${String(size >> 10).padStart(3)}K ${ratio.toFixed(2).padStart(7)} ${fmt(p)} ${fmt(n)}    ${fmt(c)} ${(n / p).toFixed(2).padStart(8)}× ${pct(p, c)} ${pct(n, c)}    ${us(p)} ${us(n)}`,
        );

        const zs = zstdPieces(dir, chunks);
        const zratio = chunks.length * size / zs.reduce((a, d) => a + d.length, 0);
        const [w, zc] = bestOf([
          () => round(zstdWasm, zs, outs),
          nativeRound(native, dir, 'zstd', zs, lengths),
        ]) as [number, number | undefined];
        zrows.push(`${name.padEnd(7)} ${String(size >> 10).padStart(3)}K ${zratio.toFixed(2).padStart(7)} ${fmt(w)}  ${fmt(zc)} ${pct(w, zc)}`);
      }
    }
    console.log('\nZstandard (zstd -3, content size in every frame)');
    console.log('corpus  piece   ratio   wasm   C libzstd  wasm/C');
    for (const r of zrows) console.log(r);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
