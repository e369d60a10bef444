import { describe, expect, it } from 'vitest';
import { Image, MemorySource } from '@erofs-js/erofs';
import { fixtureBytes, nodeAt, openFixture } from '../../../tests/fixtures.js';
import { ROOT, credentials } from './credentials.js';
import { SysError } from './errno.js';
import { O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY } from './file.js';
import { Filesystem } from './filesystem.js';
import { openPath, resolve, resolveParent } from './resolve.js';
import { MAX_SYMLINKS, PATH_MAX } from './walker.js';

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

describe('a symlink whose target is empty (its body starts with a NUL)', () => {
  /** basic-18 with the first byte of /links/dot's one-byte target "." set to NUL. */
  function emptyDot(): Filesystem {
    const bytes = fixtureBytes('basic-18.erofs').slice();
    const img = new Image(new MemorySource(bytes));
    const dot = nodeAt(img, '/links/dot');
    const at = img.map(dot, 0).physical;
    expect(bytes[at]).toBe(0x2e);
    bytes[at] = 0;
    const fs = new Filesystem(new Image(new MemorySource(bytes)));
    expect(fs.readlink(resolveHeld(fs, '/links/dot', false))).toEqual(new Uint8Array(0));
    return fs;
  }
  function resolveHeld(fs: Filesystem, p: string, follow = true) {
    const d = resolve(fs, p, ROOT, { follow });
    d.decRef();
    return d;
  }

  it('is followed to the directory holding it, with the rest of the path from there (Linux 6.18)', () => {
    const fs = emptyDot();
    const links = resolveHeld(fs, '/links');
    expect(resolveHeld(fs, '/links/dot')).toBe(links);
    expect(resolveHeld(fs, '/links/dot/')).toBe(links);
    expect(resolveHeld(fs, '/links/dot/rel')).toBe(resolveHeld(fs, '/files/size-1'));
    expect(resolveHeld(fs, '/links/dot/../files')).toBe(resolveHeld(fs, '/files'));
    expect(resolveHeld(fs, '/links/dot', false).inode.isSymlink).toBe(true);
    expect(code(() => resolve(fs, '/links/dot/nothing', ROOT))).toBe('ENOENT');
    const fd = openPath(fs, '/links/dot', O_RDONLY | O_DIRECTORY, ROOT);
    expect(fd.dentry).toBe(links);
    fd.close();
    expect(code(() => openPath(fs, '/links/dot', O_RDONLY | O_NOFOLLOW, ROOT))).toBe('ELOOP');
    expect(code(() => openPath(fs, '/links/dot', O_PATH | O_NOFOLLOW, ROOT))).toBe('OK');
    // O_CREAT follows it to the directory: open(2) of a directory with O_CREAT is EISDIR.
    expect(code(() => openPath(fs, '/links/dot', O_RDONLY | O_CREAT, ROOT))).toBe('EISDIR');
  });

  it('counts against the 40-link budget', () => {
    const fs = emptyDot();
    const dots = (n: number) => '/links/' + 'dot/'.repeat(n);
    expect(code(() => resolve(fs, dots(40), ROOT))).toBe('OK');
    expect(code(() => resolve(fs, dots(41), ROOT))).toBe('ELOOP');
    expect(code(() => resolve(fs, dots(39) + 'rel', ROOT))).toBe('OK');
    expect(code(() => resolve(fs, dots(40) + 'rel', ROOT))).toBe('ELOOP');
    expect(code(() => openPath(fs, dots(40).slice(0, -1), O_RDONLY | O_CREAT, ROOT))).toBe('EISDIR');
    expect(code(() => openPath(fs, dots(41).slice(0, -1), O_RDONLY | O_CREAT, ROOT))).toBe('ELOOP');
    fs.shrink();
    expect(fs.stats()).toMatchObject({ dentriesPinned: 1, inodesLive: 1 });
  });
});
