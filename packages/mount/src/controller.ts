/**
 * The host controller: the trusted side of the namespace. Only it opens image files;
 * the guest never names a host path.
 *
 * mount() is one transaction: the image is opened (asynchronously: the only wait), then,
 * in a single synchronous step that no other request can interleave with, the superblock
 * and its checksum are validated (Image), the root inode is decoded (Filesystem), the
 * target is resolved in the namespace (created first on the synthetic root when asked),
 * and the filesystem is attached. Any failure, or a cancellation (the RPC client went
 * away) before that step, closes the image and leaves the namespace as it was. After it,
 * the mount exists whole. Errors are SysErrors carrying errno names.
 */
import { Image, MemorySource, displayUrl, loadCodecs, openRangeSourceWeb, type ByteSource, type Codec } from '@erofs-js/erofs';
import { Filesystem, ROOT, SysError, allocAnonDev, toSysError, type AnyFilesystem, type DevEntry } from '@erofs-js/vfs';
import { Tmpfs, type TmpfsOptions } from '@erofs-js/tmpfs';
import { Overlay, erofsLayer, type DirInoTable } from '@erofs-js/overlay';
import { FIRST_ANON_DEV, MountNamespace, type Location, type Mount, type MountFlags, type MountPolicy, type MountRecord, type MountSpec } from './namespace.js';
import { mountinfoFor } from './mountinfo.js';
import * as node from './node.js';
import { Resolver, checkPath, crossMounts, holdLoc, pathBytes, release, resolve } from './resolve.js';
import { SynthDir } from './synthetic.js';
import { restoreNamespace, saveNamespace, type Checkpoint, type RestoreHost } from './checkpoint.js';
import { Task, type TaskOptions } from './task.js';
import { isRemoteRef, type HostMountOptions, type ImageRef, type Opened, type OpenedImage } from './image-ref.js';

export type { HostMountOptions, ImageRef, Opened, OpenedImage, RemoteImageRef } from './image-ref.js';

export interface MountRequest {
  image: ImageRef;
  /** Absolute path in the namespace. */
  target: string;
  options?: HostMountOptions;
}

/** Where and how a filesystem other than an image is attached. */
export interface AttachOptions extends MountFlags {
  /** Create the target (and missing parents) on the synthetic root when absent. */
  mkdir?: boolean;
  /** The source shown in mountinfo (default: the type, as mount(8) shows "tmpfs"). */
  source?: string;
}

/** A tmpfs: writable memory, bounded by `size` and `nr_inodes` (see @erofs-js/tmpfs). */
export interface TmpfsMountRequest {
  /**
   * 'tmpfs', or 'devtmpfs': a small tmpfs (mode 0755) holding the devices the namespace's
   * registry names (null, zero, full, random, urandom, and what the emulator registered
   * with a name) and the fd, stdin, stdout, stderr links, as a Linux /dev shows them.
   */
  type: 'tmpfs' | 'devtmpfs';
  target: string;
  options?: AttachOptions & Omit<TmpfsOptions, 'dev' | 'clock'>;
}

/**
 * A filesystem the emulator made itself (a procfs, a 9P client, a host passthrough),
 * implementing the filesystem contract of @erofs-js/vfs. Host API only: the RPC never
 * takes one.
 */
export interface FilesystemMountRequest {
  fs: AnyFilesystem;
  target: string;
  /** Super-block options shown in mountinfo (default "rw", or "ro" for a read-only filesystem). */
  superOptions?: string;
  options?: AttachOptions;
}

/** The writable upper layer of an overlay: a tmpfs of this size (default 64 MiB) and inode count. */
export interface OverlayUpper {
  type?: 'tmpfs';
  size?: number | string;
  nr_inodes?: number | string;
}

/** Image layers, lowest first (as an OCI image lists them: the base, then each layer on top), under a memory upper. */
export interface OverlayLayers {
  layers: ImageRef[];
  upper?: OverlayUpper;
}

/**
 * An overlay (see @erofs-js/overlay): the images as read-only layers, the last on top,
 * under a fresh tmpfs upper; Linux overlayfs semantics (copy-up, whiteouts, ...).
 */
export interface OverlayMountRequest extends OverlayLayers {
  type: 'overlay';
  target: string;
  options?: AttachOptions & Pick<HostMountOptions, 'dentryCacheSize' | 'negativeCacheSize' | 'dirCacheEntries' | 'extentCacheBytes' | 'pageCacheBytes' | 'codecs'>;
}

/** A tmpfs the controller creates at start (HostControllerOptions.tmpfs). */
export interface TmpfsAtStart {
  target: string;
  /** As for mount({ type: 'tmpfs' }); `mkdir` defaults to true here (the mount point is made on a synthetic root). */
  options?: TmpfsMountRequest['options'];
}

/** Makes each device node and link of a /dev listing in a fresh tmpfs's root, as root. */
function populateDev(fs: Tmpfs, entries: readonly DevEntry[]): void {
  const host = { ...ROOT, umask: 0 };
  const enc = new TextEncoder();
  for (const e of entries) {
    const name = enc.encode(e.name);
    if (e.target !== null) fs.symlink(fs.root, name, enc.encode(e.target), host);
    else fs.mknod(fs.root, name, e.mode, e.rdev, host);
    const n = fs.lookup(fs.root, name, host);
    try {
      if (e.uid !== 0 || e.gid !== 0) fs.chown(n, e.uid, e.gid, host);
    } finally {
      n.decRef();
    }
  }
}

/** The super-block options Linux shows for a tmpfs with these limits. */
function tmpfsSuperOptions(fs: Tmpfs, readOnly: boolean): string {
  const parts = [readOnly ? 'ro' : 'rw', `size=${(fs.maxPages * 4096) / 1024}k`, `nr_inodes=${fs.maxInodes}`, `mode=${(fs.root.mode & 0o7777).toString(8)}`];
  const st = fs.stat(fs.root);
  if (st.uid !== 0) parts.push(`uid=${st.uid}`);
  if (st.gid !== 0) parts.push(`gid=${st.gid}`);
  parts.push('inode64');
  return parts.join(',');
}

export interface UnmountRequest {
  target: string;
  /** Lazy unmount (MNT_DETACH): leave the namespace now, release when the last user goes. */
  detach?: boolean;
}

export interface UnmountResult {
  id: number;
  target: string;
  /** The filesystem was released already (false while a lazily detached mount is in use). */
  released: boolean;
}

export interface HostControllerOptions {
  /**
   * The root filesystem: an image, or image layers under a memory upper ({ layers:
   * [base, app], upper: { type: 'tmpfs', size } }: an overlay); without it the root is an
   * empty synthetic directory.
   */
  rootfs?: ImageRef | OverlayLayers;
  rootfsOptions?: Omit<HostMountOptions, 'mkdir' | 'devices'> & { devices?: ImageRef[] };
  /** Directories to create on a synthetic root (e.g. ["/dev", "/proc", "/tmp"]). */
  mkdirs?: string[];
  /** tmpfs mounts made at start, after `mkdirs`, in order (e.g. [{ target: '/tmp', options: { size: '64m' } }]). */
  tmpfs?: TmpfsAtStart[];
  policy?: MountPolicy;
  maxMounts?: number;
  /**
   * Opens what image references name (default: the class's own, portableOpener here and
   * nodeOpener for the HostController of @erofs-js/mount/node).
   */
  opener?: ImageOpener;
  /**
   * Test and integration hook: runs after the image was opened and before the commit
   * step; a cancellation during it aborts the mount.
   */
  beforeCommit?: (req: MountRequest) => Promise<void> | void;
}

/** What HostController.prefetch queued. */
export interface PrefetchResult {
  /** Paths whose filesystem took the request (their bytes queued, or cached already). */
  files: number;
  /** Bytes queued for fetching. */
  bytes: number;
  /** Paths not warmed, and why (ENOENT, EACCES, EOPNOTSUPP for a filesystem without readahead, ...). */
  skipped: { path: string; errno: string; message: string }[];
}

/** The error a cancelled request ends with (never sent: its client is gone). */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

/**
 * How a controller turns an ImageRef into bytes: the host's part of mounting. The portable
 * opener (portableOpener) needs no host: bytes, a ByteSource, and http(s) URLs where the
 * web platform can read them synchronously (openRangeSourceWeb: a Worker with
 * SharedArrayBuffer, or synchronous XMLHttpRequest). Host paths, descriptors and s3://
 * URLs are opened by the Node host (nodeOpener in @erofs-js/mount/node), whose
 * HostController uses it by default.
 */
export interface ImageOpener {
  /** Opens one image or device; failures are SysErrors (EINVAL for a bad reference). */
  open(ref: ImageRef): Promise<Opened>;
  /** Decompressors for every image this opener opens, under HostMountOptions.codecs. */
  codecs?: Partial<Record<number, Codec>>;
}

const SHAPES = 'a host path, { path }, { fd }, { bytes: Uint8Array }, { source: ByteSource } or { url }';

/** Opens the references that need no host; the others are EOPNOTSUPP naming where they are opened. */
export async function openPortable(ref: ImageRef): Promise<Opened> {
  if (isRemoteRef(ref)) {
    if (/^s3:\/\//i.test(ref.url)) throw new SysError('EOPNOTSUPP', `${ref.url}: s3:// URLs are presigned by the Node host (HostController from @erofs-js/mount/node)`);
    if (!/^https?:\/\/[^/]/i.test(ref.url)) throw new SysError('EINVAL', 'an image URL must be http://, https:// or s3://bucket/key');
    const name = ref.name ?? displayUrl(ref.url);
    try {
      const source = await openRangeSourceWeb(ref.url, { headers: ref.headers, name });
      return { source, name, remote: source.identity };
    } catch (e) {
      throw toSysError(e);
    }
  }
  if (typeof ref === 'object' && ref !== null && !(ref instanceof Uint8Array)) {
    if ('url' in ref) throw new SysError('EINVAL', 'an image URL must be a string');
    if ('bytes' in ref) {
      if (!(ref.bytes instanceof Uint8Array)) throw new TypeError(`{ bytes } must hold a Uint8Array (an image reference is ${SHAPES})`);
      return { source: new MemorySource(ref.bytes), name: ref.name ?? 'memory' };
    }
    if ('source' in ref) {
      if (typeof ref.source?.readInto !== 'function' || typeof ref.source.view !== 'function' || typeof ref.source.size !== 'number') throw new TypeError(`{ source } must be a ByteSource (size, readInto, view) (an image reference is ${SHAPES})`);
      return { source: ref.source, name: ref.name ?? 'source' };
    }
    if ('path' in ref || 'fd' in ref) throw new SysError('EOPNOTSUPP', 'host paths and descriptors are opened by the Node host: use HostController from @erofs-js/mount/node, or give { bytes } or { source }');
  }
  if (typeof ref === 'string') throw new SysError('EOPNOTSUPP', `${ref}: host paths are opened by the Node host: use HostController from @erofs-js/mount/node, or give { bytes } or { source }`);
  throw new TypeError(`not an image reference: ${ref instanceof Uint8Array ? 'a bare Uint8Array (wrap it: { bytes })' : typeof ref}; an image reference is ${SHAPES}`);
}

/** The opener that needs no host (see ImageOpener). */
export const portableOpener: ImageOpener = { open: openPortable };

function closeQuietly(s: ByteSource): void {
  try {
    s.close?.();
  } catch {
    /* closing is best effort on the error path */
  }
}

/** The super-block options Linux shows for an erofs mount with default options. */
export const EROFS_SUPER_OPTIONS = 'ro,user_xattr,acl,cache_strategy=readaround';

export class HostController {
  readonly ns: MountNamespace;
  /** Opens this controller's images (HostControllerOptions.opener). */
  readonly opener: ImageOpener;
  private readonly hooks: Pick<HostControllerOptions, 'beforeCommit'>;
  private closed = false;
  /** Requests between open and commit, for tests and shutdown. */
  pending = 0;

  /** The opener create() and restore() use when the options give none. */
  protected static defaultOpener: ImageOpener = portableOpener;

  protected constructor(ns: MountNamespace, hooks: Pick<HostControllerOptions, 'beforeCommit'>, opener: ImageOpener) {
    this.ns = ns;
    this.opener = opener;
    this.hooks = hooks;
  }

  /** Loads the codecs (once per process), opens the root image if any, builds the namespace. */
  static async create(options: HostControllerOptions = {}): Promise<HostController> {
    await loadCodecs();
    const opener = options.opener ?? this.defaultOpener;
    let ns: MountNamespace;
    const nsOptions = { policy: options.policy, maxMounts: options.maxMounts };
    if (isOverlayLayers(options.rootfs)) {
      const layers = await openLayers(opener, options.rootfs.layers);
      const spec = makeOverlaySpec(layers, options.rootfs.upper, options.rootfsOptions ?? {}, FIRST_ANON_DEV, opener.codecs);
      try {
        ns = new MountNamespace(spec, nsOptions);
      } catch (e) {
        spec.onRelease!();
        throw e;
      }
    } else if (options.rootfs !== undefined) {
      const opened = await openSources(opener, options.rootfs, options.rootfsOptions ?? {});
      try {
        ns = new MountNamespace(makeSpec(opened, options.rootfsOptions ?? {}, FIRST_ANON_DEV, opener.codecs), nsOptions);
      } catch (e) {
        opened.close();
        throw e;
      }
    } else {
      ns = new MountNamespace(undefined, nsOptions);
    }
    const c = new this(ns, { beforeCommit: options.beforeCommit }, opener);
    try {
      for (const d of options.mkdirs ?? []) c.mkdir(d, { parents: true });
      for (const t of options.tmpfs ?? []) c.mountFs({ type: 'tmpfs', target: t.target, options: { mkdir: true, ...t.options } });
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private live(): void {
    if (this.closed) throw new SysError('EIO', 'controller is shut down');
  }

  /**
   * Mounts an image read-only at `target`. See the module comment for the transaction.
   * `signal` cancels the request until the commit step.
   */
  async mount(req: MountRequest | TmpfsMountRequest | FilesystemMountRequest | OverlayMountRequest, signal?: AbortSignal): Promise<MountRecord> {
    this.live();
    if ('type' in req && req.type === 'overlay') return this.mountOverlay(req, signal);
    if ('type' in req || 'fs' in req) {
      if (signal?.aborted) throw new CancelledError('request cancelled before the mount was attached');
      return this.mountFs(req);
    }
    const options = req.options ?? {};
    checkTarget(req.target);
    this.pending++;
    let opened: OpenedImage | undefined;
    try {
      if (signal?.aborted) throw new CancelledError('request cancelled before the image was opened');
      opened = await openSources(this.opener, req.image, options);
      await this.hooks.beforeCommit?.(req);
      if (signal?.aborted) throw new CancelledError('request cancelled before the mount was attached');
      this.live();
      // ---- commit: synchronous from here on; on any error the image is closed ----
      const spec = makeSpec(opened, options, this.ns.allocDev(), this.opener.codecs);
      let m: Mount;
      try {
        m = this.attachAt(spec, req.target, options);
      } catch (e) {
        spec.onRelease!();
        opened = undefined;
        throw e;
      }
      opened = undefined;
      return this.record(m);
    } finally {
      this.pending--;
      opened?.close();
    }
  }

  /**
   * Mounts an overlay of image layers under a fresh tmpfs upper at `target`: the layers
   * are opened (the only wait), then validated and attached in one synchronous step, as
   * mount() does with an image; any failure closes them all.
   */
  private async mountOverlay(req: OverlayMountRequest, signal?: AbortSignal): Promise<MountRecord> {
    checkTarget(req.target);
    const options = req.options ?? {};
    this.pending++;
    let layers: OpenedImage[] | undefined;
    try {
      if (signal?.aborted) throw new CancelledError('request cancelled before the layers were opened');
      layers = await openLayers(this.opener, req.layers);
      if (signal?.aborted) throw new CancelledError('request cancelled before the mount was attached');
      this.live();
      // ---- commit: synchronous from here on ----
      const spec = makeOverlaySpec(layers, req.upper, options, this.ns.allocDev(), this.opener.codecs);
      layers = undefined;
      try {
        return this.record(this.attachAt(spec, req.target, options));
      } catch (e) {
        spec.onRelease!();
        throw e;
      }
    } finally {
      this.pending--;
      for (const l of layers ?? []) l?.close();
    }
  }

  /** Mounts a tmpfs or an emulator's filesystem at `target` (synchronous: nothing to open). */
  mountFs(req: TmpfsMountRequest | FilesystemMountRequest): MountRecord {
    this.live();
    checkTarget(req.target);
    const options: AttachOptions = req.options ?? {};
    const flags: MountFlags = { readOnly: options.readOnly, nosuid: options.nosuid, nodev: options.nodev, noexec: options.noexec };
    let spec: MountSpec;
    if ('type' in req) {
      if (req.type !== 'tmpfs' && req.type !== 'devtmpfs') throw new SysError('ENODEV', `unknown filesystem type ${String(req.type)}`);
      const { mkdir: _m, source: _s, readOnly: _r, nosuid: _a, nodev: _b, noexec: _c, ...tmpfsOptions } = req.options ?? {};
      if (req.type === 'devtmpfs') {
        const fs = new Tmpfs({ size: '1m', nr_inodes: 1024, mode: 0o755, ...tmpfsOptions, dev: this.ns.allocDev() });
        populateDev(fs, this.ns.devices.devEntries());
        spec = { ...tmpfsSpec(fs, options.source ?? 'devtmpfs', flags), fstype: 'devtmpfs' };
      } else {
        spec = tmpfsSpec(new Tmpfs({ ...tmpfsOptions, dev: this.ns.allocDev() }), options.source ?? 'tmpfs', flags);
      }
    } else {
      const fs = req.fs;
      if (typeof fs?.lookup !== 'function' || typeof fs.type !== 'string' || !fs.root) throw new SysError('EINVAL', 'fs must implement the filesystem contract (FilesystemImpl)');
      spec = fsSpec(fs, fs.type, options.source ?? fs.type, req.superOptions ?? (fs.readOnly ? 'ro' : 'rw'), flags);
    }
    return this.record(this.attachAt(spec, req.target, options));
  }

  private attachAt(spec: MountSpec, target: string, options: AttachOptions): Mount {
    if (options.mkdir) this.mkdir(target, { parents: true, existOk: true });
    const at = this.resolveHost(target, true);
    try {
      if (at.node === this.ns.root.root && at.mount === this.ns.root) throw new SysError('EBUSY', 'cannot mount over the namespace root: give the image as the rootfs instead');
      return this.ns.attach(spec, at);
    } finally {
      release(at);
    }
  }

  /** Resolves a host-side path from the namespace root, as root, following symlinks; held. */
  private resolveHost(path: string, directory: boolean): Location {
    checkTarget(path);
    return resolve(this.ns.rootLocation, path, ROOT, { directory });
  }

  /**
   * Unmounts the mount whose root `target` names (EINVAL if it is not a mount point or
   * is the namespace root). Without `detach`, EBUSY while it has users or child mounts.
   */
  unmount(req: UnmountRequest): UnmountResult {
    this.live();
    const at = this.resolveHost(req.target, false);
    let m: Mount;
    try {
      if (at.node !== at.mount.root) throw new SysError('EINVAL', `${req.target} is not a mount point`);
      m = at.mount;
    } finally {
      release(at);
    }
    const target = this.ns.pathOf({ mount: m, node: m.root }).path;
    this.ns.unmount(m, { detach: req.detach });
    return { id: m.id, target, released: m.state === 'released' };
  }

  /** The mount table. */
  list(): MountRecord[] {
    return this.ns.table();
  }

  private record(m: Mount): MountRecord {
    const r = this.ns.table().find((x) => x.id === m.id);
    if (!r) throw new Error(`mount ${m.id} is not in the table`);
    return r;
  }

  /** /proc/self/mountinfo as a task at the namespace root reads it. */
  mountinfo(): string {
    return new TextDecoder().decode(Uint8Array.from(mountinfoFor(this.ns), (c) => c.charCodeAt(0)));
  }

  /**
   * Creates a directory on the synthetic root (mount points for the host to use): EROFS
   * when the parent is on an image, EEXIST when it exists (unless `existOk`). With
   * `parents`, missing parents are created too.
   */
  mkdir(path: string, options: { parents?: boolean; existOk?: boolean; mode?: number } = {}): void {
    this.live();
    checkTarget(path);
    const parts = path.split('/').filter((p) => p.length > 0);
    if (parts.length === 0) {
      if (options.existOk || options.parents) return;
      throw new SysError('EEXIST', 'file exists');
    }
    const r = new Resolver(ROOT, this.ns.rootLocation);
    let cur = holdLoc({ ...this.ns.rootLocation });
    try {
      for (let i = 0; i < parts.length; i++) {
        const last = i === parts.length - 1;
        const name = pathBytes(parts[i]);
        let next: Location | undefined;
        try {
          next = r.walk(holdLoc({ ...cur }), name, true, false);
        } catch (e) {
          if (!(e instanceof SysError && e.code === 'ENOENT') || !(last || options.parents)) throw e;
        }
        if (next) {
          if (!node.isDir(next.node)) {
            release(next);
            throw new SysError(last ? 'EEXIST' : 'ENOTDIR', `${parts.slice(0, i + 1).join('/')} exists and is not a directory`);
          }
          if (last && !(options.existOk || options.parents)) {
            release(next);
            throw new SysError('EEXIST', 'file exists');
          }
          release(cur);
          cur = next;
          continue;
        }
        let made: node.Node;
        if (cur.node.fs === this.ns.synthetic) {
          made = node.hold(this.ns.synthetic.addDir(cur.node as SynthDir, String.fromCharCode(...name), options.mode ?? 0o755));
        } else {
          // Any other filesystem makes it as it would for a root guest (an image: EROFS).
          cur.node.fs.mkdir(cur.node, name, options.mode ?? 0o755, { ...ROOT, umask: 0 });
          made = cur.node.fs.lookup(cur.node, name, ROOT);
        }
        const loc = crossMounts({ mount: cur.mount, node: made });
        release(cur);
        cur = loc;
      }
    } finally {
      release(cur);
    }
  }

  /**
   * Warms `paths` (a container's start-up files, named inside the mount at `target`) in the
   * caches of the sources behind them: each path is resolved as root (symlinks followed),
   * and its filesystem asked to prefetch the file's stored bytes (readahead in the
   * filesystem contract: an image over a RangeSource queues its data, pclusters and
   * fragments, fetched by the source's worker in the background). Resolving a path reads
   * its directories and inode as any lookup does; the data is not waited for, and the
   * controller yields to other work every 16 paths, so guests keep running. Resolves with
   * what was queued once it is fetched (or at once after queueing, with `wait: false`).
   * A path that cannot be warmed (missing, or on a filesystem without readahead:
   * EOPNOTSUPP) is listed in `skipped`, not thrown; a reference to a missing `target` is.
   */
  async prefetch(target: string, paths: readonly string[], options: { wait?: boolean } = {}): Promise<PrefetchResult> {
    this.live();
    checkTarget(target);
    if (!Array.isArray(paths)) throw new SysError('EINVAL', 'paths must be an array of strings');
    const top = this.resolveHost(target, true);
    release(top);
    const base = target.replace(/\/+$/, '');
    const result: PrefetchResult = { files: 0, bytes: 0, skipped: [] };
    const done: Promise<void>[] = [];
    for (let i = 0; i < paths.length; i++) {
      if (i > 0 && i % 16 === 0) {
        await new Promise((r) => setTimeout(r, 0));
        this.live();
      }
      const path = paths[i];
      const skip = (e: unknown) => {
        if (!(e instanceof SysError)) throw e;
        const message = e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message;
        result.skipped.push({ path: String(path), errno: e.code, message });
      };
      let at: Location;
      try {
        if (typeof path !== 'string') throw new SysError('EINVAL', 'a path must be a string');
        at = this.resolveHost(`${base}/${path.replace(/^\/+/, '')}`, false);
      } catch (e) {
        skip(e);
        continue;
      }
      try {
        const fs = at.node.fs;
        if (typeof fs.readahead !== 'function') throw new SysError('EOPNOTSUPP', `a ${fs.type} filesystem cannot prefetch`);
        const r = fs.readahead(at.node, 0, fs.stat(at.node).size);
        result.files++;
        result.bytes += r.bytes;
        done.push(r.done);
      } catch (e) {
        skip(e);
      } finally {
        release(at);
      }
    }
    if (options.wait !== false) await Promise.all(done);
    return result;
  }

  /**
   * A checkpoint of the whole namespace (mounts, image identities, tmpfs contents, tasks,
   * open descriptions): plain data for JSON.stringify, never image bytes. See checkpoint.ts.
   */
  save(): Checkpoint {
    this.live();
    return saveNamespace(this.ns);
  }

  /**
   * Rebuilds a controller from a checkpoint (parsed JSON; it is validated). `host`
   * decides what each recorded image name opens (see allowImages); each opened image must
   * be the recorded one (superblock identity) or the restore fails with a CheckpointError
   * naming the mount and what differs. tmpfs mounts come back from their saved content;
   * a filesystem the emulator mounted (mount({ fs })) only if `host.provideFs` gives it
   * again. Returns the controller and the saved tasks in
   * their saved order, every descriptor at its saved offset or directory position.
   */
  static async restore(checkpoint: unknown, host: RestoreHost, options: Pick<HostControllerOptions, 'beforeCommit' | 'opener'> = {}): Promise<{ controller: HostController; tasks: Task[] }> {
    await loadCodecs();
    const opener = options.opener ?? this.defaultOpener;
    const { ns, tasks } = await restoreNamespace(checkpoint, host, {
      openSources: (ref, o) => openSources(opener, ref, o),
      makeSpec: (opened, o, dev) => makeSpec(opened, o, dev, opener.codecs),
      tmpfsSpec,
      fsSpec,
      overlaySpec: (layers, upper, o, dev, restored) => makeOverlaySpec(layers, upper, o, dev, opener.codecs, restored),
    });
    return { controller: new this(ns, { beforeCommit: options.beforeCommit }, opener), tasks };
  }

  /** A guest task in this namespace. */
  task(options?: TaskOptions): Task {
    this.live();
    return new Task(this.ns, options);
  }

  /** Stops accepting requests and lazily detaches every mount; each is released when its last user goes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ns.shutdown();
  }
}

function checkTarget(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new SysError('EINVAL', 'target must be a string');
  const bytes = pathBytes(path);
  checkPath(bytes);
  if (bytes[0] !== 0x2f) throw new SysError('EINVAL', `target ${JSON.stringify(path)} must be an absolute path`);
  if (bytes.includes(0)) throw new SysError('EINVAL', 'target holds a NUL byte');
}

/**
 * @internal The spec of a mount of an emulator's filesystem. It is released once with the
 * mount (the namespace releases an EROFS Filesystem itself before onRelease runs).
 */
export function fsSpec(fs: AnyFilesystem, fstype: string, source: string, superOptions: string, flags: MountFlags): MountSpec {
  let released = false;
  const onRelease = () => {
    if (released || (fs as { isReleased?: boolean }).isReleased === true) return;
    released = true;
    fs.release();
  };
  return { fs, fstype, source, superOptions, flags, onRelease };
}

/** @internal The spec of a tmpfs mount: mountinfo's tmpfs super options, released with the mount. */
export function tmpfsSpec(fs: Tmpfs, source: string, flags: MountFlags): MountSpec {
  return { fs, fstype: 'tmpfs', source, superOptions: tmpfsSuperOptions(fs, flags.readOnly === true), flags, onRelease: () => fs.release() };
}


function isOverlayLayers(r: ImageRef | OverlayLayers | undefined): r is OverlayLayers {
  return typeof r === 'object' && r !== null && !(r instanceof Uint8Array) && 'layers' in r;
}

/** Opens each layer image (at most 128, as Linux's overlayfs takes at most 500 lower layers); on failure those opened are closed. */
async function openLayers(opener: ImageOpener, refs: unknown): Promise<OpenedImage[]> {
  if (!Array.isArray(refs) || refs.length === 0) throw new SysError('EINVAL', 'an overlay needs at least one layer');
  if (refs.length > 128) throw new SysError('EINVAL', `an overlay of ${refs.length} layers: at most 128`);
  const out: OpenedImage[] = [];
  try {
    for (const r of refs) out.push(await openSources(opener, r as ImageRef, {}));
    return out;
  } catch (e) {
    for (const o of out) o.close();
    throw e;
  }
}

/**
 * @internal Validates each layer (as makeSpec) and builds the overlay over them, the last
 * layer on top, with a fresh tmpfs upper. Synchronous; on failure every layer is closed.
 * mountinfo: `overlay overlay rw,lowerdir=TOP:...:BASE,upperdir=tmpfs/upper,workdir=tmpfs/work,uuid=on`,
 * the layers named by their image names.
 */
export function makeOverlaySpec(
  layers: OpenedImage[],
  upper: OverlayUpper | Tmpfs | undefined,
  options: OverlayMountRequest['options'] & {},
  dev: number,
  codecs?: Partial<Record<number, Codec>>,
  /** What a restore gives back: the pseudo devices and directory inode numbers the checkpoint recorded. */
  restored?: { devs: readonly number[]; dirInos: DirInoTable },
): MountSpec {
  const specs: MountSpec[] = [];
  const devs: number[] = [];
  let ov: Overlay;
  try {
    if (!(upper instanceof Tmpfs) && upper?.type !== undefined && upper.type !== 'tmpfs') throw new SysError('EINVAL', `an overlay's upper is a tmpfs, not ${String(upper.type)}`);
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      layers[i] = undefined as never;
      specs.push(makeSpec(l, { ...options, source: undefined, mkdir: undefined }, allocAnonDev(), codecs));
    }
    const lowers = specs.map((s, i) => erofsLayer(s.fs as Filesystem, specs[i].origin?.name ?? `layer${i}`)).reverse();
    const upperFs = upper instanceof Tmpfs ? upper : new Tmpfs({ size: upper?.size, nr_inodes: upper?.nr_inodes });
    const allocDev = () => {
      const d = restored?.devs[devs.length] ?? allocAnonDev();
      devs.push(d);
      return d;
    };
    ov = new Overlay({ lowers, upper: upperFs, dev, cacheSize: options.dentryCacheSize, allocDev, dirInos: restored?.dirInos });
  } catch (e) {
    for (const s of specs) s.onRelease!();
    for (const l of layers) l?.close();
    throw e instanceof RangeError ? new SysError('EINVAL', e.message) : e;
  }
  let released = false;
  return {
    fs: ov,
    fstype: 'overlay',
    source: options.source ?? 'overlay',
    superOptions: ov.superOptions(),
    flags: { readOnly: options.readOnly, nosuid: options.nosuid, nodev: options.nodev, noexec: options.noexec },
    overlay: { layers: specs.map((s) => ({ origin: s.origin!, fs: s.fs as Filesystem })), upper: ov.upper, devs },
    onRelease: () => {
      if (released) return;
      released = true;
      if (!ov.isReleased) {
        try {
          ov.release();
        } catch {
          /* the namespace releases a mount only when nothing holds it */
        }
      }
      for (const s of specs) s.onRelease!();
    },
  };
}

/** @internal */
export async function openSources(opener: ImageOpener, ref: ImageRef, options: { devices?: ImageRef[] }): Promise<OpenedImage> {
  const all: Opened[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const o of all) closeQuietly(o.source);
  };
  try {
    const main = await opener.open(ref);
    all.push(main);
    const devices: Opened[] = [];
    for (const d of options.devices ?? []) {
      const o = await opener.open(d);
      all.push(o);
      devices.push(o);
    }
    return { main, devices, close };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Validates the image (superblock, checksum, root inode) and builds its Filesystem.
 * Synchronous. On failure the sources are closed.
 */
export function makeSpec(opened: OpenedImage, options: HostMountOptions, dev: number, codecs?: Partial<Record<number, Codec>>): MountSpec {
  let fs: Filesystem;
  try {
    const image = new Image(opened.main.source, {
      devices: opened.devices.map((d) => d.source),
      cacheBytes: options.extentCacheBytes,
      codecs: { ...codecs, ...options.codecs },
    });
    fs = new Filesystem(image, {
      dentryCacheSize: options.dentryCacheSize,
      negativeCacheSize: options.negativeCacheSize,
      dirCacheEntries: options.dirCacheEntries,
      pageCacheBytes: options.pageCacheBytes,
      dev,
    });
  } catch (e) {
    opened.close();
    if (e instanceof RangeError) throw new SysError('EINVAL', e.message);
    throw toSysError(e);
  }
  let released = false;
  return {
    fs,
    fstype: 'erofs',
    source: options.source ?? opened.main.name,
    superOptions: EROFS_SUPER_OPTIONS,
    flags: { readOnly: true, nosuid: options.nosuid, nodev: options.nodev, noexec: options.noexec },
    origin: {
      name: opened.main.name,
      devices: opened.devices.map((d) => ({ name: d.name, bytes: d.source.size, ...(d.remote && { remote: d.remote }) })),
      extentCacheBytes: fs.image.extentCache.maxBytes,
      ...(opened.main.remote && { remote: opened.main.remote }),
    },
    onRelease: () => {
      if (released) return;
      released = true;
      if (!fs.isReleased) {
        try {
          fs.release();
        } catch {
          /* never attached: only the root is held, release cannot be busy */
        }
      }
      opened.close();
    },
  };
}
