import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../../test/helpers.js';
import type { HostController } from '../controller.js';
import { RpcClient } from '../rpc/client.js';
import type { RpcServer } from '../rpc/server.js';
import { ROOTFS_SOURCE_ANNOTATION, ROOTFS_TYPE_ANNOTATION, defaultSocketPath, hostMain, parseOciConfig } from './host.js';

const dir = mkdtempSync(join(tmpdir(), 'erofs-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs hostMain until `body` is done. */
async function withHost(argv: string[], body: (s: RpcServer, c: HostController) => Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  const ac = new AbortController();
  let failure: unknown;
  const code = await hostMain(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    signal: ac.signal,
    onReady: (s, c) => {
      body(s, c).then(
        () => ac.abort(),
        (e) => {
          failure = e;
          ac.abort();
        },
      );
    },
  });
  if (failure) throw failure;
  return { code, out, err };
}

describe('erofs-host', () => {
  it('serves a namespace on a rootfs until stopped', async () => {
    const sock = join(dir, 'a', 'ctl.sock');
    const r = await withHost(['--rootfs', fixture('rootfs-18.erofs'), '--socket', sock], async (s) => {
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      const c = await RpcClient.connect(s.socketPath);
      expect((await c.list()).mounts[0].source).toBe(fixture('rootfs-18.erofs'));
      await c.close();
    });
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`erofs-host: listening on ${sock} (mode 0600)`);
    expect(r.out[1]).toMatch(/^1 1 0:32 \/ \/ ro,relatime - erofs .*rootfs-18\.erofs /);
    expect(r.out.at(-1)).toBe('erofs-host: stopped');
  });

  it('builds a synthetic root with --mkdir and mounts what an OCI config lists', async () => {
    const cfg = join(dir, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        ociVersion: '1.0.2',
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/data', type: 'erofs', source: 'fixtures/basic-18.erofs', options: ['ro', 'nodev'] },
        ],
      }),
    );
    const sock = join(dir, 'b', 'ctl.sock');
    const conf = parseOciConfig(JSON.stringify({ mounts: [{ destination: '/data', type: 'erofs', source: 'basic-18.erofs' }] }), FIXTURES);
    expect(conf.mounts[0]).toMatchObject({ target: '/data', image: fixture('basic-18.erofs') });
    const r = await withHost(['--config', join(FIXTURES, '..', 'config.json'), '--socket', sock], async () => {});
    expect(r.code).toBe(1); // no such config there
    writeFileSync(cfg, JSON.stringify({ mounts: [{ destination: '/proc', type: 'proc' }, { destination: '/data', type: 'erofs', source: fixture('basic-18.erofs'), options: ['nodev'] }] }));
    const ok = await withHost(['--config', cfg, '--mkdir', '/dev,/tmp', '--socket', sock], async (_s, c) => {
      expect(c.list().map((m) => [m.target, m.options])).toEqual([
        ['/', 'ro,relatime'],
        ['/data', 'ro,nodev,relatime'],
      ]);
      const t = c.task();
      expect(t.stat('/proc').mode & 0o170000).toBe(0o040000);
      expect(t.stat('/dev').mode & 0o170000).toBe(0o040000);
      t.exit();
    });
    expect(ok.code).toBe(0);
  });

  it('takes the rootfs from the config annotations', async () => {
    const cfg = parseOciConfig(JSON.stringify({ annotations: { [ROOTFS_SOURCE_ANNOTATION]: 'rootfs-18.erofs', [ROOTFS_TYPE_ANNOTATION]: 'erofs' } }), FIXTURES);
    expect(cfg.rootfs).toBe(fixture('rootfs-18.erofs'));
    expect(() => parseOciConfig(JSON.stringify({ annotations: { [ROOTFS_TYPE_ANNOTATION]: 'ext4' } }), '/')).toThrow(/not supported/);
    expect(() => parseOciConfig('[1]', '/')).toThrow(/object/);
    expect(() => parseOciConfig('{', '/')).toThrow(/not JSON/);
    expect(() => parseOciConfig(JSON.stringify({ mounts: {} }), '/')).toThrow(/array/);
    expect(() => parseOciConfig(JSON.stringify({ mounts: [{ destination: 'rel' }] }), '/')).toThrow(/absolute/);
    expect(() => parseOciConfig(JSON.stringify({ mounts: [{ destination: '/a', type: 'erofs' }] }), '/')).toThrow(/source/);
    const file = join(dir, 'ann.json');
    writeFileSync(file, JSON.stringify({ annotations: { [ROOTFS_SOURCE_ANNOTATION]: fixture('rootfs-18.erofs') } }));
    const r = await withHost(['--config', file, '--socket', join(dir, 'c', 's.sock')], async (_s, c) => {
      expect(c.list()[0].fstype).toBe('erofs');
    });
    expect(r.code).toBe(0);
  });

  it('mounts --tmpfs at start and serves only the --rpc-mount-types it is given', async () => {
    const sock = join(dir, 't', 'ctl.sock');
    const r = await withHost(['--mkdir', '/dev', '--tmpfs', '/tmp:2m', '--tmpfs', '/var/tmp', '--rpc-mount-types', 'erofs', '--socket', sock], async (s, c) => {
      expect(c.list().map((m) => [m.target, m.fstype, m.superOptions.split(',')[1]])).toEqual([
        ['/', 'rootfs', undefined],
        ['/tmp', 'tmpfs', 'size=2048k'],
        ['/var/tmp', 'tmpfs', 'size=65536k'],
      ]);
      const client = await RpcClient.connect(s.socketPath);
      await expect(client.mountTmpfs('/dev')).rejects.toMatchObject({ errno: 'EPERM' });
      expect(await client.mount(fixture('basic-18.erofs'), '/dev')).toMatchObject({ fstype: 'erofs' });
      await client.close();
    });
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/ \/tmp rw,relatime - tmpfs tmpfs rw,size=2048k,/);
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    expect(await hostMain(['--tmpfs', 'tmp'], io)).toBe(2);
    expect(await hostMain(['--tmpfs', '/tmp:lots'], io)).toBe(2);
    expect(await hostMain(['--rpc-mount-types', 'erofs,ext4'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/the path must be absolute[\s\S]*the size is digits[\s\S]*"ext4" is not one of erofs, tmpfs/);
    // A tmpfs on an image root needs its mount point there.
    expect(await hostMain(['--rootfs', fixture('rootfs-18.erofs'), '--tmpfs', '/scratch', '--socket', join(dir, 'u', 's.sock')], io)).toBe(1);
    expect(err.at(-1)).toMatch(/EROFS/);
  });

  it('mounts the tmpfs entries of an OCI config, and the mount points inside them', async () => {
    const runcDefaults = [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    ];
    const cfg = parseOciConfig(JSON.stringify({ mounts: runcDefaults }), '/');
    expect(cfg.tmpfs).toEqual([
      { target: '/dev', options: { source: 'tmpfs', nosuid: true, atime: 'strictatime', mode: '755', size: '65536k' } },
      { target: '/dev/shm', options: { source: 'shm', nosuid: true, noexec: true, nodev: true, mode: '1777', size: '65536k' } },
    ]);
    const file = join(dir, 'runc.json');
    writeFileSync(file, JSON.stringify({ mounts: runcDefaults }));
    const r = await withHost(['--config', file, '--socket', join(dir, 'v', 's.sock')], async (_s, c) => {
      expect(c.list().map((m) => [m.target, m.fstype, m.source, m.options])).toEqual([
        ['/', 'rootfs', 'rootfs', 'ro,relatime'],
        ['/dev', 'tmpfs', 'tmpfs', 'rw,nosuid,relatime'],
        ['/dev/shm', 'tmpfs', 'shm', 'rw,nosuid,nodev,noexec,relatime'],
      ]);
      const t = c.task();
      expect(t.stat('/dev/pts').mode & 0o170000).toBe(0o040000);
      expect(t.stat('/dev').mode & 0o7777).toBe(0o755);
      t.exit();
    });
    expect(r.code).toBe(0);
    // On an image root, a tmpfs whose mount point the image lacks is skipped with a warning.
    writeFileSync(file, JSON.stringify({ annotations: { [ROOTFS_SOURCE_ANNOTATION]: fixture('rootfs-18.erofs') }, mounts: [...runcDefaults, { destination: '/tmp', type: 'tmpfs' }] }));
    const img = await withHost(['--config', file, '--socket', join(dir, 'w', 's.sock')], async (_s, c) => {
      expect(c.list().map((m) => m.target)).toEqual(['/', '/dev', '/dev/shm', '/tmp']);
    });
    expect(img.code).toBe(0);
    expect(img.err).toEqual([]);
    writeFileSync(file, JSON.stringify({ annotations: { [ROOTFS_SOURCE_ANNOTATION]: fixture('rootfs-18.erofs') }, mounts: [{ destination: '/scratch', type: 'tmpfs' }] }));
    const skipped = await withHost(['--config', file, '--socket', join(dir, 'x', 's.sock')], async (_s, c) => {
      expect(c.list().map((m) => m.target)).toEqual(['/']);
    });
    expect(skipped.err).toEqual([expect.stringMatching(/^erofs-host: config tmpfs at \/scratch skipped: EROFS/)]);
  });

  it('usage errors and failures', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    expect(await hostMain(['--bogus'], io)).toBe(2);
    expect(await hostMain(['--rootfs', 'a', '--config', 'b'], io)).toBe(2);
    expect(await hostMain(['--rootfs', join(dir, 'missing.erofs'), '--socket', join(dir, 'd', 's')], io)).toBe(1);
    expect(err.join('\n')).toMatch(/ENOENT/);
    expect(await hostMain(['--socket', join(dir, 'nodir', 'deeper', 's.sock')], io)).toBe(1);
    const out: string[] = [];
    expect(await hostMain(['-h'], { out: (l) => out.push(l), err: () => {} })).toBe(0);
    expect(out[0]).toMatch(/^usage: erofs-host/);
    expect(defaultSocketPath()).toMatch(/ctl\.sock$/);
  });
});
