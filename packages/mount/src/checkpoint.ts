/**
 * Checkpoint and restore of a mount namespace: the whole filesystem state a guest sees,
 * as plain JSON-ready data, and its rebuilding in a fresh process.
 *
 * A checkpoint holds: the mount tree (attached and lazily detached mounts, with their ids,
 * device numbers, mount points, flags and cache options), the identity of each mounted
 * image (superblock UUID, stored checksum, a CRC-32C we compute over the superblock block,
 * block and inode counts, feature bits, byte sizes) and the name the host opened it under;
 * for an image behind a URL also the object's identity pinned at open (size, and ETag or
 * else Last-Modified: never the URL's query, credentials or header values), which restore
 * requires of the object it reopens;
 * the synthetic root's directories; every live task's credentials, root, cwd and
 * descriptor table; every open description (mount, path inside the mount, flags, offset
 * or directory position). It never holds image bytes, decoded data or cache contents.
 *
 * A tmpfs has no image to reopen, so its content is in the checkpoint: its limits and the
 * snapshot its own snapshot() takes (@erofs-js/tmpfs snapshot.ts: every inode with its
 * metadata, xattrs, ACLs, pages and directory entries; hard links as several entries
 * naming one inode; the inodes with no name left that were still held), written for JSON
 * as it is except for its byte strings (names, targets, xattr names and values, ACLs,
 * pages), each of which becomes { b64 } or, when trailing zero bytes were cut off,
 * { b64, len } with len the full length (a small file's 4096-byte page costs what its
 * bytes cost; { b64: "", len: 4096 } is a written page of zeros):
 *
 *   tmpfs: { options: { size, nr_inodes, atime, protectedHardlinks },
 *            content: { format: "erofs-js/tmpfs", version, nextIno, root, unlinked: [ino],
 *                       inodes: [{ ino, mode, ..., pages: [[index, { b64, len? } | null]],
 *                                  entries: [{ name: { b64 }, ino, ... }], ... }] } }
 *
 * Bounds, checked before anything is decoded: nesting at most 8 deep, each byte string at
 * most 65536 bytes (an xattr value's limit), and the zero bytes put back at most the
 * mount's size limit, so decoding allocates no more than the checkpoint's own length plus
 * that limit; restore also caps the sum of the size limits (RestoreHost.maxTmpfsBytes).
 * Tmpfs.restore then checks the content itself (types, counts against nr_inodes, pages
 * against size, the tree, links, xattr namespaces, ACLs), and its complaint becomes a
 * CheckpointError naming the field. A description or cwd on an inode with no name left
 * records the inode number instead of a path ({ mount, path: [], ino }), and restore hands
 * it the re-created inode; one on a name that was removed while another name of the
 * inode lives records that other name.
 *
 * An overlay of images (mount({ type: 'overlay' }), or an overlay root) records each layer
 * as an image (name, identity, cache options; lowest first), its upper tmpfs as a tmpfs
 * section, and the pseudo devices its layers showed:
 *
 *   overlay: { layers: [{ name, identity, options }], upper: { options, content }, devs: [dev],
 *              dirInos: { next, entries: [[key, ino]] } }
 *
 * restore opens each layer through the host's openImage() and checks its identity, rebuilds
 * the upper tmpfs from its content, and stacks them again with the same pseudo devices and
 * directory inode numbers (the work directory is made afresh, as a remount does).
 * Descriptions on its files are reopened by path; an unlinked file on an overlay cannot be
 * saved.
 *
 * A filesystem the emulator mounted itself (mount({ fs })) is recorded by type, source
 * and device as `provided: true`; restore asks the host's provideFs() for it again, or
 * refuses. Every mount also keeps its flags, readOnly among them.
 *
 * Paths are recorded inside their mount (mount id + names from the mount's root), not
 * from the namespace root: a file on a lazily detached mount is reachable only through
 * its descriptor, and a covered mount point is not reachable by path at all. Names are
 * byte strings written as latin1 (one char per byte), as the mount layer keys them.
 *
 * Restore trusts the checkpoint for nothing but names: the host's openImage() decides
 * what each recorded image name opens (a checkpoint names images, it does not grant
 * access to them); the controller then checks that the opened image is the recorded
 * one and refuses otherwise. Every field is validated before anything is opened.
 * Descriptions and cwds are reopened with their task's credentials, so the permission
 * checks of open(2) and chdir(2) are made again, except for descriptions on a tmpfs:
 * its modes come from the checkpoint itself, so a check would protect nothing, and a
 * file created 0444 and opened for writing must keep its descriptor as Linux keeps it.
 * A writable description on a mount recorded read-only is refused.
 */
import { superblockChecksum, type Image, type RemoteIdentity } from '@erofs-js/erofs';
import { Filesystem, MAX_OFFSET, O_ACCMODE, O_RDONLY, ROOT, SysError, credentials, keyBytes, nameKey, type AnyFilesystem, type Credentials, type Errno } from '@erofs-js/vfs';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, Tmpfs, type AtimeMode, type TmpfsSnapshot } from '@erofs-js/tmpfs';
import { DIR_INO_ENTRIES, type DirInoTable, type Overlay } from '@erofs-js/overlay';
import type { HostMountOptions, ImageRef, OpenedImage } from './image-ref.js';
import { MountNamespace, type Location, type Mount, type MountFlags, type MountSpec } from './namespace.js';
import * as node from './node.js';
import { SynthDir, SyntheticFs } from './synthetic.js';
import { OpenDescription, Task } from './task.js';

export const CHECKPOINT_FORMAT = 'erofs-js/mount-checkpoint';
/** 2: tmpfs content, provided filesystems, unlinked inodes, readOnly. Version 1 is still read. */
export const CHECKPOINT_VERSION = 2;

/** Bounds on what a checkpoint may describe (a checkpoint is input: it is checked). */
export const CHECKPOINT_LIMITS = {
  mounts: 100_000,
  tasks: 100_000,
  descriptions: 1_000_000,
  syntheticDirs: 100_000,
  /** Names in one recorded path. */
  pathDepth: 2048,
  groups: 65_536,
  maxFds: 1 << 20,
  nameBytes: 1024,
  /** Largest size limit a tmpfs may record (1 TiB); a restore has its own, smaller cap (RestoreHost.maxTmpfsBytes). */
  tmpfsBytes: 2 ** 40,
  /** Largest nr_inodes a tmpfs may record. */
  tmpfsInodes: 2 ** 31 - 1,
  /** Default total of the size limits of the tmpfs mounts one restore accepts (1 GiB). */
  restoreTmpfsBytes: 2 ** 30,
} as const;

const PAGE = 4096;
/** The longest byte string a tmpfs snapshot holds: an xattr value (XATTR_SIZE_MAX). */
const BYTES_MAX = 65536;
/** How deep a tmpfs section nests (content.inodes[i].pages[j][1].b64 is 5). */
const TMPFS_DEPTH = 8;

/** Who an image is: what restore compares before trusting an opened image. */
export interface ImageIdentity {
  /** Superblock UUID, 32 hex digits. */
  uuid: string;
  /** The checksum stored in the superblock (0 when the image has none). */
  checksum: number;
  /** CRC-32C of the superblock block computed by us, whether or not the image stores one. */
  superblockCrc: number;
  blockSize: number;
  blocks: number;
  inos: number;
  featureCompat: number;
  featureIncompat: number;
  /** Size of the image source in bytes. */
  bytes: number;
  /** Sizes in bytes of the extra devices, in device-table order. */
  devices: number[];
}

/**
 * An object behind a URL as pinned at open: its size, and its ETag (quotes kept, "W/" for a
 * weak one) or else Last-Modified (an HTTP date), as the server sent them.
 */
export interface RemoteCheckpoint {
  size: number;
  etag?: string;
  lastModified?: string;
}

/** Cache sizes a mounted image's filesystem was built with. */
export interface CacheOptions {
  dentryCacheSize: number;
  negativeCacheSize: number;
  dirCacheEntries: number;
  pageCacheBytes: number;
  extentCacheBytes: number;
}

export interface MountCheckpoint {
  id: number;
  /** Parent mount id; null for the namespace root and for the top of a detached tree. */
  parent: number | null;
  /** The covered directory: names from the parent mount's root (null when no parent). */
  mountpoint: string[] | null;
  state: 'attached' | 'detached';
  /** st_dev of the mount (glibc makedev encoding). */
  dev: number;
  fstype: string;
  /** The source shown in mountinfo. */
  source: string;
  superOptions: string;
  flags: { readOnly: boolean; nosuid: boolean; nodev: boolean; noexec: boolean };
  /** Where it was mounted, for messages only (never used to rebuild). */
  target: string;
  /** Users at save time (open descriptions + cwds and roots), checked after restore. */
  users: number;
  openFiles: number;
  /** Absent for the synthetic root. */
  image?: {
    /** The image as the controller knows it: a host path, or the name the host gave. */
    name: string;
    devices: string[];
    identity: ImageIdentity;
    options: CacheOptions;
    /** An image behind a URL: the object as pinned when it was opened. */
    remote?: RemoteCheckpoint;
    /** Extra devices behind URLs, in device-table order (null for the others); absent when none is. */
    deviceRemotes?: (RemoteCheckpoint | null)[];
  };
  /** A tmpfs: its limits and content (see the header). */
  tmpfs?: TmpfsCheckpoint;
  /** A filesystem the emulator mounted: restore asks RestoreHost.provideFs for it. */
  provided?: true;
  /** An overlay of images (see the header). */
  overlay?: OverlayCheckpoint;
}

/** An overlay mount: its layers (lowest first), its upper tmpfs, its pseudo devices (upper first, then top to base). */
export interface OverlayCheckpoint {
  layers: { name: string; identity: ImageIdentity; options: CacheOptions }[];
  upper: TmpfsCheckpoint;
  devs: number[];
  /** The inode numbers its directories were given (Overlay.dirInoTable). */
  dirInos: DirInoTable;
}

/** A tmpfs mount's limits and content, as JSON-ready data (see the header). */
export interface TmpfsCheckpoint {
  options: { size: number; nr_inodes: number; atime: AtimeMode; protectedHardlinks: boolean };
  content: TmpfsContentCheckpoint;
}

/** A byte string in a tmpfs section: base64, and the full length when trailing zero bytes were cut. */
export interface BytesCheckpoint {
  b64: string;
  len?: number;
}

/** A TmpfsSnapshot as JSON: the same shape, byte strings as BytesCheckpoint (see the header). */
export type TmpfsValue = null | boolean | number | string | BytesCheckpoint | TmpfsValue[] | { [key: string]: TmpfsValue };

export interface TmpfsContentCheckpoint {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** Inodes with no name left that were held; descriptions name them by number. */
  unlinked: number[];
  [key: string]: TmpfsValue;
}

export interface LocationCheckpoint {
  mount: number;
  path: string[];
  /** An inode of the mount's tmpfs that has no name left (path is then empty). */
  ino?: number;
}

export interface DescriptionCheckpoint extends LocationCheckpoint {
  kind: 'file' | 'dir' | 'path';
  flags: number;
  /**
   * Byte offset of a file; directory position (getdents64 d_off) of a directory. A
   * position past 2^53 (lseek allows up to 2^63 - 1) is a string of decimal digits.
   */
  offset: number | string;
}

export interface TaskCheckpoint {
  creds: { uid: number; gid: number; groups: number[]; caps: number };
  maxFds: number;
  reservedFds: number[];
  root: LocationCheckpoint;
  cwd: LocationCheckpoint;
  /** Ascending descriptor numbers; `desc` indexes Checkpoint.descriptions. */
  fds: { fd: number; desc: number; cloexec: boolean }[];
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  namespace: { guestUnmount: boolean; imageTypes: string[]; maxMounts: number; nextMountId: number };
  /** The synthetic root's tree, when the root is not an image. */
  synthetic: { time: number; mode: number; dirs: { ino: number; parent: number; name: string; mode: number }[] } | null;
  /** Every unreleased mount, ascending ids (the root first). */
  mounts: MountCheckpoint[];
  descriptions: DescriptionCheckpoint[];
  tasks: TaskCheckpoint[];
}

export type CheckpointFailure = 'format' | 'state' | 'refused' | 'open' | 'image-mismatch';

/**
 * Why a save or restore failed: `reason` says which kind, `at` where (a field of the
 * checkpoint, or the mount concerned). A SysError, so the RPC layer and callers that only
 * know errnos handle it too.
 */
export class CheckpointError extends SysError {
  constructor(
    readonly reason: CheckpointFailure,
    code: Errno,
    message: string,
    readonly at = '',
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

// ---- save -------------------------------------------------------------------------------

/** The names from a node's filesystem root down to it. */
function pathInFs(n: node.Node): string[] {
  const parts: string[] = [];
  for (let x: node.Node = n; x.parent; x = x.parent as node.Node) parts.push(x.key);
  return parts.reverse();
}

/** pathInFs, or null when the node (or a directory above it) was unlinked: no name reaches it. */
function reachablePath(n: node.Node): string[] | null {
  const parts: string[] = [];
  let x: node.Node = n;
  for (; x.parent; x = x.parent as node.Node) parts.push(x.key);
  return x === x.fs.root ? parts.reverse() : null;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
const ascii = new TextDecoder('latin1');

/**
 * Node's Buffer when there is one: its native base64 is about ten times faster than the
 * loops below, which serve elsewhere (this module imports nothing from node:*).
 */
const native = (globalThis as { Buffer?: typeof import('node:buffer').Buffer }).Buffer;

/** Standard base64 with padding (RFC 4648 section 4). */
export function toBase64(b: Uint8Array): string {
  if (native) return native.from(b.buffer, b.byteOffset, b.length).toString('base64');
  const out = new Uint8Array(Math.ceil(b.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out[o++] = B64_CODES[v >> 18];
    out[o++] = B64_CODES[(v >> 12) & 63];
    out[o++] = B64_CODES[(v >> 6) & 63];
    out[o++] = B64_CODES[v & 63];
  }
  if (i < b.length) {
    const two = i + 1 < b.length;
    const v = (b[i] << 16) | (two ? b[i + 1] << 8 : 0);
    out[o++] = B64_CODES[v >> 18];
    out[o++] = B64_CODES[(v >> 12) & 63];
    out[o++] = two ? B64_CODES[(v >> 6) & 63] : 0x3d;
    out[o++] = 0x3d;
  }
  return ascii.decode(out);
}

/**
 * Decodes standard padded base64 into `dest` (its first bytes; the rest is left as it
 * is) or into a new array of the decoded length; returns the array, or a message saying
 * what is wrong. Strict: the 64 letters only, "=" padding only at the end, and zero in
 * the bits padding drops, so each byte string has one encoding. (Node's decoder skips
 * what it does not know: its answer counts only if encoding it again gives `s` back.)
 */
export function fromBase64(s: string, dest?: Uint8Array): Uint8Array | string {
  if (s.length % 4 !== 0) return `base64 of ${s.length} characters (not a multiple of 4)`;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const n = (s.length / 4) * 3 - pad;
  if (dest && dest.length < n) return `${n} bytes (at most ${dest.length})`;
  const out = dest ?? new Uint8Array(n);
  if (native) {
    const view = native.from(out.buffer, out.byteOffset, n);
    if (view.write(s, 'base64') === n && view.toString('base64') === s) return out;
  }
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let d = c < 128 ? B64_VALUE[c] : -1;
      if (d < 0) {
        if (!(c === 0x3d && last && j >= 4 - pad)) return `a character ${JSON.stringify(s[i + j])} at ${i + j} that is not base64`;
        d = 0;
      }
      v = (v << 6) | d;
    }
    // The bits padding drops must be zero.
    if (last && ((pad === 1 && (v & 0xff) !== 0) || (pad === 2 && (v & 0xffff) !== 0))) return 'base64 with non-zero padding bits';
    out[o++] = v >> 16;
    if (o < n) out[o++] = (v >> 8) & 0xff;
    if (o < n) out[o++] = v & 0xff;
  }
  return out;
}

/** The bytes up to the last non-zero one. */
function trimZeros(b: Uint8Array): Uint8Array {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

function encodeValue(v: unknown): TmpfsValue {
  if (v instanceof Uint8Array) {
    const t = trimZeros(v);
    return t.length < v.length ? { b64: toBase64(t), len: v.length } : { b64: toBase64(v) };
  }
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v !== null && typeof v === 'object') {
    if (Object.hasOwn(v, 'b64')) throw new Error('a tmpfs snapshot object has a field "b64": the checkpoint encoding would read it as bytes');
    return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [[k, encodeValue(x)]])));
  }
  if (v === undefined || typeof v === 'function' || typeof v === 'bigint' || typeof v === 'symbol') throw new Error(`a tmpfs snapshot holds a ${typeof v}`);
  return v as TmpfsValue;
}

/** A tmpfs's snapshot in the checkpoint's JSON form (see the header). */
export function encodeTmpfsSnapshot(snap: TmpfsSnapshot): TmpfsContentCheckpoint {
  return encodeValue(snap) as TmpfsContentCheckpoint;
}

/** What save keeps of a tmpfs mount to place descriptions on unlinked inodes. */
interface SavedTmpfs {
  snap: TmpfsSnapshot;
  unlinked: Set<number>;
  /** Inode number -> [parent directory inode, name], built on first need. */
  names?: Map<number, [number, string]>;
}

/** A name of inode `ino` in a snapshot, as names from the root; null if it has none. */
function namedPath(t: SavedTmpfs, ino: number): string[] | null {
  if (!t.names) {
    t.names = new Map();
    for (const i of t.snap.inodes) for (const e of i.entries ?? []) if (!t.names.has(e.ino)) t.names.set(e.ino, [i.ino, nameKey(e.name)]);
  }
  const parts: string[] = [];
  for (let x = ino; x !== t.snap.root; ) {
    const up = t.names.get(x);
    if (!up || parts.length > CHECKPOINT_LIMITS.pathDepth) return null;
    parts.push(up[1]);
    x = up[0];
  }
  return parts.reverse();
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** What a checkpoint keeps of a pinned remote identity: these three fields and nothing else. */
function remoteCheckpoint(r: RemoteIdentity): RemoteCheckpoint {
  const out: RemoteCheckpoint = { size: r.size };
  if (r.etag !== undefined) out.etag = r.etag;
  if (r.lastModified !== undefined) out.lastModified = r.lastModified;
  return out;
}

/** The identity of an opened image (reads the superblock block once). */
export function imageIdentity(image: Image, deviceBytes: readonly number[] = []): ImageIdentity {
  const sb = image.sb;
  return {
    uuid: hex(sb.uuid),
    checksum: sb.checksum >>> 0,
    superblockCrc: superblockChecksum(image.source, image.blockSize) >>> 0,
    blockSize: image.blockSize,
    blocks: sb.blocks,
    inos: sb.inos,
    featureCompat: sb.featureCompat >>> 0,
    featureIncompat: sb.featureIncompat >>> 0,
    bytes: image.source.size,
    devices: [...deviceBytes],
  };
}

/** The cache options an image's filesystem was built with (the extent cache's is the image's). */
function cacheOptions(fs: Filesystem): Omit<CacheOptions, 'extentCacheBytes'> {
  const o = fs.options;
  return { dentryCacheSize: o.dentryCacheSize, negativeCacheSize: o.negativeCacheSize, dirCacheEntries: o.dirCacheEntries, pageCacheBytes: o.pageCacheBytes };
}

/** A tmpfs's limits and content for the checkpoint. */
function tmpfsCheckpoint(fs: Tmpfs, snap: TmpfsSnapshot): TmpfsCheckpoint {
  return {
    options: { size: fs.maxPages * PAGE, nr_inodes: fs.maxInodes, atime: fs.atimeMode, protectedHardlinks: fs.protectedHardlinks },
    content: encodeTmpfsSnapshot(snap),
  };
}

function saveMount(ns: MountNamespace, m: Mount, tmpfs: Map<Mount, SavedTmpfs>): MountCheckpoint {
  const f = m.spec.flags ?? {};
  const where = ns.pathOf({ mount: m, node: m.root });
  const rec: MountCheckpoint = {
    id: m.id,
    parent: m.parent ? m.parent.id : null,
    mountpoint: m.mountpoint ? pathInFs(m.mountpoint) : null,
    state: m.state === 'attached' ? 'attached' : 'detached',
    dev: m.dev,
    fstype: m.fstype,
    source: m.source,
    superOptions: m.spec.superOptions ?? 'ro',
    flags: { readOnly: !!f.readOnly, nosuid: !!f.nosuid, nodev: !!f.nodev, noexec: !!f.noexec },
    target: where.reachable ? where.path : `(detached)${where.path === '/' ? '' : where.path}`,
    users: m.users,
    openFiles: m.openFiles,
  };
  if (m === ns.root) {
    if (!(m.fs instanceof Filesystem && m.spec.origin) && !(m.fs instanceof SyntheticFs) && !m.spec.overlay) {
      throw new CheckpointError('state', 'EOPNOTSUPP', 'the namespace root is neither an image the host controller opened nor the synthetic root nor an overlay of images', 'mounts[1]');
    }
  }
  if (m.fs instanceof Filesystem && m.spec.origin) {
    const origin = m.spec.origin;
    const o = m.fs.options;
    rec.image = {
      name: origin.name,
      devices: origin.devices.map((d) => d.name),
      identity: imageIdentity(m.fs.image, origin.devices.map((d) => d.bytes)),
      options: {
        dentryCacheSize: o.dentryCacheSize,
        negativeCacheSize: o.negativeCacheSize,
        dirCacheEntries: o.dirCacheEntries,
        pageCacheBytes: o.pageCacheBytes,
        extentCacheBytes: origin.extentCacheBytes,
      },
    };
    if (origin.remote) rec.image.remote = remoteCheckpoint(origin.remote);
    if (origin.devices.some((d) => d.remote)) rec.image.deviceRemotes = origin.devices.map((d) => (d.remote ? remoteCheckpoint(d.remote) : null));
  } else if (m.spec.overlay) {
    const ov = m.spec.overlay;
    rec.overlay = {
      layers: ov.layers.map((l) => ({ name: l.origin.name, identity: imageIdentity(l.fs.image), options: { ...cacheOptions(l.fs), extentCacheBytes: l.origin.extentCacheBytes } })),
      upper: tmpfsCheckpoint(ov.upper, ov.upper.snapshot()),
      devs: [...ov.devs],
      dirInos: (m.fs as Overlay).dirInoTable(),
    };
  } else if (m.fs instanceof Tmpfs && m !== ns.root) {
    // The content is the checkpoint's own: a tmpfs has nothing to reopen.
    const fs = m.fs;
    const snap = fs.snapshot();
    tmpfs.set(m, { snap, unlinked: new Set(snap.unlinked) });
    rec.tmpfs = {
      options: { size: fs.maxPages * PAGE, nr_inodes: fs.maxInodes, atime: fs.atimeMode, protectedHardlinks: fs.protectedHardlinks },
      content: encodeTmpfsSnapshot(snap),
    };
  } else if (m !== ns.root) {
    // An emulator's filesystem (or one mounted with mount({ fs })): only the host can give it back.
    rec.provided = true;
  }
  return rec;
}

/**
 * The checkpoint of a namespace: synchronous, so it is one consistent instant (a mount
 * request still opening its image is not in it). Every live task of the namespace is
 * saved with its descriptors; descriptions shared by dup or fork are saved once.
 */
export function saveNamespace(ns: MountNamespace): Checkpoint {
  if (ns.root.state !== 'attached') throw new CheckpointError('state', 'EINVAL', 'the namespace is shut down');
  const all = [...ns.mounts(), ...ns.detached()].sort((a, b) => a.id - b.id);
  const tmpfs = new Map<Mount, SavedTmpfs>();
  const mounts = all.map((m) => saveMount(ns, m, tmpfs));
  let synthetic: Checkpoint['synthetic'] = null;
  if (ns.root.fs instanceof SyntheticFs) {
    const fs = ns.root.fs;
    const dirs: NonNullable<Checkpoint['synthetic']>['dirs'] = [];
    const stack: SynthDir[] = [fs.root];
    while (stack.length) {
      const d = stack.pop()!;
      for (const c of d.children.values()) {
        dirs.push({ ino: c.ino, parent: d.ino, name: c.key, mode: c.mode & 0o7777 });
        stack.push(c);
      }
    }
    // Inode numbers were handed out in creation order: recreating in that order gives them back.
    dirs.sort((a, b) => a.ino - b.ino);
    synthetic = { time: fs.time, mode: fs.root.mode & 0o7777, dirs };
  }
  const descIndex = new Map<OpenDescription, number>();
  const descriptions: DescriptionCheckpoint[] = [];
  const loc = (l: Location, at: string): LocationCheckpoint => {
    const path = reachablePath(l.node);
    if (path) return { mount: l.mount.id, path };
    // No name reaches it: an unlinked file or a removed directory someone still holds.
    const t = tmpfs.get(l.mount);
    if (!t) throw new CheckpointError('state', 'EOPNOTSUPP', `${at}: an unlinked file on mount ${l.mount.id} (${l.mount.fstype}) cannot be saved: only a tmpfs keeps such files in its content`, at);
    const ino = node.stat(l.node).ino;
    if (t.unlinked.has(ino)) return { mount: l.mount.id, path: [], ino };
    // This name was removed, another name of the inode lives.
    const other = namedPath(t, ino);
    if (!other) throw new CheckpointError('state', 'EIO', `${at}: inode ${ino} of mount ${l.mount.id} is neither named nor listed as unlinked in its snapshot`, at);
    return { mount: l.mount.id, path: other };
  };
  // Every member of a namespace is a Task (only Task registers itself: see NamespaceTask).
  const tasks = (ns.tasks() as Task[]).map((t, ti): TaskCheckpoint => ({
    creds: { uid: t.creds.uid, gid: t.creds.gid, groups: [...t.creds.groups], caps: t.creds.caps },
    maxFds: t.maxFds,
    reservedFds: t.reservedFds,
    root: loc(t.root, `tasks[${ti}].root`),
    cwd: loc(t.cwdLocation, `tasks[${ti}].cwd`),
    fds: t.fdTable().map(({ fd, desc, cloexec }) => {
      let i = descIndex.get(desc);
      if (i === undefined) {
        i = descriptions.length;
        descIndex.set(desc, i);
        const kind = desc.file.kind;
        if (kind === 'device' || kind === 'pipe') {
          throw new CheckpointError('state', 'EOPNOTSUPP', `descriptor ${fd}: a ${kind} description cannot be saved (only files, directories and O_PATH)`, `tasks.fds.${fd}`);
        }
        descriptions.push({ ...loc(desc.location, `tasks[${ti}].fds.${fd}`), kind, flags: desc.file.flags, offset: desc.far !== null ? String(desc.far) : desc.file.offset });
      }
      return { fd, desc: i, cloexec };
    }),
  }));
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    namespace: { guestUnmount: ns.policy.guestUnmount, imageTypes: [...ns.policy.imageTypes], maxMounts: ns.maxMounts, nextMountId: ns.nextMountId },
    synthetic,
    mounts,
    descriptions,
    tasks,
  };
}

// ---- validation -------------------------------------------------------------------------

function bad(at: string, message: string): CheckpointError {
  return new CheckpointError('format', 'EINVAL', `checkpoint ${at}: ${message}`, at);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function obj(v: unknown, at: string, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(at, `must be an object, not ${kindOf(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) throw bad(at, `unknown field ${JSON.stringify(k.slice(0, 64))}`);
  for (const k of keys) if (!Object.hasOwn(o, k)) throw bad(at, `field ${k} is missing`);
  return o;
}

function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(at, `must be an integer, not ${kindOf(v)}${typeof v === 'number' ? ` ${v}` : ''}`);
  if (v < min || v > max) throw bad(at, `${v} is outside ${min}..${max}`);
  return v;
}

/** A position past 2^53, written as decimal digits: above MAX_OFFSET and at most 2^63 - 1. */
function farOffset(v: string, at: string): string {
  if (!/^[1-9][0-9]{15,18}$/.test(v) || BigInt(v) <= BigInt(MAX_OFFSET) || BigInt(v) > 2n ** 63n - 1n) throw bad(at, `"${v.slice(0, 40)}" is not a position between 2^53 and 2^63 - 1 in decimal digits`);
  return v;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw bad(at, `must be a boolean, not ${kindOf(v)}`);
  return v;
}

function str(v: unknown, at: string, maxLength: number): string {
  if (typeof v !== 'string') throw bad(at, `must be a string, not ${kindOf(v)}`);
  if (v.length > maxLength) throw bad(at, `is ${v.length} characters long (at most ${maxLength})`);
  if (v.includes('\0')) throw bad(at, 'holds a NUL character');
  return v;
}

function arr(v: unknown, at: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(at, `must be an array, not ${kindOf(v)}`);
  if (v.length > max) throw bad(at, `has ${v.length} items (at most ${max})`);
  return v;
}

/** One path component as a latin1 byte string: 1..255 bytes, no "/", no NUL, not "." or "..". */
function name(v: unknown, at: string): string {
  const s = str(v, at, 255);
  if (s.length === 0) throw bad(at, 'an empty name');
  if (s === '.' || s === '..') throw bad(at, `the name ${JSON.stringify(s)} is not allowed in a recorded path`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw bad(at, 'names are byte strings (latin1): a character above U+00FF');
    if (c === 0x2f) throw bad(at, 'a name holds "/"');
  }
  return s;
}

function path(v: unknown, at: string): string[] {
  return arr(v, at, CHECKPOINT_LIMITS.pathDepth).map((x, i) => name(x, `${at}[${i}]`));
}

const U32 = 0xffffffff;

function parseIdentity(v: unknown, at: string): ImageIdentity {
  const o = obj(v, at, ['uuid', 'checksum', 'superblockCrc', 'blockSize', 'blocks', 'inos', 'featureCompat', 'featureIncompat', 'bytes', 'devices']);
  const uuid = str(o.uuid, `${at}.uuid`, 32);
  if (!/^[0-9a-f]{32}$/.test(uuid)) throw bad(`${at}.uuid`, 'must be 32 lowercase hex digits');
  const blockSize = int(o.blockSize, `${at}.blockSize`, 512, 1 << 16);
  if (blockSize & (blockSize - 1)) throw bad(`${at}.blockSize`, `${blockSize} is not a power of two`);
  return {
    uuid,
    checksum: int(o.checksum, `${at}.checksum`, 0, U32),
    superblockCrc: int(o.superblockCrc, `${at}.superblockCrc`, 0, U32),
    blockSize,
    blocks: int(o.blocks, `${at}.blocks`, 0, Number.MAX_SAFE_INTEGER),
    inos: int(o.inos, `${at}.inos`, 0, Number.MAX_SAFE_INTEGER),
    featureCompat: int(o.featureCompat, `${at}.featureCompat`, 0, U32),
    featureIncompat: int(o.featureIncompat, `${at}.featureIncompat`, 0, U32),
    bytes: int(o.bytes, `${at}.bytes`, 0, Number.MAX_SAFE_INTEGER),
    devices: arr(o.devices, `${at}.devices`, 256).map((d, i) => int(d, `${at}.devices[${i}]`, 0, Number.MAX_SAFE_INTEGER)),
  };
}

/**
 * A clean copy of a tmpfs section's JSON value: plain data at most TMPFS_DEPTH deep, byte
 * strings well formed (padded base64 of at most BYTES_MAX bytes, `len` not below what the
 * base64 holds), the zero bytes their `len` adds counted into `pad`.
 */
function tmpfsValue(v: unknown, at: string, depth: number, pad: { bytes: number; max: number; at: string; scratch: Uint8Array }): TmpfsValue {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(at, `${v} is not a finite number`);
    return v;
  }
  if (typeof v === 'string') return str(v, at, 256);
  if (depth >= TMPFS_DEPTH) throw bad(at, `nested deeper than ${TMPFS_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x, i) => tmpfsValue(x, `${at}[${i}]`, depth + 1, pad));
  if (typeof v !== 'object') throw bad(at, `must be plain data, not ${kindOf(v)}`);
  const o = v as Record<string, unknown>;
  if (Object.hasOwn(o, 'b64')) {
    const x = obj(o, at, ['b64'], ['len']);
    const s = x.b64;
    if (typeof s !== 'string') throw bad(`${at}.b64`, `must be a base64 string, not ${kindOf(s)}`);
    const maxChars = Math.ceil(BYTES_MAX / 3) * 4;
    if (s.length > maxChars) throw bad(`${at}.b64`, `is ${s.length} characters of base64 (at most ${maxChars}: ${BYTES_MAX} bytes)`);
    const held = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
    if (held > BYTES_MAX) throw bad(`${at}.b64`, `holds ${held} bytes (at most ${BYTES_MAX})`);
    const r = fromBase64(s, pad.scratch);
    if (typeof r === 'string') throw bad(`${at}.b64`, r);
    if (!Object.hasOwn(x, 'len')) return { b64: s };
    const len = int(x.len, `${at}.len`, held, BYTES_MAX);
    pad.bytes += len - held;
    if (pad.bytes > pad.max) throw bad(`${at}.len`, `brings the zero bytes put back in ${pad.at} to ${pad.bytes}, more than its size limit of ${pad.max}`);
    return { b64: s, len };
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, tmpfsValue(x, `${at}.${k.slice(0, 64)}`, depth + 1, pad)]));
}

/**
 * The shape and bounds of a tmpfs section (see the header): the options, and the content
 * as bounded plain data. What the content means is Tmpfs.restore's to check.
 */
function parseTmpfs(v: unknown, at: string): TmpfsCheckpoint {
  const o = obj(v, at, ['options', 'content']);
  const op = obj(o.options, `${at}.options`, ['size', 'nr_inodes', 'atime', 'protectedHardlinks']);
  const size = int(op.size, `${at}.options.size`, PAGE, CHECKPOINT_LIMITS.tmpfsBytes);
  if (size % PAGE !== 0) throw bad(`${at}.options.size`, `${size} is not a multiple of ${PAGE}`);
  const nrInodes = int(op.nr_inodes, `${at}.options.nr_inodes`, 1, CHECKPOINT_LIMITS.tmpfsInodes);
  const atime = op.atime;
  if (atime !== 'relatime' && atime !== 'strictatime' && atime !== 'noatime') throw bad(`${at}.options.atime`, 'must be "relatime", "strictatime" or "noatime"');
  const options = { size, nr_inodes: nrInodes, atime, protectedHardlinks: bool(op.protectedHardlinks, `${at}.options.protectedHardlinks`) } as const;
  const ca = `${at}.content`;
  if (typeof o.content !== 'object' || o.content === null || Array.isArray(o.content)) throw bad(ca, `must be an object, not ${kindOf(o.content)}`);
  const c = o.content as Record<string, unknown>;
  for (const k of ['format', 'version', 'unlinked']) if (!Object.hasOwn(c, k)) throw bad(ca, `field ${k} is missing`);
  if (c.format !== SNAPSHOT_FORMAT) throw bad(`${ca}.format`, `is not ${JSON.stringify(SNAPSHOT_FORMAT)}`);
  if (c.version !== SNAPSHOT_VERSION) throw bad(`${ca}.version`, `${JSON.stringify(c.version)} is not supported (this build reads version ${SNAPSHOT_VERSION})`);
  arr(c.unlinked, `${ca}.unlinked`, nrInodes).forEach((x, j) => int(x, `${ca}.unlinked[${j}]`, 1, Number.MAX_SAFE_INTEGER - 1));
  const content = tmpfsValue(c, ca, 0, { bytes: 0, max: size, at: ca, scratch: new Uint8Array(BYTES_MAX) }) as TmpfsContentCheckpoint;
  return { options, content };
}

/** An image's cache options, with the same bounds as the RPC mount call's. */
function parseCacheOptions(v: unknown, at: string): CacheOptions {
  const opt = obj(v, at, ['dentryCacheSize', 'negativeCacheSize', 'dirCacheEntries', 'pageCacheBytes', 'extentCacheBytes']);
  return {
    dentryCacheSize: int(opt.dentryCacheSize, `${at}.dentryCacheSize`, 0, 1_000_000),
    negativeCacheSize: int(opt.negativeCacheSize, `${at}.negativeCacheSize`, 0, 1_000_000),
    dirCacheEntries: int(opt.dirCacheEntries, `${at}.dirCacheEntries`, 0, 10_000_000),
    pageCacheBytes: int(opt.pageCacheBytes, `${at}.pageCacheBytes`, 0, 1 << 30),
    extentCacheBytes: int(opt.extentCacheBytes, `${at}.extentCacheBytes`, 0, 1 << 30),
  };
}

function parseRemote(v: unknown, at: string): RemoteCheckpoint {
  const o = obj(v, at, ['size'], ['etag', 'lastModified']);
  const r: RemoteCheckpoint = { size: int(o.size, `${at}.size`, 0, Number.MAX_SAFE_INTEGER) };
  if (Object.hasOwn(o, 'etag')) r.etag = str(o.etag, `${at}.etag`, 1024);
  if (Object.hasOwn(o, 'lastModified')) r.lastModified = str(o.lastModified, `${at}.lastModified`, 128);
  return r;
}

/** The pinned identities of an image section (remote, deviceRemotes), into `image`. */
function parseRemotes(im: Record<string, unknown>, image: NonNullable<MountCheckpoint['image']>, at: string): void {
  if (Object.hasOwn(im, 'remote')) image.remote = parseRemote(im.remote, `${at}.remote`);
  if (!Object.hasOwn(im, 'deviceRemotes')) return;
  const list = arr(im.deviceRemotes, `${at}.deviceRemotes`, 256);
  if (list.length !== image.devices.length) throw bad(`${at}.deviceRemotes`, `has ${list.length} entries for ${image.devices.length} devices`);
  image.deviceRemotes = list.map((d, i) => (d === null ? null : parseRemote(d, `${at}.deviceRemotes[${i}]`)));
}

function parseMount(v: unknown, at: string, version: number): MountCheckpoint {
  const o = obj(v, at, ['id', 'parent', 'mountpoint', 'state', 'dev', 'fstype', 'source', 'superOptions', 'flags', 'target', 'users', 'openFiles'], ['image', 'tmpfs', 'provided', 'overlay']);
  const state = o.state;
  if (state !== 'attached' && state !== 'detached') throw bad(`${at}.state`, 'must be "attached" or "detached"');
  // Version 1 had no readOnly flag (every mount was an image or the synthetic root).
  const f = version === 1 ? { readOnly: false, ...obj(o.flags, `${at}.flags`, ['nosuid', 'nodev', 'noexec']) } : obj(o.flags, `${at}.flags`, ['readOnly', 'nosuid', 'nodev', 'noexec']);
  const rec: MountCheckpoint = {
    id: int(o.id, `${at}.id`, 1, Number.MAX_SAFE_INTEGER - 1),
    parent: o.parent === null ? null : int(o.parent, `${at}.parent`, 1, Number.MAX_SAFE_INTEGER),
    mountpoint: o.mountpoint === null ? null : path(o.mountpoint, `${at}.mountpoint`),
    state,
    dev: int(o.dev, `${at}.dev`, 0, Number.MAX_SAFE_INTEGER),
    fstype: str(o.fstype, `${at}.fstype`, 64),
    source: str(o.source, `${at}.source`, CHECKPOINT_LIMITS.nameBytes * 4),
    superOptions: str(o.superOptions, `${at}.superOptions`, 1024),
    flags: { readOnly: bool(f.readOnly, `${at}.flags.readOnly`), nosuid: bool(f.nosuid, `${at}.flags.nosuid`), nodev: bool(f.nodev, `${at}.flags.nodev`), noexec: bool(f.noexec, `${at}.flags.noexec`) },
    target: str(o.target, `${at}.target`, 8192),
    users: int(o.users, `${at}.users`, 0, Number.MAX_SAFE_INTEGER),
    openFiles: int(o.openFiles, `${at}.openFiles`, 0, Number.MAX_SAFE_INTEGER),
  };
  if ((rec.parent === null) !== (rec.mountpoint === null)) throw bad(at, 'parent and mountpoint must both be given or both be null');
  if (rec.openFiles > rec.users) throw bad(`${at}.openFiles`, 'exceeds users');
  if (Object.hasOwn(o, 'image')) {
    const im = obj(o.image, `${at}.image`, ['name', 'devices', 'identity', 'options'], ['remote', 'deviceRemotes']);
    const identity = parseIdentity(im.identity, `${at}.image.identity`);
    const devices = arr(im.devices, `${at}.image.devices`, 256).map((d, i) => str(d, `${at}.image.devices[${i}]`, CHECKPOINT_LIMITS.nameBytes * 4));
    if (devices.length !== identity.devices.length) throw bad(`${at}.image.devices`, `names ${devices.length} devices but the identity has ${identity.devices.length}`);
    rec.image = {
      name: str(im.name, `${at}.image.name`, CHECKPOINT_LIMITS.nameBytes * 4),
      devices,
      identity,
      options: parseCacheOptions(im.options, `${at}.image.options`),
    };
  }
  if (rec.image) parseRemotes(o.image as Record<string, unknown>, rec.image, `${at}.image`);
  if (Object.hasOwn(o, 'tmpfs')) rec.tmpfs = parseTmpfs(o.tmpfs, `${at}.tmpfs`);
  if (Object.hasOwn(o, 'provided')) {
    if (o.provided !== true) throw bad(`${at}.provided`, 'must be true when present');
    rec.provided = true;
  }
  if (Object.hasOwn(o, 'overlay')) {
    const ov = obj(o.overlay, `${at}.overlay`, ['layers', 'upper', 'devs', 'dirInos']);
    const layers = arr(ov.layers, `${at}.overlay.layers`, 128).map((l, i) => {
      const la = `${at}.overlay.layers[${i}]`;
      const x = obj(l, la, ['name', 'identity', 'options']);
      const identity = parseIdentity(x.identity, `${la}.identity`);
      if (identity.devices.length) throw bad(`${la}.identity.devices`, 'a layer has no extra devices');
      return { name: str(x.name, `${la}.name`, CHECKPOINT_LIMITS.nameBytes * 4), identity, options: parseCacheOptions(x.options, `${la}.options`) };
    });
    if (layers.length === 0) throw bad(`${at}.overlay.layers`, 'an overlay has at least one layer');
    const devs = arr(ov.devs, `${at}.overlay.devs`, 129).map((d, i) => int(d, `${at}.overlay.devs[${i}]`, 0, Number.MAX_SAFE_INTEGER));
    const di = obj(ov.dirInos, `${at}.overlay.dirInos`, ['next', 'entries']);
    const next = int(di.next, `${at}.overlay.dirInos.next`, 2, Number.MAX_SAFE_INTEGER);
    const seen = new Set<string>();
    const entries = arr(di.entries, `${at}.overlay.dirInos.entries`, DIR_INO_ENTRIES).map((e, i): [string, number] => {
      const ea = `${at}.overlay.dirInos.entries[${i}]`;
      if (!Array.isArray(e) || e.length !== 2) throw bad(ea, 'must be a [key, inode] pair');
      const key = str(e[0], `${ea}[0]`, 40);
      if (!/^(u|[0-9]+):[0-9]+$/.test(key)) throw bad(`${ea}[0]`, 'must be "DEV:INO" or "u:INO"');
      if (seen.has(key)) throw bad(`${ea}[0]`, 'listed twice');
      seen.add(key);
      return [key, int(e[1], `${ea}[1]`, 2, next - 1)];
    });
    rec.overlay = { layers, upper: parseTmpfs(ov.upper, `${at}.overlay.upper`), devs, dirInos: { next, entries } };
    if (rec.fstype !== 'overlay') throw bad(`${at}.fstype`, `an overlay mount is "overlay", not ${JSON.stringify(rec.fstype)}`);
  }
  if (Number(!!rec.image) + Number(!!rec.tmpfs) + Number(!!rec.provided) + Number(!!rec.overlay) > 1) throw bad(at, 'a mount is one of image, tmpfs or provided or overlay');
  if (rec.tmpfs && rec.fstype !== 'tmpfs' && rec.fstype !== 'devtmpfs') throw bad(`${at}.fstype`, `a tmpfs mount is "tmpfs" or "devtmpfs", not ${JSON.stringify(rec.fstype)}`);
  return rec;
}

function parseLocation(v: unknown, at: string): LocationCheckpoint {
  const o = obj(v, at, ['mount', 'path'], ['ino']);
  const l: LocationCheckpoint = { mount: int(o.mount, `${at}.mount`, 1, Number.MAX_SAFE_INTEGER), path: path(o.path, `${at}.path`) };
  if (Object.hasOwn(o, 'ino')) {
    l.ino = int(o.ino, `${at}.ino`, 1, Number.MAX_SAFE_INTEGER - 1);
    if (l.path.length > 0) throw bad(`${at}.path`, 'must be empty when ino names an unlinked inode');
  }
  return l;
}

/**
 * Checks an untrusted value as a checkpoint: shape, types, bounds, names, and the
 * references between its parts (mount parents, locations, descriptor indexes). Returns a
 * clean copy holding only known fields.
 */
export function parseCheckpoint(v: unknown): Checkpoint {
  const o = obj(v, 'root', ['format', 'version', 'namespace', 'synthetic', 'mounts', 'descriptions', 'tasks']);
  if (o.format !== CHECKPOINT_FORMAT) throw bad('format', `is not ${JSON.stringify(CHECKPOINT_FORMAT)}`);
  if (o.version !== CHECKPOINT_VERSION && o.version !== 1) throw bad('version', `${JSON.stringify(o.version)} is not supported (this build reads versions 1 to ${CHECKPOINT_VERSION})`);
  const version = o.version;
  const n = obj(o.namespace, 'namespace', ['guestUnmount', 'imageTypes', 'maxMounts', 'nextMountId']);
  const namespace = {
    guestUnmount: bool(n.guestUnmount, 'namespace.guestUnmount'),
    imageTypes: arr(n.imageTypes, 'namespace.imageTypes', 64).map((t, i) => str(t, `namespace.imageTypes[${i}]`, 64)),
    maxMounts: int(n.maxMounts, 'namespace.maxMounts', 1, CHECKPOINT_LIMITS.mounts),
    nextMountId: int(n.nextMountId, 'namespace.nextMountId', 2, Number.MAX_SAFE_INTEGER),
  };
  let synthetic: Checkpoint['synthetic'] = null;
  if (o.synthetic !== null) {
    const s = obj(o.synthetic, 'synthetic', ['time', 'mode', 'dirs']);
    const inos = new Set<number>([1]);
    const dirs = arr(s.dirs, 'synthetic.dirs', CHECKPOINT_LIMITS.syntheticDirs).map((d, i) => {
      const at = `synthetic.dirs[${i}]`;
      const x = obj(d, at, ['ino', 'parent', 'name', 'mode']);
      const rec = { ino: int(x.ino, `${at}.ino`, 2, Number.MAX_SAFE_INTEGER), parent: int(x.parent, `${at}.parent`, 1, Number.MAX_SAFE_INTEGER), name: name(x.name, `${at}.name`), mode: int(x.mode, `${at}.mode`, 0, 0o7777) };
      if (!inos.has(rec.parent)) throw bad(`${at}.parent`, `directory ${rec.parent} is not listed before it`);
      if (inos.has(rec.ino)) throw bad(`${at}.ino`, `inode ${rec.ino} is listed twice`);
      inos.add(rec.ino);
      return rec;
    });
    synthetic = { time: int(s.time, 'synthetic.time', -(2 ** 52), 2 ** 52), mode: int(s.mode, 'synthetic.mode', 0, 0o7777), dirs };
  }
  const mounts = arr(o.mounts, 'mounts', CHECKPOINT_LIMITS.mounts).map((m, i) => parseMount(m, `mounts[${i}]`, version));
  if (mounts.length === 0) throw bad('mounts', 'has no root mount');
  const byId = new Map<number, MountCheckpoint>();
  const devs = new Set<number>();
  let attached = 0;
  mounts.forEach((m, i) => {
    const at = `mounts[${i}]`;
    if (i > 0 && !(m.id > mounts[i - 1].id)) throw bad(`${at}.id`, 'mount ids must be in increasing order');
    if (!(m.id < namespace.nextMountId)) throw bad(`${at}.id`, `${m.id} is not below namespace.nextMountId ${namespace.nextMountId}`);
    if (devs.has(m.dev)) throw bad(`${at}.dev`, `device ${m.dev} is used twice`);
    devs.add(m.dev);
    if (m.state === 'attached') attached++;
    if (i === 0) {
      if (m.id !== 1 || m.parent !== null || m.state !== 'attached') throw bad(at, 'the first mount must be the attached namespace root, id 1, without a parent');
      if ((synthetic === null) !== !!(m.image || m.overlay)) throw bad(at, synthetic ? 'a synthetic root cannot have an image' : 'an image root needs its image (or give synthetic)');
      if (m.tmpfs || m.provided) throw bad(at, 'the namespace root is an image or the synthetic root');
    } else {
      if (!m.image && !m.tmpfs && !m.provided && !m.overlay) throw bad(`${at}.image`, 'only the namespace root can be synthetic');
    }
    if (m.image && m.fstype !== 'erofs') throw bad(`${at}.fstype`, `an image mount is "erofs", not ${JSON.stringify(m.fstype)}`);
    if (i > 0) {
      if (m.state === 'attached' && m.parent === null) throw bad(`${at}.parent`, 'an attached mount needs a parent');
      if (m.parent !== null) {
        const p = byId.get(m.parent);
        if (!p) throw bad(`${at}.parent`, `mount ${m.parent} is not listed before it`);
        if (p.state !== m.state) throw bad(`${at}.parent`, `mount ${m.id} is ${m.state} but its parent ${p.id} is ${p.state}`);
      }
    }
    byId.set(m.id, m);
  });
  if (attached > namespace.maxMounts) throw bad('mounts', `${attached} attached mounts exceed namespace.maxMounts ${namespace.maxMounts}`);
  const unlinkedOf = new Map<number, Set<number>>();
  const location = (v: unknown, at: string) => {
    const l = parseLocation(v, at);
    const m = byId.get(l.mount);
    if (!m) throw bad(`${at}.mount`, `no mount ${l.mount} in the checkpoint`);
    if (l.ino !== undefined) {
      if (!m.tmpfs) throw bad(`${at}.ino`, `mount ${l.mount} is not a tmpfs: only a tmpfs has unlinked inodes in the checkpoint`);
      let set = unlinkedOf.get(m.id);
      if (!set) unlinkedOf.set(m.id, (set = new Set(m.tmpfs.content.unlinked)));
      if (!set.has(l.ino)) throw bad(`${at}.ino`, `inode ${l.ino} is not in mount ${l.mount}'s tmpfs.content.unlinked`);
    }
    return l;
  };
  const descriptions = arr(o.descriptions, 'descriptions', CHECKPOINT_LIMITS.descriptions).map((d, i): DescriptionCheckpoint => {
    const at = `descriptions[${i}]`;
    const x = obj(d, at, ['mount', 'path', 'kind', 'flags', 'offset'], ['ino']);
    const l = location(Object.hasOwn(x, 'ino') ? { mount: x.mount, path: x.path, ino: x.ino } : { mount: x.mount, path: x.path }, at);
    const kind = x.kind;
    if (kind !== 'file' && kind !== 'dir' && kind !== 'path') throw bad(`${at}.kind`, 'must be "file", "dir" or "path"');
    return { ...l, kind, flags: int(x.flags, `${at}.flags`, 0, 0x7fffffff), offset: typeof x.offset === 'string' ? farOffset(x.offset, `${at}.offset`) : int(x.offset, `${at}.offset`, 0, MAX_OFFSET) };
  });
  const used = new Uint8Array(descriptions.length);
  const tasks = arr(o.tasks, 'tasks', CHECKPOINT_LIMITS.tasks).map((t, i): TaskCheckpoint => {
    const at = `tasks[${i}]`;
    const x = obj(t, at, ['creds', 'maxFds', 'reservedFds', 'root', 'cwd', 'fds']);
    const c = obj(x.creds, `${at}.creds`, ['uid', 'gid', 'groups', 'caps']);
    const maxFds = int(x.maxFds, `${at}.maxFds`, 1, CHECKPOINT_LIMITS.maxFds);
    const reservedFds = arr(x.reservedFds, `${at}.reservedFds`, maxFds).map((f, j) => int(f, `${at}.reservedFds[${j}]`, 0, maxFds - 1));
    const reserved = new Set(reservedFds);
    let last = -1;
    const fds = arr(x.fds, `${at}.fds`, maxFds).map((e, j) => {
      const a = `${at}.fds[${j}]`;
      const y = obj(e, a, ['fd', 'desc', 'cloexec']);
      const fd = int(y.fd, `${a}.fd`, 0, maxFds - 1);
      if (!(fd > last)) throw bad(`${a}.fd`, 'descriptor numbers must be in increasing order');
      if (reserved.has(fd)) throw bad(`${a}.fd`, `descriptor ${fd} is reserved in this task`);
      last = fd;
      const desc = int(y.desc, `${a}.desc`, 0, descriptions.length - 1);
      used[desc] = 1;
      return { fd, desc, cloexec: bool(y.cloexec, `${a}.cloexec`) };
    });
    return {
      creds: {
        uid: int(c.uid, `${at}.creds.uid`, 0, U32),
        gid: int(c.gid, `${at}.creds.gid`, 0, U32),
        groups: arr(c.groups, `${at}.creds.groups`, CHECKPOINT_LIMITS.groups).map((g, j) => int(g, `${at}.creds.groups[${j}]`, 0, U32)),
        caps: int(c.caps, `${at}.creds.caps`, 0, 0x7fffffff),
      },
      maxFds,
      reservedFds,
      root: location(x.root, `${at}.root`),
      cwd: location(x.cwd, `${at}.cwd`),
      fds,
    };
  });
  const orphan = used.indexOf(0);
  if (orphan >= 0) throw bad(`descriptions[${orphan}]`, 'no descriptor refers to it');
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, namespace, synthetic, mounts, descriptions, tasks };
}

// ---- restore ----------------------------------------------------------------------------

/** What restore asks the host for: one image (or extra device) a checkpoint names. */
export interface ImageRequest {
  mountId: number;
  /** Where the mount was, for messages. */
  target: string;
  /** The name the checkpoint records: the host path or name the image was opened under. */
  name: string;
  role: 'image' | 'device';
  /** Index in the device table (role "device"). */
  device?: number;
  /** What the opened image must match. */
  identity: ImageIdentity;
  /** For an image (or device) behind a URL: the object it must be (restore checks it). */
  remote?: RemoteCheckpoint;
}

/** What restore asks the host for: a filesystem the emulator had mounted itself (mount({ fs })). */
export interface FsRequest {
  mountId: number;
  /** Where the mount was, for messages. */
  target: string;
  /** The recorded type, source and super options (mountinfo's). */
  fstype: string;
  source: string;
  superOptions: string;
  /** The mount's st_dev: guests saw it, so the filesystem given back must have it. */
  dev: number;
}

/** The trusted host's side of a restore. */
export interface RestoreHost {
  /**
   * Opens the image a checkpoint names, or refuses (throw). The host decides: a
   * checkpoint names images, it does not grant access to them. The result is opened like
   * a mount request's image (a host path, a descriptor, bytes or a source).
   */
  openImage(request: ImageRequest): ImageRef | Promise<ImageRef>;
  /**
   * Gives back a filesystem the emulator had mounted (a procfs, a 9P client), made anew
   * with `request.dev` and of type `request.fstype`, or refuses (throw). Without it, a
   * checkpoint holding such a mount is refused (EOPNOTSUPP). Descriptions on it are
   * reopened by path, with the usual permission checks.
   */
  provideFs?(request: FsRequest): AnyFilesystem | Promise<AnyFilesystem>;
  /**
   * Most bytes the size limits of a checkpoint's tmpfs mounts may add up to: restoring
   * their content allocates up to that much. Default CHECKPOINT_LIMITS.restoreTmpfsBytes
   * (1 GiB); a larger checkpoint is refused with ENOSPC.
   */
  maxTmpfsBytes?: number;
}

/**
 * A host that opens only the images it lists: host paths opened under their own name, or
 * recorded names mapped to what to open instead (an image moved, or held in memory).
 * Anything else is refused with EACCES.
 */
export function allowImages(allowed: Iterable<string> | Readonly<Record<string, ImageRef>>): RestoreHost {
  const map = new Map<string, ImageRef>();
  if (typeof (allowed as Iterable<string>)[Symbol.iterator] === 'function') for (const p of allowed as Iterable<string>) map.set(p, p);
  else for (const [k, v] of Object.entries(allowed)) map.set(k, v);
  return {
    openImage(req) {
      const ref = map.get(req.name);
      if (ref === undefined) throw new CheckpointError('refused', 'EACCES', `mount ${req.mountId} (${req.target}): the host does not allow ${req.role} ${JSON.stringify(req.name)}`, `mounts[${req.mountId}]`);
      return ref;
    },
  };
}

/** What restore needs from the controller: its way of opening and validating images, and of mounting a tmpfs. */
export interface RestoreDeps {
  openSources(ref: ImageRef, options: { devices?: ImageRef[] }): Promise<OpenedImage>;
  makeSpec(opened: OpenedImage, options: HostMountOptions, dev: number): MountSpec;
  tmpfsSpec(fs: Tmpfs, source: string, flags: MountFlags): MountSpec;
  fsSpec(fs: AnyFilesystem, fstype: string, source: string, superOptions: string, flags: MountFlags): MountSpec;
  /** Stacks opened layers (lowest first) under a restored upper tmpfs; absent: overlays are refused. */
  overlaySpec?(layers: OpenedImage[], upper: Tmpfs, options: HostMountOptions, dev: number, restored: { devs: readonly number[]; dirInos: DirInoTable }): MountSpec;
}

/**
 * Refuses an image or device behind a URL whose object is not the one the checkpoint
 * pinned: the ETag when one was recorded (else Last-Modified), and the size, must be the
 * same; one that no longer sends the recorded validator cannot be proved the same and is
 * refused too. A recorded remote reopened as something else (the host mapped the name to
 * a local copy) is left to the superblock identity check.
 */
function checkRemotes(m: MountCheckpoint, index: number, o: OpenedImage): void {
  const im = m.image!;
  const check = (want: RemoteCheckpoint | null | undefined, got: RemoteIdentity | undefined, name: string, at: string) => {
    if (!want || !got) return;
    const field = want.etag !== undefined ? 'etag' : want.lastModified !== undefined ? 'lastModified' : undefined;
    let diff: string | undefined;
    if (field && want[field] !== got[field]) diff = field;
    else if (want.size !== got.size) diff = 'size';
    if (diff === undefined) return;
    const shown = (x: unknown) => (x === undefined ? 'none' : String(x));
    const what = diff === 'etag' ? 'ETag' : diff === 'lastModified' ? 'Last-Modified' : 'size';
    throw new CheckpointError(
      'image-mismatch',
      'ENXIO',
      `${mountLabel(m)}: ${JSON.stringify(name)} changed since the checkpoint: ${what} ${shown(got[diff as keyof RemoteIdentity])}, recorded ${shown(want[diff as keyof RemoteCheckpoint])}`,
      `${at}.${diff}`,
    );
  };
  check(im.remote, o.main.remote, im.name, `mounts[${index}].image.remote`);
  o.devices.forEach((d, i) => check(im.deviceRemotes?.[i], d.remote, im.devices[i], `mounts[${index}].image.deviceRemotes[${i}]`));
}

function mountLabel(m: MountCheckpoint): string {
  return `mount ${m.id} (${m.target})`;
}

/** The fields of two identities that differ, as "field: recorded X, found Y". */
export function identityDiff(want: ImageIdentity, got: ImageIdentity): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want) as (keyof ImageIdentity)[]) {
    const a = JSON.stringify(want[k]);
    const b = JSON.stringify(got[k]);
    if (a !== b) out.push(`${k}: recorded ${a}, found ${b}`);
  }
  return out;
}

function latin1Bytes(s: string): Uint8Array {
  return keyBytes(s);
}

/** A checked tmpfs section back into the TmpfsSnapshot Tmpfs.restore takes. */
function decodeTmpfs(v: TmpfsValue, at: string): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x, i) => decodeTmpfs(x, `${at}[${i}]`));
  if (typeof v.b64 === 'string') {
    const b = v as BytesCheckpoint;
    const r = fromBase64(b.b64, b.len !== undefined ? new Uint8Array(b.len) : undefined);
    if (typeof r === 'string') throw bad(`${at}.b64`, r);
    return r;
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeTmpfs(x, `${at}.${k}`)]));
}

/**
 * Tmpfs.restore's complaint as a CheckpointError: its "snapshot.inodes[3].pages[0]: ..."
 * becomes "checkpoint mounts[2].tmpfs.content.inodes[3].pages[0]: ...", and that field is `at`.
 */
function tmpfsFault(e: unknown, at: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  if (!(e instanceof SysError)) throw e;
  const text = e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message;
  const m = /^snapshot((?:\.|\[)[^:]*)?: (.*)$/s.exec(text);
  const field = m ? at + (m[1] ?? '') : at;
  return new CheckpointError('format', e.code, `checkpoint ${field}: ${m ? m[2] : text}`, field, { cause: e });
}

/** Runs a release on an error path: the first error is the one to report. */
function quietly(release: () => void): void {
  try {
    release();
  } catch {
    /* already failing */
  }
}

/** Walks names from a mount's root inside its filesystem (no mount crossing); held. */
function walkIn(m: Mount, names: readonly string[], creds: Credentials, at: string): Location {
  let cur: node.Node = node.hold(m.root);
  try {
    for (const k of names) {
      const next = node.lookup(cur, latin1Bytes(k), creds);
      node.drop(cur);
      cur = next;
    }
  } catch (e) {
    node.drop(cur);
    throw wrapState(e, `${at}: ${['', ...names].join('/') || '/'} in mount ${m.id}`, at);
  }
  return { mount: m, node: cur };
}

function wrapState(e: unknown, what: string, at: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  if (e instanceof SysError) return new CheckpointError('state', e.code, `${what}: ${e.message}`, at, { cause: e });
  throw e;
}

export interface Restored {
  ns: MountNamespace;
  /** The saved tasks, in the checkpoint's order. */
  tasks: Task[];
}

/**
 * Rebuilds a namespace from a checkpoint (validated first, see parseCheckpoint): asks the
 * host to open every image, checks each one's identity, recreates the mounts with their
 * ids and devices (lazily detached ones detached and held by their users), reopens every
 * description at its recorded offset or directory position, and rebuilds the tasks. On
 * any failure everything opened so far is closed and a CheckpointError (or the SysError
 * of the failing step) is thrown.
 */
export async function restoreNamespace(input: unknown, host: RestoreHost, deps: RestoreDeps): Promise<Restored> {
  const cp = parseCheckpoint(input);
  // ---- the host's cap on tmpfs content, before anything is decoded ----
  const maxTmpfs = host.maxTmpfsBytes ?? CHECKPOINT_LIMITS.restoreTmpfsBytes;
  let tmpfsBytes = 0;
  for (const [i, m] of cp.mounts.entries()) {
    const t = m.tmpfs ?? m.overlay?.upper;
    if (!t) continue;
    tmpfsBytes += t.options.size;
    if (tmpfsBytes > maxTmpfs) {
      throw new CheckpointError('refused', 'ENOSPC', `${mountLabel(m)}: the tmpfs size limits add up to ${tmpfsBytes} bytes, over the host's ${maxTmpfs} (RestoreHost.maxTmpfsBytes)`, `mounts[${i}].tmpfs.options.size`);
    }
  }
  // ---- rebuild every tmpfs from its content: the last of the checks, before anything is opened ----
  const specs = new Map<number, MountSpec>();
  const tmpfsById = new Map<number, Tmpfs>();
  for (const [i, m] of cp.mounts.entries()) {
    if (!m.tmpfs) continue;
    const at = `mounts[${i}].tmpfs.content`;
    const o = m.tmpfs.options;
    let fs: Tmpfs;
    try {
      fs = Tmpfs.restore(decodeTmpfs(m.tmpfs.content, at), { size: o.size, nr_inodes: o.nr_inodes, atime: o.atime, protectedHardlinks: o.protectedHardlinks, dev: m.dev });
    } catch (e) {
      for (const s of specs.values()) quietly(() => s.onRelease?.());
      throw tmpfsFault(e, at);
    }
    tmpfsById.set(m.id, fs);
    // A devtmpfs is a tmpfs the controller filled with device nodes: its content says it all.
    specs.set(m.id, { ...deps.tmpfsSpec(fs, m.source, m.flags), fstype: m.fstype });
  }
  // ---- and every overlay's upper tmpfs ----
  const uppers = new Map<number, Tmpfs>();
  const releaseUppers = () => {
    for (const fs of uppers.values()) quietly(() => fs.release());
    uppers.clear();
  };
  for (const [i, m] of cp.mounts.entries()) {
    if (!m.overlay) continue;
    const at = `mounts[${i}].overlay.upper.content`;
    const o = m.overlay.upper.options;
    if (!deps.overlaySpec) {
      releaseUppers();
      for (const s of specs.values()) quietly(() => s.onRelease?.());
      throw new CheckpointError('refused', 'EOPNOTSUPP', `${mountLabel(m)}: this host does not restore overlays`, `mounts[${i}]`);
    }
    try {
      const fs = Tmpfs.restore(decodeTmpfs(m.overlay.upper.content, at), { size: o.size, nr_inodes: o.nr_inodes, atime: o.atime, protectedHardlinks: o.protectedHardlinks });
      // Inodes the overlay held without a name: nothing reopens them.
      fs.dropUntaken();
      uppers.set(m.id, fs);
    } catch (e) {
      releaseUppers();
      for (const s of specs.values()) quietly(() => s.onRelease?.());
      throw tmpfsFault(e, at);
    }
  }
  // ---- open every image and ask for every provided filesystem (the only waits) ----
  const opened = new Map<number, OpenedImage>();
  const openedLayers = new Map<number, OpenedImage[]>();
  const provided = new Map<number, AnyFilesystem>();
  const closeOpened = () => {
    for (const o of opened.values()) o.close();
    opened.clear();
    for (const ls of openedLayers.values()) for (const o of ls) o?.close();
    openedLayers.clear();
    for (const fs of provided.values()) quietly(() => fs.release());
    provided.clear();
  };
  try {
    for (const m of cp.mounts) {
      if (m.provided) {
        provided.set(m.id, await provide(host, m));
        continue;
      }
      if (m.overlay) {
        const ls: OpenedImage[] = [];
        openedLayers.set(m.id, ls);
        for (const [li, l] of m.overlay.layers.entries()) {
          let ref: ImageRef;
          try {
            ref = await host.openImage({ mountId: m.id, target: m.target, identity: l.identity, name: l.name, role: 'image' });
          } catch (e) {
            if (e instanceof CheckpointError) throw e;
            const code: Errno = e instanceof SysError ? e.code : 'EACCES';
            throw new CheckpointError('refused', code, `${mountLabel(m)}: the host refused layer ${li} ${JSON.stringify(l.name)}: ${(e as Error)?.message ?? String(e)}`, `mounts[${m.id}].overlay.layers[${li}]`, { cause: e });
          }
          try {
            ls.push(await deps.openSources(ref, {}));
          } catch (e) {
            if (!(e instanceof SysError)) throw e;
            throw new CheckpointError('open', e.code, `${mountLabel(m)}: cannot open layer ${li} ${JSON.stringify(l.name)}: ${e.message}`, `mounts[${m.id}].overlay.layers[${li}]`, { cause: e });
          }
        }
        continue;
      }
      if (!m.image) continue;
      const ask = async (req: ImageRequest): Promise<ImageRef> => {
        try {
          return await host.openImage(req);
        } catch (e) {
          if (e instanceof CheckpointError) throw e;
          const code: Errno = e instanceof SysError ? e.code : 'EACCES';
          throw new CheckpointError('refused', code, `${mountLabel(m)}: the host refused ${req.role} ${JSON.stringify(req.name)}: ${(e as Error)?.message ?? String(e)}`, `mounts[${m.id}]`, { cause: e });
        }
      };
      const base = { mountId: m.id, target: m.target, identity: m.image.identity };
      const main = await ask({ ...base, name: m.image.name, role: 'image', ...(m.image.remote && { remote: m.image.remote }) });
      const devices: ImageRef[] = [];
      for (let i = 0; i < m.image.devices.length; i++) {
        const remote = m.image.deviceRemotes?.[i];
        devices.push(await ask({ ...base, name: m.image.devices[i], role: 'device', device: i, ...(remote && { remote }) }));
      }
      try {
        opened.set(m.id, await deps.openSources(main, { devices }));
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        throw new CheckpointError('open', e.code, `${mountLabel(m)}: cannot open ${JSON.stringify(m.image.name)}: ${e.message}`, `mounts[${m.id}]`, { cause: e });
      }
      checkRemotes(m, cp.mounts.indexOf(m), opened.get(m.id)!);
    }
  } catch (e) {
    closeOpened();
    releaseUppers();
    for (const s of specs.values()) quietly(() => s.onRelease?.());
    throw e;
  }
  // ---- from here on synchronous: validate, build, adopt ----
  let ns: MountNamespace | undefined;
  const mountsById = new Map<number, Mount>();
  const descs: OpenDescription[] = [];
  const tasks: Task[] = [];
  /** Unlinked tmpfs inodes taken for the descriptions and cwds naming them, each held once by the restore. */
  const taken = new Map<string, node.Node>();
  const dropTaken = () => {
    for (const n of taken.values()) node.drop(n);
    taken.clear();
  };
  const locate = (l: LocationCheckpoint, creds: Credentials, at: string): Location => {
    const m = mountsById.get(l.mount)!;
    if (l.ino === undefined) return walkIn(m, l.path, creds, at);
    const key = `${l.mount}:${l.ino}`;
    let n = taken.get(key);
    if (!n) {
      try {
        n = tmpfsById.get(l.mount)!.takeUnlinked(l.ino);
      } catch (e) {
        throw wrapState(e, `${at}: unlinked inode ${l.ino} of mount ${l.mount}`, at);
      }
      taken.set(key, n);
    }
    return { mount: m, node: node.hold(n) };
  };
  try {
    for (const m of cp.mounts) {
      if (m.provided) {
        const fs = provided.get(m.id)!;
        provided.delete(m.id);
        specs.set(m.id, deps.fsSpec(fs, m.fstype, m.source, m.superOptions, m.flags));
        continue;
      }
      if (m.overlay) {
        const ls = openedLayers.get(m.id)!;
        openedLayers.delete(m.id);
        const upper = uppers.get(m.id)!;
        uppers.delete(m.id);
        let spec: MountSpec;
        try {
          // overlaySpec closes the layers itself when it fails.
          spec = deps.overlaySpec!(ls, upper, { ...m.overlay.layers[0].options, ...m.flags, source: m.source }, m.dev, { devs: m.overlay.devs, dirInos: m.overlay.dirInos });
        } catch (e) {
          quietly(() => upper.release());
          if (!(e instanceof SysError)) throw e;
          throw new CheckpointError('image-mismatch', e.code, `${mountLabel(m)}: a layer is not a valid image any more: ${e.message}`, `mounts[${m.id}]`, { cause: e });
        }
        specs.set(m.id, spec);
        for (const [li, l] of m.overlay.layers.entries()) {
          const diff = identityDiff(l.identity, imageIdentity(spec.overlay!.layers[li].fs.image));
          if (diff.length) throw new CheckpointError('image-mismatch', 'ENXIO', `${mountLabel(m)}: layer ${li} ${JSON.stringify(l.name)} is not the image the checkpoint was taken with (${diff.join('; ')})`, `mounts[${m.id}].overlay.layers[${li}]`);
        }
        continue;
      }
      if (!m.image) continue;
      const o = opened.get(m.id)!;
      opened.delete(m.id);
      let spec: MountSpec;
      try {
        // makeSpec closes the image itself when it fails.
        spec = deps.makeSpec(o, { ...m.image.options, ...m.flags, source: m.source }, m.dev);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        throw new CheckpointError('image-mismatch', e.code, `${mountLabel(m)}: ${JSON.stringify(m.image.name)} is not a valid image any more: ${e.message}`, `mounts[${m.id}]`, { cause: e });
      }
      specs.set(m.id, spec);
      const fs = spec.fs as Filesystem;
      const diff = identityDiff(m.image.identity, imageIdentity(fs.image, spec.origin?.devices.map((d) => d.bytes) ?? []));
      if (diff.length) {
        throw new CheckpointError('image-mismatch', 'ENXIO', `${mountLabel(m)}: ${JSON.stringify(m.image.name)} is not the image the checkpoint was taken with (${diff.join('; ')})`, `mounts[${m.id}]`);
      }
    }
    const rootRec = cp.mounts[0];
    const nsOptions = { policy: { guestUnmount: cp.namespace.guestUnmount, imageTypes: cp.namespace.imageTypes }, maxMounts: cp.namespace.maxMounts };
    if (cp.synthetic) {
      const fs = new SyntheticFs({ dev: rootRec.dev, time: cp.synthetic.time, mode: cp.synthetic.mode });
      const dirs = new Map<number, SynthDir>([[1, fs.root]]);
      for (const [i, d] of cp.synthetic.dirs.entries()) {
        const made = fs.addDir(dirs.get(d.parent)!, d.name, d.mode);
        if (made.ino !== d.ino) throw bad(`synthetic.dirs[${i}].ino`, `recreated as inode ${made.ino}, recorded ${d.ino} (directories out of creation order)`);
        dirs.set(d.ino, made);
      }
      ns = new MountNamespace({ fs, fstype: rootRec.fstype, source: rootRec.source, superOptions: rootRec.superOptions }, nsOptions);
    } else {
      ns = new MountNamespace(specs.get(1)!, nsOptions);
      specs.delete(1);
    }
    mountsById.set(1, ns.root);
    for (const m of cp.mounts.slice(1)) {
      const at = `mounts[${m.id}]`;
      let parent: Location | null = null;
      if (m.parent !== null) parent = walkIn(mountsById.get(m.parent)!, m.mountpoint!, ROOT, `${at}.mountpoint`);
      const spec = specs.get(m.id)!;
      let mount: Mount;
      try {
        mount = ns.adopt(spec, m.id, parent, m.state);
      } catch (e) {
        if (parent) node.drop(parent.node);
        throw wrapState(e, mountLabel(m), at);
      }
      specs.delete(m.id);
      mountsById.set(m.id, mount);
    }
    ns.setNextMountId(cp.namespace.nextMountId);

    const credsOf = cp.tasks.map((t) => credentials(t.creds.uid, t.creds.gid, t.creds.groups, t.creds.caps));
    // A description is reopened with the credentials of the first task holding it.
    const opener: number[] = new Array(cp.descriptions.length).fill(-1);
    cp.tasks.forEach((t, i) => {
      for (const e of t.fds) if (opener[e.desc] < 0) opener[e.desc] = i;
    });
    for (const [i, d] of cp.descriptions.entries()) {
      const at = `descriptions[${i}]`;
      const creds = credsOf[opener[i]];
      const mount = mountsById.get(d.mount)!;
      if (mount.readOnly && d.kind !== 'path' && (d.flags & O_ACCMODE) !== O_RDONLY) {
        throw new CheckpointError('state', 'EROFS', `${at}: open for writing (flags 0${d.flags.toString(8)}) on mount ${d.mount}, which is read-only`, at);
      }
      const loc = locate(d, creds, at);
      let file: node.OpenFile;
      try {
        // On a tmpfs the checkpoint itself holds the modes: open as the file's creator would (no permission check).
        file = node.open(loc.node, d.flags, creds, tmpfsById.has(d.mount));
      } catch (e) {
        throw wrapState(e, `${at}: reopening ${d.ino !== undefined ? `unlinked inode ${d.ino}` : ['', ...d.path].join('/') || '/'} in mount ${d.mount}`, at);
      } finally {
        node.drop(loc.node);
      }
      if (file.kind !== d.kind || file.flags !== d.flags) {
        file.close();
        throw new CheckpointError('state', 'EINVAL', `${at}: reopened as a ${file.kind} description with flags 0${file.flags.toString(8)}, recorded ${d.kind} with 0${d.flags.toString(8)}`, at);
      }
      // The same position the saved description had: a byte offset, or a getdents64
      // cookie (d_off) that the next getdents64 resumes from.
      const desc = new OpenDescription(loc.mount, file);
      if (typeof d.offset === 'string') {
        // Past 2^53: the description keeps it, its file is parked (see OpenDescription.far).
        desc.far = BigInt(d.offset);
        file.offset = MAX_OFFSET;
      } else {
        file.offset = d.offset;
      }
      descs.push(desc);
    }
    for (const [i, t] of cp.tasks.entries()) {
      const at = `tasks[${i}]`;
      const creds = credsOf[i];
      const root = locate(t.root, creds, `${at}.root`);
      let cwd: Location;
      try {
        if (!node.isDir(root.node)) throw new CheckpointError('state', 'ENOTDIR', `${at}.root: not a directory`, `${at}.root`);
        cwd = locate(t.cwd, creds, `${at}.cwd`);
      } catch (e) {
        node.drop(root.node);
        throw e;
      }
      const fds = t.fds.map((e) => ({ fd: e.fd, desc: descs[e.desc], cloexec: e.cloexec }));
      try {
        if (!node.isDir(cwd.node)) throw new CheckpointError('state', 'ENOTDIR', `${at}.cwd: not a directory`, `${at}.cwd`);
        for (const e of fds) e.desc.refs++;
        try {
          tasks.push(Task.adopt(ns, { creds, maxFds: t.maxFds, reservedFds: t.reservedFds }, root, cwd, fds));
        } catch (e) {
          for (const f of fds) f.desc.refs--;
          throw e;
        }
      } catch (e) {
        node.drop(root.node);
        node.drop(cwd.node);
        throw wrapState(e, at, at);
      }
    }
    // Every description is held by its descriptors now; drop the restore's own reference.
    for (const d of descs.splice(0)) d.refs--;
    // The unlinked inodes are held by their descriptions and cwds; the rest go now.
    dropTaken();
    for (const fs of tmpfsById.values()) fs.dropUntaken();
    for (const m of cp.mounts) {
      const got = mountsById.get(m.id)!;
      if (got.users !== m.users || got.openFiles !== m.openFiles) {
        throw new CheckpointError('state', 'EINVAL', `${mountLabel(m)}: has ${got.users} users (${got.openFiles} open files) after restore, the checkpoint recorded ${m.users} (${m.openFiles})`, `mounts[${m.id}]`);
      }
    }
    return { ns, tasks };
  } catch (e) {
    for (const t of tasks) t.exit();
    for (const d of descs) d.put();
    dropTaken();
    for (const fs of tmpfsById.values()) if (!fs.isReleased) fs.dropUntaken();
    if (ns) {
      ns.shutdown();
      for (const m of ns.detached()) ns.maybeRelease(m);
    }
    for (const s of specs.values()) quietly(() => s.onRelease?.());
    closeOpened();
    releaseUppers();
    throw e;
  }
}

/** Asks the host for a filesystem the emulator had mounted, and checks what it gives. */
async function provide(host: RestoreHost, m: MountCheckpoint): Promise<AnyFilesystem> {
  const at = `mounts[${m.id}]`;
  if (!host.provideFs) {
    throw new CheckpointError('refused', 'EOPNOTSUPP', `${mountLabel(m)}: a ${JSON.stringify(m.fstype)} filesystem the emulator mounted cannot be restored without the host giving it again (RestoreHost.provideFs)`, at);
  }
  let fs: AnyFilesystem;
  try {
    fs = await host.provideFs({ mountId: m.id, target: m.target, fstype: m.fstype, source: m.source, superOptions: m.superOptions, dev: m.dev });
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const code: Errno = e instanceof SysError ? e.code : 'EACCES';
    throw new CheckpointError('refused', code, `${mountLabel(m)}: the host refused the ${JSON.stringify(m.fstype)} filesystem: ${(e as Error)?.message ?? String(e)}`, at, { cause: e });
  }
  let wrong = '';
  if (typeof fs?.lookup !== 'function' || typeof fs.release !== 'function' || !fs.root) wrong = 'does not implement the filesystem contract';
  else if (fs.type !== m.fstype) wrong = `is a ${JSON.stringify(fs.type)} filesystem, the checkpoint recorded ${JSON.stringify(m.fstype)}`;
  else if (fs.dev !== m.dev) wrong = `has st_dev ${fs.dev}, the checkpoint recorded ${m.dev} (make it with request.dev)`;
  if (wrong) {
    if (typeof fs?.release === 'function') quietly(() => fs.release());
    throw new CheckpointError('refused', 'EINVAL', `${mountLabel(m)}: the filesystem provideFs gave ${wrong}`, at);
  }
  return fs;
}
