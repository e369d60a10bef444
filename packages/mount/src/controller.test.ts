import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SysError, credentials, type Filesystem } from '@erofs-js/vfs';
import { createHash } from 'node:crypto';
import { deflate, type Codec, type Image } from '@erofs-js/erofs';
import { fixture, fixtureBytes, ls, manifest, readAll, text } from '../test/helpers.js';
import { CancelledError, EROFS_SUPER_OPTIONS, HostController as PortableHostController } from './controller.js';
import { HostController } from './node/controller.js';
import { parseMountinfoLine } from './mountinfo.js';

const tmp = mkdtempSync(join(tmpdir(), 'erofs-ctl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, `expected ${code}`).toBeInstanceOf(SysError);
  expect((e as SysError).code).toBe(code);
}

/** Is `fd` still open? */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('HostController', () => {
  it('starts on a rootfs image and mounts a second image by path', async () => {
    const c = await HostController.create({ rootfs: fixture('rootfs-18.erofs') });
    const r = await c.mount({ image: fixture('z-lz4hc-18.erofs'), target: '/tmp' });
    expect(r).toMatchObject({ id: 2, parentId: 1, target: '/tmp', fstype: 'erofs', source: fixture('z-lz4hc-18.erofs'), options: 'ro,relatime', superOptions: EROFS_SUPER_OPTIONS });
    const lines = c.mountinfo().trim().split('\n').map(parseMountinfoLine);
    expect(lines.map((l) => [l.id, l.parentId, l.mountPoint, l.fstype])).toEqual([
      [1, 1, '/', 'erofs'],
      [2, 1, '/tmp', 'erofs'],
    ]);
    const t = c.task({ creds: credentials(1000, 1000) });
    expect(text(readAll(t, '/tmp/links/rel')).length).toBe(100);
    expect(c.list()).toHaveLength(2);
    t.exit();
    c.close();
    expect(c.ns.root.state).toBe('released');
  });

  it('builds a synthetic root with the mount points the host asks for', async () => {
    const c = await HostController.create({ mkdirs: ['/dev', '/proc', '/mnt/data'] });
    const t = c.task();
    expect(ls(t, '/')).toEqual(['dev', 'proc', 'mnt']);
    expect(ls(t, '/mnt')).toEqual(['data']);
    await c.mount({ image: fixture('basic-18.erofs'), target: '/mnt/data' });
    expect(ls(t, '/mnt/data')).toContain('links');
    // mkdir through an image is EROFS; onto an existing name EEXIST.
    expect(() => c.mkdir('/mnt/data/new')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(() => c.mkdir('/dev')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => c.mkdir('/mnt/data/files/size-1', { parents: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => c.mkdir('/a/b')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    c.mkdir('/a/b', { parents: true });
    c.mkdir('/a/b', { existOk: true });
    expect(() => c.mkdir('relative')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // mount with mkdir creates the target.
    await c.mount({ image: fixture('rootfs-18.erofs'), target: '/srv/root', options: { mkdir: true } });
    expect(ls(t, '/srv/root')).toContain('etc');
    t.exit();
  });

  it('takes an open descriptor (and closes it when the mount is released), bytes, devices', async () => {
    const c = await HostController.create({ mkdirs: ['/a', '/b', '/c'] });
    const fd = openSync(fixture('basic-18.erofs'), 'r');
    const r = await c.mount({ image: { fd, name: 'basic' }, target: '/a' });
    expect(r.source).toBe('basic');
    await c.mount({ image: { bytes: fixtureBytes('rootfs-18.erofs') }, target: '/b' });
    await c.mount({
      image: fixture('basic-18-blobdev.erofs'),
      target: '/c',
      options: { devices: [fixture('basic-18-blobdev.blob')] },
    });
    const t = c.task();
    expect(readAll(t, '/c/files/size-4097').length).toBe(4097);
    expect(ls(t, '/b')).toContain('usr');
    t.exit();
    expect(isOpen(fd)).toBe(true);
    c.unmount({ target: '/a' });
    expect(isOpen(fd)).toBe(false);
  });

  it('validates the image before attaching anything: a bad checksum is EUCLEAN and leaves nothing behind', async () => {
    const bad = join(tmp, 'bad.erofs');
    const b = new Uint8Array(readFileSync(fixture('basic-18.erofs')));
    b[1024 + 0x30] ^= 0xff; // inside the checksummed superblock
    writeFileSync(bad, b);
    const c = await HostController.create({ mkdirs: ['/a'] });
    await rejects(c.mount({ image: bad, target: '/a' }), 'EUCLEAN');
    writeFileSync(join(tmp, 'empty.erofs'), new Uint8Array(0));
    await rejects(c.mount({ image: join(tmp, 'empty.erofs'), target: '/a' }), 'EINVAL'); // too small: not an EROFS image
    writeFileSync(join(tmp, 'zeros.erofs'), new Uint8Array(8192));
    await rejects(c.mount({ image: join(tmp, 'zeros.erofs'), target: '/a' }), 'EINVAL'); // bad magic, as Linux's "wrong fs type"
    expect(c.list()).toHaveLength(1);
    expect(c.ns.detached()).toEqual([]);
  });

  it('a relative image path is resolved against the cwd, and the mount is named by the absolute path', async () => {
    const c = await HostController.create({ rootfs: relative(process.cwd(), fixture('rootfs-18.erofs')) });
    expect(c.list()[0].source).toBe(fixture('rootfs-18.erofs'));
    const m = await c.mount({ image: { path: relative(process.cwd(), fixture('basic-18.erofs')) }, target: '/tmp' });
    expect(m.source).toBe(fixture('basic-18.erofs'));
    await expect(c.mount({ image: 'no/such.erofs', target: '/tmp' })).rejects.toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining(join(process.cwd(), 'no/such.erofs')) }));
    c.close();
  });

  it('the portable controller opens bytes and sources, and sends host paths to the Node host', async () => {
    const c = await PortableHostController.create({ rootfs: { bytes: fixtureBytes('rootfs-18.erofs'), name: 'root' } });
    expect(c.list()[0].source).toBe('root');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/tmp' }), 'EOPNOTSUPP');
    await rejects(c.mount({ image: { fd: 0 }, target: '/tmp' }), 'EOPNOTSUPP');
    await rejects(c.mount({ image: { url: 's3://bucket/key' }, target: '/tmp' }), 'EOPNOTSUPP');
    await expect(c.mount({ image: fixtureBytes('basic-18.erofs') as never, target: '/tmp' })).rejects.toThrow(/bare Uint8Array.*\{ bytes \}/);
    expect(c).not.toBeInstanceOf(HostController);
    expect(await HostController.create()).toBeInstanceOf(PortableHostController);
    c.close();
  });

  it('errors carry errno names: missing image, bad targets, options', async () => {
    const c = await HostController.create({ rootfs: fixture('rootfs-18.erofs') });
    await rejects(c.mount({ image: join(tmp, 'missing.erofs'), target: '/tmp' }), 'ENOENT');
    await rejects(c.mount({ image: 'bad\0path', target: '/tmp' }), 'EINVAL');
    await rejects(c.mount({ image: tmp, target: '/tmp' }), 'EINVAL');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: 'tmp' }), 'EINVAL');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/nope' }), 'ENOENT');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/etc/passwd' }), 'ENOTDIR');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/' }), 'EBUSY');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/srv', options: { mkdir: true } }), 'EROFS');
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/tmp', options: { dentryCacheSize: -1 } }), 'EINVAL');
    await rejects(c.mount({ image: { fd: -3 }, target: '/tmp' }), 'EBADF');
    expect(() => c.unmount({ target: '/etc' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => c.unmount({ target: '/' })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => c.unmount({ target: '/nope' })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(c.list()).toHaveLength(1);
  });

  it('stacks mounts on one target and unmounts them top first; busy and lazy unmounts', async () => {
    const c = await HostController.create({ rootfs: fixture('rootfs-18.erofs') });
    const a = await c.mount({ image: fixture('basic-18.erofs'), target: '/tmp' });
    const b = await c.mount({ image: fixture('z-lz4hc-18.erofs'), target: '/tmp' });
    expect(b.parentId).toBe(a.id);
    const t = c.task();
    expect(ls(t, '/tmp')).toContain('text');
    const fd = t.open('/tmp/text/size-100');
    expect(() => c.unmount({ target: '/tmp' })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(c.unmount({ target: '/tmp', detach: true })).toEqual({ id: b.id, target: '/tmp', released: false });
    expect(ls(t, '/tmp')).toContain('links');
    expect(t.read(fd, new Uint8Array(200))).toBe(100);
    t.close(fd);
    expect(c.ns.detached()).toEqual([]);
    expect(c.unmount({ target: '/tmp' })).toEqual({ id: a.id, target: '/tmp', released: true });
    expect(ls(t, '/tmp')).toEqual([]);
    t.exit();
  });

  it('decodes DEFLATE with native zlib by default, and takes the codecs a host passes', async () => {
    const c = await HostController.create({ mkdirs: ['/a', '/b'] });
    await c.mount({ image: fixture('z-deflate-18.erofs'), target: '/a' });
    let calls = 0;
    const counting: Codec = {
      name: 'deflate',
      decode(input, output, partial) {
        calls++;
        deflate.decode(input, output, partial);
      },
    };
    await c.mount({ image: fixture('z-deflate-18.erofs'), target: '/b', options: { codecs: { 2: counting } } });
    const [, a, b] = c.ns.mounts();
    // Image keeps its codec table private; the default must be the node:zlib codec, not the portable one.
    const codecOf = (m: typeof a) => (m.fs as Filesystem).image['codecs' as keyof Image] as unknown as Record<number, Codec>;
    expect(codecOf(a)[2]).not.toBe(deflate);
    expect(codecOf(a)[2].name).toBe('deflate');
    expect(codecOf(b)[2]).toBe(counting);
    const t = c.task();
    const x0 = manifest('z-deflate-18.erofs').find((e) => e.path === '/align/x0')!;
    expect(createHash('sha256').update(readAll(t, '/a/align/x0')).digest('hex')).toBe(x0.sha256);
    expect(calls).toBe(0);
    expect(createHash('sha256').update(readAll(t, '/b/align/x0')).digest('hex')).toBe(x0.sha256);
    expect(calls).toBeGreaterThan(0);
    t.exit();
    c.close();
  });

  it('applies per-mount options', async () => {
    const c = await HostController.create({ mkdirs: ['/a'] });
    await c.mount({ image: fixture('basic-18.erofs'), target: '/a', options: { dentryCacheSize: 3, noexec: true, source: 'my-image' } });
    const m = c.ns.mounts()[1];
    expect((m.fs as import('@erofs-js/vfs').Filesystem).options.dentryCacheSize).toBe(3);
    expect(m.options).toBe('ro,noexec,relatime');
    expect(m.source).toBe('my-image');
    const t = c.task();
    expect(() => t.access('/a/xattrs/capability', 1)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(t.access('/a/xattrs/capability', 4)).toBe(0);
    expect(t.access('/a/xattrs', 1)).toBe(0); // noexec concerns regular files only
    t.exit();
  });

  it('a cancelled request before the commit closes the image and mounts nothing', async () => {
    let opened = -1;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = await HostController.create({
      mkdirs: ['/a'],
      beforeCommit: async () => {
        await gate;
      },
    });
    const ac = new AbortController();
    const fd = openSync(fixture('basic-18.erofs'), 'r');
    opened = fd;
    const p = c.mount({ image: { fd }, target: '/a' }, ac.signal);
    await new Promise((r) => setTimeout(r, 5));
    expect(c.pending).toBe(1);
    ac.abort();
    release();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(c.pending).toBe(0);
    expect(c.list()).toHaveLength(1);
    expect(isOpen(opened)).toBe(false);
  });

  it('concurrent mounts each land whole', async () => {
    const c = await HostController.create({ mkdirs: ['/a', '/b', '/c'] });
    const rs = await Promise.all(['/a', '/b', '/c', '/a'].map((target, i) => c.mount({ image: fixture(['basic-18.erofs', 'rootfs-18.erofs', 'z-zstd-18.erofs', 'z-lz4hc-18.erofs'][i]), target })));
    expect(new Set(rs.map((r) => r.id)).size).toBe(4);
    expect(new Set(rs.map((r) => r.dev)).size).toBe(4);
    expect(c.list()).toHaveLength(5);
  });

  it('a shut-down controller refuses requests', async () => {
    const c = await HostController.create();
    c.close();
    c.close();
    await rejects(c.mount({ image: fixture('basic-18.erofs'), target: '/x' }), 'EIO');
    expect(() => c.unmount({ target: '/x' })).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('mounts the tmpfs the host lists at start: mount points made on a synthetic root, existing ones on an image', async () => {
    const c = await HostController.create({ mkdirs: ['/dev'], tmpfs: [{ target: '/tmp', options: { size: '1m', mode: 0o1777 } }, { target: '/run/user/1000', options: { uid: 1000, gid: 1000, mode: '700', nosuid: true } }] });
    expect(c.list().map((m) => [m.target, m.fstype, m.options, m.superOptions])).toEqual([
      ['/', 'rootfs', 'ro,relatime', 'ro'],
      ['/tmp', 'tmpfs', 'rw,relatime', 'rw,size=1024k,nr_inodes=16384,mode=1777,inode64'],
      ['/run/user/1000', 'tmpfs', 'rw,nosuid,relatime', 'rw,size=65536k,nr_inodes=16384,mode=700,uid=1000,gid=1000,inode64'],
    ]);
    const t = c.task({ creds: credentials(1000, 1000) });
    t.close(t.open('/run/user/1000/sock', 0o101, 0o600));
    t.exit();
    c.close();
    const r = await HostController.create({ rootfs: fixture('rootfs-18.erofs'), tmpfs: [{ target: '/tmp' }] });
    expect(r.list().map((m) => m.target)).toEqual(['/', '/tmp']);
    r.close();
    // On an image nothing can be made: a missing mount point is EROFS; bad options are EINVAL.
    await rejects(HostController.create({ rootfs: fixture('rootfs-18.erofs'), tmpfs: [{ target: '/scratch' }] }), 'EROFS');
    await rejects(HostController.create({ tmpfs: [{ target: '/tmp', options: { size: '1q' } }] }), 'EINVAL');
    await rejects(HostController.create({ tmpfs: [{ target: '/tmp', options: { mode: 0o70000 } }] }), 'EINVAL');
  });

  it('a bad rootfs fails creation and closes the file', async () => {
    await rejects(HostController.create({ rootfs: join(tmp, 'missing.erofs') }), 'ENOENT');
    await rejects(HostController.create({ rootfs: fixture('rootfs-18.erofs'), mkdirs: ['/mnt'] }), 'EROFS');
    copyFileSync(fixture('rootfs-18.erofs'), join(tmp, 'root.erofs'));
    const c = await HostController.create({ rootfs: join(tmp, 'root.erofs'), rootfsOptions: { source: 'root' } });
    expect(c.list()[0].source).toBe('root');
  });
});
