/**
 * The contract every mountable filesystem implements: the EROFS filesystem over an image,
 * the synthetic root, tmpfs, an overlay, an emulator's own (a procfs, a 9P client, a host
 * passthrough). The mount layer knows filesystems only through these interfaces, as
 * gVisor's sentry knows them through FilesystemImpl / DentryImpl / FileDescriptionImpl.
 *
 * Shape of the contract:
 * - A filesystem is a tree of nodes (dentries). The path walker asks a filesystem for one
 *   step at a time (`lookup` of one name in a directory); the filesystem checks search
 *   permission on the directory and answers the node, held. Walking across mounts, "..",
 *   symlinks and the 40-link limit are the walker's business, not the filesystem's.
 * - A node a caller holds is released with `decRef()`; a held node stays valid (attached,
 *   same inode) until released, though a writable filesystem may rename it (its `parent`
 *   and `key` are read live) or unlink it (it is then a node no name reaches).
 * - Operations that name a child (`create`, `mkdir`, `unlink`, `rename`, ...) take the
 *   parent node and the name bytes; the filesystem makes every check Linux's VFS and the
 *   filesystem would make, in Linux's order, and throws SysError with Linux's errno.
 *   Names are bytes; "/" and NUL never reach a filesystem, "." and ".." only reach `lookup`.
 * - Modes passed to creating operations are before the umask: the filesystem applies
 *   `creds.umask` (default 022) unless the parent's default ACL takes its place, as Linux
 *   does for filesystems with POSIX ACLs.
 * - Regular files, directories and (O_PATH) symlinks are opened by the filesystem's
 *   `open`. Fifos, character and block devices are not: the mount layer opens them through
 *   the pipe table and the device registry (packages/vfs/src/devices.ts), after the
 *   filesystem's `access` check, so a device node in any filesystem reaches one driver.
 * - A read-only filesystem implements the write operations by throwing what Linux throws
 *   on a read-only mount (EROFS after the checks that come first: ENOENT, EEXIST, ENOTDIR,
 *   EACCES, ...). A read-only *mount* of a writable filesystem is the mount layer's to
 *   refuse (it checks `MS_RDONLY` before calling the filesystem), as Linux's
 *   mnt_want_write does.
 */
import type { Credentials } from './credentials.js';
import type { Stat, Statx } from './inode.js';
import type { StatFs } from './filesystem.js';

/** A time as utimensat(2) takes it; nsec may be UTIME_NOW or UTIME_OMIT. */
export interface Timespec {
  sec: number;
  nsec: number;
}

/** One node (a dentry) of a mountable filesystem. */
export interface FsNode {
  /** The filesystem the node belongs to: every operation on the node goes through it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each filesystem takes its own node type
  readonly fs: FilesystemImpl<any>;
  /** The parent directory in the same filesystem; null for its root (and for an unlinked node). */
  readonly parent: FsNode | null;
  /** The node's name bytes as a latin1 key (one char per byte), "" for the root. */
  readonly key: string;
  /** st_mode now: the file type bits never change, the permission bits may. */
  readonly mode: number;
  /** Takes a reference: the node stays valid until the matching decRef(). */
  incRef(): void;
  decRef(): void;
}

/**
 * An open file description's implementation: what read(2), write(2), lseek(2),
 * getdents64(2) and the f* calls reach. The mount layer keeps the descriptor table and the
 * mount reference; the description keeps its offset and status flags.
 */
export interface OpenFile {
  /** The node it was opened on (held until close()). */
  readonly node: FsNode;
  /** What was opened: a regular file, a directory, an O_PATH handle, a device or a fifo/pipe. */
  readonly kind: 'file' | 'dir' | 'path' | 'device' | 'pipe';
  /** The open flags the description keeps (access mode and status flags). */
  flags: number;
  /** A byte offset in a file, a position (d_off) in a directory. */
  offset: number;
  readonly isClosed: boolean;
  read(dest: Uint8Array, destOffset?: number, length?: number): number;
  pread(dest: Uint8Array, position: number, destOffset?: number, length?: number): number;
  readv(buffers: readonly Uint8Array[]): number;
  preadv(buffers: readonly Uint8Array[], position: number): number;
  write(src: Uint8Array, srcOffset?: number, length?: number): number;
  pwrite(src: Uint8Array, position: number, srcOffset?: number, length?: number): number;
  writev(buffers: readonly Uint8Array[]): number;
  pwritev(buffers: readonly Uint8Array[], position: number): number;
  lseek(offset: number, whence: number): number;
  /** Packs linux_dirent64 records into dest from the offset; 0 at the end. */
  getdents64(dest: Uint8Array): number;
  stat(): Stat;
  statx(): Statx;
  /** ftruncate(2). */
  truncate(length: number): void;
  /** fallocate(2): mode 0 (allocate, extending the size) or FALLOC_FL_KEEP_SIZE / PUNCH_HOLE where supported. */
  fallocate(mode: number, offset: number, length: number): void;
  fsync(): void;
  fdatasync(): void;
  /** Pages of the file for mmap(2), where the filesystem supports mapping (ENODEV otherwise). */
  mmap?(offset: number, length: number, prot: number, flags: number): Uint8Array[];
  close(): void;
}

/**
 * A mountable filesystem, over its own node type N. The mount layer holds filesystems as
 * `AnyFilesystem` and always passes a filesystem the nodes it gave out.
 */
export interface FilesystemImpl<N extends FsNode = FsNode> {
  /** The type as /proc/self/mountinfo shows it: "erofs", "tmpfs", "ramfs", "overlay", ... */
  readonly type: string;
  readonly root: N;
  /** st_dev of its inodes (glibc makedev encoding). */
  readonly dev: number;
  /** True for a filesystem that can never be written (an image): its mounts are read-only whatever their flags. */
  readonly readOnly?: boolean;

  // ---- reading ----------------------------------------------------------------------
  /** One step of a path walk: search permission on `dir`, then `name` ("." and ".." included). Returns the node held. */
  lookup(dir: N, name: Uint8Array, creds: Credentials): N;
  /**
   * Optional: lookup() of the name buf[start..end), which a filesystem with a hashed
   * dentry cache can answer without making a view or key of the name (the walker's hot
   * path; the EROFS filesystem has one). Same checks, same answer as lookup().
   */
  lookupBytes?(dir: N, buf: Uint8Array, start: number, end: number, creds: Credentials): N;
  /**
   * Optional: lookup() that answers null where lookup() would throw ENOENT (every other
   * error is thrown as lookup() throws it), for callers that expect misses: an overlay
   * looks each name up in every layer, and a thrown SysError costs about ten times a hit.
   */
  lookupOrNull?(dir: N, name: Uint8Array, creds: Credentials): N | null;
  stat(n: N): Stat;
  statx(n: N): Statx;
  statfs(): StatFs;
  readlink(n: N): Uint8Array;
  /**
   * Optional, for a filesystem over slow storage (an image behind a URL): start fetching
   * the stored bytes behind [offset, offset + length) of `n` into its caches, in the
   * background (readahead(2), as the host asks it to warm a container's start-up files).
   * Returns at once with the bytes queued, and a promise that resolves (never rejects)
   * once they are no longer outstanding; a later read reports any failure.
   */
  readahead?(n: N, offset: number, length: number): { bytes: number; done: Promise<void> };
  /** access(2)'s check: MAY_* bits; throws EACCES/EROFS/... */
  access(n: N, mode: number, creds: Credentials): void;
  /**
   * Opens a regular file, a directory or (with O_PATH) anything; the description holds the
   * node. `created`: the caller just made `n` with create() or tmpfile() for this open, so
   * the permission check and O_TRUNC are skipped, as Linux does for a file it created.
   */
  open(n: N, flags: number, creds: Credentials, created?: boolean): OpenFile;
  /** getxattr(2): the value's size, copied into dest when given (ERANGE when too small). */
  getxattr(n: N, name: Uint8Array, dest: Uint8Array | null, creds: Credentials): number;
  /** listxattr(2): NUL-terminated names the caller may see. */
  listxattr(n: N, dest: Uint8Array | null, creds: Credentials): number;

  // ---- writing ----------------------------------------------------------------------
  /** open(O_CREAT) of a name that does not exist: a new regular file, returned held. */
  create(dir: N, name: Uint8Array, mode: number, creds: Credentials): N;
  /**
   * open(O_TMPFILE): an unnamed regular file in `dir`, returned held (linkat can name it).
   * `flags` are the open flags: with O_EXCL the file can never be linked (Linux's
   * I_LINKABLE is set only without it); absent, O_EXCL is taken as not given.
   */
  tmpfile(dir: N, mode: number, creds: Credentials, flags?: number): N;
  mkdir(dir: N, name: Uint8Array, mode: number, creds: Credentials): void;
  /** mknod(2): mode holds the type (S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK). */
  mknod(dir: N, name: Uint8Array, mode: number, rdev: number, creds: Credentials): void;
  symlink(dir: N, name: Uint8Array, target: Uint8Array, creds: Credentials): void;
  link(existing: N, dir: N, name: Uint8Array, creds: Credentials): void;
  unlink(dir: N, name: Uint8Array, creds: Credentials): void;
  rmdir(dir: N, name: Uint8Array, creds: Credentials): void;
  /** renameat2(2) within this filesystem (the mount layer answers EXDEV across filesystems). */
  rename(oldDir: N, oldName: Uint8Array, newDir: N, newName: Uint8Array, flags: number, creds: Credentials): void;
  chmod(n: N, mode: number, creds: Credentials): void;
  /** chown(2); -1 leaves an id unchanged. */
  chown(n: N, uid: number, gid: number, creds: Credentials): void;
  /** utimensat(2): [atime, mtime], or null for "now". */
  utimes(n: N, times: readonly [Timespec, Timespec] | null, creds: Credentials): void;
  truncate(n: N, length: number, creds: Credentials): void;
  setxattr(n: N, name: Uint8Array, value: Uint8Array, flags: number, creds: Credentials): void;
  removexattr(n: N, name: Uint8Array, creds: Credentials): void;
  /**
   * Optional: the times a read ('read': atime, by the filesystem's atime rule) or a write
   * ('write': mtime and ctime) of a node's data changes, for data the filesystem does not
   * move itself (fifos, devices), as Linux's file_accessed / file_update_time.
   */
  touch?(n: N, what: 'read' | 'write'): void;
  /** syncfs(2). */
  sync(): void;

  /** Unmounted: drops every cached node. Holders of nodes must have released them. */
  release(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see FilesystemImpl
export type AnyFilesystem = FilesystemImpl<any>;

/** Whether a node is a directory, from its mode. */
export const isDirNode = (n: FsNode) => (n.mode & 0o170000) === 0o040000;
export const isSymlinkNode = (n: FsNode) => (n.mode & 0o170000) === 0o120000;
export const isRegNode = (n: FsNode) => (n.mode & 0o170000) === 0o100000;
