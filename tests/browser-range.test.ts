/**
 * Images behind a URL in a real browser: headless Chromium (tests/browser.ts) runs a
 * bundle of tests/browser/range-harness.ts that mounts each fixture by URL in the
 * portable HostController and walks it, every byte read lazily through RangeSource
 * (openRangeSourceWeb) from this test's own HTTP server, which answers Range requests
 * with ETag and Last-Modified. Two origins, two ways of reading synchronously:
 *
 *  - a cross-origin isolated page (COOP same-origin, COEP require-corp): the walk runs in
 *    a Web Worker, the source's fetch worker beside it, the reader blocking in
 *    Atomics.wait over SharedArrayBuffer;
 *  - a page without those headers (no SharedArrayBuffer): the fallback, synchronous
 *    XMLHttpRequest, on the page's own thread and in a worker.
 *
 * Every walk must equal the fixture's kernel manifest and getdents order, having read
 * the image with range requests only (never a whole body).
 *
 * Skipped, with the reason printed, only when there is no Chromium to run.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserBuild, type NodeImport } from './bundle.js';
import { findChromium, launchChromium, type Browser } from './browser.js';
import { FIXTURES, fixtureIndex, readJsonl } from './fixtures.js';
import type { WalkResult } from './browser/range-harness.js';

const chromium = findChromium();
if ('reason' in chromium) console.warn(`browser range tests skipped: ${chromium.reason}`);

const HARNESS = fileURLToPath(new URL('./browser/range-harness.ts', import.meta.url));
const PAGE = '<!doctype html><meta charset="utf-8"><title>erofs-js range tests</title><script type="module" src="/range-harness.js"></script>';

interface RangeHarness {
  walk(url: string, devices: string[]): Promise<WalkResult>;
  inWorker(url: string, devices: string[]): Promise<WalkResult>;
}
declare const rangeHarness: RangeHarness;

interface Served {
  url: string;
  /** Every request for an image: its path and Range header ('' when none). */
  log: { path: string; range: string }[];
  close(): Promise<void>;
}

/**
 * The page, the bundle, and fixtures under /img/ with Range support (206 with
 * Content-Range, 416 past the end, ETag and Last-Modified on every answer), optionally
 * cross-origin isolated.
 */
async function serve(bundle: Uint8Array, isolated: boolean): Promise<Served> {
  const log: Served['log'] = [];
  const images = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    if (req.method !== 'GET') return void res.writeHead(405, headers).end();
    if (path === '/') return void res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    if (path === '/favicon.ico') return void res.writeHead(204, headers).end();
    if (path === '/range-harness.js') return void res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' }).end(bundle);
    const name = /^\/img\/([\w.-]+)$/.exec(path)?.[1];
    if (!name || name.startsWith('.')) return void res.writeHead(404, headers).end();
    let body = images.get(name);
    if (!body) {
      try {
        images.set(name, (body = readFileSync(FIXTURES + name)));
      } catch {
        return void res.writeHead(404, headers).end();
      }
    }
    const range = req.headers.range ?? '';
    log.push({ path, range });
    Object.assign(headers, { 'Accept-Ranges': 'bytes', ETag: `"${name}-${body.length}"`, 'Last-Modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'Content-Type': 'application/octet-stream' });
    const m = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!m) return void res.writeHead(200, { ...headers, 'Content-Length': String(body.length) }).end(body);
    const start = Number(m[1]);
    const end = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1);
    if (start >= body.length || end < start) return void res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.length}` }).end();
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': String(end - start + 1) }).end(body.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const index = fixtureIndex();
const truthOf = (image: string) => {
  const base = FIXTURES + image.replace(/\.erofs$/, '');
  return { recs: readJsonl(base + '.manifest.jsonl'), dirs: readJsonl(base + '.readdir.jsonl') };
};

describe.skipIf('reason' in chromium)('images behind a URL in headless Chromium', () => {
  let browser: Browser | undefined;
  const servers: Served[] = [];
  let isolated: Served;
  let plain: Served;
  let isolatedPage: Page;
  let plainPage: Page;
  const errors: string[] = [];

  async function open(s: Served): Promise<Page> {
    const page = await browser!.context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(s.url + '/');
    await page.waitForFunction(() => (globalThis as { rangeHarness?: { ready?: boolean } }).rangeHarness?.ready === true, undefined, { timeout: 30_000 });
    return page;
  }

  beforeAll(async () => {
    const found: NodeImport[] = [];
    const out = await build({ ...browserBuild(found, 'bundle'), entryPoints: [HARNESS], minify: true });
    expect(found, 'the range harness bundle reaches Node built-ins').toEqual([]);
    const js = out.outputFiles![0].contents;
    servers.push((isolated = await serve(js, true)), (plain = await serve(js, false)));
    browser = await launchChromium((chromium as { path: string }).path);
    isolatedPage = await open(isolated);
    plainPage = await open(plain);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
  });

  /** Walks `image` by URL where asked and checks it against the kernel's manifest; returns the result. */
  async function check(where: 'isolated worker' | 'plain page' | 'plain worker', image: string, devices: string[]): Promise<WalkResult> {
    const s = where === 'isolated worker' ? isolated : plain;
    const page = where === 'isolated worker' ? isolatedPage : plainPage;
    const from = s.log.length;
    const args = [s.url + '/img/' + image, devices.map((d) => s.url + '/img/' + d)] as const;
    const got = where === 'plain page' ? await page.evaluate(([u, d]) => rangeHarness.walk(u, d), args) : await page.evaluate(([u, d]) => rangeHarness.inWorker(u, d), args);
    const truth = truthOf(image);
    const fx = index.find((f) => f.image === image)!;
    if (fx.truth === 'source') for (const r of got.recs) delete r.ino;
    expect(got.recs).toEqual(truth.recs);
    expect(got.dirs).toEqual(truth.dirs);
    // Range requests only: the object is never sent whole.
    const requests = s.log.slice(from).filter((r) => r.path === '/img/' + image);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => /^bytes=\d+-\d+$/.test(r.range))).toBe(true);
    expect(got.stats.requests).toBe(requests.length);
    expect(got.stats.bytesFetched).toBeLessThanOrEqual(got.stats.size);
    return got;
  }

  it('the isolated page has SharedArrayBuffer, the other has not; neither logs an error', async () => {
    const env = (p: Page) => p.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, sab: typeof SharedArrayBuffer }));
    expect(await env(isolatedPage)).toEqual({ isolated: true, sab: 'function' });
    expect(await env(plainPage)).toEqual({ isolated: false, sab: 'undefined' });
    expect(errors).toEqual([]);
  });

  describe('cross-origin isolated: a Web Worker reads through the fetch worker with Atomics.wait', () => {
    for (const fx of index) {
      it(fx.image, async () => {
        const got = await check('isolated worker', fx.image, fx.devices);
        expect(got.channel).toBe('shared');
        expect(got.env).toEqual({ isolated: true, sab: true, worker: true });
      });
    }
  });

  describe('without isolation: synchronous XMLHttpRequest on the page\'s thread', () => {
    for (const fx of index) {
      it(fx.image, async () => {
        const got = await check('plain page', fx.image, fx.devices);
        expect(got.channel).toBe('xhr');
        expect(got.env).toEqual({ isolated: false, sab: false, worker: false });
      });
    }
  });

  describe('without isolation: synchronous XMLHttpRequest in a worker', () => {
    for (const image of ['basic-18.erofs', 'z-lz4hc-18-C1m.erofs', 'z-lzma-18.erofs']) {
      it(image, async () => {
        const got = await check('plain worker', image, []);
        expect(got.channel).toBe('xhr');
        expect(got.env).toEqual({ isolated: false, sab: false, worker: true });
      });
    }
  });

  it('no page logged an error', () => {
    expect(errors).toEqual([]);
  });
});
