/**
 * A small procfs: /proc/mounts (a link to self/mounts), /proc/self/mounts and
 * /proc/self/mountinfo, generated from the namespace when opened, as Linux's seq files
 * are. It is also the worked example of the filesystem contract (packages/vfs/README.md):
 * a filesystem an emulator writes in its own code, implementing FilesystemImpl, mounted
 * with `HostController.mount({ fs: new ProcFs(controller.ns), target: '/proc' })`.
 *
 * What it shows of the contract:
 * - nodes (ProcNode) are plain objects that live as long as the filesystem: holding one
 *   costs nothing, so incRef/decRef are no-ops (a filesystem that evicts nodes counts);
 * - lookup checks search permission on the directory first, then the name;
 * - open builds a description (ProcFile) whose bytes are fixed at open, so a reader sees
 *   one consistent table however the namespace changes meanwhile;
 * - every write answers what Linux answers on a filesystem without the operation, through
 *   the read-only helpers of @erofs-js/vfs (EEXIST, EISDIR, EACCES, EROFS in their order).
 * Not Linux's procfs: "self" is every task (the content is the namespace as the host sees
 * it, from its root), and the files list only mounts.
 */
import { S_IFDIR, S_IFLNK, S_IFREG, splitDev } from '@erofs-js/erofs';
import {
  CAP_DAC_READ_SEARCH,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  O_ACCMODE,
  O_CREAT,
  O_DIRECTORY,
  O_PATH,
  O_TRUNC,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  STATX_BASIC_STATS,
  SysError,
  checkMknodType,
  checkPermission,
  direntSize,
  hasCap,
  nameKey,
  readOnly,
  refuseCreate,
  refuseRemovexattr,
  refuseRename,
  refuseRmdir,
  refuseSetxattr,
  refuseTruncate,
  refuseUnlink,
  refuseUtimes,
  type Credentials,
  type FilesystemImpl,
  type OpenFile,
  type Stat,
  type StatFs,
  type Statx,
  type Timespec,
} from '@erofs-js/vfs';
import { mountinfoFor, parseMountinfoLine } from './mountinfo.js';
import type { MountNamespace } from './namespace.js';

/** f_type of procfs. */
export const PROC_SUPER_MAGIC = 0x9fa0;

type Content = () => Uint8Array;

/** One node of the tree: a directory, a generated file or a link. */
export class ProcNode {
  readonly children = new Map<string, ProcNode>();

  constructor(
    readonly fs: ProcFs,
    readonly parent: ProcNode | null,
    readonly key: string,
    readonly ino: number,
    readonly mode: number,
    /** A file's bytes, made at open. */
    readonly content: Content | null = null,
    /** A link's target. */
    readonly target: Uint8Array | null = null,
  ) {}

  /** Nodes live as long as the filesystem: nothing to count. */
  incRef(): this {
    return this;
  }

  decRef(): void {}
}

const enc = new TextEncoder();

/** /proc/self/mounts: "source target type options 0 0" per mount, options per-mount then per-superblock. */
function mountsText(ns: MountNamespace): string {
  let out = '';
  for (const line of mountinfoFor(ns).split('\n')) {
    if (!line) continue;
    const e = parseMountinfoLine(line);
    const sb = e.superOptions.split(',').filter((o) => o !== 'ro' && o !== 'rw');
    const esc = (s: string) => s.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
    out += `${esc(e.source)} ${esc(e.mountPoint)} ${e.fstype} ${[e.options, ...sb].join(',')} 0 0\n`;
  }
  return out;
}

export class ProcFs implements FilesystemImpl<ProcNode> {
  readonly type = 'proc';
  readonly readOnly = true;
  readonly root: ProcNode;
  readonly dev: number;
  private nextIno = 1;
  private readonly time = Math.floor(Date.now() / 1000);

  constructor(
    readonly ns: MountNamespace,
    options: { dev?: number } = {},
  ) {
    this.dev = options.dev ?? ns.allocDev();
    this.root = this.node(null, '', S_IFDIR | 0o555);
    const self = this.node(this.root, 'self', S_IFDIR | 0o555);
    this.node(self, 'mounts', S_IFREG | 0o444, () => enc.encode(mountsText(ns)));
    this.node(self, 'mountinfo', S_IFREG | 0o444, () => enc.encode(mountinfoFor(ns)));
    this.node(this.root, 'mounts', S_IFLNK | 0o777, null, enc.encode('self/mounts'));
  }

  private node(parent: ProcNode | null, key: string, mode: number, content: Content | null = null, target: Uint8Array | null = null): ProcNode {
    const n = new ProcNode(this, parent, key, this.nextIno++, mode, content, target);
    parent?.children.set(key, n);
    return n;
  }

  // ---- reading ------------------------------------------------------------------------

  lookup(dir: ProcNode, name: Uint8Array, creds: Credentials): ProcNode {
    if ((dir.mode & 0o170000) !== S_IFDIR) throw new SysError('ENOTDIR', 'not a directory');
    if (!hasCap(creds, CAP_DAC_READ_SEARCH)) checkPermission(creds, this.owned(dir), MAY_EXEC);
    const key = nameKey(name);
    if (key === '.') return dir;
    if (key === '..') return dir.parent ?? dir;
    const hit = dir.children.get(key);
    if (hit) return hit;
    if (name.length > 255) throw new SysError('ENAMETOOLONG', `name of ${name.length} bytes`);
    throw new SysError('ENOENT', 'no such file or directory');
  }

  /** What the permission check needs: mode and owner (everything here is root's). */
  private owned(n: ProcNode): { mode: number; uid: number; gid: number } {
    return { mode: n.mode, uid: 0, gid: 0 };
  }

  stat(n: ProcNode): Stat {
    const t = this.time;
    return {
      dev: this.dev, ino: n.ino, mode: n.mode, nlink: n.children.size + (n.content || n.target ? 1 : 2), uid: 0, gid: 0, rdev: 0,
      size: n.target ? n.target.length : 0, blksize: 1024, blocks: 0,
      atime: t, atimeNsec: 0, mtime: t, mtimeNsec: 0, ctime: t, ctimeNsec: 0,
    };
  }

  statx(n: ProcNode): Statx {
    const s = this.stat(n);
    const dev = splitDev(this.dev);
    return {
      mask: STATX_BASIC_STATS, blksize: s.blksize, attributes: 0, nlink: s.nlink, uid: 0, gid: 0, mode: s.mode, ino: s.ino,
      size: s.size, blocks: 0, attributesMask: 0, atime: s.atime, atimeNsec: 0, btime: 0, btimeNsec: 0,
      ctime: s.ctime, ctimeNsec: 0, mtime: s.mtime, mtimeNsec: 0, rdevMajor: 0, rdevMinor: 0, devMajor: dev.major, devMinor: dev.minor,
    };
  }

  statfs(): StatFs {
    return { type: PROC_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0n, ffree: 0n, fsid: [0, 0], namelen: 255, frsize: 4096, flags: 0x20 };
  }

  readlink(n: ProcNode): Uint8Array {
    if (!n.target) throw new SysError('EINVAL', 'not a symbolic link');
    return n.target.slice();
  }

  access(n: ProcNode, mode: number, creds: Credentials): void {
    if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
    if (mode & MAY_WRITE && (n.mode & 0o170000) !== S_IFLNK) throw new SysError('EACCES', 'procfs files cannot be written');
    if (mode) checkPermission(creds, this.owned(n), mode);
  }

  open(n: ProcNode, flags: number, creds: Credentials): OpenFile {
    if (flags & O_PATH) return new ProcFile(n, 'path', flags);
    const dir = (n.mode & 0o170000) === S_IFDIR;
    if (flags & O_CREAT && dir) throw new SysError('EISDIR', 'is a directory');
    if (flags & O_DIRECTORY && !dir) throw new SysError('ENOTDIR', 'not a directory');
    const acc = flags & O_ACCMODE;
    if (acc !== 0 || flags & O_TRUNC) throw new SysError(dir ? 'EISDIR' : 'EACCES', dir ? 'is a directory' : 'procfs files cannot be written');
    checkPermission(creds, this.owned(n), MAY_READ);
    return new ProcFile(n, dir ? 'dir' : 'file', flags);
  }

  getxattr(_n: ProcNode, _name: Uint8Array, _dest: Uint8Array | null, _creds: Credentials): number {
    throw new SysError('EOPNOTSUPP', 'procfs has no xattrs');
  }

  listxattr(_n: ProcNode, _dest: Uint8Array | null, _creds: Credentials): number {
    return 0;
  }

  // ---- writing: nothing can be made or changed ---------------------------------------

  create(dir: ProcNode, name: Uint8Array, _mode: number, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }
  tmpfile(): never {
    return readOnly();
  }
  mkdir(dir: ProcNode, name: Uint8Array, _mode: number, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }
  mknod(dir: ProcNode, name: Uint8Array, mode: number, _rdev: number, creds: Credentials): never {
    checkMknodType(mode);
    return refuseCreate(dir, name, creds);
  }
  symlink(dir: ProcNode, name: Uint8Array, _target: Uint8Array, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }
  link(_existing: ProcNode, dir: ProcNode, name: Uint8Array, creds: Credentials): never {
    return refuseCreate(dir, name, creds);
  }
  unlink(dir: ProcNode, name: Uint8Array, creds: Credentials): never {
    return refuseUnlink(dir, name, creds);
  }
  rmdir(dir: ProcNode, name: Uint8Array, creds: Credentials): never {
    return refuseRmdir(dir, name, creds);
  }
  rename(oldDir: ProcNode, oldName: Uint8Array, newDir: ProcNode, newName: Uint8Array, flags: number, creds: Credentials): never {
    return refuseRename(oldDir, oldName, newDir, newName, flags, creds);
  }
  chmod(): never {
    return readOnly();
  }
  chown(): never {
    return readOnly();
  }
  utimes(_n: ProcNode, times: readonly [Timespec, Timespec] | null): void {
    refuseUtimes(times);
  }
  truncate(n: ProcNode, length: number): never {
    return refuseTruncate(n, length);
  }
  setxattr(_n: ProcNode, name: Uint8Array, value: Uint8Array, flags: number): never {
    return refuseSetxattr(name, value, flags);
  }
  removexattr(_n: ProcNode, name: Uint8Array): never {
    return refuseRemovexattr(name);
  }
  sync(): void {}
  release(): void {}
}

/** An open procfs node: a file's bytes are made at open; a directory lists its children. */
export class ProcFile implements OpenFile {
  offset = 0;
  private closed = false;
  private readonly bytes: Uint8Array;

  constructor(
    readonly node: ProcNode,
    readonly kind: 'file' | 'dir' | 'path',
    public flags: number,
  ) {
    this.bytes = kind === 'file' && node.content ? node.content() : new Uint8Array(0);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private io(): void {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    if (this.kind === 'path') throw new SysError('EBADF', 'O_PATH description');
  }

  read(dest: Uint8Array, destOffset = 0, length = dest.length - destOffset): number {
    const n = this.pread(dest, this.offset, destOffset, length);
    this.offset += n;
    return n;
  }

  pread(dest: Uint8Array, position: number, destOffset = 0, length = dest.length - destOffset): number {
    this.io();
    if (this.kind === 'dir') throw new SysError('EISDIR', 'is a directory');
    if (!(position >= 0)) throw new SysError('EINVAL', `negative position ${position}`);
    const n = Math.max(0, Math.min(length, this.bytes.length - position));
    dest.set(this.bytes.subarray(position, position + n), destOffset);
    return n;
  }

  readv(buffers: readonly Uint8Array[]): number {
    const n = this.preadv(buffers, this.offset);
    this.offset += n;
    return n;
  }

  preadv(buffers: readonly Uint8Array[], position: number): number {
    let total = 0;
    for (const b of buffers) {
      const n = this.pread(b, position + total);
      total += n;
      if (n < b.length) break;
    }
    return total;
  }

  write(): never {
    this.io();
    throw new SysError('EBADF', 'not open for writing');
  }
  pwrite(): never {
    return this.write();
  }
  writev(): never {
    return this.write();
  }
  pwritev(): never {
    return this.write();
  }

  lseek(offset: number, whence: number): number {
    this.io();
    const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? this.offset : whence === SEEK_END && this.kind === 'file' ? this.bytes.length : NaN;
    if (Number.isNaN(base)) throw new SysError('EINVAL', `bad whence ${whence}`);
    const pos = base + offset;
    if (!(Number.isSafeInteger(pos) && pos >= 0)) throw new SysError('EINVAL', `offset ${pos} out of range`);
    this.offset = pos;
    return pos;
  }

  /** Positions are entry indexes: ".", "..", then the children in creation order. */
  getdents64(dest: Uint8Array): number {
    this.io();
    if (this.kind !== 'dir') throw new SysError('ENOTDIR', 'not a directory');
    const n = this.node;
    const entries: [string, ProcNode][] = [['.', n], ['..', n.parent ?? n], ...n.children];
    const dv = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    let written = 0;
    while (this.offset < entries.length) {
      const [key, e] = entries[this.offset];
      const reclen = direntSize(key.length);
      if (written + reclen > dest.length) {
        if (written === 0) throw new SysError('EINVAL', `a ${dest.length}-byte buffer cannot hold a ${reclen}-byte record`);
        break;
      }
      dv.setBigUint64(written, BigInt(e.ino), true);
      dv.setBigInt64(written + 8, BigInt(this.offset + 1), true);
      dv.setUint16(written + 16, reclen, true);
      const t = e.mode & 0o170000;
      dest[written + 18] = t === S_IFDIR ? 4 : t === S_IFLNK ? 10 : 8;
      for (let i = 0; i < key.length; i++) dest[written + 19 + i] = key.charCodeAt(i);
      dest.fill(0, written + 19 + key.length, written + reclen);
      written += reclen;
      this.offset++;
    }
    return written;
  }

  stat(): Stat {
    return this.node.fs.stat(this.node);
  }
  statx(): Statx {
    return this.node.fs.statx(this.node);
  }
  truncate(): never {
    this.io();
    throw new SysError('EINVAL', 'not open for writing');
  }
  fallocate(): never {
    return this.write();
  }
  fsync(): void {
    this.io();
  }
  fdatasync(): void {
    this.io();
  }
  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
  }
}
