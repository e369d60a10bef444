/**
 * Errors of the Task say which call failed and on which path, as Node's do (`syscall`,
 * `path`): set on the way out of each call, for calls on descriptors without a path.
 */
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDONLY, O_WRONLY, SysError, failedCall } from '@erofs-js/vfs';
import { spec } from '../test/helpers.js';
import { MountNamespace } from './namespace.js';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, Task } from './task.js';

function caught(fn: () => unknown): SysError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SysError);
    return e as SysError;
  }
  throw new Error('did not throw');
}

describe('SysError syscall and path', () => {
  const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'));
  const task = new Task(ns);

  it('path calls: the syscall and the path as given (string or bytes)', () => {
    expect(caught(() => task.openat(AT_FDCWD, '/etc/nope', O_RDONLY))).toMatchObject({ code: 'ENOENT', syscall: 'openat', path: '/etc/nope' });
    expect(caught(() => task.open(new TextEncoder().encode('/etc/passwd/x'), O_RDONLY))).toMatchObject({ code: 'ENOTDIR', syscall: 'openat', path: '/etc/passwd/x' });
    expect(caught(() => task.newfstatat(AT_FDCWD, '/nope', AT_SYMLINK_NOFOLLOW))).toMatchObject({ code: 'ENOENT', syscall: 'newfstatat', path: '/nope' });
    expect(caught(() => task.mkdirat(AT_FDCWD, '/etc/new', 0o755))).toMatchObject({ code: 'EROFS', syscall: 'mkdirat', path: '/etc/new' });
    expect(caught(() => task.open('/etc/passwd', O_WRONLY | O_CREAT))).toMatchObject({ code: 'EROFS', syscall: 'openat', path: '/etc/passwd' });
    expect(caught(() => task.readlinkat(AT_FDCWD, '/etc/passwd', new Uint8Array(10)))).toMatchObject({ code: 'EINVAL', syscall: 'readlinkat', path: '/etc/passwd' });
    expect(caught(() => task.renameat(AT_FDCWD, '/etc/passwd', AT_FDCWD, '/etc/p2'))).toMatchObject({ syscall: 'renameat2', path: '/etc/passwd' });
    expect(caught(() => task.chdir('/etc/passwd'))).toMatchObject({ code: 'ENOTDIR', syscall: 'chdir', path: '/etc/passwd' });
    expect(caught(() => task.lgetxattr('/etc/passwd', 'user.nope'))).toMatchObject({ code: 'ENODATA', syscall: 'lgetxattr', path: '/etc/passwd' });
    // The message stays the VFS's own.
    expect(caught(() => task.open('/etc/nope', O_RDONLY)).message).toMatch(/^ENOENT: /);
  });

  it('descriptor calls: the syscall, no path', () => {
    for (const [fn, syscall] of [
      [() => task.read(99, new Uint8Array(1)), 'read'],
      [() => task.pread64(99, new Uint8Array(1), 0), 'pread64'],
      [() => task.fstat(99), 'fstat'],
      [() => task.close(99), 'close'],
      [() => task.dup(99), 'dup'],
      [() => task.getdents64(99, new Uint8Array(100)), 'getdents64'],
      [() => task.lseek(99, 0, 0), 'lseek'],
    ] as const) {
      const e = caught(fn);
      expect(e.code).toBe('EBADF');
      expect(e.syscall).toBe(syscall);
      expect('path' in e, syscall).toBe(false);
    }
    const fd = task.open('/etc', O_RDONLY);
    try {
      expect(caught(() => task.read(fd, new Uint8Array(1)))).toMatchObject({ code: 'EISDIR', syscall: 'read' });
      expect(caught(() => task.write(fd, new Uint8Array(1)))).toMatchObject({ code: 'EBADF', syscall: 'write' });
    } finally {
      task.close(fd);
    }
  });

  it('an error thrown again by a later call is named for that call', () => {
    const e = new SysError('EIO', 'shared');
    expect(failedCall(e, 'openat', '/a')).toBe(e);
    expect(e).toMatchObject({ syscall: 'openat', path: '/a' });
    failedCall(e, 'read');
    expect(e.syscall).toBe('read');
    expect('path' in e).toBe(false);
    // A fresh SysError has neither until a call fails.
    expect(Object.keys(new SysError('ENOENT'))).not.toContain('syscall');
  });
});
