/**
 * The write surface across mounts: a tmpfs at /tmp, an image at /img, a read-only tmpfs
 * at /ro, on a synthetic root. The answers are Linux's (observed on 6.18 with a tmpfs, a
 * read-only bind of a tmpfs and an EROFS loop mount; tests/write-oracle.test.ts replays
 * the recorded battery): what only the mount layer can know is checked here — EROFS at
 * mnt_want_write's place in each call's order, EXDEV across mounts, EBUSY on mount points.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errnoOf } from '../../../tests/fixtures.js';
import { credentials, RENAME_NOREPLACE, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY } from '@erofs-js/vfs';
import { Tmpfs } from '@erofs-js/tmpfs';
import { fixture } from '../test/helpers.js';
import { HostController } from './node/controller.js';
import { AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, type Task } from './task.js';

const code = errnoOf;

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let c: HostController;
let t: Task;

beforeEach(async () => {
  c = await HostController.create({ mkdirs: ['/tmp', '/img', '/ro'] });
  await c.mount({ type: 'tmpfs', target: '/tmp', options: { size: '1m' } });
  await c.mount({ image: fixture('basic-18.erofs'), target: '/img' });
  await c.mount({ type: 'tmpfs', target: '/ro', options: { readOnly: true } });
  t = c.task();
});

afterEach(() => {
  t.exit();
  c.close();
});

function readAllFd(fd: number): string {
  const out: number[] = [];
  const buf = new Uint8Array(7);
  for (let n; (n = t.read(fd, buf)) > 0; ) out.push(...buf.subarray(0, n));
  return dec(Uint8Array.from(out));
}

describe('the write surface through Task', () => {
  it('creates, writes, reads back, renames and removes on a tmpfs', () => {
    expect(t.mkdir('/tmp/d', 0o755)).toBe(0);
    const fd = t.open('/tmp/d/f', O_CREAT | O_WRONLY | O_EXCL, 0o644);
    expect(t.write(fd, enc('hello '))).toBe(6);
    expect(t.pwrite64(fd, enc('world'), 6)).toBe(5);
    expect(t.writev(fd, [enc('!'), enc('?')])).toBe(2);
    t.close(fd);
    const rd = t.open('/tmp/d/f', O_RDONLY);
    expect(readAllFd(rd)).toBe('hello !?rld');
    t.close(rd);
    expect(t.stat('/tmp/d/f').mode).toBe(0o100644);
    expect(t.rename('/tmp/d/f', '/tmp/g')).toBe(0);
    expect(code(() => t.stat('/tmp/d/f'))).toBe('ENOENT');
    expect(t.symlink('g', '/tmp/l')).toBe(0);
    expect(t.link('/tmp/g', '/tmp/h')).toBe(0);
    expect(t.stat('/tmp/g').nlink).toBe(2);
    expect(t.truncate('/tmp/l', 3)).toBe(0);
    expect(t.stat('/tmp/h').size).toBe(3);
    expect(t.unlink('/tmp/g')).toBe(0);
    expect(t.unlinkat(AT_FDCWD, '/tmp/d', AT_REMOVEDIR)).toBe(0);
    expect(t.fchmodat2(AT_FDCWD, '/tmp/h', 0o600)).toBe(0);
    expect(t.stat('/tmp/h').mode).toBe(0o100600);
    expect(t.utimensat(AT_FDCWD, '/tmp/h', [{ sec: 5, nsec: 0 }, { sec: 7, nsec: 9 }])).toBe(0);
    expect([t.stat('/tmp/h').atime, t.stat('/tmp/h').mtime, t.stat('/tmp/h').mtimeNsec]).toEqual([5, 7, 9]);
    expect(t.setxattr('/tmp/h', 'user.k', enc('v'))).toBe(0);
    const v = new Uint8Array(8);
    expect(t.getxattr('/tmp/h', 'user.k', v)).toBe(1);
    expect(t.removexattr('/tmp/h', 'user.k')).toBe(0);
  });

  it('applies the umask to new files and directories', () => {
    expect(t.umask(0o077)).toBe(0o022);
    t.mkdir('/tmp/m', 0o777);
    t.close(t.open('/tmp/m/f', O_CREAT | O_WRONLY, 0o666));
    expect(t.stat('/tmp/m').mode & 0o777).toBe(0o700);
    expect(t.stat('/tmp/m/f').mode & 0o777).toBe(0o600);
  });

  it('a file created read-only can still be written through the descriptor that made it', () => {
    const fd = t.open('/tmp/ro-file', O_CREAT | O_RDWR, 0o444);
    expect(t.write(fd, enc('x'))).toBe(1);
    t.close(fd);
    expect(code(() => t.open('/tmp/ro-file', O_WRONLY))).toBe('OK'); // root: CAP_DAC_OVERRIDE
    const user = c.task({ creds: credentials(1000, 1000) });
    expect(code(() => user.open('/tmp/ro-file', O_WRONLY))).toBe('EACCES');
    user.exit();
  });

  it('O_TMPFILE makes an unnamed file', () => {
    const fd = t.open('/tmp', O_TMPFILE | O_RDWR, 0o600);
    expect(t.write(fd, enc('anon'))).toBe(4);
    expect(t.fstat(fd).nlink).toBe(0);
    t.close(fd);
    expect(code(() => t.open('/img', O_TMPFILE | O_RDWR, 0o600))).toBe('EROFS');
  });

  it('an image: EEXIST before EROFS for creates, EROFS before ENOENT for removals', () => {
    expect(code(() => t.mkdir('/img/files', 0o755))).toBe('EEXIST');
    expect(code(() => t.mkdir('/img/newdir', 0o755))).toBe('EROFS');
    expect(code(() => t.unlink('/img/missing'))).toBe('EROFS');
    expect(code(() => t.rmdir('/img/.'))).toBe('EINVAL');
    expect(code(() => t.open('/img/new', O_CREAT | O_WRONLY, 0o644))).toBe('EROFS');
    expect(code(() => t.chmod('/img/files', 0o700))).toBe('EROFS');
    expect(code(() => t.truncate('/img/files', 0))).toBe('EISDIR');
    expect(code(() => t.symlink('x', '/img/files/'))).toBe('EEXIST');
  });

  it('a read-only mount of a tmpfs answers as Linux does for a ro bind', () => {
    expect(code(() => t.mkdir('/ro/x', 0o755))).toBe('EROFS');
    expect(code(() => t.mkdir('/ro', 0o755))).toBe('EEXIST');
    expect(code(() => t.unlink('/ro/nothing'))).toBe('EROFS');
    expect(code(() => t.open('/ro/new', O_CREAT | O_WRONLY, 0o644))).toBe('EROFS');
    expect(code(() => t.chmod('/ro', 0o700))).toBe('EROFS');
    expect(code(() => t.utimensat(AT_FDCWD, '/ro', null))).toBe('EROFS');
    // Both UTIME_OMIT: nothing to change, success before anything is looked at.
    expect(t.utimensat(AT_FDCWD, '/ro/missing', [{ sec: 0, nsec: (1 << 30) - 2 }, { sec: 0, nsec: (1 << 30) - 2 }])).toBe(0);
    expect(c.mountinfo()).toMatch(/ \/ro ro,relatime - tmpfs tmpfs ro,size=65536k,nr_inodes=16384,mode=1777,inode64\n/);
    expect(c.mountinfo()).toMatch(/ \/tmp rw,relatime - tmpfs tmpfs rw,size=1024k,/);
  });

  it('EXDEV across mounts, EBUSY for mount points', () => {
    t.close(t.open('/tmp/a', O_CREAT | O_WRONLY, 0o644));
    expect(code(() => t.rename('/tmp/a', '/img/a'))).toBe('EXDEV');
    expect(code(() => t.link('/tmp/a', '/ro/a'))).toBe('EROFS'); // filename_create's EROFS comes before EXDEV
    expect(code(() => t.link('/img/files/size-1', '/tmp/b'))).toBe('EXDEV');
    expect(code(() => t.rmdir('/tmp'))).toBe('EROFS'); // the synthetic root is read-only
    t.mkdir('/tmp/mnt', 0o755);
    c.mountFs({ type: 'tmpfs', target: '/tmp/mnt' });
    expect(code(() => t.rmdir('/tmp/mnt'))).toBe('EBUSY');
    expect(code(() => t.rename('/tmp/mnt', '/tmp/other'))).toBe('EBUSY');
    expect(code(() => t.renameat2(AT_FDCWD, '/tmp/a', AT_FDCWD, '/tmp/mnt', RENAME_NOREPLACE))).toBe('EEXIST');
  });

  it('a rename whose old path does not resolve lets go of both starting points (oracle scenario 15 left them held)', () => {
    const fs = new Tmpfs();
    t.mkdir('/tmp/m', 0o755);
    c.mountFs({ fs, target: '/tmp/m' });
    t.close(t.open('/tmp/m/f', O_CREAT | O_WRONLY, 0o644));
    t.symlink('loop', '/tmp/m/loop');
    const d = t.open('/tmp/m', O_RDONLY | O_DIRECTORY);
    const held = fs.stats().nodesHeld;
    expect(code(() => t.renameat2(d, 'f/x', d, 'r'))).toBe('ENOTDIR');
    expect(code(() => t.renameat2(d, 'missing/x', d, 'r'))).toBe('ENOENT');
    expect(code(() => t.renameat2(d, 'loop/x', d, 'r'))).toBe('ELOOP');
    expect(code(() => t.renameat2(d, 'f', d, 'missing/r'))).toBe('ENOENT');
    expect(fs.stats().nodesHeld).toBe(held);
    t.close(d);
  });

  it('argument checks come first', () => {
    expect(code(() => t.unlinkat(AT_FDCWD, '/tmp/x', 0x4000))).toBe('EINVAL');
    expect(code(() => t.mknod('/tmp/x', 0o040755))).toBe('EPERM');
    expect(code(() => t.mknod('/nonexistent/x', 0o170000))).toBe('EINVAL');
    expect(code(() => t.setxattr('/nonexistent', 'user.x', new Uint8Array(1), 4))).toBe('EINVAL');
    expect(code(() => t.setxattr('/nonexistent', '', new Uint8Array(1)))).toBe('ERANGE');
    expect(code(() => t.truncate('/nonexistent', -1))).toBe('EINVAL');
    expect(code(() => t.symlink('', '/tmp/x'))).toBe('ENOENT');
    expect(code(() => t.fchmodat2(AT_FDCWD, '/tmp', 0o755, 0x8000))).toBe('EINVAL');
    t.symlink('/tmp', '/tmp/sl');
    expect(code(() => t.fchmodat2(AT_FDCWD, '/tmp/sl', 0o755, AT_SYMLINK_NOFOLLOW))).toBe('EOPNOTSUPP');
    expect(code(() => t.mknod('/tmp/dir-slash/', 0o100644))).toBe('ENOENT');
  });

  it('ftruncate and write need a description open for writing', () => {
    t.close(t.open('/tmp/w', O_CREAT | O_WRONLY, 0o644));
    const rd = t.open('/tmp/w', O_RDONLY);
    expect(code(() => t.write(rd, enc('x')))).toBe('EBADF');
    expect(code(() => t.ftruncate(rd, 0))).toBe('EINVAL');
    t.close(rd);
    const wr = t.open('/tmp/w', O_WRONLY | O_TRUNC);
    expect(t.ftruncate(wr, 10)).toBe(0);
    expect(t.fstat(wr).size).toBe(10);
    expect(t.fsync(wr)).toBe(0);
    expect(t.syncfs(wr)).toBe(0);
    t.close(wr);
  });
});

describe('device nodes and fifos in any filesystem', () => {
  it('a device node made by mknod in the tmpfs opens the registered driver; nodev refuses; unknown numbers ENXIO', () => {
    t.mknod('/tmp/null', 0o020666, (1 << 8) | 3);
    t.mknod('/tmp/full', 0o020666, (1 << 8) | 7);
    t.mknod('/tmp/nodrv', 0o020666, (240 << 8) | 7);
    const fd = t.open('/tmp/null', O_RDWR);
    expect(t.write(fd, enc('gone'))).toBe(4);
    expect(t.read(fd, new Uint8Array(4))).toBe(0);
    t.close(fd);
    const full = t.open('/tmp/full', O_WRONLY);
    expect(code(() => t.write(full, enc('x')))).toBe('ENOSPC');
    t.close(full);
    expect(code(() => t.open('/tmp/nodrv', O_RDONLY))).toBe('ENXIO');
  });

  it('nodev: EACCES before the permission check', async () => {
    t.mkdir('/tmp/nd', 0o755);
    c.mountFs({ type: 'tmpfs', target: '/tmp/nd', options: { nodev: true } });
    t.mknod('/tmp/nd/null', 0o020000, (1 << 8) | 3);
    const user = c.task({ creds: credentials(1000, 1000) });
    expect(code(() => user.open('/tmp/nd/null', O_RDONLY))).toBe('EACCES');
    expect(code(() => t.open('/tmp/nd/null', O_RDONLY))).toBe('EACCES');
    user.exit();
  });

  it('a fifo in the tmpfs is one pipe for every opener, across tasks', () => {
    t.mknod('/tmp/fifo', 0o010666, 0);
    const other = c.task();
    const r = other.open('/tmp/fifo', O_RDONLY | 0o4000); // O_NONBLOCK: does not wait for a writer
    const w = t.open('/tmp/fifo', O_WRONLY);
    expect(t.write(w, enc('through'))).toBe(7);
    const buf = new Uint8Array(16);
    expect(dec(buf.subarray(0, other.read(r, buf)))).toBe('through');
    t.close(w);
    expect(other.read(r, buf)).toBe(0); // every writer gone: EOF
    other.close(r);
    expect(code(() => t.open('/tmp/fifo', O_WRONLY | 0o4000))).toBe('ENXIO'); // no reader, O_NONBLOCK
    other.exit();
  });

  it('pipe2 gives a read end and a write end', () => {
    const [r, w] = t.pipe2(0);
    expect(t.write(w, enc('abc'))).toBe(3);
    const buf = new Uint8Array(8);
    expect(t.read(r, buf)).toBe(3);
    expect(t.fstat(r).mode & 0o170000).toBe(0o010000);
    t.close(w);
    expect(t.read(r, buf)).toBe(0);
    t.close(r);
  });
});

describe('devtmpfs', () => {
  it('the host mounts a /dev holding the registry\'s named devices and the fd links', async () => {
    const d = await HostController.create({ mkdirs: ['/dev'] });
    await d.mount({ type: 'devtmpfs', target: '/dev' });
    const g = d.task({ creds: credentials(1000, 1000) });
    expect(g.stat('/dev/null')).toMatchObject({ mode: 0o020666, rdev: (1 << 8) | 3 });
    expect(g.stat('/dev/zero')).toMatchObject({ mode: 0o020666, rdev: (1 << 8) | 5 });
    const link = new Uint8Array(64);
    expect(dec(link.subarray(0, g.readlinkat(AT_FDCWD, '/dev/stdin', link)))).toBe('/proc/self/fd/0');
    const fd = g.open('/dev/zero', O_RDONLY);
    const buf = new Uint8Array(5).fill(9);
    expect(g.read(fd, buf)).toBe(5);
    expect([...buf]).toEqual([0, 0, 0, 0, 0]);
    g.close(fd);
    expect(d.mountinfo()).toMatch(/ \/dev rw,relatime - devtmpfs devtmpfs rw,size=1024k,nr_inodes=1024,mode=755,inode64\n/);
    g.exit();
    d.close();
  });
});
