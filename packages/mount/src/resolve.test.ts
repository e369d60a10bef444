import { describe, expect, it } from 'vitest';
import { Image, MemorySource } from '@erofs-js/erofs';
import { Filesystem, ROOT, SysError, credentials, type Credentials } from '@erofs-js/vfs';
import { expectErrno, fixtureBytes, spec } from '../test/helpers.js';
import { MountNamespace, type Location } from './namespace.js';
import { stat } from './node.js';
import { SynthDir } from './synthetic.js';
import { MAXSYMLINKS, PATH_MAX, checkPath, crossMounts, holdLoc, release, resolve } from './resolve.js';
import type { SyntheticFs } from './synthetic.js';

const user = credentials(1000, 1000);

/** rootfs-18 as the root, basic-18 mounted at /tmp. */
function world() {
  const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'));
  const tmp = resolve(ns.rootLocation, '/tmp', ROOT);
  const basic = ns.attach(spec(ns, 'basic-18.erofs'), tmp);
  release(tmp);
  return { ns, basic };
}

function where(ns: MountNamespace, path: string, creds: Credentials = ROOT, opts: Parameters<typeof resolve>[3] = {}) {
  const loc = resolve(ns.rootLocation, path, creds, opts);
  const out = { mount: loc.mount.id, path: ns.pathOf(loc).path, ino: stat(loc.node).ino };
  release(loc);
  return out;
}

describe('resolve across mounts', () => {
  it('enters a mount at its mount point, for a last component too', () => {
    const { ns, basic } = world();
    expect(where(ns, '/tmp').mount).toBe(basic.id);
    expect(where(ns, '/tmp', ROOT, { follow: false }).mount).toBe(basic.id);
    expect(where(ns, '/tmp/files/size-1')).toMatchObject({ mount: basic.id, path: '/tmp/files/size-1' });
    expect(where(ns, '/etc/passwd').mount).toBe(1);
  });

  it('"." does not enter a mount stacked on the current directory; a name does', () => {
    const { ns, basic } = world();
    const under = { mount: ns.root, node: basic.mountpoint! };
    const dot = resolve(ns.rootLocation, '.', ROOT, { at: under });
    expect(dot.mount).toBe(ns.root);
    release(dot);
    const viaName = resolve(ns.rootLocation, '../tmp', ROOT, { at: under });
    expect(viaName.mount).toBe(basic);
    release(viaName);
  });

  it('".." at a mount root climbs to the mount point\'s parent', () => {
    const { ns } = world();
    expect(where(ns, '/tmp/..')).toMatchObject({ mount: 1, path: '/' });
    expect(where(ns, '/tmp/files/../..')).toMatchObject({ mount: 1, path: '/' });
    expect(where(ns, '/tmp/../tmp/files')).toMatchObject({ mount: 2, path: '/tmp/files' });
  });

  it('".." at the task root stays there, at the namespace root and in a chroot', () => {
    const { ns, basic } = world();
    expect(where(ns, '/../../..')).toMatchObject({ mount: 1, path: '/' });
    const jail: Location = { mount: basic, node: basic.root };
    const loc = resolve(jail, '/files/../../../links', ROOT);
    expect(loc.mount).toBe(basic);
    expect(ns.pathOf(loc, jail).path).toBe('/links');
    release(loc);
  });

  it('follows absolute symlinks from the task root, not from the image root', () => {
    const { ns, basic } = world();
    // basic-18's /links/abs -> /etc/passwd: the rootfs's passwd, since the task root is the rootfs.
    expect(where(ns, '/tmp/links/abs')).toMatchObject({ mount: 1, path: '/etc/passwd' });
    // In a chroot at the image's root, the same link names the image's own (absent) /etc/passwd.
    const jail: Location = { mount: basic, node: basic.root };
    expectErrno(() => resolve(jail, '/links/abs', ROOT), 'ENOENT');
    // Relative links stay where they are.
    expect(where(ns, '/tmp/links/rel')).toMatchObject({ mount: basic.id, path: '/tmp/files/size-1' });
    expect(where(ns, '/tmp/links/rel', ROOT, { follow: false })).toMatchObject({ path: '/tmp/links/rel' });
  });

  it('counts every followed link over the whole resolution: 40 pass, 41 ELOOP', () => {
    const { ns } = world();
    // /tmp/links/dot -> "." : each "dot" component follows one link.
    const path = (n: number) => '/tmp/links' + '/dot'.repeat(n);
    expect(where(ns, path(MAXSYMLINKS)).path).toBe('/tmp/links');
    expectErrno(() => resolve(ns.rootLocation, path(MAXSYMLINKS + 1), ROOT), 'ELOOP');
    expectErrno(() => resolve(ns.rootLocation, '/tmp/links/loop', ROOT), 'ELOOP');
    expect(where(ns, '/tmp/links/loop', ROOT, { follow: false }).path).toBe('/tmp/links/loop');
  });

  it('path and component length limits', () => {
    const { ns } = world();
    expect(PATH_MAX).toBe(4096);
    const long = '/' + 'a/'.repeat(2047) + 'b'; // 4096 bytes
    expect(long.length).toBe(4096);
    expectErrno(() => resolve(ns.rootLocation, long, ROOT), 'ENAMETOOLONG');
    expectErrno(() => resolve(ns.rootLocation, long.slice(1), ROOT), 'ENOENT'); // 4095: resolves, "a" is absent
    expectErrno(() => resolve(ns.rootLocation, '/tmp/' + 'x'.repeat(256), ROOT), 'ENAMETOOLONG');
    expectErrno(() => resolve(ns.rootLocation, '/tmp/' + 'x'.repeat(255), ROOT), 'ENOENT');
    expectErrno(() => resolve(ns.rootLocation, '', ROOT), 'ENOENT');
    expect(() => checkPath(new Uint8Array(0), true)).not.toThrow();
  });

  it('trailing slashes demand a directory and follow a final symlink', () => {
    const { ns } = world();
    expectErrno(() => resolve(ns.rootLocation, '/etc/passwd/', ROOT), 'ENOTDIR');
    expectErrno(() => resolve(ns.rootLocation, '/etc/passwd/.', ROOT), 'ENOTDIR');
    expect(where(ns, '/tmp/links/todir/', ROOT, { follow: false }).path).toBe('/tmp/deep');
    expectErrno(() => resolve(ns.rootLocation, '/etc/passwd', ROOT, { directory: true }), 'ENOTDIR');
    expect(where(ns, '//tmp///files//').path).toBe('/tmp/files');
  });

  it('checks search permission at every directory', () => {
    const { ns } = world();
    // rootfs /root is 0700 root:root.
    expectErrno(() => resolve(ns.rootLocation, '/root/x', user), 'EACCES');
    expectErrno(() => resolve(ns.rootLocation, '/root/.', user), 'EACCES');
    expectErrno(() => resolve(ns.rootLocation, '/root/..', user), 'EACCES');
    expect(where(ns, '/root', user).path).toBe('/root');
    // /home/user is 0750 uid 1000.
    expect(where(ns, '/home/user/.profile', user).path).toBe('/home/user/.profile');
    expectErrno(() => resolve(ns.rootLocation, '/home/user/.profile', credentials(2000, 2000)), 'EACCES');
  });

  it('keeps dentry references balanced', () => {
    const { ns, basic } = world();
    const fs = basic.fs as import('@erofs-js/vfs').Filesystem;
    // Errors must not leak references either; anything but a SysError is a bug.
    const outcomes: Record<string, string> = {};
    for (const p of ['/tmp/links/abs', '/tmp/files/../links/rel', '/tmp/links/dot/dot/..', '/tmp/nope', '/tmp/files/size-1/x']) {
      try {
        release(resolve(ns.rootLocation, p, ROOT));
        outcomes[p] = 'ok';
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        outcomes[p] = e.code;
      }
    }
    expect(outcomes).toEqual({
      '/tmp/links/abs': 'ok',
      '/tmp/files/../links/rel': 'ok',
      '/tmp/links/dot/dot/..': 'ok',
      '/tmp/nope': 'ENOENT',
      '/tmp/files/size-1/x': 'ENOTDIR',
    });
    fs.shrink();
    expect(fs.stats().dentriesPinned).toBe(1); // only the root, held by the filesystem itself
  });

  it('works on a synthetic root with stacked mounts', () => {
    const ns = new MountNamespace();
    const sfs = ns.root.fs as SyntheticFs;
    sfs.addDir(sfs.addDir(sfs.root, 'mnt'), 'data');
    const data = resolve(ns.rootLocation, '/mnt/data', ROOT);
    const a = ns.attach(spec(ns, 'basic-18.erofs'), data);
    release(data);
    const top = resolve(ns.rootLocation, '/mnt/data', ROOT);
    const b = ns.attach(spec(ns, 'rootfs-18.erofs'), top);
    release(top);
    expect(where(ns, '/mnt/data/etc/..')).toMatchObject({ mount: b.id, path: '/mnt/data' });
    expect(where(ns, '/mnt/data/..')).toMatchObject({ mount: 1, path: '/mnt' });
    expectErrno(() => resolve(ns.rootLocation, '/mnt/data/files', ROOT), 'ENOENT');
    ns.unmount(b);
    expect(where(ns, '/mnt/data/files')).toMatchObject({ mount: a.id });
    expect(crossMounts(holdLoc({ ...ns.rootLocation })).node).toBeInstanceOf(SynthDir);
  });
});

describe('a symlink whose target is empty (its body starts with a NUL)', () => {
  /** rootfs-18 as the root, and at /tmp basic-18 with the first byte of /links/dot's target "." set to NUL. */
  function emptyDotWorld() {
    const ns = new MountNamespace(spec(null, 'rootfs-18.erofs'));
    const bytes = fixtureBytes('basic-18.erofs').slice();
    const img = new Image(new MemorySource(bytes));
    const links = img.inode(img.lookup(img.root(), 'links')!.nid);
    const at = img.map(img.inode(img.lookup(links, 'dot')!.nid), 0).physical;
    expect(bytes[at]).toBe(0x2e);
    bytes[at] = 0;
    const fs = new Filesystem(new Image(new MemorySource(bytes)), { dev: ns.allocDev() });
    const tmp = resolve(ns.rootLocation, '/tmp', ROOT);
    const basic = ns.attach({ fs, fstype: 'erofs', source: 'crafted', superOptions: 'ro' }, tmp);
    release(tmp);
    return { ns, basic, fs };
  }

  it('is followed to the directory holding it, with the rest of the path from there (Linux 6.18)', () => {
    const { ns, basic } = emptyDotWorld();
    expect(where(ns, '/tmp/links/dot')).toMatchObject({ mount: basic.id, path: '/tmp/links' });
    expect(where(ns, '/tmp/links/dot/')).toMatchObject({ mount: basic.id, path: '/tmp/links' });
    expect(where(ns, '/tmp/links/dot', ROOT, { directory: true })).toMatchObject({ path: '/tmp/links' });
    expect(where(ns, '/tmp/links/dot/rel')).toMatchObject({ mount: basic.id, path: '/tmp/files/size-1' });
    expect(where(ns, '/tmp/links/dot/../..')).toMatchObject({ mount: 1, path: '/' });
    expect(where(ns, '/tmp/links/dot', ROOT, { follow: false })).toMatchObject({ path: '/tmp/links/dot' });
    expectErrno(() => resolve(ns.rootLocation, '/tmp/links/dot/nothing', ROOT), 'ENOENT');
  });

  it('counts against the 40-link budget, and leaves no reference behind', () => {
    const { ns, fs } = emptyDotWorld();
    const path = (n: number) => '/tmp/links' + '/dot'.repeat(n);
    expect(where(ns, path(MAXSYMLINKS)).path).toBe('/tmp/links');
    expectErrno(() => resolve(ns.rootLocation, path(MAXSYMLINKS + 1), ROOT), 'ELOOP');
    expect(where(ns, path(MAXSYMLINKS - 1) + '/rel').path).toBe('/tmp/files/size-1');
    expectErrno(() => resolve(ns.rootLocation, path(MAXSYMLINKS) + '/rel', ROOT), 'ELOOP');
    fs.shrink();
    expect(fs.stats().dentriesPinned).toBe(1);
  });
});
