/**
 * DiskCache (@erofs-js/erofs/node): fetched blocks kept in a directory across restarts,
 * bounded in bytes, keyed by URL and pinned identity, refusing entries of another
 * identity; against the loopback HTTP server of tests/range-server.ts (a child process).
 * A "restart" is a new DiskCache over the same directory, which rebuilds its index from
 * the files as a new process would.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DiskCache, openRangeSource } from '@erofs-js/erofs/node';
import { HostController, createNodeOpener } from '../packages/mount/src/node/controller.js';
import { readAll as readPath } from '../packages/mount/test/helpers.js';
import { FIXTURES, fixtureBytes, readJsonl } from './fixtures.js';
import { ServerProcess } from './range-server.js';

let server: ServerProcess;
const root = mkdtempSync(join(tmpdir(), 'range-disk-'));
let n = 0;
const freshDir = () => join(root, `cache-${++n}`);
beforeAll(async () => {
  server = await ServerProcess.start();
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => server.reset());

function pattern(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function readAll(src: { readInto(d: Uint8Array, a: number, o: number, n: number): void; size: number }): Uint8Array {
  const out = new Uint8Array(src.size);
  for (let o = 0; o < src.size; o += 65536) src.readInto(out, o, o, Math.min(65536, src.size - o));
  return out;
}

/** Waits until the cache's background writes reach `files` files (and stay there). */
async function settled(cache: DiskCache, files: number): Promise<void> {
  const t0 = Date.now();
  while (cache.stats.files < files && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  expect(cache.stats.files).toBe(files);
}

const BLOCK = 32 << 10;

describe('DiskCache', () => {
  it('keeps every block fetched; after a restart reads make no request beyond the opening one', async () => {
    const bytes = pattern(4 << 20, 1);
    await server.put('/d/a', bytes);
    const dir = freshDir();
    const cache = new DiskCache(dir, { maxBytes: 64 << 20 });
    const src = await openRangeSource(server.url('/d/a?X-Amz-Signature=one'), { diskCache: cache });
    expect(Buffer.compare(readAll(src), bytes)).toBe(0);
    src.close();
    await settled(cache, bytes.length / BLOCK);
    expect(cache.stats.bytes).toBe(bytes.length);

    await server.reset();
    const again = new DiskCache(dir, { maxBytes: 64 << 20 });
    expect(again.stats).toMatchObject({ files: bytes.length / BLOCK, bytes: bytes.length });
    // Another presigned URL of the same object: the same folder.
    const src2 = await openRangeSource(server.url('/d/a?X-Amz-Signature=two'), { diskCache: again });
    expect(Buffer.compare(readAll(src2), bytes)).toBe(0);
    expect((await server.stats()).ranges).toEqual(['bytes=0-32767']);
    expect(src2.stats.storeHits).toBe(bytes.length / BLOCK - 1);
    expect(again.stats.hits).toBe(bytes.length / BLOCK - 1);
    src2.close();
  });

  it('a changed object finds nothing of its old version; a folder whose meta.json names another identity is refused', async () => {
    const dir = freshDir();
    const cache = new DiskCache(dir);
    const v1 = pattern(1 << 20, 2);
    await server.put('/d/b', v1);
    const s1 = await openRangeSource(server.url('/d/b'), { diskCache: cache });
    readAll(s1);
    s1.close();
    await settled(cache, v1.length / BLOCK);

    const v2 = pattern(1 << 20, 3);
    await server.put('/d/b', v2);
    await server.reset();
    const s2 = await openRangeSource(server.url('/d/b'), { diskCache: cache });
    expect(Buffer.compare(readAll(s2), v2)).toBe(0);
    expect(s2.stats.storeHits).toBe(0);
    expect((await server.stats()).bytesSent).toBe(v2.length);
    s2.close();
    await settled(cache, (v1.length + v2.length) / BLOCK);

    // Tamper with v2's folder: its meta.json now claims v1's ETag. Opening v2 refuses the folder.
    const folders = readdirSync(dir);
    expect(folders.length).toBe(2);
    for (const f of folders) {
      const meta = join(dir, f, 'meta.json');
      const text = readFileSync(meta, 'utf8');
      // ETags are quoted: compare their insides (JSON escapes the quotes).
      const [e1, e2] = [s1.identity.etag!.slice(1, -1), s2.identity.etag!.slice(1, -1)];
      if (text.includes(e2)) writeFileSync(meta, text.replace(e2, e1));
    }
    await server.reset();
    const s3 = await openRangeSource(server.url('/d/b'), { diskCache: cache });
    expect(Buffer.compare(readAll(s3), v2)).toBe(0);
    expect(s3.stats.storeHits).toBe(0);
    expect(cache.stats.refused).toBe(1);
    s3.close();
  });

  it('stays within its byte budget, least recently used out first, also after a restart', async () => {
    const dir = freshDir();
    const bytes = pattern(4 << 20, 4);
    await server.put('/d/c', bytes);
    const cache = new DiskCache(dir, { maxBytes: 1 << 20 });
    const src = await openRangeSource(server.url('/d/c'), { diskCache: cache });
    expect(Buffer.compare(readAll(src), bytes)).toBe(0);
    src.close();
    await settled(cache, (1 << 20) / BLOCK);
    expect(cache.stats.evictions).toBe((3 << 20) / BLOCK);
    const again = new DiskCache(dir, { maxBytes: 512 << 10 });
    expect(again.stats.bytes).toBe(512 << 10);
    await server.reset();
    const src2 = await openRangeSource(server.url('/d/c'), { diskCache: again });
    // The last blocks read are the ones kept.
    expect(Buffer.compare(src2.view(bytes.length - 100, 100), bytes.subarray(bytes.length - 100))).toBe(0);
    expect((await server.stats()).requests).toBe(1);
    src2.close();
  });

  it('a block file of the wrong length is dropped and fetched again', async () => {
    const dir = freshDir();
    const bytes = pattern(256 << 10, 5);
    await server.put('/d/e', bytes);
    const cache = new DiskCache(dir);
    const s1 = await openRangeSource(server.url('/d/e'), { diskCache: cache });
    readAll(s1);
    s1.close();
    await settled(cache, bytes.length / BLOCK);
    const [folder] = readdirSync(dir);
    truncateSync(join(dir, folder, '3.blk'), 100);
    const again = new DiskCache(dir);
    const s2 = await openRangeSource(server.url('/d/e'), { diskCache: again });
    expect(Buffer.compare(readAll(s2), bytes)).toBe(0);
    expect(again.stats.refused).toBe(1);
    s2.close();
  });
});

describe('a Node host with a disk cache (createNodeOpener)', () => {
  it('a restarted host reads a remote image\'s files from the directory', async () => {
    const IMAGE = 'z-lz4hc-18-C1m.erofs';
    const files = readJsonl<{ path?: string; type: string; sha256?: string }>(FIXTURES + IMAGE.replace(/\.erofs$/, '.manifest.jsonl')).filter((r) => r.type === 'file' && typeof r.path === 'string' && r.sha256);
    await server.put('/img/' + IMAGE, fixtureBytes(IMAGE));
    const dir = freshDir();
    const run = async (cache: DiskCache) => {
      const c = await HostController.create({ mkdirs: ['/mnt'], opener: createNodeOpener({ diskCache: cache }) });
      try {
        await c.mount({ image: { url: server.url('/img/' + IMAGE) }, target: '/mnt' });
        const t = c.task();
        for (const f of files) expect(createHash('sha256').update(readPath(t, '/mnt' + f.path)).digest('hex'), f.path).toBe(f.sha256);
      } finally {
        c.close();
      }
    };
    const first = new DiskCache(dir);
    await run(first);
    const st = await server.stats();
    expect(st.requests).toBeGreaterThan(1);
    // Until the background writes are done: the file count stops changing.
    for (let last = -1; first.stats.files !== last; await new Promise((r) => setTimeout(r, 100))) last = first.stats.files;
    await server.reset();
    await run(new DiskCache(dir));
    expect((await server.stats()).requests).toBe(1);
  });
});
