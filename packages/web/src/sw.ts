/**
 * The page's service worker: once the page has loaded, it works offline. Installing
 * caches every file of the build (the list and a version are set by the build); requests
 * for them are answered from that cache first, anything else (images opened by URL) goes
 * to the network. A new build has a new version: its cache replaces the old one.
 */
declare const __ASSETS__: readonly string[];
declare const __VERSION__: string;

interface SwScope {
  registration: { scope: string };
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', fn: (e: { waitUntil(p: Promise<unknown>): void }) => void): void;
  addEventListener(type: 'fetch', fn: (e: { request: Request; respondWith(r: Promise<Response>): void }) => void): void;
}
const sw = globalThis as unknown as SwScope;
const CACHE = `erofs-web-${__VERSION__}`;
const urls = () => __ASSETS__.map((a) => new URL(a, sw.registration.scope).href);

sw.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(urls())).then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('erofs-web-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  // The page itself under any query (?url=...) is the cached index.html.
  const key = url.origin === new URL(sw.registration.scope).origin && url.pathname === new URL(sw.registration.scope).pathname ? new URL('index.html', sw.registration.scope).href : url.origin + url.pathname;
  if (!urls().includes(key)) return;
  e.respondWith(caches.open(CACHE).then(async (c) => (await c.match(key)) ?? fetch(req)));
});

export {};
