/**
 * The one walker (walker.ts) driven directly, over a single filesystem (soleMount): the
 * rules that depend on where a walk is rooted and on who walks. What any path walk answers
 * on the fixtures (ENOTDIR through a file, a trailing slash on a file, loops, 256-byte names)
 * is compared with the kernel in tests/vfs-conformance.test.ts; the 40-link count, the
 * 4095-byte limit and empty symlink targets are in resolve.test.ts; mounts are crossed in
 * packages/mount/src/resolve.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { errnoOf } from '../../../tests/fixtures.js';
import { openFixture } from '../../../tests/fixtures.js';
import type { FsNode } from './contract.js';
import { ROOT } from './credentials.js';
import type { Dentry } from './dentry.js';
import { SysError } from './errno.js';
import { Filesystem } from './filesystem.js';
import { resolve } from './resolve.js';
import { MAX_SYMLINKS, Walker, resolveAt, soleMount, type Place, type WalkPolicy } from './walker.js';

const utf8 = new TextEncoder();

const code = errnoOf;

/**
 * A walker over `fs` whose walk root is the directory at `rootPath` (held while the test
 * runs: call done()), and a walk from that root or from a node, returning the node reached
 * with its reference already dropped (dentries stay cached, so identities compare).
 */
function over(fs: Filesystem, rootPath = '/', policy?: WalkPolicy) {
  const mount = soleMount(fs.root);
  const root: Place = { mount, node: resolve(fs, rootPath, ROOT) };
  const walker = () => new Walker(ROOT, root, policy);
  const walk = (path: string, follow = true, from: FsNode = root.node, w = walker()): FsNode => {
    from.incRef();
    const r = w.walk({ mount, node: from }, utf8.encode(path), follow, false);
    r.node.decRef();
    return r.node;
  };
  return { mount, root, walker, walk, done: () => root.node.decRef() };
}

/** The dentry at `path` from the filesystem root, its reference dropped. */
function at(fs: Filesystem, path: string, follow = true): Dentry {
  const d = resolve(fs, path, ROOT, { follow });
  d.decRef();
  return d;
}

/** Every walk gave back what it took: the root alone is pinned. */
function expectNoRefs(fs: Filesystem): void {
  fs.shrink();
  expect(fs.stats()).toMatchObject({ dentriesPinned: 1, dentriesCached: 0, inodesLive: 1 });
}

describe('symlinks along a path', () => {
  it('follows one in the middle always, and a last one only when asked or before a trailing slash', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const { walk, done } = over(fs);
    const deep = at(fs, '/deep');
    expect((walk('/links/todir', false) as Dentry).inode.isSymlink).toBe(true);
    expect(walk('/links/todir')).toBe(deep);
    expect(walk('/links/todir/.', false)).toBe(deep);
    expect(walk('/links/todir/', false)).toBe(deep);
    expect(walk('/links/todir/d00/..', false)).toBe(deep);
    // The trailing slash follows the link, then wants a directory: rel names a file.
    expect(code(() => walk('/links/rel/', false))).toBe('ENOTDIR');
    expect(walk('/links/rel', true)).toBe(at(fs, '/files/size-1'));
    expect(code(() => walk('/links/dangling'))).toBe('ENOENT');
    expect((walk('/links/dangling', false) as Dentry).inode.isSymlink).toBe(true);
    done();
    expectNoRefs(fs);
  });

  it('shares one budget of 40 links over every walk of one resolution', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const { walk, walker, done } = over(fs);
    const links = at(fs, '/links');
    // One Walker is one resolution: open(O_CREAT) walks the parent, then a link's target,
    // with the same count.
    const w = walker();
    expect(walk('/links/' + 'dot/'.repeat(25), true, undefined, w)).toBe(links);
    expect(w.links).toBe(25);
    expect(walk('dot/'.repeat(15), true, links, w)).toBe(links);
    expect(w.links).toBe(MAX_SYMLINKS);
    expect(code(() => walk('dot/', true, links, w))).toBe('ELOOP');
    // follow() is the same count: a new resolution starts from zero.
    const fresh = walker();
    const dot = at(fs, '/links/dot', false);
    for (let i = 0; i < MAX_SYMLINKS; i++) expect(fresh.follow(dot)).toEqual(utf8.encode('.'));
    expect(code(() => fresh.follow(dot))).toBe('ELOOP');
    done();
    expectNoRefs(fs);
  });
});

describe('the walk root', () => {
  // rootfs-18: /usr/bin/env -> /bin/busybox; /usr/lib/libc.so.6 exists, /usr/bin/busybox does not.
  it('is where absolute paths and absolute symlink targets start, not the filesystem root', () => {
    const fs = new Filesystem(openFixture('rootfs-18.erofs'));
    const whole = over(fs);
    expect(whole.walk('/usr/bin/env')).toBe(at(fs, '/bin/busybox'));
    whole.done();

    const usr = over(fs, '/usr');
    expect(usr.walk('/lib/libc.so.6')).toBe(at(fs, '/usr/lib/libc.so.6'));
    expect((usr.walk('/bin/env', false) as Dentry).inode.isSymlink).toBe(true);
    // The target "/bin/busybox" is walked from /usr: /usr/bin/busybox, which is not there.
    expect(code(() => usr.walk('/bin/env'))).toBe('ENOENT');
    // A relative path starts where it is told, absolute ones still at the walk root.
    expect(usr.walk('libc.so', true, at(fs, '/usr/lib'))).toBe(at(fs, '/usr/lib/libc.so.6'));
    expect(usr.walk('/lib', true, at(fs, '/usr/share/doc'))).toBe(at(fs, '/usr/lib'));
    usr.done();
    expectNoRefs(fs);
  });

  it('holds ".." at itself, as Linux holds it at a process root', () => {
    const fs = new Filesystem(openFixture('rootfs-18.erofs'));
    const whole = over(fs);
    expect(whole.walk('/../../etc/..')).toBe(fs.root);
    expect(whole.walk('..', true, at(fs, '/usr/share/doc'))).toBe(at(fs, '/usr/share'));
    whole.done();

    const usr = over(fs, '/usr');
    const top = usr.root.node;
    expect(usr.walk('/..')).toBe(top);
    expect(usr.walk('../../lib')).toBe(at(fs, '/usr/lib'));
    expect(usr.walk('../../..', true, at(fs, '/usr/share/doc'))).toBe(top);
    // A walk started outside the walk root is not held by it: it climbs to the filesystem root.
    expect(usr.walk('../..', true, at(fs, '/etc'))).toBe(fs.root);
    usr.done();
    expectNoRefs(fs);
  });
});

describe('policy hooks', () => {
  it('absoluteTarget rewrites or refuses a target before it is walked from the walk root', () => {
    const fs = new Filesystem(openFixture('rootfs-18.erofs'));
    const seen: string[] = [];
    const mapped = over(fs, '/usr', {
      absoluteTarget(target) {
        seen.push(new TextDecoder().decode(target));
        return utf8.encode('/lib/libc.so.6');
      },
    });
    expect(mapped.walk('/bin/env')).toBe(at(fs, '/usr/lib/libc.so.6'));
    // Relative targets and absolute paths given by the caller do not reach the hook.
    expect(mapped.walk('/lib/libc.so')).toBe(at(fs, '/usr/lib/libc.so.6'));
    expect(seen).toEqual(['/bin/busybox']);
    mapped.done();

    const refused = over(fs, '/', {
      absoluteTarget() {
        throw new SysError('EXDEV', 'outside the mount');
      },
    });
    expect(code(() => refused.walk('/usr/bin/env'))).toBe('EXDEV');
    expect((refused.walk('/usr/bin/env', false) as Dentry).inode.isSymlink).toBe(true);
    expect(refused.walk('/bin/sh')).toBe(at(fs, '/bin/busybox'));
    refused.done();
    expectNoRefs(fs);
  });

  it('dotdotAtRoot may refuse ".." at the walk root, and is not asked anywhere else', () => {
    const fs = new Filesystem(openFixture('rootfs-18.erofs'));
    let asked = 0;
    const strict = over(fs, '/usr', {
      dotdotAtRoot() {
        asked++;
        throw new SysError('EXDEV', 'above the walk root');
      },
    });
    expect(strict.walk('/share/doc/../..')).toBe(strict.root.node);
    expect(asked).toBe(0);
    expect(code(() => strict.walk('/..'))).toBe('EXDEV');
    expect(code(() => strict.walk('lib/../..'))).toBe('EXDEV');
    expect(asked).toBe(2);
    strict.done();
    expectNoRefs(fs);
  });
});

describe('walkParent and resolveAt', () => {
  it('walkParent splits off the last name after walking the rest, with a copy of its bytes', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const { mount, walker, done } = over(fs);
    const parent = (path: string, from: FsNode = fs.root) => {
      from.incRef();
      const bytes = utf8.encode(path);
      const r = walker().walkParent({ mount, node: from }, bytes);
      r.parent.node.decRef();
      bytes.fill(0x78);
      return [r.parent.node, r.last && new TextDecoder().decode(r.last), r.trailingSlash] as const;
    };
    const expectParent = ([node, last, slash]: readonly [FsNode, string | null, boolean], want: FsNode, wantLast: string | null, wantSlash: boolean) => {
      expect(node).toBe(want);
      expect([last, slash]).toEqual([wantLast, wantSlash]);
    };
    expectParent(parent('/links/todir/new//'), at(fs, '/deep'), 'new', true);
    expectParent(parent('name'), fs.root, 'name', false);
    expectParent(parent('//'), fs.root, null, true);
    expectParent(parent('..', at(fs, '/files')), at(fs, '/files'), '..', false);
    // The parent must be a directory, even when the path has no "/" to walk.
    expect(code(() => parent('x', at(fs, '/files/size-1')))).toBe('ENOTDIR');
    expect(code(() => parent('/files/size-1/x'))).toBe('ENOTDIR');
    done();
    expectNoRefs(fs);
  });

  it('resolveAt: an empty path is the start itself only when allowed (AT_EMPTY_PATH), a directory only if asked', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const { mount, root, done } = over(fs);
    const file: Place = { mount, node: at(fs, '/files/size-1') };
    const empty = new Uint8Array(0);
    expect(code(() => resolveAt(root, empty, ROOT, file, true, false, false))).toBe('ENOENT');
    const r = resolveAt(root, empty, ROOT, file, true, false, true);
    expect(r.node).toBe(file.node);
    r.node.decRef();
    expect(code(() => resolveAt(root, empty, ROOT, file, true, true, true))).toBe('ENOTDIR');
    const d = resolveAt(root, utf8.encode('../links/todir'), ROOT, { mount, node: at(fs, '/files') }, false, false, false);
    expect((d.node as Dentry).inode.isSymlink).toBe(true);
    d.node.decRef();
    done();
    expectNoRefs(fs);
  });
});
