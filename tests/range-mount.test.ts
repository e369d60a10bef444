/**
 * Remote images through the host controller: `{ image: { url, headers } }`, the RPC
 * `mount` with `url` (erofsctl mount --url), checkpoints that name the URL without its
 * query or headers, and s3://bucket/key through presigned URLs against s3rver.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostController } from '../packages/mount/src/node/controller.js';
import { RpcServer } from '../packages/mount/src/node/rpc/server.js';
import { ctlMain } from '../packages/mount/src/node/bin/ctl.js';
import { presignS3 } from '../packages/mount/src/node/s3.js';
import { readAll } from '../packages/mount/test/helpers.js';
import { FIXTURES, fixtureBytes, readJsonl } from './fixtures.js';
import { ServerProcess } from './range-server.js';
import { S3Process } from './s3-server.js';

const FIXTURE = 'basic-18-lz4.erofs';
const truth = readJsonl<{ path?: string; type: string; sha256?: string }>(FIXTURES + FIXTURE.replace(/\.erofs$/, '.manifest.jsonl'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Reads every regular file of the manifest under `mnt` and compares its sha256. */
function checkFiles(c: HostController, mnt: string): number {
  const t = c.task();
  let n = 0;
  for (const r of truth) {
    if (r.type !== 'file' || r.path === undefined || !r.sha256) continue;
    expect(sha256(readAll(t, mnt + r.path)), r.path).toBe(r.sha256);
    n++;
  }
  return n;
}

let server: ServerProcess;
const dir = mkdtempSync(join(tmpdir(), 'range-mount-'));
beforeAll(async () => {
  server = await ServerProcess.start();
  await server.put('/img/' + FIXTURE, fixtureBytes(FIXTURE));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('host controller: images behind a URL', () => {
  it('mounts { url, headers }, reads every file right, and records neither query nor header values', async () => {
    const c = await HostController.create({ mkdirs: ['/mnt'] });
    try {
      const url = server.url('/img/' + FIXTURE) + '?token=sekrit';
      const rec = await c.mount({ image: { url, headers: { authorization: 'Bearer hunter2' } }, target: '/mnt' });
      expect(rec.source).toBe(server.url('/img/' + FIXTURE));
      expect(checkFiles(c, '/mnt')).toBeGreaterThan(5);
      const st = await server.stats();
      expect(st.headers.every((h) => h.authorization === 'Bearer hunter2')).toBe(true);
      const cp = JSON.stringify(c.save());
      expect(cp).toContain(server.url('/img/' + FIXTURE));
      expect(cp).not.toMatch(/sekrit|hunter2/);
    } finally {
      c.close();
    }
  });

  it('a URL that fails at open is EIO with the cause; a bad scheme is EINVAL; nothing is mounted', async () => {
    const c = await HostController.create({ mkdirs: ['/mnt'] });
    try {
      await expect(c.mount({ image: { url: server.url('/img/missing.erofs') }, target: '/mnt' })).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/HTTP 404/) });
      await expect(c.mount({ image: { url: 'ftp://x/y' }, target: '/mnt' })).rejects.toMatchObject({ code: 'EINVAL' });
      expect(c.list().length).toBe(1);
    } finally {
      c.close();
    }
  });

  it('erofsctl mount --url --header over the RPC socket', async () => {
    const c = await HostController.create({ mkdirs: ['/r'] });
    const srv = await RpcServer.listen(c, { socketPath: join(dir, 'sock', 'ctl.sock') });
    try {
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      const code = await ctlMain(['--socket', srv.socketPath, 'mount', '--url', server.url('/img/' + FIXTURE), '--header', 'X-Trace: 42', '/r'], io);
      expect(out.join('\n')).toMatch(/^mounted http:\/\/127\.0\.0\.1:\d+\/img\/basic-18-lz4\.erofs at \/r/);
      expect(code).toBe(0);
      expect((await server.stats()).headers.at(-1)!['x-trace']).toBe('42');
      expect(checkFiles(c, '/r')).toBeGreaterThan(5);
      // image and url together, or neither: refused.
      const bad = await ctlMain(['--socket', srv.socketPath, 'mount', '--url', 'http://x/y', '/a', '/b'], io);
      expect(bad).toBe(2);
    } finally {
      await srv.close();
      c.close();
    }
  });
});

describe('s3://bucket/key through presigned URLs (s3rver on loopback)', () => {
  let s3: S3Process;
  let endpoint = '';
  const saved = { ...process.env };
  beforeAll(async () => {
    s3 = await S3Process.start(join(dir, 's3'), ['images']);
    endpoint = s3.endpoint;
    const cfg = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', endpoint };
    const put = await fetch(presignS3(cfg, 'images', 'os/' + FIXTURE, new Date(), 'PUT'), { method: 'PUT', body: fixtureBytes(FIXTURE) });
    expect(put.status).toBe(200);
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL_S3: endpoint });
  });
  afterAll(async () => {
    process.env = saved;
    await s3?.close();
  });

  it('mounts s3://images/os/... with the host\'s credentials, reads every file, and records only the s3:// name', async () => {
    const c = await HostController.create({ mkdirs: ['/s3'] });
    try {
      const rec = await c.mount({ image: { url: 's3://images/os/' + FIXTURE }, target: '/s3' });
      expect(rec.source).toBe('s3://images/os/' + FIXTURE);
      expect(checkFiles(c, '/s3')).toBeGreaterThan(5);
      const cp = JSON.stringify(c.save());
      expect(cp).toContain('s3://images/os/' + FIXTURE);
      expect(cp).not.toMatch(/S3RVER|X-Amz-Signature/);
    } finally {
      c.close();
    }
  });

  it('credentials the store refuses: EIO naming the HTTP status', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'NOSUCHKEY';
    const c = await HostController.create({ mkdirs: ['/s3'] });
    try {
      await expect(c.mount({ image: { url: 's3://images/os/' + FIXTURE }, target: '/s3' })).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/HTTP 403/) });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
      c.close();
    }
  });
});
