import { describe, expect, it } from 'vitest';
import { buildImage, dir, file, symlink } from '@erofs-js/mkfs';
import { Image, MemorySource } from '@erofs-js/erofs';
import { ErofsFS } from './filesystem.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function open(): ErofsFS {
  const tree = dir({
    f: file('x', {
      mtime: 1_700_000_000,
      mtimeNsec: 123_456_789,
      xattrs: { 'user.a': bytes('1'), 'trusted.t': bytes('2'), 'user.big': new Uint8Array(5000).fill(7) },
    }),
    plain: file('y'),
    l: symlink('f', { xattrs: { 'user.on-link': bytes('3') } }),
  });
  return new ErofsFS(new Image(new MemorySource(buildImage(tree))));
}

describe('ErofsInode', () => {
  it('carries the inode fields, one timestamp as atime, mtime and ctime in milliseconds', () => {
    const st = open().statSync('/f');
    expect(st.mtimeMs).toBeCloseTo(1_700_000_000_123.456789, 3);
    expect(st.atimeMs).toBe(st.mtimeMs);
    expect(st.ctimeMs).toBe(st.mtimeMs);
    expect(st.birthtimeMs).toBe(0);
    expect(st.flags).toBe(0);
    expect(st.size).toBe(1);
  });

  it('decodes xattrs only when asked; values over ZenFS\'s 3968-byte limit are left out', () => {
    const fs = open();
    const st = fs.statSync('/f');
    expect(Object.keys(st)).not.toContain('attrs');
    expect([...st.attributes.keys()].sort()).toEqual(['trusted.t', 'user.a']);
    expect([...st.attributes.get('user.a')!]).toEqual([...bytes('1')]);
    expect(fs.xattrs('/f').get('user.big')?.length).toBe(5000);
    expect([...fs.statSync('/plain').attributes.keys()]).toEqual([]);
  });

  it('user.* on a symlink reads as absent (Linux), so it is not listed', () => {
    const fs = open();
    expect([...fs.statSync('/l').attributes.keys()]).toEqual([]);
  });

  it('has room for ZenFS to add an attribute in place before the backend refuses it', () => {
    const st = open().statSync('/f');
    st.attributes.set('user.new', new Uint8Array(3900));
    expect(st.attributes.get('user.new')?.length).toBe(3900);
  });
});
