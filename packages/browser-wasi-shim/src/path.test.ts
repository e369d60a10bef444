import { describe, expect, it } from 'vitest';
import { wasi } from '@bjorn3/browser_wasi_shim';
import { isDots, relativePath, splitLast } from './path.js';

const s = (b: Uint8Array | number) => (typeof b === 'number' ? b : Buffer.from(b).toString());

describe('WASI path arguments', () => {
  it('relative paths pass as UTF-8 bytes', () => {
    expect(s(relativePath('a/b'))).toBe('a/b');
    expect(s(relativePath('日本/x'))).toBe('日本/x');
    expect(s(relativePath('a/../b'))).toBe('a/../b');
    expect(s(relativePath('./a/./..'))).toBe('./a/./..');
    expect(s(relativePath(''))).toBe('');
  });

  it('absolute paths, climbing above the handle and NUL bytes are refused', () => {
    expect(relativePath('/etc')).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(relativePath('..')).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(relativePath('a/../..')).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(relativePath('a//..//../b')).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(relativePath('./../a')).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(relativePath('a\0b')).toBe(wasi.ERRNO_INVAL);
  });

  it('splitLast: the parent a create or remove walks, and the last name', () => {
    const sp = (p: string) => {
      const { parent, last } = splitLast(Buffer.from(p));
      return [s(parent), s(last)];
    };
    expect(sp('a')).toEqual(['.', 'a']);
    expect(sp('a/b')).toEqual(['a', 'b']);
    expect(sp('a/b/')).toEqual(['a', 'b']);
    expect(sp('a//b')).toEqual(['a', 'b']);
    expect(sp('x/y/..')).toEqual(['x/y', '..']);
    expect(isDots(Buffer.from('.'))).toBe(true);
    expect(isDots(Buffer.from('..'))).toBe(true);
    expect(isDots(Buffer.from('...'))).toBe(false);
  });
});
