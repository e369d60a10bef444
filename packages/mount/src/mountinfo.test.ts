import { describe, expect, it } from 'vitest';
import { ROOT } from '@erofs-js/vfs';
import { spec } from '../test/helpers.js';
import { mangle, mountinfo, mountinfoBytes, mountinfoFor, mountinfoLine, parseMountinfoLine, unmangle } from './mountinfo.js';
import { MountNamespace } from './namespace.js';
import { release, resolve } from './resolve.js';
import type { SyntheticFs } from './synthetic.js';

describe('mountinfo', () => {
  it('escapes space, tab, newline and backslash as the kernel does', () => {
    expect(mangle('a b\tc\nd\\e')).toBe('a\\040b\\011c\\012d\\134e');
    expect(unmangle(mangle('a b\tc\nd\\e'))).toBe('a b\tc\nd\\e');
    expect(mangle('plain/path')).toBe('plain/path');
  });

  it('prints one line per mount in the /proc/self/mountinfo format', () => {
    const ns = new MountNamespace();
    const sfs = ns.root.fs as SyntheticFs;
    sfs.addDir(sfs.root, 'my dir');
    sfs.addDir(sfs.root, 'data');
    const a = resolve(ns.rootLocation, '/my dir', ROOT);
    const s = spec(ns, 'basic-18.erofs');
    const m = ns.attach({ ...s, source: '/images/a b.erofs', superOptions: 'ro,user_xattr,acl,cache_strategy=readaround', flags: { nosuid: true, nodev: true } }, a);
    release(a);
    const text = mountinfoFor(ns);
    expect(text).toBe(
      '1 1 0:32 / / ro,relatime - rootfs rootfs ro\n' +
        '2 1 0:33 / /my\\040dir ro,nosuid,nodev,relatime - erofs /images/a\\040b.erofs ro,user_xattr,acl,cache_strategy=readaround\n',
    );
    const e = parseMountinfoLine(text.split('\n')[1]);
    expect(e).toEqual({
      id: 2,
      parentId: 1,
      major: 0,
      minor: 33,
      root: '/',
      mountPoint: '/my dir',
      options: 'ro,nosuid,nodev,relatime',
      optional: [],
      fstype: 'erofs',
      source: '/images/a b.erofs',
      superOptions: 'ro,user_xattr,acl,cache_strategy=readaround',
    });
    expect(mountinfoLine(m, ns.rootLocation)).toBe(text.split('\n')[1]);
    expect(mountinfo(ns)).toBe(text);
    expect(mountinfoBytes(ns)).toEqual(new TextEncoder().encode(text));
  });

  it('prints names as bytes: UTF-8 names survive, and detached mounts disappear', () => {
    const ns = new MountNamespace();
    const sfs = ns.root.fs as SyntheticFs;
    sfs.addDir(sfs.root, String.fromCharCode(...new TextEncoder().encode('données')));
    const loc = resolve(ns.rootLocation, '/données', ROOT);
    const m = ns.attach(spec(ns, 'rootfs-18.erofs'), loc);
    release(loc);
    expect(mountinfo(ns)).toContain(' /données ');
    ns.unmount(m, { detach: true });
    expect(mountinfo(ns).trim().split('\n')).toHaveLength(1);
  });

  it('refuses malformed lines when parsing', () => {
    expect(() => parseMountinfoLine('1 2 3')).toThrow();
    expect(() => parseMountinfoLine('x 1 0:1 / / ro - erofs a ro')).toThrow();
    expect(() => parseMountinfoLine('1 1 0:1 / / ro - erofs a')).toThrow();
  });
});
