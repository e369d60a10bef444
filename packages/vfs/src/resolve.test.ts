import { describe, expect, it } from 'vitest';
import { openFixture } from '../../../tests/fixtures.js';
import { ROOT, credentials } from './credentials.js';
import { SysError } from './errno.js';
import { O_CREAT, O_DIRECTORY, O_RDONLY } from './file.js';
import { Filesystem } from './filesystem.js';
import { MAX_SYMLINKS, PATH_MAX, openPath, resolve, resolveParent } from './resolve.js';

function code(fn: () => { decRef?(): void; close?(): void }): string {
  try {
    const r = fn();
    r.decRef?.();
    r.close?.();
    return 'OK';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

describe('resolve', () => {
  const fs = new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: 4 });

  it('counts 40 symlinks over the whole resolution (kernel 6.18: 40 resolves, 41 ELOOP)', () => {
    expect(MAX_SYMLINKS).toBe(40);
    const dots = (n: number) => '/links/' + 'dot/'.repeat(n);
    expect(code(() => resolve(fs, dots(40), ROOT))).toBe('OK');
    expect(code(() => resolve(fs, dots(41), ROOT))).toBe('ELOOP');
    expect(code(() => resolve(fs, dots(39) + 'rel', ROOT))).toBe('OK');
    expect(code(() => resolve(fs, dots(40) + 'rel', ROOT))).toBe('ELOOP');
    expect(code(() => resolve(fs, dots(40) + 'rel', ROOT, { follow: false }))).toBe('OK');
  });

  it('limits paths to 4095 bytes', () => {
    const pad = (n: number) => '/' + './'.repeat((n - 1 - 'files/size-1'.length) / 2) + 'files/size-1';
    expect(pad(4095).length).toBe(4095);
    expect(code(() => resolve(fs, pad(4095), ROOT))).toBe('OK');
    expect(code(() => resolve(fs, '/' + pad(4095), ROOT))).toBe('ENAMETOOLONG');
    expect(PATH_MAX).toBe(4096);
    expect(code(() => resolve(fs, '', ROOT))).toBe('ENOENT');
  });

  it('follows relative and absolute targets, and resolves relative paths from a start', () => {
    const rfs = new Filesystem(openFixture('rootfs-18.erofs'));
    const sh = resolve(rfs, '/bin/sh', ROOT);
    expect(sh.inode.isReg).toBe(true);
    const bin = resolve(rfs, '/bin', ROOT);
    expect(resolve(rfs, 'sh', ROOT, { at: bin })).toBe(sh);
    expect(resolve(rfs, '../bin/./sh', ROOT, { at: bin })).toBe(sh);
    expect(resolve(rfs, '/../../bin//sh', ROOT)).toBe(sh);
    expect(resolve(rfs, 'sh', ROOT, { at: bin, follow: false }).inode.isSymlink).toBe(true);
    expect(code(() => resolve(rfs, 'sh', ROOT, { at: bin, directory: true }))).toBe('ENOTDIR');
    const d = resolve(fs, '/links/todir/', ROOT, { follow: false });
    expect(d.inode.isDir).toBe(true);
    d.decRef();
    expect(code(() => resolve(fs, '/links/abs', ROOT))).toBe('ENOENT');
  });

  it('checks search permission on every directory walked through', () => {
    const u = credentials(1000, 1000);
    expect(code(() => resolve(fs, '/modes/dir-0000/x', u))).toBe('EACCES');
    expect(code(() => resolve(fs, '/modes/dir-0000', u))).toBe('OK');
    expect(code(() => resolve(fs, '/modes/dir-0000/..', u))).toBe('EACCES');
  });

  it('splits off the last component', () => {
    const p = resolveParent(fs, '/files/size-1/', ROOT);
    expect([new TextDecoder().decode(p.last!), p.trailingSlash, p.parent.inode.ino]).toEqual(['size-1', true, 128]);
    p.parent.decRef();
    const r = resolveParent(fs, '///', ROOT);
    expect([r.last, r.parent]).toEqual([null, fs.root]);
    r.parent.decRef();
  });

  it('opens with O_CREAT the Linux way', () => {
    expect(code(() => openPath(fs, '/links/rel', O_RDONLY | O_CREAT, ROOT))).toBe('OK');
    expect(code(() => openPath(fs, '/', O_RDONLY | O_CREAT, ROOT))).toBe('EISDIR');
    expect(code(() => openPath(fs, '/files/x', O_RDONLY | O_CREAT | O_DIRECTORY, ROOT))).toBe('EINVAL');
    expect(code(() => openPath(fs, '/modes/dir-0000/x', O_RDONLY | O_CREAT, credentials(1000, 1000)))).toBe('EACCES');
    expect(code(() => openPath(fs, '/files/' + 'a'.repeat(256), O_RDONLY | O_CREAT, ROOT))).toBe('ENAMETOOLONG');
  });

  it('leaves no references behind, whatever failed', () => {
    fs.shrink();
    expect(fs.stats()).toMatchObject({ dentriesPinned: 1, dentriesCached: 0, inodesLive: 1 });
  });
});
