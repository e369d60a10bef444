/**
 * Images from tar layers against mkfs.erofs, without root or erofs-utils: fixtures/tar/
 * holds tars (a Debian base subset, a second layer with real `.wh.` entries, an archive of
 * mkfs.erofs's replacement quirks) and the kernel's manifests of `mkfs.erofs --tar=f --aufs`
 * images of them (tools/mkfs-tar-check.ts --record). Our images of the same tars, decoded,
 * must give the same records (all but ino) and the same directory order. Then the paths a
 * tar can take through the Node API and the CLI (file, gzip, stdin-like spool, the
 * browser's DecompressionStream) give the same bytes, and a bad archive leaves nothing.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Image, MemorySource } from '@erofs-js/erofs';
import { buildImage, tarSource, webGunzip, TarError, type TarOptions } from '@erofs-js/mkfs';
import { buildImageFileFromTar, nodeGunzip, SpoolStore, tarFileSource } from '@erofs-js/mkfs/node';
import { manifest, readdirRecords } from '../packages/cli/src/manifest.js';
import { main } from '../packages/cli/src/main.js';
import { FIXTURES, readJsonl } from './fixtures.js';

const TAR = join(FIXTURES, 'tar');
const LAYERS = ['base', 'app', 'quirks'];

async function imageOf(input: Uint8Array | AsyncIterable<Uint8Array>, options: TarOptions = {}): Promise<Uint8Array> {
  const src = await tarSource(input, { aufs: true, ...options });
  try {
    return buildImage(src, options.index ? { blockSize: 512 } : {});
  } finally {
    src.close();
  }
}

const noIno = (r: object) => {
  const { ino: _ino, ...rest } = r as Record<string, unknown>;
  return rest;
};

describe('erofs mkfs --tar against mkfs.erofs --tar=f --aufs (kernel manifests in fixtures/tar)', () => {
  for (const name of LAYERS) {
    for (const index of [false, true]) {
      const truthOf = `${name}${index ? '.index' : ''}`;
      it(`${name}.tar${index ? ' index-only (--tar=i, the tar as device 1)' : ''}: every record but ino, and every directory's order, equal the kernel's view of mkfs.erofs's image`, async () => {
        const tarBytes = new Uint8Array(readFileSync(join(TAR, `${name}.tar`)));
        const bytes = await imageOf(tarBytes, { index });
        const img = new Image(new MemorySource(bytes), { devices: index ? [new MemorySource(tarBytes)] : [] });
        if (index) expect(bytes.length).toBeLessThan(tarBytes.length / 4); // metadata only
        const truth = readJsonl(join(TAR, `${truthOf}.manifest.jsonl`)).map(noIno);
        const ours = [...manifest(img)].map(noIno);
        expect(ours.map((r) => r.path ?? r.path_b64)).toEqual(truth.map((r) => r.path ?? r.path_b64));
        for (let i = 0; i < truth.length; i++) expect(ours[i], String(truth[i].path ?? truth[i].path_b64)).toEqual(truth[i]);
        expect([...readdirRecords(img)]).toEqual(readJsonl(join(TAR, `${truthOf}.readdir.jsonl`)));
      });
    }
  }

  it('the layer pair holds what it is meant to: whiteouts, an opaque dir, origin marks, replaced and added files', () => {
    const app = new Map(readJsonl(join(TAR, 'app.manifest.jsonl')).map((r) => [r.path ?? r.path_b64, r]));
    for (const p of ['/etc/motd', '/etc/cron.daily', '/usr/bin/uncompress', '/not-in-base']) expect(app.get(p), p).toMatchObject({ type: 'chardev', rdev: 0, mode: 0o20000 });
    expect(app.get('/etc/apt')).toMatchObject({ type: 'dir', xattrs: { 'trusted.overlay.opaque': 'eQ==' } });
    for (const p of ['/', '/etc', '/usr/bin']) expect(app.get(p), p).toMatchObject({ xattrs: { 'trusted.overlay.origin': '' } });
    expect(app.get('/srv')).toMatchObject({ type: 'symlink' });
    expect(app.get('/app/bin/tool')).toMatchObject({ nlink: 2, mode: 0o104755, xattrs: { 'security.capability': expect.any(String) } });
    expect(app.get('/app/xattrs')).toMatchObject({ mtime_nsec: 123456789 });
    const base = new Map(readJsonl(join(TAR, 'base.manifest.jsonl')).map((r) => [r.path, r]));
    expect(base.get('/usr/bin/gunzip')).toMatchObject({ nlink: 2 });
    expect(base.get('/dev/null')).toMatchObject({ type: 'chardev' });
  });
});

describe('tar inputs', () => {
  const appTar = readFileSync(join(TAR, 'app.tar'));

  it('gzip through node:zlib and through DecompressionStream, chunked any way, give the same image', async () => {
    const want = await imageOf(appTar);
    const gz = gzipSync(appTar);
    async function* pieces(b: Uint8Array, n: number) {
      for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
    }
    expect(Buffer.compare(await imageOf(gz, { gunzip: nodeGunzip }), want)).toBe(0);
    expect(Buffer.compare(await imageOf(pieces(gz, 997), { gunzip: webGunzip }), want)).toBe(0);
    expect(Buffer.compare(await imageOf(pieces(appTar, 511)), want)).toBe(0);
    const stream = new Blob([appTar]).stream() as ReadableStream<Uint8Array>;
    expect(Buffer.compare(await imageOf(stream), want)).toBe(0);
  });

  it('the CLI streams the same bytes from a tar file (read back by offset), a .tar.gz (spooled) and an explicit spool store', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-tar-'));
    try {
      const want = await imageOf(appTar);
      writeFileSync(join(work, 'app.tar.gz'), gzipSync(appTar));
      for (const src of [join(TAR, 'app.tar'), join(work, 'app.tar.gz')]) {
        const out = join(work, 'out.erofs');
        expect(await main(['mkfs', '--tar', '--aufs', src, out])).toBe(0);
        expect(Buffer.compare(readFileSync(out), want), src).toBe(0);
      }
      const s = await tarFileSource(join(TAR, 'app.tar'), { aufs: true, store: new SpoolStore(work) });
      expect(Buffer.compare(buildImage(s), want)).toBe(0);
      s.close();
      // Without --aufs the .wh. entries stay files of those names.
      expect(await main(['mkfs', '--tar', join(TAR, 'app.tar'), join(work, 'plain.erofs')])).toBe(0);
      const plain = new Image(new MemorySource(new Uint8Array(readFileSync(join(work, 'plain.erofs')))));
      const etc = plain.inode(plain.lookup(plain.root(), 'etc')!.nid);
      expect(plain.lookup(etc, '.wh.motd')).toBeTruthy();
      expect(readdirSync(work).sort()).toEqual(['app.tar.gz', 'out.erofs', 'plain.erofs']); // no spool or temporary file left
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('a bad archive: exit 1 naming the entry and byte offset; no image, no temporary or spool file', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-tar-'));
    const err: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      // Truncated inside a file's data, plain and gzip-compressed.
      const cut = appTar.subarray(0, 100_000);
      writeFileSync(join(work, 'cut.tar'), cut);
      writeFileSync(join(work, 'cut.tar.gz'), gzipSync(cut));
      // A header whose checksum no longer matches.
      const bad = Buffer.from(appTar);
      bad[10] ^= 1;
      writeFileSync(join(work, 'bad.tar'), bad);
      for (const [f, pattern] of [
        ['cut.tar', /tar: entry "\.\/app\/bin\/tool" \(header at byte \d+\): archive truncated in data/],
        ['cut.tar.gz', /tar: entry "\.\/app\/bin\/tool" \(header at byte \d+\): archive truncated in data|gzip: /],
        ['bad.tar', /tar: header at byte 0: header checksum mismatch/],
      ] as const) {
        err.length = 0;
        expect(await main(['mkfs', '--tar', '--aufs', join(work, f), join(work, 'out.erofs')]), f).toBe(1);
        expect(err.join(''), f).toMatch(pattern);
      }
      expect(readdirSync(work).sort()).toEqual(['bad.tar', 'cut.tar', 'cut.tar.gz']);
    } finally {
      process.stderr.write = write;
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('erofs mkfs --tar=i: the image holds metadata, the tar file is device 1; a .tar.gz is refused', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-tar-'));
    const err: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const out = join(work, 'i.erofs');
      expect(await main(['mkfs', '--tar=i', '--aufs', join(TAR, 'app.tar'), out])).toBe(0);
      const tarBytes = new Uint8Array(readFileSync(join(TAR, 'app.tar')));
      expect(Buffer.compare(readFileSync(out), await imageOf(tarBytes, { index: true }))).toBe(0);
      const img = new Image(new MemorySource(new Uint8Array(readFileSync(out))), { devices: [new MemorySource(tarBytes)] });
      expect(img.sb.blockSize).toBe(512);
      writeFileSync(join(work, 'app.tar.gz'), gzipSync(tarBytes));
      expect(await main(['mkfs', '--tar=i', join(work, 'app.tar.gz'), join(work, 'gz.erofs')])).toBe(1);
      expect(err.join('')).toMatch(/index-only image needs an uncompressed tar file.*gunzip it first/);
      expect(await main(['mkfs', '--tar=x', join(TAR, 'app.tar'), join(work, 'x.erofs')])).toBe(2);
      expect(readdirSync(work).sort()).toEqual(['app.tar.gz', 'i.erofs']);
    } finally {
      process.stderr.write = write;
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('buildImageFileFromTar keeps an existing image when the archive is bad', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-tar-'));
    try {
      const out = join(work, 'out.erofs');
      await buildImageFileFromTar(join(TAR, 'quirks.tar'), out, { aufs: true });
      const before = readFileSync(out);
      writeFileSync(join(work, 'x.tar'), Buffer.from('not a tar at all'.repeat(64)));
      await expect(buildImageFileFromTar(join(work, 'x.tar'), out)).rejects.toThrow(TarError);
      expect(Buffer.compare(readFileSync(out), before)).toBe(0);
      expect(existsSync(join(work, 'x.tar'))).toBe(true);
      expect(readdirSync(work).sort()).toEqual(['out.erofs', 'x.tar']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
