/**
 * The portable packages in a real browser: headless Chromium (tests/browser.ts) runs a
 * bundle of tests/browser/harness.ts built here with esbuild for the browser, loading
 * every image over HTTP as bytes.
 *
 *  - every fixture (all layouts, all codecs: LZ4 and Zstandard as WebAssembly from the
 *    bundle, LZMA, DEFLATE by pako) decoded whole and compared with the kernel's manifest
 *    and getdents order, as tests/golden.test.ts does under Node;
 *  - every fixture as the root of the portable HostController's namespace, walked by a
 *    Task (getdents64, newfstatat, readlinkat, read, llistxattr/lgetxattr) and compared
 *    with the same manifest;
 *  - toybox (fixtures/guests) under @bjorn3/browser_wasi_shim with ErofsPreopenDirectory:
 *    output byte-equal to the same run under Node, and equal to the manifest.
 *
 * Skipped, with the reason printed, only when there is no Chromium to run.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { HostController } from '@erofs-js/mount/node';
import { ErofsPreopenDirectory } from '@erofs-js/browser-wasi-shim';
import { browserBuild, type NodeImport } from './bundle.js';
import { findChromium, launchChromium, serveStatic, type Browser, type StaticServer } from './browser.js';
import { FIXTURES, fixtureIndex, readJsonl } from './fixtures.js';
import { runShim } from './adapter-c-guests.runtimes.js';

const chromium = findChromium();
if ('reason' in chromium) console.warn(`browser tests skipped: ${chromium.reason}`);

const HARNESS = fileURLToPath(new URL('./browser/harness.ts', import.meta.url));
const PAGE = '<!doctype html><meta charset="utf-8"><title>erofs-js browser tests</title><script type="module" src="/harness.js"></script>';

interface Harness {
  manifest(image: string, devices: string[]): Promise<{ recs: Record<string, unknown>[]; dirs: Record<string, unknown>[]; compressed: number }>;
  mountWalk(image: string, devices: string[]): Promise<{ recs: Record<string, unknown>[]; dirs: Record<string, unknown>[]; controller: string }>;
  guest(image: string, tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}
declare const harness: Harness;

const index = fixtureIndex();
const truthOf = (image: string) => {
  const base = FIXTURES + image.replace(/\.erofs$/, '');
  return { recs: readJsonl(base + '.manifest.jsonl'), dirs: readJsonl(base + '.readdir.jsonl') };
};

describe.skipIf('reason' in chromium)('in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: StaticServer | undefined;
  let page: Page;
  const errors: string[] = [];
  let bundleBytes = 0;

  beforeAll(async () => {
    const found: NodeImport[] = [];
    const out = await build({ ...browserBuild(found, 'bundle'), entryPoints: [HARNESS], minify: true });
    expect(found, 'the harness bundle reaches Node built-ins').toEqual([]);
    const js = out.outputFiles![0].contents;
    bundleBytes = js.length;
    server = await serveStatic({ '/': PAGE, '/harness.js': js, '/favicon.ico': new Uint8Array(0) }, { '/fixtures/': FIXTURES });
    browser = await launchChromium((chromium as { path: string }).path);
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.url + '/');
    await page.waitForFunction(() => (globalThis as { harness?: { ready?: boolean } }).harness?.ready === true, undefined, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs in a cross-origin isolated page, without errors', async () => {
    const env = await page.evaluate(() => ({ ua: navigator.userAgent, isolated: globalThis.crossOriginIsolated, sab: typeof SharedArrayBuffer, process: typeof (globalThis as { process?: unknown }).process }));
    console.log(`${env.ua}; harness bundle ${(bundleBytes / 1024).toFixed(0)} KiB`);
    expect(env).toMatchObject({ ua: expect.stringContaining('HeadlessChrome'), isolated: true, sab: 'function', process: 'undefined' });
    expect(errors).toEqual([]);
  });

  describe('every fixture decoded in the browser equals the kernel manifest', () => {
    for (const fx of index) {
      it(fx.image, async () => {
        const got = await page.evaluate(([i, d]) => harness.manifest(i, d), [fx.image, fx.devices] as const);
        const truth = truthOf(fx.image);
        // As in golden.test.ts: a manifest made from the source tree has no inode numbers.
        if (fx.truth === 'source') for (const r of got.recs) delete r.ino;
        expect(got.recs).toEqual(truth.recs);
        expect(got.dirs).toEqual(truth.dirs);
        if (fx.options.some((o) => o.startsWith('-z'))) expect(got.compressed).toBeGreaterThan(0);
        else expect(got.compressed).toBe(0);
      });
    }
  });

  describe('every fixture mounted by the portable HostController and walked by a Task equals the manifest', () => {
    for (const fx of index) {
      it(fx.image, async () => {
        const got = await page.evaluate(([i, d]) => harness.mountWalk(i, d), [fx.image, fx.devices] as const);
        expect(got.controller).toBe('portable');
        const truth = truthOf(fx.image);
        if (fx.truth === 'source') for (const r of got.recs) delete r.ino;
        expect(got.recs).toEqual(truth.recs);
        expect(got.dirs).toEqual(truth.dirs);
      });
    }
  });

  describe('toybox under @bjorn3/browser_wasi_shim with our preopen', () => {
    const runs: [string, string, string[]][] = [
      ['rootfs-18.erofs', 'ls', ['-lRn', '--full-time', '/t']],
      ['basic-18.erofs', 'ls', ['-lRn', '--full-time', '/t/files', '/t/links', '/t/xattrs']],
      ['rootfs-18.erofs', 'cat', ['/t/etc/hostname', '/t/etc/os-release']],
      ['z-zstd-19-48bit-unaligned.erofs', 'md5sum', ['/t/big/counter-1m', '/t/align/x0']],
      ['basic-18.erofs', 'ls', ['/t/nope']],
    ];
    for (const [image, tool, args] of runs) {
      it(`${image}: ${tool} ${args.join(' ')} prints what it prints under Node`, async () => {
        const got = await page.evaluate(([i, t, a]) => harness.guest(i, t, a), [image, tool, args] as const);
        const host = await HostController.create({ rootfs: FIXTURES + image });
        const preopen = ErofsPreopenDirectory.open(host.ns, '/t', { path: '/' });
        const ref = runShim(tool, args, preopen);
        preopen.dispose();
        host.close();
        const stdout = Buffer.from(got.stdout, 'base64');
        const stderr = Buffer.from(got.stderr, 'base64');
        expect({ code: got.code, stdout: stdout.toString('latin1'), stderr: stderr.toString('latin1') }).toEqual({ code: ref.code, stdout: ref.stdout.toString('latin1'), stderr: ref.stderr.toString('latin1') });
        if (args.includes('/t/nope')) expect(got.code).not.toBe(0);
        else expect([got.code, stdout.length > 0]).toEqual([0, true]);
      });
    }

    it('ls -1a of the root lists the manifest\'s names in byte order', async () => {
      const got = await page.evaluate(() => harness.guest('basic-18.erofs', 'ls', ['-1a', '/t']));
      const names = (truthOf('basic-18.erofs').dirs[0].entries as string[]).slice();
      const sorted = ['.', '..', ...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(Buffer.from(got.stdout, 'base64').toString()).toBe(sorted.join('\n') + '\n');
    });
  });
});
