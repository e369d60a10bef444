/**
 * The host side of overlays: a container-style root (HostController.create({ rootfs: {
 * layers, upper } })), overlay mounts (mount({ type: 'overlay' })), the RPC mount call and
 * `erofs-host --layer IMAGE --layer IMAGE --upper-size SIZE`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, device, dir, file, symlink } from '@erofs-js/mkfs';
import { O_CREAT, O_RDONLY, O_WRONLY, SysError } from '@erofs-js/vfs';
import { HostController as PortableController } from '@erofs-js/mount';
import { HostController, RpcClient, RpcServer, hostMain } from '@erofs-js/mount/node';

const T = 1700000000;
const base = buildImage(
  dir({
    etc: dir({ passwd: file('root:x:0:0\n', { mtime: T }), hostname: file('base\n', { mtime: T }) }, { mtime: T }),
    bin: dir({ sh: file('#!sh\n', { mode: 0o755, mtime: T }) }, { mtime: T }),
    usr: dir({ lib: dir({ x: file('x', { mtime: T }) }, { mtime: T }) }, { mtime: T }),
  }),
  { uuid: new Uint8Array(16).fill(1) },
);
const app = buildImage(
  dir({
    etc: dir({ hostname: file('app\n', { mtime: T + 1 }) }, { mtime: T + 1 }),
    usr: dir({ lib: dir({ x: device('chardev', 0, 0, { mode: 0 }) }, { mtime: T + 1 }) }, { mtime: T + 1 }),
    app: dir({ run: file('#!run\n', { mode: 0o755 }), link: symlink('run') }),
  }),
  { uuid: new Uint8Array(16).fill(2) },
);

const tmp = mkdtempSync(join(tmpdir(), 'overlay-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const basePath = join(tmp, 'base.erofs');
const appPath = join(tmp, 'app.erofs');
writeFileSync(basePath, base);
writeFileSync(appPath, app);

const enc = new TextEncoder();
const dec = new TextDecoder();

function readAll(task: ReturnType<HostController['task']>, path: string): string {
  const fd = task.open(path, O_RDONLY);
  try {
    const buf = new Uint8Array(4096);
    return dec.decode(buf.subarray(0, task.read(fd, buf)));
  } finally {
    task.close(fd);
  }
}

describe('overlay as the root of a namespace', () => {
  it('merges the layers, takes the guest\'s writes in memory and shows the stack in mountinfo', async () => {
    const c = await PortableController.create({
      rootfs: { layers: [{ bytes: base, name: 'base.erofs' }, { bytes: app, name: 'app.erofs' }], upper: { type: 'tmpfs', size: '8m' } },
    });
    try {
      const t = c.task();
      expect(readAll(t, '/etc/hostname')).toBe('app\n');
      expect(readAll(t, '/etc/passwd')).toBe('root:x:0:0\n');
      expect(() => t.stat('/usr/lib/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      t.unlink('/etc/passwd');
      const fd = t.open('/bin/sh', O_WRONLY);
      t.write(fd, enc.encode('#!new'));
      t.close(fd);
      t.mkdir('/tmp', 0o1777);
      expect(readAll(t, '/bin/sh')).toBe('#!new');
      expect(() => t.stat('/etc/passwd')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(c.list()[0]).toMatchObject({ fstype: 'overlay', source: 'overlay', target: '/' });
      expect(c.mountinfo().split('\n')[0]).toBe('1 1 0:32 / / rw,relatime - overlay overlay rw,lowerdir=app.erofs:base.erofs,upperdir=tmpfs/upper,workdir=tmpfs/work,uuid=on');
      expect(t.statfs('/')).toMatchObject({ type: 0x794c7630, blocks: 2048 });
      t.exit();
    } finally {
      c.close();
    }
  });

  it('refuses an upper that is not a tmpfs and an empty layer list, closing what it opened', async () => {
    await expect(PortableController.create({ rootfs: { layers: [] } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PortableController.create({ rootfs: { layers: [{ bytes: base }], upper: { type: 'ext4' as 'tmpfs' } } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PortableController.create({ rootfs: { layers: [{ bytes: base }, { bytes: new Uint8Array(4096) }] } })).rejects.toBeInstanceOf(SysError);
  });
});

describe('overlay mounts', () => {
  it('mounts image layers by host path with a bounded upper, busy while in use', async () => {
    const c = await HostController.create({ mkdirs: ['/srv'] });
    try {
      const rec = await c.mount({ type: 'overlay', target: '/srv/app', layers: [basePath, appPath], upper: { size: '64k' }, options: { mkdir: true } });
      expect(rec).toMatchObject({ fstype: 'overlay', target: '/srv/app' });
      expect(c.mountinfo()).toContain(`overlay overlay rw,lowerdir=${appPath}:${basePath},upperdir=tmpfs/upper,workdir=tmpfs/work,uuid=on`);
      const t = c.task();
      expect(readAll(t, '/srv/app/app/link')).toBe('#!run\n');
      const fd = t.open('/srv/app/big', O_WRONLY | O_CREAT, 0o644);
      expect(t.write(fd, new Uint8Array(100_000))).toBe(65536);
      expect(() => c.unmount({ target: '/srv/app' })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      t.close(fd);
      t.exit();
      expect(c.unmount({ target: '/srv/app' }).released).toBe(true);
    } finally {
      c.close();
    }
  });

  it('answers the RPC mount call for overlays the host allows', async () => {
    const c = await HostController.create({ mkdirs: ['/m'] });
    const sock = join(tmp, 'rpc', 'ctl.sock');
    const server = await RpcServer.listen(c, { socketPath: sock });
    const client = await RpcClient.connect(sock);
    try {
      const rec = await client.mountOverlay('/m/x', [basePath, appPath], { size: '1m' }, { mkdir: true });
      expect(rec).toMatchObject({ fstype: 'overlay', target: '/m/x' });
      await expect(client.mountOverlay('/m/y', [], undefined, { mkdir: true })).rejects.toMatchObject({ data: { errno: 'EINVAL' } });
      // The client sends relative layer paths resolved against its own cwd.
      await expect(client.mountOverlay('/m/z', ['no-such-layer.erofs'])).rejects.toMatchObject({ data: { errno: 'ENOENT' } });
    } finally {
      await client.close();
      await server.close();
      c.close();
    }
    const c2 = await HostController.create({ mkdirs: ['/m'] });
    const server2 = await RpcServer.listen(c2, { socketPath: sock, mountTypes: ['erofs'] });
    const client2 = await RpcClient.connect(sock);
    try {
      await expect(client2.mountOverlay('/m', [basePath])).rejects.toMatchObject({ data: { errno: 'EPERM' } });
    } finally {
      await client2.close();
      await server2.close();
      c2.close();
    }
  });

  it('erofs-host --layer --layer --upper-size serves an overlay root', async () => {
    const ac = new AbortController();
    const out: string[] = [];
    const err: string[] = [];
    let seen = '';
    const code = await hostMain(['--layer', basePath, '--layer', appPath, '--upper-size', '8m', '--mkdir', '/proc', '--socket', join(tmp, 'h', 'ctl.sock')], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: ac.signal,
      onReady: (_s, controller) => {
        seen = readAll(controller.task(), '/etc/hostname');
        ac.abort();
      },
    });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(seen).toBe('app\n');
    expect(out[1]).toBe(`1 1 0:32 / / rw,relatime - overlay overlay rw,lowerdir=${appPath}:${basePath},upperdir=tmpfs/upper,workdir=tmpfs/work,uuid=on`);
    const bad: string[] = [];
    expect(await hostMain(['--layer', basePath, '--rootfs', basePath], { out: () => {}, err: (l) => bad.push(l) })).toBe(2);
    expect(await hostMain(['--upper-size', '8m'], { out: () => {}, err: (l) => bad.push(l) })).toBe(2);
    expect(bad[0]).toContain('one of --rootfs, --config and --layer');
  });
});
