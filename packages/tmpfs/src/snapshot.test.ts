/**
 * Snapshot and restore: everything survives a round trip (through structuredClone, as a
 * checkpoint would carry it), and a damaged snapshot is refused with EINVAL naming the
 * field.
 */
import { S_IFCHR, S_IFIFO, makedev } from '@erofs-js/erofs';
import { ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ, O_RDWR, RENAME_EXCHANGE, SysError } from '@erofs-js/vfs';
import { describe, expect, it } from 'vitest';
import { encodeAcl } from './acl.js';
import { FALLOC_FL_KEEP_SIZE } from './file.js';
import type { TmpfsSnapshot } from './snapshot.js';
import { Tmpfs } from './tmpfs.js';
import { ROOT, at, b, expectErrno, readFile, str, walk, writeFile } from './testutil.js';

function sample() {
  const fs = new Tmpfs({ mode: 0o755, uid: 5, gid: 6 });
  fs.mkdir(fs.root, b('d'), 0o750, ROOT);
  writeFile(fs, 'd/f', 'hello world');
  at(fs, 'd/f', (f) => {
    fs.link(f, fs.root, b('hard'), ROOT);
    fs.setxattr(f, b('user.color'), b('blue'), 0, ROOT);
    fs.setxattr(f, b('trusted.t'), b(''), 0, ROOT);
    fs.setxattr(f, b('system.posix_acl_access'), encodeAcl([{ tag: ACL_USER_OBJ, perm: 6, id: 0 }, { tag: ACL_USER, perm: 4, id: 1000 }, { tag: ACL_GROUP_OBJ, perm: 4, id: 0 }, { tag: ACL_MASK, perm: 4, id: 0 }, { tag: ACL_OTHER, perm: 0, id: 0 }]), 0, ROOT);
  });
  at(fs, 'd', (d) => fs.setxattr(d, b('system.posix_acl_default'), encodeAcl([{ tag: ACL_USER_OBJ, perm: 7, id: 0 }, { tag: ACL_GROUP_OBJ, perm: 5, id: 0 }, { tag: ACL_OTHER, perm: 0, id: 0 }]), 0, ROOT));
  writeFile(fs, 'sparse', '');
  at(fs, 'sparse', (n) => {
    const f = fs.open(n, O_RDWR, ROOT);
    f.pwrite(b('tail'), 100000);
    f.fallocate(FALLOC_FL_KEEP_SIZE, 200000, 8192);
    f.close();
  });
  fs.symlink(fs.root, b('s'), b('d/f'), ROOT);
  fs.symlink(fs.root, b('long'), b('x'.repeat(300)), ROOT);
  fs.mknod(fs.root, b('null'), S_IFCHR | 0o666, makedev(1, 3), ROOT);
  fs.mknod(fs.root, b('fifo'), S_IFIFO | 0o600, 0, ROOT);
  for (let i = 0; i < 5; i++) writeFile(fs, `d/n${i}`, `${i}`);
  at(fs, 'd', (d) => fs.unlink(d, b('n2'), ROOT));
  // An unlinked file still open, and an O_TMPFILE file.
  writeFile(fs, 'gone', 'still here');
  const gone = walk(fs, 'gone');
  const open = fs.open(gone, O_RDWR, ROOT);
  gone.decRef();
  fs.unlink(fs.root, b('gone'), ROOT);
  const tmp = fs.tmpfile(fs.root, 0o600, ROOT);
  return { fs, open, tmp };
}

/** A comparable picture of a tree: paths with stat fields (ino, times included), content, xattrs, targets. */
function picture(fs: Tmpfs): unknown[] {
  const out: unknown[] = [];
  const visit = (path: string) =>
    at(fs, path, (n) => {
      const s = fs.stat(n);
      const xl = new Uint8Array(1000);
      const names = str(xl.subarray(0, fs.listxattr(n, xl, ROOT))).split('\0').filter(Boolean);
      const xattrs = names.map((k) => {
        const v = new Uint8Array(1000);
        return [k, Buffer.from(v.subarray(0, fs.getxattr(n, b(k), v, ROOT))).toString('hex')];
      });
      const content = n.inode.isReg ? Buffer.from(readFile(fs, path)).toString('hex') : n.inode.target ? str(fs.readlink(n)) : null;
      out.push({ path, ...s, dev: 0, xattrs, content });
      if (n.inode.dir) for (const c of n.inode.dir.entries()) visit(`${path}/${c.key}`);
    });
  visit('');
  return out;
}

describe('snapshot and restore', () => {
  it('round-trips the whole tree, hard links, listing order and offsets, sparse pages, limits used, and unlinked inodes', () => {
    const { fs, open, tmp } = sample();
    // Renames set the listing order apart from the offsets' order.
    at(fs, 'd', (d) => {
      fs.rename(d, b('n0'), d, b('n3'), 0, ROOT);
      fs.rename(d, b('n1'), d, b('n4'), RENAME_EXCHANGE, ROOT);
    });
    expect(at(fs, 'd', (d) => [...(d.inode.dir?.entries() ?? [])].map((c) => c.key))).toEqual(['n4', 'n1', 'n3', 'f']);
    const snap = structuredClone(fs.snapshot());
    const copy = Tmpfs.restore(snap, { clock: () => ({ sec: 1, nsec: 0 }) });
    // Reading for the picture touches atimes: take both pictures on one side each, atime aside.
    const noAtime = (p: unknown[]) => p.map((x) => ({ ...(x as object), atime: 0, atimeNsec: 0 }));
    expect(noAtime(picture(copy))).toEqual(noAtime(picture(fs)));
    expect(copy.statfs()).toEqual({ ...fs.statfs(), fsid: copy.statfs().fsid });
    expect(copy.stats()).toMatchObject({ inodes: fs.stats().inodes, pages: fs.stats().pages, orphans: 2 });
    const listing = (t: Tmpfs, p: string) => at(t, p, (d) => [...(d.inode.dir?.entries() ?? [])].map((c) => [c.key, c.offset]));
    expect(listing(copy, 'd')).toEqual(listing(fs, 'd'));
    expect(listing(copy, '')).toEqual(listing(fs, ''));
    expect(at(copy, 'd', (d) => d.inode.dir?.nextOffset)).toBe(at(fs, 'd', (d) => d.inode.dir?.nextOffset));
    expect(copy.stat(walk(copy, 'hard')).nlink).toBe(2);
    // The unlinked inodes come back for the descriptions that held them.
    const g = copy.takeUnlinked(open.stat().ino);
    const f = copy.open(g, O_RDWR, ROOT);
    const buf = new Uint8Array(10);
    f.pread(buf, 0);
    expect(str(buf)).toBe('still here');
    expect(f.stat().nlink).toBe(0);
    expectErrno(() => copy.takeUnlinked(open.stat().ino), 'ENOENT');
    const t = copy.takeUnlinked(fs.stat(tmp).ino);
    copy.link(t, copy.root, b('named'), ROOT); // still linkable
    f.close();
    g.decRef();
    t.decRef();
    walk(copy, 'hard').decRef();
    walk(copy, 'hard').decRef();
    // New inodes continue the numbering.
    writeFile(copy, 'new', 'x');
    expect(copy.stat(walk(copy, 'new')).ino).toBe(fs.nextInodeNumber);
    walk(copy, 'new').decRef();
    walk(copy, 'new').decRef();
    open.close();
    tmp.decRef();
    expect(fs.stats()).toMatchObject({ orphans: 0 });
  });

  it('reads a version 1 snapshot (entries oldest first, positions one lower)', () => {
    const { fs, open, tmp } = sample();
    open.close();
    tmp.decRef();
    const v2 = structuredClone(fs.snapshot());
    const v1 = structuredClone(v2) as unknown as { version: number; inodes: TmpfsSnapshot['inodes'] };
    v1.version = 1;
    for (const i of v1.inodes) {
      if (!i.entries) continue;
      i.entries = [...i.entries].sort((x, y) => x.cookie - y.cookie).map((e) => ({ ...e, cookie: e.cookie - 1 }));
      i.nextCookie = (i.nextCookie as number) - 1;
    }
    const copy = Tmpfs.restore(v1);
    copy.dropUntaken();
    const listing = (t: Tmpfs, p: string) => at(t, p, (d) => [...(d.inode.dir?.entries() ?? [])].map((c) => [c.key, c.offset]));
    // The sample made no renames: version 1's creation order is the listing order reversed.
    expect(listing(copy, 'd')).toEqual(listing(fs, 'd'));
    expect(listing(copy, '')).toEqual(listing(fs, ''));
  });

  it('refuses content that does not fit the limits (ENOSPC)', () => {
    const { fs, open, tmp } = sample();
    const snap = fs.snapshot();
    expectErrno(() => Tmpfs.restore(snap, { size: 8192 }), 'ENOSPC');
    expectErrno(() => Tmpfs.restore(snap, { nr_inodes: 5 }), 'ENOSPC');
    open.close();
    tmp.decRef();
  });

  it('checks every field of an untrusted snapshot: EINVAL naming it', () => {
    const { fs, open, tmp } = sample();
    const good = fs.snapshot();
    open.close();
    tmp.decRef();
    Tmpfs.restore(structuredClone(good)).dropUntaken();
    const idx = (s: TmpfsSnapshot, pred: (i: TmpfsSnapshot['inodes'][number]) => boolean) => s.inodes.findIndex(pred);
    const cases: [string, (s: TmpfsSnapshot) => void, RegExp][] = [
      ['not an object', (s) => Object.assign(s, { format: 'x' }), /snapshot\.format/],
      ['version', (s) => Object.assign(s, { version: 3 }), /snapshot\.version/],
      ['root missing', (s) => Object.assign(s, { root: 999 }), /snapshot\.root/],
      ['duplicate ino', (s) => s.inodes.push(structuredClone(s.inodes[1])), /appears twice/],
      ['bad mode', (s) => (s.inodes[1].mode = 0o170777), /mode/],
      ['bad nsec', (s) => (s.inodes[1].mtime = [1, 2e9]), /mtime\[1\]/],
      ['dangling entry', (s) => (s.inodes[idx(s, (i) => !!i.entries)].entries![0].ino = 12345), /not in the list/],
      ['page not 4096 bytes', (s) => (s.inodes[idx(s, (i) => !!i.pages?.length)].pages![0][1] = new Uint8Array(10)), /pages\[0\]\[1\]/],
      ['page past size', (s) => (s.inodes[idx(s, (i) => !!i.pages?.some((p) => p[1]))].size = 0), /past the size/],
      ['an offset twice', (s) => {
        const d = s.inodes[idx(s, (i) => (i.entries?.length ?? 0) > 1)];
        d.entries![1].cookie = d.entries![0].cookie;
      }, /cookie/],
      ['an offset out of range', (s) => (s.inodes[idx(s, (i) => !!i.entries?.length)].entries![0].cookie = 2), /cookie/],
      ['name with slash', (s) => (s.inodes[idx(s, (i) => !!i.entries?.length)].entries![0].name = b('a/b')), /name/],
      ['directory named twice', (s) => {
        const root = s.inodes[idx(s, (i) => i.ino === s.root)];
        const dEntry = root.entries!.find((e) => str(e.name) === 'd')!;
        root.entries!.push({ name: b('d2'), ino: dEntry.ino, cookie: root.nextCookie! });
        root.nextCookie! += 1;
      }, /more than one name/],
      ['orphan not listed', (s) => (s.unlinked = []), /not listed as unlinked/],
      ['bad xattr name', (s) => s.inodes[1].xattrs.push([b('bogus'), b('1')]), /xattrs/],
      ['bad acl', (s) => (s.inodes[idx(s, (i) => !!i.acl)].acl = new Uint8Array([2, 0, 0, 0, 1, 0])), /acl/],
      ['symlink too long', (s) => (s.inodes[idx(s, (i) => !!i.target)].target = new Uint8Array(5000)), /target/],
      ['nextIno too small', (s) => (s.nextIno = 2), /nextIno/],
      ['rdev on a file', (s) => (s.inodes[idx(s, (i) => !!i.pages)].rdev = 5), /rdev/],
    ];
    for (const [what, damage, field] of cases) {
      const s = structuredClone(good);
      damage(s);
      let err: unknown;
      try {
        Tmpfs.restore(s).dropUntaken();
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(SysError);
      expect((err as SysError).code, `${what}: ${(err as Error).message}`).toBe('EINVAL');
      expect((err as Error).message, what).toMatch(field);
    }
    for (const junk of [null, 5, 'x', [], { format: 'erofs-js/tmpfs', version: 1 }]) expectErrno(() => Tmpfs.restore(junk), 'EINVAL');
  });
});
