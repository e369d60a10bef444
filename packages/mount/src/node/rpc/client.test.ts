import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers.js';
import { HostController } from '../controller.js';
import { RpcClient, RpcError } from './client.js';
import { OPERATION_FAILED, METHOD_NOT_FOUND } from '../../rpc/schema.js';
import { RpcServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'erofs-cli-'));
let server: RpcServer;
beforeAll(async () => {
  server = await RpcServer.listen(await HostController.create({ rootfs: fixture('rootfs-18.erofs') }), { socketPath: join(dir, 'ctl.sock') });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RpcClient', () => {
  it('matches concurrent calls to their responses by id', async () => {
    const c = await RpcClient.connect(server.socketPath);
    const [a, b, l] = await Promise.all([c.ping(), c.mount(fixture('basic-18.erofs'), '/tmp'), c.list()]);
    expect(a.pong).toBe(true);
    expect(b.target).toBe('/tmp');
    expect(l.mounts.length).toBeGreaterThanOrEqual(1);
    expect(await c.unmount('/tmp', true)).toMatchObject({ target: '/tmp' });
    await c.close();
  });

  it('sends relative image paths resolved against its own cwd', async () => {
    const c = await RpcClient.connect(server.socketPath);
    const m = await c.mount(relative(process.cwd(), fixture('basic-18.erofs')), '/tmp');
    expect(m.source).toBe(fixture('basic-18.erofs'));
    await c.unmount('/tmp', true);
    await c.close();
  });

  it('turns failures into RpcError with the errno', async () => {
    const c = await RpcClient.connect(server.socketPath);
    const e = await c.unmount('/etc').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).code).toBe(OPERATION_FAILED);
    expect((e as RpcError).errno).toBe('EINVAL');
    const m = await c.call('format').catch((x: unknown) => x);
    expect((m as RpcError).code).toBe(METHOD_NOT_FOUND);
    expect((m as RpcError).errno).toBeUndefined();
    await c.close();
  });

  it('rejects pending and later calls once the connection is gone', async () => {
    const c = await RpcClient.connect(server.socketPath);
    const p = c.ping();
    c.socket.destroy();
    await expect(p).rejects.toThrow();
    await expect(c.ping()).rejects.toThrow(/closed/);
    await c.close();
    await expect(RpcClient.connect(join(dir, 'none.sock'))).rejects.toThrow();
  });
});
