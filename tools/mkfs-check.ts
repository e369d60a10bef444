/**
 * The independent oracle for the builder: builds hand-made and generated trees
 * (tests/mkfs-cases.ts; generated ones from tests/mkfs-tree.ts specs, fixed seed) and checks
 * every image with the real tools —
 *   fsck.erofs (1.8 and 1.9) --extract: exit status 0;
 *   the Linux kernel: mount -t erofs -o loop,ro, then shared/tools/manifest.py, whose
 *   records (without ino) and directory listings must equal the tree's;
 *   liblz4 (tools/lz4-pclusters.c, LZ4_decompress_safe): every LZ4 pcluster written into
 *   the image, read from the image's bytes, must decode to the tree's bytes for its range.
 * Needs root for the mount, gcc and liblz4-dev for the pcluster check.
 *
 * --lz4 builds every tree with LZ4-compressed files (generated trees otherwise pick
 * compression at random). --record writes the verdicts, with each image's sha256 and the
 * specs of the generated trees, to fixtures/mkfs-check.jsonl, which
 * tests/mkfs-verdicts.test.ts holds the builder to in `npm test`: rebuilt from that record
 * the images must be byte for byte the ones judged. --from-record rebuilds and rechecks the
 * recorded set instead of sampling.
 *
 * usage: npx tsx tools/mkfs-check.ts [--trees N] [--seed S] [--lz4] [--record | --from-record] [--keep]
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DataLayout, ExtentKind, Image, MemorySource, isCompressed, walk } from '../packages/erofs/src/index.js';
import { buildImage, type TreeNode } from '../packages/mkfs/src/index.js';
import { expectedOf, treeSpecArb, withoutIno } from '../tests/mkfs-tree.js';
import { generatedCase, handmadeCases, type MkfsCase } from '../tests/mkfs-cases.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROOT = new URL('..', import.meta.url).pathname;
const RECORD = join(ROOT, 'fixtures/mkfs-check.jsonl');
const keep = args.includes('--keep');
const record = args.includes('--record');
const fromRecord = args.includes('--from-record');
const FSCKS = ['/opt/erofs-utils/bin/fsck.erofs19', '/opt/erofs-utils/bin/fsck.erofs18'];
const MANIFEST = '/work/shared/tools/manifest.py';
const isRoot = process.getuid?.() === 0;

const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const utf8 = new TextEncoder();

function readJsonl<T>(p: string): T[] {
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** One tool's judgement of one image. */
export interface Verdict {
  tool: string;
  pass: boolean;
  /** Not run, and why (only fsck.erofs 1.8 on 1 KiB blocks). */
  skipped?: string;
  detail: string;
}

interface RecordLine {
  name: string;
  lz4: boolean;
  handmade?: true;
  spec?: unknown;
  blockSize: number;
  size: number;
  sha256: string;
  paths: number;
  lz4Files: number;
  compactFiles: number;
  chunkIndexFiles: number;
  pclusters: number;
  verdicts: Verdict[];
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

let N = opt('--trees', 60);
const SEED = opt('--seed', 20260601);
let LZ4 = args.includes('--lz4');
let cases: MkfsCase[];
if (fromRecord) {
  const lines = readJsonl<RecordLine & { what?: string; lz4?: boolean }>(RECORD).filter((l) => l.what !== 'header');
  LZ4 = lines.some((l) => l.lz4);
  const hand = handmadeCases(LZ4);
  cases = lines.map((l) => (l.handmade ? hand.find((c) => c.name === l.name)! : generatedCase(l.name, l.spec as never, false)));
  N = cases.filter((c) => c.spec).length;
} else {
  cases = [...handmadeCases(LZ4), ...fc.sample(treeSpecArb, { seed: SEED, numRuns: N }).map((spec, i) => generatedCase(`gen-${i}`, spec, LZ4))];
}

const work = mkdtempSync(join(tmpdir(), 'mkfs-check-'));

// ---------------------------------------------------------------------------------------
// The tools
// ---------------------------------------------------------------------------------------

const lz4Tool = join(work, 'lz4-pclusters');
execFileSync('gcc', ['-O2', '-o', lz4Tool, join(ROOT, 'tools/lz4-pclusters.c'), '-llz4']);
const version = (cmd: string, a: string[]) => spawnSync(cmd, a, { encoding: 'utf8' }).stdout.trim().split('\n')[0];
const TOOLS = {
  fsck: FSCKS.map((f) => version(f, ['-V']).replace(/ \(erofs-utils\)/, '')),
  kernel: `Linux ${release()}`,
  liblz4: `liblz4 ${version(lz4Tool, ['-V'])}`,
};

/** The tree's file contents by path (latin1 of the path bytes): the truth a pcluster must decode to. */
function contents(tree: TreeNode): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const visit = (n: TreeNode, path: string) => {
    if (n.type === 'file') out.set(path, n.data);
    if (n.type !== 'dir') return;
    for (const [k, c] of n.entries) visit(c, (path === '/' ? '' : path) + '/' + latin(typeof k === 'string' ? utf8.encode(k) : k));
  };
  visit(tree, '/');
  return out;
}

/**
 * Every LZ4 pcluster the image holds, as written (zero padding stripped, as the kernel skips
 * it), with the tree's bytes for the extent it decodes to, through tools/lz4-pclusters.c.
 * Our decoder only finds where the pclusters are; liblz4 decodes them and the tree judges.
 */
function lz4Verdict(c: MkfsCase, bytes: Uint8Array): { verdict: Verdict; pclusters: number } {
  const image = new Image(new MemorySource(bytes));
  const data = contents(c.tree);
  const recs: Buffer[] = [];
  let stored = 0;
  walk(image, (e) => {
    if (!isCompressed(e.inode)) return;
    const want = data.get(latin(e.path))!;
    for (let off = 0; off < e.inode.size; ) {
      const ext = image.map(e.inode, off);
      off = ext.logical + ext.length;
      if (ext.kind !== ExtentKind.Encoded) continue;
      if (ext.format !== 0) {
        stored++; // raw lclusters: not LZ4
        continue;
      }
      const raw = bytes.subarray(ext.physical, ext.physical + ext.plen!);
      let k = 0;
      while (k < raw.length && raw[k] === 0) k++;
      const h = Buffer.alloc(12);
      h.writeUInt32LE(raw.length - k, 0);
      h.writeUInt32LE(ext.length, 4);
      h.writeUInt32LE(ext.partial ? 1 : 0, 8);
      recs.push(h, Buffer.from(raw.subarray(k)), Buffer.from(want.subarray(ext.logical, ext.logical + ext.length)));
    }
  });
  const n = recs.length / 3;
  if (n === 0) return { pclusters: 0, verdict: { tool: TOOLS.liblz4, pass: true, detail: `no LZ4 pclusters (${stored} raw lclusters)` } };
  const file = join(work, `${c.name}.lz4rec`);
  writeFileSync(file, Buffer.concat(recs));
  const r = spawnSync(lz4Tool, [file], { encoding: 'utf8' });
  rmSync(file);
  const [count, bad] = r.stdout.trim().split(' ').map(Number);
  const pass = r.status === 0 && count === n && bad === 0;
  return { pclusters: n, verdict: { tool: TOOLS.liblz4, pass, detail: pass ? `LZ4_decompress_safe: ${n} of ${n} pclusters decoded to the tree's bytes (${stored} raw lclusters)` : `${bad} of ${count} pclusters wrong: ${r.stderr.trim()}` } };
}

function fsckVerdicts(c: MkfsCase, img: string): Verdict[] {
  return FSCKS.map((f, i) => {
    const tool = `${TOOLS.fsck[i]} --extract`;
    // fsck.erofs 1.8.6 refuses every 1 KiB-block image ("invalid sb_extslots 0"), mkfs.erofs's own too (fixtures/README.md).
    if (f.endsWith('18') && c.options.blockSize === 1024) return { tool, pass: true, skipped: '1.8.6 refuses every 1 KiB-block image, mkfs.erofs 1.8\'s own too', detail: 'not run' };
    const x = join(work, `${c.name}.x`);
    const r = spawnSync(f, [`--extract=${x}`, img], { encoding: 'utf8' });
    rmSync(x, { recursive: true, force: true });
    return { tool, pass: r.status === 0, detail: r.status === 0 ? 'exit 0' : `exit ${r.status}: ${(r.stderr + r.stdout).trim().split('\n').slice(-2).join(' | ')}` };
  });
}

function kernelVerdict(c: MkfsCase, img: string): Verdict {
  const tool = `${TOOLS.kernel} mount -t erofs -o loop,ro + manifest.py`;
  if (!isRoot) return { tool, pass: false, skipped: 'not root', detail: 'not run' };
  const want = expectedOf(c.tree, c.options);
  const mnt = join(work, `${c.name}.mnt`);
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'erofs', '-o', 'loop,ro', img, mnt]);
  } catch (e) {
    return { tool, pass: false, detail: `mount failed: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    const prefix = join(work, c.name);
    const m = spawnSync('python3', [MANIFEST, mnt, prefix], { encoding: 'utf8' });
    if (m.status !== 0) return { tool, pass: false, detail: `manifest.py failed: ${m.stderr.trim().split('\n').pop()}` };
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
    return problems.length
      ? { tool, pass: false, detail: `kernel manifest differs: ${problems.join('; ')}` }
      : { tool, pass: true, detail: `${got.length} paths and ${gotDirs.length} directory listings equal to the tree's` };
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

const lines: RecordLine[] = [];
for (const c of cases) {
  const img = join(work, `${c.name}.erofs`);
  const bytes = buildImage(c.tree, c.options);
  writeFileSync(img, bytes);
  let lz4Files = 0;
  let compactFiles = 0;
  let chunkIndexFiles = 0;
  {
    // Count what the builder compressed or chunked, read back with our decoder.
    const image = new Image(new MemorySource(bytes));
    walk(image, (e) => {
      if (e.inode.layout === DataLayout.ChunkBased && e.inode.chunkFormat & 0x20) chunkIndexFiles++;
      if (e.inode.layout === DataLayout.CompressedFull) lz4Files++;
      if (e.inode.layout === DataLayout.CompressedCompact) lz4Files++, compactFiles++;
    });
  }
  const lz4 = lz4Verdict(c, bytes);
  const verdicts = [...fsckVerdicts(c, img), kernelVerdict(c, img), lz4.verdict];
  rmSync(img);
  lines.push({
    name: c.name,
    lz4: c.options.compression === 'lz4',
    ...(c.spec ? { spec: c.spec } : { handmade: true as const }),
    blockSize: c.options.blockSize ?? 4096,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    paths: expectedOf(c.tree, c.options).records.size,
    lz4Files,
    compactFiles,
    chunkIndexFiles,
    pclusters: lz4.pclusters,
    verdicts,
  });
  const failed = verdicts.filter((v) => !v.pass);
  process.stderr.write(`${c.name}: ${failed.length ? 'FAIL ' + failed.map((v) => `${v.tool}: ${v.detail}`).join('; ') : 'ok'}\n`);
}

const sum = (f: (l: RecordLine) => number) => lines.reduce((a, l) => a + f(l), 0);
const passed = (k: number) => lines.filter((l) => l.verdicts[k].pass && !l.verdicts[k].skipped).length;
const skipped = (k: number) => lines.filter((l) => l.verdicts[k].skipped).length;
const summary = [
  `mkfs-check: ${lines.length} trees (${lines.length - N} hand-made + ${N} generated${fromRecord ? ', the recorded set' : `, seed ${SEED}`}), ${sum((l) => l.paths)} paths, block sizes ${[...new Set(lines.map((l) => l.blockSize))].sort((a, b) => a - b).join(', ')}`,
  ...FSCKS.map((_, k) => `  ${lines[0].verdicts[k].tool}: ${passed(k)} of ${lines.length - skipped(k)} passed` + (skipped(k) ? ` (${skipped(k)} not run: ${lines.find((l) => l.verdicts[k].skipped)!.verdicts[k].skipped})` : '')),
  `  ${lines[0].verdicts[2].tool}: ${passed(2)} of ${lines.length} equal to the tree`,
  `  ${TOOLS.liblz4} LZ4_decompress_safe: ${sum((l) => l.pclusters)} LZ4 pclusters from the images, ${lines.filter((l) => l.verdicts[3].pass).length} of ${lines.length} images with every one decoded to the tree's bytes`,
  `  LZ4-compressed files: ${sum((l) => l.lz4Files)} (${sum((l) => l.compactFiles)} with compact indexes); files with 8-byte chunk indexes: ${sum((l) => l.chunkIndexFiles)}`,
];
console.log(summary.join('\n'));
const failures = lines.flatMap((l) => l.verdicts.filter((v) => !v.pass).map((v) => `${l.name}: ${v.tool}: ${v.detail}`));
for (const f of failures.slice(0, 30)) console.log('  FAIL ' + f);

if (record) {
  const header = {
    what: 'header',
    command: `npx tsx tools/mkfs-check.ts ${args.filter((a) => a !== '--keep').join(' ')}`.trim(),
    recorded: new Date().toISOString().slice(0, 10),
    tools: [...TOOLS.fsck, TOOLS.kernel, TOOLS.liblz4],
    summary,
  };
  writeFileSync(RECORD, [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  console.log(`recorded ${lines.length} verdicts in ${RECORD}`);
}
if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`work files kept in ${work}`);
process.exit(failures.length ? 1 : 0);
