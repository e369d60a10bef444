/**
 * Images from tar layers built in a real browser (headless Chromium, as tests/browser.test.ts):
 * the page fetches fixtures/tar/app.tar, plain and gzip-compressed (DecompressionStream), and
 * builds the image with the portable @erofs-js/mkfs; the bytes must equal the image Node
 * builds of the same tar, which tests/mkfs-tar.test.ts holds to the kernel's manifest of
 * mkfs.erofs's image. Skipped, with the reason printed, when there is no Chromium.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildImage, tarSource } from '@erofs-js/mkfs';
import { browserBuild, type NodeImport } from './bundle.js';
import { findChromium, launchChromium, serveStatic, type Browser, type StaticServer } from './browser.js';
import { FIXTURES } from './fixtures.js';

const chromium = findChromium();
if ('reason' in chromium) console.warn(`browser tar tests skipped: ${chromium.reason}`);

const HARNESS = fileURLToPath(new URL('./mkfs-tar-browser.harness.ts', import.meta.url));
const PAGE = '<!doctype html><meta charset="utf-8"><title>erofs-js tar</title><script type="module" src="/harness.js"></script>';
declare const harness: { build(url: string, index: boolean): Promise<string> };

describe.skipIf('reason' in chromium)('tar layers to images in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: StaticServer | undefined;
  let page: Page;
  const errors: string[] = [];
  const tar = new Uint8Array(readFileSync(join(FIXTURES, 'tar', 'app.tar')));

  beforeAll(async () => {
    const found: NodeImport[] = [];
    const out = await build({ ...browserBuild(found, 'bundle'), entryPoints: [HARNESS], minify: true });
    expect(found, 'the harness bundle reaches Node built-ins').toEqual([]);
    server = await serveStatic({ '/': PAGE, '/harness.js': out.outputFiles![0].contents, '/app.tar': tar, '/app.tar.gz': gzipSync(tar), '/favicon.ico': new Uint8Array(0) });
    browser = await launchChromium((chromium as { path: string }).path);
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url + '/');
    await page.waitForFunction(() => (globalThis as { harness?: { ready?: boolean } }).harness?.ready === true, undefined, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const [url, index] of [['/app.tar', false], ['/app.tar.gz', false], ['/app.tar', true]] as const) {
    it(`${url}${index ? ' (index only)' : ''}: the page's image equals Node's, byte for byte`, async () => {
      const got = Buffer.from(await page.evaluate(([u, i]) => harness.build(u, i), [url, index] as const), 'base64');
      const src = await tarSource(tar, { aufs: true, index });
      const want = buildImage(src, index ? { blockSize: 512 } : {});
      expect(got.length).toBe(want.length);
      expect(Buffer.compare(got, want)).toBe(0);
      expect(errors).toEqual([]);
    });
  }
});
