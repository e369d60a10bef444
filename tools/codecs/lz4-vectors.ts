/**
 * Regenerates fixtures/codecs/lz4/: raw LZ4 blocks made by the real liblz4 from
 * deterministic generated inputs, and index.json with each original's length and sha256.
 * The originals are not stored: the test regenerates them with the TypeScript twin of the
 * C generators and checks them against the sha256 first.
 *
 *   npx tsx tools/codecs/lz4-vectors.ts        (needs gcc and liblz4-dev)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = join(root, 'fixtures/codecs/lz4');
const tmp = mkdtempSync(join(tmpdir(), 'lz4-vectors-'));

try {
  const exe = join(tmp, 'lz4-vectors');
  execFileSync('gcc', ['-O2', '-Wall', '-o', exe, join(root, 'tools/codecs/lz4-vectors.c'), '-llz4'], { stdio: 'inherit' });
  const lib = execFileSync('sh', ['-c', "dpkg-query -W -f '${Version}' liblz4-dev 2>/dev/null || true"]).toString().trim();

  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.lz4')) rmSync(join(outDir, f));
  const origDir = join(tmp, 'orig');
  mkdirSync(origDir);
  const tsv = execFileSync(exe, ['vectors', outDir, origDir], { maxBuffer: 1 << 24 }).toString();

  const vectors = tsv
    .trim()
    .split('\n')
    .map((line) => {
      const [name, kind, seed, genLength, start, end, compressor, compressedSize] = line.split('\t');
      const original = readFileSync(join(origDir, `${name}.bin`));
      if (original.length !== Number(end) - Number(start)) throw new Error(`${name}: length mismatch`);
      return {
        file: `${name}.lz4`,
        kind,
        seed: Number(seed),
        genLength: Number(genLength),
        start: Number(start),
        end: Number(end),
        compressor,
        compressedSize: Number(compressedSize),
        sha256: createHash('sha256').update(original).digest('hex'),
      };
    });

  const index = {
    about:
      'Raw LZ4 blocks made by liblz4 ' +
      (lib || '(unknown version)') +
      ' with tools/codecs/lz4-vectors.c. The original of each is bytes [start, end) of the ' +
      'generator `kind` run with `seed` for `genLength` bytes. Compressors: default ' +
      '(LZ4_compress_default), fast8 (LZ4_compress_fast, acceleration 8), hcN (LZ4_compress_HC ' +
      'level N), destsize / hcdestN (LZ4_compress_destSize / LZ4_compress_HC_destSize into ' +
      'the budget in the name, consecutive pclusters p0, p1, ... of one input).',
    vectors,
  };
  // One vector a line: small, and a regeneration diffs line by line.
  const json = `{\n"about": ${JSON.stringify(index.about)},\n"vectors": [\n${vectors.map((v) => JSON.stringify(v)).join(',\n')}\n]}\n`;
  writeFileSync(join(outDir, 'index.json'), json);
  const bytes = readdirSync(outDir).reduce((n, f) => n + readFileSync(join(outDir, f)).length, 0);
  console.log(`${vectors.length} vectors, ${bytes} bytes in ${outDir}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
