/**
 * The overlay filesystem: read-only lower layers under a writable tmpfs upper, with Linux
 * 6.18 overlayfs semantics at its defaults for a tmpfs upper (redirect_dir=off, index=off,
 * metacopy=off, xino=off, uuid=on; checked with `mount -t overlay` and
 * /sys/module/overlay/parameters, and by the recorded oracle: tests/overlay-oracle.test.ts).
 *
 * The upper tmpfs holds `upper/` (the upper directory) and `work/work/` (the work
 * directory), as the kernel's upperdir= and workdir= on one tmpfs: every change the
 * overlay makes to the upper layer is the sequence of tmpfs operations Linux makes
 * (temporary objects in the work directory renamed into place, whiteouts as hard links of
 * one shared whiteout, RENAME_EXCHANGE to replace directories), so the upper directory's
 * entries, their order and positions, link counts, times and trusted.overlay.* xattrs are
 * the kernel's.
 *
 * What the merged tree shows (the rules each part follows are at its code):
 * - lookup: the upper directory first, then each lower layer top down; a whiteout
 *   (character device 0:0, or an empty regular file with trusted.overlay.whiteout) hides
 *   the name below; a non-directory hides everything below; directories merge until one
 *   is opaque (trusted.overlay.opaque = "y").
 * - stat: a directory is the overlay's (st_dev of the overlay, an st_ino of its own, and
 *   st_nlink 1 when merged); anything else shows its real st_ino with the st_dev of its
 *   layer (each layer has a pseudo device, the upper one too), and a copied-up file keeps
 *   its lower st_dev/st_ino when its origin handle names a lower inode with one link.
 * - copy-up (parents first) before any change to a lower object: data, then xattrs other
 *   than trusted.overlay.*, the origin handle, mode, owner, times; the parent's times
 *   stay, it is marked impure.
 * - unlink/rmdir of a name a lower layer shows leave a whiteout; a merged directory is
 *   removable when only whiteouts are left; renaming a merged or lower directory is EXDEV
 *   (redirect_dir is off), a pure upper one moves (made opaque in a merged parent).
 * - readdir: see readdir.ts.
 * Permission checks are made on the merged attributes with the caller's credentials;
 * real operations use the mounter's (root).
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, splitDev } from '@erofs-js/erofs';
import {
  ALL_CAPS,
  CAP_CHOWN,
  CAP_DAC_READ_SEARCH,
  CAP_FOWNER,
  CAP_FSETID,
  CAP_MKNOD,
  CAP_SYS_ADMIN,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  NAME_MAX,
  O_ACCMODE,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOATIME,
  O_PATH,
  O_RDONLY,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  PATH_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  ROOT,
  SEEK_DATA,
  SEEK_HOLE,
  SysError,
  UTIME_NOW,
  UTIME_OMIT,
  XATTR_CREATE,
  XATTR_LIST_MAX,
  XATTR_NAME_MAX,
  XATTR_REPLACE,
  XATTR_SIZE_MAX,
  allocAnonDev,
  checkPermission,
  hasCap,
  inGroup,
  nameKey,
  ownerOrCapable,
  parsePosixAcl,
  type AnyFilesystem,
  type Credentials,
  type FilesystemImpl,
  type FsNode,
  type OpenFile,
  type PosixAcl,
  type Stat,
  type StatFs,
  type Statx,
  type Timespec,
  checkMknodType,
} from '@erofs-js/vfs';
import { Tmpfs, TmpNode, aclCreate, encodeAcl, parseAclForSet } from '@erofs-js/tmpfs';
import { OvlFile, OvlPathFile } from './file.js';
import { decodeOrigin, encodeOrigin, sameUuid } from './handle.js';
import { MOUNTER, errnoOf, isWhiteout, opaqueValue, readRealDir, realLookup, realXattr, realXattrNames, type OverlayLayer } from './layer.js';
import {
  ACL_ACCESS,
  ACL_DEFAULT,
  OVL_PREFIX,
  XATTR_IMPURE,
  XATTR_OPAQUE,
  XATTR_ORIGIN,
  XATTR_UUID,
  keyOf,
  realXattrName,
  shownXattrName,
} from './names.js';
import { NodeCache, OvlNode, type LowerEntry, type OriginRef } from './node.js';
import { OvlDirFile, mergeListing, type DirCache, type ListedLayer, type MergedEntry } from './readdir.js';

/** f_type of an overlay (OVERLAYFS_SUPER_MAGIC). */
export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
/** A lower directory this small (st_size) has its names kept when layers lie under it (Overlay.lowerLookup). */
const SMALL_DIR_BYTES = 4096;

/** Bytes copied per step of a copy-up, as Linux's OVL_COPY_UP_CHUNK_SIZE (holes are skipped between steps). */
export const COPY_UP_CHUNK = 1 << 20;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;

export interface OverlayOptions {
  /** The lower layers, top first (as lowerdir= lists them): layers or bare read-only filesystems. */
  lowers: readonly (OverlayLayer | AnyFilesystem)[];
  /**
   * The upper tmpfs. Its root holds `upper/` and `work/` (made when missing, mode 0755);
   * the work directory's `work/` is made afresh at each construction, as a mount does.
   */
  upper: Tmpfs;
  /** st_dev of directories (default: a fresh anonymous device). */
  dev?: number;
  /** Allocates the pseudo devices of the layers (default: the vfs allocator). */
  allocDev?: () => number;
  /** Most unreferenced nodes kept (default 1000). */
  cacheSize?: number;
  /** How mountinfo names the upper tmpfs in upperdir= and workdir= (default "tmpfs"). */
  upperName?: string;
  /** The directory inode numbers an earlier overlay of the same layers gave (Overlay.dirInoTable; a restore). */
  dirInos?: DirInoTable;
}

/**
 * The inode numbers an overlay gave its directories: for each real directory shown (the
 * top lower one by `${layer device}:${inode}`, or an upper-only one by `u:${inode}`) its
 * number, oldest first, and the next number to give.
 */
export interface DirInoTable {
  next: number;
  entries: [key: string, ino: number][];
}

/** Most directories whose inode number an overlay remembers. */
export const DIR_INO_ENTRIES = 1 << 16;

/** A layer with its defaults filled in and its pseudo device. */
interface Layer extends Required<Omit<OverlayLayer, 'uuid'>> {
  uuid: Uint8Array | undefined;
  dev: number;
}

const DOT = new Uint8Array([0x2e]);

/** A name for one directory step: ENOENT when empty, EINVAL for "/" or NUL. */
function checkName(name: Uint8Array): string {
  if (name.length === 0) throw new SysError('ENOENT', 'empty name');
  for (let i = 0; i < name.length; i++) if (name[i] === 0x2f || name[i] === 0) throw new SysError('EINVAL', 'a name cannot hold "/" or NUL');
  return nameKey(name);
}

const isDots = (key: string) => key === '.' || key === '..';

/** What a permission check needs of an inode. */
interface Attrs {
  mode: number;
  uid: number;
  gid: number;
}

export class Overlay implements FilesystemImpl<OvlNode> {
  readonly type = 'overlay';
  readonly readOnly = false;
  readonly dev: number;
  readonly root: OvlNode;
  readonly upper: Tmpfs;
  readonly layers: readonly Layer[];
  /** The pseudo device non-directories of the upper layer report. */
  readonly upperDev: number;
  /** The overlay's UUID (trusted.overlay.uuid of the upper directory). */
  readonly uuid: Uint8Array;
  /** @internal */
  readonly nodes: NodeCache;
  /** The upper directory (upper/ of the tmpfs). */
  readonly upperDir: TmpNode;
  /** The work directory (work/work/ of the tmpfs). */
  readonly workDir: TmpNode;
  private readonly upperName: string;
  private readonly dirInos = new Map<string, number>();
  private nextDirIno = 2;
  private tempId = 0;
  /** The whiteout every whiteout of the upper layer is a hard link of (Linux's ofs->whiteout). */
  private sharedWhiteout: string | null = null;
  private released = false;

  constructor(options: OverlayOptions) {
    const alloc = options.allocDev ?? allocAnonDev;
    this.dev = options.dev ?? alloc();
    this.upper = options.upper;
    this.upperName = options.upperName ?? 'tmpfs';
    this.upperDev = alloc();
    if (options.lowers.length === 0) throw new SysError('EINVAL', 'an overlay needs at least one lower layer');
    const devs = new Map<AnyFilesystem, number>();
    this.layers = options.lowers.map((l, i) => {
      const layer: OverlayLayer = 'lookup' in l ? { fs: l } : l;
      if (!layer.fs.readOnly) throw new SysError('EINVAL', `lower layer ${i} must be a read-only filesystem`);
      let dev = devs.get(layer.fs);
      if (dev === undefined) devs.set(layer.fs, (dev = alloc()));
      return { fs: layer.fs, name: layer.name ?? `layer${i}`, uuid: layer.uuid?.some((b) => b !== 0) ? layer.uuid : undefined, aclSet: layer.aclSet ?? true, dev };
    });
    this.nodes = new NodeCache(options.cacheSize ?? 1000, (n) => this.putReal(n));
    if (options.dirInos) {
      const t = options.dirInos;
      if (!Number.isSafeInteger(t.next) || t.next < 2 || t.entries.length > DIR_INO_ENTRIES) throw new SysError('EINVAL', 'a directory inode table out of bounds');
      for (const [k, ino] of t.entries) {
        if (!/^(u|[0-9]+):[0-9]+$/.test(k) || !Number.isSafeInteger(ino) || ino < 2 || ino >= t.next || this.dirInos.has(k)) throw new SysError('EINVAL', `a directory inode table entry ${JSON.stringify(k)} out of bounds`);
        this.dirInos.set(k, ino);
      }
      this.nextDirIno = t.next;
    }
    const up = this.upper;
    this.upperDir = this.ensureDir(up.root, 'upper', 0o755);
    const workBase = this.ensureDir(up.root, 'work', 0o755);
    try {
      this.workDir = this.freshWorkDir(workBase);
    } finally {
      workBase.decRef();
    }
    this.uuid = this.upperUuid();
    // The root: the upper directory over each layer's root, down to the first opaque one.
    const lowers: LowerEntry[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      const fs = this.layers[i].fs;
      fs.root.incRef();
      lowers.push({ layer: i, node: fs.root });
      if (opaqueValue(fs, fs.root) === 'y') break;
    }
    this.upperDir.incRef();
    this.root = new OvlNode(this, null, '', this.upperDir, lowers, null);
    this.root.opaque = opaqueValue(up, this.upperDir) === 'y';
    this.root.attached = true;
    this.nodes.born();
    this.root.incRef();
  }

  // ---- set-up ---------------------------------------------------------------------------

  private ensureDir(dir: TmpNode, name: string, mode: number): TmpNode {
    const key = keyOf(name);
    const found = realLookup(this.upper, dir, key) as TmpNode | null;
    if (found) {
      if (!found.inode.isDir) {
        found.decRef();
        throw new SysError('ENOTDIR', `the upper tmpfs's ${name} is not a directory`);
      }
      return found;
    }
    this.upper.mkdir(dir, key, mode, MOUNTER);
    return this.upper.lookup(dir, key, MOUNTER);
  }

  /** work/work, emptied as a mount's ovl_workdir_create does (mode 0). */
  private freshWorkDir(base: TmpNode): TmpNode {
    const key = keyOf('work');
    const old = realLookup(this.upper, base, key) as TmpNode | null;
    if (old) {
      this.removeTree(base, key, old);
      old.decRef();
    }
    this.upper.mkdir(base, key, 0, MOUNTER);
    const w = this.upper.lookup(base, key, MOUNTER);
    this.upper.chmod(w, 0, MOUNTER);
    return w;
  }

  private removeTree(parent: TmpNode, key: Uint8Array, n: TmpNode): void {
    if (n.inode.isDir) {
      for (const e of [...(n.inode.dir?.entries() ?? [])]) this.removeTree(n, keyOf(e.key), e);
      this.upper.rmdir(parent, key, MOUNTER);
    } else this.upper.unlink(parent, key, MOUNTER);
  }

  /** The upper directory's trusted.overlay.uuid, made (random) the first time. */
  private upperUuid(): Uint8Array {
    const have = realXattr(this.upper, this.upperDir, XATTR_UUID);
    if (have && have.length === 16) return have;
    const u = new Uint8Array(16);
    globalThis.crypto.getRandomValues(u);
    this.upper.setxattr(this.upperDir, keyOf(XATTR_UUID), u, 0, MOUNTER);
    return u;
  }

  /** The super-block options Linux shows for this overlay in mountinfo. */
  /** The directory inode numbers given so far (for a checkpoint: OverlayOptions.dirInos). */
  dirInoTable(): DirInoTable {
    return { next: this.nextDirIno, entries: [...this.dirInos] };
  }

  superOptions(): string {
    const esc = (s: string) => s.replace(/[\\:, \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
    return `rw,lowerdir=${this.layers.map((l) => esc(l.name)).join(':')},upperdir=${esc(this.upperName)}/upper,workdir=${esc(this.upperName)}/work,uuid=on`;
  }

  // ---- nodes -------------------------------------------------------------------------------

  /** @internal Gives back a node's real nodes (evicted or dropped). */
  private putReal(n: OvlNode): void {
    n.upper?.decRef();
    n.upper = null;
    for (const l of n.lowers) l.node.decRef();
    n.lowers = [];
    n.cache = null;
  }

  private live(n: OvlNode): OvlNode {
    if (this.released) throw new SysError('EIO', 'filesystem released');
    if (n.fs !== this) throw new Error('node of another filesystem');
    if (n.dead) throw new Error(`overlay node "${n.key}" used after it was evicted`);
    return n;
  }

  /** The real object a node shows: its upper one, else its top lower one. */
  private realOf(n: OvlNode): { fs: AnyFilesystem; node: FsNode } {
    if (n.upper) return { fs: this.upper, node: n.upper };
    const l = n.lowers[0];
    return { fs: this.layers[l.layer].fs, node: l.node };
  }

  private attrsOf(n: OvlNode): Attrs {
    if (n.upper) return n.upper.inode;
    this.lowerMemo(n);
    return { mode: n.mode, uid: n.lowerUid, gid: n.lowerGid };
  }

  /** Reads the top lower object's owner and st_ino once (OvlNode.lowerIno). */
  private lowerMemo(n: OvlNode): void {
    if (n.lowerIno !== 0) return;
    const l = n.lowers[0];
    const st = this.layers[l.layer].fs.stat(l.node);
    n.lowerUid = st.uid;
    n.lowerGid = st.gid;
    n.lowerIno = st.ino || -1;
  }

  /** The access ACL the merged object has. */
  private aclOf(n: OvlNode): PosixAcl | null {
    if (n.upper) return n.upper.inode.acl;
    const r = this.realOf(n);
    const v = realXattr(r.fs, r.node, ACL_ACCESS);
    return v ? parsePosixAcl(v) : null;
  }

  /** inode_permission on the merged attributes and ACL, with the caller's credentials: EACCES. */
  private permission(n: OvlNode, mask: number, creds: Credentials): void {
    // The walk's usual case, as generic_permission answers it: search by a caller with CAP_DAC_READ_SEARCH.
    if (mask === MAY_EXEC && n.type === S_IFDIR && hasCap(creds, CAP_DAC_READ_SEARCH)) return;
    checkPermission(creds, this.attrsOf(n), mask, () => this.aclOf(n));
  }

  /** Whether a directory is listed through its real directory (see readdir.ts). */
  isRealDir(n: OvlNode): boolean {
    if (n.isMerge) return false;
    if (!n.upper) {
      if (n.lowerReal === 0) n.lowerReal = realXattr(this.layers[n.lowers[0].layer].fs, n.lowers[0].node, XATTR_ORIGIN) === null ? 1 : 2;
      return n.lowerReal === 1;
    }
    return realXattr(this.upper, n.upper, XATTR_ORIGIN) === null;
  }

  /** A node nobody has looked up yet under `dir`, from what the layers hold (null: nothing, or a whiteout). */
  private lookupLayers(dir: OvlNode, key: string, name: Uint8Array = keyOf(key)): OvlNode | null {
    let upper: TmpNode | null = null;
    let stop = false;
    let opaque = false;
    let origin: OriginRef | null = null;
    const lowers: LowerEntry[] = [];
    try {
      // A peek at the tmpfs directory first: most names are not in the upper layer, and a
      // lookup would answer that by throwing ENOENT.
      if (dir.upper && dir.upper.inode.dir?.get(key)) {
        const u = realLookup(this.upper, dir.upper, name) as TmpNode | null;
        if (u) {
          if (isWhiteout(this.upper, u)) {
            u.decRef();
            return null;
          }
          upper = u;
          if (u.inode.isDir) {
            opaque = opaqueValue(this.upper, u) === 'y';
            stop = opaque;
          } else {
            stop = true;
            origin = this.originOf(u);
          }
        }
      }
      if (!stop && !dir.opaque) {
        for (let i = 0; i < dir.lowers.length; i++) {
          const d = dir.lowers[i];
          const fs = this.layers[d.layer].fs;
          const l = i < dir.lowers.length - 1 ? this.lowerLookup(d, name, key) : realLookup(fs, d.node, name);
          if (!l) continue;
          if (isWhiteout(fs, l)) {
            l.decRef();
            break;
          }
          const isDir = (l.mode & S_IFMT) === S_IFDIR;
          if (!isDir) {
            if (!upper && lowers.length === 0) lowers.push({ layer: d.layer, node: l });
            else l.decRef();
            break;
          }
          lowers.push({ layer: d.layer, node: l });
          if (opaqueValue(fs, l) === 'y') break;
        }
      }
      if (!upper && lowers.length === 0) return null;
      const n = new OvlNode(this, dir, key, upper, lowers.slice(), origin);
      n.opaque = opaque;
      this.nodes.born();
      upper = null;
      lowers.length = 0;
      return n;
    } finally {
      upper?.decRef();
      for (const l of lowers) l.node.decRef();
    }
  }

  /**
   * A lookup in a lower directory that has more layers under it: when the directory is
   * small (st_size up to SMALL_DIR_BYTES, one block) its names are read once and kept on
   * the entry, and a name it lacks is answered from them.
   */
  private lowerLookup(d: LowerEntry, name: Uint8Array, key: string): FsNode | null {
    const fs = this.layers[d.layer].fs;
    if (d.names === undefined) d.names = fs.stat(d.node).size <= SMALL_DIR_BYTES ? new Set(readRealDir(fs, d.node).map((e) => e.key)) : null;
    if (d.names !== null && !d.names.has(key)) return null;
    return realLookup(fs, d.node, name);
  }

  /** The lower inode a copied-up non-directory's origin handle names, if a layer has that UUID. */
  private originOf(u: TmpNode): OriginRef | null {
    const v = realXattr(this.upper, u, XATTR_ORIGIN);
    if (!v) return null;
    const o = decodeOrigin(v);
    if (!o) return null;
    const layer = this.layers.findIndex((l) => l.uuid !== undefined && sameUuid(l.uuid, o.uuid));
    return layer < 0 ? null : { layer, ino: o.ino };
  }

  /** The cached or newly looked-up child `key` of `dir` (whose bytes `name` are, when the caller has them), held, or null. */
  private child(dir: OvlNode, key: string, name?: Uint8Array): OvlNode | null {
    let n = dir.child(key);
    if (!n) {
      if (!dir.attached) return null;
      const made = this.lookupLayers(dir, key, name);
      if (!made) return null;
      this.nodes.attach(dir, key, made);
      n = made;
    }
    n.incRef();
    return n;
  }

  /** The child, held; ENOENT when there is none. */
  private childHeld(dir: OvlNode, key: string, name?: Uint8Array): OvlNode {
    const n = this.child(dir, key, name);
    if (!n) throw new SysError('ENOENT', 'no such file or directory');
    return n;
  }

  // ---- reading -----------------------------------------------------------------------------

  /** may_lookup: the directory and search permission on it. */
  private mayLookup(dir: OvlNode, creds: Credentials): void {
    this.live(dir);
    if (!dir.isDir) throw new SysError('ENOTDIR', 'not a directory');
    this.permission(dir, MAY_EXEC, creds);
  }

  lookup(dir: OvlNode, name: Uint8Array, creds: Credentials): OvlNode {
    this.mayLookup(dir, creds);
    const key = checkName(name);
    if (key === '.') {
      dir.incRef();
      return dir;
    }
    if (key === '..') {
      const p = dir.dirNode ?? dir;
      p.incRef();
      return p;
    }
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    return this.childHeld(dir, key, name);
  }

  /**
   * lookup() of the name buf[start..end): a cached child is found by a hash of the bytes,
   * without a key string (the walker's fast path); anything else is lookup().
   */
  lookupBytes(dir: OvlNode, buf: Uint8Array, start: number, end: number, creds: Credentials): OvlNode {
    this.mayLookup(dir, creds);
    const c = dir.childBytes(buf, start, end);
    if (c !== undefined) {
      c.incRef();
      return c;
    }
    return this.lookup(dir, buf.subarray(start, end), creds);
  }

  /** st_ino of a directory: the overlay's own number, stable for the real directory it shows. */
  private dirIno(n: OvlNode): number {
    if (n.dirIno) return n.dirIno;
    if (n.lowers.length) this.lowerMemo(n);
    const key = n.lowers.length ? `${this.layers[n.lowers[0].layer].dev}:${n.lowerIno}` : `u:${n.upper!.inode.ino}`;
    let ino = this.dirInos.get(key);
    if (ino === undefined) {
      ino = this.nextDirIno++;
      if (this.dirInos.size >= DIR_INO_ENTRIES) this.dirInos.delete(this.dirInos.keys().next().value as string);
      this.dirInos.set(key, ino);
    }
    return (n.dirIno = ino);
  }

  /** st_dev and st_ino as Linux 6.18 reports them with xino off and layers on different filesystems. */
  private setIdentity(n: OvlNode, out: { dev: number; ino: number }, realIno: number): void {
    if (n.isDir) {
      out.dev = this.dev;
      out.ino = this.dirIno(n);
    } else if (!n.upper) {
      out.dev = this.layers[n.lowers[0].layer].dev;
      out.ino = realIno;
    } else if (n.origin) {
      out.dev = this.layers[n.origin.layer].dev;
      out.ino = n.origin.ino;
    } else {
      out.dev = this.upperDev;
      out.ino = realIno;
    }
  }

  stat(n: OvlNode): Stat {
    this.live(n);
    // The layers hand out a fresh Stat each call: it is ours to change.
    const st = n.upper ? this.upper.stat(n.upper) : this.layers[n.lowers[0].layer].fs.stat(n.lowers[0].node);
    this.setIdentity(n, st, st.ino);
    if (n.isDir && n.isMerge) st.nlink = 1;
    return st;
  }

  statx(n: OvlNode): Statx {
    this.live(n);
    const sx = n.upper ? this.upper.statx(n.upper) : this.layers[n.lowers[0].layer].fs.statx(n.lowers[0].node);
    const id = { dev: 0, ino: 0 };
    this.setIdentity(n, id, sx.ino);
    const dev = splitDev(id.dev);
    sx.devMajor = dev.major;
    sx.devMinor = dev.minor;
    sx.ino = id.ino;
    if (n.isDir && n.isMerge) sx.nlink = 1;
    return sx;
  }

  /** statfs of the upper tmpfs, as the overlay's (f_type, f_namelen, f_fsid from the UUID). */
  statfs(): StatFs {
    if (this.released) throw new SysError('EIO', 'filesystem released');
    const s = this.upper.statfs();
    const u = this.uuid;
    const le32 = (o: number) => (u[o] | (u[o + 1] << 8) | (u[o + 2] << 16) | (u[o + 3] << 24)) >>> 0;
    return { ...s, type: OVERLAYFS_SUPER_MAGIC, namelen: NAME_MAX, fsid: [(le32(0) ^ le32(4)) >>> 0, (le32(8) ^ le32(12)) >>> 0] };
  }

  readlink(n: OvlNode): Uint8Array {
    const r = this.realOf(this.live(n));
    return r.fs.readlink(r.node);
  }

  access(n: OvlNode, mode: number, creds: Credentials): void {
    this.live(n);
    if (mode & ~7) throw new SysError('EINVAL', `bad access mode ${mode}`);
    if (mode) this.permission(n, mode, creds);
  }

  /**
   * open(2), in tmpfs's (Linux's) order of checks on the merged object; a regular file
   * opened for writing or with O_TRUNC is copied up first, and opened on the upper layer.
   */
  open(n: OvlNode, flags: number, creds: Credentials, created = false): OpenFile {
    this.live(n);
    const type = n.type;
    if (flags & O_PATH) {
      if (flags & O_DIRECTORY && type !== S_IFDIR) throw new SysError('ENOTDIR', 'not a directory');
      return new OvlPathFile(this, n, flags, creds);
    }
    if (created) flags &= ~(O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY) | (type === S_IFDIR ? 0 : O_DIRECTORY));
    if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) throw new SysError('EINVAL', 'O_CREAT with O_DIRECTORY');
    const mode = flags & O_ACCMODE;
    let acc = mode === 0 ? MAY_READ : mode === 1 ? MAY_WRITE : MAY_READ | MAY_WRITE;
    if (flags & O_TRUNC) acc |= MAY_WRITE;
    if (flags & O_CREAT) {
      if (flags & O_EXCL) throw new SysError('EEXIST', 'file exists');
      if (type === S_IFDIR) throw new SysError('EISDIR', 'is a directory');
    }
    if (flags & O_DIRECTORY && type !== S_IFDIR) throw new SysError('ENOTDIR', 'not a directory');
    if (type === S_IFLNK) throw new SysError('ELOOP', 'is a symbolic link (open it with O_PATH)');
    if (type === S_IFDIR && (flags & O_ACCMODE) !== 0) throw new SysError('EISDIR', 'is a directory');
    if (!created) this.permission(n, acc, creds);
    if (flags & O_NOATIME && !ownerOrCapable(creds, this.attrsOf(n))) throw new SysError('EPERM', 'O_NOATIME by a non-owner');
    if (type !== S_IFDIR && type !== S_IFREG) throw new SysError('ENXIO', 'no device behind this special file');
    const rest = flags & ~(O_CREAT | O_EXCL);
    if (type === S_IFDIR) {
      // The real directory it reads while "real": the upper one, else the top lower one (as opened now).
      const r = this.realOf(n);
      return new OvlDirFile(this, n, rest, () => r.fs.open(r.node, O_RDONLY | O_DIRECTORY, MOUNTER), this.isRealDir(n));
    }
    if ((flags & O_ACCMODE) !== O_RDONLY || flags & O_TRUNC) this.copyUp(n);
    if (n.upper) return new OvlFile(this, n, rest & ~O_TRUNC, this.upper.open(n.upper, rest, creds, created), true);
    const l = n.lowers[0];
    return new OvlFile(this, n, rest, this.layers[l.layer].fs.open(l.node, rest & ~O_TRUNC, creds), false);
  }

  /** @internal The merged listing of a directory, shared while its version holds (readdir.ts). */
  dirCache(n: OvlNode): DirCache {
    const have = n.cache;
    if (have && have.version === n.version) {
      have.refs++;
      return have;
    }
    const c: DirCache = { version: n.version, entries: mergeListing(this.listedLayers(n)), refs: 1 };
    n.cache = c;
    return c;
  }

  private listedLayers(n: OvlNode): ListedLayer[] {
    const out: ListedLayer[] = [];
    if (n.upper) out.push({ fs: this.upper, dir: n.upper, isUpper: true, xwhiteouts: opaqueValue(this.upper, n.upper) === 'x' });
    if (!n.opaque) {
      for (const l of n.lowers) {
        const fs = this.layers[l.layer].fs;
        out.push({ fs, dir: l.node, isUpper: false, xwhiteouts: opaqueValue(fs, l.node) === 'x' });
      }
    }
    return out;
  }

  // ---- xattrs ------------------------------------------------------------------------------

  private xattrKey(name: Uint8Array): string {
    if (name.length === 0 || name.length > XATTR_NAME_MAX) throw new SysError('ERANGE', `xattr name of ${name.length} bytes`);
    return nameKey(name);
  }

  /**
   * getxattr(2): trusted.overlay.X reads the escaped trusted.overlay.overlay.X (the layer's
   * own private xattrs never show); other names are the real object's, with the real
   * filesystem's checks for the caller.
   */
  getxattr(n: OvlNode, name: Uint8Array, dest: Uint8Array | null, creds: Credentials): number {
    this.live(n);
    const key = this.xattrKey(name);
    const r = this.realOf(n);
    if (key.startsWith(OVL_PREFIX)) {
      if (!hasCap(creds, CAP_SYS_ADMIN)) throw new SysError('ENODATA', 'trusted.* needs CAP_SYS_ADMIN');
      return r.fs.getxattr(r.node, keyOf(realXattrName(key)), dest, MOUNTER);
    }
    return r.fs.getxattr(r.node, name, dest, creds);
  }

  /** listxattr(2): the real names, private ones hidden (escaped ones unescaped), trusted.* only for CAP_SYS_ADMIN. */
  listxattr(n: OvlNode, dest: Uint8Array | null, creds: Credentials): number {
    this.live(n);
    const r = this.realOf(n);
    const admin = hasCap(creds, CAP_SYS_ADMIN);
    const names: string[] = [];
    for (const k of realXattrNames(r.fs, r.node)) {
      const shown = shownXattrName(k);
      if (shown === null || (!admin && shown.startsWith('trusted.'))) continue;
      names.push(shown);
    }
    let total = 0;
    for (const k of names) total += k.length + 1;
    if (total > XATTR_LIST_MAX) throw new SysError('E2BIG', `xattr list of ${total} bytes`);
    if (!dest || dest.length === 0) return total;
    if (total > dest.length) throw new SysError('ERANGE', `xattr list of ${total} bytes does not fit in ${dest.length}`);
    let o = 0;
    for (const k of names) {
      for (let j = 0; j < k.length; j++) dest[o++] = k.charCodeAt(j);
      dest[o++] = 0;
    }
    return total;
  }

  /**
   * xattr_permission and the capability rules, on the merged object with the caller's
   * credentials, before anything is copied up (tmpfs's order: trusted.* CAP_SYS_ADMIN,
   * user.* only on regular files and directories and the sticky rule, then write
   * permission; security.* CAP_SYS_ADMIN; the ACLs their owner).
   */
  private xattrWriteCheck(n: OvlNode, key: string, value: Uint8Array | null, creds: Credentials): void {
    const a = this.attrsOf(n);
    const type = a.mode & S_IFMT;
    if (key === ACL_ACCESS || key === ACL_DEFAULT) {
      if (value && value.length) parseAclForSet(value);
      if (type === S_IFLNK) throw new SysError('EOPNOTSUPP', 'symlinks have no ACLs');
      // ovl_set_acl asks the real inode for set_acl before any copy-up.
      if (!n.upper && !this.layers[n.lowers[0].layer].aclSet) throw new SysError('EOPNOTSUPP', "the layer's filesystem cannot set ACLs (Linux's EROFS has no set_acl)");
      if (!ownerOrCapable(creds, a)) throw new SysError('EPERM', 'only the owner may set an ACL');
      if (key === ACL_DEFAULT && type !== S_IFDIR && value && value.length) throw new SysError('EACCES', 'default ACLs are for directories');
      return;
    }
    if (key.startsWith('security.')) {
      if (!hasCap(creds, CAP_SYS_ADMIN)) throw new SysError('EPERM', 'security.* needs CAP_SYS_ADMIN');
    } else if (key.startsWith('trusted.')) {
      if (!hasCap(creds, CAP_SYS_ADMIN)) throw new SysError('EPERM', 'trusted.* needs CAP_SYS_ADMIN');
    } else if (!key.startsWith('system.')) {
      if (key.startsWith('user.')) {
        if (type !== S_IFREG && type !== S_IFDIR) throw new SysError('EPERM', 'user.* xattrs are for regular files and directories');
        if (type === S_IFDIR && a.mode & S_ISVTX && !ownerOrCapable(creds, a)) throw new SysError('EPERM', 'sticky directory');
      }
      this.permission(n, MAY_WRITE, creds);
    }
    const prefix = ['user.', 'trusted.', 'security.'].find((p) => key.startsWith(p));
    if (!prefix) throw new SysError('EOPNOTSUPP', `no handler for xattr "${key}"`);
    if (key.length === prefix.length) throw new SysError('EINVAL', `xattr name "${key}" has nothing after its prefix`);
  }

  setxattr(n: OvlNode, name: Uint8Array, value: Uint8Array, flags: number, creds: Credentials): void {
    this.live(n);
    const key = this.xattrKey(name);
    if (value.length > XATTR_SIZE_MAX) throw new SysError('E2BIG', `xattr value of ${value.length} bytes`);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) throw new SysError('EINVAL', `bad setxattr flags ${flags}`);
    this.xattrWriteCheck(n, key, value, creds);
    this.copyUp(n);
    this.upper.setxattr(n.upper!, keyOf(realXattrName(key)), value, flags, MOUNTER);
  }

  /** removexattr(2): a name the lower object lacks is ENODATA without a copy-up. */
  removexattr(n: OvlNode, name: Uint8Array, creds: Credentials): void {
    this.live(n);
    const key = this.xattrKey(name);
    this.xattrWriteCheck(n, key, null, creds);
    const real = realXattrName(key);
    if (!n.upper) {
      const r = this.realOf(n);
      if (realXattr(r.fs, r.node, real) === null) {
        if (key === ACL_ACCESS || key === ACL_DEFAULT) return;
        throw new SysError('ENODATA', 'no such attribute');
      }
    }
    this.copyUp(n);
    this.upper.removexattr(n.upper!, keyOf(real), MOUNTER);
  }

  // ---- copy-up -----------------------------------------------------------------------------

  private tempName(): Uint8Array {
    return keyOf('#' + (++this.tempId).toString(16));
  }

  /**
   * ovl_copy_up: gives `n` (and first its parents) an upper object with the lower one's
   * data, xattrs, origin handle, mode, owner and times; a regular file is made as an
   * O_TMPFILE file of the work directory and linked into place, anything else is made in
   * the work directory and renamed into place. The parent's atime and mtime are put back
   * and it is marked impure.
   */
  copyUp(n: OvlNode): void {
    if (n.upper) return;
    const parent = n.dirNode;
    if (!parent || !n.attached) throw new SysError('ENOENT', 'cannot copy up a removed file');
    this.copyUp(parent);
    const pu = parent.upper!;
    const l = n.lowers[0];
    const layer = this.layers[l.layer];
    const st = layer.fs.stat(l.node);
    const type = st.mode & S_IFMT;
    const names = realXattrNames(layer.fs, l.node);
    const originBytes = type === S_IFDIR || st.nlink === 1 ? (layer.uuid ? encodeOrigin(layer.uuid, st.ino) : new Uint8Array(0)) : null;
    const pstat = this.upper.stat(pu);
    this.setImpure(pu);
    const up = this.upper;
    const name = keyOf(n.key);
    let made: TmpNode;
    if (type === S_IFREG) {
      const temp = up.tmpfile(this.workDir, st.mode & 0o7777, MOUNTER);
      try {
        this.copyData(layer.fs, l.node, temp, st.size);
        this.copyMetadata(layer.fs, l.node, temp, names, originBytes, st);
        up.link(temp, pu, name, MOUNTER);
      } finally {
        temp.decRef();
      }
    } else {
      const tn = this.tempName();
      if (type === S_IFDIR) up.mkdir(this.workDir, tn, 0, MOUNTER);
      else if (type === S_IFLNK) up.symlink(this.workDir, tn, layer.fs.readlink(l.node), MOUNTER);
      else up.mknod(this.workDir, tn, type, st.rdev, MOUNTER);
      const temp = up.lookup(this.workDir, tn, MOUNTER);
      try {
        this.copyMetadata(layer.fs, l.node, temp, names, originBytes, st);
      } catch (e) {
        this.cleanupWork(tn, temp);
        throw e;
      } finally {
        temp.decRef();
      }
      up.rename(this.workDir, tn, pu, name, 0, MOUNTER);
    }
    made = up.lookup(pu, name, MOUNTER);
    up.utimes(pu, [
      { sec: pstat.atime, nsec: pstat.atimeNsec },
      { sec: pstat.mtime, nsec: pstat.mtimeNsec },
    ], MOUNTER);
    n.upper = made;
    if (type !== S_IFDIR && originBytes && originBytes.length && layer.uuid) n.origin = { layer: l.layer, ino: st.ino };
  }

  private cleanupWork(tn: Uint8Array, temp: TmpNode): void {
    try {
      if (temp.inode.isDir) this.upper.rmdir(this.workDir, tn, MOUNTER);
      else this.upper.unlink(this.workDir, tn, MOUNTER);
    } catch {
      /* best effort, as ovl_cleanup */
    }
  }

  /** trusted.overlay.impure = "y" on an upper directory that lacks it. */
  private setImpure(dir: TmpNode): void {
    const v = realXattr(this.upper, dir, XATTR_IMPURE);
    if (v && v.length === 1 && v[0] === 0x79) return;
    this.upper.setxattr(dir, keyOf(XATTR_IMPURE), new Uint8Array([0x79]), 0, MOUNTER);
  }

  /**
   * ovl_copy_up_file: chunks of COPY_UP_CHUNK bytes; before a chunk, once the last data
   * position found is behind, SEEK_DATA finds the next data and the hole before it is
   * skipped (a hole inside a chunk is copied as zeros, as Linux does). The size is set last.
   */
  private copyData(fs: AnyFilesystem, src: FsNode, dst: TmpNode, size: number): void {
    if (size === 0) return;
    const from = fs.open(src, O_RDONLY, MOUNTER);
    const to = this.upper.open(dst, O_WRONLY, MOUNTER, true);
    try {
      const buf = new Uint8Array(Math.min(COPY_UP_CHUNK, size));
      let pos = 0;
      let dataPos = -1;
      let skipHoles = true;
      while (pos < size) {
        if (skipHoles && dataPos < pos) {
          try {
            dataPos = from.lseek(pos, SEEK_DATA);
          } catch (e) {
            if (errnoOf(e) === 'ENXIO') break;
            skipHoles = false;
          }
          if (skipHoles && dataPos > pos) {
            pos = dataPos;
            continue;
          }
        }
        const len = Math.min(COPY_UP_CHUNK, size - pos);
        let got = 0;
        while (got < len) {
          const n = from.pread(buf, pos + got, got, len - got);
          if (n === 0) break;
          got += n;
        }
        if (got === 0) break;
        let put = 0;
        while (put < got) put += to.pwrite(buf, pos + put, put, got - put);
        pos += got;
      }
      if (this.upper.stat(dst).size !== size) to.truncate(size);
    } finally {
      from.close();
      to.close();
    }
  }

  /** ovl_copy_up_metadata: xattrs (not trusted.overlay.*), the origin handle, then mode, owner and times. */
  private copyMetadata(fs: AnyFilesystem, src: FsNode, dst: TmpNode, names: readonly string[], origin: Uint8Array | null, st: Stat): void {
    const up = this.upper;
    for (const k of names) {
      if (k.startsWith(OVL_PREFIX)) continue;
      const v = realXattr(fs, src, k);
      if (v) up.setxattr(dst, keyOf(k), v, 0, MOUNTER);
    }
    if (origin) up.setxattr(dst, keyOf(XATTR_ORIGIN), origin, 0, MOUNTER);
    this.setAttr(dst, st);
  }

  /** ovl_set_attr: owner, mode (not for a symlink), atime and mtime (ctime becomes now). */
  private setAttr(dst: TmpNode, st: Stat): void {
    const up = this.upper;
    up.chown(dst, st.uid, st.gid, MOUNTER);
    if ((st.mode & S_IFMT) !== S_IFLNK) up.chmod(dst, st.mode & 0o7777, MOUNTER);
    up.utimes(dst, [
      { sec: st.atime, nsec: st.atimeNsec },
      { sec: st.mtime, nsec: st.mtimeNsec },
    ], MOUNTER);
  }

  // ---- whiteouts ---------------------------------------------------------------------------

  /** A whiteout in the work directory, named by the returned temp name: a hard link of the shared one. */
  private whiteoutTemp(): Uint8Array {
    const up = this.upper;
    if (this.sharedWhiteout === null) {
      const tn = this.tempName();
      up.mknod(this.workDir, tn, S_IFCHR, 0, MOUNTER);
      this.sharedWhiteout = nameKey(tn);
    }
    const tn = this.tempName();
    const shared = up.lookup(this.workDir, keyOf(this.sharedWhiteout), MOUNTER);
    try {
      up.link(shared, this.workDir, tn, MOUNTER);
    } finally {
      shared.decRef();
    }
    return tn;
  }

  /** Whether the upper directory holds a whiteout named `key`. */
  private upperWhiteoutAt(dir: OvlNode, key: string): boolean {
    if (!dir.upper) return false;
    const u = realLookup(this.upper, dir.upper, keyOf(key));
    if (!u) return false;
    try {
      return isWhiteout(this.upper, u);
    } finally {
      u.decRef();
    }
  }

  /**
   * ovl_lower_positive: whether a lower layer shows the name (the first layer of the
   * parent's stack that has it decides; a whiteout there means no).
   */
  private lowerPositive(n: OvlNode): boolean {
    if (!n.upper) return true;
    const parent = n.dirNode!;
    if (parent.opaque) return false;
    const name = keyOf(n.key);
    for (const d of parent.lowers) {
      const fs = this.layers[d.layer].fs;
      let l: FsNode | null;
      try {
        l = realLookup(fs, d.node, name);
      } catch {
        return true;
      }
      if (!l) continue;
      try {
        return !isWhiteout(fs, l);
      } finally {
        l.decRef();
      }
    }
    return false;
  }

  /** A directory that has no lower objects and cannot hold whiteouts (Linux's ovl_pure_upper). */
  private pureUpper(n: OvlNode): boolean {
    return n.lowers.length === 0 && this.isRealDir(n);
  }

  /**
   * ovl_check_empty_dir: ENOTEMPTY unless the merged listing has nothing but "." and ".."
   * and whiteouts; returns the upper layer's whiteouts, to be cleared.
   */
  private checkEmptyDir(n: OvlNode): string[] {
    const out: string[] = [];
    for (const e of mergeListing(this.listedLayers(n))) {
      if (e.whiteout) {
        if (e.isUpper) out.push(e.key);
        continue;
      }
      if (e.key === '.' || e.key === '..') continue;
      throw new SysError('ENOTEMPTY', 'directory not empty');
    }
    return out;
  }

  /**
   * ovl_clear_empty: an opaque copy of the upper directory (its xattrs but the private
   * ones, its attributes) is made in the work directory and exchanged with it; the old
   * one's whiteouts are unlinked and it is removed. Returns the new upper directory.
   */
  private clearEmpty(n: OvlNode, whiteouts: readonly string[]): TmpNode {
    const up = this.upper;
    const old = n.upper!;
    const pu = n.dirNode!.upper!;
    const st = up.stat(old);
    const tn = this.tempName();
    up.mkdir(this.workDir, tn, st.mode & 0o7777, MOUNTER);
    const temp = up.lookup(this.workDir, tn, MOUNTER);
    try {
      for (const k of realXattrNames(up, old)) {
        if (k.startsWith(OVL_PREFIX)) continue;
        const v = realXattr(up, old, k);
        if (v) up.setxattr(temp, keyOf(k), v, 0, MOUNTER);
      }
      up.setxattr(temp, keyOf(XATTR_OPAQUE), new Uint8Array([0x79]), 0, MOUNTER);
      this.setAttr(temp, st);
    } catch (e) {
      this.cleanupWork(tn, temp);
      temp.decRef();
      throw e;
    }
    temp.decRef();
    const name = keyOf(n.key);
    up.rename(this.workDir, tn, pu, name, RENAME_EXCHANGE, MOUNTER);
    // The old upper directory now has the temp name in the work directory.
    for (const w of whiteouts) up.unlink(old, keyOf(w), MOUNTER);
    up.rmdir(this.workDir, tn, MOUNTER);
    old.decRef();
    const now = up.lookup(pu, name, MOUNTER);
    n.upper = now;
    n.opaque = true;
    return now;
  }

  /**
   * ovl_cleanup_and_whiteout: a whiteout replaces the upper entry `key` of `dir` (renamed
   * over a non-directory, exchanged with a directory that is then removed), or is put
   * where there was none.
   */
  private whiteoutAt(dir: TmpNode, key: string): void {
    const up = this.upper;
    const name = keyOf(key);
    const wt = this.whiteoutTemp();
    const existing = realLookup(up, dir, name) as TmpNode | null;
    const isDir = existing?.inode.isDir ?? false;
    existing?.decRef();
    up.rename(this.workDir, wt, dir, name, isDir ? RENAME_EXCHANGE : 0, MOUNTER);
    if (isDir) up.rmdir(this.workDir, wt, MOUNTER);
  }

  // ---- VFS checks on the merged tree -------------------------------------------------------

  /** check_sticky: in a sticky directory only the file's owner, the directory's owner or CAP_FOWNER may remove or replace. */
  private sticky(dir: OvlNode, victim: OvlNode, creds: Credentials): boolean {
    const d = this.attrsOf(dir);
    if (!(d.mode & S_ISVTX)) return false;
    const v = this.attrsOf(victim);
    if (creds.uid === v.uid || creds.uid === d.uid) return false;
    return !hasCap(creds, CAP_FOWNER);
  }

  /** may_delete: write+search permission on dir (EACCES), the sticky bit (EPERM), the types (ENOTDIR / EISDIR). */
  private mayDelete(dir: OvlNode, victim: OvlNode, isDir: boolean, creds: Credentials): void {
    this.permission(dir, MAY_WRITE | MAY_EXEC, creds);
    if (this.sticky(dir, victim, creds)) throw new SysError('EPERM', 'sticky directory');
    if (isDir) {
      if (!victim.isDir) throw new SysError('ENOTDIR', 'not a directory');
    } else if (victim.isDir) throw new SysError('EISDIR', 'is a directory');
  }

  /** filename_create + may_create: EEXIST for dots and existing names, ENAMETOOLONG, ENOENT in a removed directory, EACCES. */
  private prepareCreate(dir: OvlNode, name: Uint8Array, creds: Credentials): string {
    this.mayLookup(dir, creds);
    const key = checkName(name);
    if (isDots(key)) throw new SysError('EEXIST', 'file exists');
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const have = this.child(dir, key);
    if (have) {
      have.decRef();
      throw new SysError('EEXIST', 'file exists');
    }
    if (!dir.attached) throw new SysError('ENOENT', 'directory was removed');
    this.permission(dir, MAY_WRITE | MAY_EXEC, creds);
    return key;
  }

  /** The credentials a new object is made with in the upper layer: the caller's ids and umask, the mounter's capabilities. */
  private makerCreds(creds: Credentials): Credentials {
    return { uid: creds.uid, gid: creds.gid, groups: creds.groups, caps: ALL_CAPS, umask: creds.umask ?? 0o022 };
  }

  /** mode_strip_sgid: a setgid+group-exec non-directory made in a setgid directory by a caller outside its group without CAP_FSETID loses S_ISGID. */
  private stripSgid(dir: OvlNode, mode: number, creds: Credentials): number {
    if ((mode & S_IFMT) === S_IFDIR || (mode & (S_ISGID | S_IXGRP)) !== (S_ISGID | S_IXGRP)) return mode;
    const d = this.attrsOf(dir);
    if (d.mode & S_ISGID && !inGroup(creds, d.gid) && !hasCap(creds, CAP_FSETID)) return mode & ~S_ISGID;
    return mode;
  }

  /**
   * ovl_create_or_link: the parent is copied up; a name the upper layer has a whiteout of
   * is made in the work directory with the attributes it would have had in the parent,
   * then renamed over the whiteout (a directory: exchanged with it, made opaque, the
   * whiteout removed); any other name is made in the upper directory directly.
   */
  private createObject(dir: OvlNode, key: string, mode: number, rdev: number, target: Uint8Array | null, creds: Credentials): OvlNode {
    this.copyUp(dir);
    const pu = dir.upper!;
    const up = this.upper;
    const name = keyOf(key);
    const type = mode & S_IFMT;
    mode = this.stripSgid(dir, mode, creds);
    const maker = this.makerCreds(creds);
    if (!this.upperWhiteoutAt(dir, key)) {
      if (type === S_IFREG) up.create(pu, name, mode & 0o7777, maker).decRef();
      else if (type === S_IFDIR) up.mkdir(pu, name, mode & 0o7777, maker);
      else if (type === S_IFLNK) up.symlink(pu, name, target!, maker);
      else up.mknod(pu, name, mode, rdev, maker);
    } else {
      const attrs = this.newAttrs(pu, mode, creds);
      const tn = this.tempName();
      if (type === S_IFREG) up.create(this.workDir, tn, 0, MOUNTER).decRef();
      else if (type === S_IFDIR) up.mkdir(this.workDir, tn, 0, MOUNTER);
      else if (type === S_IFLNK) up.symlink(this.workDir, tn, target!, MOUNTER);
      else up.mknod(this.workDir, tn, type, rdev, MOUNTER);
      const temp = up.lookup(this.workDir, tn, MOUNTER);
      try {
        up.chown(temp, creds.uid, attrs.gid, MOUNTER);
        if (type !== S_IFLNK) {
          up.chmod(temp, attrs.mode & 0o7777, MOUNTER);
          if (attrs.acl) up.setxattr(temp, keyOf(ACL_ACCESS), encodeAcl(attrs.acl), 0, MOUNTER);
          if (attrs.dflt) up.setxattr(temp, keyOf(ACL_DEFAULT), encodeAcl(attrs.dflt), 0, MOUNTER);
        }
        if (type === S_IFDIR) up.setxattr(temp, keyOf(XATTR_OPAQUE), new Uint8Array([0x79]), 0, MOUNTER);
      } catch (e) {
        this.cleanupWork(tn, temp);
        temp.decRef();
        throw e;
      }
      temp.decRef();
      if (type === S_IFDIR) {
        up.rename(this.workDir, tn, pu, name, RENAME_EXCHANGE, MOUNTER);
        up.unlink(this.workDir, tn, MOUNTER);
      } else up.rename(this.workDir, tn, pu, name, 0, MOUNTER);
    }
    dir.version++;
    const made = this.child(dir, key);
    if (!made) throw new SysError('EIO', `overlay: ${key} vanished after it was made`);
    return made;
  }

  /** What tmpfs would give a new inode of `mode` in upper directory `pu` for the caller (umask or default ACL, setgid inheritance). */
  private newAttrs(pu: TmpNode, mode: number, creds: Credentials): { mode: number; gid: number; acl: PosixAcl | null; dflt: PosixAcl | null } {
    const d = pu.inode;
    const type = mode & S_IFMT;
    const isDir = type === S_IFDIR;
    let gid = creds.gid;
    let acl: PosixAcl | null = null;
    let dflt: PosixAcl | null = null;
    if (type !== S_IFLNK) {
      if (d.defaultAcl) {
        const r = aclCreate(d.defaultAcl, mode & 0o777, isDir);
        mode = (mode & ~0o777) | r.mode;
        acl = r.access;
        dflt = r.dflt;
      } else mode &= ~((creds.umask ?? 0o022) & 0o777);
    }
    if (d.mode & S_ISGID) {
      gid = d.gid;
      if (isDir) mode |= S_ISGID;
    }
    return { mode, gid, acl, dflt };
  }

  // ---- creating ----------------------------------------------------------------------------

  create(dir: OvlNode, name: Uint8Array, mode: number, creds: Credentials): OvlNode {
    const key = this.prepareCreate(dir, name, creds);
    return this.createObject(dir, key, S_IFREG | (mode & 0o7777), 0, null, creds);
  }

  /** open(O_TMPFILE): an unnamed upper file in the (copied-up) directory, held. */
  tmpfile(dir: OvlNode, mode: number, creds: Credentials, flags = 0): OvlNode {
    this.mayLookup(dir, creds);
    if (!dir.attached) throw new SysError('ENOENT', 'directory was removed');
    this.permission(dir, MAY_WRITE | MAY_EXEC, creds);
    this.copyUp(dir);
    const t = this.upper.tmpfile(dir.upper!, this.stripSgid(dir, S_IFREG | (mode & 0o7777), creds) & 0o7777, this.makerCreds(creds), flags);
    const n = new OvlNode(this, dir, '', t, [], null);
    this.nodes.born();
    dir.incRef();
    n.holdsParent = true;
    n.incRef();
    return n;
  }

  mkdir(dir: OvlNode, name: Uint8Array, mode: number, creds: Credentials): void {
    const key = this.prepareCreate(dir, name, creds);
    this.createObject(dir, key, S_IFDIR | (mode & 0o1777), 0, null, creds).decRef();
  }

  /**
   * mknod(2): the type first, then the name, then CAP_MKNOD for devices; a whiteout
   * (character device 0:0) cannot be made through an overlay (EPERM).
   */
  mknod(dir: OvlNode, name: Uint8Array, mode: number, rdev: number, creds: Credentials): void {
    const type = checkMknodType(mode);
    if (!(Number.isSafeInteger(rdev) && rdev >= 0)) throw new SysError('EINVAL', `bad device number ${rdev}`);
    const key = this.prepareCreate(dir, name, creds);
    const whiteout = type === S_IFCHR && rdev === 0;
    if ((type === S_IFCHR || type === S_IFBLK) && !whiteout && !hasCap(creds, CAP_MKNOD)) throw new SysError('EPERM', 'device nodes need CAP_MKNOD');
    if (whiteout) throw new SysError('EPERM', 'an overlay does not make whiteouts on request');
    this.createObject(dir, key, type | (mode & 0o7777), type === S_IFCHR || type === S_IFBLK ? rdev : 0, null, creds).decRef();
  }

  symlink(dir: OvlNode, name: Uint8Array, target: Uint8Array, creds: Credentials): void {
    if (target.length === 0) throw new SysError('ENOENT', 'empty symlink target');
    if (target.length >= PATH_MAX) throw new SysError('ENAMETOOLONG', `symlink target of ${target.length} bytes`);
    if (target.includes(0)) throw new SysError('EINVAL', 'symlink target holds NUL');
    const key = this.prepareCreate(dir, name, creds);
    this.createObject(dir, key, S_IFLNK | 0o777, 0, target.slice(), creds).decRef();
  }

  /**
   * link(2): the new name's checks, protected_hardlinks on the merged attributes, EPERM
   * for a directory; then the source is copied up and its upper inode linked under the
   * new name (over an upper whiteout: through the work directory). The new parent is
   * marked impure when the source has an origin.
   */
  link(existing: OvlNode, dir: OvlNode, name: Uint8Array, creds: Credentials): void {
    this.live(existing);
    const key = this.prepareCreate(dir, name, creds);
    const a = this.attrsOf(existing);
    if (this.upper.protectedHardlinks && !ownerOrCapable(creds, a) && !this.safeHardlinkSource(existing, a, creds)) {
      throw new SysError('EPERM', 'protected_hardlinks: not the owner of the source');
    }
    if (existing.isDir) throw new SysError('EPERM', 'hard link to a directory');
    if (!existing.upper && !existing.attached) throw new SysError('ENOENT', 'the file has no name left');
    this.copyUp(existing);
    this.copyUp(dir);
    if (existing.origin) this.setImpure(dir.upper!);
    const up = this.upper;
    const nm = keyOf(key);
    if (!this.upperWhiteoutAt(dir, key)) up.link(existing.upper!, dir.upper!, nm, MOUNTER);
    else {
      const tn = this.tempName();
      up.link(existing.upper!, this.workDir, tn, MOUNTER);
      up.rename(this.workDir, tn, dir.upper!, nm, 0, MOUNTER);
    }
    dir.version++;
  }

  private safeHardlinkSource(n: OvlNode, a: Attrs, creds: Credentials): boolean {
    if ((a.mode & S_IFMT) !== S_IFREG) return false;
    if (a.mode & S_ISUID) return false;
    if ((a.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) return false;
    try {
      this.permission(n, MAY_READ | MAY_WRITE, creds);
    } catch {
      return false;
    }
    return true;
  }

  // ---- removing ----------------------------------------------------------------------------

  unlink(dir: OvlNode, name: Uint8Array, creds: Credentials): void {
    this.mayLookup(dir, creds);
    const key = checkName(name);
    if (isDots(key)) throw new SysError('EISDIR', 'is a directory');
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const v = this.childHeld(dir, key);
    try {
      this.mayDelete(dir, v, false, creds);
      this.remove(dir, v, false);
    } finally {
      v.decRef();
    }
  }

  rmdir(dir: OvlNode, name: Uint8Array, creds: Credentials): void {
    this.mayLookup(dir, creds);
    const key = checkName(name);
    if (key === '.') throw new SysError('EINVAL', 'cannot remove "."');
    if (key === '..') throw new SysError('ENOTEMPTY', 'directory not empty');
    if (key.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${key.length} bytes`);
    const v = this.childHeld(dir, key);
    try {
      this.mayDelete(dir, v, true, creds);
      this.remove(dir, v, true);
    } finally {
      v.decRef();
    }
  }

  /** ovl_do_remove: see the class header; the node is detached. */
  private remove(dir: OvlNode, v: OvlNode, isDir: boolean): void {
    const positive = this.lowerPositive(v);
    let whiteouts: string[] = [];
    if (isDir && (positive || !this.pureUpper(v))) whiteouts = this.checkEmptyDir(v);
    this.copyUp(dir);
    const pu = dir.upper!;
    if (whiteouts.length) this.clearEmpty(v, whiteouts);
    if (!positive) {
      if (isDir) this.upper.rmdir(pu, keyOf(v.key), MOUNTER);
      else this.upper.unlink(pu, keyOf(v.key), MOUNTER);
    } else this.whiteoutAt(pu, v.key);
    dir.version++;
    this.nodes.detach(v);
  }

  // ---- rename ------------------------------------------------------------------------------

  private isAncestor(a: OvlNode, b: OvlNode): boolean {
    for (let n: OvlNode | null = b; n; n = n.parent) if (n === a) return true;
    return false;
  }

  /** Whether two nodes are one overlay inode (hard links of one upper inode). */
  private sameInode(a: OvlNode, b: OvlNode): boolean {
    if (a === b) return true;
    return a.upper !== null && b.upper !== null && a.upper.inode === b.upper.inode;
  }

  /**
   * renameat2(2): the VFS checks in tmpfs's (Linux's) order on the merged tree, then
   * ovl_rename: RENAME_WHITEOUT is EINVAL; a merged or lower directory cannot move
   * (EXDEV); a directory over a non-pure one must be empty (its upper whiteouts are
   * cleared); the source is copied up and leaves a whiteout when a lower layer shows its
   * name (or trades places with the target's whiteout); a pure upper directory moved
   * into a merged parent is made opaque.
   */
  rename(oldDir: OvlNode, oldName: Uint8Array, newDir: OvlNode, newName: Uint8Array, flags: number, creds: Credentials): void {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) throw new SysError('EINVAL', `bad rename flags ${flags}`);
    if (flags & RENAME_EXCHANGE && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) throw new SysError('EINVAL', 'RENAME_EXCHANGE with other flags');
    this.mayLookup(oldDir, creds);
    this.mayLookup(newDir, creds);
    const ok = checkName(oldName);
    const nk = checkName(newName);
    if (isDots(ok)) throw new SysError('EBUSY', 'cannot rename "." or ".."');
    if (isDots(nk)) throw new SysError(flags & RENAME_NOREPLACE ? 'EEXIST' : 'EBUSY', 'cannot rename onto "." or ".."');
    if (ok.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${ok.length} bytes`);
    const src = this.childHeld(oldDir, ok);
    let dst: OvlNode | null = null;
    try {
      if (nk.length > NAME_MAX) throw new SysError('ENAMETOOLONG', `name of ${nk.length} bytes`);
      dst = this.child(newDir, nk);
      const exchange = (flags & RENAME_EXCHANGE) !== 0;
      if (flags & RENAME_NOREPLACE && dst) throw new SysError('EEXIST', 'file exists');
      if (exchange && !dst) throw new SysError('ENOENT', 'no such file or directory');
      if (this.isAncestor(src, newDir)) throw new SysError('EINVAL', 'cannot move a directory into itself');
      if (dst && this.isAncestor(dst, oldDir)) throw new SysError(exchange ? 'EINVAL' : 'ENOTEMPTY', 'the target is an ancestor of the source');
      if (dst && this.sameInode(src, dst)) return;
      this.mayDelete(oldDir, src, src.isDir, creds);
      if (!dst) {
        if (!newDir.attached) throw new SysError('ENOENT', 'directory was removed');
        this.permission(newDir, MAY_WRITE | MAY_EXEC, creds);
      } else this.mayDelete(newDir, dst, exchange ? dst.isDir : src.isDir, creds);
      if (oldDir !== newDir) {
        if (src.isDir) this.permission(src, MAY_WRITE, creds);
        if (exchange && dst && dst.isDir) this.permission(dst, MAY_WRITE, creds);
      }
      this.ovlRename(oldDir, src, newDir, nk, dst, flags);
    } finally {
      dst?.decRef();
      src.decRef();
    }
  }

  private canMove(n: OvlNode): boolean {
    return !n.isDir || (n.upper !== null && !n.isMerge);
  }

  private ovlRename(oldDir: OvlNode, src: OvlNode, newDir: OvlNode, nk: string, dst: OvlNode | null, flags: number): void {
    if (flags & RENAME_WHITEOUT) throw new SysError('EINVAL', 'an overlay does not take RENAME_WHITEOUT');
    flags &= ~RENAME_NOREPLACE;
    const overwrite = !(flags & RENAME_EXCHANGE);
    const isDir = src.isDir;
    const newIsDir = dst?.isDir ?? false;
    if (!this.canMove(src)) throw new SysError('EXDEV', 'a merged or lower directory cannot be renamed (redirect_dir is off)');
    if (!overwrite && !this.canMove(dst!)) throw new SysError('EXDEV', 'a merged or lower directory cannot be renamed (redirect_dir is off)');
    let whiteouts: string[] = [];
    if (overwrite && dst && newIsDir && !this.pureUpper(dst)) whiteouts = this.checkEmptyDir(dst);
    const newIsWhiteout = !dst && this.upperWhiteoutAt(newDir, nk);
    let cleanupWhiteout = false;
    if (overwrite) {
      if (this.lowerPositive(src)) flags |= newIsWhiteout ? RENAME_EXCHANGE : RENAME_WHITEOUT;
      else if (isDir && newIsWhiteout) {
        flags |= RENAME_EXCHANGE;
        cleanupWhiteout = true;
      }
    }
    this.copyUp(src);
    this.copyUp(newDir);
    if (!overwrite) this.copyUp(dst!);
    if (whiteouts.length) this.clearEmpty(dst!, whiteouts);
    const ou = oldDir.upper!;
    const nu = newDir.upper!;
    if (oldDir !== newDir) {
      if (src.origin) this.setImpure(nu);
      if (!overwrite && dst!.origin) this.setImpure(ou);
    }
    if (isDir && !src.opaque && newDir.isMerge) {
      this.upper.setxattr(src.upper!, keyOf(XATTR_OPAQUE), new Uint8Array([0x79]), 0, MOUNTER);
      src.opaque = true;
    }
    if (!overwrite && newIsDir && !dst!.opaque && oldDir.isMerge) {
      this.upper.setxattr(dst!.upper!, keyOf(XATTR_OPAQUE), new Uint8Array([0x79]), 0, MOUNTER);
      dst!.opaque = true;
    }
    const okey = keyOf(src.key);
    this.upper.rename(ou, okey, nu, keyOf(nk), flags, MOUNTER);
    if (cleanupWhiteout) this.upper.unlink(ou, okey, MOUNTER);
    oldDir.version++;
    newDir.version++;
    if (dst && !overwrite) {
      this.nodes.exchange(src, dst);
      return;
    }
    if (dst) this.nodes.detach(dst);
    this.nodes.move(src, newDir, nk);
  }

  // ---- attributes --------------------------------------------------------------------------

  /** chmod(2): the owner or CAP_FOWNER (EPERM) before the copy-up; S_ISGID dropped outside the group without CAP_FSETID. */
  chmod(n: OvlNode, mode: number, creds: Credentials): void {
    this.live(n);
    const a = this.attrsOf(n);
    if (!ownerOrCapable(creds, a)) throw new SysError('EPERM', 'only the owner may chmod');
    let m = mode & 0o7777;
    if (!inGroup(creds, a.gid) && !hasCap(creds, CAP_FSETID)) m &= ~S_ISGID;
    this.copyUp(n);
    this.upper.chmod(n.upper!, m, MOUNTER);
  }

  /** chown(2): Linux's chown_ok on the merged object first (EPERM, EINVAL), then the upper object with the caller's credentials. */
  chown(n: OvlNode, uid: number, gid: number, creds: Credentials): void {
    this.live(n);
    const a = this.attrsOf(n);
    const newUid = uid === -1 || uid === 0xffffffff ? a.uid : uid;
    const newGid = gid === -1 || gid === 0xffffffff ? a.gid : gid;
    if (!(Number.isInteger(newUid) && newUid >= 0 && Number.isInteger(newGid) && newGid >= 0 && newUid < 2 ** 32 && newGid < 2 ** 32)) throw new SysError('EINVAL', 'bad id');
    const capChown = hasCap(creds, CAP_CHOWN);
    if (uid !== -1 && uid !== 0xffffffff && !(creds.uid === a.uid && newUid === a.uid) && !capChown) throw new SysError('EPERM', 'changing the owner needs CAP_CHOWN');
    if (gid !== -1 && gid !== 0xffffffff && !((creds.uid === a.uid && (newGid === a.gid || inGroup(creds, newGid))) || capChown)) {
      throw new SysError('EPERM', 'changing the group needs CAP_CHOWN or membership');
    }
    this.copyUp(n);
    this.upper.chown(n.upper!, uid, gid, creds);
  }

  /** utimensat(2): both UTIME_OMIT does nothing (no copy-up); the permission rules on the merged object, then the upper one. */
  utimes(n: OvlNode, times: readonly [Timespec, Timespec] | null, creds: Credentials): void {
    this.live(n);
    if (times) {
      for (const t of times) {
        if (t.nsec !== UTIME_OMIT && t.nsec !== UTIME_NOW && !(Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec <= 999_999_999)) throw new SysError('EINVAL', `bad nanoseconds ${t.nsec}`);
      }
      if (times[0].nsec === UTIME_OMIT && times[1].nsec === UTIME_OMIT) return;
    }
    const touch = !times || (times[0].nsec === UTIME_NOW && times[1].nsec === UTIME_NOW);
    const a = this.attrsOf(n);
    if (!ownerOrCapable(creds, a)) {
      if (!touch) throw new SysError('EPERM', 'only the owner may set explicit times');
      this.permission(n, MAY_WRITE, creds);
    }
    this.copyUp(n);
    this.upper.utimes(n.upper!, times, MOUNTER);
  }

  /** truncate(2): EINVAL, EISDIR, EINVAL for a non-regular file, write permission (EACCES), then the copy-up. */
  truncate(n: OvlNode, length: number, creds: Credentials): void {
    this.live(n);
    if (!(length >= 0)) throw new SysError('EINVAL', 'negative length');
    if (n.isDir) throw new SysError('EISDIR', 'is a directory');
    if (n.type !== S_IFREG) throw new SysError('EINVAL', 'not a regular file');
    this.permission(n, MAY_WRITE, creds);
    this.copyUp(n);
    this.upper.truncate(n.upper!, length, creds);
  }

  /** Times of a fifo's data moving: the upper object's (a lower one has none to change). */
  touch(n: OvlNode, what: 'read' | 'write'): void {
    this.live(n);
    if (n.upper) this.upper.touch(n.upper, what);
  }

  sync(): void {
    if (this.released) throw new SysError('EIO', 'filesystem released');
  }

  // ---- statistics and release ------------------------------------------------------------

  stats(): { nodes: number; parked: number; evictions: number } {
    return { nodes: this.nodes.live, parked: this.nodes.size, evictions: this.nodes.evictions };
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * Unmount: every cached node gives its real nodes back; EBUSY while a node is held from
   * outside. The upper tmpfs and the layers are released too (unless released already).
   */
  release(): void {
    if (this.released) throw new Error('filesystem released twice');
    this.nodes.trim(0);
    if (this.root.refs > 1 || this.root.children) throw new SysError('EBUSY', 'overlay nodes still held');
    this.released = true;
    this.root.refs = 0;
    this.nodes.drop(this.root);
    this.workDir.decRef();
    this.upperDir.decRef();
    if (!this.upper.isReleased) this.upper.release();
    for (const l of this.layers) {
      const fs = l.fs as AnyFilesystem & { isReleased?: boolean };
      if (fs.isReleased !== true) {
        try {
          fs.release();
        } catch {
          /* shared with another user, or busy: its owner releases it */
        }
      }
    }
  }
}

export type { MergedEntry };
