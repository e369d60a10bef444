/**
 * RangeSource against a real HTTP server on loopback (tests/range-server.ts, in a child
 * process so that a blocked reader cannot starve it), with faults injected at the server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErofsError } from '@erofs-js/erofs';
import { openRangeSource } from '@erofs-js/erofs/node';
import { ServerProcess } from './range-server.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await ServerProcess.start();
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.reset();
  await server.set({ latencyMs: 0, rangeSupport: true, honourConditions: true, sendEtag: true, sendLastModified: true, faultsFrom: 0 });
});

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Options that fail fast: faults should not make the suite slow. */
const FAST = { attemptTimeoutMs: 1000, retries: 3, backoffMs: 10 };

function readAll(src: { readInto(d: Uint8Array, a: number, o: number, n: number): void; size: number }, step = 4096): Uint8Array {
  const out = new Uint8Array(src.size);
  for (let o = 0; o < src.size; o += step) src.readInto(out, o, o, Math.min(step, src.size - o));
  return out;
}

function eio(fn: () => unknown, pattern: RegExp): ErofsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErofsError);
    expect((e as ErofsError).code).toBe('EIO');
    expect((e as Error).message).toMatch(pattern);
    return e as ErofsError;
  }
  throw new Error('expected EIO');
}

describe('RangeSource over HTTP', () => {
  it('reads every byte, pins the ETag, and sends If-Match and the caller\'s headers on every range request', async () => {
    const bytes = pattern(1 << 20);
    await server.put('/obj', bytes);
    const src = await openRangeSource(server.url('/obj?X-Signature=secret'), { ...FAST, headers: { authorization: 'Bearer t0ken' } });
    expect(src.size).toBe(bytes.length);
    expect(src.identity.etag).toMatch(/^".+"$/);
    expect(src.name).not.toContain('secret');
    expect(Buffer.compare(readAll(src), bytes)).toBe(0);
    const st = await server.stats();
    expect(st.headers.every((h) => h.authorization === 'Bearer t0ken')).toBe(true);
    expect(st.headers.slice(1).every((h) => h['if-match'] === src.identity.etag)).toBe(true);
    src.close();
  });

  it('sequential readahead doubles its window up to the maximum, never asks twice for a byte, and keeps requests in flight', async () => {
    const bytes = pattern(6 << 20, 2);
    await server.put('/seq', bytes);
    await server.set({ latencyMs: 20 });
    const src = await openRangeSource(server.url('/seq'), { ...FAST, readaheadMax: 1 << 20 });
    expect(Buffer.compare(readAll(src), bytes)).toBe(0);
    const st = await server.stats();
    const ranges = st.ranges.map((r) => r.slice(6).split('-').map(Number));
    const lengths = ranges.map(([a, b]) => b - a + 1);
    expect(lengths.slice(0, 7)).toEqual([32768, 32768, 65536, 131072, 262144, 524288, 1048576]);
    expect(Math.max(...lengths)).toBe(1 << 20);
    // Every byte fetched exactly once.
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(bytes.length);
    expect(src.stats.bytesFetched).toBe(bytes.length);
    expect(src.stats.readaheads).toBeGreaterThan(3);
    expect(st.maxActive).toBeGreaterThanOrEqual(2);
    src.close();
  });

  it('random reads fetch one block each and are served from the cache the second time', async () => {
    const bytes = pattern(4 << 20, 3);
    await server.put('/rand', bytes);
    const src = await openRangeSource(server.url('/rand'), FAST);
    const offsets = [3_000_000, 100_000, 2_000_000, 700_000, 3_900_000];
    const out = new Uint8Array(100);
    for (const o of offsets) {
      src.readInto(out, 0, o, 100);
      expect(Buffer.compare(out, bytes.subarray(o, o + 100))).toBe(0);
    }
    const before = src.stats.requests;
    for (const o of offsets) expect(Buffer.compare(src.view(o, 100), bytes.subarray(o, o + 100))).toBe(0);
    expect(src.stats.requests).toBe(before);
    expect((await server.stats()).ranges.length).toBe(1 + offsets.length);
    src.close();
  });

  it('a read waiting on a block already being fetched joins that request (coalesced miss)', async () => {
    const bytes = pattern(2 << 20, 4);
    await server.put('/co', bytes);
    await server.set({ latencyMs: 30 });
    const src = await openRangeSource(server.url('/co'), FAST);
    const out = new Uint8Array(4096);
    // Sequential start: the readahead for the next window is in flight when the reader reaches it.
    for (let o = 0; o < 1 << 20; o += 4096) src.readInto(out, 0, o, 4096);
    const ranges = (await server.stats()).ranges;
    expect(new Set(ranges).size).toBe(ranges.length);
    expect(src.stats.waits).toBeLessThan(ranges.length);
    src.close();
  });

  it('retries 500s, 503s, resets mid-body and short bodies, then returns the right bytes', async () => {
    const bytes = pattern(512 << 10, 5);
    await server.put('/flaky', bytes);
    const src = await openRangeSource(server.url('/flaky'), { ...FAST, retries: 4 });
    await server.set({ faults: ['500', 'reset', '503', 'short'] });
    const out = new Uint8Array(64 << 10);
    src.readInto(out, 0, 100_000, out.length);
    expect(Buffer.compare(out, bytes.subarray(100_000, 100_000 + out.length))).toBe(0);
    expect(src.stats.requests).toBe(1 + 5);
    src.close();
  });

  it('gives up with EIO naming the cause after its retries (persistent 500; server gone)', async () => {
    const bytes = pattern(256 << 10, 6);
    await server.put('/down', bytes);
    const src = await openRangeSource(server.url('/down'), FAST);
    await server.set({ faults: ['500', '500', '500', '500'] });
    const e = eio(() => src.view(200_000, 10), /bytes 196608-\d+: HTTP 500 \(gave up after 4 attempts\)/);
    expect(e.offset).toBe(196608);
    // The next read asks again (a failure is not cached) and succeeds.
    expect(Buffer.compare(src.view(200_000, 10), bytes.subarray(200_000, 200_010))).toBe(0);
    src.close();

    const gone = await ServerProcess.start();
    await gone.put('/x', bytes);
    const src2 = await openRangeSource(gone.url('/x'), { ...FAST, retries: 1 });
    await gone.close();
    eio(() => src2.view(100_000, 10), /ECONNREFUSED|fetch failed|other side closed|socket/i);
    src2.close();
  });

  it('an answer that never comes: retried after each attempt timeout, and the reader\'s deadline ends in EIO, not a hang', async () => {
    const bytes = pattern(256 << 10, 7);
    await server.put('/hang', bytes);
    const src = await openRangeSource(server.url('/hang'), { attemptTimeoutMs: 300, retries: 1, backoffMs: 10 });
    await server.set({ faults: ['hang'] });
    // One hang, then a good answer: slow but right.
    expect(Buffer.compare(src.view(100_000, 10), bytes.subarray(100_000, 100_010))).toBe(0);
    expect(src.stats.requests).toBe(3);
    src.close();

    const tight = await openRangeSource(server.url('/hang'), { attemptTimeoutMs: 5000, retries: 0, timeoutMs: 400 });
    await server.set({ faults: ['hang'] });
    const t0 = Date.now();
    eio(() => tight.view(200_000, 10), /no answer within 400 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(tight.stats.timeouts).toBe(1);
    tight.close();
  });

  it('latency alone only slows it down', async () => {
    const bytes = pattern(300 << 10, 8);
    await server.put('/slow', bytes);
    await server.set({ latencyMs: 50 });
    const src = await openRangeSource(server.url('/slow'), FAST);
    expect(Buffer.compare(readAll(src), bytes)).toBe(0);
    src.close();
  });

  it('a server without Range support: a small object is read whole at open; a large one is refused with EIO', async () => {
    const small = pattern(100 << 10, 9);
    await server.put('/small', small);
    await server.set({ rangeSupport: false });
    const src = await openRangeSource(server.url('/small'), FAST);
    expect(src.isWhole).toBe(true);
    expect(Buffer.compare(readAll(src), small)).toBe(0);
    expect((await server.stats()).requests).toBe(1);
    src.close();
    await expect(openRangeSource(server.url('/small'), { ...FAST, wholeBodyCap: 50 << 10 })).rejects.toThrow(/does not support Range requests .*exceed the whole-body cap of 51200/);
  });

  it('a server that stops honouring Range mid-session: EIO', async () => {
    await server.put('/stop', pattern(200 << 10, 10));
    const src = await openRangeSource(server.url('/stop'), FAST);
    await server.set({ rangeSupport: false });
    eio(() => src.view(150_000, 4), /stopped honouring Range/);
    src.close();
  });

  it('the object replaced mid-session is refused (If-Match -> 412), and every later uncached read fails too', async () => {
    const v1 = pattern(512 << 10, 11);
    await server.put('/img', v1);
    const src = await openRangeSource(server.url('/img'), FAST);
    expect(Buffer.compare(src.view(40_000, 100), v1.subarray(40_000, 40_100))).toBe(0);
    await server.put('/img', pattern(512 << 10, 12));
    eio(() => src.view(300_000, 100), /object changed: the server refused the pinned identity \(HTTP 412, ETag ".+", 524288 bytes\)/);
    eio(() => src.view(450_000, 100), /object changed/);
    src.close();
  });

  it('a server that ignores If-Match: the changed ETag in the answer is caught', async () => {
    await server.put('/img2', pattern(300 << 10, 13));
    const src = await openRangeSource(server.url('/img2'), FAST);
    await server.set({ honourConditions: false });
    await server.put('/img2', pattern(300 << 10, 14));
    eio(() => src.view(200_000, 1), /object changed: ETag ".+", pinned ".+"/);
    src.close();
  });

  it('without an ETag the object is pinned by Last-Modified (If-Unmodified-Since); with neither, open refuses unless allowUnpinned', async () => {
    await server.put('/lm', pattern(300 << 10, 15));
    await server.set({ sendEtag: false });
    const src = await openRangeSource(server.url('/lm'), FAST);
    expect(src.identity.etag).toBeUndefined();
    expect(src.identity.lastModified).toMatch(/GMT$/);
    src.view(100_000, 1);
    expect((await server.stats()).headers.at(-1)!['if-unmodified-since']).toBe(src.identity.lastModified);
    await server.put('/lm', pattern(300 << 10, 16));
    eio(() => src.view(200_000, 1), /object changed: .*HTTP 412, Last-Modified/);
    src.close();

    await server.set({ sendLastModified: false });
    await expect(openRangeSource(server.url('/lm'), FAST)).rejects.toThrow(/neither ETag nor Last-Modified/);
    const loose = await openRangeSource(server.url('/lm'), { ...FAST, allowUnpinned: true });
    expect(loose.size).toBe(300 << 10);
    loose.close();
  });

  it('open fails with EIO for a missing object, and with EINVAL for a URL that is not http(s)', async () => {
    await expect(openRangeSource(server.url('/nothing'), FAST)).rejects.toThrow(/remote image: http:\/\/127\.0\.0\.1:\d+\/nothing: HTTP 404/);
    await expect(openRangeSource('file:///etc/passwd')).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('a closed source refuses reads with EIO', async () => {
    await server.put('/c', pattern(100 << 10, 17));
    const src = await openRangeSource(server.url('/c'), FAST);
    src.close();
    eio(() => src.view(50_000, 1), /source closed/);
  });
});
