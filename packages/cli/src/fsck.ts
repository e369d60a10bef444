import {
  ErofsError, ExtentKind, FT, compareNames, S_IFMT, S_IFDIR, S_IFLNK, S_IFREG,
  decodeName, fileTypeOfMode, formatNid, isErofsError, type DirEntry, type Image, type Inode,
} from '@erofs-js/erofs';

export interface FsckReport {
  inodes: number;
  directories: number;
  files: number;
  symlinks: number;
  special: number;
  dataBytes: number;
  xattrs: number;
  errors: string[];
  /** True when the error list was cut at the limit. */
  truncated: boolean;
}

const DOT = 0x2e;
const isDot = (n: Uint8Array) => n.length === 1 && n[0] === DOT;
const isDotDot = (n: Uint8Array) => n.length === 2 && n[0] === DOT && n[1] === DOT;

/** Escapes control characters (C0, DEL) as \xHH so that an error line cannot be split or rewritten by a file name. */
function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * Decodes every inode, directory entry, xattr and byte of file data reachable from the
 * root, checking what the format requires (sorted unique names, dirent types matching
 * inodes, "." and ".." pointing at the right directories, no directory reached twice).
 * Errors are collected per object so one bad file does not hide the rest; the walk is
 * bounded by the image's own structures, so a hostile image cannot make it loop.
 */
export function fsck(image: Image, options: { maxErrors?: number; onProgress?: (n: number) => void } = {}): FsckReport {
  const maxErrors = options.maxErrors ?? 20;
  const r: FsckReport = { inodes: 0, directories: 0, files: 0, symlinks: 0, special: 0, dataBytes: 0, xattrs: 0, errors: [], truncated: false };
  const fail = (path: string, e: unknown) => {
    // Anything but an ErofsError is a bug (or a failing source): rethrow it before the
    // error cap, which used to swallow it once maxErrors was reached (packages/cli/src/fsck.test.ts).
    if (!isErofsError(e)) throw e;
    if (r.errors.length >= maxErrors) {
      r.truncated = true;
      return;
    }
    // oneLine: a name may hold a newline (basic fixtures have "/names/new\nline"), and an
    // error must stay one line (fix found by tests/mutation.test.ts).
    r.errors.push(oneLine(`${path}: ${e.code}: ${e.message}`));
  };
  const seenDirs = new Set<number>();
  const checkedNids = new Set<number>();
  const buf = new Uint8Array(1 << 16);

  const checkInodeBody = (inode: Inode) => {
    r.xattrs += image.listXattrs(inode).length;
    const t = inode.mode & S_IFMT;
    if (t === S_IFREG || t === S_IFDIR || t === S_IFLNK) {
      // Walk the extents: holes cost nothing, data is read through.
      for (let off = 0; off < inode.size; ) {
        const ext = image.map(inode, off);
        const end = Math.min(inode.size, ext.logical + ext.length);
        if (ext.kind !== ExtentKind.Hole) {
          for (let p = off; p < end; ) {
            const n = image.read(inode, p, buf, 0, Math.min(buf.length, end - p));
            if (n <= 0) throw new ErofsError('EUCLEAN', `inode ${formatNid(inode.nid)}`, inode.pos, `short read at ${p}`);
            p += n;
          }
          r.dataBytes += end - off;
        }
        off = end;
      }
    }
    if (t === S_IFLNK) image.readlink(inode);
  };

  type Todo = { path: string; inode: Inode; parentNid: number };
  const root = image.root();
  const todo: Todo[] = [{ path: '/', inode: root, parentNid: root.nid }];
  seenDirs.add(root.nid);
  let visited = 0;
  while (todo.length) {
    const { path, inode: dir, parentNid } = todo.pop()!;
    try {
      r.inodes++;
      r.directories++;
      checkedNids.add(dir.nid);
      checkInodeBody(dir);
    } catch (e) {
      fail(path, e);
      continue;
    }
    let prev: Uint8Array | undefined;
    let sawDot = dir.dotOmitted;
    let sawDotDot = false;
    const children: Todo[] = [];
    try {
      for (const d of image.readdir(dir)) {
        if (prev && compareNames(prev, d.name) >= 0) {
          throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, `name "${decodeName(d.name)}" is not after "${decodeName(prev)}" (names must be sorted and unique)`);
        }
        prev = d.name;
        if (d.fileType > FT.SYMLINK) {
          throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, `file type ${d.fileType} is not defined`);
        }
        if (isDot(d.name) || isDotDot(d.name)) {
          const want = isDot(d.name) ? dir.nid : parentNid;
          if (d.nid !== want) {
            throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, `"${decodeName(d.name)}" points at nid ${formatNid(d.nid)}, expected ${formatNid(want)}`);
          }
          if (isDot(d.name)) sawDot = true;
          else sawDotDot = true;
          continue;
        }
        if (d.name.includes(0x2f) || d.name.includes(0)) {
          throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, 'name contains "/" or NUL');
        }
        const childPath = (path === '/' ? '/' : path + '/') + decodeName(d.name);
        try {
          checkChild(d, childPath);
        } catch (e) {
          fail(childPath, e);
        }
      }
      if (!sawDot || !sawDotDot) {
        throw new ErofsError('EUCLEAN', `directory ${formatNid(dir.nid)}`, dir.pos, `missing "${sawDot ? '..' : '.'}" entry`);
      }
    } catch (e) {
      fail(path, e);
    }
    // Depth first, children in on-disk order.
    for (let i = children.length - 1; i >= 0; i--) todo.push(children[i]);
    options.onProgress?.(++visited);

    function checkChild(d: DirEntry, childPath: string): void {
      const inode = image.inode(d.nid);
      if (d.fileType !== fileTypeOfMode(inode.mode)) {
        throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, `file type ${d.fileType} disagrees with inode ${formatNid(inode.nid)} mode 0${inode.mode.toString(8)}`);
      }
      const t = inode.mode & S_IFMT;
      if (t === S_IFDIR) {
        if (seenDirs.has(inode.nid)) {
          throw new ErofsError('EUCLEAN', `dirent of directory ${formatNid(dir.nid)}`, d.offset, `directory ${formatNid(inode.nid)} is reachable twice (a cycle or a directory hard link)`);
        }
        seenDirs.add(inode.nid);
        children.push({ path: childPath, inode, parentNid: dir.nid });
        return;
      }
      // Hard links: check each inode's body once.
      if (checkedNids.has(inode.nid)) return;
      checkedNids.add(inode.nid);
      r.inodes++;
      if (t === S_IFREG) r.files++;
      else if (t === S_IFLNK) r.symlinks++;
      else r.special++;
      checkInodeBody(inode);
    }
  }
  return r;
}
