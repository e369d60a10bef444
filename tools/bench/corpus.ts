/**
 * The benchmark corpus: real trees and EROFS images of them, built once and cached
 * outside git (in $EROFS_BENCH_CACHE, default ~/.cache/erofs-js-bench).
 *
 * Trees:
 *   node_modules   a copy of the project's own node_modules (thousands of small files);
 *                  copied again when node_modules/.package-lock.json changes.
 *   debian         a Debian bookworm `--variant=minbase` root filesystem made by
 *                  debootstrap (root, network to deb.debian.org; ~200 MB, ~6,800 entries).
 *                  Skipped, with the reason printed, when that cannot be done here.
 * Images of each tree (mkfs.erofs 1.5 where it has the option, else 1.8+ from
 * /opt/erofs-utils/bin, $EROFS_BENCH_CACHE/erofs-utils/bin (put there by tools/bench/setup.sh,
 * which npm run bench runs first) or a mkfs.erofs on PATH that reports 1.8+):
 *   plain-15, plain-18, lz4, lz4hc-64k (-C65536), zstd, deflate, lzma,
 *   lz4hc-frag-dedupe (-Efragments,dedupe), chunk-64k (--chunksize=65536).
 * An image's file name carries a hash of its tree's stamp, the mkfs binary and the
 * options, so it is rebuilt only when one of them changes.
 *
 *   npx tsx tools/bench/corpus.ts [--quick]     build (or find) everything, print the list
 *
 * Environment: EROFS_BENCH_CACHE (cache directory), EROFS_BENCH_NO_DEBIAN=1 (skip the
 * Debian tree), EROFS_BENCH_MIRROR (Debian mirror, default http://deb.debian.org/debian).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CACHE = process.env.EROFS_BENCH_CACHE ?? join(homedir(), '.cache', 'erofs-js-bench');

export interface Tree {
  name: string;
  dir: string;
  /** Changes whenever the tree is rebuilt; part of every image key. */
  stamp: string;
}

export interface ImageSpec {
  variant: string;
  /** Which mkfs: '15' (Debian's 1.5 on PATH) or '18' (1.8+). */
  mkfs: '15' | '18';
  args: string[];
  /** In the --quick subset. */
  quick?: boolean;
}

export interface BuiltImage {
  tree: string;
  variant: string;
  path: string;
  bytes: number;
  mkfs: string;
  args: string[];
}

export interface Corpus {
  trees: Tree[];
  images: BuiltImage[];
  /** What was left out and why. */
  skipped: string[];
}

export const VARIANTS: ImageSpec[] = [
  { variant: 'plain-15', mkfs: '15', args: [], quick: true },
  { variant: 'plain-18', mkfs: '18', args: [] },
  { variant: 'lz4', mkfs: '15', args: ['-zlz4'], quick: true },
  { variant: 'lz4hc-64k', mkfs: '15', args: ['-zlz4hc', '-C65536'] },
  { variant: 'zstd', mkfs: '18', args: ['-zzstd'], quick: true },
  { variant: 'deflate', mkfs: '18', args: ['-zdeflate'] },
  { variant: 'lzma', mkfs: '18', args: ['-zlzma'] },
  { variant: 'lz4hc-frag-dedupe', mkfs: '18', args: ['-zlz4hc', '-Efragments,dedupe'] },
  { variant: 'chunk-64k', mkfs: '15', args: ['--chunksize=65536'] },
];

const log = (s: string) => process.stderr.write(s + '\n');

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

function which(cmd: string): string | undefined {
  const r = run('sh', ['-c', `command -v ${cmd}`]);
  return r.ok ? r.out.trim() : undefined;
}

/** mkfs.erofs binaries: 1.5 (Debian bookworm's) and one of 1.8 or newer. */
export function findMkfs(): { '15'?: string; '18'?: string; fsck?: string } {
  const found: { '15'?: string; '18'?: string; fsck?: string } = {};
  const onPath = which('mkfs.erofs');
  const version = (bin: string) => /(\d+)\.(\d+)/.exec(run(bin, ['-V']).out.match(/erofs-utils\)?\s*([\d.]+)/)?.[1] ?? '');
  if (onPath) {
    const v = version(onPath);
    // Debian's 1.5 has no -V (it prints its usage): that is the 1.5 we want.
    if (!v || (Number(v[1]) === 1 && Number(v[2]) < 8)) found['15'] = onPath;
    else found['18'] = onPath;
  }
  // tools/bench/setup.sh unpacks Debian trixie's 1.8 into the cache where no 1.8+ is found.
  const setup = join(CACHE, 'erofs-utils', 'bin');
  for (const p of ['/opt/erofs-utils/bin/mkfs.erofs18', '/opt/erofs-utils/bin/mkfs.erofs19', join(setup, 'mkfs.erofs18')]) {
    if (!found['18'] && existsSync(p)) found['18'] = p;
  }
  for (const p of ['/opt/erofs-utils/bin/fsck.erofs19', '/opt/erofs-utils/bin/fsck.erofs18', join(setup, 'fsck.erofs18')]) {
    if (!found.fsck && existsSync(p)) found.fsck = p;
  }
  if (!found.fsck) {
    const f = which('fsck.erofs');
    if (f && version(f)) found.fsck = f; // 1.5's fsck has no --extract
  }
  return found;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

function nodeModulesTree(skipped: string[]): Tree | undefined {
  const src = join(REPO, 'node_modules');
  const lock = join(src, '.package-lock.json');
  if (!existsSync(lock)) {
    skipped.push('node_modules tree: no node_modules/.package-lock.json (run npm ci first)');
    return undefined;
  }
  const stamp = sha(readFileSync(lock, 'utf8'));
  const dir = join(CACHE, 'trees', 'node_modules');
  const stampFile = dir + '.stamp';
  if (existsSync(dir) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return { name: 'node_modules', dir, stamp };
  log(`corpus: copying ${src} to ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  rmSync(dir + '.tmp', { recursive: true, force: true });
  mkdirSync(join(CACHE, 'trees'), { recursive: true });
  // cp -a keeps symlinks (the workspace links) as symlinks, and modes and times.
  const r = run('cp', ['-a', src, dir + '.tmp']);
  if (!r.ok) {
    skipped.push(`node_modules tree: cp -a failed: ${r.out.split('\n')[0]}`);
    return undefined;
  }
  renameSync(dir + '.tmp', dir);
  writeFileSync(stampFile, stamp);
  return { name: 'node_modules', dir, stamp };
}

function debianTree(skipped: string[]): Tree | undefined {
  const dir = join(CACHE, 'trees', 'debian-bookworm-minbase');
  const stampFile = dir + '.stamp';
  if (existsSync(dir) && existsSync(stampFile)) return { name: 'debian', dir, stamp: readFileSync(stampFile, 'utf8') };
  if (process.env.EROFS_BENCH_NO_DEBIAN) {
    skipped.push('debian tree: EROFS_BENCH_NO_DEBIAN is set');
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    skipped.push('debian tree: debootstrap needs root');
    return undefined;
  }
  const deb = which('debootstrap');
  if (!deb) {
    skipped.push('debian tree: debootstrap is not installed (apt-get install -y debootstrap)');
    return undefined;
  }
  const mirror = process.env.EROFS_BENCH_MIRROR ?? 'http://deb.debian.org/debian';
  log(`corpus: debootstrap --variant=minbase bookworm ${dir} ${mirror} (a few minutes)`);
  mkdirSync(join(CACHE, 'trees'), { recursive: true });
  rmSync(dir + '.tmp', { recursive: true, force: true });
  const r = run(deb, ['--variant=minbase', 'bookworm', dir + '.tmp', mirror]);
  if (!r.ok) {
    const tail = r.out.trim().split('\n').slice(-2).join(' / ');
    skipped.push(`debian tree: debootstrap failed: ${tail}`);
    rmSync(dir + '.tmp', { recursive: true, force: true });
    return undefined;
  }
  renameSync(dir + '.tmp', dir);
  const stamp = sha(`${new Date().toISOString()} ${mirror}`);
  writeFileSync(stampFile, stamp);
  return { name: 'debian', dir, stamp };
}

function buildImage(tree: Tree, spec: ImageSpec, mkfs: string): BuiltImage | string {
  const key = sha(JSON.stringify([tree.stamp, mkfs, spec.args]));
  const dir = join(CACHE, 'images');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${tree.name}-${spec.variant}-${key}.erofs`);
  if (!existsSync(path)) {
    // Images of this tree and variant under an older key are stale.
    for (const f of readdirSync(dir)) if (f.startsWith(`${tree.name}-${spec.variant}-`)) rmSync(join(dir, f), { force: true });
    log(`corpus: ${mkfs} ${spec.args.join(' ')} ${tree.name} -> ${path}`);
    const t = performance.now();
    const r = run(mkfs, [...spec.args, path + '.tmp', tree.dir]);
    if (!r.ok) {
      rmSync(path + '.tmp', { force: true });
      return `${tree.name}/${spec.variant}: ${mkfs} failed: ${r.out.trim().split('\n').slice(-1)[0]}`;
    }
    renameSync(path + '.tmp', path);
    log(`corpus:   ${(statSync(path).size / 1048576).toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return { tree: tree.name, variant: spec.variant, path, bytes: statSync(path).size, mkfs, args: spec.args };
}

/** Builds what is missing and returns the corpus; `quick`: node_modules and a few variants only. */
export function ensureCorpus(options: { quick?: boolean } = {}): Corpus {
  const skipped: string[] = [];
  const trees: Tree[] = [];
  const nm = nodeModulesTree(skipped);
  if (nm) trees.push(nm);
  if (options.quick) skipped.push('debian tree: left out by --quick');
  else {
    const deb = debianTree(skipped);
    if (deb) trees.push(deb);
  }
  const bins = findMkfs();
  const images: BuiltImage[] = [];
  for (const tree of trees) {
    for (const spec of VARIANTS) {
      if (options.quick && !spec.quick) continue;
      const mkfs = bins[spec.mkfs] ?? (spec.mkfs === '15' ? bins['18'] : undefined);
      if (!mkfs) {
        skipped.push(`${tree.name}/${spec.variant}: no mkfs.erofs ${spec.mkfs === '15' ? '' : '1.8+ '}found`);
        continue;
      }
      const b = buildImage(tree, spec, mkfs);
      if (typeof b === 'string') skipped.push(b);
      else images.push(b);
    }
  }
  return { trees, images, skipped };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const c = ensureCorpus({ quick: process.argv.includes('--quick') });
  for (const t of c.trees) console.log(`tree  ${t.name.padEnd(14)} ${t.dir}`);
  for (const i of c.images) console.log(`image ${`${i.tree}/${i.variant}`.padEnd(32)} ${(i.bytes / 1048576).toFixed(1).padStart(7)} MiB  ${i.path}`);
  for (const s of c.skipped) console.log(`skipped: ${s}`);
}
