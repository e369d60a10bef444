import { createHash } from 'node:crypto';
import {
  S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  ExtentKind, corrupt, decodeName, formatNid, isDir, type Image, type Inode,
} from '@erofs-js/erofs';

/** One line of `erofs manifest`: the same fields and names as shared/tools/manifest.py. */
export interface ManifestRecord {
  path?: string;
  path_b64?: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: number;
  mtime_nsec: number;
  ino: number;
  rdev?: number;
  target?: string;
  target_b64?: string;
  sha256?: string;
  xattrs?: Record<string, string>;
}

export function typeName(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFCHR: return 'chardev';
    case S_IFBLK: return 'blockdev';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** Sets `key` to the UTF-8 text of `raw`, or `key_b64` to its base64 when it is not valid UTF-8. */
function textOrB64(rec: Record<string, unknown>, key: string, raw: Uint8Array): void {
  try {
    rec[key] = strict.decode(raw);
  } catch {
    rec[key + '_b64'] = Buffer.from(raw).toString('base64');
  }
}

/**
 * Zeros fed to a hash for a hole: one shared buffer, never written. 1 MiB is past the size
 * where Node's update() call overhead shows (2.07 GB/s at 1, 16 and 64 MiB alike here).
 */
const ZEROS = new Uint8Array(1 << 20);

/** Reads of file data go through a buffer of at most this many bytes. */
const READ_CHUNK = 1 << 20;

/**
 * Feeds a file's content to `h`, in order, without reading its holes. The extent map says
 * where the holes are; a hole's length is fed as runs of the shared zero buffer (runs of
 * consecutive hole extents, such as hole chunks, are merged first), so no hole is read,
 * decoded or allocated, and the hash sees exactly the bytes a read would return.
 *
 * What remains is the hash's own work on the zeros, and it cannot be skipped: SHA-256 has
 * no shortcut for a run of zeros, each 64-byte block goes through the compression function
 * after the state the bytes before it left. Node hashes about 2 GB/s here (OpenSSL with the
 * SHA extensions; 2.0 against 1.7 GB/s for the old loop that read the hole through
 * Image.read into a zero-filled buffer), so a 2^40-byte hole takes about 9 minutes (the
 * EROFS_SLOW_TESTS case in manifest.test.ts: 667 s on a loaded 2-core machine) and a
 * 2^53-byte one about 50 days. That time follows the size the image claims, not its bytes:
 * the one cost left proportional to a claim. Memory stays at one read buffer.
 *
 * Data is read from the first data extent on, up to READ_CHUNK bytes at a time; a hole that
 * begins inside such a read is zero-filled there (at most READ_CHUNK bytes of it) and the
 * rest of it, mapped next, is hashed from the zero buffer.
 */
export function hashContent(image: Image, inode: Inode, h: { update(data: Uint8Array): unknown }): void {
  const size = inode.size;
  let buf: Uint8Array | undefined;
  let zeros = 0;
  const flushZeros = () => {
    while (zeros > 0) {
      const n = Math.min(zeros, ZEROS.length);
      h.update(ZEROS.subarray(0, n));
      zeros -= n;
    }
  };
  for (let off = 0; off < size; ) {
    const ext = image.map(inode, off);
    const end = Math.min(size, ext.logical + ext.length);
    if (ext.kind === ExtentKind.Hole && end > off) {
      zeros += end - off;
      off = end;
      continue;
    }
    flushZeros();
    // Anything else (and a hole that makes no progress: read() names the corruption).
    buf ??= new Uint8Array(Math.min(READ_CHUNK, size));
    const n = image.read(inode, off, buf, 0, Math.min(buf.length, size - off));
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    off += n;
  }
  flushZeros();
}

export function sha256Of(image: Image, inode: Inode): string {
  const h = createHash('sha256');
  hashContent(image, inode, h);
  return h.digest('hex');
}

/** The record of one path; `content: false` leaves out the sha256 of a regular file. */
export function manifestRecord(image: Image, path: Uint8Array, inode: Inode, content = true): ManifestRecord {
  const rec = {} as ManifestRecord;
  textOrB64(rec as unknown as Record<string, unknown>, 'path', path);
  Object.assign(rec, {
    type: typeName(inode.mode),
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    size: inode.size,
    nlink: inode.nlink,
    mtime: inode.mtime,
    mtime_nsec: inode.mtimeNsec,
    ino: inode.ino,
  });
  const t = inode.mode & S_IFMT;
  if (t === S_IFCHR || t === S_IFBLK) rec.rdev = inode.rdev;
  if (t === S_IFLNK) textOrB64(rec as unknown as Record<string, unknown>, 'target', image.readlink(inode));
  if (t === S_IFREG && content) rec.sha256 = sha256Of(image, inode);
  const xattrs = image.listXattrs(inode);
  if (xattrs.length) {
    xattrs.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
    rec.xattrs = {};
    for (const x of xattrs) rec.xattrs[x.name] = Buffer.from(x.value).toString('base64');
  }
  return rec;
}

const SLASH = 0x2f;

function isDotOrDotDot(name: Uint8Array): boolean {
  return name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
}

function join(parent: Uint8Array, name: Uint8Array): Uint8Array {
  const base = parent.length === 1 ? 0 : parent.length;
  const out = new Uint8Array(base + 1 + name.length);
  out.set(parent.subarray(0, base));
  out[base] = SLASH;
  out.set(name, base + 1);
  return out;
}

/**
 * One directory on the path being listed: its names packed back to back, and the order in
 * which its items come. Item 2i is entry i's own path ("dir/name"), item 2i+1 the paths
 * below it ("dir/name/..."; nothing unless entry i is a directory).
 */
interface Frame {
  path: Uint8Array;
  names: Uint8Array;
  /** Name i is names[ends[i - 1] (0 for i = 0) .. ends[i]). */
  ends: number[];
  nids: number[];
  /** Set when entry i's own item has been produced and its inode is a directory. */
  isDir: Uint8Array;
  order: Uint32Array;
  next: number;
}

/**
 * Reads a directory's entries ("." and ".." left out) and sorts its items by key: entry i's
 * own item by its name, the item of the paths below it by name + "/". That is the order of
 * the full paths' bytes: "a" < "a-b" < "a-b/x" < "a/x", since "-" (0x2d) sorts before "/"
 * (0x2f). Ties (a name twice, in a corrupt directory) keep the on-disk order.
 */
function listDir(image: Image, dir: Inode, path: Uint8Array): Frame {
  let names = new Uint8Array(1024);
  let used = 0;
  const ends: number[] = [];
  const nids: number[] = [];
  for (const d of image.readdir(dir)) {
    const name = d.name;
    if (isDotOrDotDot(name)) continue;
    if (name.includes(SLASH) || name.includes(0)) {
      throw corrupt(`dirent of directory ${formatNid(dir.nid)}`, d.offset, 'name contains "/" or NUL');
    }
    if (used + name.length > names.length) {
      const grown = new Uint8Array(Math.max(names.length * 2, used + name.length));
      grown.set(names.subarray(0, used));
      names = grown;
    }
    names.set(name, used);
    used += name.length;
    ends.push(used);
    nids.push(d.nid);
  }
  const count = ends.length;
  const order = new Uint32Array(2 * count);
  for (let k = 0; k < order.length; k++) order[k] = k;
  const key = names;
  order.sort((a, b) => {
    const ia = a >>> 1;
    const ib = b >>> 1;
    const sa = ia === 0 ? 0 : ends[ia - 1];
    const sb = ib === 0 ? 0 : ends[ib - 1];
    const na = ends[ia] - sa;
    const nb = ends[ib] - sb;
    const la = na + (a & 1);
    const lb = nb + (b & 1);
    const n = Math.min(la, lb);
    for (let k = 0; k < n; k++) {
      const ca = k < na ? key[sa + k] : SLASH;
      const cb = k < nb ? key[sb + k] : SLASH;
      if (ca !== cb) return ca - cb;
    }
    return la - lb || a - b;
  });
  return { path, names: names.subarray(0, used), ends, nids, isDir: new Uint8Array(count), order, next: 0 };
}

/**
 * Every path of the image with its inode, in the order of the paths' bytes (the order of
 * manifest.py), produced one at a time. Memory is one frame per directory on the current
 * path, each holding that directory's names, nids and item order (about 25 bytes plus the
 * name per entry), and the set of directory nids seen: O(depth x directory size + number
 * of directories), never a record per path. A directory reached twice (a cycle, or a
 * directory hard link) is EUCLEAN, as in walk(), so the listing always ends.
 */
export function* pathOrder(image: Image): Generator<{ path: Uint8Array; inode: Inode }> {
  const root = image.root();
  const rootPath = new Uint8Array([SLASH]);
  const seenDirs = new Set<number>([root.nid]);
  yield { path: rootPath, inode: root };
  const stack: Frame[] = [listDir(image, root, rootPath)];
  while (stack.length) {
    const f = stack[stack.length - 1];
    if (f.next === f.order.length) {
      stack.pop();
      continue;
    }
    const item = f.order[f.next++];
    const i = item >>> 1;
    if (item & 1 && !f.isDir[i]) continue;
    const path = join(f.path, f.names.subarray(i === 0 ? 0 : f.ends[i - 1], f.ends[i]));
    const inode = image.inode(f.nids[i]);
    if (item & 1) {
      stack.push(listDir(image, inode, path));
      continue;
    }
    if (isDir(inode)) {
      if (seenDirs.has(inode.nid)) {
        throw corrupt(`directory ${formatNid(inode.nid)}`, inode.pos, `reachable twice (a cycle or a directory hard link), again at ${decodeName(path)}`);
      }
      seenDirs.add(inode.nid);
      f.isDir[i] = 1;
    }
    yield { path, inode };
  }
}

/**
 * Every path of the image as manifest records, sorted by path bytes, one at a time (see
 * pathOrder for the memory bound and hashContent for the cost of a file's content).
 */
export function* manifest(image: Image): Generator<ManifestRecord> {
  for (const { path, inode } of pathOrder(image)) yield manifestRecord(image, path, inode);
}

export interface ReaddirRecord {
  path?: string;
  path_b64?: string;
  entries?: string[];
  entries_b64?: string[];
}

/**
 * Directory listings in getdents order without "." and "..": the format of manifest.py's
 * readdir file, sorted by path bytes, one directory at a time.
 */
export function* readdirRecords(image: Image): Generator<ReaddirRecord> {
  for (const { path, inode } of pathOrder(image)) {
    if (!isDir(inode)) continue;
    const rec: ReaddirRecord = {};
    textOrB64(rec as Record<string, unknown>, 'path', path);
    const names: Uint8Array[] = [];
    for (const d of image.readdir(inode)) if (!isDotOrDotDot(d.name)) names.push(d.name);
    try {
      rec.entries = names.map((n) => strict.decode(n));
    } catch {
      rec.entries_b64 = names.map((n) => Buffer.from(n).toString('base64'));
    }
    yield rec;
  }
}
