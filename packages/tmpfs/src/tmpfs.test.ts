/**
 * Tmpfs: the rules of each operation, with the answers a kernel tmpfs gave (Linux 6.18 on
 * this machine: `mount -t tmpfs none DIR`, then python3's os module as root and, after
 * setresuid, as uid 1000; each "observed" below is such an answer).
 */
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_IFSOCK, makedev } from '@erofs-js/erofs';
import {
  ACL_GROUP_OBJ,
  ACL_MASK,
  ACL_OTHER,
  ACL_USER,
  ACL_USER_OBJ,
  CAP_FOWNER,
  CAP_FSETID,
  O_CREAT,
  O_EXCL,
  O_NOATIME,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  ST_RELATIME,
  ST_VALID,
  UTIME_NOW,
  UTIME_OMIT,
  XATTR_CREATE,
  XATTR_REPLACE,
  capMask,
  credentials,
  type Credentials,
} from '@erofs-js/vfs';
import { describe, expect, it } from 'vitest';
import { encodeAcl } from './acl.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from './file.js';
import { ST_NOATIME, TMPFS_MAGIC, Tmpfs } from './tmpfs.js';
import { OTHER, ROOT, USER, at, b, expectErrno, manualClock, parentOf, readFile, str, walk, writeFile } from './testutil.js';

const mode = (fs: Tmpfs, p: string) => at(fs, p, (n) => fs.stat(n).mode);
const st = (fs: Tmpfs, p: string) => at(fs, p, (n) => fs.stat(n));
const ls = (fs: Tmpfs, p: string) => at(fs, p, (n) => [...(n.inode.dir?.entries() ?? [])].map((c) => c.key));
const mkdir = (fs: Tmpfs, p: string, m = 0o755, c: Credentials = ROOT) => parentOf(fs, p, (d, n) => fs.mkdir(d, n, m, c), c);
const touch = (fs: Tmpfs, p: string, m = 0o644, c: Credentials = ROOT) => parentOf(fs, p, (d, n) => fs.create(d, n, m, c).decRef(), c);
const unlink = (fs: Tmpfs, p: string, c: Credentials = ROOT) => parentOf(fs, p, (d, n) => fs.unlink(d, n, c), c);
const rmdir = (fs: Tmpfs, p: string, c: Credentials = ROOT) => parentOf(fs, p, (d, n) => fs.rmdir(d, n, c), c);
function rename(fs: Tmpfs, from: string, to: string, flags = 0, c: Credentials = ROOT): void {
  parentOf(fs, from, (od, on) => parentOf(fs, to, (nd, nn) => fs.rename(od, on, nd, nn, flags, c), c), c);
}
function acl(...entries: [number, number, number?][]): Uint8Array {
  return encodeAcl(entries.map(([tag, perm, id]) => ({ tag, perm, id: id ?? 0xffffffff })));
}
const GROUP500 = credentials(1000, 1000, [1000]);

describe('mount options, root and statfs', () => {
  it('root as Linux makes it: mode 01777, ino 1, nlink 2, size 40 (observed)', () => {
    const fs = new Tmpfs();
    const s = fs.stat(fs.root);
    expect(s).toMatchObject({ mode: S_IFDIR | 0o1777, ino: 1, nlink: 2, size: 40, uid: 0, gid: 0, blksize: 4096, blocks: 0 });
    expect(s.dev).toBe(fs.dev);
    expect(fs.type).toBe('tmpfs');
  });

  it('statfs: magic, 4 KiB blocks from size, files from nr_inodes, defaults 64 MiB / 16384', () => {
    const fs = new Tmpfs();
    expect(fs.statfs()).toMatchObject({ type: TMPFS_MAGIC, bsize: 4096, frsize: 4096, blocks: 16384, bfree: 16384, bavail: 16384, files: 16384n, ffree: 16383n, namelen: 255, flags: ST_VALID | ST_RELATIME });
    // Observed with size=1m,nr_inodes=20 after root, a directory and two files of 1 and 2 pages: 256 blocks, 253 free, 16 inodes free.
    const small = new Tmpfs({ size: '1m', nr_inodes: 20 });
    mkdir(small, 'd');
    writeFile(small, 'f', 'x');
    writeFile(small, 'g', new Uint8Array(5000));
    expect(small.statfs()).toMatchObject({ blocks: 256, bfree: 253, files: 20n, ffree: 16n });
    expect(new Tmpfs({ noatime: true }).statfs().flags).toBe(ST_VALID | ST_NOATIME);
    expect(new Tmpfs({ atime: 'strictatime' }).statfs().flags).toBe(ST_VALID);
  });

  it('mode, uid, gid of the root; bad options are EINVAL', () => {
    const fs = new Tmpfs({ mode: '755', uid: 1000, gid: 100 });
    expect(fs.stat(fs.root)).toMatchObject({ mode: S_IFDIR | 0o755, uid: 1000, gid: 100 });
    for (const o of [{ size: 0 }, { size: '12q' }, { nr_inodes: -1 }, { mode: 0o17777 }, { uid: -1 }, { atime: 'sometimes' as 'noatime' }]) {
      expectErrno(() => new Tmpfs(o), 'EINVAL');
    }
  });

  it('each filesystem gets its own anonymous device unless given one', () => {
    const a = new Tmpfs();
    const c = new Tmpfs();
    expect(a.dev).not.toBe(c.dev);
    expect(new Tmpfs({ dev: makedev(0, 77) }).dev).toBe(makedev(0, 77));
  });
});

describe('lookup and create', () => {
  it('answers ".", "..", ENOENT, ENAMETOOLONG, ENOTDIR, EACCES', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'd', 0o700);
    touch(fs, 'f');
    at(fs, 'd', (d) => {
      const up = fs.lookup(d, b('..'), ROOT);
      expect(up).toBe(fs.root);
      up.decRef();
      const self = fs.lookup(d, b('.'), ROOT);
      expect(self).toBe(d);
      self.decRef();
      expectErrno(() => fs.lookup(d, b('x'), ROOT), 'ENOENT');
      expectErrno(() => fs.lookup(d, b('x'), USER), 'EACCES');
    });
    expect(fs.lookup(fs.root, b('..'), ROOT)).toBe(fs.root);
    fs.root.decRef();
    expectErrno(() => fs.lookup(fs.root, b('a'.repeat(256)), ROOT), 'ENAMETOOLONG');
    at(fs, 'f', (f) => expectErrno(() => fs.lookup(f, b('x'), ROOT), 'ENOTDIR'));
  });

  it('creating: EEXIST (also "." / ".."), ENAMETOOLONG at 256 bytes, 255 allowed (observed), EACCES without write', () => {
    const fs = new Tmpfs();
    touch(fs, 'f');
    expectErrno(() => touch(fs, 'f'), 'EEXIST');
    expectErrno(() => fs.mkdir(fs.root, b('.'), 0o755, ROOT), 'EEXIST');
    expectErrno(() => fs.mkdir(fs.root, b('..'), 0o755, ROOT), 'EEXIST');
    expectErrno(() => mkdir(fs, 'b'.repeat(256)), 'ENAMETOOLONG');
    touch(fs, 'a'.repeat(255));
    mkdir(fs, 'ro', 0o555);
    expectErrno(() => touch(fs, 'ro/x', 0o644, USER), 'EACCES');
    expectErrno(() => touch(fs, 'ro/x', 0o644, credentials(1000, 1000, [], capMask(CAP_FOWNER))), 'EACCES');
  });

  it('directory sizes and link counts (observed: empty dir 40, +20 per entry; nlink 2 + subdirectories)', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'd');
    expect(st(fs, 'd')).toMatchObject({ size: 40, nlink: 2 });
    expect(st(fs, '')).toMatchObject({ size: 60, nlink: 3 });
    mkdir(fs, 'd/e');
    touch(fs, 'd/f');
    expect(st(fs, 'd')).toMatchObject({ size: 80, nlink: 3 });
    rmdir(fs, 'd/e');
    expect(st(fs, 'd')).toMatchObject({ size: 60, nlink: 2 });
  });

  it('applies the umask (default 022) to new files and directories, not to symlinks', () => {
    const fs = new Tmpfs();
    const u077 = { ...USER, umask: 0o077 };
    touch(fs, 'a', 0o777, USER);
    mkdir(fs, 'b', 0o777, USER);
    touch(fs, 'c', 0o777, u077);
    fs.symlink(fs.root, b('s'), b('t'), u077);
    expect([mode(fs, 'a'), mode(fs, 'b'), mode(fs, 'c')]).toEqual([S_IFREG | 0o755, S_IFDIR | 0o755, S_IFREG | 0o700]);
    expect(fs.stat(walk(fs, 's'))).toMatchObject({ mode: 0o120777 });
  });

  it('setgid directories: gid inherited, subdirectories setgid; a non-member loses S_ISGID of a group-exec file (observed 02755 -> 0755, gid 500)', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'sg');
    at(fs, 'sg', (n) => {
      fs.chown(n, 0, 500, ROOT);
      fs.chmod(n, 0o2777, ROOT);
    });
    mkdir(fs, 'sg/sub', 0o755, USER);
    expect(st(fs, 'sg/sub')).toMatchObject({ mode: S_IFDIR | 0o2755, gid: 500, uid: 1000 });
    touch(fs, 'sg/f', 0o2775, USER);
    expect(st(fs, 'sg/f')).toMatchObject({ mode: S_IFREG | 0o755, gid: 500 });
    touch(fs, 'sg/g', 0o2775, credentials(1000, 1000, [500]));
    expect(mode(fs, 'sg/g')).toBe(S_IFREG | 0o2755);
    touch(fs, 'h', 0o2775, USER);
    expect(st(fs, 'h')).toMatchObject({ mode: S_IFREG | 0o2755, gid: 1000 });
  });

  it('mknod: type 0 is a regular file, a directory EPERM, a bad type EINVAL, devices need CAP_MKNOD, a 0:0 whiteout and fifos do not (observed)', () => {
    const fs = new Tmpfs();
    fs.mknod(fs.root, b('m0'), 0o644, 0, ROOT);
    expect(mode(fs, 'm0')).toBe(S_IFREG | 0o644);
    expectErrno(() => fs.mknod(fs.root, b('md'), S_IFDIR | 0o644, 0, ROOT), 'EPERM');
    expectErrno(() => fs.mknod(fs.root, b('mb'), 0o170000 | 0o644, 0, ROOT), 'EINVAL');
    expectErrno(() => fs.mknod(fs.root, b('chr'), S_IFCHR | 0o666, makedev(1, 3), USER), 'EPERM');
    fs.mknod(fs.root, b('chr'), S_IFCHR | 0o666, makedev(1, 3), ROOT);
    expect(st(fs, 'chr')).toMatchObject({ mode: S_IFCHR | 0o666, rdev: makedev(1, 3), size: 0 });
    fs.mknod(fs.root, b('wo'), S_IFCHR | 0o666, 0, USER);
    fs.mknod(fs.root, b('ff'), S_IFIFO | 0o666, 0, USER);
    fs.mknod(fs.root, b('so'), S_IFSOCK | 0o666, 0, USER);
    at(fs, 'ff', (n) => expectErrno(() => fs.open(n, O_RDONLY, ROOT), 'ENXIO'));
    // The mode is kept after the type check: EEXIST for an existing name.
    expectErrno(() => fs.mknod(fs.root, b('ff'), S_IFIFO | 0o666, 0, USER), 'EEXIST');
  });

  it('symlinks: targets up to 4095 bytes (4096 ENAMETOOLONG), empty ENOENT; long ones take a page (observed 8 blocks)', () => {
    const fs = new Tmpfs({ size: 8192 });
    fs.symlink(fs.root, b('long'), b('a'.repeat(4095)), ROOT);
    expectErrno(() => fs.symlink(fs.root, b('l2'), b('a'.repeat(4096)), ROOT), 'ENAMETOOLONG');
    expectErrno(() => fs.symlink(fs.root, b('l3'), b(''), ROOT), 'ENOENT');
    fs.symlink(fs.root, b('short'), b('short'), ROOT);
    expect(st(fs, 'long')).toMatchObject({ size: 4095, blocks: 8 });
    expect(st(fs, 'short')).toMatchObject({ size: 5, blocks: 0, mode: 0o120777 });
    at(fs, 'short', (n) => expect(str(fs.readlink(n))).toBe('short'));
    at(fs, '', (n) => expectErrno(() => fs.readlink(n), 'EINVAL'));
    expect(fs.statfs().bfree).toBe(1);
    fs.symlink(fs.root, b('long2'), b('b'.repeat(200)), ROOT);
    expectErrno(() => fs.symlink(fs.root, b('long3'), b('b'.repeat(200)), ROOT), 'ENOSPC');
    unlink(fs, 'long');
    unlink(fs, 'long2');
    expect(fs.statfs().bfree).toBe(2);
  });
});

describe('open', () => {
  it('checks flags and permission in Linux order', () => {
    const fs = new Tmpfs();
    touch(fs, 'f', 0o600);
    mkdir(fs, 'd');
    fs.symlink(fs.root, b('s'), b('f'), ROOT);
    at(fs, 'f', (n) => {
      expectErrno(() => fs.open(n, O_CREAT | O_EXCL, ROOT), 'EEXIST');
      expectErrno(() => fs.open(n, 0o200000, ROOT), 'ENOTDIR');
      expectErrno(() => fs.open(n, O_RDONLY, USER), 'EACCES');
      expectErrno(() => fs.open(n, O_PATH | 0o200000, ROOT), 'ENOTDIR');
      fs.open(n, O_PATH, USER).close();
    });
    at(fs, 'd', (n) => {
      expectErrno(() => fs.open(n, O_WRONLY, ROOT), 'EISDIR');
      expectErrno(() => fs.open(n, O_CREAT, ROOT), 'EISDIR');
      fs.open(n, O_RDONLY, ROOT).close();
    });
    at(fs, 's', (n) => expectErrno(() => fs.open(n, O_RDONLY, ROOT), 'ELOOP'));
  });

  it('a file just created opens without the permission check (created 0444, opened O_RDWR)', () => {
    const fs = new Tmpfs();
    const n = fs.create(fs.root, b('ro'), 0o444, USER);
    const f = fs.open(n, O_RDWR | O_CREAT | O_EXCL, USER, true);
    f.write(b('ok'));
    f.close();
    n.decRef();
    at(fs, 'ro', (m) => expectErrno(() => fs.open(m, O_RDWR, USER), 'EACCES'));
    expect(str(readFile(fs, 'ro'))).toBe('ok');
  });

  it('O_TRUNC empties the file; O_NOATIME by a non-owner is EPERM (observed)', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', 'hello', ROOT, 0o666);
    at(fs, 'f', (n) => {
      fs.open(n, O_WRONLY | O_TRUNC, USER).close();
      expect(fs.stat(n).size).toBe(0);
      expectErrno(() => fs.open(n, O_RDONLY | O_NOATIME, USER), 'EPERM');
      fs.open(n, O_RDONLY | O_NOATIME, ROOT).close();
    });
  });
});

describe('unlink, rmdir, sticky directories', () => {
  it('errors as Linux: EISDIR, ENOTDIR, ENOTEMPTY, "." EINVAL, ".." ENOTEMPTY, ENOENT (observed)', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'e');
    mkdir(fs, 'e/sub');
    touch(fs, 'e/f');
    expectErrno(() => rmdir(fs, 'e'), 'ENOTEMPTY');
    expectErrno(() => rmdir(fs, 'e/f'), 'ENOTDIR');
    expectErrno(() => unlink(fs, 'e/sub'), 'EISDIR');
    expectErrno(() => rmdir(fs, 'e/.'), 'EINVAL');
    expectErrno(() => rmdir(fs, 'e/..'), 'ENOTEMPTY');
    expectErrno(() => unlink(fs, 'e/..'), 'EISDIR');
    expectErrno(() => unlink(fs, 'e/nope'), 'ENOENT');
    expectErrno(() => unlink(fs, 'e/f', USER), 'EACCES');
  });

  it('sticky: only the file owner, the directory owner or CAP_FOWNER remove or replace (observed EPERM)', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'st', 0o1777);
    at(fs, 'st', (n) => fs.chmod(n, 0o1777, ROOT));
    writeFile(fs, 'st/rootf', 'r', ROOT, 0o666);
    touch(fs, 'st/mine', 0o644, USER);
    expectErrno(() => unlink(fs, 'st/rootf', USER), 'EPERM');
    expectErrno(() => rename(fs, 'st/rootf', 'st/x', 0, USER), 'EPERM');
    expectErrno(() => rename(fs, 'st/mine', 'st/rootf', 0, USER), 'EPERM');
    unlink(fs, 'st/mine', USER);
    unlink(fs, 'st/rootf', credentials(1000, 1000, [], capMask(CAP_FOWNER)));
    mkdir(fs, 'own', 0o1777, USER);
    at(fs, 'own', (n) => fs.chmod(n, 0o1777, USER));
    touch(fs, 'own/x', 0o644, OTHER);
    unlink(fs, 'own/x', USER); // the directory's owner may
  });
});

describe('rename', () => {
  function tree(): Tmpfs {
    const fs = new Tmpfs();
    mkdir(fs, 'e');
    mkdir(fs, 'e/sub');
    touch(fs, 'e/f');
    mkdir(fs, 'e2');
    touch(fs, 'e2/x');
    return fs;
  }

  it('answers as Linux for the type combinations and trees (observed)', () => {
    const fs = tree();
    expectErrno(() => rename(fs, 'e/sub', 'e2'), 'ENOTEMPTY');
    expectErrno(() => rename(fs, 'e/sub', 'e/f'), 'ENOTDIR');
    expectErrno(() => rename(fs, 'e/f', 'e/sub'), 'EISDIR');
    expectErrno(() => rename(fs, 'e', 'e/sub/x'), 'EINVAL');
    expectErrno(() => rename(fs, 'e/sub', 'e'), 'ENOTEMPTY');
    expectErrno(() => rename(fs, 'e/sub', 'e/nope', RENAME_EXCHANGE), 'ENOENT');
    expectErrno(() => rename(fs, 'e/sub', 'e/f', RENAME_NOREPLACE), 'EEXIST');
    expectErrno(() => rename(fs, 'e/f', 'e/f', RENAME_NOREPLACE), 'EEXIST');
    expectErrno(() => rename(fs, 'e/f', 'e/x', RENAME_EXCHANGE | RENAME_NOREPLACE), 'EINVAL');
    expectErrno(() => rename(fs, 'e/f', 'e/x', RENAME_EXCHANGE | RENAME_WHITEOUT), 'EINVAL');
    expectErrno(() => rename(fs, 'e/f', 'e/x', 8), 'EINVAL');
    expectErrno(() => rename(fs, 'e/nope', 'e/x'), 'ENOENT');
    expectErrno(() => rename(fs, 'e/.', 'e/x'), 'EBUSY');
    expectErrno(() => rename(fs, 'e/f', 'e/..'), 'EBUSY');
    expectErrno(() => rename(fs, 'e/f', 'e/..', RENAME_NOREPLACE), 'EEXIST');
    rename(fs, 'e/f', 'e/f');
    // Listing order: the newest first (dir.ts); a rename onto itself moves nothing.
    expect(ls(fs, 'e')).toEqual(['f', 'sub']);
  });

  it('a hard link renamed onto another name of the same inode changes nothing (observed: both names stay)', () => {
    const fs = tree();
    at(fs, 'e/f', (f) => parentOf(fs, 'e/g', (d, n) => fs.link(f, d, n, ROOT)));
    rename(fs, 'e/f', 'e/g');
    expect(ls(fs, 'e')).toEqual(['g', 'f', 'sub']);
    expect(st(fs, 'e/f').nlink).toBe(2);
  });

  it('moves directories between parents with link counts, replaces files, frees the victim', () => {
    const fs = tree();
    writeFile(fs, 'e2/x', new Uint8Array(10000));
    const pages = fs.stats().pages;
    rename(fs, 'e/sub', 'e2/sub');
    expect([st(fs, 'e').nlink, st(fs, 'e2').nlink]).toEqual([2, 3]);
    rename(fs, 'e/f', 'e2/x');
    expect(fs.stats().pages).toBe(pages - 3);
    // The moved entry goes to the front of its new directory, at the replaced one's offset.
    expect(ls(fs, 'e2')).toEqual(['x', 'sub']);
    // An empty directory can be replaced by a directory.
    mkdir(fs, 'e/empty');
    rename(fs, 'e2/sub', 'e/empty');
    expect([st(fs, 'e').nlink, st(fs, 'e2').nlink]).toEqual([3, 2]);
    expect(ls(fs, 'e')).toEqual(['empty']);
  });

  it('RENAME_EXCHANGE swaps a directory and a file across parents (observed)', () => {
    const fs = tree();
    rename(fs, 'e/sub', 'e2/x', RENAME_EXCHANGE);
    expect(mode(fs, 'e/sub')).toBe(S_IFREG | 0o644);
    expect(mode(fs, 'e2/x')).toBe(S_IFDIR | 0o755);
    expect([st(fs, 'e').nlink, st(fs, 'e2').nlink]).toEqual([2, 3]);
    expect(ls(fs, 'e')).toEqual(['sub', 'f']);
    const e2 = walk(fs, 'e2');
    at(fs, 'e2/x', (n) => expect(n.parent).toBe(e2));
    e2.decRef();
  });

  it('RENAME_WHITEOUT leaves a 0:0 character device with mode 0, also for an unprivileged caller (observed)', () => {
    const fs = new Tmpfs();
    touch(fs, 'rw', 0o644, USER);
    rename(fs, 'rw', 'rw2', RENAME_WHITEOUT, USER);
    expect(st(fs, 'rw')).toMatchObject({ mode: S_IFCHR, rdev: 0, uid: 1000 });
    expect(mode(fs, 'rw2')).toBe(S_IFREG | 0o644);
  });

  it('moving a directory to another parent needs write permission on it (its "..")', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'a', 0o777);
    mkdir(fs, 'b', 0o777);
    mkdir(fs, 'a/d', 0o555, USER);
    expectErrno(() => rename(fs, 'a/d', 'b/d', 0, USER), 'EACCES');
    rename(fs, 'a/d', 'a/e', 0, USER);
  });
});

describe('hard links and nr_inodes', () => {
  it('counts links; a directory EPERM; protected_hardlinks refuses a file the caller cannot write', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', 'x', ROOT, 0o644);
    mkdir(fs, 'd');
    at(fs, 'f', (f) => parentOf(fs, 'g', (d, n) => fs.link(f, d, n, ROOT)));
    expect(st(fs, 'g').nlink).toBe(2);
    at(fs, 'd', (dn) => expectErrno(() => fs.link(dn, fs.root, b('d2'), ROOT), 'EPERM'));
    at(fs, 'f', (f) => expectErrno(() => fs.link(f, fs.root, b('h'), USER), 'EPERM'));
    at(fs, 'f', (f) => fs.chmod(f, 0o666, ROOT));
    at(fs, 'f', (f) => fs.link(f, fs.root, b('h'), USER));
    unlink(fs, 'f');
    expect(st(fs, 'g').nlink).toBe(2);
  });

  it('each inode and each extra link takes one of nr_inodes (observed with nr_inodes=8)', () => {
    const fs = new Tmpfs({ nr_inodes: 8 });
    expect(fs.statfs().ffree).toBe(7n);
    touch(fs, 'a');
    expect(fs.statfs().ffree).toBe(6n);
    at(fs, 'a', (f) => fs.link(f, fs.root, b('b'), ROOT));
    expect(fs.statfs().ffree).toBe(5n);
    unlink(fs, 'b');
    expect(fs.statfs().ffree).toBe(6n);
    for (let i = 0; i < 6; i++) touch(fs, `c${i}`);
    expectErrno(() => touch(fs, 'c6'), 'ENOSPC');
    expectErrno(() => mkdir(fs, 'dd'), 'ENOSPC');
    expectErrno(() => fs.symlink(fs.root, b('ss'), b('x'), ROOT), 'ENOSPC');
    at(fs, 'a', (f) => expectErrno(() => fs.link(f, fs.root, b('b'), ROOT), 'ENOSPC'));
    at(fs, 'a', (f) => expectErrno(() => fs.setxattr(f, b('user.x'), b('1'), 0, ROOT), 'ENOSPC'));
    // A removed link gives a whole inode's worth back: a 500-byte xattr fits, 600 more do not (observed).
    unlink(fs, 'c5');
    at(fs, 'a', (f) => {
      fs.setxattr(f, b('user.x'), new Uint8Array(500), 0, ROOT);
      expectErrno(() => fs.setxattr(f, b('user.y'), new Uint8Array(600), 0, ROOT), 'ENOSPC');
      expectErrno(() => fs.setxattr(f, b('user.x'), new Uint8Array(1500), 0, ROOT), 'ENOSPC');
      fs.setxattr(f, b('user.x'), new Uint8Array(400), 0, ROOT);
      fs.removexattr(f, b('user.x'), ROOT);
    });
    expect(fs.statfs().ffree).toBe(1n);
  });
});

describe('xattrs', () => {
  it('namespaces and types as Linux (observed)', () => {
    const fs = new Tmpfs();
    touch(fs, 'f');
    fs.symlink(fs.root, b('s'), b('x'), ROOT);
    fs.mknod(fs.root, b('fifo'), S_IFIFO | 0o666, 0, ROOT);
    at(fs, 's', (n) => {
      expectErrno(() => fs.setxattr(n, b('user.a'), b('1'), 0, ROOT), 'EPERM');
      expectErrno(() => fs.getxattr(n, b('user.a'), null, ROOT), 'ENODATA');
      expectErrno(() => fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_USER_OBJ, 6], [ACL_GROUP_OBJ, 4], [ACL_OTHER, 4]), 0, ROOT), 'EOPNOTSUPP');
    });
    at(fs, 'fifo', (n) => {
      expectErrno(() => fs.setxattr(n, b('user.a'), b('1'), 0, ROOT), 'EPERM');
      fs.setxattr(n, b('trusted.a'), b('1'), 0, ROOT);
      fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_USER_OBJ, 6], [ACL_USER, 4, 5], [ACL_GROUP_OBJ, 4], [ACL_MASK, 4], [ACL_OTHER, 4]), 0, ROOT);
    });
    at(fs, 'f', (n) => {
      expectErrno(() => fs.setxattr(n, b('user.'), b('1'), 0, ROOT), 'EINVAL');
      expectErrno(() => fs.setxattr(n, b('foo.x'), b('1'), 0, ROOT), 'EOPNOTSUPP');
      expectErrno(() => fs.setxattr(n, b(''), b('1'), 0, ROOT), 'ERANGE');
      expectErrno(() => fs.setxattr(n, b('user.' + 'x'.repeat(251)), b('1'), 0, ROOT), 'ERANGE');
      expectErrno(() => fs.setxattr(n, b('user.big'), new Uint8Array(65537), 0, ROOT), 'E2BIG');
      expectErrno(() => fs.setxattr(n, b('user.a'), b('1'), 4, ROOT), 'EINVAL');
      fs.setxattr(n, b('user.zz'), b(''), 0, ROOT);
      fs.setxattr(n, b('user.aa'), b('v'), 0, ROOT);
      fs.setxattr(n, b('trusted.t'), b('v'), 0, ROOT);
      fs.setxattr(n, b('security.s'), b('v'), 0, ROOT);
      expect(fs.getxattr(n, b('user.zz'), null, ROOT)).toBe(0);
      expectErrno(() => fs.setxattr(n, b('user.zz'), b('1'), XATTR_CREATE, ROOT), 'EEXIST');
      expectErrno(() => fs.setxattr(n, b('user.qq'), b('1'), XATTR_REPLACE, ROOT), 'ENODATA');
      expectErrno(() => fs.removexattr(n, b('user.qq'), ROOT), 'ENODATA');
      const buf = new Uint8Array(100);
      expect(str(buf.subarray(0, fs.listxattr(n, buf, ROOT)))).toBe('user.zz\0user.aa\0trusted.t\0security.s\0');
      expect(str(buf.subarray(0, fs.listxattr(n, buf, USER)))).toBe('user.zz\0user.aa\0security.s\0');
      expectErrno(() => fs.listxattr(n, new Uint8Array(5), ROOT), 'ERANGE');
      expect(fs.getxattr(n, b('user.aa'), buf, ROOT)).toBe(1);
      fs.setxattr(n, b('user.two'), b('vv'), 0, ROOT);
      expectErrno(() => fs.getxattr(n, b('user.two'), new Uint8Array(1), ROOT), 'ERANGE');
      expect(fs.getxattr(n, b('user.two'), new Uint8Array(0), ROOT)).toBe(2);
    });
  });

  it('unprivileged callers: trusted.* ENODATA to read and EPERM to write, security.* readable but EPERM to write (observed)', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'other', 'x', ROOT, 0o666);
    at(fs, 'other', (n) => {
      fs.setxattr(n, b('trusted.x'), b('1'), 0, ROOT);
      fs.setxattr(n, b('security.x'), b('1'), 0, ROOT);
      expectErrno(() => fs.getxattr(n, b('trusted.x'), null, USER), 'ENODATA');
      expectErrno(() => fs.setxattr(n, b('trusted.y'), b('1'), 0, USER), 'EPERM');
      expect(fs.getxattr(n, b('security.x'), null, USER)).toBe(1);
      expectErrno(() => fs.setxattr(n, b('security.y'), b('1'), 0, USER), 'EPERM');
      fs.setxattr(n, b('user.y'), b('1'), 0, USER);
      expectErrno(() => fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_USER_OBJ, 6], [ACL_GROUP_OBJ, 4], [ACL_OTHER, 4]), 0, USER), 'EPERM');
    });
    writeFile(fs, 'private', 'x', ROOT, 0o600);
    at(fs, 'private', (n) => expectErrno(() => fs.getxattr(n, b('user.y'), null, USER), 'EACCES'));
    mkdir(fs, 'st', 0o1777);
    at(fs, 'st', (n) => {
      fs.chmod(n, 0o1777, ROOT);
      expectErrno(() => fs.setxattr(n, b('user.y'), b('1'), 0, USER), 'EPERM');
    });
  });

  it('an xattr change sets ctime', () => {
    const c = manualClock();
    const fs = new Tmpfs({ clock: c.clock });
    touch(fs, 'f');
    const before = st(fs, 'f').ctime;
    c.advance(10);
    at(fs, 'f', (n) => fs.setxattr(n, b('user.a'), b('1'), 0, ROOT));
    expect(st(fs, 'f').ctime).toBe(before + 10);
  });
});

describe('POSIX ACLs', () => {
  const withUser = acl([ACL_USER_OBJ, 6], [ACL_USER, 7, 1000], [ACL_GROUP_OBJ, 4], [ACL_MASK, 5], [ACL_OTHER, 1]);

  it('setting one sets the mode; an equivalent one is not kept; chmod rewrites the mask (observed 0651, mask r-- after 0640)', () => {
    const fs = new Tmpfs();
    touch(fs, 'f');
    at(fs, 'f', (n) => {
      expectErrno(() => fs.getxattr(n, b('system.posix_acl_access'), null, ROOT), 'ENODATA');
      fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_USER_OBJ, 6], [ACL_GROUP_OBJ, 4], [ACL_OTHER, 4]), 0, ROOT);
      expectErrno(() => fs.getxattr(n, b('system.posix_acl_access'), null, ROOT), 'ENODATA');
      fs.setxattr(n, b('system.posix_acl_access'), withUser, 0, ROOT);
      expect(fs.stat(n).mode).toBe(S_IFREG | 0o651);
      const buf = new Uint8Array(100);
      const len = fs.getxattr(n, b('system.posix_acl_access'), buf, ROOT);
      expect(Buffer.from(buf.subarray(0, len)).toString('hex')).toBe('0200000001000600ffffffff02000700e803000004000400ffffffff10000500ffffffff20000100ffffffff');
      fs.chmod(n, 0o640, ROOT);
      fs.getxattr(n, b('system.posix_acl_access'), buf, ROOT);
      expect(Buffer.from(buf.subarray(0, len)).toString('hex')).toBe('0200000001000600ffffffff02000700e803000004000400ffffffff10000400ffffffff20000000ffffffff');
      expect(str(buf.subarray(0, fs.listxattr(n, buf, ROOT)))).toBe('system.posix_acl_access\0');
      fs.setxattr(n, b('system.posix_acl_access'), acl(), 0, ROOT);
      expectErrno(() => fs.getxattr(n, b('system.posix_acl_access'), null, ROOT), 'ENODATA');
      fs.removexattr(n, b('system.posix_acl_access'), ROOT); // absent: succeeds (observed)
      expectErrno(() => fs.setxattr(n, b('system.posix_acl_default'), withUser, 0, ROOT), 'EACCES');
      expectErrno(() => fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_GROUP_OBJ, 6], [ACL_USER_OBJ, 4], [ACL_OTHER, 4]), 0, ROOT), 'EINVAL');
    });
  });

  it('are enforced: a named user gets access through the mask only', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', 'data', ROOT, 0o600);
    at(fs, 'f', (n) => {
      expectErrno(() => fs.access(n, 4, USER), 'EACCES');
      fs.setxattr(n, b('system.posix_acl_access'), acl([ACL_USER_OBJ, 6], [ACL_USER, 6, 1000], [ACL_GROUP_OBJ, 0], [ACL_MASK, 4], [ACL_OTHER, 0]), 0, ROOT);
      fs.access(n, 4, USER);
      expectErrno(() => fs.access(n, 2, USER), 'EACCES');
      expectErrno(() => fs.access(n, 4, OTHER), 'EACCES');
      fs.chmod(n, 0o660, ROOT); // mask becomes rw-
      fs.access(n, 6, USER);
    });
  });

  it('a default ACL is inherited and replaces the umask (observed 0660 / 0750 with umask 077, 0640 without named entries)', () => {
    const fs = new Tmpfs();
    const u077 = { ...ROOT, umask: 0o077 };
    mkdir(fs, 'acl');
    at(fs, 'acl', (n) => fs.setxattr(n, b('system.posix_acl_default'), acl([ACL_USER_OBJ, 7], [ACL_USER, 7, 1000], [ACL_GROUP_OBJ, 5], [ACL_MASK, 7], [ACL_OTHER, 0]), 0, ROOT));
    touch(fs, 'acl/f', 0o666, u077);
    mkdir(fs, 'acl/d', 0o755, u077);
    at(fs, 'acl', (n) => fs.symlink(n, b('sl'), b('x'), u077));
    expect(mode(fs, 'acl/f')).toBe(S_IFREG | 0o660);
    expect(mode(fs, 'acl/d')).toBe(S_IFDIR | 0o750);
    expect(mode(fs, 'acl/sl')).toBe(0o120777);
    const hex = (p: string, name: string) => at(fs, p, (n) => {
      const buf = new Uint8Array(100);
      return Buffer.from(buf.subarray(0, fs.getxattr(n, b(name), buf, ROOT))).toString('hex');
    });
    expect(hex('acl/f', 'system.posix_acl_access')).toBe('0200000001000600ffffffff02000700e803000004000500ffffffff10000600ffffffff20000000ffffffff');
    at(fs, 'acl/f', (n) => expectErrno(() => fs.getxattr(n, b('system.posix_acl_default'), null, ROOT), 'ENODATA'));
    expect(hex('acl/d', 'system.posix_acl_default')).toBe('0200000001000700ffffffff02000700e803000004000500ffffffff10000700ffffffff20000000ffffffff');
    expect(hex('acl/d', 'system.posix_acl_access')).toBe('0200000001000700ffffffff02000700e803000004000500ffffffff10000500ffffffff20000000ffffffff');
    mkdir(fs, 'acl2');
    at(fs, 'acl2', (n) => fs.setxattr(n, b('system.posix_acl_default'), acl([ACL_USER_OBJ, 7], [ACL_GROUP_OBJ, 5], [ACL_OTHER, 0]), 0, ROOT));
    touch(fs, 'acl2/f', 0o666, u077);
    expect(mode(fs, 'acl2/f')).toBe(S_IFREG | 0o640);
  });
});

describe('chmod, chown, setuid and setgid', () => {
  it('chmod: the owner or CAP_FOWNER (EPERM, observed); S_ISGID dropped outside the group', () => {
    const fs = new Tmpfs();
    touch(fs, 'other', 0o666);
    at(fs, 'other', (n) => expectErrno(() => fs.chmod(n, 0o777, USER), 'EPERM'));
    touch(fs, 'mine', 0o644, USER);
    at(fs, 'mine', (n) => {
      fs.chown(n, -1, 500, ROOT);
      fs.chmod(n, 0o2755, USER);
      expect(fs.stat(n).mode).toBe(S_IFREG | 0o755);
      fs.chmod(n, 0o2755, credentials(1000, 1000, [], capMask(CAP_FSETID)));
      expect(fs.stat(n).mode).toBe(S_IFREG | 0o2755);
    });
  });

  it('chown: chgrp to a non-member EPERM, to a member allowed, to self allowed, to another EPERM (observed)', () => {
    const fs = new Tmpfs();
    touch(fs, 'f', 0o644, USER);
    at(fs, 'f', (n) => {
      expectErrno(() => fs.chown(n, -1, 500, USER), 'EPERM');
      fs.chown(n, -1, 1000, USER);
      fs.chown(n, 1000, -1, USER);
      expectErrno(() => fs.chown(n, 1001, -1, USER), 'EPERM');
      fs.chown(n, 1001, 1001, ROOT);
      expect(fs.stat(n)).toMatchObject({ uid: 1001, gid: 1001 });
    });
  });

  it('chown drops S_ISUID always and S_ISGID with group-exec, on non-directories (observed: 06755 -> 0755, 06745 -> 02745)', () => {
    const fs = new Tmpfs();
    touch(fs, 'f');
    mkdir(fs, 'd');
    at(fs, 'f', (n) => {
      fs.chmod(n, 0o6755, ROOT);
      fs.chown(n, -1, -1, ROOT);
      expect(fs.stat(n).mode).toBe(S_IFREG | 0o755);
      fs.chmod(n, 0o6745, ROOT);
      fs.chown(n, 0, 0, ROOT);
      expect(fs.stat(n).mode).toBe(S_IFREG | 0o2745);
    });
    at(fs, 'd', (n) => {
      fs.chmod(n, 0o6755, ROOT);
      fs.chown(n, 0, 0, ROOT);
      expect(fs.stat(n).mode).toBe(S_IFDIR | 0o6755);
    });
  });

  it('a write or truncate without CAP_FSETID drops S_ISUID, and S_ISGID with group-exec (observed: 06777 -> 0777, 06767 -> 02767; root keeps)', () => {
    const fs = new Tmpfs();
    for (const [name, m] of [['a', 0o6777], ['b', 0o6767], ['c', 0o6777], ['t', 0o6777]] as const) {
      touch(fs, name, 0o644, USER);
      at(fs, name, (n) => fs.chmod(n, m, USER));
    }
    const write = (p: string, c: Credentials) =>
      at(fs, p, (n) => {
        const f = fs.open(n, O_WRONLY, c);
        f.write(b('x'));
        f.close();
      });
    write('a', USER);
    write('b', USER);
    write('c', ROOT);
    at(fs, 't', (n) => fs.truncate(n, 0, USER));
    expect([mode(fs, 'a'), mode(fs, 'b'), mode(fs, 'c'), mode(fs, 't')]).toEqual([S_IFREG | 0o777, S_IFREG | 0o2767, S_IFREG | 0o6777, S_IFREG | 0o777]);
  });
});

describe('times', () => {
  function setup() {
    const c = manualClock();
    const fs = new Tmpfs({ clock: c.clock });
    return { c, fs };
  }

  it('utimensat permissions (observed): "now" for writers; explicit, or NOW with OMIT, only for the owner; OMIT+OMIT for anyone', () => {
    const { fs } = setup();
    touch(fs, 'other', 0o666);
    touch(fs, 'private', 0o600);
    const now = { sec: 0, nsec: UTIME_NOW };
    const omit = { sec: 0, nsec: UTIME_OMIT };
    at(fs, 'other', (n) => {
      fs.utimes(n, null, USER);
      fs.utimes(n, [now, now], USER);
      expectErrno(() => fs.utimes(n, [{ sec: 1, nsec: 0 }, { sec: 1, nsec: 0 }], USER), 'EPERM');
      expectErrno(() => fs.utimes(n, [now, omit], USER), 'EPERM');
      expectErrno(() => fs.utimes(n, [now, { sec: 5, nsec: 0 }], USER), 'EPERM');
      fs.utimes(n, [omit, omit], USER);
      expectErrno(() => fs.utimes(n, [{ sec: 1, nsec: 1e9 }, omit], ROOT), 'EINVAL');
      fs.utimes(n, [{ sec: 1000, nsec: 5 }, { sec: 2000, nsec: 6 }], ROOT);
      expect(fs.stat(n)).toMatchObject({ atime: 1000, atimeNsec: 5, mtime: 2000, mtimeNsec: 6 });
      fs.utimes(n, [omit, { sec: 3000, nsec: 0 }], ROOT);
      expect(fs.stat(n)).toMatchObject({ atime: 1000, mtime: 3000 });
    });
    at(fs, 'private', (n) => expectErrno(() => fs.utimes(n, null, USER), 'EACCES'));
  });

  it('mtime and ctime: write, truncate (path: when the size changes or the file has pages; ftruncate: always), fallocate, punch; not a zero-byte write (observed)', () => {
    const { c, fs } = setup();
    writeFile(fs, 'f', 'x'.repeat(100));
    const times = (p = 'f') => {
      const s = st(fs, p);
      return [s.mtime, s.ctime];
    };
    const reset = (p = 'f') => at(fs, p, (n) => fs.utimes(n, [{ sec: 3000, nsec: 0 }, { sec: 2000, nsec: 0 }], ROOT));
    const t0 = c.clock().sec;
    // truncate(2) to the same size: shmem_setattr still truncates the pages past it, which
    // sets both times (oracle: a 7-byte file); a file without pages keeps them.
    reset();
    at(fs, 'f', (n) => fs.truncate(n, 100, ROOT));
    expect(times()).toEqual([t0, t0]);
    writeFile(fs, 'empty', '');
    reset('empty');
    at(fs, 'empty', (n) => fs.truncate(n, 0, ROOT));
    expect(times('empty')[0]).toBe(2000);
    at(fs, 'empty', (n) => fs.truncate(n, 5000, ROOT));
    expect(times('empty')).toEqual([t0, t0]);
    reset('empty');
    at(fs, 'empty', (n) => fs.truncate(n, 5000, ROOT));
    expect(times('empty')[0]).toBe(2000);
    at(fs, 'f', (n) => {
      const f = fs.open(n, O_RDWR, ROOT);
      reset();
      f.write(new Uint8Array(0));
      expect(times()[0]).toBe(2000);
      f.truncate(100);
      expect(times()).toEqual([t0, t0]);
      reset();
      f.fallocate(FALLOC_FL_KEEP_SIZE, 0, 50);
      expect(times()[0]).toBe(t0);
      reset();
      f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 50);
      expect(times()[0]).toBe(t0);
      reset();
      f.pwrite(b('y'), 3);
      expect(times()[0]).toBe(t0);
      f.close();
    });
  });

  it('directory entries change the directory mtime/ctime; link, unlink, rename, chmod change the inode ctime only', () => {
    const { c, fs } = setup();
    mkdir(fs, 'd');
    touch(fs, 'd/f');
    const old = (p: string) => at(fs, p, (n) => fs.utimes(n, [{ sec: 1, nsec: 0 }, { sec: 1, nsec: 0 }], ROOT));
    const now = () => c.clock().sec;
    for (const op of [
      () => touch(fs, 'd/g'),
      () => unlink(fs, 'd/g'),
      () => rename(fs, 'd/f', 'd/f2'),
      () => rename(fs, 'd/f2', 'd/f'),
    ]) {
      old('d');
      op();
      expect(st(fs, 'd')).toMatchObject({ mtime: now(), ctime: now() });
    }
    old('d/f');
    rename(fs, 'd/f', 'd/f3');
    expect(st(fs, 'd/f3')).toMatchObject({ mtime: 1, ctime: now() });
    old('d/f3');
    at(fs, 'd/f3', (n) => fs.chmod(n, 0o644, ROOT));
    expect(st(fs, 'd/f3')).toMatchObject({ mtime: 1, ctime: now() });
  });

  it('relatime (default): atime moves when not newer than mtime/ctime or a day old; noatime never; strictatime always', () => {
    const { c, fs } = setup();
    writeFile(fs, 'f', 'hello');
    const read = (t: Tmpfs) =>
      at(t, 'f', (n) => {
        const f = t.open(n, O_RDONLY, ROOT);
        f.read(new Uint8Array(1));
        f.close();
      });
    const atime = (t: Tmpfs) => st(t, 'f').atime;
    at(fs, 'f', (n) => fs.utimes(n, [{ sec: 1000, nsec: 0 }, { sec: 2000, nsec: 0 }], ROOT));
    c.advance(5);
    read(fs);
    const first = atime(fs);
    expect(first).toBe(c.clock().sec);
    c.advance(60);
    read(fs);
    expect(atime(fs)).toBe(first);
    c.advance(24 * 3600);
    read(fs);
    expect(atime(fs)).toBe(c.clock().sec);
    const no = new Tmpfs({ noatime: true, clock: c.clock });
    writeFile(no, 'f', 'x');
    at(no, 'f', (n) => no.utimes(n, [{ sec: 1, nsec: 0 }, { sec: 2, nsec: 0 }], ROOT));
    read(no);
    expect(atime(no)).toBe(1);
    const strict = new Tmpfs({ atime: 'strictatime', clock: c.clock });
    writeFile(strict, 'f', 'x');
    c.advance(1);
    read(strict);
    expect(atime(strict)).toBe(c.clock().sec);
  });

  it('touch(): what the pipe table reports of a fifo: a write sets mtime and ctime, a read atime by the relatime rule (oracle)', () => {
    const { c, fs } = setup();
    fs.mknod(fs.root, b('p'), S_IFIFO | 0o600, 0, ROOT);
    at(fs, 'p', (n) => fs.utimes(n, [{ sec: 1000, nsec: 0 }, { sec: 1000, nsec: 0 }], ROOT));
    c.advance(5);
    at(fs, 'p', (n) => fs.touch(n, 'write'));
    const now = c.clock().sec;
    expect([st(fs, 'p').atime, st(fs, 'p').mtime, st(fs, 'p').ctime]).toEqual([1000, now, now]);
    c.advance(5);
    at(fs, 'p', (n) => fs.touch(n, 'read'));
    const read = st(fs, 'p');
    expect([read.atime, read.mtime]).toEqual([now + 5, now]);
    // Newer than mtime and ctime, and less than a day old: relatime leaves it.
    c.advance(5);
    at(fs, 'p', (n) => fs.touch(n, 'read'));
    expect([st(fs, 'p').atime, st(fs, 'p').atimeNsec]).toEqual([read.atime, read.atimeNsec]);
  });

  it('readlink and getdents update atime (observed)', () => {
    const { fs } = setup();
    mkdir(fs, 'd');
    fs.symlink(fs.root, b('s'), b('t'), ROOT);
    for (const p of ['d', 's']) at(fs, p, (n) => fs.utimes(n, [{ sec: 3000, nsec: 0 }, { sec: 2000, nsec: 0 }], ROOT));
    at(fs, 's', (n) => fs.readlink(n));
    at(fs, 'd', (n) => {
      const f = fs.open(n, O_RDONLY, ROOT);
      f.getdents64(new Uint8Array(1024));
      f.close();
    });
    expect(st(fs, 's').atime).toBeGreaterThan(3000);
    expect(st(fs, 'd').atime).toBeGreaterThan(3000);
  });
});

describe('unlinked-but-open files and O_TMPFILE', () => {
  it('an unlinked file lives until the last holder lets go, then its pages come back', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', new Uint8Array(10000).fill(7));
    const base = fs.statfs();
    const n = walk(fs, 'f');
    const f = fs.open(n, O_RDWR, ROOT);
    n.decRef();
    unlink(fs, 'f');
    expect(f.stat().nlink).toBe(0);
    expect(fs.stats()).toMatchObject({ orphans: 1, pages: 3 });
    f.pwrite(b('z'), 20000);
    const out = new Uint8Array(3);
    f.pread(out, 9999);
    expect([...out]).toEqual([7, 0, 0]);
    expect(n.parent).toBe(null);
    f.close();
    expect(fs.stats()).toMatchObject({ orphans: 0, pages: 0, inodes: 1, nodesHeld: 0 });
    expect(fs.statfs().ffree).toBe(base.ffree + 1n);
  });

  it('O_TMPFILE: nlink 0, linkable once unless O_EXCL (observed: relink after unlink ENOENT, O_EXCL ENOENT)', () => {
    const fs = new Tmpfs({ nr_inodes: 50 });
    const t = fs.tmpfile(fs.root, 0o600, ROOT);
    expect(fs.statfs().ffree).toBe(48n);
    const f = fs.open(t, O_RDWR, ROOT, true);
    expect(f.stat().nlink).toBe(0);
    f.write(b('tmp'));
    fs.link(t, fs.root, b('named'), ROOT);
    expect(f.stat().nlink).toBe(1);
    unlink(fs, 'named');
    expectErrno(() => fs.link(t, fs.root, b('named2'), ROOT), 'ENOENT');
    f.close();
    t.decRef();
    expect(fs.stats()).toMatchObject({ inodes: 1, orphans: 0, pages: 0 });
    const x = fs.tmpfile(fs.root, 0o600, ROOT, O_EXCL);
    expectErrno(() => fs.link(x, fs.root, b('named3'), ROOT), 'ENOENT');
    x.decRef();
    expect(fs.stats().inodes).toBe(1);
  });

  it('a removed directory: no new entries (ENOENT), getdents ENOENT, ".." still its old parent', () => {
    const fs = new Tmpfs();
    mkdir(fs, 'p');
    mkdir(fs, 'p/d');
    const d = walk(fs, 'p/d');
    rmdir(fs, 'p/d');
    expect(fs.stat(d).nlink).toBe(0);
    expectErrno(() => fs.create(d, b('x'), 0o644, ROOT), 'ENOENT');
    expectErrno(() => fs.mkdir(d, b('x'), 0o755, ROOT), 'ENOENT');
    const f = fs.open(d, O_RDONLY, ROOT);
    expectErrno(() => f.getdents64(new Uint8Array(1024)), 'ENOENT');
    const up = fs.lookup(d, b('..'), ROOT);
    expect(up.key).toBe('p');
    up.decRef();
    f.close();
    d.decRef();
    expect(fs.stats()).toMatchObject({ inodes: 2, orphans: 0 });
  });
});

describe('release', () => {
  it('EBUSY while a node is held; afterwards EIO', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', 'x');
    const n = walk(fs, 'f');
    expectErrno(() => fs.release(), 'EBUSY');
    n.decRef();
    fs.release();
    expectErrno(() => fs.stat(fs.root), 'EIO');
    expectErrno(() => fs.statfs(), 'EIO');
    expect(() => fs.release()).toThrow();
  });
});

describe('the README example', () => {
  it('runs as written', () => {
    const fs = new Tmpfs({ size: '16m', nr_inodes: 4096, mode: 0o1777 });
    const user = credentials(1000, 1000, [1000]);
    const node = fs.create(fs.root, b('notes.txt'), 0o644, user);
    const file = fs.open(node, O_RDWR | O_CREAT, user, true);
    node.decRef();
    file.write(b('hello'));
    file.pwrite(b('!'), 1 << 20);
    expect([file.stat().size, file.stat().blocks]).toEqual([1048577, 16]);
    expect(file.stat().mode).toBe(S_IFREG | 0o644);
    file.close();
    expect(fs.statfs().bfree).toBe(4096 - 2);
    const again = Tmpfs.restore(structuredClone(fs.snapshot()), { size: '16m' });
    fs.release();
    expect(str(readFile(again, 'notes.txt').subarray(0, 5))).toBe('hello');
    again.release();
  });
});
