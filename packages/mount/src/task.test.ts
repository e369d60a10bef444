import { describe, expect, it } from 'vitest';
import {
  CAP_SYS_ADMIN,
  EROFS_SUPER_MAGIC,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_LARGEFILE,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  ROOT,
  SEEK_END,
  SEEK_SET,
  STATX_ATTR_IMMUTABLE,
  STATX_ATTR_MOUNT_ROOT,
  ST_RDONLY,
  capMask,
  credentials,
  parseDirents,
  PROT_READ,
  PROT_WRITE,
  MAP_PRIVATE,
  MAP_SHARED,
} from '@erofs-js/vfs';
import { expectErrno, ls, manifest, readAll, spec, text } from '../test/helpers.js';
import { MountNamespace } from './namespace.js';
import { release, resolve } from './resolve.js';
import { RAMFS_MAGIC, type SyntheticFs } from './synthetic.js';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_STATX_FORCE_SYNC,
  AT_STATX_DONT_SYNC,
  AT_SYMLINK_NOFOLLOW,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  FD_CLOEXEC,
  MNT_DETACH,
  MS_BIND,
  STATX_MNT_ID,
  Task,
} from './task.js';

const user = credentials(1000, 1000);
const admin = credentials(0, 0, [], capMask(CAP_SYS_ADMIN));

/** rootfs-18 root, basic-18 at /tmp; an unprivileged task. */
function world(policy = {}) {
  const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'), { policy });
  const tmp = resolve(ns.rootLocation, '/tmp', ROOT);
  const basic = ns.attach(spec(ns, 'basic-18.erofs'), tmp);
  release(tmp);
  return { ns, basic, task: new Task(ns, { creds: user }) };
}

describe('Task: descriptors', () => {
  it('hands out the lowest free descriptor, skipping reserved ones', () => {
    const { ns } = world();
    const t = new Task(ns, { creds: user, reservedFds: [0, 1, 2] });
    expect(t.open('/etc/passwd')).toBe(3);
    expect(t.open('/etc/group')).toBe(4);
    t.close(3);
    expect(t.open('/etc/hostname')).toBe(3);
    expectErrno(() => t.close(1), 'EBADF');
    expectErrno(() => t.close(99), 'EBADF');
    expectErrno(() => t.read(-1, new Uint8Array(1)), 'EBADF');
  });

  it('dup shares the description (one offset); close drops one descriptor only', () => {
    const { task } = world();
    const fd = task.open('/etc/passwd');
    const d = task.dup(fd);
    expect(d).toBe(fd + 1);
    const buf = new Uint8Array(5);
    task.read(fd, buf);
    expect(task.lseek(d, 0, 1)).toBe(5);
    task.close(fd);
    expect(task.read(d, buf)).toBe(5);
    task.close(d);
  });

  it('dup2 and dup3 follow Linux: EINVAL onto itself (dup3), flags, EBADF, replacing silently', () => {
    const { task } = world();
    const a = task.open('/etc/passwd');
    const b = task.open('/etc/group');
    expect(task.dup2(a, a)).toBe(a);
    expectErrno(() => task.dup2(77, 77), 'EBADF');
    expectErrno(() => task.dup3(a, a, 0), 'EINVAL');
    expectErrno(() => task.dup3(a, 9, 0x1), 'EINVAL');
    expectErrno(() => task.dup3(a, -1, 0), 'EBADF');
    expectErrno(() => task.dup3(a, 1 << 20, 0), 'EBADF');
    expectErrno(() => task.dup3(55, 9, 0), 'EBADF');
    expect(task.dup3(a, b, O_CLOEXEC)).toBe(b);
    expect(task.fcntl(b, F_GETFD)).toBe(FD_CLOEXEC);
    const st = task.fstat(b);
    expect(st.size).toBe(123); // now the passwd description
    expect(task.dup3(a, 20, 0)).toBe(20);
    expect(task.fcntl(20, F_GETFD)).toBe(0);
  });

  it('fcntl: F_DUPFD with a floor, F_DUPFD_CLOEXEC, F_GETFL, F_SETFD, unknown commands', () => {
    const { task } = world();
    const fd = task.open('/etc/passwd', O_RDONLY | O_CLOEXEC);
    expect(task.fcntl(fd, F_GETFD)).toBe(FD_CLOEXEC);
    task.fcntl(fd, F_SETFD, 0);
    expect(task.fcntl(fd, F_GETFD)).toBe(0);
    expect(task.fcntl(fd, F_DUPFD, 10)).toBe(10);
    expect(task.fcntl(fd, F_DUPFD_CLOEXEC, 10)).toBe(11);
    expect(task.fcntl(11, F_GETFD)).toBe(FD_CLOEXEC);
    expect(task.fcntl(fd, F_GETFL)).toBe(O_RDONLY | O_LARGEFILE);
    expectErrno(() => task.fcntl(fd, F_DUPFD, -1), 'EINVAL');
    expectErrno(() => task.fcntl(fd, 9999), 'EINVAL');
  });

  it('EMFILE when the table is full; closeOnExec; fork shares descriptions', () => {
    const { ns } = world();
    const t = new Task(ns, { creds: user, maxFds: 3 });
    t.open('/etc/passwd', O_CLOEXEC);
    t.open('/etc/group');
    t.open('/etc/hostname');
    expectErrno(() => t.open('/etc/fstab'), 'EMFILE');
    expectErrno(() => t.dup(0), 'EMFILE');
    const child = t.fork();
    expect(child.openFds()).toEqual([0, 1, 2]);
    t.closeOnExec();
    expect(t.openFds()).toEqual([1, 2]);
    expect(child.fstat(0).size).toBe(123);
    child.exit();
    t.exit();
    expect(ns.root.users).toBe(2); // what is left: the root and cwd of world()'s own task
  });

  it('exit releases the cwd, the root and every description', () => {
    const { ns, basic } = world();
    const t = new Task(ns, { creds: user, cwd: '/tmp/files' });
    t.open('size-1');
    expect(basic.users).toBe(2);
    t.exit();
    expect(basic.users).toBe(0);
    expect(() => t.open('/etc/passwd')).toThrow(/after exit/);
  });
});

describe('Task: openat', () => {
  it('resolves relative to AT_FDCWD, a directory descriptor, and ignores dirfd for absolute paths', () => {
    const { task } = world();
    task.chdir('/etc');
    const fd = task.openat(AT_FDCWD, 'passwd');
    expect(task.fstat(fd).size).toBe(123);
    const dir = task.openat(AT_FDCWD, '/tmp/files', O_DIRECTORY);
    expect(task.fstat(task.openat(dir, 'size-1')).size).toBe(1);
    expect(task.fstat(task.openat(12345, '/etc/group')).size).toBe(40);
    expectErrno(() => task.openat(12345, 'group'), 'EBADF');
    expectErrno(() => task.openat(fd, 'x'), 'ENOTDIR');
    expectErrno(() => task.openat(AT_FDCWD, ''), 'ENOENT');
  });

  it('O_NOFOLLOW, O_DIRECTORY, O_PATH on symlinks, as Linux', () => {
    const { task } = world();
    expectErrno(() => task.open('/etc/os-release', O_NOFOLLOW), 'ELOOP');
    expectErrno(() => task.open('/etc/os-release', O_NOFOLLOW | O_DIRECTORY), 'ENOTDIR');
    expectErrno(() => task.open('/etc/passwd', O_DIRECTORY), 'ENOTDIR');
    const p = task.open('/etc/os-release', O_PATH | O_NOFOLLOW);
    const buf = new Uint8Array(64);
    expect(text(buf.subarray(0, task.readlinkat(p, '', buf)))).toBe('../usr/lib/os-release');
    expectErrno(() => task.read(p, buf), 'EBADF');
    expectErrno(() => task.fgetxattr(p, 'user.x'), 'EBADF');
    expect(task.fstat(p).mode & 0o170000).toBe(0o120000);
  });

  it('write access and creation on a read-only namespace', () => {
    const { task } = world();
    expectErrno(() => task.open('/etc/passwd', O_WRONLY), 'EROFS');
    expectErrno(() => task.open('/etc/passwd', O_RDWR), 'EROFS');
    expectErrno(() => task.open('/etc/passwd', O_TRUNC), 'EROFS');
    expectErrno(() => task.open('/etc', O_WRONLY), 'EISDIR');
    expectErrno(() => task.open('/etc/new-file', O_CREAT | O_WRONLY), 'EROFS');
    expectErrno(() => task.open('/tmp/files/new', O_CREAT), 'EROFS');
    expectErrno(() => task.open('/nope/new', O_CREAT), 'ENOENT');
    expectErrno(() => task.open('/etc/passwd', O_CREAT | O_EXCL), 'EEXIST');
    expectErrno(() => task.open('/etc/', O_CREAT), 'EISDIR');
    expectErrno(() => task.open('/tmp', O_CREAT), 'EISDIR');
    expectErrno(() => task.open('/etc', O_CREAT | O_DIRECTORY), 'EINVAL');
    expectErrno(() => task.open('/etc', O_TMPFILE | O_RDWR), 'EROFS');
    expect(task.fstat(task.open('/etc/passwd', O_CREAT)).size).toBe(123);
    // O_CREAT follows a symlink to an existing file, and to a missing one gives EROFS.
    expect(task.fstat(task.open('/etc/os-release', O_CREAT)).size).toBe(45);
    expectErrno(() => task.open('/tmp/links/one', O_CREAT), 'EROFS'); // -> "x", absent in an existing directory
    expectErrno(() => task.open('/tmp/links/dangling', O_CREAT), 'ENOENT'); // -> "does/not/exist": no such directory
    expectErrno(() => task.open('/tmp/links/one', O_CREAT | O_EXCL), 'EEXIST');
    // O_CREAT on an existing mount point opens... the mounted root: EISDIR.
    expectErrno(() => task.open('tmp', O_CREAT), 'EISDIR');
  });

  it('EACCES where the mode says so', () => {
    const { task } = world();
    expectErrno(() => task.open('/etc/shadow'), 'EACCES');
    expectErrno(() => task.open('/root', O_DIRECTORY), 'EACCES');
    expect(ls(new Task(task.ns, { creds: ROOT }), '/root')).toEqual([]);
  });
});

describe('Task: reading and directories', () => {
  it('read, pread64, readv, lseek match the manifest', () => {
    const { task } = world();
    const fd = task.open('/usr/share/doc/README');
    const all = readAll(task, '/usr/share/doc/README');
    expect(all.length).toBe(1080);
    const b = new Uint8Array(10);
    expect(task.pread64(fd, b, 100)).toBe(10);
    expect(b).toEqual(all.subarray(100, 110));
    expect(task.lseek(fd, 0, 1)).toBe(0);
    expect(task.readv(fd, [new Uint8Array(3), new Uint8Array(4)])).toBe(7);
    expect(task.lseek(fd, -10, SEEK_END)).toBe(1070);
    expect(task.read(fd, new Uint8Array(100))).toBe(10);
    expectErrno(() => task.lseek(fd, -1, SEEK_SET), 'EINVAL');
    expectErrno(() => task.pread64(fd, b, -1), 'EINVAL');
    expect(task.preadv(fd, [b], 0)).toBe(10);
    expectErrno(() => task.write(fd, b), 'EBADF');
    expectErrno(() => task.fsync(fd), 'EINVAL');
  });

  it('getdents64 across the mount point lists the mounted root; the mount point\'s own entry keeps its d_ino', () => {
    const { task } = world();
    const names = ls(task, '/tmp');
    const expected = manifest('basic-18.erofs')
      .filter((e) => e.path !== '/' && e.path.lastIndexOf('/') === 0)
      .map((e) => e.path.slice(1));
    expect(names.sort()).toEqual(expected.sort());
    const fd = task.open('/', O_DIRECTORY);
    const buf = new Uint8Array(4096);
    const ents = parseDirents(buf, task.getdents64(fd, buf));
    const tmp = ents.find((e) => text(e.name) === 'tmp')!;
    const rootfsTmp = manifest('rootfs-18.erofs').find((e) => e.path === '/tmp')!;
    expect(tmp.ino).toBe(rootfsTmp.ino);
    expect(task.stat('/tmp').ino).not.toBe(rootfsTmp.ino);
    expectErrno(() => task.getdents64(task.open('/etc/passwd'), buf), 'ENOTDIR');
    expectErrno(() => task.read(fd, buf), 'EISDIR');
  });
});

describe('Task: attributes', () => {
  it('stat and statx add the mount: dev, STATX_ATTR_MOUNT_ROOT, mnt_id', () => {
    const { task, basic, ns } = world();
    const sx = task.statx(AT_FDCWD, '/tmp', 0, 0);
    expect(sx.mntId).toBe(basic.id);
    expect(sx.mask & STATX_MNT_ID).toBe(STATX_MNT_ID);
    expect(sx.attributes & STATX_ATTR_MOUNT_ROOT).toBe(STATX_ATTR_MOUNT_ROOT);
    expect(sx.attributes & STATX_ATTR_IMMUTABLE).toBe(STATX_ATTR_IMMUTABLE);
    const inner = task.statx(AT_FDCWD, '/tmp/files', 0, 0);
    expect(inner.attributes & STATX_ATTR_MOUNT_ROOT).toBe(0);
    expect(task.statx(AT_FDCWD, '/', 0, 0)).toMatchObject({ mntId: ns.root.id });
    expect(task.stat('/tmp').dev).toBe(basic.dev);
    expect(task.stat('/etc').dev).toBe(ns.root.dev);
    expect(task.statx(AT_FDCWD, '/tmp/links/abs', AT_SYMLINK_NOFOLLOW, 0).mode & 0o170000).toBe(0o120000);
    expect(task.statx(AT_FDCWD, '/tmp/links/abs', 0, 0).mntId).toBe(ns.root.id);
    expectErrno(() => task.statx(AT_FDCWD, '/', 0x8000000, 0), 'EINVAL');
    expectErrno(() => task.statx(AT_FDCWD, '/', AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0), 'EINVAL');
    expectErrno(() => task.statx(AT_FDCWD, '/', 0, 0x80000000), 'EINVAL');
  });

  it('AT_EMPTY_PATH names the descriptor itself; without it an empty path is ENOENT', () => {
    const { task } = world();
    const fd = task.open('/etc/passwd');
    expect(task.newfstatat(fd, '', AT_EMPTY_PATH).size).toBe(123);
    expect(task.statx(fd, '', AT_EMPTY_PATH, 0).size).toBe(123);
    expectErrno(() => task.newfstatat(fd, '', 0), 'ENOENT');
    expect(task.newfstatat(AT_FDCWD, '', AT_EMPTY_PATH).ino).toBe(task.stat('/').ino);
    expectErrno(() => task.newfstatat(AT_FDCWD, '/', 0x4), 'EINVAL');
    expect(task.faccessat2(fd, '', 4, AT_EMPTY_PATH)).toBe(0);
  });

  it('readlinkat truncates to the buffer, EINVAL for non-links and empty buffers, ENOENT for an empty path on a non-link', () => {
    const { task } = world();
    const buf = new Uint8Array(3);
    expect(task.readlinkat(AT_FDCWD, '/etc/os-release', buf)).toBe(3);
    expect(text(buf)).toBe('../');
    expectErrno(() => task.readlinkat(AT_FDCWD, '/etc/passwd', new Uint8Array(10)), 'EINVAL');
    expectErrno(() => task.readlinkat(AT_FDCWD, '/etc/os-release', new Uint8Array(0)), 'EINVAL');
    const fd = task.open('/etc/passwd');
    expectErrno(() => task.readlinkat(fd, '', new Uint8Array(10)), 'ENOENT');
  });

  it('faccessat2: modes, flags, EROFS for writes, EACCES', () => {
    const { task } = world();
    expect(task.access('/etc/passwd', 4)).toBe(0);
    expect(task.access('/etc/passwd', 0)).toBe(0);
    expectErrno(() => task.access('/etc/passwd', 2), 'EROFS');
    expectErrno(() => task.access('/etc/shadow', 4), 'EACCES');
    expectErrno(() => task.access('/etc/passwd', 8), 'EINVAL');
    expectErrno(() => task.faccessat2(AT_FDCWD, '/etc/passwd', 4, 0x1), 'EINVAL');
    expect(task.faccessat2(AT_FDCWD, '/tmp/links/dangling', 0, AT_SYMLINK_NOFOLLOW)).toBe(0);
    expectErrno(() => task.faccessat(AT_FDCWD, '/tmp/links/dangling', 0), 'ENOENT');
  });

  it('xattrs through the mount: getxattr, lgetxattr, fgetxattr, listxattr family', () => {
    const { task } = world();
    expect(task.getxattr('/tmp/xattrs', 'user.dir')).toBe('on a directory'.length);
    const buf = new Uint8Array(64);
    const n = task.getxattr('/tmp/xattrs', 'user.dir', buf);
    expect(text(buf.subarray(0, n))).toBe('on a directory');
    expectErrno(() => task.getxattr('/tmp/xattrs', 'user.dir', new Uint8Array(2)), 'ERANGE');
    expectErrno(() => task.getxattr('/tmp/xattrs', 'trusted.overlay.opaque'), 'ENODATA');
    expectErrno(() => task.getxattr('/tmp/xattrs', 'user.'), 'EINVAL');
    expectErrno(() => task.getxattr('/tmp/xattrs', 'bogus.x'), 'EOPNOTSUPP');
    const fd = task.open('/tmp/xattrs/mixed');
    expect(task.fgetxattr(fd, 'user.z', buf)).toBe(4);
    const list = new Uint8Array(256);
    const ln = task.flistxattr(fd, list);
    expect(text(list.subarray(0, ln)).split('\0').filter(Boolean).sort()).toEqual(['security.s', 'user.a', 'user.shared', 'user.z']);
    expect(task.listxattr('/tmp/xattrs/mixed')).toBe(ln);
    expectErrno(() => task.lgetxattr('/tmp/links/with-xattr', 'trusted.symlink'), 'ENODATA');
    expect(new Task(task.ns).lgetxattr('/tmp/links/with-xattr', 'trusted.symlink')).toBeGreaterThan(0);
    expect(task.llistxattr('/tmp/links/with-xattr')).toBe(0);
  });

  it('statfs reports the mount\'s filesystem and flags', () => {
    const { task } = world();
    expect(task.statfs('/tmp/files')).toMatchObject({ type: EROFS_SUPER_MAGIC, namelen: 255 });
    expect(task.statfs('/tmp').flags & ST_RDONLY).toBe(ST_RDONLY);
    expect(task.fstatfs(task.open('/etc/passwd')).type).toBe(EROFS_SUPER_MAGIC);
    const ns = new MountNamespace();
    expect(new Task(ns).statfs('/').type).toBe(RAMFS_MAGIC);
  });
});

describe('Task: cwd and root', () => {
  it('chdir needs a searchable directory; getcwd writes a NUL-terminated path or ERANGE', () => {
    const { task } = world();
    expectErrno(() => task.chdir('/etc/passwd'), 'ENOTDIR');
    expectErrno(() => task.chdir('/root'), 'EACCES');
    task.chdir('/tmp/files');
    const buf = new Uint8Array(64);
    expect(task.getcwd(buf)).toBe('/tmp/files'.length + 1);
    expect(text(buf.subarray(0, 10))).toBe('/tmp/files');
    expect(buf[10]).toBe(0);
    expectErrno(() => task.getcwd(new Uint8Array(10)), 'ERANGE');
    task.chdir('..');
    expect(text(task.cwdPath())).toBe('/tmp');
    task.chdir('..');
    expect(text(task.cwdPath())).toBe('/');
  });

  it('fchdir accepts O_PATH directories and refuses files', () => {
    const { task } = world();
    const d = task.open('/tmp/deep', O_PATH);
    task.fchdir(d);
    expect(text(task.cwdPath())).toBe('/tmp/deep');
    expectErrno(() => task.fchdir(task.open('/etc/passwd')), 'ENOTDIR');
  });

  it('a cwd on a lazily unmounted directory keeps working and reads as (unreachable)', () => {
    const { task, ns, basic } = world();
    task.chdir('/tmp/files');
    ns.unmount(basic, { detach: true });
    expect(text(task.cwdPath())).toBe('(unreachable)/files');
    expect(task.stat('size-1').size).toBe(1);
    task.chdir('/');
    expect(basic.state).toBe('released');
  });

  it('chroot needs CAP_SYS_CHROOT; absolute paths and ".." then stop at the new root', () => {
    const { ns } = world();
    const t = new Task(ns, { creds: credentials(0, 0, [], capMask(18)) });
    expectErrno(() => new Task(ns, { creds: user }).chroot('/tmp'), 'EPERM');
    t.chroot('/tmp');
    t.chdir('/');
    expect(ls(t, '/links').includes('abs')).toBe(true);
    expectErrno(() => t.stat('/links/abs'), 'ENOENT'); // /etc/passwd of the image: absent
    expect(t.stat('/../../files/size-1').size).toBe(1);
    // Only mounts below the new root are shown, relative to it: the image at "/".
    expect(t.mountinfo()).toBe('2 1 0:33 / / ro,relatime - erofs basic-18.erofs ro\n');
  });
});

describe('Task: the trust boundary', () => {
  it('guest mount(2) of an image type is EPERM even for CAP_SYS_ADMIN', () => {
    const { ns } = world();
    const t = new Task(ns, { creds: admin });
    expectErrno(() => t.mount('/x.erofs', '/tmp', 'erofs', 0), 'EPERM');
    expectErrno(() => new Task(ns, { creds: user }).mount('none', '/tmp', 'tmpfs', 0), 'EPERM');
    expectErrno(() => t.mount('/tmp', '/mnt', null, MS_BIND), 'EPERM');
    expectErrno(() => t.mount('none', '/tmp', 'tmpfs', 0), 'ENODEV');
  });

  it('guest umount2 is EPERM unless the policy allows it, then behaves as Linux', () => {
    const closed = world();
    const t = new Task(closed.ns, { creds: admin });
    expectErrno(() => t.umount2('/tmp', 0), 'EPERM');
    expectErrno(() => t.umount2('/nope', 0), 'ENOENT');
    expectErrno(() => t.umount2('/tmp', 0x100), 'EINVAL');

    const open = world({ guestUnmount: true });
    const a = new Task(open.ns, { creds: admin });
    expectErrno(() => new Task(open.ns, { creds: user }).umount2('/tmp', 0), 'EPERM');
    expectErrno(() => a.umount2('/tmp/files', 0), 'EINVAL');
    expectErrno(() => a.umount2('/', 0), 'EINVAL');
    const fd = a.open('/tmp/files/size-1');
    expectErrno(() => a.umount2('/tmp', 0), 'EBUSY');
    expect(a.umount2('/tmp', MNT_DETACH)).toBe(0);
    expect(a.read(fd, new Uint8Array(4))).toBe(1);
    expect(ls(a, '/tmp')).toEqual([]);
    a.close(fd);
    expect(open.basic.state).toBe('released');
  });

  it('mountinfo from a task', () => {
    const { task } = world();
    expect(task.mountinfo().split('\n').filter(Boolean)).toEqual([
      '1 1 0:32 / / ro,relatime - erofs rootfs-18.erofs ro',
      '2 1 0:33 / /tmp ro,relatime - erofs basic-18.erofs ro',
    ]);
  });

  it('a synthetic root answers like a read-only tmpfs', () => {
    const ns = new MountNamespace();
    const sfs = ns.root.fs as SyntheticFs;
    sfs.addDir(sfs.root, 'dev');
    const t = new Task(ns, { creds: user });
    expect(ls(t, '/')).toEqual(['dev']);
    expectErrno(() => t.open('/dev/x', O_CREAT), 'EROFS');
    expectErrno(() => t.access('/dev', 2), 'EROFS');
    expectErrno(() => t.getxattr('/dev', 'user.x'), 'ENODATA');
    expect(t.listxattr('/dev')).toBe(0);
    expect(t.statx(AT_FDCWD, '/', 0, 0).attributes & STATX_ATTR_MOUNT_ROOT).toBe(STATX_ATTR_MOUNT_ROOT);
    expect(t.statx(AT_FDCWD, '/dev', 0, 0).attributes & STATX_ATTR_MOUNT_ROOT).toBe(0);
  });
});

describe('mmap', () => {
  it('maps a file through its descriptor; the pages read as pread does, and Linux errors elsewhere', () => {
    const { task: t } = world();
    const fd = t.open('/bin/busybox', O_RDONLY);
    const pages = t.mmap(fd, 4096, 3 * 4096, PROT_READ, MAP_PRIVATE);
    expect(pages.map((p) => p.length)).toEqual([4096, 4096, 4096]);
    const want = new Uint8Array(3 * 4096);
    t.pread64(fd, want, 4096);
    const got = new Uint8Array(3 * 4096);
    pages.forEach((p, i) => got.set(p, i * 4096));
    expect(got).toEqual(want);
    expectErrno(() => t.mmap(fd, 100, 4096, PROT_READ, MAP_PRIVATE), 'EINVAL');
    expectErrno(() => t.mmap(fd, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED), 'EACCES');
    expectErrno(() => t.mmap(fd, 1 << 20, 4096, PROT_READ, MAP_PRIVATE), 'EFAULT');
    expectErrno(() => t.mmap(t.open('/etc', O_RDONLY | O_DIRECTORY), 0, 4096, PROT_READ, MAP_PRIVATE), 'ENODEV');
    expectErrno(() => t.mmap(t.open('/etc/passwd', O_PATH), 0, 4096, PROT_READ, MAP_PRIVATE), 'EBADF');
    const ns = new MountNamespace();
    const s = new Task(ns);
    expectErrno(() => s.mmap(s.open('/', O_RDONLY | O_DIRECTORY), 0, 4096, PROT_READ, MAP_PRIVATE), 'ENODEV');
    expectErrno(() => s.mmap(s.open('/', O_PATH), 0, 4096, PROT_READ, MAP_PRIVATE), 'EBADF');
    expectErrno(() => t.mmap(99, 0, 4096, PROT_READ, MAP_PRIVATE), 'EBADF');
  });
});

describe('Task: positions past 2^53, the descriptor table at scale, open flags', () => {
  it('a number offset gets a number back: a position past 2^53 is EINVAL for it, and does not move', () => {
    const { task: t } = world();
    const fd = t.open('/tmp/files/size-4097');
    expect(t.lseek(fd, 2 ** 53 - 1, SEEK_SET)).toBe(2 ** 53 - 1);
    expectErrno(() => t.lseek(fd, 1, 1), 'EINVAL');
    expect(t.lseek(fd, 1n, 1)).toBe(2n ** 53n);
    expectErrno(() => t.lseek(fd, 0, 1), 'EINVAL');
    expectErrno(() => t.lseek(fd, 2 ** 62, SEEK_SET), 'EINVAL');
    expect(t.lseek(fd, 0n, 1)).toBe(2n ** 53n);
    expect(t.lseek(fd, BigInt(-(2 ** 53)), 1)).toBe(0);
    expectErrno(() => t.lseek(fd, 0.5, SEEK_SET), 'EINVAL');
    expectErrno(() => t.lseek(fd, Number.NaN, SEEK_SET), 'EINVAL');
    expectErrno(() => t.lseek(fd, 2n ** 63n, SEEK_SET), 'EINVAL');
    expectErrno(() => t.lseek(fd, 0, 7), 'EINVAL');
    expectErrno(() => t.lseek(fd, 2n ** 62n, 7), 'EINVAL');
    // A dup shares the far position; SEEK_END from it comes back below 2^53.
    expect(t.lseek(fd, 2n ** 62n, SEEK_SET)).toBe(2n ** 62n);
    const d = t.dup(fd);
    expect(t.lseek(d, 0n, 1)).toBe(2n ** 62n);
    expect(t.lseek(d, -1n, SEEK_END)).toBe(4096);
    expect(t.lseek(fd, 0, 1)).toBe(4096);
    expect(t.read(fd, new Uint8Array(10))).toBe(1);
  });

  it('synthetic directories: far positions with SEEK_SET and SEEK_CUR, EINVAL for SEEK_END', () => {
    const t = new Task(new MountNamespace(), { creds: user });
    const fd = t.open('/', O_DIRECTORY);
    expect(t.lseek(fd, 2n ** 62n, SEEK_SET)).toBe(2n ** 62n);
    expect(t.getdents64(fd, new Uint8Array(4096))).toBe(0);
    expectErrno(() => t.lseek(fd, 2n ** 62n, 1), 'EINVAL');
    expect(t.lseek(fd, 2n ** 62n - 1n, 1)).toBe(2n ** 63n - 1n);
    expect(t.lseek(fd, -(2n ** 63n) + 1n, 1)).toBe(0);
    expectErrno(() => t.lseek(fd, 0n, SEEK_END), 'EINVAL');
    expect(t.lseek(fd, 2n ** 62n, SEEK_SET)).toBe(2n ** 62n);
    expectErrno(() => t.lseek(fd, 0n, SEEK_END), 'EINVAL');
    expect(t.lseek(fd, 0n, 1)).toBe(2n ** 62n);
    expectErrno(() => t.read(fd, new Uint8Array(1)), 'EISDIR');
    expectErrno(() => t.pread64(fd, new Uint8Array(2), 2n ** 63n - 1n), 'EINVAL');
    expect(t.lseek(fd, 0n, SEEK_SET)).toBe(0);
    expect(t.getdents64(fd, new Uint8Array(4096))).toBeGreaterThan(0);
  });

  it('F_GETFL of an O_PATH descriptor has no O_LARGEFILE (Linux 6.18); unknown open flags are dropped', () => {
    const { task: t } = world();
    expect(t.fcntl(t.open('/etc', O_PATH | O_DIRECTORY | O_CLOEXEC), F_GETFL)).toBe(O_PATH | O_DIRECTORY);
    expect(t.fcntl(t.open('/etc/passwd', O_PATH | O_CREAT | O_TRUNC), F_GETFL)).toBe(O_PATH);
    expect(t.fcntl(t.open('/etc/passwd', 0x40000000 | 0o4), F_GETFL)).toBe(O_RDONLY | O_LARGEFILE);
  });

  it('readv and preadv take at most UIO_MAXIOV buffers', () => {
    const { task: t } = world();
    const fd = t.open('/etc/passwd');
    const iov = (n: number) => Array.from({ length: n }, () => new Uint8Array(1));
    expect(t.readv(fd, iov(1024))).toBe(123 > 1024 ? 1024 : 123);
    expectErrno(() => t.readv(fd, iov(1025)), 'EINVAL');
    expectErrno(() => t.preadv(fd, iov(1025), 0), 'EINVAL');
    expect(t.preadv(fd, iov(3), 0n)).toBe(3);
  });

  it('a table of 2^20 descriptors with all but the last reserved opens at once', () => {
    const { ns } = world();
    const max = 2 ** 20;
    const t = new Task(ns, { creds: user, maxFds: max, reservedFds: Array.from({ length: max - 1 }, (_, i) => i) });
    // Each of these scanned a million numbers before (about 90 ms an open).
    for (let i = 0; i < 2000; i++) t.close(t.open('/etc/passwd'));
    const fd = t.open('/etc/passwd');
    expect(fd).toBe(max - 1);
    expectErrno(() => t.open('/etc/passwd'), 'EMFILE');
    expectErrno(() => t.fcntl(fd, F_DUPFD, max), 'EINVAL');
    expectErrno(() => t.dup2(fd, 5), 'EBADF');
    const child = t.fork();
    expect(child.openFds()).toEqual([max - 1]);
    child.exit();
    t.exit();
  });
});
