/**
 * What the page shows of an image, as plain data: the superblock summary, directory
 * listings with each entry's stat fields, one node's details with its xattrs, a range of
 * a file's bytes, and how a file is stored (the extents the decoder's map() gives:
 * pclusters per algorithm, stored and logical bytes, holes, tail packing, fragments).
 * Everything here is synchronous and runs in the page's worker; it is also what the unit
 * tests check under Node. Nodes are named by NID, so no path is walked twice.
 */
import {
  ALGORITHM_NAMES, ExtentKind, FORMAT_INTERLACED, FORMAT_SHIFTED, INCOMPAT, LAYOUT_NAMES,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
  featureNames, formatNid, isCompressed, isErofsError, splitDev, type Image, type Inode,
} from '@erofs-js/erofs';

export interface Summary {
  /** The file name or URL the image came from. */
  name: string;
  /** Bytes of the image file. */
  bytes: number;
  blockSize: number;
  blocks: number;
  inodes: number;
  rootNid: number;
  features: string[];
  /** Algorithms compressed files may use (the superblock's list; LZ4 on older images with 0PADDING). */
  compression: string[];
  uuid: string;
  label: string;
  /** Seconds since 1970 (epoch + build time). */
  buildTime: number;
  checksum: string;
  extraDevices: number;
  metaBlkaddr: number;
  xattrBlkaddr: number;
  packedNid?: string;
  metaboxNid?: string;
}

export interface Entry {
  /** The name as text (bytes that are not UTF-8 shown as U+FFFD; `nameHex` then has them). */
  name: string;
  nameHex?: string;
  nid: number;
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';
  mode: number;
  modeString: string;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: number;
  layout: string;
  compressed: boolean;
  xattrCount: number;
  /** A symlink's target. */
  target?: string;
  /** A device's numbers. */
  major?: number;
  minor?: number;
}

export interface XattrView {
  name: string;
  /** The value as text when it is printable UTF-8, else null. */
  text: string | null;
  /** The value in hex (at most 256 bytes of it). */
  hex: string;
  size: number;
  shared: boolean;
}

export interface Details extends Entry {
  ino: number;
  nidText: string;
  extended: boolean;
  inodeSize: number;
  /** Blocks as st_blocks counts them (512-byte units). */
  blocks512: number;
  mtimeNsec: number;
  xattrs: XattrView[];
}

export interface ExtentView {
  kind: 'hole' | 'data' | 'inline' | 'pcluster' | 'fragment';
  logical: number;
  length: number;
  physical: number;
  device: number;
  /** A pcluster's stored bytes and format. */
  plen?: number;
  algorithm?: string;
  inMeta?: boolean;
}

export interface Storage {
  layout: string;
  size: number;
  /** Number of extents the file's bytes map to. */
  extents: number;
  /** Pclusters per algorithm name ("lz4", "lzma", "deflate", "zstd", "stored" for uncompressed pclusters, "interlaced"). */
  algorithms: Record<string, number>;
  pclusters: number;
  /** Bytes the pclusters take on disk. */
  pclusterBytes: number;
  /** Bytes of the file those pclusters decode to. */
  pclusterLogical: number;
  /** Uncompressed bytes in blocks, inline after the inode, in the packed inode (fragments), and holes. */
  dataBytes: number;
  inlineBytes: number;
  fragmentBytes: number;
  holeBytes: number;
  /** Pclusters stored in the inode's meta space (compressed tail packing). */
  tailPacked: number;
  /** Bytes the file takes (pclusters, data, inline), excluding shared fragments and holes. */
  storedBytes: number;
  /** size / stored bytes, or null when nothing is stored. */
  ratio: number | null;
  /** The first extents, for display. */
  first: ExtentView[];
  /** The map stopped after `extents` (the file has more). */
  truncated: boolean;
}

export function typeName(mode: number): Entry['type'] {
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

/** ls-style mode string, e.g. "drwxr-xr-x". */
export function modeString(mode: number): string {
  const t = mode & S_IFMT;
  const c = t === S_IFDIR ? 'd' : t === S_IFLNK ? 'l' : t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : t === S_IFSOCK ? 's' : '-';
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return c + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function nameOf(raw: Uint8Array): { name: string; nameHex?: string } {
  try {
    return { name: strict.decode(raw) };
  } catch {
    return { name: lenient.decode(raw), nameHex: hex(raw) };
  }
}

/** Printable UTF-8 (tabs and newlines allowed), or null. */
export function printable(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return null;
  }
  return /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text) ? null : text;
}

function uuidString(u: Uint8Array): string {
  const h = hex(u);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const isDot = (n: Uint8Array) => n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));

/** The algorithms compressed files may use: the superblock's list with COMPR_CFGS, LZ4 with 0PADDING alone, else none. */
export function compressionNames(image: Image): string[] {
  const sb = image.sb;
  if (sb.featureIncompat & INCOMPAT.COMPR_CFGS) return ALGORITHM_NAMES.filter((_, k) => image.compression.availableAlgs & (1 << k));
  return sb.featureIncompat & INCOMPAT.ZERO_PADDING ? ['lz4'] : [];
}

export function summary(image: Image, name: string): Summary {
  const sb = image.sb;
  const s: Summary = {
    name,
    bytes: image.source.size,
    blockSize: sb.blockSize,
    blocks: sb.blocks,
    inodes: sb.inos,
    rootNid: sb.rootNid,
    features: featureNames(sb),
    compression: compressionNames(image),
    uuid: uuidString(sb.uuid),
    label: sb.volumeName,
    buildTime: sb.epoch + sb.buildTime,
    checksum: '0x' + sb.checksum.toString(16).padStart(8, '0'),
    extraDevices: sb.extraDevices,
    metaBlkaddr: sb.metaBlkaddr,
    xattrBlkaddr: sb.xattrBlkaddr,
  };
  if (sb.packedNid) s.packedNid = formatNid(sb.packedNid);
  if (sb.metaboxNid) s.metaboxNid = formatNid(sb.metaboxNid);
  return s;
}

function entryOf(image: Image, raw: Uint8Array, inode: Inode): Entry {
  const t = inode.mode & S_IFMT;
  const e: Entry = {
    ...nameOf(raw),
    nid: inode.nid,
    type: typeName(inode.mode),
    mode: inode.mode,
    modeString: modeString(inode.mode),
    uid: inode.uid,
    gid: inode.gid,
    size: inode.size,
    nlink: inode.nlink,
    mtime: inode.mtime,
    layout: LAYOUT_NAMES[inode.layout] ?? String(inode.layout),
    compressed: isCompressed(inode),
    xattrCount: inode.xattrIcount === 0 ? 0 : image.listXattrs(inode).length,
  };
  if (t === S_IFLNK) e.target = lenient.decode(image.readlink(inode));
  if (t === S_IFCHR || t === S_IFBLK) Object.assign(e, splitDev(inode.rdev));
  return e;
}

/**
 * The entries of directory `nid` in on-disk order, without "." and "..". An entry whose
 * inode cannot be decoded is listed with type "unknown" and the error in `error`, so one
 * bad inode does not hide its siblings.
 */
export function list(image: Image, nid: number): (Entry & { error?: ErrorText })[] {
  const dir = image.inode(nid);
  if ((dir.mode & S_IFMT) !== S_IFDIR) throw new TypeError(`nid ${formatNid(nid)} is not a directory`);
  const out: (Entry & { error?: ErrorText })[] = [];
  for (const d of image.readdir(dir)) {
    if (isDot(d.name)) continue;
    try {
      out.push(entryOf(image, d.name, image.inode(d.nid)));
    } catch (e) {
      if (!isErofsError(e)) throw e;
      out.push({ ...nameOf(d.name), nid: d.nid, type: 'unknown', mode: 0, modeString: '??????????', uid: 0, gid: 0, size: 0, nlink: 0, mtime: 0, layout: '', compressed: false, xattrCount: 0, error: describeError(e) });
    }
  }
  return out;
}

/** The root directory's own entry. */
export function rootEntry(image: Image): Entry {
  return entryOf(image, new Uint8Array([0x2f]), image.root());
}

export function details(image: Image, nid: number, name: Uint8Array): Details {
  const inode = image.inode(nid);
  const xattrs = image.listXattrs(inode).map((x) => ({ name: x.name, text: printable(x.value), hex: hex(x.value.subarray(0, 256)), size: x.value.length, shared: x.shared }));
  return {
    ...entryOf(image, name, inode),
    ino: inode.ino,
    nidText: formatNid(inode.nid),
    extended: inode.extended,
    inodeSize: inode.inodeSize,
    blocks512: inode.blocks,
    mtimeNsec: inode.mtimeNsec,
    xattrs,
  };
}

/** Up to `length` bytes of file `nid` from `offset` (fewer at the end of the file). */
export function read(image: Image, nid: number, offset: number, length: number): Uint8Array {
  const inode = image.inode(nid);
  const n = Math.max(0, Math.min(length, inode.size - offset));
  const out = new Uint8Array(n);
  let done = 0;
  while (done < n) {
    const got = image.read(inode, offset + done, out, done, n - done);
    if (got === 0) break;
    done += got;
  }
  return done === n ? out : out.subarray(0, done);
}

const KIND_NAMES: Record<number, ExtentView['kind']> = {
  [ExtentKind.Hole]: 'hole',
  [ExtentKind.Data]: 'data',
  [ExtentKind.Inline]: 'inline',
  [ExtentKind.Encoded]: 'pcluster',
  [ExtentKind.Fragment]: 'fragment',
};

function algorithmOf(format: number): string {
  if (format === FORMAT_SHIFTED) return 'stored';
  if (format === FORMAT_INTERLACED) return 'interlaced';
  return ALGORITHM_NAMES[format] ?? `algorithm ${format}`;
}

/**
 * How file `nid` is stored, from the extents map() gives for its bytes in order (each
 * next offset is where the previous extent ends). Stops after `maxExtents` (the rest is
 * not counted: `truncated`); keeps the first `keep` extents for display.
 */
export function storage(image: Image, nid: number, maxExtents = 1_000_000, keep = 64): Storage {
  const inode = image.inode(nid);
  const s: Storage = {
    layout: LAYOUT_NAMES[inode.layout] ?? String(inode.layout),
    size: inode.size,
    extents: 0,
    algorithms: {},
    pclusters: 0,
    pclusterBytes: 0,
    pclusterLogical: 0,
    dataBytes: 0,
    inlineBytes: 0,
    fragmentBytes: 0,
    holeBytes: 0,
    tailPacked: 0,
    storedBytes: 0,
    ratio: null,
    first: [],
    truncated: false,
  };
  const t = inode.mode & S_IFMT;
  if (t !== S_IFREG && t !== S_IFDIR && t !== S_IFLNK) return s;
  let off = 0;
  while (off < inode.size) {
    if (s.extents >= maxExtents) {
      s.truncated = true;
      break;
    }
    const ext = image.map(inode, off);
    const end = ext.logical + ext.length;
    // Only the part from `off` on counts (a pcluster may start before the offset asked).
    const len = Math.min(end, inode.size) - off;
    if (!(len > 0)) throw new Error(`the extent at ${off} of nid ${formatNid(nid)} does not advance`);
    s.extents++;
    switch (ext.kind) {
      case ExtentKind.Hole:
        s.holeBytes += len;
        break;
      case ExtentKind.Data:
        s.dataBytes += len;
        break;
      case ExtentKind.Inline:
        s.inlineBytes += len;
        break;
      case ExtentKind.Fragment:
        s.fragmentBytes += len;
        break;
      case ExtentKind.Encoded: {
        const alg = algorithmOf(ext.format ?? 0);
        s.algorithms[alg] = (s.algorithms[alg] ?? 0) + 1;
        s.pclusters++;
        s.pclusterBytes += ext.plen ?? 0;
        s.pclusterLogical += len;
        if (ext.inMeta) s.tailPacked++;
        break;
      }
    }
    if (s.first.length < keep) {
      const v: ExtentView = { kind: KIND_NAMES[ext.kind] ?? 'data', logical: ext.logical, length: ext.length, physical: ext.physical, device: ext.deviceId };
      if (ext.kind === ExtentKind.Encoded) Object.assign(v, { plen: ext.plen, algorithm: algorithmOf(ext.format ?? 0), inMeta: ext.inMeta === true });
      s.first.push(v);
    }
    off += len;
  }
  s.storedBytes = s.pclusterBytes + s.dataBytes + s.inlineBytes;
  s.ratio = s.storedBytes > 0 ? (s.size - s.holeBytes - s.fragmentBytes) / s.storedBytes : null;
  return s;
}

export interface ErrorText {
  /** errno name when the error has one (EUCLEAN, EIO, ...). */
  code?: string;
  /** One sentence for people. */
  headline: string;
  /** The decoder's or the VFS's own message: the structure and byte offset at fault. */
  text: string;
}

const HEADLINES: Record<string, string> = {
  EUCLEAN: 'The image is damaged: a structure in it does not hold together.',
  EINVAL: 'This is not an EROFS image, or its superblock is unreadable.',
  EOPNOTSUPP: 'The image uses a feature this reader does not support.',
  EIO: 'The image could not be read.',
  EFBIG: 'The file is larger than this reader handles.',
  ENOENT: 'No such file or directory in the image.',
  ENOTDIR: 'Not a directory.',
  EISDIR: 'Is a directory.',
  ELOOP: 'Too many levels of symbolic links.',
};

/** An error from the decoder, the VFS or the page in words, with its code and the technical message. */
export function describeError(e: unknown): ErrorText {
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  // A SysError's message starts with its code already.
  const text = code && message.startsWith(code + ': ') ? message.slice(code.length + 2) : message;
  if (code && HEADLINES[code]) {
    // The superblock's EINVAL means "not EROFS"; EINVAL elsewhere is a bad argument.
    const headline = code === 'EINVAL' && !/superblock|image of \d+ bytes/.test(text) ? 'The request was not valid for this image.' : HEADLINES[code];
    return { code, headline, text };
  }
  return { code, headline: 'Something went wrong while reading the image.', text };
}
