import { ErrnoError } from '@zenfs/core';
import { ErofsError } from '@erofs-js/erofs';
import { SysError } from '@erofs-js/vfs';
import { describe, expect, it } from 'vitest';
import { toErrnoError, zen } from './errors.js';

describe('errors for ZenFS', () => {
  it('a SysError becomes an ErrnoError with the same errno and code, the original as cause', () => {
    for (const code of ['ENOENT', 'ENOTDIR', 'EISDIR', 'EROFS', 'ELOOP', 'ENAMETOOLONG', 'ENODATA', 'EEXIST', 'ENXIO', 'EIO'] as const) {
      const src = new SysError(code, 'why');
      const e = toErrnoError(src);
      expect(e).toBeInstanceOf(ErrnoError);
      expect(e.errno).toBe(src.errno);
      expect(e.code).toBe(code);
      expect((e as { cause?: unknown }).cause).toBe(src);
    }
  });

  it('EOPNOTSUPP keeps Node and ZenFS spelling ENOTSUP; EUCLEAN gets its Linux name', () => {
    expect(toErrnoError(new SysError('EOPNOTSUPP')).code).toBe('ENOTSUP');
    const e = toErrnoError(new SysError('EUCLEAN', 'dirent at byte 8192: bad nameoff'));
    expect(e.code).toBe('EUCLEAN');
    expect(e.errno).toBe(117);
    expect(e.message).toMatch(/bad nameoff/);
  });

  it('zen() maps SysError and ErofsError, passes results and other errors through', () => {
    expect(zen(() => 42)).toBe(42);
    expect(() => zen(() => { throw new SysError('ENOENT'); })).toThrow(expect.objectContaining({ code: 'ENOENT', errno: 2 }));
    expect(() => zen(() => { throw new ErofsError('EUCLEAN', 'inode', 64, 'bad'); })).toThrow(expect.objectContaining({ code: 'EUCLEAN', errno: 117 }));
    const bug = new TypeError('a bug');
    expect(() => zen(() => { throw bug; })).toThrow(bug);
  });
});
