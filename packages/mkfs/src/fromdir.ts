/**
 * Node only: a directory on disk as a build source, and images written to files.
 *
 *   scanDirectory(root)          lstat of every entry into an InodeTable (table.ts); file
 *                                content stays on disk and is read when the image is written
 *   buildImageFile(root, dest)   scan + build straight into a file (what `erofs mkfs` does)
 *   treeFromDirectory(root)      the same scan as an object tree with contents in memory
 *
 * Hard links (same dev and ino) become one inode. Extended attributes come from one
 * `getfattr -R` over the tree when getfattr is installed (Node has no listxattr);
 * `xattrs: false` skips them.
 */
import { closeSync, constants, type BigIntStats, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { buildImageTo, type BuildOptions, type ImageSink } from './builder.js';
import { BuildError, InodeTable, FILE, DIR, SYMLINK, CHARDEV, BLOCKDEV, type BuildSource, type ContentSource } from './table.js';
import type { DirNode, NodeMeta, NodeType, TreeNode, XattrMap } from './tree.js';

export interface FromDirOptions {
  /** Read extended attributes with getfattr (default true; silently none when getfattr is missing). */
  xattrs?: boolean;
}

/** A scanned directory: the table, and content read from the files by path. */
export interface ScannedDirectory extends BuildSource {
  /** Path bytes of inode `ino` (its first link). */
  path(ino: number): Buffer;
  /** Closes the file the content reader holds open. */
  close(): void;
}

const SLASH = Buffer.from('/');

/** getfattr's escapes in a "# file:" line (\ooo octal, \\ for a backslash) undone, as latin1. */
function unescapeName(s: string): string {
  return s.replace(/\\(\\|[0-7]{3})/g, (_, x: string) => (x === '\\' ? '\\' : String.fromCharCode(parseInt(x, 8))));
}

/** Every xattr under `root`, by path (latin1 of its bytes), via one `getfattr -R -h -d -m - -e base64`. */
function readXattrs(root: string): Map<string, XattrMap> {
  const out = new Map<string, XattrMap>();
  const r = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', root], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  if (r.error) return out;
  let cur: XattrMap | undefined;
  for (const line of r.stdout.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = {};
      out.set(unescapeName(line.slice(8)), cur);
      continue;
    }
    if (!cur) continue;
    // Names are printed as their bytes; values in base64 ("0s...") or as text when empty.
    const m = /^([^#=][^=]*)=0s(.*)$/.exec(line);
    if (m) cur[Buffer.from(m[1], 'latin1').toString('utf8')] = new Uint8Array(Buffer.from(m[2], 'base64'));
    else {
      const e = /^([^#=][^=]*)(?:="(.*)")?$/.exec(line);
      if (e && e[1]) cur[Buffer.from(e[1], 'latin1').toString('utf8')] = new Uint8Array(Buffer.from(e[2] ?? '', 'latin1'));
    }
  }
  return out;
}

let getfattrWorks: boolean | undefined;
function haveGetfattr(): boolean {
  if (getfattrWorks === undefined) getfattrWorks = !spawnSync('getfattr', ['--version']).error;
  return getfattrWorks;
}

/** Stat fields of a bigint lstat as NodeMeta (mtime split into seconds and nanoseconds, floored). */
function metaOf(st: BigIntStats): NodeMeta {
  const ns = st.mtimeNs;
  const sec = ns / 1_000_000_000n - (ns < 0n && ns % 1_000_000_000n !== 0n ? 1n : 0n);
  return {
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: Number(sec),
    mtimeNsec: Number(ns - sec * 1_000_000_000n),
  };
}

/**
 * Scans the tree under `root` (a directory) breadth first, each directory's names in
 * bytewise order: about 70 bytes of table per entry plus its name, no file content.
 */
export function scanDirectory(root: string, options: FromDirOptions = {}): ScannedDirectory {
  const top = resolve(root);
  const xattrs = (options.xattrs ?? true) && haveGetfattr() ? readXattrs(top) : new Map<string, XattrMap>();
  const table = new InodeTable();
  const links = new Map<string, number>();

  // Path of a directory inode, cached for the one whose entries are being read or written.
  let cachedDir = -1;
  let cachedPath = Buffer.alloc(0);
  const rootPath = Buffer.from(top);
  const dirPath = (d: number): Buffer => {
    if (d === 0) return rootPath;
    if (d !== cachedDir) {
      const parts: Buffer[] = [];
      for (let j = d; j !== 0; j = table.parent[j]) parts.push(Buffer.from(table.name(table.link[j])), SLASH);
      parts.push(rootPath);
      cachedPath = Buffer.concat(parts.reverse());
      cachedDir = d;
    }
    return cachedPath;
  };
  const path = (ino: number): Buffer => (ino === 0 ? rootPath : Buffer.concat([dirPath(table.parent[ino]), SLASH, Buffer.from(table.name(table.link[ino]))]));

  const add = (p: Buffer, parent: number): number => {
    const st = lstatSync(p, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    if (!st.isDirectory() && st.nlink > 1n) {
      const seen = links.get(key);
      if (seen !== undefined) return seen;
    }
    const meta = metaOf(st);
    const x = xattrs.size ? xattrs.get(p.toString('latin1')) : undefined;
    if (x && Object.keys(x).length) meta.xattrs = x;
    let type: NodeType;
    if (st.isDirectory()) type = 'dir';
    else if (st.isFile()) type = 'file';
    else if (st.isSymbolicLink()) type = 'symlink';
    else if (st.isCharacterDevice()) type = 'chardev';
    else if (st.isBlockDevice()) type = 'blockdev';
    else if (st.isFIFO()) type = 'fifo';
    else if (st.isSocket()) type = 'socket';
    else throw new BuildError(`${p.toString()}: unsupported file type`);
    const i = table.addInode(type, meta, parent);
    if (type === 'file') table.setFileSize(i, Number(st.size));
    else if (type === 'symlink') table.setSymlinkTarget(i, readlinkSync(p, { encoding: 'buffer' }));
    else if (type === 'chardev' || type === 'blockdev') {
      const rdev = Number(st.rdev);
      const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
      const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
      table.setDevice(i, major, minor);
    }
    if (!st.isDirectory() && st.nlink > 1n) links.set(key, i);
    return i;
  };

  if (add(rootPath, -1) !== 0 || table.kind[0] !== DIR) throw new BuildError(`${root}: not a directory`);
  // Breadth first: a directory's children are added when it comes up, so the creation order is the inode order.
  for (let d = 0; d < table.inodes; d++) {
    if (table.kind[d] !== DIR) continue;
    const dp = dirPath(d);
    const names = readdirSync(dp, { encoding: 'buffer' }).sort(Buffer.compare);
    const inos = names.map((name) => add(Buffer.concat([dp, SLASH, name]), d));
    table.beginDir(d);
    names.forEach((name, k) => table.addEntry(name, inos[k]));
  }
  table.trim();

  let fd = -1;
  let fdIno = -1;
  const close = () => {
    if (fd >= 0) closeSync(fd);
    fd = fdIno = -1;
  };
  const content: ContentSource = {
    read(ino, position, dest) {
      if (ino !== fdIno) {
        close();
        const p = path(ino);
        fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); // a fifo put in its place must not block the open
        fdIno = ino;
        if (!fstatSync(fd).isFile()) throw new BuildError(`${p.toString()}: no longer a regular file`);
      }
      for (let done = 0; done < dest.length; ) {
        const n = readSync(fd, dest, done, dest.length - done, position + done);
        if (n === 0) throw new BuildError(`${path(ino).toString()}: shorter than the ${table.size[ino]} bytes it had when scanned (changed during the build)`);
        done += n;
      }
    },
  };
  return { table, content, path, close };
}

/**
 * Writes a file the way an image should appear: into a temporary file beside `dest`, renamed
 * over `dest` only when `write` returns. On any error the temporary file is removed and
 * `dest` is left as it was.
 */
export function writeImageFile<T>(dest: string, write: (sink: ImageSink) => T): T {
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  let ok = false;
  try {
    const r = write({
      write(bytes, position) {
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
      },
    });
    closeSync(fd);
    renameSync(tmp, dest);
    ok = true;
    return r;
  } finally {
    if (!ok) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
      unlinkSync(tmp);
    }
  }
}

/**
 * An image of the tree under `root`, written to `dest` as it is built (see writeImageFile):
 * memory holds the table and about a megabyte of content. Returns the image size.
 */
export function buildImageFile(root: string, dest: string, options: BuildOptions & FromDirOptions = {}): number {
  const src = scanDirectory(root, options);
  try {
    return writeImageFile(dest, (sink) => buildImageTo(src, sink, options));
  } finally {
    src.close();
  }
}

/** Reads the tree under `root` (a directory) into objects, file contents included. */
export function treeFromDirectory(root: string, options: FromDirOptions = {}): DirNode {
  const src = scanDirectory(root, options);
  const t = src.table;
  const nodes: TreeNode[] = [];
  try {
    for (let i = 0; i < t.inodes; i++) {
      const meta: NodeMeta = { mode: t.perm[i], uid: t.uid[i], gid: t.gid[i], mtime: t.mtime[i], mtimeNsec: t.nsec[i] };
      if (t.xattrs[i] >= 0) meta.xattrs = Object.fromEntries(t.xattrSets[t.xattrs[i]].map((e) => [new TextDecoder().decode(e.name), e.value]));
      const k = t.kind[i];
      let node: TreeNode;
      if (k === DIR) node = { type: 'dir', entries: new Map(), ...meta };
      else if (k === FILE) {
        const data = new Uint8Array(t.size[i]);
        src.content.read(i, 0, data);
        node = { type: 'file', data, ...meta };
      } else if (k === SYMLINK) node = { type: 'symlink', target: t.symlinkTarget(i).slice(), ...meta };
      else if (k === CHARDEV || k === BLOCKDEV) {
        const r = t.b[i];
        node = { type: k === CHARDEV ? 'chardev' : 'blockdev', major: (r >>> 8) & 0xfff, minor: (r & 0xff) | ((r >>> 12) & 0xfff00), ...meta };
      } else node = { type: k === 5 ? 'fifo' : 'socket', ...meta };
      nodes.push(node);
    }
  } finally {
    src.close();
  }
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for (let d = 0; d < t.inodes; d++) {
    const node = nodes[d];
    if (node.type !== 'dir') continue;
    for (let e = t.a[d]; e < t.a[d] + t.b[d]; e++) {
      const name = t.name(e).slice();
      let key: string | Uint8Array = name;
      try {
        key = strict.decode(name);
      } catch {
        // not UTF-8: the bytes are the key
      }
      node.entries.set(key, nodes[t.target[e]]);
    }
  }
  return nodes[0] as DirNode;
}
export { buildImageFileFromTar, tarFileSource, nodeGunzip, TarFileStore, SpoolStore, type TarFileOptions } from './tarnode.js';
