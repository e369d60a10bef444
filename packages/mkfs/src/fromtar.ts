/**
 * A tar stream (an OCI layer) as a build source, portable: the archive is read once, its
 * entries applied in order to a tree the way `mkfs.erofs --tar=f [--aufs]` applies them
 * (erofs-utils lib/tar.c and lib/rebuild.c), and each regular file's bytes handed to a
 * DataStore as they pass. The image is written afterwards from the tree (as an
 * InodeTable, table.ts) with file content read back from the store.
 *
 * Why a store: the image puts metadata (with inline file tails) first and data in inode
 * order, while a tar delivers data in archive order and can only be read once when it is
 * compressed or piped. So file bytes wait somewhere between the two: in memory
 * (MemoryStore, the portable default), in a temporary file (Node), or nowhere at all when
 * the tar is an uncompressed file on disk (Node: the store keeps offsets into it and reads
 * them back). Memory holds the tree and then the table: erofs mkfs --tar peaks at about
 * 100 MB for a Debian root or a 1 GiB file, 400 MB for a million entries.
 *
 * Semantics, as mkfs.erofs:
 *   - paths are split on "/", empty and "." components skipped, ".." goes up; missing
 *     parents are made on the way (mode 0755 plus the parent's group/other write bits,
 *     owner and mtime of the parent), their own entries later update them in place;
 *   - an entry for an existing name replaces it (a file, or a directory with everything
 *     under it), except a directory over a directory, which updates mode, owner, mtime and
 *     adds the xattrs it does not have yet, keeping the children; a hard link ('1') points the name at its target's
 *     inode (the target must exist and not be a directory);
 *   - an entry naming the root (".", "./") gives it its metadata; without one the root is
 *     0777, owned by `root.uid`/`root.gid`, with mtime `root.mtime` (mkfs.erofs: its own
 *     uid/gid and the build time);
 *   - with `aufs`, a last component ".wh..wh..opq" marks its directory opaque
 *     (trusted.overlay.opaque = "y") and ".wh.NAME" makes NAME a whiteout: a character
 *     device 0:0 with mode 0 (owner, mtime and xattrs from the entry). A directory that
 *     received a whiteout gets an empty trusted.overlay.origin, as mkfs.erofs marks it so
 *     that overlayfs does not iterate it directly (kernel commit b79e05aaa166).
 *   - xattrs come from PAX records; names outside the prefixes EROFS stores (user.,
 *     trusted., security., system.posix_acl_*) are skipped with a warning.
 * Where we differ: sparse entries (old GNU 'S', PAX GNU.sparse 0.0/0.1/1.0) become files
 * with their holes (mkfs.erofs 1.9 skips 'S' entries and stores PAX 1.0 ones as
 * GNUSparseFile.*\/NAME with the raw map); typeflag NUL is a regular file (mkfs.erofs
 * skips it); a ".wh..wh..opq" at the root marks the root opaque (mkfs.erofs fails).
 */
import { BuildError, DIR, FILE, SYMLINK, CHARDEV, BLOCKDEV, InodeTable, type BuildSource, type ContentSource } from './table.js';
import { TarError, TarReader, type TarEntry } from './tar.js';
import type { NodeType, XattrMap } from './tree.js';

/** Where file data waits between reading the tar and writing the image. */
export interface DataStore {
  /**
   * Keeps the next data bytes of a regular file (a view, valid during the call) found at
   * `offset` in the uncompressed tar; returns a locator of bytes[0]. A file's bytes arrive in
   * order, so its first locator + k locates its byte k.
   */
  append(bytes: Uint8Array, offset: number): number;
  /** Fills dest with the bytes kept from `locator` on. */
  read(locator: number, dest: Uint8Array): void;
  /** Releases what the store holds (files, descriptors). */
  close?(): void;
}

/** File data kept in memory, in pages of 1 MiB. */
export class MemoryStore implements DataStore {
  private readonly pages: Uint8Array[] = [];
  private size = 0;
  private static readonly PAGE = 1 << 20;

  append(bytes: Uint8Array): number {
    const at = this.size;
    const P = MemoryStore.PAGE;
    for (let i = 0; i < bytes.length; ) {
      const page = Math.floor(this.size / P);
      const o = this.size % P;
      if (page === this.pages.length) this.pages.push(new Uint8Array(P));
      const n = Math.min(P - o, bytes.length - i);
      this.pages[page].set(bytes.subarray(i, i + n), o);
      i += n;
      this.size += n;
    }
    return at;
  }

  read(locator: number, dest: Uint8Array): void {
    const P = MemoryStore.PAGE;
    if (locator + dest.length > this.size) throw new BuildError(`MemoryStore: read beyond the ${this.size} bytes kept`);
    for (let i = 0; i < dest.length; ) {
      const at = locator + i;
      const o = at % P;
      const n = Math.min(P - o, dest.length - i);
      dest.set(this.pages[Math.floor(at / P)].subarray(o, o + n), i);
      i += n;
    }
  }

  close(): void {
    this.pages.length = 0;
  }
}

/** Decompresses a gzip stream. */
export type Gunzip = (compressed: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

/** gzip through the platform's DecompressionStream (browsers, Deno, Node ≥ 18). */
export const webGunzip: Gunzip = (compressed) => {
  const it = compressed[Symbol.asyncIterator]();
  const input = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  return chunksOf(input.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>));
};

export type TarInput = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** The chunks of an input, whichever form it has (ReadableStream is not async-iterable everywhere). */
export async function* chunksOf(input: TarInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    yield input;
    return;
  }
  if (typeof (input as ReadableStream).getReader === 'function') {
    const reader = (input as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* input as AsyncIterable<Uint8Array>;
}

/** Passes the chunks through `gunzip` when they start with the gzip magic. */
export async function* maybeGunzip(chunks: AsyncIterable<Uint8Array>, gunzip: Gunzip): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let n = 0;
  while (n < 2) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    n += r.value.length;
  }
  const first = new Uint8Array(Math.min(n, 2));
  for (let i = 0, k = 0; k < first.length; i++) for (let j = 0; j < head[i].length && k < first.length; j++) first[k++] = head[i][j];
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (first[0] === 0x1f && first[1] === 0x8b) yield* gunzip(all());
  else yield* all();
}

export interface TarOptions {
  /** Turn OCI (aufs) whiteouts into overlayfs ones, as `mkfs.erofs --aufs`. */
  aufs?: boolean;
  /** The root's owner and mtime when the archive has no entry for it (default 0, 0 and now). */
  root?: { uid?: number; gid?: number; mtime?: number };
  /** Where file data waits (default: a MemoryStore). */
  store?: DataStore;
  /** The gzip decoder used when the input is gzip-compressed (default: DecompressionStream). */
  gunzip?: Gunzip;
  /** Told about entries and records that are skipped. */
  onWarning?(message: string): void;
  /**
   * Index only (mkfs.erofs --tar=i): file data stays in the archive, which becomes the
   * image's extra device 1 (so it must be kept, uncompressed, beside the image); nothing is
   * stored. Build with blockSize 512 (tar data is 512-byte aligned). Sparse entries refused.
   */
  index?: boolean;
  /** Index only: the device's tag in the image (the kernel opens it as a path when mounted without device=). */
  deviceTag?: string;
}

/** Index only: data is located by its offset in the archive and never read back. */
class OffsetStore implements DataStore {
  append(_bytes: Uint8Array, offset: number): number {
    return offset;
  }
  read(): void {
    throw new BuildError('index-only source: file data is on the device (bug: read asked for)');
  }
}

/** A tar archive as a build source: the table, content from the store, and the store to close. */
export interface TarSource extends BuildSource {
  /** Entries read (headers of files, dirs, links, ...; not PAX or long-name blocks). */
  entries: number;
  /** Bytes of uncompressed tar read. */
  bytes: number;
  close(): void;
}

const KINDS: Record<string, number> = { '0': FILE, '7': FILE, S: FILE, '2': SYMLINK, '3': CHARDEV, '4': BLOCKDEV, '5': DIR, '6': 5 };
const TYPE_NAMES: NodeType[] = ['file', 'file', 'dir', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];
const OPAQUE = 1;
const WHITEOUTS = 2;
const XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];
const WH = '.wh.';
const WH_OPQ = '.wh..wh..opq';
const Y = new Uint8Array([0x79]);

type Col = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
function grow<T extends Col>(a: T, n: number): T {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2, 64));
  b.set(a);
  return b;
}

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};
const latinBytes = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};

/**
 * The tree as entries build it: one row per node in typed columns (node 0 is the root),
 * directory children in a Map by name (latin1 of the name bytes, so that string order is
 * byte order). Replaced nodes are left unreachable rather than reused.
 */
export class TarTree {
  n = 0;
  kind = new Uint8Array(0);
  perm = new Uint16Array(0);
  uid = new Uint32Array(0);
  gid = new Uint32Array(0);
  mtime = new Float64Array(0);
  nsec = new Int32Array(0);
  /** Files: length (holes included). */
  size = new Float64Array(0);
  /** Files: store locator of the first data byte (-1: none yet). */
  loc = new Float64Array(0);
  major = new Uint32Array(0);
  minor = new Uint32Array(0);
  flags = new Uint8Array(0);
  parent = new Uint32Array(0);
  kids: (Map<string, number> | undefined)[] = [];
  targets = new Map<number, Uint8Array>();
  xattrs = new Map<number, Map<string, Uint8Array>>();
  /** Sparse files: [offset, length, ...] data segments; their bytes are stored back to back. */
  sparse = new Map<number, number[]>();

  constructor(root: { uid?: number; gid?: number; mtime?: number } = {}) {
    this.add(DIR, 0o777, root.uid ?? 0, root.gid ?? 0, root.mtime ?? Math.floor(Date.now() / 1000), 0, 0);
  }

  add(kind: number, perm: number, uid: number, gid: number, mtime: number, nsec: number, parent: number): number {
    const i = this.n++;
    if (i >= this.kind.length) {
      const n = i + 1;
      this.kind = grow(this.kind, n);
      this.perm = grow(this.perm, n);
      this.uid = grow(this.uid, n);
      this.gid = grow(this.gid, n);
      this.mtime = grow(this.mtime, n);
      this.nsec = grow(this.nsec, n);
      this.size = grow(this.size, n);
      this.loc = grow(this.loc, n);
      this.major = grow(this.major, n);
      this.minor = grow(this.minor, n);
      this.flags = grow(this.flags, n);
      this.parent = grow(this.parent, n);
    }
    this.kind[i] = kind;
    this.perm[i] = perm;
    this.uid[i] = uid;
    this.gid[i] = gid;
    this.mtime[i] = mtime;
    this.nsec[i] = nsec;
    this.size[i] = 0;
    this.loc[i] = -1;
    this.major[i] = this.minor[i] = 0;
    this.flags[i] = 0;
    this.parent[i] = parent;
    if (kind === DIR) this.kids[i] = new Map();
    return i;
  }

  /** The tree as an InodeTable: breadth first from the root, children in byte order. Consumes the child maps (call once). */
  table(): { table: InodeTable; nodeOf: Uint32Array } {
    const t = new InodeTable();
    const inoOf = new Int32Array(this.n).fill(-1);
    const order: number[] = [];
    const addNode = (node: number, parent: number): number => {
      const k = this.kind[node];
      const meta = { mode: this.perm[node], uid: this.uid[node], gid: this.gid[node], mtime: this.mtime[node], mtimeNsec: this.nsec[node], xattrs: this.xattrMap(node) };
      const i = t.addInode(TYPE_NAMES[k], meta, parent);
      inoOf[node] = i;
      order.push(node);
      if (k === FILE) t.setFileSize(i, this.size[node]);
      else if (k === SYMLINK) t.setSymlinkTarget(i, this.targets.get(node)!);
      else if (k === CHARDEV || k === BLOCKDEV) t.setDevice(i, this.major[node], this.minor[node]);
      return i;
    };
    addNode(0, -1);
    for (let d = 0; d < order.length; d++) {
      const node = order[d];
      const kids = this.kids[node];
      if (this.kind[node] !== DIR || !kids) continue;
      const names = [...kids.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const inos = names.map((name) => {
        const c = kids.get(name)!;
        return inoOf[c] >= 0 ? inoOf[c] : addNode(c, d);
      });
      t.beginDir(d);
      names.forEach((name, j) => t.addEntry(latinBytes(name), inos[j]));
      this.kids[node] = undefined; // the table has them now: memory goes back before the image is planned
    }
    t.trim();
    return { table: t, nodeOf: Uint32Array.from(order) };
  }

  private xattrMap(node: number): XattrMap | undefined {
    const x = this.xattrs.get(node);
    const f = this.flags[node];
    if (!x && !f) return undefined;
    const m: XattrMap = {};
    if (x) for (const [k, v] of x) m[k] = v;
    if (f & OPAQUE) m['trusted.overlay.opaque'] = Y;
    if (f & WHITEOUTS) m['trusted.overlay.origin'] = new Uint8Array(0);
    return m;
  }
}

/** Applies tar entries to a TarTree (see the header for the rules) and sends file data to the store. */
export class TarApplier {
  readonly tree: TarTree;
  entries = 0;
  /** The node whose data is arriving, or -1 when the current entry's data is not kept. */
  private dataNode = -1;

  constructor(
    private readonly store: DataStore,
    private readonly options: TarOptions = {},
  ) {
    this.tree = new TarTree(options.root);
  }

  private fail(e: TarEntry, message: string): never {
    throw new TarError(message, e.offset, e.path);
  }

  /**
   * Walks `path` from the root: every component but the last must be (or is made) a
   * directory. Returns the directory and the last name, or name undefined when the path
   * names a directory itself (the root, "a/..").
   */
  private walk(e: TarEntry, path: Uint8Array, make: boolean): { dir: number; name: string | undefined } {
    const t = this.tree;
    const parts = latin1(path).split('/');
    let last = parts.length - 1;
    while (last >= 0 && (parts[last] === '' || parts[last] === '.')) last--;
    let dir = 0;
    for (let k = 0; k < last; k++) {
      const c = parts[k];
      if (c === '' || c === '.') continue;
      if (c === '..') {
        dir = t.parent[dir];
        continue;
      }
      let child = t.kids[dir]!.get(c);
      if (child === undefined) {
        if (!make) this.fail(e, `${JSON.stringify(c)} in ${JSON.stringify(latin1(path))} does not exist`);
        // A missing parent: 0755 with the parent's group/other write bits, its owner and mtime.
        child = t.add(DIR, 0o755 | (t.perm[dir] & 0o022), t.uid[dir], t.gid[dir], t.mtime[dir], t.nsec[dir], dir);
        t.kids[dir]!.set(c, child);
      } else if (t.kind[child] !== DIR) this.fail(e, `${JSON.stringify(c)} in the path is not a directory`);
      dir = child;
    }
    if (last < 0) return { dir, name: undefined };
    if (parts[last] === '..') return { dir: t.parent[dir], name: undefined };
    return { dir, name: parts[last] };
  }

  entry(e: TarEntry): void {
    this.dataNode = -1;
    this.entries++;
    const t = this.tree;
    const link = e.type === '1';
    const kind = KINDS[e.type];
    if (!link && kind === undefined) {
      this.options.onWarning?.(`tar: entry at byte ${e.offset}: type ${JSON.stringify(e.type)} skipped`);
      return;
    }
    let { dir, name } = this.walk(e, e.path, true);
    let whiteout = false;
    if (name !== undefined && this.options.aufs) {
      if (name === WH_OPQ) {
        t.flags[dir] |= OPAQUE;
        return;
      }
      if (name.startsWith(WH)) {
        name = name.slice(WH.length);
        if (name === '' || name === '.' || name === '..') this.fail(e, 'whiteout of an empty name');
        whiteout = true;
      }
    }
    if (name === undefined) {
      // The root (or a directory named through "..").
      if (kind !== DIR || link) this.fail(e, 'names the root directory but is not a directory');
      this.update(dir, e);
      return;
    }
    if (name.length > 255) this.fail(e, `name of ${name.length} bytes is longer than 255`);
    const kids = t.kids[dir]!;
    const existing = kids.get(name);
    if (link) {
      const to = this.walk(e, e.link, false);
      let target: number | undefined = 0;
      if (to.name !== undefined) {
        let tn = to.name;
        if (this.options.aufs && tn.startsWith(WH) && tn !== WH_OPQ) tn = tn.slice(WH.length);
        target = t.kids[to.dir]!.get(tn);
      }
      if (target === undefined) this.fail(e, `hard link target ${JSON.stringify(latin1(e.link))} does not exist`);
      if (t.kind[target] === DIR) this.fail(e, `hard link target ${JSON.stringify(latin1(e.link))} is a directory`);
      kids.set(name, target);
      return;
    }
    if (existing !== undefined && !whiteout && kind === DIR && t.kind[existing] === DIR) {
      this.update(existing, e);
      return;
    }
    const node = whiteout
      ? t.add(CHARDEV, 0, e.uid, e.gid, e.mtime, e.mtimeNsec, dir)
      : t.add(kind, e.mode, e.uid, e.gid, e.mtime, e.mtimeNsec, dir);
    kids.set(name, node);
    if (whiteout) t.flags[dir] |= WHITEOUTS;
    this.setXattrs(node, e);
    if (whiteout) return;
    if (kind === FILE) {
      t.size[node] = e.realSize;
      if (e.sparse) {
        if (this.options.index) this.fail(e, 'a sparse entry cannot be indexed (its data is not contiguous in the archive): build with full data');
        t.sparse.set(node, e.sparse);
      }
      if (e.size > 0) this.dataNode = node;
    } else if (kind === SYMLINK) {
      if (e.link.length === 0 || e.link.length > 4095) this.fail(e, `symlink target of ${e.link.length} bytes is not 1..4095`);
      t.targets.set(node, e.link);
    } else if (kind === CHARDEV || kind === BLOCKDEV) {
      if (e.devmajor > 0xfff || e.devminor > 0xfffff) this.fail(e, `device ${e.devmajor}:${e.devminor} does not fit EROFS's 12-bit major / 20-bit minor`);
      t.major[node] = e.devmajor;
      t.minor[node] = e.devminor;
    }
  }

  data(bytes: Uint8Array, offset: number): void {
    if (this.dataNode < 0) return;
    const at = this.store.append(bytes, offset);
    if (this.tree.loc[this.dataNode] < 0) this.tree.loc[this.dataNode] = at;
  }

  /** A directory entry over an existing directory: new mode, owner and mtime, xattrs added. */
  private update(node: number, e: TarEntry): void {
    const t = this.tree;
    t.perm[node] = e.mode;
    t.uid[node] = e.uid;
    t.gid[node] = e.gid;
    t.mtime[node] = e.mtime;
    t.nsec[node] = e.mtimeNsec;
    this.setXattrs(node, e);
  }

  private setXattrs(node: number, e: TarEntry): void {
    if (!e.xattrs.size) return;
    let m = this.tree.xattrs.get(node);
    for (const [k, v] of e.xattrs) {
      const known = XATTR_PREFIXES.some((p) => k.startsWith(p) && k.length > p.length) || k === 'system.posix_acl_access' || k === 'system.posix_acl_default';
      if (!known) {
        this.options.onWarning?.(`tar: entry at byte ${e.offset}: xattr ${JSON.stringify(k)} has no prefix EROFS stores; skipped`);
        continue;
      }
      if (v.length > 0xffff) this.fail(e, `xattr ${k}: value of ${v.length} bytes exceeds 65535`);
      if (!m) this.tree.xattrs.set(node, (m = new Map()));
      // mkfs.erofs appends to the inode's list, and the kernel finds the first of two equal
      // names: a directory entry over a directory adds names but changes no value.
      if (!m.has(k)) m.set(k, v);
    }
  }
}

/** File content of the table's inodes, read back from the store (holes of sparse files as zeros). */
function storeContent(tree: TarTree, nodeOf: Uint32Array, store: DataStore, index: boolean): ContentSource {
  // Only these two outlive the tree: the rest of it is garbage once the table is made.
  const locs = tree.loc;
  const sparse = tree.sparse;
  return {
    external: index ? (ino) => (locs[nodeOf[ino]] >= 0 ? locs[nodeOf[ino]] : undefined) : undefined,
    read(ino, position, dest) {
      const node = nodeOf[ino];
      const loc = locs[node];
      const map = sparse.get(node);
      if (!map) {
        if (loc < 0) throw new BuildError(`file data of inode ${ino} was not kept (bug)`);
        store.read(loc + position, dest);
        return;
      }
      dest.fill(0);
      const end = position + dest.length;
      let stored = 0;
      for (let k = 0; k < map.length; k += 2) {
        const off = map[k];
        const len = map[k + 1];
        if (off >= end) break;
        const a = Math.max(off, position);
        const b = Math.min(off + len, end);
        if (a < b) store.read(loc + stored + (a - off), dest.subarray(a - position, b - position));
        stored += len;
      }
    },
  };
}

/**
 * Reads a tar archive (gzip-compressed or not) into a build source: give it to buildImage
 * or buildImageTo, then close it. Throws TarError for a malformed archive, naming the entry
 * and the byte offset of its header in the uncompressed stream.
 */
export async function tarSource(input: TarInput, options: TarOptions = {}): Promise<TarSource> {
  const store: DataStore = options.index ? new OffsetStore() : (options.store ?? new MemoryStore());
  const applier = new TarApplier(store, options);
  const reader = new TarReader(applier, { onWarning: options.onWarning });
  try {
    for await (const chunk of maybeGunzip(chunksOf(input), options.gunzip ?? webGunzip)) {
      reader.push(chunk);
      if (reader.ended) break;
    }
    reader.end();
    const { table, nodeOf } = applier.tree.table();
    const content = storeContent(applier.tree, nodeOf, store, options.index === true);
    const devices = options.index ? [{ size: reader.offset, tag: options.deviceTag }] : undefined;
    return { table, content, devices, entries: applier.entries, bytes: reader.offset, close: () => store.close?.() };
  } catch (e) {
    store.close?.();
    throw e;
  }
}
