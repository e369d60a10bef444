import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync,
  lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync, chmodSync, chownSync, ftruncateSync, writeSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  ExtentKind, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  splitDev, walk, type Image, type Inode,
} from '@erofs-js/erofs';

export interface ExtractReport {
  dirs: number;
  files: number;
  hardlinks: number;
  symlinks: number;
  special: number;
  /** Host paths of entries the host cannot hold: sockets, devices without root, empty symlink targets. */
  skipped: string[];
  xattrsSet: number;
  xattrsSkipped: number;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

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

function joinPath(base: Buffer, rel: Uint8Array): Buffer {
  return rel.length === 1 ? base : Buffer.concat([base, rel]);
}

let setfattrMissing = false;
function setXattrs(image: Image, inode: Inode, p: Buffer, report: ExtractReport): void {
  const xs = image.listXattrs(inode);
  for (const x of xs) {
    if (setfattrMissing) {
      report.xattrsSkipped++;
      continue;
    }
    try {
      // Node has no setxattr; setfattr (Debian package "attr") takes the value as base64 after "0s".
      execFileSync('setfattr', ['-h', '-n', x.name, '-v', '0s' + Buffer.from(x.value).toString('base64'), p.toString('latin1')], {
        stdio: 'ignore',
      });
      report.xattrsSet++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') setfattrMissing = true;
      report.xattrsSkipped++;
    }
  }
}

/**
 * Writes the image's tree under `dest` (created if missing; must be empty if present).
 * Every created path is made by us: directories are real directories we created, files
 * are opened with O_EXCL|O_NOFOLLOW, so a hostile image cannot write outside `dest`.
 */
export function extract(image: Image, dest: string, onProgress?: (n: number) => void): ExtractReport {
  const report: ExtractReport = { dirs: 0, files: 0, hardlinks: 0, symlinks: 0, special: 0, skipped: [], xattrsSet: 0, xattrsSkipped: 0 };
  const base = Buffer.from(dest);
  mkdirSync(base, { recursive: true });
  const dirs: { p: Buffer; inode: Inode }[] = [];
  const linked = new Map<number, Buffer>();
  const buf = new Uint8Array(1 << 20);
  let n = 0;
  walk(image, (e) => {
    const p = joinPath(base, e.path);
    const inode = e.inode;
    const t = inode.mode & S_IFMT;
    onProgress?.(++n);
    if (t === S_IFDIR) {
      if (e.path.length !== 1) mkdirSync(p, 0o700);
      else if (!lstatSync(p).isDirectory()) throw new Error(`${dest} is not a directory`);
      dirs.push({ p, inode });
      report.dirs++;
      return;
    }
    if (t === S_IFREG && inode.nlink > 1) {
      const first = linked.get(inode.nid);
      if (first) {
        linkSync(first, p);
        report.hardlinks++;
        return;
      }
      linked.set(inode.nid, p);
    }
    if (t === S_IFREG) {
      const fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
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
        if (isRoot) fchownSync(fd, inode.uid, inode.gid);
        fchmodSync(fd, inode.mode & 0o7777);
        futimesSync(fd, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
      } finally {
        closeSync(fd);
      }
      setXattrs(image, inode, p, report);
      report.files++;
      return;
    }
    if (t === S_IFLNK) {
      const target = image.readlink(inode);
      // A crafted image's link may read as empty (its body starts with a NUL): symlink(2)
      // refuses an empty target, so the host cannot hold it; skipped like a socket.
      if (target.length === 0) {
        report.skipped.push(p.toString());
        return;
      }
      symlinkSync(Buffer.from(target), p);
      if (isRoot) lchownSync(p, inode.uid, inode.gid);
      lutimesSync(p, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
      setXattrs(image, inode, p, report);
      report.symlinks++;
      return;
    }
    // Devices need root; fifos do not; sockets cannot be made without a listener.
    const kind = t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : null;
    if (t === S_IFSOCK || !kind || (kind !== 'p' && !isRoot)) {
      report.skipped.push(p.toString());
      return;
    }
    const args = ['-m', (inode.mode & 0o7777).toString(8), p.toString('latin1'), kind];
    if (kind !== 'p') {
      const { major, minor } = splitDev(inode.rdev);
      args.push(String(major), String(minor));
    }
    try {
      execFileSync('mknod', args, { stdio: 'ignore' });
    } catch {
      report.skipped.push(p.toString());
      return;
    }
    if (isRoot) lchownSync(p, inode.uid, inode.gid);
    chmodSync(p, inode.mode & 0o7777);
    utimesSync(p, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
    setXattrs(image, inode, p, report);
    report.special++;
  });
  // Directory attributes last, deepest first: adding entries changes a directory's mtime,
  // and a read-only mode would stop us adding them.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const { p, inode } = dirs[i];
    if (isRoot) chownSync(p, inode.uid, inode.gid);
    chmodSync(p, inode.mode & 0o7777);
    setXattrs(image, inode, p, report);
    utimesSync(p, fsTime(inode.mtime, inode.mtimeNsec), fsTime(inode.mtime, inode.mtimeNsec));
  }
  return report;
}
