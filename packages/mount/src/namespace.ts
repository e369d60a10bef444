/**
 * The mount namespace: a tree of mounts, each one filesystem (an image's vfs Filesystem
 * or the synthetic root) attached at a directory of its parent.
 *
 * Shape (as in Linux and gVisor): a mount's mount point is a (parent mount, directory)
 * pair; at most one mount sits on a given pair. Mounting "on top" of a path that is
 * already a mount point resolves the path first, which lands on the root of the newest
 * mount there, so the new mount becomes that mount's child: the stack is a chain, the
 * newest hides the older ones, and unmounting the top reveals the one below.
 *
 * Life of a mount: attached -> (unmount) released, or attached -> (lazy unmount)
 * detached -> released. A plain unmount is EBUSY while the mount has users (open
 * descriptions, task cwds and roots) or child mounts. A lazy unmount disconnects the
 * mount from its parent at once; mounts below it stay connected to it (they remain
 * reachable from a cwd inside it) and leave the namespace with it. A detached mount is
 * released when its last user goes; its own children are then disconnected and follow
 * the same rule. Releasing frees the vfs Filesystem and calls the mount's onRelease
 * (the controller closes the image file there).
 *
 * Everything a checkpoint needs is plain data: see table().
 */
import { makedev, splitDev, type RemoteIdentity } from '@erofs-js/erofs';
import { DeviceRegistry, Filesystem, PipeTable, SysError } from '@erofs-js/vfs';
import type { Tmpfs } from '@erofs-js/tmpfs';
import { drop, hold, isDir, nodeKey, parentNode, type MountedFs, type Node } from './node.js';
import { SyntheticFs } from './synthetic.js';

/** A place in the namespace: a node of a mount's filesystem. */
export interface Location {
  readonly mount: Mount;
  readonly node: Node;
}

/**
 * A task as the namespace keeps it: only Task (task.ts) registers itself, at creation, and
 * leaves at exit(). The namespace never calls into a task, so it does not import task.ts
 * (which imports the namespace): checkpoint.ts, which saves tasks, reads them as Tasks.
 */
export interface NamespaceTask {
  readonly ns: MountNamespace;
}

/** Per-mount flags shown in mountinfo (every mount is relatime). */
export interface MountFlags {
  /**
   * MS_RDONLY: every write through this mount is EROFS (after the checks Linux makes
   * first). A filesystem that cannot be written (an image, the synthetic root) is
   * read-only whatever this says.
   */
  readOnly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
}

export interface MountSpec {
  fs: MountedFs;
  /** Filesystem type for mountinfo ("erofs"). */
  fstype: string;
  /** Mount source for mountinfo: the image path, or a name the host chose. */
  source: string;
  /** Super-block options for mountinfo (default "ro"). */
  superOptions?: string;
  flags?: MountFlags;
  /** Called once the mount is released (close the image here). */
  onRelease?: () => void;
  /** Where the image came from, as the host controller opened it (kept for checkpoints). */
  origin?: ImageOrigin;
  /** An overlay the host controller built of images (kept for checkpoints). */
  overlay?: OverlayOrigin;
}

/** What a checkpoint records of an overlay of images: its layers and its upper tmpfs. */
export interface OverlayOrigin {
  /** The layers, lowest first: where each image came from and its filesystem. */
  layers: { origin: ImageOrigin; fs: Filesystem }[];
  upper: Tmpfs;
  /** The pseudo devices the overlay gave its upper layer and its layers (upper first, then top to base). */
  devs: number[];
}

/**
 * What a checkpoint records of a mounted image besides its superblock identity: the
 * names the host opened it (and its extra devices) under, and the cache options its
 * filesystem was built with. Never bytes.
 */
export interface ImageOrigin {
  /** The image as the controller knows it (a host path, or the name given with bytes / a source). */
  name: string;
  /** The extra devices, in device-table order: names and sizes in bytes (and pinned identities of those behind a URL). */
  devices: { name: string; bytes: number; remote?: RemoteIdentity }[];
  /** An image behind a URL: the identity pinned at open (see Opened.remote). */
  remote?: RemoteIdentity;
  /** Byte budget of the decoded-extent cache (Image cacheBytes). */
  extentCacheBytes: number;
}

/** What the namespace lets a guest do to its mounts. */
export interface MountPolicy {
  /** Guest umount2(2) is allowed (still needing CAP_SYS_ADMIN). Default false: EPERM. */
  guestUnmount?: boolean;
  /** Filesystem types a guest mount(2) must never mount (default ["erofs"]): EPERM. */
  imageTypes?: readonly string[];
}

export type MountState = 'attached' | 'detached' | 'released';

export class Mount {
  /** Parent mount while connected; null for the namespace root and disconnected mounts. */
  parent: Mount | null = null;
  /** The directory of the parent this mount covers (held while connected). */
  mountpoint: Node | null = null;
  /** Child mounts by the directory they cover. */
  readonly children = new Map<Node, Mount>();
  /** Open descriptions, cwds and roots inside this mount. */
  users = 0;
  /** Of the users: open descriptions. The rest are task cwds and roots. */
  openFiles = 0;
  state: MountState = 'attached';
  readonly root: Node;

  constructor(
    readonly ns: MountNamespace,
    readonly id: number,
    readonly spec: Readonly<MountSpec>,
  ) {
    this.root = spec.fs.root;
  }

  get fs(): MountedFs {
    return this.spec.fs;
  }

  get dev(): number {
    return this.spec.fs.dev;
  }

  get fstype(): string {
    return this.spec.fstype;
  }

  get source(): string {
    return this.spec.source;
  }

  /** Writes through this mount are refused: MS_RDONLY, or a filesystem that cannot be written. */
  get readOnly(): boolean {
    return this.spec.flags?.readOnly === true || this.spec.fs.readOnly === true;
  }

  /** "ro" or "rw", nosuid / nodev / noexec, "relatime". */
  get options(): string {
    const f = this.spec.flags ?? {};
    return [this.readOnly ? 'ro' : 'rw', f.nosuid && 'nosuid', f.nodev && 'nodev', f.noexec && 'noexec', 'relatime'].filter(Boolean).join(',');
  }

  /** A mount with users or children cannot be unmounted without MNT_DETACH. */
  get busy(): boolean {
    return this.users > 0 || this.children.size > 0;
  }

  /** A new user: an open description ('file'), or a task's cwd or root ('dir'). */
  get(kind: 'file' | 'dir' = 'dir'): void {
    if (this.state === 'released') throw new Error(`mount ${this.id} used after release`);
    this.users++;
    if (kind === 'file') this.openFiles++;
  }

  /** A user went away; a detached mount may now be released. */
  put(kind: 'file' | 'dir' = 'dir'): void {
    if (this.users <= 0 || (kind === 'file' && this.openFiles <= 0)) throw new Error(`mount ${this.id} released more times than used`);
    this.users--;
    if (kind === 'file') this.openFiles--;
    if (this.state === 'detached') this.ns.maybeRelease(this);
  }
}

/** One row of the mount table: plain data. */
export interface MountRecord {
  id: number;
  parentId: number;
  /** "major:minor" of st_dev. */
  dev: string;
  /** Mount point path from the namespace root. */
  target: string;
  fstype: string;
  source: string;
  options: string;
  superOptions: string;
  users: number;
}

export interface NamespaceOptions {
  policy?: MountPolicy;
  /**
   * The drivers device nodes open (in any filesystem of the namespace). Default: a
   * registry with Linux's memory devices (null, zero, full, random, urandom).
   */
  devices?: DeviceRegistry;
  /** The pipes fifos open (shared by every task of the namespace). Default: a new table. */
  pipes?: PipeTable;
  /** Most mounts attached at once, the root included (default 1000): ENOSPC beyond. */
  maxMounts?: number;
}

/** First anonymous minor the namespace hands out (Linux's anon devices start low too). */
const FIRST_ANON_MINOR = 32;
/** The device number of the first mount (the root) of a namespace. */
export const FIRST_ANON_DEV = makedev(0, FIRST_ANON_MINOR);

export class MountNamespace {
  readonly root: Mount;
  readonly policy: Readonly<Required<MountPolicy>>;
  readonly maxMounts: number;
  private nextId = 1;
  /** Attached mounts by id (insertion order is mount order). */
  private readonly attached = new Map<number, Mount>();
  /** Detached mounts not yet released. */
  private readonly lingering = new Set<Mount>();
  /** Live tasks in this namespace, in creation order (a checkpoint saves them). */
  private readonly taskSet = new Set<NamespaceTask>();
  /** Device drivers: a device node anywhere in the namespace opens the one registered for its number. */
  readonly devices: DeviceRegistry;
  /** Fifos' pipes and anonymous pipes. */
  readonly pipes: PipeTable;
  private pipefsMount: Mount | null = null;

  /**
   * A namespace whose root is `root` (a spec for an image filesystem), or a fresh
   * synthetic root when none is given.
   */
  constructor(root?: MountSpec, options: NamespaceOptions = {}) {
    this.policy = {
      guestUnmount: options.policy?.guestUnmount ?? false,
      imageTypes: [...(options.policy?.imageTypes ?? ['erofs'])],
    };
    this.maxMounts = options.maxMounts ?? 1000;
    this.devices = options.devices ?? new DeviceRegistry();
    // A fifo's reads and writes change its inode's times, as the filesystem keeps them.
    this.pipes = options.pipes ?? new PipeTable({ touch: (node, what) => node.fs.touch?.(node, what) });
    const spec = root ?? { fs: new SyntheticFs({ dev: this.allocDev() }), fstype: 'rootfs', source: 'rootfs', superOptions: 'ro' };
    this.root = new Mount(this, this.nextId++, spec);
    this.attached.set(this.root.id, this.root);
  }

  /**
   * The mount anonymous pipes' descriptions count against: pipefs, which Linux mounts
   * internally and never in a namespace (it appears in no table and no path reaches it).
   */
  pipeMount(fs: MountedFs): Mount {
    this.pipefsMount ??= new Mount(this, 0, { fs, fstype: 'pipefs', source: 'pipefs', superOptions: 'rw' });
    return this.pipefsMount;
  }

  /** The root location (not held). */
  get rootLocation(): Location {
    return { mount: this.root, node: this.root.root };
  }

  /** Attached mounts in mount order. */
  /**
   * The synthetic root filesystem when the namespace's root mount is one: only the host
   * adds directories to it (SyntheticFs.addDir), so the host's mkdir must know it.
   */
  get synthetic(): SyntheticFs | null {
    const fs = this.root.fs;
    return fs instanceof SyntheticFs ? fs : null;
  }

  mounts(): Mount[] {
    return [...this.attached.values()];
  }

  /** Detached mounts still in use. */
  detached(): Mount[] {
    return [...this.lingering];
  }

  mountById(id: number): Mount | undefined {
    return this.attached.get(id);
  }

  /** The id the next mount will get. */
  get nextMountId(): number {
    return this.nextId;
  }

  /** Live tasks of this namespace (not exited), in creation order. */
  tasks(): NamespaceTask[] {
    return [...this.taskSet];
  }

  /** @internal Task bookkeeping: a task joins at creation and leaves at exit(). */
  addTask(t: NamespaceTask): void {
    this.taskSet.add(t);
  }

  /** @internal */
  removeTask(t: NamespaceTask): void {
    this.taskSet.delete(t);
  }

  /**
   * @internal Checkpoint restore: recreates a mount with its recorded id, under `parent`
   * (a held location: the mount point in its parent mount, whose hold the mount takes
   * over) or with no parent (a detached mount's top), attached or detached. Ids must come
   * in increasing order, as they were handed out.
   */
  adopt(spec: MountSpec, id: number, parent: Location | null, state: 'attached' | 'detached'): Mount {
    if (!(Number.isSafeInteger(id) && id >= this.nextId)) throw new SysError('EINVAL', `mount id ${id} is not above the ids in use`);
    if (state === 'attached' && !parent) throw new SysError('EINVAL', `attached mount ${id} has no parent`);
    if (parent) {
      const want = state === 'attached' ? 'attached' : 'detached';
      if (parent.mount.state !== want) throw new SysError('EINVAL', `mount ${id} is ${state} but its parent mount ${parent.mount.id} is ${parent.mount.state}`);
      if (!isDir(parent.node)) throw new SysError('ENOTDIR', `mount point of mount ${id} is not a directory`);
      if (parent.mount.children.has(parent.node)) throw new SysError('EBUSY', `mount point of mount ${id} is taken`);
    }
    if (state === 'attached' && this.attached.size >= this.maxMounts) throw new SysError('ENOSPC', `mount limit of ${this.maxMounts} reached`);
    for (const m of [...this.attached.values(), ...this.lingering]) {
      if (m.fs === spec.fs) throw new SysError('EBUSY', 'this filesystem is mounted already');
      if (m.dev === spec.fs.dev) throw new SysError('EBUSY', `device ${m.dev} is used by mount ${m.id}`);
    }
    const m = new Mount(this, id, spec);
    this.nextId = id + 1;
    if (parent) {
      m.parent = parent.mount;
      m.mountpoint = parent.node;
      parent.mount.children.set(parent.node, m);
    }
    if (state === 'attached') this.attached.set(id, m);
    else {
      m.state = 'detached';
      this.lingering.add(m);
    }
    return m;
  }

  /** @internal Checkpoint restore: the id counter as it was saved (never lowered). */
  setNextMountId(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= this.nextId)) throw new SysError('EINVAL', `next mount id ${n} is below the ids in use`);
    this.nextId = n;
  }

  /**
   * An anonymous device number (0:N) that no unreleased mount of this namespace uses,
   * the smallest such, as Linux reuses freed anonymous devices.
   */
  allocDev(): number {
    const used = new Set<number>();
    for (const m of this.attached.values()) used.add(m.dev);
    for (const m of this.lingering) used.add(m.dev);
    for (let minor = FIRST_ANON_MINOR; ; minor++) {
      const dev = makedev(0, minor);
      if (!used.has(dev)) return dev;
    }
  }

  /** The mount covering `loc`, if any. */
  mountedAt(loc: Location): Mount | undefined {
    return loc.mount.children.get(loc.node);
  }

  /**
   * Attaches a filesystem at a directory. `at` should be what a resolution returned (mounts
   * already crossed): mounting on a covered directory is refused (EBUSY), since the new
   * mount would hide under the one already there.
   */
  attach(spec: MountSpec, at: Location): Mount {
    if (at.mount.state !== 'attached') throw new SysError('EINVAL', 'mount point is not in the namespace');
    if (!isDir(at.node)) throw new SysError('ENOTDIR', 'mount point is not a directory');
    if (at.mount.children.has(at.node)) throw new SysError('EBUSY', 'something is already mounted there');
    if (this.attached.size >= this.maxMounts) throw new SysError('ENOSPC', `mount limit of ${this.maxMounts} reached`);
    for (const m of [...this.attached.values(), ...this.lingering]) {
      if (m.fs === spec.fs) throw new SysError('EBUSY', 'this filesystem is mounted already');
    }
    const m = new Mount(this, this.nextId++, spec);
    m.parent = at.mount;
    m.mountpoint = hold(at.node);
    at.mount.children.set(at.node, m);
    this.attached.set(m.id, m);
    return m;
  }

  /**
   * umount: EINVAL for the namespace root or a mount not in the namespace; without
   * `detach`, EBUSY while the mount has users or children. With `detach`, the mount and
   * every mount below it leave the namespace now and are released as their users go.
   */
  unmount(m: Mount, options: { detach?: boolean } = {}): void {
    if (m.ns !== this || m.state !== 'attached') throw new SysError('EINVAL', 'not a mount of this namespace');
    if (m === this.root) throw new SysError('EINVAL', 'the namespace root cannot be unmounted');
    if (!options.detach) {
      if (m.busy) throw new SysError('EBUSY', `mount ${m.id} is busy: ${describeBusy(m)}`);
      this.disconnect(m);
      this.attached.delete(m.id);
      this.release(m, []);
      return;
    }
    this.disconnect(m);
    const stack = [m];
    while (stack.length) {
      const x = stack.pop()!;
      this.attached.delete(x.id);
      x.state = 'detached';
      this.lingering.add(x);
      stack.push(...x.children.values());
    }
    this.maybeRelease(m);
  }

  /** Lazily detaches every mount, the root included (the host shuts down). */
  shutdown(): void {
    for (const m of [...this.root.children.values()]) this.unmount(m, { detach: true });
    if (this.root.state === 'attached') {
      this.attached.delete(this.root.id);
      this.root.state = 'detached';
      this.lingering.add(this.root);
      this.maybeRelease(this.root);
    }
  }

  /** @internal Releases a detached mount that has no users and no parent. */
  maybeRelease(m: Mount): void {
    if (m.state !== 'detached' || m.users > 0 || m.parent) return;
    const kids = [...m.children.values()];
    for (const k of kids) this.disconnect(k);
    this.lingering.delete(m);
    this.release(m, kids);
  }

  private release(m: Mount, kids: Mount[]): void {
    m.state = 'released';
    try {
      if (m.fs instanceof Filesystem) m.fs.release();
    } finally {
      m.spec.onRelease?.();
      for (const k of kids) this.maybeRelease(k);
    }
  }

  private disconnect(m: Mount): void {
    if (!m.parent) return;
    m.parent.children.delete(m.mountpoint!);
    drop(m.mountpoint!);
    m.parent = null;
    m.mountpoint = null;
  }

  /**
   * The path of `loc` as seen from `root` (default: the namespace root), as latin1 bytes
   * of a string. When `loc` is not below `root` (a lazily detached mount, or outside a
   * chroot) the path is computed up to the top of what is reachable and `reachable` is
   * false: getcwd prefixes it with "(unreachable)", mountinfo leaves the mount out.
   */
  pathOf(loc: Location, root: Location = this.rootLocation): { path: string; reachable: boolean } {
    const parts: string[] = [];
    let m = loc.mount;
    let n = loc.node;
    let reachable = true;
    for (let guard = 0; ; guard++) {
      if (guard > 1 << 20) throw new Error('mount tree walk did not terminate');
      if (m === root.mount && n === root.node) break;
      if (n === m.root) {
        if (!m.parent) {
          reachable = false;
          break;
        }
        n = m.mountpoint!;
        m = m.parent;
        continue;
      }
      parts.push(nodeKey(n));
      n = parentNode(n);
    }
    return { path: '/' + parts.reverse().join('/'), reachable };
  }

  /** The mount table as data, in mount order. */
  table(): MountRecord[] {
    return this.mounts().map((m) => {
      const { major, minor } = splitDev(m.dev);
      return {
        id: m.id,
        parentId: m.parent ? m.parent.id : m.id,
        dev: `${major}:${minor}`,
        target: latin1ToUtf8(this.pathOf({ mount: m, node: m.root }).path),
        fstype: m.fstype,
        source: m.source,
        options: m.options,
        superOptions: m.spec.superOptions ?? 'ro',
        users: m.users,
      };
    });
  }
}

function describeBusy(m: Mount): string {
  const why: string[] = [];
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  if (m.openFiles) why.push(n(m.openFiles, 'open file', 'open files'));
  if (m.users - m.openFiles) why.push(n(m.users - m.openFiles, 'working or root directory', 'working or root directories'));
  if (m.children.size) why.push(n(m.children.size, 'mount below it', 'mounts below it'));
  return why.join(', ');
}

/** Decodes a latin1 byte string as UTF-8 (invalid sequences become U+FFFD). */
export function latin1ToUtf8(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) ascii = false;
  if (ascii) return s;
  return new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

/** Encodes a JS string as the latin1 key of its UTF-8 bytes. */
export function utf8ToLatin1(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) ascii = false;
  if (ascii) return s;
  return String.fromCharCode(...new TextEncoder().encode(s));
}
