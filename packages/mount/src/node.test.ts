import { describe, expect, it } from 'vitest';
import { Image, MemorySource } from '@erofs-js/erofs';
import { Filesystem, ROOT, credentials } from '@erofs-js/vfs';
import { expectErrno, fixtureBytes } from '../test/helpers.js';
import * as node from './node.js';
import { SyntheticFs } from './synthetic.js';

describe('node helpers: one face for dentries and synthetic directories', () => {
  const fs = new Filesystem(new Image(new MemorySource(fixtureBytes('rootfs-18.erofs'))));
  const sfs = new SyntheticFs({ dev: 7 });
  const enc = (s: string) => new TextEncoder().encode(s);

  it('looks up, holds and drops', () => {
    const etc = node.lookup(fs.root, enc('etc'), ROOT);
    expect(node.isDir(etc)).toBe(true);
    expect(node.fsOf(etc).type).toBe('erofs');
    const link = node.lookup(etc, enc('os-release'), ROOT);
    expect(node.isSymlink(link)).toBe(true);
    expect(new TextDecoder().decode(node.readlink(link))).toBe('../usr/lib/os-release');
    expect(node.parentNode(link)).toBe(etc);
    expect(node.nodeKey(link)).toBe('os-release');
    expect(node.fsOf(link)).toBe(fs);
    node.drop(link);
    const refs = (etc as import('@erofs-js/vfs').Dentry).refs;
    node.hold(etc);
    expect((etc as import('@erofs-js/vfs').Dentry).refs).toBe(refs + 1);
    node.drop(etc);
    node.drop(etc);
  });

  it('answers for synthetic directories', () => {
    const d = sfs.addDir(sfs.root, 'mnt');
    expect(node.lookup(sfs.root, enc('mnt'), ROOT)).toBe(d);
    expect(node.hold(d)).toBe(d);
    node.drop(d);
    expect(node.isDir(d) && node.fsOf(d) === sfs && !node.isSymlink(d) && !node.isReg(d)).toBe(true);
    expectErrno(() => node.readlink(d), 'EINVAL');
    expect(node.stat(d).dev).toBe(7);
    expect(node.statx(d).ino).toBe(d.ino);
    expect(node.statfs(sfs).namelen).toBe(255);
    expect(node.listxattr(d, null, ROOT)).toBe(0);
    expect(node.nodeOfFile(node.open(d, 0, ROOT))).toBe(d);
    expect(() => node.checkSearch(d, credentials(5, 5))).not.toThrow();
    expect(sfs.root.fs).toBe(sfs);
  });

  it('open, access and xattrs go to the right filesystem', () => {
    const passwd = node.lookup(node.lookup(fs.root, enc('etc'), ROOT), enc('passwd'), ROOT);
    const f = node.open(passwd, 0, ROOT);
    expect(node.nodeOfFile(f)).toBe(passwd);
    expect(node.stat(passwd).size).toBe(123);
    expectErrno(() => node.access(passwd, 2, ROOT), 'EROFS');
    expectErrno(() => node.getxattr(passwd, enc('user.none'), null, ROOT), 'ENODATA');
    expect(node.listxattr(passwd, null, ROOT)).toBe(0);
    expectErrno(() => node.checkSearch(passwd, ROOT), 'ENOTDIR');
  });
});
