import { describe, expect, it } from 'vitest';
import { wasi } from '@bjorn3/browser_wasi_shim';
import { ErofsError } from '@erofs-js/erofs';
import { ERRNO, SysError, type Errno } from '@erofs-js/vfs';
import { WASI_ERRNO, errnoOf, wasiErrno } from './errno.js';

/** Every WASI errno name the shim defines, by number. */
const WASI_NAMES = new Map(Object.entries(wasi).filter(([k]) => k.startsWith('ERRNO_')).map(([k, v]) => [v as number, k.slice(6)]));

describe('Linux errno to WASI errno', () => {
  it('covers every code the VFS can throw, with a WASI errno that exists', () => {
    for (const code of Object.keys(ERRNO) as Errno[]) {
      expect(WASI_ERRNO[code], code).toBeGreaterThan(0);
      expect(WASI_NAMES.has(WASI_ERRNO[code]), code).toBe(true);
    }
    expect(Object.keys(WASI_ERRNO).sort()).toEqual(Object.keys(ERRNO).sort());
  });

  it('maps by meaning: the same name where WASI has it', () => {
    // WASI spells a few differently (EACCES -> ACCES, EOPNOTSUPP -> NOTSUP); three have no WASI name.
    const renamed: Record<string, string> = { EACCES: 'ACCES', EOPNOTSUPP: 'NOTSUP', ENODATA: 'NOENT', EUCLEAN: 'IO' };
    for (const code of Object.keys(ERRNO) as Errno[]) {
      expect(WASI_NAMES.get(WASI_ERRNO[code]), code).toBe(renamed[code] ?? code.slice(1));
    }
  });

  it('the numbers a guest sees', () => {
    expect(WASI_ERRNO.ENOENT).toBe(44);
    expect(WASI_ERRNO.EROFS).toBe(69);
    expect(WASI_ERRNO.EBADF).toBe(8);
    expect(WASI_ERRNO.ENOTDIR).toBe(54);
    expect(WASI_ERRNO.EISDIR).toBe(31);
    expect(WASI_ERRNO.EEXIST).toBe(20);
    expect(WASI_ERRNO.ELOOP).toBe(32);
    expect(WASI_ERRNO.EACCES).toBe(2);
    expect(WASI_ERRNO.EINVAL).toBe(28);
    expect(WASI_ERRNO.EIO).toBe(29);
  });

  it('errnoOf: SysError and ErofsError by code; anything else is a bug and is rethrown', () => {
    expect(errnoOf(new SysError('ENOENT', 'x'))).toBe(44);
    expect(errnoOf(new SysError('EUCLEAN', 'corrupt'))).toBe(wasi.ERRNO_IO);
    expect(errnoOf(new ErofsError('EUCLEAN', 'dirent', 8, 'nameoff outside the block'))).toBe(wasi.ERRNO_IO);
    expect(errnoOf(new ErofsError('EOPNOTSUPP', 'superblock', 0, 'unknown algorithm'))).toBe(wasi.ERRNO_NOTSUP);
    expect(() => errnoOf(new TypeError('bug'))).toThrow(TypeError);
    expect(wasiErrno('ENOTANERRNO')).toBe(wasi.ERRNO_IO);
    expect(wasiErrno('toString')).toBe(wasi.ERRNO_IO);
  });
});
