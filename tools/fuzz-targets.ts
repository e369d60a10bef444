/**
 * Fuzz targets, shared by tools/fuzz.ts (the mutation loop) and tests/regressions.test.ts
 * (replays every saved finding). An input is an image (plus the NID the target aims at)
 * or, for the decompressor targets, one compressed stream and its decoded length. Running
 * a target must return or throw ErofsError; anything else is a finding.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CountingSource,
  DataLayout,
  DirBlock,
  ErofsError,
  ExtentKind,
  Image,
  MemorySource,
  createLzma,
  deflate,
  isDir,
  isReg,
  lz4,
  walk,
  zstd,
  type Codec,
  type Inode,
} from '../packages/erofs/src/index.js';
import { buildImage, dir, file, symlink, device, fifo, socket } from '../packages/mkfs/src/index.js';
import { metadataLayout, type Range as LayoutRange, type RangeKind } from '../tests/layout.js';
import { fsck } from '../packages/cli/src/fsck.js';
import { manifestRecord } from '../packages/cli/src/manifest.js';

export const IMAGE_TARGETS = ['superblock', 'inode', 'dirent', 'xattr', 'chunk', 'zindex', 'walk'] as const;
export const CODEC_TARGETS = ['lz4', 'lzma', 'deflate', 'zstd'] as const;
export const TARGETS = [...IMAGE_TARGETS, ...CODEC_TARGETS] as const;
export type Target = (typeof TARGETS)[number];
export type { RangeKind } from '../tests/layout.js';

export interface ImageInput {
  kind: 'image';
  name: string;
  bytes: Uint8Array;
  /** The inode the target exercises (image targets other than superblock and walk). */
  nid: number;
}
export interface CodecInput {
  kind: 'codec';
  name: string;
  algorithm: number;
  bytes: Uint8Array;
  llen: number;
  partial: boolean;
}
export type Input = ImageInput | CodecInput;

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Reads budget per run: generous for real work, far below a loop. */
const maxReads = (n: number) => Math.max(200_000, 2 * n);

function open(bytes: Uint8Array): Image {
  return new Image(new CountingSource(new MemorySource(bytes), maxReads(bytes.length)), { cacheBytes: 1 << 20 });
}

/** Reads a file extent by extent, holes skipped, at most `limit` bytes. */
function readData(image: Image, inode: Inode, limit = 1 << 20): void {
  const buf = new Uint8Array(1 << 16);
  const end = Math.min(inode.size, limit);
  for (let off = 0; off < end; ) {
    const ext = image.map(inode, off);
    const stop = Math.min(end, ext.logical + ext.length);
    if (!(stop > off)) throw new Error(`map made no progress at ${off}`);
    if (ext.kind !== ExtentKind.Hole) {
      for (let p = off; p < stop; ) {
        const n = image.read(inode, p, buf, 0, Math.min(buf.length, stop - p));
        if (!(n > 0)) throw new Error(`read made no progress at ${p}`);
        p += n;
      }
    }
    off = stop;
  }
}

const codecCache = new Map<string, Codec>();
export function codecFor(algorithm: number): Codec {
  const key = String(algorithm);
  let c = codecCache.get(key);
  if (!c) {
    c = algorithm === 0 ? lz4 : algorithm === 1 ? createLzma(8 << 20) : algorithm === 2 ? deflate : zstd;
    codecCache.set(key, c);
  }
  return c;
}

/** Runs one target on one input. Returns normally or throws (ErofsError is a clean outcome). */
export function runTarget(target: Target, input: Input): void {
  if (input.kind === 'codec') {
    if (input.llen > 1 << 22) throw new ErofsError('EUCLEAN', 'fuzz', undefined, 'llen too large');
    const out = new Uint8Array(input.llen);
    codecFor(input.algorithm).decode(input.bytes, out, input.partial);
    return;
  }
  const image = open(input.bytes);
  const root = image.root();
  switch (target) {
    case 'superblock': {
      for (const d of image.readdir(root)) image.lookup(root, d.name);
      image.listXattrs(root);
      return;
    }
    case 'walk': {
      fsck(image, { maxErrors: 50 });
      const image2 = open(input.bytes);
      walk(image2, (e) => {
        if (isReg(e.inode) && e.inode.size > 1 << 20) readData(image2, e.inode);
        else manifestRecord(image2, e.path, e.inode);
        for (const x of image2.listXattrs(e.inode)) image2.getXattr(e.inode, x.nameBytes);
      });
      // The walk extract uses: names checked for order and uniqueness as it goes.
      walk(open(input.bytes), () => {}, { sorted: true });
      return;
    }
    default: {
      const inode = image.inode(input.nid);
      image.listXattrs(inode);
      image.getXattr(inode, 'user.absent');
      image.getXattr(inode, 'trusted.overlay.opaque');
      if (target === 'xattr') {
        for (const x of image.listXattrs(inode)) image.getXattr(inode, x.nameBytes);
        return;
      }
      if (isDir(inode)) {
        for (const d of image.readdir(inode)) {
          image.lookup(inode, d.name);
          if (target === 'dirent') image.inode(d.nid);
        }
        image.lookup(inode, 'zz-missing');
        image.lookup(inode, '\x01');
      } else if ((inode.mode & 0o170000) === 0o120000) image.readlink(inode);
      else readData(image, inode);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------

export type Range = LayoutRange;

/**
 * The layout's range kinds each image target pokes (walk: all of them). The index kinds of
 * compressed files all belong to zindex; inodes held in a metabox to inode.
 */
export const TARGET_KINDS: Record<string, readonly RangeKind[]> = {
  superblock: ['superblock', 'devtable'],
  inode: ['inode', 'metabox-inode'],
  dirent: ['dirent'],
  xattr: ['xattr', 'prefix'],
  chunk: ['chunk'],
  zindex: ['zheader', 'zindex-legacy', 'zindex-compact', 'zextent'],
};

export interface Seed {
  name: string;
  bytes: Uint8Array;
  blockSize: number;
  ranges: Range[];
  /** NIDs by the target that aims at them. */
  nids: Record<string, number[]>;
}

/** Trees built by our builder, at several block sizes: every file type, xattrs, chunks, wide directories. */
export function builderImages(): { name: string; bytes: Uint8Array }[] {
  const utf8 = new TextEncoder();
  const shared = { 'user.shared': utf8.encode('one value, many inodes') };
  const hl = file('linked', { xattrs: shared });
  const wide: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 150; i++) wide[`entry-${i}`] = file(`${i}`.repeat(i % 5));
  const tree = dir({
    'a.txt': file('hello\n', { xattrs: { 'security.x': utf8.encode('s'), 'trusted.t': new Uint8Array(40) } }),
    big: file(new Uint8Array(20_000).map((_, i) => i * 31)),
    sparse: file(new Uint8Array(24 * 1024).fill(1, 9000, 9010)),
    empty: file(''),
    ext: file('extended', { uid: 100_000, mtime: 1, mtimeNsec: 5 }),
    sub: dir({ deeper: dir({ x: file('x', { xattrs: shared }) }), link: hl }, { xattrs: shared }),
    link2: hl,
    sl: symlink('a.txt'),
    cdev: device('chardev', 1, 3),
    ff: fifo(),
    so: socket(),
    wide: dir(wide),
  }, { mtime: 1_700_000_000 });
  return [512, 1024, 4096].map((blockSize) => ({ name: `builder-b${blockSize}`, bytes: buildImage(tree, { blockSize, chunkBits: 0, epoch: 1_700_000_000 }) }));
}

/** Fixture images that need no extra device. */
export function fixtureImages(): { name: string; bytes: Uint8Array }[] {
  const index = JSON.parse(readFileSync(FIXTURES + 'index.json', 'utf8')) as { image: string; devices: string[] }[];
  const needsDevice = new Set(index.filter((x) => x.devices?.length).map((x) => x.image));
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.erofs') && !needsDevice.has(f))
    .sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(FIXTURES + f)) }));
}

/**
 * Metadata ranges (tests/layout.ts, the same the mutation tests poke: compressed map headers
 * and indexes, encoded extents, metabox-held inodes included) and, per target, the NIDs
 * whose ranges it pokes.
 */
export function analyse(name: string, bytes: Uint8Array): Seed {
  const image = new Image(new MemorySource(bytes));
  const { ranges, blockSize } = metadataLayout(image, bytes.length);
  const nids: Record<string, number[]> = {};
  for (const [target, kinds] of Object.entries(TARGET_KINDS)) {
    if (target === 'superblock') continue;
    nids[target] = [...new Set(ranges.filter((r) => kinds.includes(r.kind)).map((r) => r.nid))];
  }
  return { name, bytes, blockSize, ranges, nids };
}

/**
 * The fuzzer's schedule: the index of the target the next input goes to, given the time
 * spent so far per target (Infinity: the target has no inputs). The walk target (at
 * `walkIndex`, -1 when not fuzzed) gets the input while its time is at most `walkShare` of
 * the total; otherwise the target with the least time so far.
 */
export function pickTarget(spent: ArrayLike<number>, walkIndex: number, walkShare: number): number {
  if (walkIndex >= 0 && Number.isFinite(spent[walkIndex])) {
    let total = 0;
    for (let k = 0; k < spent.length; k++) if (Number.isFinite(spent[k])) total += spent[k];
    if (spent[walkIndex] <= walkShare * total) return walkIndex;
  }
  let ti = -1;
  for (let k = 0; k < spent.length; k++) if (k !== walkIndex && (ti < 0 || spent[k] < spent[ti])) ti = k;
  return ti < 0 ? walkIndex : ti;
}

/** Compressed streams of the fixtures: (algorithm, stream with zero padding stripped, llen). */
export function codecStreams(images: { name: string; bytes: Uint8Array }[], perAlgorithm = 40): CodecInput[] {
  const out: CodecInput[] = [];
  const count = [0, 0, 0, 0];
  for (const { name, bytes } of images) {
    let image: Image;
    try {
      image = new Image(new MemorySource(bytes));
    } catch {
      continue;
    }
    walk(image, (e) => {
      const i = e.inode;
      if (!(i.layout === DataLayout.CompressedFull || i.layout === DataLayout.CompressedCompact) || i.inMetabox) return;
      for (let p = 0; p < i.size; ) {
        const x = image.map(i, p);
        p = Math.max(p + 1, x.logical + x.length);
        if (x.kind !== ExtentKind.Encoded || x.format! > 3 || x.inMeta || count[x.format!] >= perAlgorithm) continue;
        let raw = bytes.subarray(x.physical, x.physical + x.plen!);
        let k = 0;
        while (k < raw.length && raw[k] === 0) k++;
        raw = raw.subarray(k);
        count[x.format!]++;
        out.push({ kind: 'codec', name: `${name}:${i.nid}@${x.logical}`, algorithm: x.format!, bytes: raw.slice(), llen: x.length, partial: x.partial === true });
      }
    });
  }
  return out;
}

/** True when the outcome of running a target is clean (returned or ErofsError). */
export function outcome(target: Target, input: Input): { clean: boolean; result: string; error?: unknown } {
  try {
    runTarget(target, input);
    return { clean: true, result: 'ok' };
  } catch (e) {
    if (e instanceof ErofsError) return { clean: true, result: e.code };
    return { clean: false, result: e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e), error: e };
  }
}
