/**
 * Generated trees for the builder: a printable spec (what fast-check shows on failure),
 * its expansion into a tree, and the manifest the tree must produce (the same records as
 * shared/tools/manifest.py and `erofs manifest`, without ino). Used by
 * tests/mkfs-properties.test.ts and tools/mkfs-check.ts.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { compareBytes, nameBytes, type BuildOptions, type DirNode, type TreeNode, type NodeMeta } from '@erofs-js/mkfs';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';

export interface MetaSpec {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  mtimeNsec?: number;
  xattrs?: Record<string, string>;
}

export type NodeSpec =
  | { kind: 'file'; size: number; fill: number; zeros?: [number, number]; pattern?: Pattern; meta: MetaSpec }
  | { kind: 'dir'; entries: [string | number[], NodeSpec][]; meta: MetaSpec }
  | { kind: 'wide'; n: number; prefix: string; meta: MetaSpec }
  | { kind: 'chain'; depth: number; meta: MetaSpec }
  | { kind: 'symlink'; target: string; meta: MetaSpec }
  | { kind: 'chardev' | 'blockdev'; major: number; minor: number; meta: MetaSpec }
  | { kind: 'fifo' | 'socket'; meta: MetaSpec };

/** File content: a byte ramp (the default), English-like text, or noise that LZ4 cannot shrink. */
export type Pattern = 'ramp' | 'text' | 'noise';

export interface TreeSpec {
  root: { kind: 'dir'; entries: [string | number[], NodeSpec][]; meta: MetaSpec };
  /** Hard links: file number `from` (mod count) linked into directory number `to` as `name`. */
  links: { from: number; to: number; name: string }[];
  blockSize: number;
  inline: boolean;
  chunkBits: number | undefined;
  /** 8-byte chunk indexes instead of the 4-byte block map. */
  chunkIndexes?: boolean;
  epoch: number;
  fixedNsec: number;
  compression?: 'lz4';
  compressedIndexes?: 'full' | 'compact';
}

/** Xattr values by short key, so that specs stay readable. */
const XATTR_VALUES: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  v: new TextEncoder().encode('v'),
  same: new TextEncoder().encode('the same value on many inodes'),
  bin: new Uint8Array([0, 1, 2, 255, 254, 0]),
  big: new Uint8Array(300).map((_, i) => (i * 7) & 255),
};
const XATTR_NAMES = ['user.a', 'user.b', 'user.' + 'k'.repeat(200), 'user.ünï', 'trusted.overlay.opaque', 'trusted.t', 'security.x1'];

const utf8 = new TextEncoder();
const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function validName(b: Uint8Array): boolean {
  if (b.length < 1 || b.length > 255 || b.includes(0x2f) || b.includes(0)) return false;
  return !(b[0] === 0x2e && (b.length === 1 || (b.length === 2 && b[1] === 0x2e)));
}

// ---------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------

const nameArb: fc.Arbitrary<string | number[]> = fc
  .oneof(
    { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom(...'abcxyz-_.!~0 +'.split('')), minLength: 1, maxLength: 10 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom('n'.repeat(255), 'é'.repeat(127) + 'x', '日'.repeat(85), 'z'.repeat(254), '-', '.a', '..b') },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 12 }) },
  )
  .filter((n) => validName(typeof n === 'string' ? utf8.encode(n) : new Uint8Array(n)));

const metaArb: fc.Arbitrary<MetaSpec> = fc.record(
  {
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.oneof(fc.constantFrom(0, 1, 65535, 65536, 2 ** 31), fc.nat(100000)),
    gid: fc.oneof(fc.constantFrom(0, 65535, 65536), fc.nat(100000)),
    mtime: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 33 }), fc.constantFrom(0, 1_700_000_000, -1)),
    mtimeNsec: fc.integer({ min: 0, max: 999_999_999 }),
    xattrs: fc.dictionary(fc.constantFrom(...XATTR_NAMES), fc.constantFrom(...Object.keys(XATTR_VALUES)), { maxKeys: 4 }),
  },
  { requiredKeys: [] },
);

/** Sizes around block boundaries of any block size the tests use. */
const sizeArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(0, 1, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 12288) },
  { weight: 5, arbitrary: fc.nat(3 * 4096 + 100) },
  // Big enough for many pclusters, some of which decode to hundreds of kilobytes.
  { weight: 1, arbitrary: fc.constantFrom(40_000, 300_000) },
);

const fileArb: fc.Arbitrary<NodeSpec> = fc.record({
  kind: fc.constant('file' as const),
  size: sizeArb,
  fill: fc.integer({ min: 0, max: 255 }),
  zeros: fc.option(fc.tuple(fc.nat(12288), fc.oneof(fc.nat(12288), fc.constant(250_000))), { nil: undefined }),
  pattern: fc.constantFrom<Pattern | undefined>(undefined, undefined, 'text', 'noise'),
  meta: metaArb,
}).map((f) => {
  const out: NodeSpec = { ...f };
  if (f.zeros === undefined) delete out.zeros;
  if (f.pattern === undefined) delete out.pattern;
  return out;
});

const leafArb: fc.Arbitrary<NodeSpec> = fc.oneof(
  { weight: 6, arbitrary: fileArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('symlink' as const), target: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('x'.repeat(4095), 'a/'.repeat(700) + 'b', '/etc/passwd')).filter((t) => t.length > 0 && utf8.encode(t).length <= 4095 && !t.includes('\0')), meta: metaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('chardev' as const, 'blockdev' as const), major: fc.integer({ min: 0, max: 0xfff }), minor: fc.integer({ min: 0, max: 0xfffff }), meta: metaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('fifo' as const, 'socket' as const), meta: metaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wide' as const), n: fc.integer({ min: 20, max: 400 }), prefix: fc.constantFrom('', 'w'.repeat(100), 'é'.repeat(60)), meta: metaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('chain' as const), depth: fc.integer({ min: 2, max: 40 }), meta: metaArb }) },
);

const { dir: dirArb } = fc.letrec<{ dir: NodeSpec; node: NodeSpec }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafArb, tie('dir')),
  dir: fc.record({
    kind: fc.constant('dir' as const),
    entries: fc.uniqueArray(fc.tuple(nameArb, tie('node')), { maxLength: 8, selector: (e) => latin(typeof e[0] === 'string' ? utf8.encode(e[0]) : new Uint8Array(e[0])) }),
    meta: metaArb,
  }),
}));

export const treeSpecArb: fc.Arbitrary<TreeSpec> = fc.record({
  root: dirArb as fc.Arbitrary<TreeSpec['root']>,
  links: fc.array(fc.record({ from: fc.nat(), to: fc.nat(), name: fc.constantFrom('hl', 'hard-link', 'é-link', 'z'.repeat(255)) }), { maxLength: 4 }),
  blockSize: fc.constantFrom(512, 1024, 2048, 4096, 4096),
  inline: fc.boolean(),
  chunkBits: fc.constantFrom(undefined, undefined, 0, 1),
  chunkIndexes: fc.boolean(),
  epoch: fc.constantFrom(0, 1_700_000_000, 2 ** 32 + 5),
  fixedNsec: fc.constantFrom(0, 123_456_789),
  compression: fc.constantFrom<'lz4' | undefined>(undefined, 'lz4'),
  compressedIndexes: fc.constantFrom<'full' | 'compact'>('full', 'compact'),
});

// ---------------------------------------------------------------------------------------
// Spec -> tree
// ---------------------------------------------------------------------------------------

function metaOf(m: MetaSpec): NodeMeta {
  const out: NodeMeta = {};
  if (m.mode !== undefined) out.mode = m.mode;
  if (m.uid !== undefined) out.uid = m.uid;
  if (m.gid !== undefined) out.gid = m.gid;
  if (m.mtime !== undefined) out.mtime = m.mtime;
  if (m.mtimeNsec !== undefined) out.mtimeNsec = m.mtimeNsec;
  if (m.xattrs && Object.keys(m.xattrs).length) {
    out.xattrs = {};
    for (const [k, v] of Object.entries(m.xattrs)) out.xattrs[k] = XATTR_VALUES[v];
  }
  return out;
}

const WORDS = 'the of and to in is that for it as with was on be by this are from at or an which file block image inode'.split(' ');

export function fileData(size: number, fill: number, zeros?: [number, number], pattern: Pattern = 'ramp'): Uint8Array {
  const d = new Uint8Array(size);
  let x = fill * 2654435761 + 1;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  if (pattern === 'ramp') for (let i = 0; i < size; i++) d[i] = (i * (fill | 1) + (i >>> 9) + fill) & 255;
  else if (pattern === 'noise') for (let i = 0; i < size; i++) d[i] = rnd() & 255;
  else {
    for (let i = 0; i < size; ) {
      const w = WORDS[rnd() % WORDS.length] + (rnd() % 9 ? ' ' : '.\n');
      for (let j = 0; j < w.length && i < size; j++) d[i++] = w.charCodeAt(j);
    }
  }
  if (zeros) d.fill(0, Math.min(size, zeros[0]), Math.min(size, zeros[0] + zeros[1]));
  return d;
}

function nodeOf(s: NodeSpec): TreeNode {
  const meta = metaOf(s.meta);
  // Linux hides user.* xattrs of anything but regular files and directories (getxattr
  // answers ENODATA although listxattr names them), so trees only put them there.
  if (meta.xattrs && s.kind !== 'file' && s.kind !== 'dir' && s.kind !== 'wide' && s.kind !== 'chain') {
    for (const k of Object.keys(meta.xattrs)) if (k.startsWith('user.')) delete meta.xattrs[k];
    if (!Object.keys(meta.xattrs).length) delete meta.xattrs;
  }
  switch (s.kind) {
    case 'file':
      return { type: 'file', data: fileData(s.size, s.fill, s.zeros, s.pattern), ...meta };
    case 'dir': {
      const entries = new Map<string | Uint8Array, TreeNode>();
      const seen = new Set<string>();
      for (const [name, child] of s.entries) {
        const key = typeof name === 'string' ? name : new Uint8Array(name);
        const k = latin(nameBytes(key));
        if (seen.has(k)) continue;
        seen.add(k);
        entries.set(key, nodeOf(child));
      }
      return { type: 'dir', entries, ...meta };
    }
    case 'wide': {
      const entries = new Map<string | Uint8Array, TreeNode>();
      for (let i = 0; i < s.n; i++) entries.set(`${s.prefix}${i}`, { type: 'file', data: fileData(i % 7, i) });
      return { type: 'dir', entries, ...meta };
    }
    case 'chain': {
      let node: TreeNode = { type: 'file', data: utf8.encode('bottom'), ...meta };
      for (let i = 0; i < s.depth; i++) node = { type: 'dir', entries: new Map([[`d${i}`, node]]) };
      return node;
    }
    case 'symlink':
      return { type: 'symlink', target: s.target, ...meta };
    case 'chardev':
    case 'blockdev':
      return { type: s.kind, major: s.major, minor: s.minor, ...meta };
    default:
      return { type: s.kind, ...meta };
  }
}

export function treeOf(spec: TreeSpec): { tree: DirNode; options: BuildOptions } {
  const tree = nodeOf(spec.root) as DirNode;
  // Hard links: collect non-directory nodes and directories, then add the links.
  const leaves: TreeNode[] = [];
  const dirs: DirNode[] = [];
  const collect = (d: DirNode) => {
    dirs.push(d);
    for (const c of d.entries.values()) {
      if (c.type === 'dir') collect(c);
      else leaves.push(c);
    }
  };
  collect(tree);
  if (leaves.length) {
    for (const l of spec.links) {
      const d = dirs[l.to % dirs.length];
      if ([...d.entries.keys()].some((k) => latin(nameBytes(k)) === latin(utf8.encode(l.name)))) continue;
      d.entries.set(l.name, leaves[l.from % leaves.length]);
    }
  }
  return {
    tree,
    options: { blockSize: spec.blockSize, inlineData: spec.inline, chunkBits: spec.chunkBits, chunkIndexes: spec.chunkIndexes, epoch: spec.epoch, fixedNsec: spec.fixedNsec, compression: spec.compression, compressedIndexes: spec.compressedIndexes },
  };
}

// ---------------------------------------------------------------------------------------
// Tree -> expected manifest
// ---------------------------------------------------------------------------------------

/** A manifest record as the tree predicts it: no inode number (the image assigns those). */
export type ExpectedRecord = Omit<ManifestRecord, 'ino'>;

const strict = new TextDecoder('utf-8', { fatal: true });
function textOrB64(rec: Record<string, unknown>, key: string, bytes: Uint8Array): void {
  try {
    rec[key] = strict.decode(bytes);
  } catch {
    rec[key + '_b64'] = Buffer.from(bytes).toString('base64');
  }
}

const S_IF = { file: 0o100000, dir: 0o040000, symlink: 0o120000, chardev: 0o020000, blockdev: 0o060000, fifo: 0o010000, socket: 0o140000 };

function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8)) + ((minor & ~0xff) >>> 0) * 2 ** 12;
}

export interface Expected {
  /** Path (latin1 of its bytes) -> record, "/" for the root. */
  records: Map<string, ExpectedRecord>;
  /** Directory path -> names in on-disk order (bytewise sorted), without "." and "..". */
  listings: Map<string, Uint8Array[]>;
  paths: Uint8Array[];
}

/** What the kernel (and our decoder) must report for the tree built with `options`. */
export function expectedOf(tree: DirNode, options: BuildOptions): Expected {
  const epoch = options.epoch!;
  const fixedNsec = options.fixedNsec!;
  const links = new Map<TreeNode, number>();
  const count = (d: DirNode) => {
    for (const c of d.entries.values()) {
      if (c.type === 'dir') count(c);
      else links.set(c, (links.get(c) ?? 0) + 1);
    }
  };
  count(tree);
  const records = new Map<string, ExpectedRecord>();
  const listings = new Map<string, Uint8Array[]>();
  const paths: Uint8Array[] = [];
  const visit = (node: TreeNode, path: Uint8Array) => {
    const rec = {} as ExpectedRecord;
    textOrB64(rec as unknown as Record<string, unknown>, 'path', path);
    let size = 0;
    let nlink = links.get(node) ?? 1;
    if (node.type === 'file') size = node.data.length;
    if (node.type === 'symlink') size = nameBytes(node.target).length;
    if (node.type === 'dir') {
      nlink = 2 + [...node.entries.values()].filter((c) => c.type === 'dir').length;
      // Directory size: 12 + name per entry, cut into blocks (an entry never straddles one).
      const names = [...node.entries.keys()].map(nameBytes);
      names.push(utf8.encode('.'), utf8.encode('..'));
      names.sort(compareBytes);
      const bs = options.blockSize ?? 4096;
      let used = 0;
      let full = 0;
      names.forEach((n, i) => {
        if (i > 0 && used + 12 + n.length > bs) {
          full++;
          used = 0;
        }
        used += 12 + n.length;
      });
      size = full * bs + used;
    }
    const perm = node.mode ?? (node.type === 'dir' ? 0o755 : node.type === 'symlink' ? 0o777 : 0o644);
    Object.assign(rec, {
      type: node.type,
      mode: S_IF[node.type] | perm,
      uid: node.uid ?? 0,
      gid: node.gid ?? 0,
      size,
      nlink,
      mtime: node.mtime ?? epoch,
      mtime_nsec: node.mtimeNsec ?? (node.mtime === undefined ? fixedNsec : 0),
    });
    if (node.type === 'chardev' || node.type === 'blockdev') rec.rdev = makedev(node.major, node.minor);
    if (node.type === 'symlink') textOrB64(rec as unknown as Record<string, unknown>, 'target', nameBytes(node.target));
    if (node.type === 'file') rec.sha256 = createHash('sha256').update(node.data).digest('hex');
    if (node.xattrs && Object.keys(node.xattrs).length) {
      rec.xattrs = {};
      const names = Object.keys(node.xattrs).sort((a, b) => compareBytes(utf8.encode(a), utf8.encode(b)));
      for (const n of names) rec.xattrs[n] = Buffer.from(node.xattrs[n]).toString('base64');
    }
    records.set(latin(path), rec);
    paths.push(path);
    if (node.type === 'dir') {
      const kids = [...node.entries].map(([k, v]) => [nameBytes(k), v] as const).sort((a, b) => compareBytes(a[0], b[0]));
      listings.set(latin(path), kids.map((k) => k[0]));
      for (const [name, child] of kids) {
        const base = path.length === 1 ? new Uint8Array(0) : path;
        const p = new Uint8Array(base.length + 1 + name.length);
        p.set(base);
        p[base.length] = 0x2f;
        p.set(name, base.length + 1);
        visit(child, p);
      }
    }
  };
  visit(tree, utf8.encode('/'));
  return { records, listings, paths };
}

/** Record without ino (images and manifests carry it; trees cannot predict it). */
export function withoutIno<T extends { ino?: number }>(r: T): Omit<T, 'ino'> {
  const { ino: _ino, ...rest } = r;
  return rest;
}
