import { describe, expect, it } from 'vitest';
import { device, dir, file, symlink } from '@erofs-js/mkfs';
import { Tmpfs } from '@erofs-js/tmpfs';
import { ROOT } from '@erofs-js/vfs';
import { MOUNTER, isWhiteout, opaqueValue, readRealDir, realLookup, realXattr, realXattrNames } from './layer.js';
import { b, layer } from './testutil.js';

const wh = { 'trusted.overlay.whiteout': new Uint8Array(0) };
const l = layer(
  dir({
    chr0: device('chardev', 0, 0),
    chr13: device('chardev', 1, 3),
    xw: file('', { xattrs: wh }),
    xwdata: file('data', { xattrs: wh }),
    plain: file(''),
    opq: dir({}, { xattrs: { 'trusted.overlay.opaque': b('y') } }),
    xdir: dir({}, { xattrs: { 'trusted.overlay.opaque': b('x') } }),
    odd: dir({}, { xattrs: { 'trusted.overlay.opaque': b('yes') } }),
    link: symlink('plain'),
  }),
  7,
);
const fs = l.fs;
const node = (name: string) => realLookup(fs, fs.root, b(name))!;

describe('a layer', () => {
  it('from erofsLayer carries the superblock UUID and says EROFS cannot set ACLs', () => {
    expect(Array.from(l.uuid!)).toEqual(new Array(16).fill(7));
    expect(l.aclSet).toBe(false);
    expect(l.name).toBe('L7');
  });

  it('knows whiteouts: a character device 0:0, or an empty regular file with trusted.overlay.whiteout', () => {
    const cases: [string, boolean][] = [['chr0', true], ['chr13', false], ['xw', true], ['xwdata', false], ['plain', false], ['link', false], ['opq', false]];
    for (const [name, want] of cases) {
      const n = node(name);
      expect(isWhiteout(fs, n), name).toBe(want);
      n.decRef();
    }
  });

  it('reads trusted.overlay.opaque: "y" opaque, "x" xattr-whiteout marker, anything else nothing', () => {
    for (const [name, want] of [['opq', 'y'], ['xdir', 'x'], ['odd', null], ['plain', null]] as const) {
      const n = node(name);
      expect(opaqueValue(fs, n), name).toBe(want);
      n.decRef();
    }
  });

  it('answers null for absent names and xattrs, and lists a directory in its own order', () => {
    expect(realLookup(fs, fs.root, b('missing'))).toBeNull();
    expect(realLookup(fs, fs.root, b('x'.repeat(300)))).toBeNull();
    const n = node('plain');
    expect(realXattr(fs, n, 'user.none')).toBeNull();
    expect(realXattrNames(fs, n)).toEqual([]);
    n.decRef();
    const names = readRealDir(fs, fs.root).map((e) => e.key);
    expect(names).toEqual(['.', '..', 'chr0', 'chr13', 'link', 'odd', 'opq', 'plain', 'xdir', 'xw', 'xwdata']);
    const t = new Tmpfs();
    t.setxattr(t.root, b('trusted.k'), b('v'), 0, MOUNTER);
    expect(realXattrNames(t, t.root)).toEqual(['trusted.k']);
    expect(Array.from(realXattr(t, t.root, 'trusted.k')!)).toEqual(Array.from(b('v')));
    expect(MOUNTER.caps).toBe(ROOT.caps);
  });
});
