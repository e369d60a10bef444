/**
 * Checkpoint and restore of a mount namespace: the whole filesystem state a guest sees,
 * as plain JSON-ready data, and its rebuilding in a fresh process.
 *
 * A checkpoint holds: the mount tree (attached and lazily detached mounts, with their ids,
 * device numbers, mount points, flags and cache options), the identity of each mounted
 * image (superblock UUID, stored checksum, a CRC-32C we compute over the superblock block,
 * block and inode counts, feature bits, byte sizes) and the name the host opened it under;
 * the synthetic root's directories; every live task's credentials, root, cwd and
 * descriptor table; every open description (mount, path inside the mount, flags, offset
 * or directory position). It never holds image bytes, decoded data or cache contents.
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
 * checks of open(2) and chdir(2) are made again.
 */
import { superblockChecksum, type Image } from '@erofs-js/erofs';
import { Filesystem, MAX_OFFSET, ROOT, SysError, credentials, type Credentials, type Errno } from '@erofs-js/vfs';
import type { HostMountOptions, ImageRef, OpenedImage } from './controller.js';
import { MountNamespace, type Location, type Mount, type MountSpec } from './namespace.js';
import * as node from './node.js';
import { SynthDir, SyntheticFs } from './synthetic.js';
import { OpenDescription, Task } from './task.js';

export const CHECKPOINT_FORMAT = 'erofs-js/mount-checkpoint';
export const CHECKPOINT_VERSION = 1;

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
} as const;

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
  flags: { nosuid: boolean; nodev: boolean; noexec: boolean };
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
  };
}

export interface LocationCheckpoint {
  mount: number;
  path: string[];
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

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
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

function saveMount(ns: MountNamespace, m: Mount): MountCheckpoint {
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
    flags: { nosuid: !!f.nosuid, nodev: !!f.nodev, noexec: !!f.noexec },
    target: where.reachable ? where.path : `(detached)${where.path === '/' ? '' : where.path}`,
    users: m.users,
    openFiles: m.openFiles,
  };
  if (m.fs instanceof Filesystem) {
    const origin = m.spec.origin;
    if (!origin) throw new CheckpointError('state', 'EOPNOTSUPP', `mount ${m.id} was not mounted by a host controller: no image name to record`, `mounts[${m.id}]`);
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
  } else if (m !== ns.root) {
    throw new CheckpointError('state', 'EOPNOTSUPP', `mount ${m.id}: only the namespace root may be synthetic`);
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
  const mounts = all.map((m) => saveMount(ns, m));
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
  const loc = (l: Location): LocationCheckpoint => ({ mount: l.mount.id, path: pathInFs(l.node) });
  const tasks = ns.tasks().map((t): TaskCheckpoint => ({
    creds: { uid: t.creds.uid, gid: t.creds.gid, groups: [...t.creds.groups], caps: t.creds.caps },
    maxFds: t.maxFds,
    reservedFds: t.reservedFds,
    root: loc(t.root),
    cwd: loc(t.cwdLocation),
    fds: t.fdTable().map(({ fd, desc, cloexec }) => {
      let i = descIndex.get(desc);
      if (i === undefined) {
        i = descriptions.length;
        descIndex.set(desc, i);
        const kind = desc.file.kind;
        if (kind === 'device' || kind === 'pipe') {
          throw new CheckpointError('state', 'EOPNOTSUPP', `descriptor ${fd}: a ${kind} description cannot be saved (only files, directories and O_PATH)`, `tasks.fds.${fd}`);
        }
        descriptions.push({ ...loc(desc.location), kind, flags: desc.file.flags, offset: desc.far !== null ? String(desc.far) : desc.file.offset });
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

function parseMount(v: unknown, at: string): MountCheckpoint {
  const o = obj(v, at, ['id', 'parent', 'mountpoint', 'state', 'dev', 'fstype', 'source', 'superOptions', 'flags', 'target', 'users', 'openFiles'], ['image']);
  const state = o.state;
  if (state !== 'attached' && state !== 'detached') throw bad(`${at}.state`, 'must be "attached" or "detached"');
  const f = obj(o.flags, `${at}.flags`, ['nosuid', 'nodev', 'noexec']);
  const rec: MountCheckpoint = {
    id: int(o.id, `${at}.id`, 1, Number.MAX_SAFE_INTEGER - 1),
    parent: o.parent === null ? null : int(o.parent, `${at}.parent`, 1, Number.MAX_SAFE_INTEGER),
    mountpoint: o.mountpoint === null ? null : path(o.mountpoint, `${at}.mountpoint`),
    state,
    dev: int(o.dev, `${at}.dev`, 0, Number.MAX_SAFE_INTEGER),
    fstype: str(o.fstype, `${at}.fstype`, 64),
    source: str(o.source, `${at}.source`, CHECKPOINT_LIMITS.nameBytes * 4),
    superOptions: str(o.superOptions, `${at}.superOptions`, 1024),
    flags: { nosuid: bool(f.nosuid, `${at}.flags.nosuid`), nodev: bool(f.nodev, `${at}.flags.nodev`), noexec: bool(f.noexec, `${at}.flags.noexec`) },
    target: str(o.target, `${at}.target`, 8192),
    users: int(o.users, `${at}.users`, 0, Number.MAX_SAFE_INTEGER),
    openFiles: int(o.openFiles, `${at}.openFiles`, 0, Number.MAX_SAFE_INTEGER),
  };
  if ((rec.parent === null) !== (rec.mountpoint === null)) throw bad(at, 'parent and mountpoint must both be given or both be null');
  if (rec.openFiles > rec.users) throw bad(`${at}.openFiles`, 'exceeds users');
  if (Object.hasOwn(o, 'image')) {
    const im = obj(o.image, `${at}.image`, ['name', 'devices', 'identity', 'options']);
    const opt = obj(im.options, `${at}.image.options`, ['dentryCacheSize', 'negativeCacheSize', 'dirCacheEntries', 'pageCacheBytes', 'extentCacheBytes']);
    const identity = parseIdentity(im.identity, `${at}.image.identity`);
    const devices = arr(im.devices, `${at}.image.devices`, 256).map((d, i) => str(d, `${at}.image.devices[${i}]`, CHECKPOINT_LIMITS.nameBytes * 4));
    if (devices.length !== identity.devices.length) throw bad(`${at}.image.devices`, `names ${devices.length} devices but the identity has ${identity.devices.length}`);
    rec.image = {
      name: str(im.name, `${at}.image.name`, CHECKPOINT_LIMITS.nameBytes * 4),
      devices,
      identity,
      options: {
        // The same bounds as the RPC mount call's.
        dentryCacheSize: int(opt.dentryCacheSize, `${at}.image.options.dentryCacheSize`, 0, 1_000_000),
        negativeCacheSize: int(opt.negativeCacheSize, `${at}.image.options.negativeCacheSize`, 0, 1_000_000),
        dirCacheEntries: int(opt.dirCacheEntries, `${at}.image.options.dirCacheEntries`, 0, 10_000_000),
        pageCacheBytes: int(opt.pageCacheBytes, `${at}.image.options.pageCacheBytes`, 0, 1 << 30),
        extentCacheBytes: int(opt.extentCacheBytes, `${at}.image.options.extentCacheBytes`, 0, 1 << 30),
      },
    };
  }
  return rec;
}

function parseLocation(v: unknown, at: string): LocationCheckpoint {
  const o = obj(v, at, ['mount', 'path']);
  return { mount: int(o.mount, `${at}.mount`, 1, Number.MAX_SAFE_INTEGER), path: path(o.path, `${at}.path`) };
}

/**
 * Checks an untrusted value as a checkpoint: shape, types, bounds, names, and the
 * references between its parts (mount parents, locations, descriptor indexes). Returns a
 * clean copy holding only known fields.
 */
export function parseCheckpoint(v: unknown): Checkpoint {
  const o = obj(v, 'root', ['format', 'version', 'namespace', 'synthetic', 'mounts', 'descriptions', 'tasks']);
  if (o.format !== CHECKPOINT_FORMAT) throw bad('format', `is not ${JSON.stringify(CHECKPOINT_FORMAT)}`);
  if (o.version !== CHECKPOINT_VERSION) throw bad('version', `${JSON.stringify(o.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
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
  const mounts = arr(o.mounts, 'mounts', CHECKPOINT_LIMITS.mounts).map((m, i) => parseMount(m, `mounts[${i}]`));
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
      if ((synthetic === null) !== !!m.image) throw bad(at, synthetic ? 'a synthetic root cannot have an image' : 'an image root needs its image (or give synthetic)');
    } else {
      if (!m.image) throw bad(`${at}.image`, 'only the namespace root can be synthetic');
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
  const location = (v: unknown, at: string) => {
    const l = parseLocation(v, at);
    if (!byId.has(l.mount)) throw bad(`${at}.mount`, `no mount ${l.mount} in the checkpoint`);
    return l;
  };
  const descriptions = arr(o.descriptions, 'descriptions', CHECKPOINT_LIMITS.descriptions).map((d, i): DescriptionCheckpoint => {
    const at = `descriptions[${i}]`;
    const x = obj(d, at, ['mount', 'path', 'kind', 'flags', 'offset']);
    const l = location({ mount: x.mount, path: x.path }, at);
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
}

/** The trusted host's side of a restore. */
export interface RestoreHost {
  /**
   * Opens the image a checkpoint names, or refuses (throw). The host decides: a
   * checkpoint names images, it does not grant access to them. The result is opened like
   * a mount request's image (a host path, a descriptor, bytes or a source).
   */
  openImage(request: ImageRequest): ImageRef | Promise<ImageRef>;
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

/** What restore needs from the controller: its way of opening and validating images. */
export interface RestoreDeps {
  openSources(ref: ImageRef, options: { devices?: ImageRef[] }): Promise<OpenedImage>;
  makeSpec(opened: OpenedImage, options: HostMountOptions, dev: number): MountSpec;
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
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
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
  // ---- open every image (the only waits) ----
  const opened = new Map<number, OpenedImage>();
  const closeOpened = () => {
    for (const o of opened.values()) o.close();
    opened.clear();
  };
  try {
    for (const m of cp.mounts) {
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
      const main = await ask({ ...base, name: m.image.name, role: 'image' });
      const devices: ImageRef[] = [];
      for (let i = 0; i < m.image.devices.length; i++) devices.push(await ask({ ...base, name: m.image.devices[i], role: 'device', device: i }));
      try {
        opened.set(m.id, await deps.openSources(main, { devices }));
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        throw new CheckpointError('open', e.code, `${mountLabel(m)}: cannot open ${JSON.stringify(m.image.name)}: ${e.message}`, `mounts[${m.id}]`, { cause: e });
      }
    }
  } catch (e) {
    closeOpened();
    throw e;
  }
  // ---- from here on synchronous: validate, build, adopt ----
  const specs = new Map<number, MountSpec>();
  let ns: MountNamespace | undefined;
  const mountsById = new Map<number, Mount>();
  const descs: OpenDescription[] = [];
  const tasks: Task[] = [];
  try {
    for (const m of cp.mounts) {
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
      const loc = walkIn(mountsById.get(d.mount)!, d.path, creds, at);
      let file: node.OpenFile;
      try {
        file = node.open(loc.node, d.flags, creds);
      } catch (e) {
        throw wrapState(e, `${at}: reopening ${['', ...d.path].join('/') || '/'} in mount ${d.mount}`, at);
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
      const root = walkIn(mountsById.get(t.root.mount)!, t.root.path, creds, `${at}.root`);
      let cwd: Location;
      try {
        if (!node.isDir(root.node)) throw new CheckpointError('state', 'ENOTDIR', `${at}.root: not a directory`, `${at}.root`);
        cwd = walkIn(mountsById.get(t.cwd.mount)!, t.cwd.path, creds, `${at}.cwd`);
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
    if (ns) {
      ns.shutdown();
      for (const m of ns.detached()) ns.maybeRelease(m);
    }
    for (const s of specs.values()) s.onRelease?.();
    closeOpened();
    throw e;
  }
}
