import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRNO, O_DIRECTORY, ROOT, credentials, parseDirents, type Stat } from '@erofs-js/vfs';
import { Tmpfs } from '@erofs-js/tmpfs';
import { spec } from '../test/helpers.js';
import { fcRuns } from '../../../tests/fc-runs.js';
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
import { AT_FDCWD, Task, UIO_MAXIOV } from './task.js';

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
    // A buffer too small for the structure is a bad pointer, after the call's own errors.
    expect(sys.stat('/', new Uint8Array(10))).toBe(-ERRNO.EFAULT);
    expect(sys.stat('/nope', new Uint8Array(10))).toBe(-ERRNO.ENOENT);
    expect(() => encodeStat(decodeStat(buf), new Uint8Array(10))).toThrow(RangeError);
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

describe('Syscalls: whatever the guest passes, a number comes back', () => {
  it('mistyped arguments are EFAULT (pointers) or EINVAL (numbers), never an exception', () => {
    const { sys } = world();
    expect(sys.syscall('mount', {}, [], 1, 'x', 2)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('umount2', null, 0)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('umount2', {}, {})).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('umount2', '/tmp', {})).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('mount', null, '/tmp', 'erofs', 0, {})).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('mount', null, '/tmp', 'erofs', 0, null)).toBe(-ERRNO.EPERM);
    expect(sys.syscall('openat', AT_FDCWD, 42, 0, 0)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('openat', AT_FDCWD, '/etc/passwd', 'x', 0)).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('openat', AT_FDCWD, '/etc/passwd', Number.NaN, 0)).toBe(-ERRNO.EINVAL);
    // A descriptor that is no integer is no descriptor: EBADF where one is needed,
    // ignored beside an absolute path (as a garbage dirfd is in Linux).
    expect(sys.syscall('close', 'x')).toBe(-ERRNO.EBADF);
    expect(sys.syscall('openat', {}, 'etc/passwd', 0, 0)).toBe(-ERRNO.EBADF);
    const fd = sys.syscall('openat', {}, '/etc/passwd', 0n, 0) as number;
    expect(fd).toBe(3);
    // The low 32 bits of an int argument count, as the kernel reads an int register.
    expect(sys.syscall('fcntl', 2n ** 32n + 3n, 1)).toBe(0);
    expect(sys.syscall('fcntl', 2 ** 32 + 3, 1)).toBe(0);
    expect(sys.syscall('read', fd, 'buf', 1)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('read', fd, new Uint8Array(4), 5)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('read', fd, new Uint8Array(4), -1)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('read', fd, new Uint8Array(4), 1.5)).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('read', fd, new Uint8Array(4), 4n)).toBe(4);
    expect(sys.syscall('read', 99, 'buf', 1)).toBe(-ERRNO.EBADF);
    expect(sys.syscall('pread64', fd, new Uint8Array(4), 'x')).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('pread64', fd, new Uint8Array(4), 2n ** 64n + 1n)).toBe(4);
    expect(sys.syscall('readv', fd, [new Uint8Array(1), 'x'])).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('readv', fd, 'x')).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('readv', fd, Array.from({ length: UIO_MAXIOV + 1 }, () => new Uint8Array(0)))).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('lseek', fd, {}, 0)).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('lseek', fd, 0, 'x')).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('lseek', fd, 2n ** 62n, 0)).toBe(2n ** 62n);
    expect(sys.syscall('lseek', fd, 2n ** 64n - 1n, 1)).toBe(2n ** 62n - 1n);
    expect(sys.syscall('lseek', fd, 0, 0)).toBe(0);
    expect(sys.syscall('getxattr', '/tmp/xattrs', 'user.dir', {})).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('getxattr', '/tmp/xattrs', 'user.nope', {})).toBe(-ERRNO.ENODATA);
    expect(sys.syscall('getxattr', '/tmp/xattrs', 'user.dir', undefined)).toBe(14);
    // A path is a C string: it ends at its first NUL.
    expect(sys.syscall('access', '/etc/passwd\0garbage', 4)).toBe(0);
    expect(sys.syscall('access', new Uint8Array([0x2f, 0, 0x78]), 4)).toBe(0);
    expect(sys.syscall('newfstatat', AT_FDCWD, '/etc', {}, 0)).toBe(-ERRNO.EFAULT);
    expect(sys.syscall('newfstatat', AT_FDCWD, '/nope', {}, 0)).toBe(-ERRNO.ENOENT);
    expect(sys.syscall('readlinkat', AT_FDCWD, '/tmp/links/abs', new Uint8Array(0))).toBe(-ERRNO.EINVAL);
    expect(sys.syscall('write', fd, 'x')).toBe(-ERRNO.EBADF);
    expect(sys.syscall('getcwd', 7)).toBe(-ERRNO.EFAULT);
  });

  const { runs } = fcRuns('syscalls');

  it('every syscall the object exposes, with arbitrary arguments, returns a number (lseek: or a bigint)', () => {
    // The names come from the Syscalls object itself: a syscall added later is covered.
    const names = [...SYSCALL_NAMES].sort();
    expect(names.length).toBeGreaterThanOrEqual(40);
    const HUGE = new Uint8Array(1 << 24);
    const manyBuffers = Array.from({ length: UIO_MAXIOV + 1 }, () => new Uint8Array(1));
    const buffer = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map((n) => new Uint8Array(n)),
      fc.constantFrom(new Uint8Array(0), new Uint8Array(SIZEOF_STAT), new Uint8Array(SIZEOF_STATX), new Uint8Array(SIZEOF_STATFS), new Uint8Array(4096), HUGE),
      fc.uint8Array({ maxLength: 64 }),
      fc.constant(Buffer.from('/etc/passwd')),
    );
    const anyValue = fc.oneof(
      fc.integer(),
      fc.integer({ min: -200, max: 20 }),
      fc.constantFrom(0, 1, 2, 3, 4, 5, -1, -100, AT_FDCWD, 0x100, 0x1000, 0o200000, 0o100 | 0o200, 0o20200000 | 2, 0o10000000, 1030, 2 ** 31, 2 ** 32 + 3, 2 ** 53, 2 ** 62, -(2 ** 63), Number.MAX_SAFE_INTEGER),
      fc.double(),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0.5),
      fc.bigInt(),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.constantFrom(2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 3n),
      fc.string(),
      fc.constantFrom('/', '', '.', '..', '/etc/passwd', '/tmp', '/tmp/modes/w', '/tmp/modes/d', '/tmp/modes/d/x', 'user.k', '/tmp/files/size-1', '/tmp/links', '/tmp/links/abs', '/tmp/xattrs', 'etc', 'user.dir', 'system.posix_acl_access', 'erofs', 'tmpfs', '/nope', 'a'.repeat(5000), '/etc/passwd\0x'),
      fc.object(),
      fc.constantFrom(null, undefined, true, false, Symbol('s'), () => 1, new Date(0), new Map(), new Int32Array(4), new DataView(new ArrayBuffer(8)), new ArrayBuffer(8)),
      fc.array(fc.oneof(buffer, fc.integer(), fc.constant(null)), { maxLength: 6 }),
      fc.array(buffer, { maxLength: 4 }),
      fc.constant(manyBuffers),
      buffer,
    );
    const call = fc.tuple(fc.constantFrom(...names), fc.array(anyValue, { maxLength: 7 }));
    fc.assert(
      fc.property(fc.boolean(), fc.array(call, { minLength: 1, maxLength: 12 }), (asRoot, calls) => {
        const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'));
        const tmp = resolve(ns.rootLocation, '/tmp', ROOT);
        ns.attach(spec(ns, 'basic-18.erofs'), tmp);
        release(tmp);
        // A writable tmpfs too, so the write calls do more than answer EROFS.
        const w = resolve(ns.rootLocation, '/tmp/modes', ROOT);
        const tmpfs = new Tmpfs({ size: '1m', dev: ns.allocDev() });
        ns.attach({ fs: tmpfs, fstype: 'tmpfs', source: 'tmpfs', onRelease: () => tmpfs.release() }, w);
        release(w);
        const task = new Task(ns, { creds: asRoot ? ROOT : credentials(1000, 1000), reservedFds: [0, 1, 2] });
        const sys = new Syscalls(task);
        // Some descriptors to aim at: a file, a directory, an O_PATH handle, a writable file, a pipe.
        sys.open('/etc/passwd');
        sys.open('/tmp/links', O_DIRECTORY);
        sys.open('/tmp/files/size-1', 0o10000000);
        sys.open('/tmp/modes/w', 0o102, 0o666);
        sys.pipe2(new Uint8Array(8), 0o4000);
        for (const [name, args] of calls) {
          let r: unknown;
          try {
            r = sys.syscall(name, ...args);
          } catch (e) {
            throw new Error(`${name}(${args.map(show).join(', ')}) threw ${String(e)}`);
          }
          if (name === 'lseek' && typeof r === 'bigint') {
            expect(r > BigInt(Number.MAX_SAFE_INTEGER) && r < 2n ** 63n, `${name}: ${r}`).toBe(true);
          } else {
            expect(typeof r, `${name}(${args.map(show).join(', ')}) returned ${String(r)}`).toBe('number');
            expect(Number.isInteger(r), `${name}: ${String(r)}`).toBe(true);
            if ((r as number) < 0) expect(Object.values(ERRNO), `${name}: ${String(r)}`).toContain(-(r as number));
          }
        }
        task.exit();
        ns.shutdown();
      }),
      runs(300),
    );
  });
});

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return `[${v.length > 8 ? `${v.length} items` : v.map(show).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
