/**
 * `erofs extract`: writes an image's tree into a host directory.
 *
 * The image is hostile input, and the host directory is somebody's real disk. What this
 * module guarantees, whatever the image holds: nothing is created, followed or changed
 * outside DIR. How:
 *
 * - Names stay bytes from the image to the system call. Node takes `Buffer` paths for every
 *   call used here; a string conversion is where a name turns into a different name (the
 *   old code's latin1 round trip through a tool's UTF-8 argv let an image plant a symlink
 *   under the mangled name and have a tool write through it).
 * - The walk refuses unsorted or repeated names (EUCLEAN), so each name is made once, and
 *   every creation is exclusive (`mkdir`, `O_CREAT|O_EXCL|O_NOFOLLOW`, `symlink`, `link`
 *   fail on an existing name): nothing the image made earlier can be written through.
 * - Before a child is made, its parent path is checked with `lstat` to be the directory this
 *   extraction made (device and inode number recorded at its mkdir), not a symlink.
 * - Metadata goes through descriptors where one exists (`fchown`, `fchmod`, `futimes` on
 *   files and on directories opened with `O_DIRECTORY|O_NOFOLLOW`), and through calls that
 *   do not follow links otherwise (`lchown`, `lutimes`); a symlink's mode is never changed
 *   (Linux has no lchmod).
 * - The two outside tools, `mknod` (Node cannot make fifos or devices) and `setfattr`
 *   (Node cannot set xattrs), never see an image name: they get `/proc/self/fd/0` (the
 *   file or directory itself, passed as their stdin) or `/proc/self/fd/0/NAME` with NAME
 *   an ASCII name of ours; the node is then linked to its real name with `link(2)`, which
 *   does not overwrite. An xattr name that is not valid UTF-8 cannot go through argv
 *   unchanged and is skipped (counted in the report).
 * - Setuid and setgid bits are kept, and block and character devices made, only when
 *   running as root and asked to (`samePermissions`, `devices`; tar's convention); otherwise
 *   the bits are cleared and devices skipped, each noted in the report.
 */
import {
  closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, linkSync, lchownSync, lstatSync,
  lutimesSync, mkdirSync, openSync, symlinkSync, chmodSync, ftruncateSync, unlinkSync, writeSync,
  type BigIntStats,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  ExtentKind, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  splitDev, walk, type Image, type Inode,
} from '@erofs-js/erofs';

export interface ExtractOptions {
  /** Keep setuid and setgid bits (honoured only as root, like tar's --same-permissions). */
  samePermissions?: boolean;
  /** Make block and character devices (honoured only as root). */
  devices?: boolean;
  /** Called with the number of entries done so far. */
  onProgress?: (n: number) => void;
}

export interface ExtractReport {
  dirs: number;
  files: number;
  hardlinks: number;
  symlinks: number;
  /** Fifos and devices made. */
  special: number;
  /** Host paths of entries not made: sockets, devices (not asked for, or not root), empty symlink targets. */
  skipped: string[];
  /** One line per thing not written as the image has it, with the reason. */
  notes: string[];
  /** Entries whose setuid/setgid bits were cleared. */
  setidCleared: number;
  xattrsSet: number;
  xattrsSkipped: number;
}

const S_ISID = 0o6000;
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const SLASH = Buffer.from('/');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A timestamp for fs.utimes/futimes/lutimes. Node replaces a negative number of seconds
 * with the current time (a Date it passes through), which put "now" on every pre-1970
 * file (found by packages/cli/src/main.test.ts). Before 1970 the time goes in as a Date,
 * floored to the millisecond so the whole second survives libuv's rounding; later times
 * stay plain seconds (libuv keeps microseconds).
 */
function fsTime(sec: number, nsec: number): number | Date {
  if (sec >= 0) return sec + nsec / 1e9;
  return new Date(Math.max(-8.64e15, sec * 1000 + Math.floor(nsec / 1e6))); // clamped to the Date range
}

interface MadeDir {
  p: Buffer;
  dev: bigint;
  ino: bigint;
  inode: Inode;
}

const sameNode = (st: BigIntStats, d: MadeDir) => st.dev === d.dev && st.ino === d.ino;

/** What one extraction knows: options in effect, the directories it made, the report. */
class Extraction {
  readonly isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  readonly keepSetid: boolean;
  readonly makeDevices: boolean;
  readonly dirs = new Map<number, MadeDir>();
  readonly order: MadeDir[] = [];
  readonly linked = new Map<number, Buffer>();
  readonly buf = new Uint8Array(1 << 20);
  readonly report: ExtractReport = {
    dirs: 0, files: 0, hardlinks: 0, symlinks: 0, special: 0, skipped: [], notes: [], setidCleared: 0, xattrsSet: 0, xattrsSkipped: 0,
  };
  private setfattrMissing = false;
  private verified: MadeDir | undefined;
  private tmpSeq = 0;

  constructor(readonly image: Image, options: ExtractOptions) {
    this.keepSetid = this.isRoot && options.samePermissions === true;
    this.makeDevices = this.isRoot && options.devices === true;
  }

  /** Mode bits to apply: the image's, less setuid/setgid unless they are kept. */
  mode(inode: Inode, p: Buffer): number {
    const m = inode.mode & 0o7777;
    if (this.keepSetid || (m & S_ISID) === 0) return m;
    this.report.setidCleared++;
    this.note(p, `setuid/setgid bits cleared (mode 0${m.toString(8)})`);
    return m & ~S_ISID;
  }

  note(p: Buffer, why: string): void {
    this.report.notes.push(`${p.toString()}: ${why}`);
  }

  skip(p: Buffer, why: string): void {
    this.report.skipped.push(p.toString());
    this.note(p, why);
  }

  /** Records a directory this extraction made (or the destination), after checking it with lstat. */
  madeDir(p: Buffer, inode: Inode): MadeDir {
    const st = lstatSync(p, { bigint: true });
    if (!st.isDirectory()) throw hostError('ENOTDIR', `${p.toString()} is not a directory`);
    const d = { p, dev: st.dev, ino: st.ino, inode };
    this.dirs.set(inode.nid, d);
    this.order.push(d);
    return d;
  }

  /** The directory made for `parent`, checked to still be that directory (not a symlink put in its place). */
  parentOf(parent: Inode): MadeDir {
    const d = this.dirs.get(parent.nid);
    if (!d) throw hostError('EIO', `directory ${parent.nid} was not made`);
    if (this.verified !== d) {
      const st = lstatSync(d.p, { bigint: true });
      if (!st.isDirectory() || !sameNode(st, d)) throw hostError('EXDEV', `${d.p.toString()} is no longer the directory extract made`);
      this.verified = d;
    }
    return d;
  }

  /** Opens a directory this extraction made, without following a link, and checks it is that directory. */
  openDir(d: MadeDir): number {
    const fd = openSync(d.p, O_DIR);
    const st = fstatSync(fd, { bigint: true });
    if (!sameNode(st, d)) {
      closeSync(fd);
      throw hostError('EXDEV', `${d.p.toString()} is no longer the directory extract made`);
    }
    return fd;
  }

  /**
   * Runs `tool` with `fd` as its stdin, so that `/proc/self/fd/0` in its arguments is the
   * open file or directory itself. Returns false when the tool failed.
   */
  run(tool: string, args: string[], fd: number): boolean {
    const r = spawnSync(tool, args, { stdio: [fd, 'ignore', 'ignore'] });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT' && tool === 'setfattr') this.setfattrMissing = true;
    return !r.error && r.status === 0;
  }

  /** Sets the inode's xattrs on `target` (a /proc/self/fd/0 path; `noFollow` when it names a symlink). */
  xattrs(inode: Inode, fd: number, target: string, noFollow: boolean, p: Buffer): void {
    const xs = this.image.listXattrs(inode);
    for (const x of xs) {
      let name: string;
      try {
        name = utf8.decode(x.nameBytes);
      } catch {
        this.report.xattrsSkipped++;
        this.note(p, `xattr ${x.name} skipped: its name is not UTF-8, so setfattr cannot be given it unchanged`);
        continue;
      }
      if (this.setfattrMissing) {
        this.report.xattrsSkipped++;
        continue;
      }
      // setfattr takes the value as base64 after "0s" (it refuses an empty "0s": an empty
      // value is no -v at all); -h: do not follow a symlink.
      const value = x.value.length ? ['-v', '0s' + Buffer.from(x.value).toString('base64')] : [];
      const args = [...(noFollow ? ['-h'] : []), '-n', name, ...value, target];
      if (this.run('setfattr', args, fd)) this.report.xattrsSet++;
      else {
        this.report.xattrsSkipped++;
        this.note(p, this.setfattrMissing ? 'xattrs skipped: setfattr (package attr) is not installed' : `xattr ${name} could not be set`);
      }
    }
  }

  /**
   * Makes a node under a fresh ASCII name of ours in `dir` with `make`, which gets the
   * name's `/proc/self/fd/0/NAME` form (the directory's descriptor is the tool's stdin)
   * and its host path, sets it up with `finish`, then links it to its real name (which
   * must not exist) and removes the temporary name.
   */
  viaTemp(dir: MadeDir, p: Buffer, make: (procPath: string, tmp: Buffer, dirFd: number) => boolean, finish: (tmp: Buffer, procPath: string, dirFd: number) => void): boolean {
    const dirFd = this.openDir(dir);
    try {
      for (let attempt = 0; ; attempt++) {
        const name = `.erofs-extract-${process.pid}-${this.tmpSeq++}`;
        const tmp = Buffer.concat([dir.p, SLASH, Buffer.from(name)]);
        let exists = false;
        try {
          lstatSync(tmp);
          exists = true;
        } catch {
          // Free: the usual case.
        }
        if (exists) {
          if (attempt > 100) throw hostError('EEXIST', `${dir.p.toString()}: no free temporary name`);
          continue;
        }
        const procPath = `/proc/self/fd/0/${name}`;
        if (!make(procPath, tmp, dirFd)) return false;
        try {
          const st = lstatSync(tmp);
          if (st.isDirectory()) throw hostError('EEXIST', `${tmp.toString()}: not the node extract made`);
          finish(tmp, procPath, dirFd);
          linkSync(tmp, p);
        } finally {
          unlinkSync(tmp);
        }
        return true;
      }
    } finally {
      closeSync(dirFd);
    }
  }

  dir(p: Buffer, inode: Inode, parent: Inode | undefined): void {
    if (parent) {
      this.parentOf(parent);
      mkdirSync(p, 0o700);
    }
    this.madeDir(p, inode);
    this.report.dirs++;
  }

  file(p: Buffer, inode: Inode, parent: Inode): void {
    this.parentOf(parent);
    if (inode.nlink > 1) {
      const first = this.linked.get(inode.nid);
      if (first) {
        linkSync(first, p);
        this.report.hardlinks++;
        return;
      }
      this.linked.set(inode.nid, p);
    }
    const fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const { image, buf } = this;
      for (let off = 0; off < inode.size; ) {
        const ext = image.map(inode, off);
        const end = Math.min(inode.size, ext.logical + ext.length);
        if (ext.kind !== ExtentKind.Hole) {
          for (let q = off; q < end; ) {
            const got = image.read(inode, q, buf, 0, Math.min(buf.length, end - q));
            writeSync(fd, buf, 0, got, q);
            q += got;
          }
        }
        off = end;
      }
      ftruncateSync(fd, inode.size); // holes at the end
      // Owner before mode: chown clears setuid/setgid.
      if (this.isRoot) fchownSync(fd, inode.uid, inode.gid);
      fchmodSync(fd, this.mode(inode, p));
      this.xattrs(inode, fd, '/proc/self/fd/0', false, p);
      futimesSync(fd, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
    } finally {
      closeSync(fd);
    }
    this.report.files++;
  }

  symlink(p: Buffer, inode: Inode, parent: Inode): void {
    const target = this.image.readlink(inode);
    // A crafted image's link may read as empty (its body starts with a NUL): symlink(2)
    // refuses an empty target, so the host cannot hold it.
    if (target.length === 0) {
      this.skip(p, 'symlink with an empty target');
      return;
    }
    const dir = this.parentOf(parent);
    const time = fsTime(inode.mtime, inode.mtimeNsec);
    const setup = (q: Buffer) => {
      if (this.isRoot) lchownSync(q, inode.uid, inode.gid);
      lutimesSync(q, time, time);
    };
    if (inode.xattrIcount === 0) {
      symlinkSync(Buffer.from(target), p);
      setup(p);
    } else {
      this.viaTemp(dir, p, (_proc, tmp) => (symlinkSync(Buffer.from(target), tmp), true), (tmp, proc, dirFd) => {
        setup(tmp);
        this.xattrs(inode, dirFd, proc, true, p);
      });
    }
    this.report.symlinks++;
  }

  special(p: Buffer, inode: Inode, parent: Inode, t: number): void {
    if (t === S_IFSOCK) {
      this.skip(p, 'socket: a host cannot make one without a listener');
      return;
    }
    if ((t === S_IFCHR || t === S_IFBLK) && !this.makeDevices) {
      this.skip(p, this.isRoot ? 'device skipped (--devices not given)' : 'device skipped (needs root)');
      return;
    }
    const kind = t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : 'p';
    const dir = this.parentOf(parent);
    const mode = this.mode(inode, p);
    const time = fsTime(inode.mtime, inode.mtimeNsec);
    const made = this.viaTemp(dir, p, (proc, _tmp, dirFd) => {
      const args = ['-m', '0600', proc, kind];
      if (kind !== 'p') {
        const { major, minor } = splitDev(inode.rdev);
        args.push(String(major), String(minor));
      }
      return this.run('mknod', args, dirFd);
    }, (tmp, proc, dirFd) => {
      const st = lstatSync(tmp);
      if (!(kind === 'p' ? st.isFIFO() : kind === 'c' ? st.isCharacterDevice() : st.isBlockDevice())) {
        throw hostError('EEXIST', `${tmp.toString()}: not the node extract made`);
      }
      if (this.isRoot) lchownSync(tmp, inode.uid, inode.gid);
      chmodSync(tmp, mode); // a fifo or device of ours, checked above: chmod does not open it
      this.xattrs(inode, dirFd, proc, true, p);
      lutimesSync(tmp, time, time);
    });
    if (!made) {
      this.skip(p, 'mknod failed');
      return;
    }
    this.report.special++;
  }

  /** Directory attributes last, deepest first: adding entries changes a directory's mtime, and a read-only mode would stop us adding them. */
  finishDirs(): void {
    for (let i = this.order.length - 1; i >= 0; i--) {
      const d = this.order[i];
      const { inode } = d;
      const fd = this.openDir(d);
      try {
        if (this.isRoot) fchownSync(fd, inode.uid, inode.gid);
        fchmodSync(fd, this.mode(inode, d.p));
        this.xattrs(inode, fd, '/proc/self/fd/0', false, d.p);
        futimesSync(fd, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
      } finally {
        closeSync(fd);
      }
    }
  }
}

/** An error shaped like Node's own (a string `code`), so the CLI reports it as a host error. */
function hostError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: extract: ${message}`), { code });
}

/**
 * Writes the image's tree under `dest` (created if missing; names in it must not exist).
 * See the module comment for what is guaranteed against a hostile image.
 */
export function extract(image: Image, dest: string, options: ExtractOptions = {}): ExtractReport {
  const x = new Extraction(image, options);
  const base = Buffer.from(dest);
  mkdirSync(base, { recursive: true });
  let n = 0;
  walk(image, (e) => {
    const p = e.path.length === 1 ? base : Buffer.concat([base, e.path]);
    const inode = e.inode;
    const t = inode.mode & S_IFMT;
    options.onProgress?.(++n);
    if (t === S_IFDIR) x.dir(p, inode, e.parent);
    else if (t === S_IFREG) x.file(p, inode, e.parent!);
    else if (t === S_IFLNK) x.symlink(p, inode, e.parent!);
    else x.special(p, inode, e.parent!, t);
  }, { sorted: true });
  x.finishDirs();
  return x.report;
}
