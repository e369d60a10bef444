/**
 * ErofsFS: one EROFS image as a ZenFS FileSystem. ZenFS's VFS does the Node-shaped work
 * (descriptors, symlink following at the last component, permission checks with its own
 * credentials, streams, caching of file data) and calls a backend with absolute paths
 * inside the mount. Each call here is one resolution through our VFS Filesystem (whose
 * dentry cache makes repeated paths cheap) and one answer from the image.
 *
 * Symlinks: ZenFS's `statSync` is lstat (the VFS follows the last component itself, by
 * reading the link's "content"), so `readSync` on a symlink returns its target bytes.
 * Symlinks in the middle of a path are followed here, with the image root as "/", because
 * ZenFS's lstat and readlink hand the whole path to the backend in one call.
 *
 * Writes: every write-type call makes the checks Linux makes on a read-only mount (ENOENT,
 * ENOTDIR, EEXIST first) and then fails with EROFS.
 */
import { FileSystem, Sync, type CreationOptions, type InodeLike, type UsageInfo } from '@zenfs/core';
import { splitPath, type Image, S_IFMT, S_IFREG, S_IFDIR, S_IFLNK } from '@erofs-js/erofs';
import { cacheOf } from '@zenfs/core/vfs/vcache.js';
import {
  Filesystem,
  ROOT,
  SysError,
  Walker,
  decoding,
  soleMount,
  type WalkPolicy,
  type Credentials,
  type Dentry,
  type FilesystemOptions,
} from '@erofs-js/vfs';
import { zen } from './errors.js';
import { ErofsInode, readXattrs } from './inode.js';
import { nameToString, stringToBytes } from './names.js';

/** The `type` ZenFS reports in statfs: the kernel's EROFS superblock magic. */
export const EROFS_SUPER_MAGIC = 0xe0f5e1e2;

export interface ErofsFSOptions extends FilesystemOptions {
  /**
   * Whose permissions our VFS checks during path walks and xattr reads (default root,
   * leaving access control to ZenFS's own credentials and checks).
   */
  credentials?: Credentials;
  /** Called by close(), e.g. to close a file source. */
  onClose?: () => void;
}

const SLASH = 0x2f;

/** "/" followed by the components joined with "/". */
function joinComponents(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0) || 1);
  out[0] = 0x2f;
  let o = 0;
  for (const p of parts) {
    out[o++] = 0x2f;
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * An absolute link target's components inside the image mounted at `mountPoint`, or EXDEV
 * when it names a place outside it. ZenFS has already made the mount point canonical.
 */
function insideMount(target: Uint8Array, mountPoint: string): Uint8Array[] {
  const parts = splitPath(target);
  const mp = splitPath(stringToBytes(mountPoint));
  const under = mp.length <= parts.length && mp.every((c, i) => c.length === parts[i].length && c.every((b, j) => b === parts[i][j]));
  if (!under) throw new SysError('EXDEV', `symlink target leaves the image mounted at ${mountPoint}`);
  return parts.slice(mp.length);
}

export class ErofsFS extends Sync(FileSystem) {
  /** Our VFS over the image: dentries, inodes, Linux's errors. */
  readonly vfs: Filesystem;
  readonly creds: Credentials;
  private readonly onClose?: () => void;

  constructor(
    readonly image: Image,
    options: ErofsFSOptions = {},
  ) {
    super(EROFS_SUPER_MAGIC, 'erofs');
    const { credentials, onClose, ...vfsOptions } = options;
    this.vfs = zen(() => new Filesystem(image, vfsOptions));
    this.creds = credentials ?? ROOT;
    this.onClose = onClose;
    const label = image.sb.volumeName;
    if (label) this.label = label;
    // Reads do not dirty atime (an EROFS mount has no atime to update). Not 'no_write':
    // with it ZenFS drops metadata writes (chmod, utimes) silently instead of asking us,
    // and Linux answers them with EROFS.
    this.attributes.set('no_atime');
  }

  // ---- path resolution --------------------------------------------------------------

  /**
   * The dentry `path` names (the last component followed only with `follow`), held: the
   * caller decRefs it. One Linux path walk through our VFS's lookups (permission checks,
   * ENOTDIR, ENAMETOOLONG for a component over 255 bytes, at most 40 symlinks, a trailing
   * "/" or a link target ending in "/" requiring a directory), with two differences that
   * come from ZenFS: a path may be longer than PATH_MAX (ZenFS builds paths itself when it
   * follows a link, where Linux walks the target piece by piece), and the walk knows where
   * ZenFS mounted us. Linux resolves an absolute link against the process root and ".." at
   * a mount root in the mount below: when we are not mounted at "/", a link or ".." that
   * leaves this image fails here with EXDEV, and ZenFS, which retries a failed resolution
   * component by component, resolves it across its mounts itself.
   */
  lookupPath(path: string, follow = false, directory = false): Dentry {
    if (this.vfs.isReleased) throw new SysError('EIO', 'filesystem closed');
    const root = this.vfs.root;
    const mountPoint = this._mountPoint && this._mountPoint !== '/' ? this._mountPoint : null;
    const mount = soleMount(root);
    // The one Linux walker (vfs walker.ts); where we are mounted below "/", a link or ".."
    // leaving the image is EXDEV, for ZenFS to resolve across its mounts.
    const policy: WalkPolicy = mountPoint
      ? {
          absoluteTarget: (target) => joinComponents(insideMount(target, mountPoint)),
          dotdotAtRoot: () => {
            throw new SysError('EXDEV', `".." leaves the image mounted at ${mountPoint}`);
          },
        }
      : {};
    const w = new Walker(this.creds, { mount, node: root }, policy);
    root.incRef();
    return w.walk({ mount, node: root }, stringToBytes(path), follow, directory).node as Dentry;
  }

  private with<T>(path: string, follow: boolean, fn: (d: Dentry) => T): T {
    return zen(() => {
      const d = this.lookupPath(path, follow);
      try {
        return fn(d);
      } finally {
        d.decRef();
      }
    });
  }

  /** Runs `fn` on the parent directory of `path` and its last component (null for "/"). */
  private withParent<T>(path: string, fn: (parent: Dentry, name: Uint8Array | null) => T): T {
    return zen(() => {
      const bytes = stringToBytes(path);
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === SLASH) end--;
      const start = bytes.lastIndexOf(SLASH, end - 1) + 1;
      const name = end > 0 ? bytes.slice(start, end) : null;
      const parent = this.lookupPath(start > 0 ? nameToString(bytes.subarray(0, start)) : '/', true, true);
      try {
        return fn(parent, name);
      } finally {
        parent.decRef();
      }
    });
  }

  /**
   * A write failed: ZenFS keeps what the program wrote (data, a new mode, times) in its
   * cached copy of the file and would show it to later reads. Put the cached copy back to
   * what the image holds, so a refused write leaves no trace.
   */
  private discardPending(path: string): void {
    const vnode = cacheOf(this).get(path);
    if (!vnode) return;
    // dirtyRanges and truncatedTo are protected in ZenFS's typings; they are the pending write.
    const node = vnode as unknown as { dirtyRanges: unknown[]; truncatedTo?: number } & typeof vnode;
    const fresh = this.statSync(path);
    node.dirtyRanges = [];
    node.truncatedTo = undefined;
    node.metadataDirty = false;
    node.data.regions.length = 0;
    node.data.size = fresh.size;
    Object.assign(node.inode, fresh);
  }

  // ---- reads ------------------------------------------------------------------------

  override statSync(path: string): ErofsInode {
    return this.with(path, false, (d) => new ErofsInode(this, d.inode.raw, path));
  }

  override existsSync(path: string): boolean {
    try {
      zen(() => this.lookupPath(path).decRef());
      return true;
    } catch {
      return false;
    }
  }

  /** Names in on-disk order (the kernel's getdents order), without "." and "..". */
  override readdirSync(path: string): string[] {
    return this.with(path, true, (d) => {
      const inode = d.inode;
      if (!inode.isDir) throw new SysError('ENOTDIR', 'not a directory');
      const names: string[] = [];
      const bs = this.image.blockSize;
      for (let start = 0; start < inode.size; start += bs) {
        for (const e of inode.dirBlock(start)) {
          const n = e.name;
          if (n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e))) continue;
          names.push(nameToString(n));
        }
      }
      return names;
    });
  }

  /**
   * Bytes [start, end) of a regular file into `buffer` (which ZenFS sizes to end - start),
   * zeros past end of file; a symlink's target for ZenFS's readlink. Directories are
   * EISDIR; devices, fifos and sockets ENXIO, as opening one on a mount with no driver
   * behind it is on Linux.
   */
  override readSync(path: string, buffer: Uint8Array, start: number, end: number): void {
    this.with(path, false, (d) => {
      const raw = d.inode.raw;
      const want = Math.max(0, Math.min(end - start, buffer.length));
      const dest = buffer.subarray(0, want);
      switch (raw.mode & S_IFMT) {
        case S_IFREG: {
          let done = 0;
          while (done < want) {
            const n = decoding(() => this.image.read(raw, start + done, dest, done));
            if (n <= 0) break;
            done += n;
          }
          dest.fill(0, done);
          return;
        }
        case S_IFLNK: {
          const target = this.vfs.readlink(d);
          // ZenFS follows links by reading them like this, with no limit of its own: stat
          // of a link loop recurses until the process runs out of memory. A link whose
          // resolution loops is answered with ELOOP here, so that stat gives ELOOP, as on
          // Linux (at the cost of readlink of such a link giving ELOOP too).
          if (this.loops(path)) throw new SysError('ELOOP', 'too many levels of symbolic links');
          const part = target.subarray(Math.min(start, target.length), Math.min(start + want, target.length));
          dest.set(part);
          dest.fill(0, part.length);
          return;
        }
        case S_IFDIR:
          throw new SysError('EISDIR', 'is a directory');
        default:
          throw new SysError('ENXIO', 'no device behind this special file');
      }
    });
  }

  /** Whether following the link at `path` runs into more than 40 links (within this image). */
  private loops(path: string): boolean {
    try {
      this.lookupPath(path, true).decRef();
      return false;
    } catch (e) {
      return e instanceof SysError && e.code === 'ELOOP';
    }
  }

  override usage(): UsageInfo {
    const st = this.vfs.statfs();
    return {
      totalSpace: st.blocks * st.bsize,
      freeSpace: 0,
      blockSize: st.bsize,
      totalNodes: this.image.sb.inos,
      freeNodes: 0,
    };
  }

  /** Every extended attribute `path` has, as our VFS shows them to `creds` (for tools; ZenFS reads them off statSync). */
  xattrs(path: string): Map<string, Uint8Array> {
    return zen(() => readXattrs(this, path));
  }

  // ---- writes: Linux's checks, then EROFS --------------------------------------------

  override createFileSync(path: string, options: CreationOptions): InodeLike {
    return this.withParent(path, (parent, name) => {
      if (!name) throw new SysError('EISDIR', 'is a directory');
      return this.vfs.mknod(parent, name, S_IFREG | (options.mode & 0o7777), 0, this.creds);
    });
  }

  override mkdirSync(path: string, options: CreationOptions): InodeLike {
    return this.withParent(path, (parent, name) => {
      if (!name) throw new SysError('EEXIST', 'file exists');
      return this.vfs.mkdir(parent, name, options.mode & 0o7777, this.creds);
    });
  }

  override unlinkSync(path: string): void {
    this.withParent(path, (parent, name) => {
      if (!name) throw new SysError('EISDIR', 'is a directory');
      this.vfs.unlink(parent, name, this.creds);
    });
  }

  override rmdirSync(path: string): void {
    this.withParent(path, (parent, name) => {
      if (!name) throw new SysError('EBUSY', 'cannot remove the root');
      this.vfs.rmdir(parent, name, this.creds);
    });
  }

  override renameSync(oldPath: string, newPath: string): void {
    this.withParent(oldPath, (oldParent, oldName) =>
      this.withParent(newPath, (newParent, newName) => {
        if (!oldName || !newName) throw new SysError('EBUSY', 'cannot rename the root');
        this.vfs.rename(oldParent, oldName, newParent, newName, 0, this.creds);
      }),
    );
  }

  override linkSync(target: string, link: string): void {
    this.with(target, false, (existing) =>
      this.withParent(link, (parent, name) => {
        if (!name) throw new SysError('EEXIST', 'file exists');
        this.vfs.link(existing, parent, name, this.creds);
      }),
    );
  }

  /** ZenFS's chmod, chown, utimes and xattr writes: EROFS for a path that exists. */
  override touchSync(path: string, _metadata: Partial<InodeLike>): void {
    this.with(path, false, () => {
      this.discardPending(path);
      throw new SysError('EROFS', 'read-only file system');
    });
  }

  /** ZenFS writes a file's data back when it is synced or closed; that is where a write fails. */
  override writeSync(path: string, _buffer: Uint8Array, _offset: number): void {
    this.with(path, false, (d) => {
      this.discardPending(path);
      if (d.inode.isDir) throw new SysError('EISDIR', 'is a directory');
      throw new SysError('EROFS', 'read-only file system');
    });
  }

  /** Nothing is ever dirty, so there is nothing to flush (syncfs on a read-only mount succeeds). */
  override syncSync(): void {}

  // ---- lifetime -----------------------------------------------------------------------

  /**
   * Releases our VFS (every later call fails with EIO) and runs `onClose` (closing a file
   * source). ZenFS has no unmount hook for backends; call this after `umount`.
   */
  close(): void {
    if (this.vfs.isReleased) return;
    this.vfs.release();
    this.onClose?.();
  }
}

