/**
 * The page of packages/web in headless Chromium (tests/browser.ts): built as `npm run web`
 * builds it, served cross-origin isolated, driven as a person would use it.
 *
 *  - a fixture opened with the file picker: the superblock summary; the tree's rows equal
 *    the kernel's manifest (order, modes, owners, sizes, symlink targets, xattr counts);
 *    a directory expanded and a file read through the viewer, equal to the image's bytes;
 *    xattrs; the hex view; an image preview; per-file compression equal to map();
 *  - the terminal: `ls -l /` prints what the same toybox prints under Node with the same
 *    preopen; a tool that does not exist; a stopped tool;
 *  - a URL (?url=), corrupt and non-EROFS files shown in words;
 *  - offline: with the network gone, the reloaded page still opens an image and runs a tool;
 *  - a 200 MB image: the page's main thread keeps running (no gap over 400 ms) while the
 *    workers decode and a tool hashes 200 MB, and the tree answers meanwhile.
 *
 * The screenshot in the README (packages/web/screenshot.png) is taken here; it is written
 * over the committed one only with UPDATE_SCREENSHOT=1.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { deflateSync } from 'node:zlib';
import { HostController } from '@erofs-js/mount/node';
import { ErofsPreopenDirectory, installPosixReadlink } from '@erofs-js/browser-wasi-shim';
import { buildImage, buildImageTo, dir, file, symlink, treeSource } from '@erofs-js/mkfs';
import { Image, MemorySource, loadCodecs } from '@erofs-js/erofs';
import { storage } from '@erofs-js/web';
import { buildSite, serveSite } from '../packages/web/build.js';
import { findChromium, launchChromium, type Browser } from './browser.js';
import { FIXTURES, nodeAt, readJsonl } from './fixtures.js';
import { runShim } from './adapter-c-guests.runtimes.js';

const chromium = findChromium();
if ('reason' in chromium) console.warn(`web page tests skipped: ${chromium.reason}`);

const SCREENSHOT = join(FIXTURES, '../packages/web/screenshot.png');
type Rec = { path?: string; type: string; mode: number; uid: number; gid: number; size: number; target?: string; xattrs?: Record<string, string>; sha256?: string };

/** A PNG of w x h pixels (RGB, a gradient), made here: the fixtures hold none. */
function png(w: number, h: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([(x * 255) / w, (y * 255) / h, 160], y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

describe.skipIf('reason' in chromium)('the page (packages/web) in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: { url: string; close(): Promise<void> } | undefined;
  const requests: { path: string; range?: string }[] = [];
  let page: Page;
  let work: string;
  const errors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'erofs-web-'));
    // The server of `npm run web`, with the fixtures and this test's images under /images/.
    server = await serveSite(await buildSite(), { port: 0, images: [FIXTURES, work], onRequest: (path, range) => requests.push({ path, range }) });
    browser = await launchChromium((chromium as { path: string }).path);
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.url);
    await loadCodecs();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function openFile(path: string): Promise<void> {
    const name = path.split('/').pop()!;
    await page.setInputFiles('#file', path);
    await page.waitForFunction((n) => document.body.dataset.image === n && document.querySelector('#tree [role=group] .row') !== null, name, { timeout: 60_000 });
  }

  const row = (path: string) => page.locator(`#tree [data-path="${path}"]`);

  async function click(path: string): Promise<void> {
    await row(path).click();
    await page.waitForFunction((p) => document.querySelector('[data-testid=detail-path]')?.textContent === p, path, { timeout: 30_000 });
  }

  async function run(line: string): Promise<string> {
    const before = Number((await page.getAttribute('#terminal', 'data-runs')) ?? 0);
    const start = ((await page.textContent('#term-out')) ?? '').length;
    await page.fill('#term-in', line);
    await page.press('#term-in', 'Enter');
    await page.waitForFunction((n) => Number(document.getElementById('terminal')!.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
    return ((await page.textContent('#term-out')) ?? '').slice(start);
  }

  it('opens a fixture from the file picker: the superblock summary', async () => {
    await openFile(FIXTURES + 'z-lz4hc-18-C64k.erofs');
    const sb = (await page.textContent('[data-testid=superblock]'))!;
    const img = new Image(new MemorySource(readFileSync(FIXTURES + 'z-lz4hc-18-C64k.erofs')));
    expect(sb).toContain(`block size${img.sb.blockSize}`);
    expect(sb).toContain(`inodes${img.sb.inos}`);
    expect(sb).toContain(`blocks${img.sb.blocks} `);
    expect(sb).toMatch(/compressionlz4/);
    for (const f of ['sb_csum', 'mtime', '0padding', 'compr_cfgs/big_pcluster']) expect(sb).toContain(f);
    expect(await page.textContent('[data-testid=image-name]')).toBe('z-lz4hc-18-C64k.erofs (412 KiB)');
    expect(await page.isHidden('#error')).toBe(true);
  });

  it('opens a file dropped on the page', async () => {
    await page.evaluate(async () => {
      const bytes = await (await fetch('/images/rootfs-19-label.erofs')).arrayBuffer();
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.erofs'));
      window.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, cancelable: true }));
    });
    await page.waitForFunction(() => document.body.dataset.image === 'dropped.erofs' && document.querySelector('#tree [role=group] .row') !== null, undefined, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=superblock]')).toContain('labelerofs-js-demo');
    expect(await page.isHidden('#drop')).toBe(true);
  });

  it('the tree lists the root in on-disk order with modes, owners, sizes, symlink targets and xattr counts', async () => {
    const name = 'basic-18.erofs';
    await openFile(FIXTURES + name);
    const recs = readJsonl<Rec>(FIXTURES + 'basic-18.manifest.jsonl');
    const order = readJsonl<{ path: string; entries: string[] }>(FIXTURES + 'basic-18.readdir.jsonl');
    const check = async (dir: string) => {
      const names = order.find((o) => o.path === dir)!.entries;
      const rows = await page.$$eval(`#tree [data-path="${dir}"] + [role=group] > .row`, (els) => els.map((e) => ({ path: (e as HTMLElement).dataset.path!, text: e.textContent! })));
      expect(rows.map((r) => r.path)).toEqual(names.map((n) => (dir === '/' ? '/' : dir + '/') + n));
      for (const r of rows) {
        const rec = recs.find((x) => x.path === r.path)!;
        expect(r.text, r.path).toContain(`${rec.uid}:${rec.gid}`);
        if (rec.type === 'symlink') expect(r.text, r.path).toContain(`→ ${rec.target}`);
        const xc = Object.keys(rec.xattrs ?? {}).length;
        if (xc) expect(r.text, r.path).toContain(`xattr ${xc}`);
        else expect(r.text, r.path).not.toMatch(/xattr \d/);
      }
    };
    await check('/');
    await click('/links');
    await page.waitForSelector('#tree [data-path="/links"] + [role=group] > .row');
    await check('/links');
    // Modes as ls prints them.
    expect(await row('/links').textContent()).toContain('drwxr-xr-x');
  });

  it('clicking through the tree: a file shows its stat fields and its text, equal to the image', async () => {
    await openFile(FIXTURES + 'rootfs-18.erofs');
    await click('/etc');
    await click('/etc/passwd');
    const stat = (await page.textContent('[data-testid=stat]'))!;
    expect(stat).toContain('-rw-r--r-- (0644)');
    expect(stat).toContain('123 bytes');
    expect(stat).toContain('uid 0, gid 0');
    await page.waitForSelector('[data-testid=text-view]');
    const img = new Image(new MemorySource(readFileSync(FIXTURES + 'rootfs-18.erofs')));
    expect(await page.textContent('[data-testid=text-view]')).toBe(Buffer.from(img.readFile(nodeAt(img, '/etc/passwd'))).toString('utf8'));
    // The hex view of the same bytes.
    await page.click('[data-testid=viewer] button[data-mode=hex]');
    const hex = (await page.textContent('[data-testid=hex-view]'))!;
    expect(hex.split('\n')[0]).toBe('00000000  ' + [...img.readFile(nodeAt(img, '/etc/passwd')).subarray(0, 16)].map((b, k) => b.toString(16).padStart(2, '0') + ' ' + (k === 7 ? ' ' : '')).join('') + ' |' + [...img.readFile(nodeAt(img, '/etc/passwd')).subarray(0, 16)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('') + '|');
    // A symlink shows its target.
    await click('/etc/os-release');
    expect(await page.textContent('[data-testid=stat]')).toContain('target../usr/lib/os-release');
  });

  it('xattrs of a node, as the manifest has them', async () => {
    await openFile(FIXTURES + 'basic-18.erofs');
    const recs = readJsonl<Rec>(FIXTURES + 'basic-18.manifest.jsonl');
    await click('/xattrs');
    const rec = recs.find((r) => r.path?.startsWith('/xattrs/') && r.xattrs && Object.values(r.xattrs).some((v) => /^[\x20-\x7e]+$/.test(Buffer.from(v, 'base64').toString('latin1'))))!;
    await click(rec.path!);
    const table = (await page.textContent('[data-testid=xattrs]'))!;
    for (const [k, v] of Object.entries(rec.xattrs!)) {
      expect(table).toContain(k);
      const text = Buffer.from(v, 'base64').toString('utf8');
      if (/^[\x20-\x7e]*$/.test(text)) expect(table).toContain(JSON.stringify(text));
    }
  });

  it('per-file compression: algorithm, pclusters and ratio as map() gives them', async () => {
    const name = 'z-lz4hc-18-C64k.erofs';
    await openFile(FIXTURES + name);
    const img = new Image(new MemorySource(readFileSync(FIXTURES + name)));
    await click('/big');
    for (const p of ['/big/log-192k', '/big/counter-1m', '/big/elf-like']) {
      await click(p);
      await page.waitForFunction(() => !document.querySelector('[data-testid=storage]')?.textContent?.includes('mapping'));
      const s = storage(img, nodeAt(img, p).nid);
      expect(s.pclusters, p).toBeGreaterThan(0);
      const text = (await page.textContent('[data-testid=storage]'))!;
      expect(text).toContain(`pclusters${s.pclusters} (lz4 × ${s.algorithms.lz4})`);
      expect(text).toContain(`${s.ratio!.toFixed(2)} : 1`);
      expect(text).toContain('layoutcompressed_');
    }
    // A file of the same fixture's packed or uncompressed kinds says so too.
    await click('/text');
    await click('/text/size-1');
    await page.waitForFunction(() => !document.querySelector('[data-testid=storage]')?.textContent?.includes('mapping'));
    expect(await page.textContent('[data-testid=storage]')).toMatch(/layout\w+/);
  });

  it('previews an image file, and shows binary files in hex', async () => {
    const picture = png(120, 80);
    const blob = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    const imgPath = join(work, 'pictures.erofs');
    writeFileSync(imgPath, buildImage(dir({ img: dir({ 'dot.png': file(picture), blob: file(blob), link: symlink('dot.png') }) }), { compression: 'lz4' }));
    await openFile(imgPath);
    await click('/img');
    await click('/img/dot.png');
    await page.waitForSelector('[data-testid=image-view]');
    await page.waitForFunction(() => (document.querySelector('[data-testid=image-view]') as HTMLImageElement).naturalWidth > 0);
    expect(await page.$eval('[data-testid=image-view]', (e) => [(e as HTMLImageElement).naturalWidth, (e as HTMLImageElement).naturalHeight])).toEqual([120, 80]);
    await click('/img/blob');
    await page.waitForSelector('[data-testid=hex-view]');
    expect((await page.textContent('[data-testid=hex-view]'))!.split('\n')[1]).toMatch(/^00000010 {2}70 77 7e 85 8c 93 9a a1 {2}a8 af b6 bd c4 cb d2 d9 {2}\|/);
  });

  it('the terminal runs ls -l / and prints what the same tool prints under Node with the same preopen', async () => {
    const name = 'rootfs-18.erofs';
    await openFile(FIXTURES + name);
    const got = await run('ls -l /');
    const host = await HostController.create({ rootfs: FIXTURES + name });
    const preopen = ErofsPreopenDirectory.open(host.ns, '/', { path: '/' });
    const ref = runShim('ls', ['-l', '/'], preopen, installPosixReadlink);
    preopen.dispose();
    host.close();
    expect(ref.code).toBe(0);
    expect(got).toBe(`$ ls -l /\n${ref.stdout.toString('utf8')}`);
    expect(got).toMatch(/ etc\n/);
    // cat of a file, a tool that is not there, a missing path (exit status shown).
    expect(await run('cat /etc/hostname')).toBe('$ cat /etc/hostname\nerofs-js\n');
    expect(await run('frob x')).toMatch(/sh: frob: command not found/);
    expect(await run('ls /nope')).toMatch(/No such file or directory\n\[exit 1\]\n$/);
    expect(await run('help')).toMatch(/Tools \(toybox, as WASI programs\): cat chmod cksum cp find ln ls md5sum/);
  });

  it('a URL (?url=), a non-EROFS file and a corrupt image: errors in words', async () => {
    // By URL, read with range requests only.
    const first = requests.length;
    await page.goto(server!.url + '?url=/images/rootfs-19-label.erofs');
    await page.waitForFunction(() => document.body.dataset.image?.endsWith('/images/rootfs-19-label.erofs') && document.querySelector('#tree [role=group] .row') !== null, undefined, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=superblock]')).toContain('labelerofs-js-demo');
    const got = requests.slice(first).filter((r) => r.path === '/images/rootfs-19-label.erofs');
    expect(got.length).toBeGreaterThan(0);
    expect(got.filter((r) => !r.range?.startsWith('bytes='))).toEqual([]);
    await page.fill('#url', '/images/nope.erofs');
    await page.click('#open-url button');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error strong')).toMatch(/^Cannot open http:\/\/127\.0\.0\.1:\d+\/images\/nope\.erofs: The image could not be read\.$/);
    expect(await page.textContent('#error code')).toMatch(/404/);

    await page.setInputFiles('#file', FIXTURES + 'index.json');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error strong')).toBe('Cannot open index.json: This is not an EROFS image, or its superblock is unreadable.');
    expect(await page.textContent('#error code')).toMatch(/^EINVAL: superblock at byte 1024: /);

    // A checksum that does not match.
    const bytes = Buffer.from(readFileSync(FIXTURES + 'rootfs-19-label.erofs'));
    bytes[1024 + 0x40] ^= 1;
    writeFileSync(join(work, 'badsum.erofs'), bytes);
    await page.setInputFiles('#file', join(work, 'badsum.erofs'));
    await page.waitForFunction(() => document.querySelector('#error strong')?.textContent?.startsWith('Cannot open badsum.erofs'));
    expect(await page.textContent('#error strong')).toBe('Cannot open badsum.erofs: The image is damaged: a structure in it does not hold together.');
    expect(await page.textContent('#error code')).toMatch(/^EUCLEAN: .*checksum/);

    // Cut short: the root lists, the inodes of /bin's entries are gone (each row says so,
    // its siblings still list); cut later, an inode is there and its file's tail is not.
    const whole = readFileSync(FIXTURES + 'rootfs-18.erofs');
    writeFileSync(join(work, 'cut.erofs'), whole.subarray(0, 8192));
    await openFile(join(work, 'cut.erofs'));
    expect(await page.isHidden('#error')).toBe(true);
    await click('/bin');
    await page.waitForSelector('#tree [data-path="/bin/busybox"].error');
    await click('/bin/busybox');
    expect(await page.textContent('[data-testid=node-error]')).toMatch(/^The image is damaged: a structure in it does not hold together\. \(EUCLEAN\) inode \d+ at byte \d+: nid points past the end of the image \(8192 bytes\)$/);
    writeFileSync(join(work, 'cut2.erofs'), whole.subarray(0, 50000));
    await openFile(join(work, 'cut2.erofs'));
    await click('/bin');
    await click('/bin/busybox');
    await page.waitForSelector('[data-testid=read-error]');
    expect(await page.textContent('[data-testid=read-error]')).toMatch(/^The image is damaged: a structure in it does not hold together\. \(EUCLEAN\) metadata at byte 49184: 2952 bytes run past the end \(50000 bytes\)$/);
  });

  it('works offline once loaded: reloaded without a network, it opens an image and runs a tool', async () => {
    await page.goto(server!.url);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    // The first load is not controlled yet: reload once under the service worker.
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await browser!.context.setOffline(true);
    try {
      await page.reload();
      await openFile(FIXTURES + 'rootfs-18.erofs');
      expect(await run('cat /etc/hostname')).toBe('$ cat /etc/hostname\nerofs-js\n');
      const failed = await page.evaluate(() => fetch('/images/rootfs-18.erofs').then(() => 'fetched', () => 'offline'));
      expect(failed).toBe('offline');
    } finally {
      await browser!.context.setOffline(false);
    }
  });

  it('a 200 MB image: the page keeps responding while the workers decode and a tool reads it all', async () => {
    // 200 MiB of file data (not compressible by accident: a counter pattern), and a
    // directory of 3,000 files.
    const big = new Uint8Array(200 << 20);
    const dv = new DataView(big.buffer);
    for (let i = 0; i < big.length; i += 4) dv.setUint32(i, (i * 2654435761) >>> 0);
    const many: Record<string, ReturnType<typeof file>> = {};
    for (let i = 0; i < 3000; i++) many[`f${String(i).padStart(4, '0')}`] = file(`file ${i}\n`);
    const path = join(work, 'big.erofs');
    const fd = openSync(path, 'w');
    try {
      buildImageTo(treeSource(dir({ data: dir({ big: file(big) }), many: dir(many) })), { write: (b, pos) => void writeSync(fd, b, 0, b.length, pos) });
    } finally {
      closeSync(fd);
    }
    const md5 = createHash('md5').update(big).digest('hex');
    // The page's own clock: the longest gap between 20 ms ticks while this runs.
    await page.evaluate(() => {
      const w = window as unknown as { gap: number; last: number; tick: number };
      w.gap = 0;
      w.last = performance.now();
      w.tick = window.setInterval(() => {
        const now = performance.now();
        w.gap = Math.max(w.gap, now - w.last);
        w.last = now;
      }, 20);
    });
    await openFile(path);
    expect(await page.textContent('[data-testid=image-name]')).toMatch(/^big\.erofs \(20\d MiB\)$/);
    // Twice over, so that it is still hashing while the tree is used.
    const hashing = run('md5sum /data/big /data/big');
    // While the tool hashes 200 MB, the tree answers: a directory of 3,000 entries lists.
    await page.waitForFunction(() => !(document.getElementById('stop') as HTMLButtonElement).disabled);
    await click('/many');
    await page.waitForSelector('#tree [data-path="/many/f0999"]', { timeout: 60_000 });
    // The first 1,000 rows, then a row that shows more.
    expect(await page.textContent('#tree [data-path="/many"] + [role=group] > .more')).toBe('show 1000 more of 2000…');
    expect(await page.getAttribute('#stop', 'disabled')).toBeNull(); // still hashing
    expect(await hashing).toBe(`$ md5sum /data/big /data/big\n${md5}  /data/big\n${md5}  /data/big\n`);
    await click('/data');
    await click('/data/big');
    await page.waitForSelector('[data-testid=hex-view]');
    const gap = await page.evaluate(() => {
      const w = window as unknown as { gap: number; tick: number };
      clearInterval(w.tick);
      return w.gap;
    });
    console.log(`200 MiB image: longest main-thread gap ${gap.toFixed(0)} ms`);
    expect(gap).toBeLessThan(400);

    // The same image by URL: what opening it and listing /many costs is a few ranges, not the image.
    const from = requests.length;
    await page.fill('#url', '/images/big.erofs');
    await page.click('#open-url button');
    await page.waitForFunction(() => document.body.dataset.image?.endsWith('/images/big.erofs') && document.querySelector('#tree [role=group] .row') !== null, undefined, { timeout: 60_000 });
    await click('/many');
    await page.waitForSelector('#tree [data-path="/many/f0999"]', { timeout: 60_000 });
    const ranges = requests.slice(from).filter((r) => r.path === '/images/big.erofs');
    const fetched = ranges.reduce((n, r) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      expect(m, r.range).not.toBeNull();
      return n + Number(m![2]) - Number(m![1]) + 1;
    }, 0);
    console.log(`200 MiB image by URL: ${ranges.length} range requests, ${(fetched / 1024).toFixed(0)} KiB to open it and list 3,000 entries`);
    expect(fetched).toBeLessThan(8 << 20);

    // Stop ends a running tool (its worker is replaced); the next command runs.
    const before = Number(await page.getAttribute('#terminal', 'data-runs'));
    await page.fill('#term-in', 'md5sum /data/big /data/big /data/big /data/big');
    await page.press('#term-in', 'Enter');
    await page.waitForFunction(() => !(document.getElementById('stop') as HTMLButtonElement).disabled);
    await page.click('#stop');
    await page.waitForFunction((n) => Number(document.getElementById('terminal')!.dataset.runs) > n, before);
    expect(await page.textContent('#term-out')).toMatch(/\$ md5sum \/data\/big \/data\/big \/data\/big \/data\/big\n(.*\n)?\^C stopped\n$/);
    expect(await run('ls /data')).toBe('$ ls /data\nbig\n');
  }, 300_000);

  it('takes the README screenshot', async () => {
    await page.goto(server!.url);
    await openFile(FIXTURES + 'z-lz4hc-18-C64k.erofs');
    await click('/big');
    await click('/big/log-192k');
    await page.waitForSelector('[data-testid=text-view]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=storage]')?.textContent?.includes('mapping'));
    await run('ls -l /');
    const shot = await page.screenshot({ type: 'png' });
    expect(shot.length).toBeGreaterThan(50_000);
    writeFileSync(process.env.UPDATE_SCREENSHOT ? SCREENSHOT : join(work, 'screenshot.png'), shot);
    expect(readFileSync(SCREENSHOT).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // Only the offline test's own request failed.
    expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
  });
});
