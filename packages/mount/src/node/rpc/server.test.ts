import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Filesystem } from '@erofs-js/vfs';
import { fixture } from '../../../test/helpers.js';
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

describe('RpcServer: a client slow to read', () => {
  it('20,000 replies to a client that keeps pausing leave no listeners behind', async () => {
    const c = await HostController.create();
    const s = await RpcServer.listen(c, { socketPath: join(base, 'slow', 'ctl.sock'), maxPending: 64 });
    // The server's side of the connection, and its listeners before any reply was sent.
    let sock!: Socket;
    const before = { drain: 0, close: 0, error: 0 };
    s['server'].on('connection', (x: Socket) => {
      sock = x;
      for (const ev of ['drain', 'close', 'error'] as const) before[ev] = sock.listenerCount(ev);
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);

    // A reply is a batch of 16 pongs echoing 256-character ids (5 KiB). The client sends
    // 64 of them at a time (more than the socket holds) and pauses before reading the
    // answers, so the server finds the socket full and waits for 'drain' every round.
    const batch = JSON.stringify(Array.from({ length: 16 }, (_, i) => ({ jsonrpc: '2.0', id: String(i).padEnd(256, '.'), method: 'ping' }))) + '\n';
    const round = 64;
    const total = 20_000;
    const client = createConnection(s.socketPath);
    await once(client, 'connect');
    let sent = 0;
    let got = 0;
    let bytes = 0;
    let rounds = 0;
    const most = { drain: 0, close: 0, error: 0 };
    const sample = () => {
      for (const ev of ['drain', 'close', 'error'] as const) most[ev] = Math.max(most[ev], sock.listenerCount(ev));
    };
    const next = () => {
      const n = Math.min(round, total - sent);
      client.write(batch.repeat(n));
      sent += n;
      rounds++;
      client.pause();
      setTimeout(() => {
        sample();
        client.resume();
      }, 2);
    };
    const done = new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('close', () => reject(new Error(`closed after ${got} replies`)));
      client.on('data', (b: Buffer) => {
        bytes += b.length;
        for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) got++;
        if (got === total) resolve();
        else if (got === sent) next();
      });
    });
    next();
    await done;
    sample();
    process.off('warning', onWarning);
    console.log(`slow reader: ${got} replies of ${(bytes / got / 1024).toFixed(1)} KiB in ${rounds} rounds; listeners on the server's socket at first ${JSON.stringify(before)}, at most ${JSON.stringify(most)}`);
    // At most the one wait in progress adds a listener.
    expect(most.drain).toBeLessThanOrEqual(before.drain + 1);
    expect(most.close).toBeLessThanOrEqual(before.close + 1);
    expect(most.error).toBeLessThanOrEqual(before.error + 1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    client.destroy();
    await s.close();
    c.close();
  });
});
