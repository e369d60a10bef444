/**
 * tmpfs inodes and nodes.
 *
 * A TmpInode is the file itself: type, mode, owner, times, xattrs and ACLs, and its
 * content (pages of a regular file, the entries of a directory, a symlink's target). A
 * TmpNode is one name of it (a dentry): hard links are several nodes of one inode; a
 * directory has exactly one. Nodes are the tree: every named node stays attached to its
 * parent directory's entries whether or not anyone holds it (tmpfs has no other copy).
 *
 * Lifetimes. `refs` counts holders of a node (a lookup result, an open description, a
 * cwd); `inode.holds` sums them over the inode's nodes. A node that is unlinked while
 * held is detached (its `parent` reads null) and lives until its last decRef; the inode
 * lives while it has a name (nlink > 0) or a holder, and is then freed: its pages and its
 * share of the inode limit go back to the filesystem.
 */
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '@erofs-js/erofs';
import type { FsNode, PosixAcl } from '@erofs-js/vfs';
import type { FileData } from './data.js';
import type { Dir, DirChild } from './dir.js';
import type { Tmpfs } from './tmpfs.js';

/** Linux's BOGO_INODE_SIZE: what an inode or an extra hard link takes of the inode budget (nr_inodes KiB). */
export const INODE_COST = 1024;
/** Symlink targets longer than this take a page, as in Linux (SHORT_SYMLINK_LEN). */
export const SHORT_SYMLINK_LEN = 128;
/** What an xattr takes of the inode budget beyond its name and value (Linux's struct simple_xattr, roughly). */
export const XATTR_OVERHEAD = 48;

/** A time as seconds and nanoseconds. */
export interface Time {
  sec: number;
  nsec: number;
}

export class TmpInode {
  nlink = 0;
  /** Sum of the references held on this inode's nodes. */
  holds = 0;
  /** Bytes of the inode limit charged for xattrs (Linux's ispace). */
  xattrSpace = 0;
  /** xattrs other than the ACLs, by name key (latin1), in the order they were set. */
  readonly xattrs = new Map<string, Uint8Array>();
  /** system.posix_acl_access, decoded; null when the mode says everything. */
  acl: PosixAcl | null = null;
  /** system.posix_acl_default (directories only). */
  defaultAcl: PosixAcl | null = null;
  /** An O_TMPFILE inode opened without O_EXCL, not linked yet: linkat may name it. */
  linkable = false;
  /** Freed: its pages and limits were returned. */
  dead = false;
  atime: Time;
  mtime: Time;
  ctime: Time;
  btime: Time;

  constructor(
    readonly ino: number,
    public mode: number,
    public uid: number,
    public gid: number,
    readonly rdev: number,
    now: Time,
    /** Regular files: the pages. */
    readonly data: FileData | null,
    /** Directories: the entries. */
    readonly dir: Dir<TmpNode> | null,
    /** Symlinks: the target. */
    readonly target: Uint8Array | null,
  ) {
    this.atime = { ...now };
    this.mtime = { ...now };
    this.ctime = { ...now };
    this.btime = { ...now };
  }

  get type(): number {
    return this.mode & S_IFMT;
  }
  get isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  get isReg(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  get isSymlink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  /** st_size: bytes of a file, 20 per entry plus 40 for a directory (as tmpfs), a symlink's length. */
  get size(): number {
    if (this.data) return this.data.size;
    if (this.dir) return 40 + 20 * this.dir.size;
    if (this.target) return this.target.length;
    return 0;
  }
}

export class TmpNode implements FsNode, DirChild {
  refs = 0;
  /** Position offset in the parent, and neighbours in its listing order (dir.ts). */
  offset = 0;
  newer: TmpNode | null = null;
  older: TmpNode | null = null;
  /** In its parent's entries (false once unlinked, and for an O_TMPFILE node). */
  attached = false;
  /**
   * Just made by create() or tmpfile() and not opened yet: the open that follows skips
   * the permission check, O_EXCL and O_TRUNC, as Linux's open of a file it created.
   */
  fresh = false;

  constructor(
    readonly fs: Tmpfs,
    readonly inode: TmpInode,
    /** The parent directory node while attached; kept after unlinking for "..". */
    public dirNode: TmpNode | null,
    public key: string,
  ) {}

  get parent(): TmpNode | null {
    return this.attached ? this.dirNode : null;
  }

  get mode(): number {
    return this.inode.mode;
  }

  incRef(): void {
    if (this.inode.dead) throw new Error(`tmpfs node "${this.key}" used after its inode was freed`);
    this.refs++;
    this.inode.holds++;
    this.fs.holdsChanged(1);
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error(`tmpfs node "${this.key}" released more times than referenced`);
    this.refs--;
    this.inode.holds--;
    this.fs.holdsChanged(-1);
    if (this.refs === 0) {
      this.fresh = false;
      if (!this.attached) this.fs.nodeDropped(this);
    }
  }
}
