/**
 * Prefetch hints against a real HTTP server on loopback (tests/range-server.ts, in a child
 * process): RangeSource.prefetch queues without waiting and fills the cache in the
 * background; HostController.prefetch (and the RPC method, erofsctl prefetch) warms a
 * list of paths so that reading them afterwards makes no request at all, for plain,
 * chunked, compressed, tail-packed, fragment and metabox images.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openRangeSource } from '@erofs-js/erofs/node';
import { HostController } from '../packages/mount/src/node/controller.js';
import { RpcServer } from '../packages/mount/src/node/rpc/server.js';
import { RpcClient } from '../packages/mount/src/node/rpc/client.js';
import { ctlMain } from '../packages/mount/src/node/bin/ctl.js';
import { readAll } from '../packages/mount/test/helpers.js';
import { FIXTURES, fixtureBytes, readJsonl } from './fixtures.js';
import { ServerProcess } from './range-server.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const filesOf = (image: string) =>
  readJsonl<{ path?: string; type: string; sha256?: string }>(FIXTURES + image.replace(/\.erofs$/, '.manifest.jsonl')).filter(
    (r): r is { path: string; type: string; sha256: string } => r.type === 'file' && typeof r.path === 'string' && !!r.sha256,
  );

let server: ServerProcess;
const dir = mkdtempSync(join(tmpdir(), 'range-prefetch-'));
beforeAll(async () => {
  server = await ServerProcess.start();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await server.reset();
  await server.set({ latencyMs: 0 });
});

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('RangeSource.prefetch', () => {
  it('returns before the bytes arrive, fetches them in the background, and a read after idle() makes no request', async () => {
    const bytes = pattern(4 << 20);
    await server.put('/pf', bytes);
    const src = await openRangeSource(server.url('/pf'));
    await server.set({ latencyMs: 100 });
    const t0 = performance.now();
    expect(src.prefetch(1 << 20, 2 << 20)).toBe(2 << 20);
    expect(performance.now() - t0).toBeLessThan(50);
    await src.idle();
    const requests = src.stats.requests;
    const st = await server.stats();
    // 2 MiB in windows of readaheadMax (1 MiB), several in flight, one slot left to reads.
    expect(st.ranges.slice(1).sort()).toEqual(['bytes=1048576-2097151', 'bytes=2097152-3145727']);
    expect(st.maxActive).toBe(2);
    expect(src.stats).toMatchObject({ prefetches: 2, prefetchedBytes: 2 << 20 });
    const out = new Uint8Array(2 << 20);
    src.readInto(out, 0, 1 << 20, out.length);
    expect(Buffer.compare(out, bytes.subarray(1 << 20, 3 << 20))).toBe(0);
    expect(src.stats.requests).toBe(requests);
    expect((await server.stats()).requests).toBe(st.requests);
    src.close();
  });

  it('a reader that needs a block being prefetched joins its request instead of asking again', async () => {
    const bytes = pattern(2 << 20);
    await server.put('/join', bytes);
    const src = await openRangeSource(server.url('/join'));
    await server.set({ latencyMs: 100 });
    src.prefetch(1 << 20, 1 << 20);
    expect(Buffer.compare(src.view(1_500_000, 100), bytes.subarray(1_500_000, 1_500_100))).toBe(0);
    await src.idle();
    expect((await server.stats()).ranges).toEqual(['bytes=0-32767', 'bytes=1048576-2097151']);
    src.close();
  });
});

describe('HostController.prefetch warms whole files: reading them afterwards makes no request', () => {
  const images = ['basic-18.erofs', 'basic-18-chunk.erofs', 'z-lz4hc-18-C1m.erofs', 'z-lz4hc-18-ztail.erofs', 'z-lz4hc-18-allfrag.erofs', 'z-lzma-18.erofs', 'z-lz4hc-19-metabox.erofs'];
  for (const image of images) {
    it(image, async () => {
      await server.put('/img/' + image, fixtureBytes(image));
      const files = filesOf(image);
      // Without prefetch, the same reads do ask (the image is not all in the opening block).
      const cold = await HostController.create({ mkdirs: ['/mnt'] });
      try {
        await cold.mount({ image: { url: server.url('/img/' + image) }, target: '/mnt' });
        await server.reset();
        const t = cold.task();
        for (const f of files) readAll(t, '/mnt' + f.path);
        expect((await server.stats()).requests).toBeGreaterThan(0);
      } finally {
        cold.close();
      }
      const c = await HostController.create({ mkdirs: ['/mnt'] });
      try {
        await c.mount({ image: { url: server.url('/img/' + image) }, target: '/mnt' });
        const r = await c.prefetch('/mnt', files.map((f) => f.path));
        expect(r.skipped).toEqual([]);
        expect(r.files).toBe(files.length);
        expect(r.bytes).toBeGreaterThan(0);
        await server.reset();
        const t = c.task();
        for (const f of files) expect(sha256(readAll(t, '/mnt' + f.path)), f.path).toBe(f.sha256);
        expect((await server.stats()).requests).toBe(0);
      } finally {
        c.close();
      }
    });
  }
});

describe('HostController.prefetch: what it skips, and its RPC', () => {
  const IMAGE = 'z-lz4hc-18-C1m.erofs';
  beforeAll(() => server.put('/img/' + IMAGE, fixtureBytes(IMAGE)));

  it('lists missing paths and filesystems without readahead as skipped; a missing target throws', async () => {
    const c = await HostController.create({ mkdirs: ['/mnt'], tmpfs: [{ target: '/tmp' }] });
    try {
      await c.mount({ image: { url: server.url('/img/' + IMAGE) }, target: '/mnt' });
      const file = filesOf(IMAGE)[0].path;
      const r = await c.prefetch('/mnt', [file, '/no/such/file']);
      expect(r.files).toBe(1);
      expect(r.skipped).toEqual([{ path: '/no/such/file', errno: 'ENOENT', message: expect.any(String) }]);
      const t = await c.prefetch('/tmp', ['/']);
      expect(t.skipped).toEqual([{ path: '/', errno: 'EOPNOTSUPP', message: 'a tmpfs filesystem cannot prefetch' }]);
      await expect(c.prefetch('/nowhere', [file])).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      c.close();
    }
  });

  it('wait: false answers once queued, before the bytes arrive', async () => {
    const c = await HostController.create({ mkdirs: ['/mnt'] });
    try {
      await c.mount({ image: { url: server.url('/img/' + IMAGE) }, target: '/mnt' });
      const files = filesOf(IMAGE).map((f) => f.path);
      // Metadata first (the lookups read it), so that only the data is left to fetch.
      const t = c.task();
      for (const f of files) t.stat('/mnt' + f);
      await server.set({ latencyMs: 300 });
      const t0 = performance.now();
      const r = await c.prefetch('/mnt', files, { wait: false });
      expect(performance.now() - t0).toBeLessThan(250);
      expect(r.bytes).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  });

  it('the prefetch RPC method and erofsctl prefetch', async () => {
    const c = await HostController.create({ mkdirs: ['/r'] });
    const srv = await RpcServer.listen(c, { socketPath: join(dir, 'sock', 'ctl.sock') });
    const client = await RpcClient.connect(srv.socketPath);
    try {
      await client.mount({ url: server.url('/img/' + IMAGE) }, '/r');
      const files = filesOf(IMAGE);
      const half = files.slice(0, files.length >> 1).map((f) => f.path);
      const r = await client.prefetch('/r', half);
      expect(r).toMatchObject({ files: half.length, skipped: [] });
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      const rest = files.slice(files.length >> 1).map((f) => f.path);
      expect(await ctlMain(['--socket', srv.socketPath, 'prefetch', '/r', ...rest, '/missing'], io)).toBe(1);
      expect(out[0]).toMatch(new RegExp(`^prefetched \\d+ bytes of ${rest.length} files under /r$`));
      expect(out[1]).toMatch(/^skipped \/missing: ENOENT: /);
      await server.reset();
      const t = c.task();
      for (const f of files) expect(sha256(readAll(t, '/r' + f.path)), f.path).toBe(f.sha256);
      expect((await server.stats()).requests).toBe(0);
      // Validated as every request is: paths must be absolute.
      await expect(client.prefetch('/r', ['relative'])).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
      await srv.close();
      c.close();
    }
  });
});
