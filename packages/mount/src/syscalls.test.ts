import { describe, expect, it } from 'vitest';
import { ERRNO, O_DIRECTORY, ROOT, credentials, parseDirents, type Stat } from '@erofs-js/vfs';
import { spec } from '../test/helpers.js';
import { MountNamespace } from './namespace.js';
import { release, resolve } from './resolve.js';
import {
  SIZEOF_STAT,
  SIZEOF_STATFS,
  SIZEOF_STATX,
  SYSCALL_NAMES,
  Syscalls,
  decodeStat,
  devString,
  encodeStat,
  encodeStatfs,
  errnoResult,
} from './syscalls.js';
import { AT_FDCWD, Task } from './task.js';

function world() {
  const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'));
  const tmp = resolve(ns.rootLocation, '/tmp', ROOT);
  const m = ns.attach(spec(ns, 'basic-18.erofs'), tmp);
  release(tmp);
  const task = new Task(ns, { creds: credentials(1000, 1000), reservedFds: [0, 1, 2] });
  return { ns, m, task, sys: new Syscalls(task) };
}

describe('Syscalls: -errno results and structs in guest memory', () => {
  it('returns results or -errno, never throws for guest errors', () => {
    const { sys } = world();
    expect(sys.openat(AT_FDCWD, '/etc/passwd', 0, 0)).toBe(3);
    expect(sys.openat(AT_FDCWD, '/nope', 0, 0)).toBe(-ERRNO.ENOENT);
    expect(sys.open('/etc/shadow')).toBe(-ERRNO.EACCES);
    expect(sys.close(42)).toBe(-ERRNO.EBADF);
    expect(sys.read(3, new Uint8Array(100), 10)).toBe(10);
    expect(sys.lseek(3, 0, 1)).toBe(10);
    expect(sys.pread64(3, new Uint8Array(4), 0)).toBe(4);
    expect(sys.readv(3, [new Uint8Array(2)])).toBe(2);
    expect(sys.preadv(3, [new Uint8Array(2)], 0)).toBe(2);
    expect(sys.write(3, new Uint8Array(1))).toBe(-ERRNO.EBADF);
    expect(sys.fsync(3)).toBe(-ERRNO.EINVAL);
    expect(sys.fdatasync(3)).toBe(-ERRNO.EINVAL);
    expect(sys.dup(3)).toBe(4);
    expect(sys.dup2(3, 9)).toBe(9);
    expect(sys.dup3(3, 3, 0)).toBe(-ERRNO.EINVAL);
    expect(sys.fcntl(3, 1)).toBe(0);
    expect(sys.mount('a', '/tmp', 'erofs', 0, null)).toBe(-ERRNO.EPERM);
    expect(sys.umount2('/tmp', 0)).toBe(-ERRNO.EPERM);
    expect(sys.chroot('/tmp')).toBe(-ERRNO.EPERM);
    expect(sys.access('/etc/passwd', 2)).toBe(-ERRNO.EROFS);
    expect(sys.faccessat(AT_FDCWD, '/etc/passwd', 4)).toBe(0);
  });

  it('dispatches by name; unknown names are -ENOSYS', () => {
    const { sys } = world();
    expect(sys.syscall('openat', AT_FDCWD, '/etc/group', 0, 0)).toBe(3);
    expect(sys.syscall('fork')).toBe(-ERRNO.ENOSYS);
    expect(sys.syscall('constructor')).toBe(-ERRNO.ENOSYS);
    expect(SYSCALL_NAMES.has('getdents64')).toBe(true);
    expect(SYSCALL_NAMES.has('syscall')).toBe(false);
  });

  it('writes struct stat (x86-64 layout) that decodes to the Task\'s answer', () => {
    const { sys, task } = world();
    const buf = new Uint8Array(SIZEOF_STAT);
    expect(sys.stat('/etc/passwd', buf)).toBe(0);
    expect(decodeStat(buf)).toEqual(task.stat('/etc/passwd'));
    expect(sys.lstat('/etc/os-release', buf)).toBe(0);
    expect(decodeStat(buf).mode & 0o170000).toBe(0o120000);
    const fd = sys.open('/tmp/files/size-1');
    expect(sys.fstat(fd, buf)).toBe(0);
    const st = decodeStat(buf);
    expect(st.size).toBe(1);
    expect(devString(st.dev)).toBe('0:33');
    expect(sys.newfstatat(AT_FDCWD, '/nope', buf, 0)).toBe(-ERRNO.ENOENT);
    expect(() => sys.stat('/', new Uint8Array(10))).toThrow(RangeError);
    const neg: Stat = { ...st, mtime: -1, atime: -2, ctime: -3 };
    encodeStat(neg, buf);
    expect(decodeStat(buf)).toMatchObject({ mtime: -1, atime: -2, ctime: -3 });
  });

  it('writes struct statx with the mount id and STATX_ATTR_MOUNT_ROOT', () => {
    const { sys, m } = world();
    const buf = new Uint8Array(SIZEOF_STATX);
    expect(sys.statx(AT_FDCWD, '/tmp', 0, 0x7ff, buf)).toBe(0);
    const dv = new DataView(buf.buffer);
    expect(dv.getUint32(0, true) & 0x1000).toBe(0x1000);
    expect(Number(dv.getBigUint64(8, true)) & 0x2000).toBe(0x2000);
    expect(dv.getUint16(28, true)).toBe(0o40755);
    expect(Number(dv.getBigUint64(144, true))).toBe(m.id);
    expect(dv.getUint32(136, true)).toBe(0);
    expect(dv.getUint32(140, true)).toBe(33);
    expect(Number(dv.getBigInt64(112, true))).toBe(1700000000);
  });

  it('writes struct statfs', () => {
    const { sys } = world();
    const buf = new Uint8Array(SIZEOF_STATFS);
    expect(sys.statfs('/tmp', buf)).toBe(0);
    const dv = new DataView(buf.buffer);
    expect(Number(dv.getBigInt64(0, true))).toBe(0xe0f5e1e2);
    expect(Number(dv.getBigInt64(8, true))).toBe(4096);
    expect(dv.getBigUint64(40, true)).toBe((1n << 64n) - 1n);
    expect(Number(dv.getBigInt64(64, true))).toBe(255);
    expect(Number(dv.getBigInt64(80, true)) & 1).toBe(1);
    expect(sys.fstatfs(77, buf)).toBe(-ERRNO.EBADF);
    encodeStatfs({ type: 1, bsize: 2, blocks: 3, bfree: 0, bavail: 0, files: 5n, ffree: 6n, fsid: [7, 8], namelen: 9, frsize: 10, flags: 11 }, buf);
    expect(dv.getUint32(60, true)).toBe(8);
  });

  it('getdents64, readlink, xattrs, cwd', () => {
    const { sys } = world();
    const fd = sys.open('/tmp/links', O_DIRECTORY);
    const buf = new Uint8Array(4096);
    const n = sys.getdents64(fd, buf);
    expect(parseDirents(buf, n).map((d) => new TextDecoder().decode(d.name))).toContain('abs');
    const link = new Uint8Array(64);
    const ln = sys.readlink('/tmp/links/abs', link);
    expect(new TextDecoder().decode(link.subarray(0, ln))).toBe('/etc/passwd');
    expect(sys.readlinkat(AT_FDCWD, '/etc', link)).toBe(-ERRNO.EINVAL);
    expect(sys.getxattr('/tmp/xattrs', 'user.dir', null)).toBe(14);
    expect(sys.lgetxattr('/tmp/xattrs', 'user.nope', null)).toBe(-ERRNO.ENODATA);
    expect(sys.fgetxattr(fd, 'user.x', null)).toBe(-ERRNO.ENODATA);
    expect(sys.listxattr('/tmp/xattrs/mixed', null)).toBeGreaterThan(0);
    expect(sys.llistxattr('/tmp/xattrs/mixed', null)).toBeGreaterThan(0);
    expect(sys.flistxattr(fd, null)).toBe(0);
    expect(sys.chdir('/tmp/files')).toBe(0);
    const cwd = new Uint8Array(32);
    expect(sys.getcwd(cwd)).toBe(11);
    expect(sys.getcwd(new Uint8Array(4))).toBe(-ERRNO.ERANGE);
    expect(sys.fchdir(fd)).toBe(0);
    expect(sys.chdir('/etc/passwd')).toBe(-ERRNO.ENOTDIR);
  });

  it('rethrows what is not an errno: bugs must not hide as error codes', () => {
    expect(errnoResult(() => 5)).toBe(5);
    expect(() => errnoResult(() => { throw new TypeError('bug'); })).toThrow(TypeError);
  });
});
