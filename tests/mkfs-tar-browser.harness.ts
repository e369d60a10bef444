/** Page side of tests/mkfs-tar-browser.test.ts: a tar fetched over HTTP, gzip or not, built into an image in the page. */
import { buildImage, tarSource } from '@erofs-js/mkfs';

async function build(url: string, index: boolean): Promise<string> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  // gzip is recognised by its magic and goes through the page's DecompressionStream.
  const src = await tarSource(res.body, { aufs: true, index });
  const img = buildImage(src, index ? { blockSize: 512 } : {});
  src.close();
  let s = '';
  for (let i = 0; i < img.length; i += 8192) s += String.fromCharCode(...img.subarray(i, i + 8192));
  return btoa(s);
}

(globalThis as { harness?: unknown }).harness = { ready: true, build };
