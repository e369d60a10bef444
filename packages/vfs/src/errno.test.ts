import { describe, expect, it } from 'vitest';
import { ErofsError } from '@erofs-js/erofs';
import { ERRNO, SysError, decoding, isSysError, sysError, toSysError } from './errno.js';

describe('errno', () => {
  it('uses the Linux numbers', () => {
    expect(ERRNO).toMatchObject({
      EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, EBADF: 9, EACCES: 13, EBUSY: 16, EEXIST: 17, ENOTDIR: 20, EISDIR: 21,
      EINVAL: 22, EFBIG: 27, ESPIPE: 29, EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36, ELOOP: 40, ENODATA: 61,
      EOPNOTSUPP: 95, EUCLEAN: 117,
    });
  });

  it('SysError carries the name, number and message', () => {
    const e = sysError('ENOENT', 'no such file');
    expect(e).toBeInstanceOf(Error);
    expect(isSysError(e)).toBe(true);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.message).toBe('ENOENT: no such file');
    expect(new SysError('EROFS').message).toBe('EROFS: EROFS');
  });

  it('turns decoder errors into SysErrors with the same code and message', () => {
    for (const code of ['EUCLEAN', 'EIO', 'EOPNOTSUPP', 'EFBIG'] as const) {
      const src = new ErofsError(code, 'inode 7', 4096, 'bad');
      const e = toSysError(src);
      expect(e.code).toBe(code);
      expect(e.errno).toBe(ERRNO[code]);
      expect(e.message).toContain('inode 7 at byte 4096: bad');
      expect(e.cause).toBe(src);
    }
    const sys = sysError('EIO');
    expect(toSysError(sys)).toBe(sys);
  });

  it('rethrows anything that is not an image error: that is a bug, not corruption', () => {
    const bug = new TypeError('x is undefined');
    expect(() => toSysError(bug)).toThrow(bug);
    expect(() => decoding(() => { throw bug; })).toThrow(TypeError);
    expect(() => decoding(() => { throw new ErofsError('EUCLEAN', 'dirent', 12, 'bad nameoff'); })).toThrow(expect.objectContaining({ code: 'EUCLEAN', errno: 117 }));
    expect(decoding(() => 42)).toBe(42);
  });
});
