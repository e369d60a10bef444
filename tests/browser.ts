/**
 * A real browser for the tests: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run with apt when missing; CHROMIUM names another executable) driven by
 * playwright-core, which downloads nothing. The flags are the ones this kind of machine
 * needs: no sandbox (CI runs as root), no GPU, and none of the background connections
 * (QUIC, component updates, sync, first-run pings) that a closed network refuses; each
 * launch gets a fresh profile directory, removed on close.
 *
 * And a small static server on 127.0.0.1 for the pages: built bundles from memory, files
 * from a list of folders, every response cross-origin isolated (COOP same-origin, COEP
 * require-corp) so that pages get SharedArrayBuffer, as the range source's Web Worker
 * path wants.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium executable, or why there is none. */
export function findChromium(): { path: string } | { reason: string } {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p)) return { path: p };
  return { reason: `no Chromium at ${candidates.join(' or ')} (.ci/run installs Debian's chromium with apt; CHROMIUM=path names another)` };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'erofs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // playwright-core adds --headless itself with `headless`; the rest are ours.
    args: CHROMIUM_FLAGS.filter((f) => f !== '--headless'),
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.png': 'image/png',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `files` (URL path -> contents) and, under each `mounts` prefix, the files of a
 * folder (GET only, no listing, nothing outside the folder).
 */
export async function serveStatic(files: Record<string, string | Uint8Array>, mounts: Record<string, string> = {}): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    let body: string | Uint8Array | undefined = files[path];
    if (body === undefined) {
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (!path.startsWith(prefix)) continue;
        const file = normalize(join(dir, path.slice(prefix.length)));
        if (!file.startsWith(normalize(dir + '/')) || !existsSync(file) || !statSync(file).isFile()) break;
        body = readFileSync(file);
      }
    }
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': path.endsWith('/') ? TYPES['.html'] : (TYPES[extname(path)] ?? 'application/octet-stream'), 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
