/**
 * VFS conformance: every fixture seen through the VFS (resolve, stat, getdents64,
 * readlink, xattrs, read) equals the manifest the Linux kernel produced from its own
 * mount of the same image; and the tricky errors equal what Linux answers (observed on
 * kernel 6.18 loop mounts of these images, as root and as uid 1000).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Filesystem,
  ROOT,
  credentials,
  openPath,
  parseDirents,
  resolve,
  resolveParent,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  O_NOATIME,
  O_NONBLOCK,
  O_TMPFILE,
  O_ACCMODE,
  SysError,
  ERRNO,
  SEEK_SET,
  SEEK_CUR,
  SEEK_END,
  SEEK_DATA,
  SEEK_HOLE,
  PROT_READ,
  MAP_PRIVATE,
  type Dentry,
} from '@erofs-js/vfs';
import { MountNamespace, Syscalls, Task } from '@erofs-js/mount';
import { isErofsError } from '@erofs-js/erofs';
import { FIXTURES, fixtureIndex, openFixture, readJsonl } from './fixtures.js';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';

/** One line of a fixture's manifest: the kernel's view of a path. */
type Rec = ManifestRecord;

const utf8 = new TextEncoder();
const bytesOf = (r: { path?: string; path_b64?: string }) => (r.path !== undefined ? utf8.encode(r.path) : new Uint8Array(Buffer.from(r.path_b64!, 'base64')));
const DT: Record<string, number> = { file: 8, dir: 4, symlink: 10, chardev: 2, blockdev: 6, fifo: 1, socket: 12 };
const USER = credentials(1000, 1000);

function code(fn: () => unknown): string {
  try {
    const r = fn();
    if (r && typeof r === 'object' && 'close' in r) (r as { close(): void }).close();
    if (r && typeof r === 'object' && 'decRef' in r) (r as Dentry).decRef();
    return 'OK';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

function join(parent: Uint8Array, name: Uint8Array): Uint8Array {
  const base = parent.length === 1 ? 0 : parent.length;
  const out = new Uint8Array(base + 1 + name.length);
  out.set(parent.subarray(0, base));
  out[base] = 0x2f;
  out.set(name, base + 1);
  return out;
}

/** All getdents64 records of a directory, read with buffers of `bufSize` bytes. */
function listDir(fs: Filesystem, d: Dentry, bufSize: number) {
  const f = fs.open(d, O_RDONLY | O_DIRECTORY, ROOT);
  try {
    const buf = new Uint8Array(bufSize);
    const out = [];
    for (let n; (n = f.getdents64(buf)) > 0; ) out.push(...parseDirents(buf, n));
    return out;
  } finally {
    f.close();
  }
}

const fixtures = fixtureIndex();

describe('VFS conformance with kernel manifests', () => {
  it('covers the fixtures the brief names', () => {
    const names = fixtures.map((f) => f.image);
    for (const n of ['basic-18.erofs', 'basic-19-48bit.erofs', 'basic-18-chunk.erofs', 'basic-18-b512.erofs', 'rootfs-18.erofs', 'basic-19-dotomitted.erofs']) {
      expect(names).toContain(n);
    }
  });

  for (const fx of fixtures) {
    describe(fx.image, () => {
      const base = FIXTURES + fx.image.replace(/\.erofs$/, '');
      const manifest = readJsonl<Rec>(base + '.manifest.jsonl');
      const byPath = new Map(manifest.map((r) => [Buffer.from(bytesOf(r)).toString('latin1'), r]));

      it('stat, readlink, xattrs and content of every path equal the manifest', () => {
        // A small dentry cache, so that the walk also exercises eviction.
        const fs = new Filesystem(openFixture(fx.image), { dentryCacheSize: 16 });
        let unread = 0;
        for (const r of manifest) {
          const d = resolve(fs, bytesOf(r), ROOT, { follow: false });
          try {
            const st = fs.stat(d);
            const label = r.path ?? r.path_b64;
            expect({ ino: st.ino, mode: st.mode, nlink: st.nlink, uid: st.uid, gid: st.gid, size: st.size, mtime: st.mtime, mtime_nsec: st.mtimeNsec }, label).toEqual({
              ino: r.ino,
              mode: r.mode,
              nlink: r.nlink,
              uid: r.uid,
              gid: r.gid,
              size: r.size,
              mtime: r.mtime,
              mtime_nsec: r.mtime_nsec,
            });
            if (r.rdev !== undefined) expect(st.rdev, label).toBe(r.rdev);
            expect(st.blksize).toBe(fx.blksz);
            if (r.type === 'symlink') {
              const t = Buffer.from(fs.readlink(d));
              expect(r.target !== undefined ? t.toString('utf8') : t.toString('base64'), label).toBe(r.target ?? r.target_b64);
            }
            const xattrs: Record<string, string> = {};
            const names = fs.xattrNames(d, ROOT);
            const list = new Uint8Array(fs.listxattr(d, null, ROOT));
            expect(fs.listxattr(d, list, ROOT)).toBe(list.length);
            expect(Buffer.from(list).toString('latin1')).toBe(names.map((n) => Buffer.from(n).toString('latin1') + '\0').join(''));
            for (const n of names) {
              const size = fs.getxattr(d, n, null, ROOT);
              const v = new Uint8Array(size);
              expect(fs.getxattr(d, n, v, ROOT)).toBe(size);
              xattrs[Buffer.from(n).toString('utf8')] = Buffer.from(v).toString('base64');
            }
            if (Object.keys(xattrs).length || r.xattrs) expect(xattrs, label).toEqual(r.xattrs);
            if (r.type === 'file' && r.sha256) {
              const f = fs.open(d, O_RDONLY, ROOT);
              try {
                const h = createHash('sha256');
                const buf = new Uint8Array(7919);
                for (let n; (n = f.read(buf)) > 0; ) h.update(buf.subarray(0, n));
                expect(h.digest('hex'), label).toBe(r.sha256);
              } catch (e) {
                if (!(e instanceof SysError && e.code === 'EOPNOTSUPP')) throw e;
                unread++;
              } finally {
                f.close();
              }
            }
          } finally {
            d.decRef();
          }
          expect(fs.stats().dentriesCached).toBeLessThanOrEqual(16);
        }
        // Every codec is built in: no file of any fixture may be refused.
        expect(unread).toBe(0);
        fs.release();
        expect(fs.stats()).toMatchObject({ dentriesCached: 0, dentriesPinned: 0, inodesLive: 0 });
      });

      it('getdents64 of every directory equals the kernel order, with d_ino, d_type and d_off', () => {
        const fs = new Filesystem(openFixture(fx.image), { dentryCacheSize: 32 });
        const truth = readJsonl<{ path?: string; path_b64?: string; entries?: string[]; entries_b64?: string[] }>(base + '.readdir.jsonl');
        let i = 0;
        for (const t of truth) {
          const dirPath = bytesOf(t);
          const d = resolve(fs, dirPath, ROOT, { follow: false });
          const size = fs.stat(d).size;
          // Alternate a roomy buffer with one that holds only a record or two.
          const recs = listDir(fs, d, i++ % 2 ? 4096 : 300);
          const dirRec = byPath.get(Buffer.from(dirPath).toString('latin1'))!;
          const names = recs.filter((e) => !isDots(e.name)).map((e) => Buffer.from(e.name));
          const expected = t.entries ? t.entries.map((s) => Buffer.from(s, 'utf8')) : t.entries_b64!.map((s) => Buffer.from(s, 'base64'));
          expect(names.map((n) => n.toString('latin1')), t.path ?? t.path_b64).toEqual(expected.map((n) => n.toString('latin1')));
          for (const e of recs) {
            if (isDots(e.name)) {
              expect(e.type).toBe(4);
              if (e.name.length === 1) expect(e.ino).toBe(dirRec.ino);
              continue;
            }
            const child = byPath.get(Buffer.from(join(dirPath, e.name)).toString('latin1'))!;
            expect(e.ino).toBe(child.ino);
            expect(e.type).toBe(DT[child.type]);
          }
          for (let k = 1; k < recs.length; k++) expect(recs[k].off).toBeGreaterThan(recs[k - 1].off);
          const dotOmitted = !recs.some((e) => e.name.length === 1 && e.name[0] === 0x2e && e.off <= size);
          expect(recs[recs.length - 1].off).toBe(dotOmitted ? size + 1 : size);
          expect(recs.filter((e) => isDots(e.name)).length).toBe(2);
          d.decRef();
        }
        fs.release();
      });
    });
  }
});

function isDots(n: Uint8Array): boolean {
  return n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));
}

/**
 * Linux's answers, observed on kernel 6.18 with basic-18.erofs loop-mounted read-only
 * (root: uid 0 with all capabilities; user: uid 1000, gid 1000, no groups or caps).
 */
const KERNEL: [string, 'root' | 'user' | 'both', () => unknown, string][] = [];
function kernel(label: string, who: 'root' | 'user' | 'both', expected: string, fn: (fs: Filesystem, c: typeof ROOT) => unknown) {
  KERNEL.push([label, who, fn as never, expected]);
}
const R = (fs: Filesystem, c: typeof ROOT, p: string, follow = true) => resolve(fs, p, c, { follow });
const P = (fs: Filesystem, c: typeof ROOT, p: string) => resolveParent(fs, p, c);
function inParent<T>(fs: Filesystem, c: typeof ROOT, p: string, fn: (parent: Dentry, name: Uint8Array) => T): T {
  const { parent, last } = P(fs, c, p);
  try {
    return fn(parent, last!);
  } finally {
    parent.decRef();
  }
}
function onPath<T>(fs: Filesystem, c: typeof ROOT, p: string, fn: (d: Dentry) => T, follow = true): T {
  const d = R(fs, c, p, follow);
  try {
    return fn(d);
  } finally {
    d.decRef();
  }
}
const long = (n: number) => 'a'.repeat(n);

kernel('stat through a file', 'both', 'ENOTDIR', (fs, c) => R(fs, c, '/files/size-1/x'));
kernel('trailing slash on a file', 'both', 'ENOTDIR', (fs, c) => R(fs, c, '/files/size-1/'));
kernel('trailing slash on a symlink to a dir (lstat)', 'both', 'OK', (fs, c) => R(fs, c, '/links/todir/', false));
kernel('trailing slash on a symlink to a file (lstat)', 'both', 'ENOTDIR', (fs, c) => R(fs, c, '/links/rel/', false));
kernel('symlink loop', 'both', 'ELOOP', (fs, c) => R(fs, c, '/links/loop'));
kernel('symlink loop, not followed', 'both', 'OK', (fs, c) => R(fs, c, '/links/loop', false));
kernel('256-byte name', 'both', 'ENAMETOOLONG', (fs, c) => R(fs, c, '/files/' + long(256)));
kernel('255-byte name', 'both', 'ENOENT', (fs, c) => R(fs, c, '/files/' + long(255)));
kernel('256-byte name under a file', 'both', 'ENOTDIR', (fs, c) => R(fs, c, '/files/size-1/' + long(256)));
kernel('256-byte name in dir-0000', 'root', 'ENAMETOOLONG', (fs, c) => R(fs, c, '/modes/dir-0000/' + long(256)));
kernel('256-byte name in dir-0000', 'user', 'EACCES', (fs, c) => R(fs, c, '/modes/dir-0000/' + long(256)));
kernel('lookup in dir-0000', 'root', 'ENOENT', (fs, c) => R(fs, c, '/modes/dir-0000/x'));
kernel('lookup in dir-0000', 'user', 'EACCES', (fs, c) => R(fs, c, '/modes/dir-0000/x'));
kernel('dir-0000/.', 'user', 'EACCES', (fs, c) => R(fs, c, '/modes/dir-0000/.'));
kernel('stat dir-0000', 'user', 'OK', (fs, c) => R(fs, c, '/modes/dir-0000'));
kernel('open dir-0000', 'root', 'OK', (fs, c) => openPath(fs, '/modes/dir-0000', O_RDONLY, c));
kernel('open dir-0000', 'user', 'EACCES', (fs, c) => openPath(fs, '/modes/dir-0000', O_RDONLY, c));
kernel('open dir-0000 O_PATH', 'both', 'OK', (fs, c) => openPath(fs, '/modes/dir-0000', O_PATH, c));
kernel('open m0000', 'root', 'OK', (fs, c) => openPath(fs, '/modes/m0000', O_RDONLY, c));
kernel('open m0000', 'user', 'EACCES', (fs, c) => openPath(fs, '/modes/m0000', O_RDONLY, c));
kernel('O_NOFOLLOW on a symlink', 'both', 'ELOOP', (fs, c) => openPath(fs, '/links/rel', O_RDONLY | O_NOFOLLOW, c));
kernel('O_NOFOLLOW|O_DIRECTORY on a symlink', 'both', 'ENOTDIR', (fs, c) => openPath(fs, '/links/todir', O_RDONLY | O_NOFOLLOW | O_DIRECTORY, c));
kernel('O_PATH|O_NOFOLLOW on a symlink', 'both', 'OK', (fs, c) => openPath(fs, '/links/rel', O_PATH | O_NOFOLLOW, c));
kernel('O_PATH|O_NOFOLLOW|O_DIRECTORY on a symlink', 'both', 'ENOTDIR', (fs, c) => openPath(fs, '/links/todir', O_PATH | O_NOFOLLOW | O_DIRECTORY, c));
kernel('O_DIRECTORY on a file', 'both', 'ENOTDIR', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_DIRECTORY, c));
kernel('O_WRONLY on a file', 'both', 'EROFS', (fs, c) => openPath(fs, '/files/size-1', O_WRONLY, c));
kernel('O_RDWR on a dir', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files', O_RDWR, c));
kernel('O_WRONLY on a dir', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files', O_WRONLY, c));
kernel('O_RDONLY|O_TRUNC on a file', 'both', 'EROFS', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_TRUNC, c));
kernel('O_RDONLY|O_TRUNC on a dir', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files', O_RDONLY | O_TRUNC, c));
kernel('O_RDONLY|O_TRUNC on m0000', 'both', 'EROFS', (fs, c) => openPath(fs, '/modes/m0000', O_RDONLY | O_TRUNC, c));
kernel('O_CREAT on an existing file', 'both', 'OK', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_CREAT, c));
kernel('O_CREAT|O_EXCL on an existing file', 'both', 'EEXIST', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_CREAT | O_EXCL, c));
kernel('O_CREAT of a missing name', 'both', 'EROFS', (fs, c) => openPath(fs, '/files/nope', O_RDONLY | O_CREAT, c));
kernel('O_CREAT in a missing dir', 'both', 'ENOENT', (fs, c) => openPath(fs, '/nodir/nope', O_RDONLY | O_CREAT, c));
kernel('O_CREAT on a dir', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files', O_RDONLY | O_CREAT, c));
kernel('O_CREAT through a dangling symlink', 'both', 'ENOENT', (fs, c) => openPath(fs, '/links/dangling', O_RDONLY | O_CREAT, c));
kernel('O_CREAT|O_EXCL on a symlink', 'both', 'EEXIST', (fs, c) => openPath(fs, '/links/rel', O_RDONLY | O_CREAT | O_EXCL, c));
kernel('O_CREAT, trailing slash, missing', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files/nope/', O_RDONLY | O_CREAT, c));
kernel('O_CREAT, trailing slash, file', 'both', 'EISDIR', (fs, c) => openPath(fs, '/files/size-1/', O_RDONLY | O_CREAT, c));
kernel('O_TMPFILE', 'both', 'EROFS', (fs, c) => openPath(fs, '/files', O_TMPFILE | O_RDWR, c));
kernel('O_TMPFILE read-only', 'both', 'EINVAL', (fs, c) => openPath(fs, '/files', O_TMPFILE | O_RDONLY, c));
kernel('O_NOATIME', 'root', 'OK', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_NOATIME, c));
kernel('O_NOATIME', 'user', 'EPERM', (fs, c) => openPath(fs, '/files/size-1', O_RDONLY | O_NOATIME, c));
kernel('open a socket', 'both', 'ENXIO', (fs, c) => openPath(fs, '/dev/socket', O_RDONLY | O_NONBLOCK, c));
kernel('mkdir onto a dir', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/files', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir onto a file', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir of a missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/newdir', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir .', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/files/.', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir of a 256-byte name', 'both', 'ENAMETOOLONG', (fs, c) => inParent(fs, c, '/files/' + long(256), (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir in a missing dir', 'both', 'ENOENT', (fs, c) => inParent(fs, c, '/nodir/x', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir in dir-0000', 'root', 'EROFS', (fs, c) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('mkdir in dir-0000', 'user', 'EACCES', (fs, c) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.mkdir(p, n, 0o755, c)));
kernel('symlink onto a file', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.symlink(p, n, 'x', c)));
kernel('symlink onto a dangling symlink', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/links/dangling', (p, n) => fs.symlink(p, n, 'x', c)));
kernel('symlink of a missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/newlink', (p, n) => fs.symlink(p, n, 'x', c)));
kernel('symlink with an empty target', 'both', 'ENOENT', (fs, c) => inParent(fs, c, '/files/x', (p, n) => fs.symlink(p, n, '', c)));
kernel('mknod fifo, missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/newfifo', (p, n) => fs.mknod(p, n, 0o10644, 0, c)));
kernel('mknod onto a file', 'both', 'EEXIST', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.mknod(p, n, 0o10644, 0, c)));
kernel('mknod of a directory', 'both', 'EPERM', (fs, c) => inParent(fs, c, '/files/x', (p, n) => fs.mknod(p, n, 0o40755, 0, c)));
kernel('mknod of a bad type', 'both', 'EINVAL', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.mknod(p, n, 0o170755, 0, c)));
kernel('link to a missing name', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (o) => inParent(fs, c, '/files/newhard', (p, n) => fs.link(o, p, n, c))));
kernel('link onto a file', 'both', 'EEXIST', (fs, c) => onPath(fs, c, '/files/size-1', (o) => inParent(fs, c, '/files/size-0', (p, n) => fs.link(o, p, n, c))));
kernel('link into dir-0000', 'root', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (o) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.link(o, p, n, c))));
kernel('link into dir-0000', 'user', 'EACCES', (fs, c) => onPath(fs, c, '/files/size-1', (o) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.link(o, p, n, c))));
kernel('unlink of a missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/nope', (p, n) => fs.unlink(p, n, c)));
kernel('unlink of a file', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.unlink(p, n, c)));
kernel('unlink of a 256-byte name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/' + long(256), (p, n) => fs.unlink(p, n, c)));
kernel('unlink .', 'both', 'EISDIR', (fs, c) => inParent(fs, c, '/files/.', (p, n) => fs.unlink(p, n, c)));
kernel('unlink in a missing dir', 'both', 'ENOENT', (fs, c) => inParent(fs, c, '/nodir/x', (p, n) => fs.unlink(p, n, c)));
kernel('unlink in dir-0000', 'root', 'EROFS', (fs, c) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.unlink(p, n, c)));
kernel('unlink in dir-0000', 'user', 'EACCES', (fs, c) => inParent(fs, c, '/modes/dir-0000/x', (p, n) => fs.unlink(p, n, c)));
kernel('rmdir of a missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/nope', (p, n) => fs.rmdir(p, n, c)));
kernel('rmdir .', 'both', 'EINVAL', (fs, c) => inParent(fs, c, '/files/.', (p, n) => fs.rmdir(p, n, c)));
kernel('rmdir ..', 'both', 'ENOTEMPTY', (fs, c) => inParent(fs, c, '/files/..', (p, n) => fs.rmdir(p, n, c)));
kernel('rmdir of a file', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.rmdir(p, n, c)));
kernel('rename of a missing name', 'both', 'EROFS', (fs, c) => inParent(fs, c, '/files/nope', (p, n) => fs.rename(p, n, p, 'nope2', 0, c)));
kernel('rename of .', 'both', 'EBUSY', (fs, c) => inParent(fs, c, '/files/.', (p, n) => fs.rename(p, n, p, 'nope2', 0, c)));
kernel('rename onto .', 'both', 'EBUSY', (fs, c) => inParent(fs, c, '/files/size-1', (p, n) => fs.rename(p, n, p, '.', 0, c)));
kernel('chmod', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.chmod(d, 0o644, c)));
kernel('chown', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.chown(d, -1, -1, c)));
kernel('utimes', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.utimes(d, [{ sec: 1, nsec: 0 }, { sec: 1, nsec: 0 }], c)));
kernel('utimes now', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.utimes(d, null, c)));
kernel('truncate a file', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.truncate(d, 0, c)));
kernel('truncate a dir', 'both', 'EISDIR', (fs, c) => onPath(fs, c, '/files', (d) => fs.truncate(d, 0, c)));
kernel('truncate a fifo', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/dev/fifo', (d) => fs.truncate(d, 0, c)));
kernel('truncate to a negative length', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.truncate(d, -1, c)));
kernel('truncate a char device', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/dev/null', (d) => fs.truncate(d, 0, c)));
kernel('truncate through a symlink to a dir', 'both', 'EISDIR', (fs, c) => onPath(fs, c, '/links/todir', (d) => fs.truncate(d, 0, c)));
kernel('access W_OK on a file', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.access(d, 2, c)));
kernel('access W_OK on a fifo', 'root', 'OK', (fs, c) => onPath(fs, c, '/dev/fifo', (d) => fs.access(d, 2, c)));
kernel('access W_OK on a fifo', 'user', 'EACCES', (fs, c) => onPath(fs, c, '/dev/fifo', (d) => fs.access(d, 2, c)));
kernel('access X_OK on a non-executable file', 'both', 'EACCES', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.access(d, 1, c)));
kernel('access R_OK on m0000', 'root', 'OK', (fs, c) => onPath(fs, c, '/modes/m0000', (d) => fs.access(d, 4, c)));
kernel('access R_OK on m0000', 'user', 'EACCES', (fs, c) => onPath(fs, c, '/modes/m0000', (d) => fs.access(d, 4, c)));
kernel('getxattr user.', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'user.', null, c)));
kernel('getxattr trusted.', 'root', 'EINVAL', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'trusted.', null, c)));
kernel('getxattr trusted.', 'user', 'ENODATA', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'trusted.', null, c)));
kernel('getxattr security.', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'security.', null, c)));
kernel('getxattr trusted.m', 'root', 'OK', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'trusted.m', null, c)));
kernel('getxattr trusted.m', 'user', 'ENODATA', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'trusted.m', null, c)));
kernel('getxattr user.nope', 'both', 'ENODATA', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'user.nope', null, c)));
kernel('getxattr foo.bar', 'both', 'EOPNOTSUPP', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'foo.bar', null, c)));
kernel('getxattr system.foo', 'both', 'EOPNOTSUPP', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'system.foo', null, c)));
kernel('getxattr of an absent ACL', 'both', 'ENODATA', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'system.posix_acl_access', null, c)));
kernel('getxattr with a 256-byte name', 'both', 'ERANGE', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'user.' + long(251), null, c)));
kernel('getxattr with a 255-byte name', 'both', 'ENODATA', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.getxattr(d, 'user.' + long(250), null, c)));
kernel('getxattr user.* on a symlink', 'both', 'ENODATA', (fs, c) => onPath(fs, c, '/links/with-xattr', (d) => fs.getxattr(d, 'user.x', null, c), false));
kernel('getxattr trusted.* on a symlink', 'root', 'OK', (fs, c) => onPath(fs, c, '/links/with-xattr', (d) => fs.getxattr(d, 'trusted.symlink', null, c), false));
kernel('getxattr user.* on m0000', 'root', 'ENODATA', (fs, c) => onPath(fs, c, '/modes/m0000', (d) => fs.getxattr(d, 'user.x', null, c)));
kernel('getxattr user.* on m0000', 'user', 'EACCES', (fs, c) => onPath(fs, c, '/modes/m0000', (d) => fs.getxattr(d, 'user.x', null, c)));
kernel('getxattr user.* on a char device', 'both', 'ENODATA', (fs, c) => onPath(fs, c, '/dev/dev-xattr', (d) => fs.getxattr(d, 'user.x', null, c)));
kernel('setxattr', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.setxattr(d, 'user.a', new Uint8Array(1), 0, c)));
kernel('setxattr with an empty name', 'both', 'ERANGE', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.setxattr(d, '', new Uint8Array(1), 0, c)));
kernel('setxattr user.', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.setxattr(d, 'user.', new Uint8Array(1), 0, c)));
kernel('removexattr of a missing name', 'both', 'EROFS', (fs, c) => onPath(fs, c, '/xattrs/mixed', (d) => fs.removexattr(d, 'user.nope', c)));
kernel('readlink of a file', 'both', 'EINVAL', (fs, c) => onPath(fs, c, '/files/size-1', (d) => fs.readlink(d)));

/**
 * open(2) flag and name rules, getxattr of ACL names on symlinks: observed on Linux
 * 6.18.44 (uname -r 6.18.44-fc-v1300) with basic-18.erofs loop-mounted read-only and
 * python3's os.open / os.getxattr run in a chroot at the mount (so "/" is the image
 * root), as root and as uid 1000. Each case also runs through the mount layer's Task
 * (below). The flag checks come before the path is looked at (EINVAL beats ENOENT,
 * ENAMETOOLONG and EBADF); O_EXCL is checked before "is a directory" for a path naming a
 * directory by "/", "." or ".."; a trailing slash after a name is EISDIR first.
 */
const __O_TMPFILE = O_TMPFILE & ~O_DIRECTORY;
const OPENS: [path: string, flags: number, flagNames: string, root: string, user: string][] = [
  ['/', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/', O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 'O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW', 'EEXIST', 'EEXIST'],
  ['/', O_RDONLY | O_CREAT, 'O_RDONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['//', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/.', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/..', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/files/.', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/files/.', O_WRONLY | O_CREAT, 'O_WRONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['/files/..', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/files/..', O_RDONLY | O_CREAT, 'O_RDONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['/files/./', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/files', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/files/', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EISDIR', 'EISDIR'],
  ['/files//', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EISDIR', 'EISDIR'],
  ['/files/size-1/', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EISDIR', 'EISDIR'],
  ['/files/size-1/.', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'ENOTDIR', 'ENOTDIR'],
  ['/nope/', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EISDIR', 'EISDIR'],
  ['/files/nope', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EROFS', 'EROFS'],
  ['.', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['..', O_RDWR | O_CREAT | O_EXCL, 'O_RDWR|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['./', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['..', O_WRONLY | O_CREAT, 'O_WRONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['/links/todir', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EEXIST'],
  ['/links/todir', O_RDONLY | O_CREAT, 'O_RDONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['/links/todir/', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EISDIR', 'EISDIR'],
  ['/links/dangling/', O_RDONLY | O_CREAT, 'O_RDONLY|O_CREAT', 'EISDIR', 'EISDIR'],
  ['/modes/dir-0000/.', O_WRONLY | O_CREAT | O_EXCL, 'O_WRONLY|O_CREAT|O_EXCL', 'EEXIST', 'EACCES'],
  ['/modes/dir-0000/..', O_RDONLY | O_CREAT, 'O_RDONLY|O_CREAT', 'EISDIR', 'EACCES'],
  ['/modes/dir-0000/x', O_RDONLY | O_CREAT | O_EXCL, 'O_RDONLY|O_CREAT|O_EXCL', 'EROFS', 'EACCES'],
  ['/nope', O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  ['/nodir/nope', O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  ['', O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  [long(5000), O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  ['/modes/dir-0000/x', O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  ['/files/size-1', O_TMPFILE | O_RDONLY, 'O_TMPFILE|O_RDONLY', 'EINVAL', 'EINVAL'],
  ['/nope', O_TMPFILE | O_RDWR, 'O_TMPFILE|O_RDWR', 'ENOENT', 'ENOENT'],
  ['/modes/dir-0000/x', O_TMPFILE | O_WRONLY, 'O_TMPFILE|O_WRONLY', 'ENOENT', 'EACCES'],
  [long(5000), O_TMPFILE | O_RDWR, 'O_TMPFILE|O_RDWR', 'ENAMETOOLONG', 'ENAMETOOLONG'],
  ['/nope', __O_TMPFILE | O_RDWR, '__O_TMPFILE|O_RDWR (no O_DIRECTORY)', 'EINVAL', 'EINVAL'],
  ['/files', __O_TMPFILE | O_RDWR, '__O_TMPFILE|O_RDWR (no O_DIRECTORY)', 'EINVAL', 'EINVAL'],
  ['/nope', O_TMPFILE | O_CREAT | O_RDWR, 'O_TMPFILE|O_CREAT|O_RDWR', 'EINVAL', 'EINVAL'],
  ['/nope', O_DIRECTORY | O_CREAT, 'O_DIRECTORY|O_CREAT', 'EINVAL', 'EINVAL'],
  ['', O_DIRECTORY | O_CREAT, 'O_DIRECTORY|O_CREAT', 'EINVAL', 'EINVAL'],
  ['/nope', O_PATH | O_DIRECTORY | O_CREAT, 'O_PATH|O_DIRECTORY|O_CREAT', 'ENOENT', 'ENOENT'],
  ['/files', O_PATH | O_DIRECTORY | O_CREAT, 'O_PATH|O_DIRECTORY|O_CREAT', 'OK', 'OK'],
  ['/files', O_PATH | O_TMPFILE | O_RDWR, 'O_PATH|O_TMPFILE|O_RDWR', 'OK', 'OK'],
  ['/files/size-1', O_PATH | O_TMPFILE, 'O_PATH|O_TMPFILE', 'ENOTDIR', 'ENOTDIR'],
  ['/files', O_TMPFILE | O_ACCMODE, 'O_TMPFILE|3', 'EROFS', 'EROFS'],
  ['/files/size-1', O_TMPFILE | O_RDWR, 'O_TMPFILE|O_RDWR', 'ENOTDIR', 'ENOTDIR'],
  ['/files', 0x40000000, 'O_RDONLY|0x40000000 (not a flag)', 'OK', 'OK'],
  ['/files', O_ACCMODE, '3', 'EISDIR', 'EISDIR'],
  ['/files/size-1', O_ACCMODE, '3', 'EROFS', 'EROFS'],
];
for (const [path, flags, names, root, user] of OPENS) {
  const label = `open "${path.length > 40 ? path.slice(0, 12) + `... (${path.length} bytes)` : path}" ${names}`;
  if (root === user) kernel(label, 'both', root, (fs, c) => openPath(fs, path, flags, c));
  else {
    kernel(label, 'root', root, (fs, c) => openPath(fs, path, flags, c));
    kernel(label, 'user', user, (fs, c) => openPath(fs, path, flags, c));
  }
}

/** getxattr / lgetxattr of the POSIX ACL names (same kernel and image). */
const ACL_XATTRS: [path: string, name: string, follow: boolean, answer: string][] = [];
for (const name of ['system.posix_acl_access', 'system.posix_acl_default']) {
  for (const p of ['/links/rel', '/links/todir', '/links/with-xattr', '/links/dangling']) ACL_XATTRS.push([p, name, false, 'EOPNOTSUPP']);
  ACL_XATTRS.push(['/links/rel', name, true, 'ENODATA'], ['/links/todir', name, true, 'ENODATA'], ['/links/dangling', name, true, 'ENOENT']);
  for (const p of ['/files/size-1', '/files', '/dev/fifo', '/dev/null', '/dev/socket', '/xattrs/mixed']) ACL_XATTRS.push([p, name, false, 'ENODATA']);
}
ACL_XATTRS.push(['/xattrs/acl', 'system.posix_acl_access', false, 'OK'], ['/xattrs/acl', 'system.posix_acl_default', false, 'ENODATA'], ['/xattrs/acl-dir', 'system.posix_acl_default', false, 'OK']);
ACL_XATTRS.push(['/links/rel', 'system.foo', false, 'EOPNOTSUPP'], ['/links/rel', 'security.x', false, 'ENODATA'], ['/links/rel', 'user.x', false, 'ENODATA']);
for (const [path, name, follow, answer] of ACL_XATTRS) {
  kernel(`${follow ? 'getxattr' : 'lgetxattr'} ${name} of ${path}`, 'both', answer, (fs, c) => onPath(fs, c, path, (d) => fs.getxattr(d, name, null, c), follow));
}

describe('POSIX ACLs are enforced as Linux does (basic-18 /xattrs/acl, mode 0660, kernel 6.18)', () => {
  // u::rw- u:1000:r-- g::r-- g:2000:rw- m::rw- o::---
  const fs = new Filesystem(openFixture('basic-18.erofs'));
  const cases: [string, ReturnType<typeof credentials>, string, string][] = [
    ['named user 1000', credentials(1000, 1000), 'OK', 'EACCES'],
    ['named group 2000', credentials(1001, 2000), 'OK', 'EACCES'],
    ['supplementary group 2000', credentials(1001, 1001, [2000]), 'OK', 'EACCES'],
    ['other', credentials(1001, 1001), 'EACCES', 'EACCES'],
  ];
  for (const [label, c, read, exec] of cases) {
    it(`${label}: open O_RDONLY ${read}, access X_OK ${exec}`, () => {
      expect(code(() => openPath(fs, '/xattrs/acl', O_RDONLY, c))).toBe(read);
      expect(code(() => onPath(fs, c, '/xattrs/acl', (d) => fs.access(d, 4, c)))).toBe(read);
      expect(code(() => onPath(fs, c, '/xattrs/acl', (d) => fs.access(d, 1, c)))).toBe(exec);
    });
  }
});

describe('errors equal Linux (basic-18.erofs, kernel 6.18)', () => {
  const fs = new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: 8 });
  for (const [label, who, fn, expected] of KERNEL) {
    for (const [name, c] of [['root', ROOT], ['user', USER]] as const) {
      if (who !== 'both' && who !== name) continue;
      it(`${label} (${name}): ${expected}`, () => {
        expect(code(() => (fn as unknown as (fs: Filesystem, c: typeof ROOT) => unknown)(fs, c))).toBe(expected);
        // Nothing leaks: only cached (unreferenced) dentries and the root remain.
        expect(fs.stats().dentriesPinned).toBeLessThanOrEqual(1 + 8 * 41);
      });
    }
  }

  it('leaves nothing referenced', () => {
    fs.release();
    expect(fs.stats()).toMatchObject({ dentriesCached: 0, dentriesPinned: 0, inodesLive: 0 });
  });

  it('listxattr hides trusted.* from an unprivileged caller, in on-disk order otherwise', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const names = (p: string, c: typeof ROOT, follow = true) => onPath(fs, c, p, (d) => fs.xattrNames(d, c).map((n) => Buffer.from(n).toString()), follow);
    expect(names('/xattrs/mixed', ROOT)).toEqual(['user.z', 'user.a', 'trusted.m', 'security.s', 'user.shared']);
    expect(names('/xattrs/mixed', USER)).toEqual(['user.z', 'user.a', 'security.s', 'user.shared']);
    expect(names('/', ROOT)).toEqual(['user.root', 'trusted.overlay.origin']);
    expect(names('/', USER)).toEqual(['user.root']);
    expect(names('/links/with-xattr', ROOT, false)).toEqual(['trusted.symlink']);
    expect(names('/links/with-xattr', USER, false)).toEqual([]);
    expect(names('/xattrs/acl-dir', ROOT)).toEqual(['system.posix_acl_access', 'system.posix_acl_default']);
    const acl = onPath(fs, ROOT, '/xattrs/acl', (d) => fs.xattrValue(d, 'system.posix_acl_access', ROOT));
    expect(Buffer.from(acl).toString('hex').startsWith('0200000001000600ffffffff02000400e803000004000400')).toBe(true);
  });
});

describe('open flags and ACL xattrs through the mount layer (Task) equal Linux (kernel 6.18.44)', () => {
  const ns = new MountNamespace({ fs: new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: 8 }), fstype: 'erofs', source: 'basic-18.erofs' });
  const tasks = { root: new Task(ns, { creds: ROOT }), user: new Task(ns, { creds: USER }) };
  const who = (root: string, user: string) => (root === user ? [['both', root]] : [['root', root], ['user', user]]) as [string, string][];
  for (const [path, flags, names, root, user] of OPENS) {
    for (const [w, expected] of who(root, user)) {
      const ts = w === 'both' ? [tasks.root, tasks.user] : [tasks[w as 'root' | 'user']];
      it(`open "${path.length > 40 ? path.slice(0, 12) + '...' : path}" ${names} (${w}): ${expected}`, () => {
        for (const t of ts) expect(code(() => t.close(t.open(path, flags)))).toBe(expected);
      });
    }
  }
  for (const [path, name, follow, answer] of ACL_XATTRS) {
    it(`${follow ? 'getxattr' : 'lgetxattr'} ${name} of ${path}: ${answer}`, () => {
      for (const t of [tasks.root, tasks.user]) expect(code(() => (follow ? t.getxattr(path, name) : t.lgetxattr(path, name)))).toBe(answer);
    });
  }
  it('leaves no descriptor open', () => {
    expect(tasks.root.openFds()).toEqual([]);
    expect(tasks.user.openFds()).toEqual([]);
  });
});

/**
 * File positions up to 2^63 - 1 (loff_t), observed on Linux 6.18.44 with basic-18.erofs
 * loop-mounted read-only: python3's os.lseek, os.read, os.pread, os.preadv, a raw
 * getdents64 and a raw mmap on /files/size-4097 (4097 bytes) and /files (a directory of
 * 561 bytes). A read whose end would pass 2^63 - 1 is EINVAL; any read at or past the end
 * of the file returns 0. The Task (offsets given as bigint) and the raw Syscalls answer
 * the same; results past 2^53 come back as bigint.
 */
describe('file positions up to 2^63 - 1 equal Linux (kernel 6.18.44)', () => {
  const TOP = 2n ** 63n - 1n;
  const BIG = 2n ** 62n;
  type R = number | bigint | string;
  interface Surface {
    open(path: string, flags: number): number;
    lseek(fd: number, off: bigint, whence: number): R;
    read(fd: number, n: number): R;
    pread(fd: number, n: number, off: bigint | number): R;
    preadv(fd: number, sizes: number[], off: bigint): R;
    getdents(fd: number): R;
    mmap(fd: number, off: bigint, len: number): R;
  }
  const res = (fn: () => number | bigint | unknown[]): R => {
    try {
      const r = fn();
      return Array.isArray(r) ? 'OK' : (r as number | bigint);
    } catch (e) {
      if (e instanceof SysError) return e.code;
      throw e;
    }
  };
  const errName = (r: number | bigint): R => (typeof r === 'number' && r < 0 ? Object.entries(ERRNO).find(([, v]) => v === -r)![0] : r);

  function taskSurface(): Surface {
    const t = new Task(new MountNamespace({ fs: new Filesystem(openFixture('basic-18.erofs')), fstype: 'erofs', source: 'basic-18.erofs' }));
    return {
      open: (p, f) => t.open(p, f),
      lseek: (fd, off, w) => res(() => t.lseek(fd, off, w)),
      read: (fd, n) => res(() => t.read(fd, new Uint8Array(n))),
      pread: (fd, n, off) => res(() => t.pread64(fd, new Uint8Array(n), off)),
      preadv: (fd, sizes, off) => res(() => t.preadv(fd, sizes.map((n) => new Uint8Array(n)), off)),
      getdents: (fd) => res(() => t.getdents64(fd, new Uint8Array(4096))),
      mmap: (fd, off, len) => res(() => t.mmap(fd, off, len, PROT_READ, MAP_PRIVATE)),
    };
  }
  function syscallSurface(): Surface {
    const sys = new Syscalls(new Task(new MountNamespace({ fs: new Filesystem(openFixture('basic-18.erofs')), fstype: 'erofs', source: 'basic-18.erofs' })));
    return {
      open: (p, f) => sys.open(p, f),
      lseek: (fd, off, w) => errName(sys.lseek(fd, off, w)),
      read: (fd, n) => errName(sys.read(fd, new Uint8Array(n), n)),
      pread: (fd, n, off) => errName(sys.pread64(fd, new Uint8Array(n), off)),
      preadv: (fd, sizes, off) => errName(sys.preadv(fd, sizes.map((n) => new Uint8Array(n)), off)),
      getdents: (fd) => errName(sys.getdents64(fd, new Uint8Array(4096))),
      mmap: () => 'OK', // not part of the raw surface (its result is pages, not a number)
    };
  }

  for (const [name, make] of [['Task', taskSurface], ['Syscalls', syscallSurface]] as const) {
    it(`${name}: a regular file`, () => {
      const s = make();
      const fd = s.open('/files/size-4097', O_RDONLY);
      expect(s.lseek(fd, BIG, SEEK_SET)).toBe(BIG);
      expect(s.lseek(fd, 0n, SEEK_CUR)).toBe(BIG);
      expect(s.read(fd, 100)).toBe(0);
      expect(s.lseek(fd, TOP, SEEK_SET)).toBe(TOP);
      expect(s.read(fd, 1)).toBe('EINVAL');
      expect(s.read(fd, 0)).toBe(0);
      expect(s.lseek(fd, 1n, SEEK_CUR)).toBe('EINVAL');
      expect(s.lseek(fd, 0n, SEEK_CUR)).toBe(TOP);
      expect(s.lseek(fd, TOP - 9n, SEEK_SET)).toBe(TOP - 9n);
      expect(s.read(fd, 100)).toBe('EINVAL');
      expect(s.read(fd, 10)).toBe('EINVAL');
      expect(s.read(fd, 9)).toBe(0);
      expect(s.pread(fd, 100, TOP - 9n)).toBe('EINVAL');
      expect(s.pread(fd, 9, TOP - 9n)).toBe(0);
      expect(s.pread(fd, 1, BIG)).toBe(0);
      expect(s.pread(fd, 1, 2 ** 53)).toBe(0);
      expect(s.pread(fd, 1, 2n ** 53n)).toBe(0);
      expect(s.pread(fd, 1, 4096n)).toBe(1);
      expect(s.pread(fd, 1, -1n)).toBe('EINVAL');
      expect(s.preadv(fd, [8, 8], TOP - 9n)).toBe('EINVAL');
      expect(s.preadv(fd, [9], TOP - 9n)).toBe(0);
      expect(s.lseek(fd, TOP, SEEK_END)).toBe('EINVAL');
      expect(s.lseek(fd, TOP - 4097n, SEEK_END)).toBe(TOP);
      expect(s.lseek(fd, TOP - 4096n, SEEK_END)).toBe('EINVAL');
      expect(s.lseek(fd, -(2n ** 63n), SEEK_CUR)).toBe('EINVAL');
      expect(s.lseek(fd, BIG, SEEK_DATA)).toBe('ENXIO');
      expect(s.lseek(fd, BIG, SEEK_HOLE)).toBe('ENXIO');
      expect(s.lseek(fd, -1n, SEEK_SET)).toBe('EINVAL');
      expect(s.lseek(fd, 4096n, SEEK_SET)).toBe(4096);
      expect(s.read(fd, 100)).toBe(1);
      // mmap: 2^62 is accepted (its pages lie past the end: the SIGBUS condition, EFAULT
      // here, for an eager mapping); unaligned EINVAL; a range ending past 2^63 - 1 is
      // EOVERFLOW.
      if (name !== 'Syscalls') {
        expect(s.mmap(fd, BIG, 4096)).toBe('EFAULT');
        expect(s.mmap(fd, TOP - 8191n, 4096)).toBe('EFAULT');
        expect(s.mmap(fd, TOP - 4095n, 4096)).toBe('EOVERFLOW');
        expect(s.mmap(fd, TOP - 8191n, 8192)).toBe('EOVERFLOW');
        expect(s.mmap(fd, TOP - 4094n, 4096)).toBe('EINVAL');
        expect(s.mmap(fd, 4096n, 1)).toBe('OK');
      }
    });

    it(`${name}: a directory`, () => {
      const s = make();
      const fd = s.open('/files', O_RDONLY | O_DIRECTORY);
      expect(s.lseek(fd, BIG, SEEK_SET)).toBe(BIG);
      expect(s.getdents(fd)).toBe(0);
      expect(s.lseek(fd, TOP, SEEK_SET)).toBe(TOP);
      expect(s.getdents(fd)).toBe(0);
      expect(s.lseek(fd, 1n, SEEK_CUR)).toBe('EINVAL');
      expect(s.lseek(fd, 0n, SEEK_END)).toBe(561);
      expect(s.lseek(fd, 0n, SEEK_SET)).toBe(0);
      expect(s.getdents(fd)).toBeGreaterThan(0);
      expect(s.pread(fd, 2, TOP)).toBe('EINVAL');
      expect(s.pread(fd, 1, -1n)).toBe('EINVAL');
      expect(s.pread(fd, 1, 0n)).toBe('EISDIR');
    });
  }

  it('Syscalls: pread64 and preadv check a negative offset before the descriptor (EINVAL, not EBADF)', () => {
    const sys = new Syscalls(new Task(new MountNamespace({ fs: new Filesystem(openFixture('basic-18.erofs')), fstype: 'erofs', source: 'basic-18.erofs' })));
    expect(sys.pread64(999, new Uint8Array(1), -1)).toBe(-ERRNO.EINVAL);
    expect(sys.preadv(999, [new Uint8Array(1)], -1n)).toBe(-ERRNO.EINVAL);
    expect(sys.pread64(999, new Uint8Array(1), BIG)).toBe(-ERRNO.EBADF);
    const p = sys.open('/files/size-1', O_PATH);
    expect(sys.pread64(p, new Uint8Array(1), -1)).toBe(-ERRNO.EINVAL);
    expect(sys.pread64(p, new Uint8Array(1), 0)).toBe(-ERRNO.EBADF);
  });
});
