import { describe, expect, it, vi } from 'vitest';
import { makedev } from '@erofs-js/erofs';
import { ROOT } from '@erofs-js/vfs';
import { expectErrno, spec } from '../test/helpers.js';
import { FIRST_ANON_DEV, MountNamespace, latin1ToUtf8, utf8ToLatin1, type Location } from './namespace.js';
import { release, resolve } from './resolve.js';
import { SyntheticFs } from './synthetic.js';

/** A synthetic-root namespace with /a and /b. */
function synthetic(opts = {}) {
  const ns = new MountNamespace(undefined, opts);
  const fs = ns.root.fs as SyntheticFs;
  fs.addDir(fs.root, 'a');
  fs.addDir(fs.root, 'b');
  return ns;
}

function at(ns: MountNamespace, path: string): Location {
  return resolve(ns.rootLocation, path, ROOT);
}

function attachAt(ns: MountNamespace, path: string, name: string, onRelease?: () => void) {
  const loc = at(ns, path);
  try {
    return ns.attach(spec(ns, name, { onRelease }), loc);
  } finally {
    release(loc);
  }
}

describe('MountNamespace', () => {
  it('starts with a synthetic read-only root, mount 1, its own parent', () => {
    const ns = new MountNamespace();
    expect(ns.root.id).toBe(1);
    expect(ns.root.fstype).toBe('rootfs');
    expect(ns.root.dev).toBe(FIRST_ANON_DEV);
    expect(ns.table()).toEqual([
      { id: 1, parentId: 1, dev: '0:32', target: '/', fstype: 'rootfs', source: 'rootfs', options: 'ro,relatime', superOptions: 'ro', users: 0 },
    ]);
  });

  it('takes an image as the root', () => {
    const probe = new MountNamespace();
    const ns = new MountNamespace(spec(probe, 'rootfs-18.erofs'));
    expect(ns.root.fstype).toBe('erofs');
    const loc = at(ns, '/etc');
    expect(loc.mount).toBe(ns.root);
    release(loc);
  });

  it('attaches at a directory and crosses into it', () => {
    const ns = synthetic();
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    expect(m.id).toBe(2);
    expect(m.parent).toBe(ns.root);
    expect(ns.mountedAt({ mount: ns.root, node: m.mountpoint! })).toBe(m);
    const loc = at(ns, '/a/files');
    expect(loc.mount).toBe(m);
    release(loc);
    expect(ns.table().map((r) => [r.id, r.parentId, r.target])).toEqual([
      [1, 1, '/'],
      [2, 1, '/a'],
    ]);
  });

  it('stacks: the newest mount hides the older, unmounting it reveals the older', () => {
    const ns = synthetic();
    const lower = attachAt(ns, '/a', 'basic-18.erofs');
    const upper = attachAt(ns, '/a', 'rootfs-18.erofs');
    expect(upper.parent).toBe(lower);
    expect(upper.mountpoint).toBe(lower.root);
    let loc = at(ns, '/a');
    expect(loc.mount).toBe(upper);
    release(loc);
    ns.unmount(upper);
    loc = at(ns, '/a');
    expect(loc.mount).toBe(lower);
    release(loc);
  });

  it('refuses bad attach points', () => {
    const ns = synthetic();
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    const file = at(ns, '/a/files/size-1');
    expectErrno(() => ns.attach(spec(ns, 'rootfs-18.erofs'), file), 'ENOTDIR');
    release(file);
    // The covered directory itself (not crossed): something is mounted there already.
    expectErrno(() => ns.attach(spec(ns, 'rootfs-18.erofs'), { mount: ns.root, node: m.mountpoint! }), 'EBUSY');
    // The same filesystem twice.
    const b = at(ns, '/b');
    expectErrno(() => ns.attach(m.spec, b), 'EBUSY');
    release(b);
  });

  it('limits the number of mounts (ENOSPC)', () => {
    const ns = synthetic({ maxMounts: 2 });
    attachAt(ns, '/a', 'basic-18.erofs');
    expectErrno(() => attachAt(ns, '/b', 'basic-18.erofs'), 'ENOSPC');
  });

  it('unmount: EINVAL for the root, EBUSY with users or children, then releases', () => {
    const ns = synthetic();
    const onRelease = vi.fn();
    const m = attachAt(ns, '/a', 'basic-18.erofs', onRelease);
    expectErrno(() => ns.unmount(ns.root), 'EINVAL');
    m.get('file');
    expectErrno(() => ns.unmount(m), 'EBUSY');
    m.put('file');
    const child = attachAt(ns, '/a/files', 'rootfs-18.erofs');
    expectErrno(() => ns.unmount(m), 'EBUSY');
    ns.unmount(child);
    ns.unmount(m);
    expect(m.state).toBe('released');
    expect((m.fs as { isReleased: boolean }).isReleased).toBe(true);
    expect(onRelease).toHaveBeenCalledTimes(1);
    expectErrno(() => ns.unmount(m), 'EINVAL');
    expect(ns.mounts()).toEqual([ns.root]);
  });

  it('lazy unmount detaches the subtree now and releases each mount after its last user', () => {
    const ns = synthetic();
    const released: number[] = [];
    const m = attachAt(ns, '/a', 'basic-18.erofs', () => released.push(m.id));
    const c = attachAt(ns, '/a/files', 'rootfs-18.erofs', () => released.push(c.id));
    m.get('file');
    ns.unmount(m, { detach: true });
    expect(ns.mounts()).toEqual([ns.root]);
    expect(ns.detached().sort((x, y) => x.id - y.id)).toEqual([m, c]);
    // Below a detached mount, children stay connected and reachable from inside it.
    expect(c.parent).toBe(m);
    expect(m.parent).toBeNull();
    const loc = at(ns, '/a');
    expect(loc.mount).toBe(ns.root);
    release(loc);
    expect(released).toEqual([]);
    m.put('file');
    expect(released).toEqual([m.id, c.id]);
    expect(ns.detached()).toEqual([]);
  });

  it('a detached child in use outlives its released parent', () => {
    const ns = synthetic();
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    const c = attachAt(ns, '/a/files', 'rootfs-18.erofs');
    c.get('dir');
    ns.unmount(m, { detach: true });
    expect(m.state).toBe('released');
    expect(c.state).toBe('detached');
    expect(c.parent).toBeNull();
    c.put('dir');
    expect(c.state).toBe('released');
  });

  it('hands out the smallest free anonymous device and reuses freed ones', () => {
    const ns = synthetic();
    expect(ns.allocDev()).toBe(makedev(0, 33));
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    expect(m.dev).toBe(makedev(0, 33));
    expect(ns.allocDev()).toBe(makedev(0, 34));
    ns.unmount(m);
    expect(ns.allocDev()).toBe(makedev(0, 33));
  });

  it('pathOf tells when a place is out of reach', () => {
    const ns = synthetic();
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    const loc = at(ns, '/a/files');
    expect(ns.pathOf(loc)).toEqual({ path: '/a/files', reachable: true });
    m.get();
    ns.unmount(m, { detach: true });
    expect(ns.pathOf(loc)).toEqual({ path: '/files', reachable: false });
    release(loc);
    m.put();
  });

  it('shutdown releases what is unused and lingers the rest', () => {
    const ns = synthetic();
    const m = attachAt(ns, '/a', 'basic-18.erofs');
    const n = attachAt(ns, '/b', 'rootfs-18.erofs');
    n.get('file');
    ns.shutdown();
    expect(ns.mounts()).toEqual([]);
    expect(m.state).toBe('released');
    expect(ns.root.state).toBe('released');
    expect(n.state).toBe('detached');
    n.put('file');
    expect(n.state).toBe('released');
  });

  it('refuses unbalanced use counts', () => {
    const ns = synthetic();
    expect(() => ns.root.put()).toThrow(/more times/);
  });

  it('converts names between UTF-8 text and byte keys', () => {
    expect(utf8ToLatin1('ab')).toBe('ab');
    expect(latin1ToUtf8(utf8ToLatin1('日本'))).toBe('日本');
  });
});
