import { createHash } from 'node:crypto';
import {
  S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  walk, type Image, type Inode,
} from '@erofs-js/erofs';

/** One line of `erofs manifest`: the same fields and names as shared/tools/manifest.py. */
export interface ManifestRecord {
  path?: string;
  path_b64?: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: number;
  mtime_nsec: number;
  ino: number;
  rdev?: number;
  target?: string;
  target_b64?: string;
  sha256?: string;
  xattrs?: Record<string, string>;
}

export function typeName(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFCHR: return 'chardev';
    case S_IFBLK: return 'blockdev';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** Sets `key` to the UTF-8 text of `raw`, or `key_b64` to its base64 when it is not valid UTF-8. */
function textOrB64(rec: Record<string, unknown>, key: string, raw: Uint8Array): void {
  try {
    rec[key] = strict.decode(raw);
  } catch {
    rec[key + '_b64'] = Buffer.from(raw).toString('base64');
  }
}

export function sha256Of(image: Image, inode: Inode): string {
  const h = createHash('sha256');
  const buf = new Uint8Array(Math.min(1 << 20, Math.max(1, inode.size)));
  for (let off = 0; off < inode.size; ) {
    const n = image.read(inode, off, buf);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    off += n;
  }
  return h.digest('hex');
}

/** The record of one path; `content: false` leaves out the sha256 of a regular file. */
export function manifestRecord(image: Image, path: Uint8Array, inode: Inode, content = true): ManifestRecord {
  const rec = {} as ManifestRecord;
  textOrB64(rec as unknown as Record<string, unknown>, 'path', path);
  Object.assign(rec, {
    type: typeName(inode.mode),
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    size: inode.size,
    nlink: inode.nlink,
    mtime: inode.mtime,
    mtime_nsec: inode.mtimeNsec,
    ino: inode.ino,
  });
  const t = inode.mode & S_IFMT;
  if (t === S_IFCHR || t === S_IFBLK) rec.rdev = inode.rdev;
  if (t === S_IFLNK) textOrB64(rec as unknown as Record<string, unknown>, 'target', image.readlink(inode));
  if (t === S_IFREG && content) rec.sha256 = sha256Of(image, inode);
  const xattrs = image.listXattrs(inode);
  if (xattrs.length) {
    xattrs.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
    rec.xattrs = {};
    for (const x of xattrs) rec.xattrs[x.name] = Buffer.from(x.value).toString('base64');
  }
  return rec;
}

/** Every path of the image, sorted by path bytes, as manifest records. */
export function manifest(image: Image): ManifestRecord[] {
  const recs: { path: Uint8Array; rec: ManifestRecord }[] = [];
  walk(image, (e) => {
    recs.push({ path: e.path, rec: manifestRecord(image, e.path, e.inode) });
  });
  recs.sort((a, b) => Buffer.compare(a.path, b.path));
  return recs.map((r) => r.rec);
}

/** Directory listings in getdents order without "." and "..": the format of manifest.py's readdir file. */
export function readdirRecords(image: Image): { path?: string; path_b64?: string; entries?: string[]; entries_b64?: string[] }[] {
  const out: { key: Uint8Array; rec: Record<string, unknown> }[] = [];
  walk(image, (e) => {
    if ((e.inode.mode & S_IFMT) !== S_IFDIR) return;
    const rec: Record<string, unknown> = {};
    textOrB64(rec, 'path', e.path);
    const names: Uint8Array[] = [];
    for (const d of image.readdir(e.inode)) {
      if (d.name[0] === 0x2e && (d.name.length === 1 || (d.name.length === 2 && d.name[1] === 0x2e))) continue;
      names.push(d.name);
    }
    try {
      rec.entries = names.map((n) => strict.decode(n));
    } catch {
      rec.entries_b64 = names.map((n) => Buffer.from(n).toString('base64'));
    }
    out.push({ key: e.path, rec });
  });
  out.sort((a, b) => Buffer.compare(a.key, b.key));
  return out.map((o) => o.rec);
}
