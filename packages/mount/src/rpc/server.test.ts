import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Filesystem } from '@erofs-js/vfs';
import { fixture } from '../../test/helpers.js';
import { HostController } from '../controller.js';
import { RpcClient } from './client.js';
import { RpcServer, prepareSocketDir } from './server.js';

const base = mkdtempSync(join(tmpdir(), 'erofs-srv-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('RpcServer', () => {
  it('creates its directory 0700 and its socket 0600, and removes the socket on close', async () => {
    const dir = join(base, 'new');
    const c = await HostController.create({ mkdirs: ['/mnt'] });
    const s = await RpcServer.listen(c, { socketPath: join(dir, 'ctl.sock') });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(s.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(s.socketPath).isSocket()).toBe(true);
    const client = await RpcClient.connect(s.socketPath);
    expect(await client.ping()).toEqual({ pong: true, version: '0.1.0' });
    expect(s.connections).toBe(1);
    const r = await client.mount(fixture('basic-18.erofs'), '/mnt', { pageCacheBytes: 20480, dentryCacheSize: 9 });
    expect(r.target).toBe('/mnt');
    // The cache options of the call reach the mounted filesystem.
    const fs = c.ns.mounts().find((m) => m.id === r.id)!.fs as Filesystem;
    expect([fs.options.pageCacheBytes, fs.options.dentryCacheSize]).toEqual([20480, 9]);
    expect((await client.list()).mounts).toHaveLength(2);
    expect(await client.mkdir('/x/y', true)).toEqual({ path: '/x/y' });
    expect(await client.unmount('/mnt')).toMatchObject({ released: true });
    await client.close();
    await s.close();
    await s.close();
    expect(() => statSync(s.socketPath)).toThrow();
  });

  it('refuses a directory other users can enter, one not ours, a symlink, a non-directory', async () => {
    const open = join(base, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    await expect(prepareSocketDir(open)).rejects.toMatchObject({ code: 'EPERM' });
    symlinkSync(base, join(base, 'link'));
    await expect(prepareSocketDir(join(base, 'link'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    writeFileSync(join(base, 'file'), '');
    await expect(prepareSocketDir(join(base, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    if (process.getuid?.() === 0) {
      const theirs = join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      (await import('node:fs')).chownSync(theirs, 4242, 4242);
      await expect(prepareSocketDir(theirs)).rejects.toMatchObject({ code: 'EPERM' });
    }
  });

  it('replaces a stale socket, refuses a live one and a non-socket', async () => {
    const dir = join(base, 'stale');
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, 's.sock');
    // A server that dies without cleaning up leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(statSync(path).isSocket()).toBe(true);
    const c = await HostController.create();
    const s = await RpcServer.listen(c, { socketPath: path });
    await expect(RpcServer.listen(c, { socketPath: path })).rejects.toMatchObject({ code: 'EBUSY' });
    await s.close();
    writeFileSync(path, 'not a socket');
    await expect(RpcServer.listen(c, { socketPath: path })).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
