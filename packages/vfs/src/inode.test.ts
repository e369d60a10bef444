import { describe, expect, it } from 'vitest';
import { openFixture } from '../../../tests/fixtures.js';
import { ROOT, credentials, MAY_READ, MAY_WRITE, MAY_EXEC } from './credentials.js';
import { Filesystem } from './filesystem.js';
import { EROFS_STATX_ATTRIBUTES_MASK, EROFS_STATX_MASK, STATX_ATIME, STATX_ATTR_COMPRESSED, STATX_ATTR_IMMUTABLE } from './inode.js';
import { resolve } from './resolve.js';

const at = (fs: Filesystem, p: string) => resolve(fs, p, ROOT, { follow: false });

describe('Inode', () => {
  it('is shared by hard links and lives while a dentry references it', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: 0 });
    const h1 = at(fs, '/hardlinks/h1');
    const h2 = at(fs, '/hardlinks/h2');
    const h3 = at(fs, '/hardlinks/sub/h3');
    expect(h1).not.toBe(h2);
    expect(h1.inode).toBe(h2.inode);
    expect(h3.inode).toBe(h1.inode);
    expect(h1.inode.refs).toBe(3);
    expect(fs.liveInode(h1.inode.nid)).toBe(h1.inode);
    const nid = h1.inode.nid;
    h1.decRef();
    h2.decRef();
    expect(fs.liveInode(nid)).toBe(h3.inode);
    h3.decRef();
    expect(fs.liveInode(nid)).toBeUndefined();
    expect(fs.stats().inodesLive).toBe(1); // the root
  });

  it('stats like Linux: blksize is the block size, atime = ctime = mtime, blocks in 512-byte units', () => {
    // Values from stat(1) / statx(2) on kernel 6.18 loop mounts.
    const fs = new Filesystem(openFixture('basic-18.erofs'), { dev: 7 << 8 });
    const d = at(fs, '/files/tail-noinline');
    const st = fs.stat(d);
    expect(st).toEqual({
      dev: 7 << 8, ino: 16193, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 8191, blksize: 4096, blocks: 16,
      atime: 1700000000, atimeNsec: 0, mtime: 1700000000, mtimeNsec: 0, ctime: 1700000000, ctimeNsec: 0,
    });
    const sx = fs.statx(d);
    expect(sx.mask).toBe(0x7df);
    expect(sx.mask & STATX_ATIME).toBe(0);
    expect(sx.attributes).toBe(STATX_ATTR_IMMUTABLE);
    expect(sx.attributesMask).toBe(0x203014);
    expect(EROFS_STATX_ATTRIBUTES_MASK).toBe(0x203014);
    expect(EROFS_STATX_MASK).toBe(0x7df);
    expect([sx.devMajor, sx.devMinor, sx.btime, sx.blocks, sx.blksize]).toEqual([7, 0, 0, 16, 4096]);
    d.decRef();
    const root = fs.stat(fs.root);
    expect([root.blocks, root.size, root.ino]).toEqual([8, 266, 40]);
    const dev = at(fs, '/dev/nvme-big');
    expect(fs.statx(dev)).toMatchObject({ rdevMajor: 259, rdevMinor: 300000 });
    dev.decRef();
    const b512 = new Filesystem(openFixture('basic-18-b512.erofs'));
    const f = at(b512, '/files/tail-noinline');
    expect([b512.stat(f).blksize, b512.stat(f).blocks]).toEqual([512, 16]);
    f.decRef();
  });

  it('marks compressed files STATX_ATTR_COMPRESSED', () => {
    const fs = new Filesystem(openFixture('z-lz4hc-18.erofs'));
    const d = at(fs, '/big/log-192k');
    expect(d.inode.isCompressed).toBe(true);
    expect(fs.statx(d).attributes).toBe(STATX_ATTR_IMMUTABLE | STATX_ATTR_COMPRESSED);
    d.decRef();
  });

  it('answers EROFS for writes before any permission check, and loads the ACL once', () => {
    const fs = new Filesystem(openFixture('basic-18.erofs'));
    const d = at(fs, '/xattrs/acl');
    const u = credentials(1000, 1000);
    expect(() => d.inode.permission(u, MAY_WRITE)).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(() => d.inode.permission(u, MAY_READ)).not.toThrow();
    expect(() => d.inode.permission(u, MAY_EXEC)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(() => d.inode.permission(credentials(1001, 1001), MAY_READ)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(d.inode.acl()).toBe(d.inode.acl());
    expect(d.inode.acl()!.length).toBe(6);
    // A fifo is not a file of the mount: W_OK is a plain permission question.
    const fifo = at(fs, '/dev/fifo');
    expect(() => fifo.inode.permission(ROOT, MAY_WRITE)).not.toThrow();
    fifo.decRef();
    d.decRef();
  });
});
