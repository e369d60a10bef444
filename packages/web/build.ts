/**
 * Builds the page with esbuild and, with --serve, serves it:
 *
 *   npm run web                          build, then serve on http://127.0.0.1:8080/
 *   tsx packages/web/build.ts [--out DIR] [--serve] [--port N] [--host H] [--images DIR]...
 *
 * The site is static: index.html, style.css, app.js (the page), worker.js (the decoder and
 * the WASI runner), sw.js (the service worker that keeps it all for offline use) and
 * guests/*.wasm (the toybox tools of fixtures/guests, with their licence). The workspace
 * packages are bundled from their TypeScript sources through their `exports` (so no
 * `tsc -b` is needed first); a Node built-in reached from the page fails the build.
 *
 * The server sends every file cross-origin isolated (COOP same-origin, COEP require-corp),
 * which gives the workers SharedArrayBuffer: images opened by URL are then read with range
 * requests by the range source's own worker. Without isolation (any static host) the page
 * still works; URL images are read with synchronous requests from the worker instead.
 * `--images DIR` serves the images of DIR under /images/ with ranges: `?url=/images/NAME`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');
const SRC = join(HERE, 'src');
const GUESTS = join(ROOT, 'fixtures/guests');

/** `@erofs-js/<name>[/<sub>]` to the source file behind that export of the workspace package. */
function workspaceSources(): Plugin {
  const byName = new Map<string, { dir: string; exports: Record<string, string | { default?: string }> }>();
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const file = join(ROOT, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8'));
    byName.set(json.name, { dir, exports: json.exports ?? (json.main ? { '.': json.main } : {}) });
  }
  const builtins = new Set(builtinModules);
  return {
    name: 'erofs-js-sources',
    setup(b) {
      b.onResolve({ filter: /^@erofs-js\// }, (args) => {
        const [scope, name, ...rest] = args.path.split('/');
        const pkg = byName.get(`${scope}/${name}`);
        if (!pkg) return { errors: [{ text: `no workspace package ${scope}/${name}` }] };
        const e = pkg.exports[rest.length ? `./${rest.join('/')}` : '.'];
        const target = typeof e === 'string' ? e : e?.default;
        const m = target && /^\.\/dist\/(.+)\.js$/.exec(target);
        if (!m) return { errors: [{ text: `${args.path} is not exported as ./dist/*.js` }] };
        return { path: join(ROOT, 'packages', pkg.dir, 'src', `${m[1]}.ts`) };
      });
      b.onResolve({ filter: /^[a-z:_]+(\/.*)?$/ }, (args) => {
        const bare = args.path.replace(/^node:/, '').split('/')[0];
        if (args.path.startsWith('node:') || builtins.has(bare)) return { errors: [{ text: `the page reaches the Node built-in ${args.path} (from ${args.importer})` }] };
        return undefined;
      });
    },
  };
}

export interface BuildSiteOptions {
  /** Minify the scripts (default true). */
  minify?: boolean;
}

/** The site as files: URL path (no leading slash) -> bytes. */
export async function buildSite(options: BuildSiteOptions = {}): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const tools = readdirSync(GUESTS).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -5)).sort();
  for (const t of tools) files.set(`guests/${t}.wasm`, readFileSync(join(GUESTS, `${t}.wasm`)));
  files.set('guests/LICENSE.toybox', readFileSync(join(GUESTS, 'LICENSE.toybox')));
  files.set('index.html', readFileSync(join(SRC, 'index.html')));
  files.set('style.css', readFileSync(join(SRC, 'style.css')));
  const common = {
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    write: false,
    minify: options.minify ?? true,
    sourcemap: false,
    logLevel: 'silent' as const,
    legalComments: 'none' as const,
    plugins: [workspaceSources()],
    absWorkingDir: ROOT,
  };
  const [app, worker] = await Promise.all([
    build({ ...common, entryPoints: [join(SRC, 'app.ts')] }),
    build({ ...common, entryPoints: [join(SRC, 'worker.ts')], define: { __TOOLS__: JSON.stringify(tools) } }),
  ]);
  files.set('app.js', app.outputFiles[0].contents);
  files.set('worker.js', worker.outputFiles[0].contents);
  // The service worker caches everything above, under a version that changes with any of it.
  const assets = ['index.html', ...[...files.keys()].filter((k) => k !== 'index.html').sort()];
  const hash = createHash('sha256');
  for (const a of assets) hash.update(a).update(files.get(a)!);
  const version = hash.digest('hex').slice(0, 16);
  const sw = await build({ ...common, entryPoints: [join(SRC, 'sw.ts')], define: { __ASSETS__: JSON.stringify(assets), __VERSION__: JSON.stringify(version) } });
  files.set('sw.js', sw.outputFiles[0].contents);
  return files;
}

export function writeSite(files: Map<string, Uint8Array>, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Folders of images served under /images/ (the first holding a name wins), with HTTP ranges. */
  images?: string[];
  /** Called for every request with its path and Range header (tests count them). */
  onRequest?(path: string, range: string | undefined): void;
}

/**
 * Serves the site, cross-origin isolated; `/` is index.html. With `images`, the files of
 * those folders are served under /images/ with single-range requests (206, Content-Range,
 * an ETag and Last-Modified from the file), so that `?url=/images/NAME` reads a large image
 * a block at a time. Resolves to the URL.
 */
export function serveSite(files: Map<string, Uint8Array>, options: ServeOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range;
    options.onRequest?.(path, range);
    const headers: Record<string, string | number> = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    if (path.startsWith('/images/') && options.images) {
      const name = path.slice('/images/'.length);
      const file = name && !name.split('/').includes('..') ? options.images.map((d) => join(d, name)).find((f) => existsSync(f) && statSync(f).isFile()) : undefined;
      if (!file) {
        res.writeHead(404, headers).end('not found');
        return;
      }
      const st = statSync(file);
      Object.assign(headers, { 'Accept-Ranges': 'bytes', ETag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`, 'Last-Modified': st.mtime.toUTCString(), 'Content-Type': 'application/octet-stream' });
      let start = 0;
      let end = st.size - 1;
      let status = 200;
      const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
      if (m) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
        if (start >= st.size || end < start) {
          res.writeHead(416, { ...headers, 'Content-Range': `bytes */${st.size}` }).end();
          return;
        }
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
      }
      res.writeHead(status, { ...headers, 'Content-Length': end - start + 1 });
      if (req.method === 'HEAD' || end < start) res.end();
      else createReadStream(file, { start, end }).pipe(res);
      return;
    }
    const body = files.get(path.replace(/^\//, '') || 'index.html');
    if (!body) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? (path === '/' ? TYPES['.html'] : 'application/octet-stream'), 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      const a = server.address() as { port: number };
      resolve({
        url: `http://${host}:${a.port}/`,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

async function cli(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = arg('--out') ?? join(HERE, 'dist/site');
  const t0 = Date.now();
  const files = await buildSite();
  writeSite(files, out);
  const total = [...files.values()].reduce((n, b) => n + b.length, 0);
  console.log(`built ${files.size} files (${(total / 1024).toFixed(0)} KiB; app.js ${(files.get('app.js')!.length / 1024).toFixed(0)} KiB, worker.js ${(files.get('worker.js')!.length / 1024).toFixed(0)} KiB) in ${out} in ${Date.now() - t0} ms`);
  if (!argv.includes('--serve')) return;
  const images = argv.flatMap((a, i) => (a === '--images' && argv[i + 1] ? [argv[i + 1]] : []));
  const s = await serveSite(files, { port: Number(arg('--port') ?? process.env.PORT ?? 8080), host: arg('--host') ?? '127.0.0.1', images });
  console.log(`serving on ${s.url}  (Ctrl-C to stop)`);
  for (const d of images) console.log(`  images of ${d} at ${s.url}images/NAME: open ${s.url}?url=/images/NAME`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
