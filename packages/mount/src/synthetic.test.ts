import { describe, expect, it } from 'vitest';
import {
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOATIME,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  ROOT,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  credentials,
  parseDirents,
} from '@erofs-js/vfs';
import { expectErrno } from '../test/helpers.js';
import { RAMFS_MAGIC, SyntheticFs } from './synthetic.js';

const enc = (s: string) => new TextEncoder().encode(s);

const user = credentials(1000, 1000);
const names = (buf: Uint8Array, n: number) => parseDirents(buf, n).map((d) => new TextDecoder().decode(d.name));

describe('SyntheticFs', () => {
  it('holds root-owned 0755 directories the host adds', () => {
    const fs = new SyntheticFs({ dev: 0x20, time: 1700000000 });
    const dev = fs.addDir(fs.root, 'dev');
    fs.addDir(fs.root, 'proc', 0o555);
    expect(fs.size).toBe(3);
    expect(fs.lookup(fs.root, enc('dev'), user)).toBe(dev);
    expect(fs.lookup(dev, enc('..'), user)).toBe(fs.root);
    expect(fs.lookup(fs.root, enc('..'), user)).toBe(fs.root);
    expect(fs.lookup(fs.root, enc('.'), user)).toBe(fs.root);
    expect(fs.stat(fs.root)).toMatchObject({ ino: 1, mode: 0o40755, nlink: 4, uid: 0, size: 80, mtime: 1700000000, dev: 0x20 });
    expect(fs.stat(fs.lookup(fs.root, enc('proc'), user)).mode).toBe(0o40555);
    expect(fs.statx(dev)).toMatchObject({ ino: dev.ino, devMajor: 0, devMinor: 0x20, attributes: 0 });
    expect(fs.statfs()).toMatchObject({ type: RAMFS_MAGIC, namelen: 255 });
  });

  it('answers lookups like a filesystem: ENOENT, ENAMETOOLONG, EINVAL, EACCES', () => {
    const fs = new SyntheticFs({ dev: 1 });
    const locked = fs.addDir(fs.root, 'locked', 0o700);
    expectErrno(() => fs.lookup(fs.root, enc('x'), user), 'ENOENT');
    expectErrno(() => fs.lookup(fs.root, enc('x'.repeat(256)), user), 'ENAMETOOLONG');
    expectErrno(() => fs.lookup(fs.root, enc(''), user), 'ENOENT');
    expectErrno(() => fs.lookup(fs.root, enc('a/b'), user), 'EINVAL');
    expectErrno(() => fs.lookup(locked, enc('x'), user), 'EACCES');
    expectErrno(() => fs.lookup(locked, enc('x'), ROOT), 'ENOENT');
    expectErrno(() => fs.addDir(fs.root, 'locked'), 'EEXIST');
    expectErrno(() => fs.addDir(fs.root, '..'), 'EEXIST');
  });

  it('opens directories with Linux\'s checks and lists them with getdents64', () => {
    const fs = new SyntheticFs({ dev: 1 });
    for (const n of ['b', 'a', 'c']) fs.addDir(fs.root, n);
    expectErrno(() => fs.open(fs.root, O_RDWR, ROOT), 'EISDIR');
    expectErrno(() => fs.open(fs.root, O_TRUNC, ROOT), 'EISDIR');
    expectErrno(() => fs.open(fs.root, O_CREAT, ROOT), 'EISDIR');
    expectErrno(() => fs.open(fs.root, O_CREAT | O_EXCL, ROOT), 'EEXIST');
    expectErrno(() => fs.open(fs.root, O_CREAT | O_DIRECTORY, ROOT), 'EINVAL');
    expectErrno(() => fs.open(fs.root, O_TMPFILE | O_RDWR, ROOT), 'EROFS');
    expectErrno(() => fs.open(fs.root, O_NOATIME, user), 'EPERM');
    const f = fs.open(fs.root, O_RDONLY | O_DIRECTORY, user);
    const buf = new Uint8Array(4096);
    expect(names(buf, f.getdents64(buf))).toEqual(['.', '..', 'b', 'a', 'c']);
    expect(f.getdents64(buf)).toBe(0);
    f.lseek(3, SEEK_SET);
    expect(names(buf, f.getdents64(buf))).toEqual(['a', 'c']);
    f.lseek(0, SEEK_SET);
    expectErrno(() => f.getdents64(new Uint8Array(8)), 'EINVAL');
    expect(names(buf, f.getdents64(buf.subarray(0, 48)))).toEqual(['.', '..']);
    expect(f.lseek(0, SEEK_CUR)).toBe(2);
    expectErrno(() => f.lseek(0, SEEK_END), 'EINVAL');
    expectErrno(() => f.lseek(-1, SEEK_SET), 'EINVAL');
    expectErrno(() => f.read(buf), 'EISDIR');
    expectErrno(() => f.pread(buf, -1), 'EINVAL');
    expectErrno(() => f.readlink(), 'EINVAL');
    expectErrno(() => f.write(buf), 'EBADF');
    expectErrno(() => f.fsync(), 'EINVAL');
    expect(f.stat().ino).toBe(1);
    f.close();
    expectErrno(() => f.close(), 'EBADF');
    expectErrno(() => f.stat(), 'EBADF');
    const p = fs.open(fs.root, O_PATH, user);
    expectErrno(() => p.getdents64(buf), 'EBADF');
    expect(p.statx().ino).toBe(1);
  });

  it('access and xattrs: writes are EROFS, names are checked, nothing exists', () => {
    const fs = new SyntheticFs({ dev: 1 });
    expect(() => fs.access(fs.root, 5, user)).not.toThrow();
    expectErrno(() => fs.access(fs.root, 2, ROOT), 'EROFS');
    expectErrno(() => fs.access(fs.root, 9, ROOT), 'EINVAL');
    expectErrno(() => fs.getxattr(fs.root, enc('user.x'), null, user), 'ENODATA');
    expectErrno(() => fs.getxattr(fs.root, enc('trusted.x'), null, user), 'ENODATA');
    expectErrno(() => fs.getxattr(fs.root, enc('user.'), null, user), 'EINVAL');
    expectErrno(() => fs.getxattr(fs.root, enc('foo.x'), null, user), 'EOPNOTSUPP');
    expectErrno(() => fs.getxattr(fs.root, enc(''), null, user), 'ERANGE');
  });
});
