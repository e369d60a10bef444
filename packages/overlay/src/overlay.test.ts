import { describe, expect, it } from 'vitest';
import { S_IFCHR, S_IFIFO, S_IFMT } from '@erofs-js/erofs';
import { device, dir, fifo, file, symlink } from '@erofs-js/mkfs';
import { ROOT, RENAME_EXCHANGE, RENAME_WHITEOUT, credentials, type FsNode } from '@erofs-js/vfs';
import { Tmpfs, type TmpNode } from '@erofs-js/tmpfs';
import { encodeOrigin } from './handle.js';
import { Overlay, OVERLAYFS_SUPER_MAGIC } from './overlay.js';
import type { OvlNode } from './node.js';
import { at, b, code, dec, layer, list, overlay, read, walk } from './testutil.js';

const T = 1600000000;
/** u::rw-,u:1000:r--,g::r--,m::r--,o::--- as system.posix_acl_access. */
const acl = (() => {
  const e: [number, number, number][] = [[1, 6, 0xffffffff], [2, 4, 1000], [4, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 0, 0xffffffff]];
  const out = new Uint8Array(4 + 8 * e.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2, true);
  e.forEach(([tag, perm, id], i) => {
    dv.setUint16(4 + 8 * i, tag, true);
    dv.setUint16(6 + 8 * i, perm, true);
    dv.setUint32(8 + 8 * i, id, true);
  });
  return out;
})();
const base = () =>
  dir(
    {
      etc: dir({ passwd: file('root\n', { mtime: T, xattrs: { 'user.a': b('1') } }), hosts: file('h', { mtime: T }) }, { mtime: T }),
      bin: dir({ sh: file('#!', { mode: 0o4755, uid: 10, gid: 20, mtime: T }) }, { mtime: T }),
      dev: dir({ null: device('chardev', 1, 3, { mode: 0o666 }), pipe: fifo(), link: symlink('null', { uid: 5 }) }, { mtime: T }),
      hard: dir({}, { mtime: T }),
      gone: dir({ x: file('x') }),
      acl: file('a', { xattrs: { 'system.posix_acl_access': acl } }),
      owned: dir({ mine: file('m', { uid: 1000, gid: 1000 }) }, { uid: 1000, gid: 1000 }),
    },
    { mtime: T },
  );
const top = () => dir({ etc: dir({ hosts: file('top'), shadow: file('s') }, { mtime: T + 1 }), gone: device('chardev', 0, 0) }, { mtime: T + 1 });

/** The upper tmpfs node at `path` (under upper/), held. */
function upperAt(ov: Overlay, path: string): TmpNode {
  return walk(ov.upper, 'upper/' + path) as TmpNode;
}

function upperXattr(ov: Overlay, path: string, name: string): string | null {
  const n = upperAt(ov, path);
  try {
    const v = new Uint8Array(256);
    return Buffer.from(v.subarray(0, ov.upper.getxattr(n, b(name), v, ROOT))).toString('hex');
  } catch {
    return null;
  } finally {
    n.decRef();
  }
}

describe('lookup through layers', () => {
  it('shows the top object of a name, merges directories, hides what whiteouts cover', () => {
    const ov = overlay([base(), top()]);
    expect(list(ov, ov.root)).toEqual(['acl', 'bin', 'dev', 'etc', 'hard', 'owned']);
    at(ov, 'etc', (n) => expect(list(ov, n)).toEqual(['hosts', 'passwd', 'shadow']));
    at(ov, 'etc/hosts', (n) => expect(read(ov, n)).toBe('top'));
    expect(code(() => walk(ov, 'gone'))).toBe('ENOENT');
    at(ov, 'etc', (n) => expect(ov.stat(n).nlink).toBe(1));
    at(ov, 'bin', (n) => expect(ov.stat(n).nlink).toBe(2));
  });

  it('gives directories the overlay st_dev and lower objects the pseudo device of their layer', () => {
    const ov = overlay([base(), top()]);
    const st = (p: string) => at(ov, p, (n) => ov.stat(n));
    expect(st('etc').dev).toBe(ov.dev);
    expect(st('etc/passwd').dev).toBe(ov.layers[1].dev);
    expect(st('etc/hosts').dev).toBe(ov.layers[0].dev);
    expect(new Set([ov.dev, ov.upperDev, ov.layers[0].dev, ov.layers[1].dev]).size).toBe(4);
    expect(st('etc').ino).toBe(st('etc').ino);
    expect(ov.statfs()).toMatchObject({ type: OVERLAYFS_SUPER_MAGIC, namelen: 255 });
    expect(ov.superOptions()).toBe('rw,lowerdir=L2:L1,upperdir=tmpfs/upper,workdir=tmpfs/work,uuid=on');
  });

  it('takes only read-only layers', () => {
    expect(code(() => new Overlay({ lowers: [new Tmpfs()], upper: new Tmpfs() }))).toBe('EINVAL');
    expect(code(() => new Overlay({ lowers: [], upper: new Tmpfs() }))).toBe('EINVAL');
  });
});

describe('copy-up', () => {
  it('copies data, xattrs, mode, owner and times, writes the origin handle, keeps st_ino, parents first', () => {
    const ov = overlay([base(), top()]);
    const before = at(ov, 'etc/passwd', (n) => ov.stat(n));
    at(ov, 'etc/passwd', (n) => ov.chmod(n, 0o600, ROOT));
    const after = at(ov, 'etc/passwd', (n) => ov.stat(n));
    expect(after).toMatchObject({ dev: before.dev, ino: before.ino, mode: 0o100600, mtime: T, size: 5 });
    expect(upperXattr(ov, 'etc/passwd', 'user.a')).toBe('31');
    expect(upperXattr(ov, 'etc/passwd', 'trusted.overlay.origin')).toBe(Buffer.from(encodeOrigin(new Uint8Array(16).fill(1), before.ino)).toString('hex'));
    // The parent came up first: its times are the lower ones, it is impure.
    at(ov, 'etc', (n) => expect(ov.stat(n).mtime).toBe(T + 1));
    expect(upperXattr(ov, 'etc', 'trusted.overlay.impure')).toBe('79');
    expect(upperXattr(ov, '', 'trusted.overlay.impure')).toBe('79');
  });

  it('of each type: setuid kept, devices and fifos made again, symlinks with their owner', () => {
    const ov = overlay([base()]);
    at(ov, 'bin/sh', (n) => ov.utimes(n, [{ sec: 5, nsec: 0 }, { sec: 6, nsec: 0 }], ROOT));
    at(ov, 'bin/sh', (n) => expect(ov.stat(n)).toMatchObject({ mode: 0o104755, uid: 10, gid: 20, atime: 5, mtime: 6 }));
    at(ov, 'dev/null', (n) => ov.chown(n, 0, 5, ROOT));
    at(ov, 'dev/null', (n) => expect(ov.stat(n)).toMatchObject({ mode: S_IFCHR | 0o666, gid: 5, rdev: 259 }));
    at(ov, 'dev/pipe', (n) => ov.chmod(n, 0o600, ROOT));
    at(ov, 'dev/pipe', (n) => expect(ov.stat(n).mode).toBe(S_IFIFO | 0o600));
    at(ov, 'dev/link', (n) => ov.chown(n, 7, -1, ROOT));
    at(ov, 'dev/link', (n) => {
      expect(ov.stat(n).uid).toBe(7);
      expect(dec.decode(ov.readlink(n))).toBe('null');
    });
    expect(list(ov.upper, walk(ov.upper, 'upper/dev'))).toEqual(['link', 'pipe', 'null']);
  });

  it('carries ACLs over; setting one on an object still on an EROFS layer is EOPNOTSUPP, as Linux 6.18 answers', () => {
    const ov = overlay([base()]);
    expect(code(() => at(ov, 'acl', (n) => ov.setxattr(n, b('system.posix_acl_access'), acl, 0, ROOT)))).toBe('EOPNOTSUPP');
    expect(list(ov.upper, walk(ov.upper, 'upper'))).toEqual([]);
    at(ov, 'acl', (n) => ov.chmod(n, 0o640, ROOT));
    expect(upperXattr(ov, 'acl', 'system.posix_acl_access')).not.toBeNull();
    at(ov, 'acl', (n) => ov.setxattr(n, b('system.posix_acl_access'), acl, 0, ROOT));
    const l = layer(base());
    const ov2 = new Overlay({ lowers: [{ ...l, aclSet: true }], upper: new Tmpfs() });
    at(ov2, 'acl', (n) => ov2.setxattr(n, b('system.posix_acl_access'), acl, 0, ROOT));
    expect(upperXattr(ov2, 'acl', 'system.posix_acl_access')).not.toBeNull();
  });

  it('is not made when the caller may not make the change (EPERM, EACCES first)', () => {
    const ov = overlay([base()]);
    const user = credentials(1000, 1000);
    expect(code(() => at(ov, 'etc/passwd', (n) => ov.chmod(n, 0o600, user)))).toBe('EPERM');
    expect(code(() => at(ov, 'etc/passwd', (n) => ov.truncate(n, 0, user)))).toBe('EACCES');
    expect(code(() => at(ov, 'etc/passwd', (n) => ov.setxattr(n, b('user.x'), b('1'), 0, user)))).toBe('EACCES');
    expect(list(ov.upper, walk(ov.upper, 'upper'))).toEqual([]);
    at(ov, 'owned/mine', (n) => ov.chmod(n, 0o600, user));
    at(ov, 'owned/mine', (n) => expect(ov.stat(n)).toMatchObject({ uid: 1000, mode: 0o100600 }));
  });
});

describe('removing and whiteouts', () => {
  it('leaves hard links of one shared whiteout where a lower name was, and nothing for an upper-only name', () => {
    const ov = overlay([base()]);
    ov.unlink(walk(ov, 'etc') as never, b('passwd'), ROOT);
    ov.unlink(walk(ov, 'etc') as never, b('hosts'), ROOT);
    const wh = upperAt(ov, 'etc/passwd');
    expect(ov.upper.stat(wh)).toMatchObject({ mode: S_IFCHR, rdev: 0, nlink: 3 });
    wh.decRef();
    at(ov, 'etc', (n) => {
      ov.create(n, b('new'), 0o644, ROOT).decRef();
      ov.unlink(n, b('new'), ROOT);
      expect(list(ov, n)).toEqual([]);
    });
    expect(list(ov.upper, walk(ov.upper, 'upper/etc'))).toEqual(['hosts', 'passwd']);
    expect(code(() => ov.mknod(ov.root, b('wh'), S_IFCHR, 0, ROOT))).toBe('EPERM');
  });

  it('removes a merged directory that only looks empty, and makes a new one opaque over the whiteout', () => {
    const ov = overlay([base()]);
    expect(code(() => ov.rmdir(ov.root, b('gone'), ROOT))).toBe('ENOTEMPTY');
    at(ov, 'gone', (n) => ov.unlink(n, b('x'), ROOT));
    ov.rmdir(ov.root, b('gone'), ROOT);
    expect(code(() => walk(ov, 'gone'))).toBe('ENOENT');
    ov.mkdir(ov.root, b('gone'), 0o755, ROOT);
    at(ov, 'gone', (n) => expect(list(ov, n)).toEqual([]));
    expect(upperXattr(ov, 'gone', 'trusted.overlay.opaque')).toBe('79');
  });
});

describe('renames', () => {
  it('refuse merged and lower directories (EXDEV), move pure upper ones (made opaque in a merged parent)', () => {
    const ov = overlay([base()]);
    expect(code(() => ov.rename(ov.root, b('etc'), ov.root, b('etc2'), 0, ROOT))).toBe('EXDEV');
    expect(code(() => ov.rename(ov.root, b('etc'), ov.root, b('x'), RENAME_WHITEOUT, ROOT))).toBe('EINVAL');
    ov.mkdir(ov.root, b('up'), 0o755, ROOT);
    expect(upperXattr(ov, 'up', 'trusted.overlay.opaque')).toBeNull();
    at(ov, 'etc', (e) => ov.rename(ov.root, b('up'), e, b('up'), 0, ROOT));
    expect(upperXattr(ov, 'etc/up', 'trusted.overlay.opaque')).toBe('79');
  });

  it('of a lower file copies it up and leaves a whiteout; an exchange swaps two names', () => {
    const ov = overlay([base()]);
    at(ov, 'etc', (e) => {
      ov.rename(e, b('passwd'), e, b('pw'), 0, ROOT);
      expect(list(ov, e)).toEqual(['hosts', 'pw']);
      ov.rename(e, b('pw'), e, b('hosts'), RENAME_EXCHANGE, ROOT);
    });
    at(ov, 'etc/hosts', (n) => expect(read(ov, n)).toBe('root\n'));
    at(ov, 'etc/pw', (n) => expect(read(ov, n)).toBe('h'));
    expect(upperAt(ov, 'etc/passwd').mode & S_IFMT).toBe(S_IFCHR);
  });
});

describe('hard links and O_TMPFILE', () => {
  it('link the copied-up inode: one st_ino, two links', () => {
    const ov = overlay([base()]);
    const src = walk(ov, 'etc/passwd');
    at(ov, 'hard', (h) => ov.link(src as never, h, b('p2'), ROOT));
    const a = ov.stat(src as never);
    const c = at(ov, 'hard/p2', (n) => ov.stat(n));
    expect([c.ino, c.dev, c.nlink]).toEqual([a.ino, a.dev, 2]);
    expect(upperXattr(ov, 'hard', 'trusted.overlay.impure')).toBe('79');
    src.decRef();
    expect(code(() => ov.link(walk(ov, 'etc') as never, ov.root, b('e2'), ROOT))).toBe('EPERM');
  });

  it('make an unnamed upper file that linkat can name', () => {
    const ov = overlay([base()]);
    const t = at(ov, 'etc', (e) => ov.tmpfile(e, 0o600, ROOT));
    expect(t.parent).toBeNull();
    at(ov, 'etc', (e) => ov.link(t, e, b('named'), ROOT));
    t.decRef();
    at(ov, 'etc', (e) => expect(list(ov, e)).toContain('named'));
  });
});

describe('xattrs', () => {
  it('hide the layers\' private names and store trusted.overlay.X escaped in the upper layer', () => {
    const ov = overlay([base()]);
    at(ov, 'etc', (e) => {
      expect(code(() => ov.getxattr(e, b('trusted.overlay.origin'), null, ROOT))).toBe('ENODATA');
      ov.setxattr(e, b('trusted.overlay.opaque'), b('y'), 0, ROOT);
      const buf = new Uint8Array(256);
      const n = ov.listxattr(e, buf, ROOT);
      expect(dec.decode(buf.subarray(0, n)).split('\0').filter(Boolean)).toEqual(['trusted.overlay.opaque']);
      expect(ov.getxattr(e, b('trusted.overlay.opaque'), null, ROOT)).toBe(1);
      expect(ov.listxattr(e, null, credentials(1000, 1000))).toBe(0);
    });
    expect(upperXattr(ov, 'etc', 'trusted.overlay.overlay.opaque')).toBe('79');
    at(ov, 'etc', (e) => expect(list(ov, e)).toEqual(['hosts', 'passwd']));
  });

  it('removing a name the lower object lacks is ENODATA without a copy-up', () => {
    const ov = overlay([base()]);
    at(ov, 'etc/passwd', (n) => expect(code(() => ov.removexattr(n, b('user.none'), ROOT))).toBe('ENODATA'));
    expect(list(ov.upper, walk(ov.upper, 'upper'))).toEqual([]);
    at(ov, 'etc/passwd', (n) => ov.removexattr(n, b('user.a'), ROOT));
    expect(upperXattr(ov, 'etc/passwd', 'user.a')).toBeNull();
  });
});

describe('the upper tmpfs', () => {
  it('holds upper/ and work/ as a kernel mount leaves them, and the overlay UUID on upper/', () => {
    const ov = overlay([base()]);
    expect(list(ov.upper, ov.upper.root)).toEqual(['work', 'upper']);
    expect(upperXattr(ov, '', 'trusted.overlay.uuid')).toBe(Buffer.from(ov.uuid).toString('hex'));
    const w: FsNode = walk(ov.upper, 'work/work');
    expect(ov.upper.stat(w as TmpNode).mode & 0o7777).toBe(0);
    w.decRef();
  });

  it('keeps its UUID across overlays made on it', () => {
    const upper = new Tmpfs();
    const one = new Overlay({ lowers: [layer(base())], upper });
    const uuid = one.uuid.slice();
    one.mkdir(one.root, b('kept'), 0o755, ROOT);
    const two = new Overlay({ lowers: [layer(base())], upper });
    expect(two.uuid).toEqual(uuid);
    expect(list(two, two.root)).toContain('kept');
  });

  it('gives back the directory inode numbers of an earlier overlay (dirInos), whatever the lookup order', () => {
    const upper = new Tmpfs();
    const one = new Overlay({ lowers: [layer(base())], upper });
    one.mkdir(one.root, b('new'), 0o755, ROOT);
    const ino = (path: string, fs: Overlay) => {
      const n = walk(fs, path);
      try {
        return fs.stat(n as OvlNode).ino;
      } finally {
        n.decRef();
      }
    };
    const first = ['', 'etc', 'new'].map((p) => ino(p, one));
    const table = one.dirInoTable();
    const two = new Overlay({ lowers: [layer(base())], upper, dirInos: table, dev: one.dev, allocDev: (() => {
      const devs = [one.upperDev, ...one.layers.map((l) => l.dev)];
      return () => devs.shift()!;
    })() });
    expect(['new', 'etc', ''].map((p) => ino(p, two)).reverse()).toEqual(first);
    // A new directory gets a number after the recorded ones.
    two.mkdir(two.root, b('newer'), 0o755, ROOT);
    expect(ino('newer', two)).toBe(table.next);
    expect(() => new Overlay({ lowers: [layer(base())], upper: new Tmpfs(), dirInos: { next: 3, entries: [['u:1', 7]] } })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
