/**
 * Real guest through the @bjorn3/browser_wasi_shim adapter: CRuby built for WASI by the
 * ruby.wasm project walks an EROFS image preopened with ErofsPreopenDirectory inside the
 * shim's own WASI, and prints a listing (types, sizes, link counts, mtimes, SHA-256 of
 * every file, symlink targets, sorted children, Dir.glob). The same program walks the same
 * tree unpacked on the host (the CLI's extract) through Node's WASI (uvwasi over the real
 * files, in a child process: see guests/shim-node-wasi.ts); the two listings must be equal. The shim's own in-memory directories cannot be
 * the reference: they have no symlinks, no link counts and no times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleStdout, File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import { HostController } from '@erofs-js/mount';
import { ErofsPreopenDirectory, installPosixReadlink } from '@erofs-js/browser-wasi-shim';
import { extract } from '../packages/cli/src/extract.js';
import { FIXTURES, openFixture, readJsonl } from './fixtures.js';
import { loadRubyModule, runRuby, walkScript } from './guests/ruby.js';
import { rubyUnderNodeWasi } from './guests/shim-node-wasi.js';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';

/**
 * rootfs-18: the README's Linux-like root (symlinks absolute and relative, devices, a
 * sticky /tmp). z-lz4hc-18: LZ4HC-compressed files of many sizes, a hard link, a fifo, a
 * char device and symlinks up to 4095 bytes. Both have only UTF-8 names: the shim hands
 * path arguments over as JS strings, so a name that is not UTF-8 cannot be looked up.
 *
 * `skip`: directories the reference runtime cannot walk. z-lz4hc-18's /links holds targets
 * longer than CRuby's first readlink buffer (100 bytes); POSIX readlink truncates and CRuby
 * retries with a bigger buffer, but uvwasi answers ENOBUFS (and the shim EBADF, which
 * installPosixReadlink fixes on our side), after which ruby.wasm under node:wasi crashes
 * Node. Those links are checked against the kernel's manifest instead.
 */
const IMAGES: { image: string; skip: string[] }[] = [
  { image: 'rootfs-18.erofs', skip: [] },
  { image: 'z-lz4hc-18.erofs', skip: ['links'] },
];
const MNT = '/mnt';

function shimWasi(preopen: ErofsPreopenDirectory, stderr: string[]): WASI {
  const fds = [new OpenFile(new File([])), ConsoleStdout.lineBuffered(() => {}), ConsoleStdout.lineBuffered((l) => stderr.push(l)), preopen];
  const w = new WASI(['ruby'], [], fds, { debug: false });
  installPosixReadlink(w);
  return w;
}

describe('ruby.wasm walks an EROFS image through browser_wasi_shim as it walks the unpacked tree', () => {
  let ruby: WebAssembly.Module;
  let c: HostController;
  const work = mkdtempSync(join(tmpdir(), 'erofs-shim-'));

  beforeAll(async () => {
    ruby = await loadRubyModule();
    c = await HostController.create({ mkdirs: IMAGES.map((i) => '/' + i.image) });
    for (const { image } of IMAGES) await c.mount({ image: FIXTURES + image, target: '/' + image });
  });
  afterAll(() => {
    c?.close();
    rmSync(work, { recursive: true, force: true });
  });

  for (const { image, skip } of IMAGES) {
    it(image, async () => {
      const tree = join(work, image);
      extract(openFixture(image), tree);
      const expected = rubyUnderNodeWasi(tree, MNT, walkScript(MNT, skip));

      const preopen = ErofsPreopenDirectory.open(c.ns, MNT, { path: '/' + image });
      const stderr: string[] = [];
      const actual = await runRuby(ruby, shimWasi(preopen, stderr), walkScript(MNT, skip));
      preopen.dispose();
      expect(stderr).toEqual([]);
      expect(actual).toBe(expected);

      // The listing covers every path of the kernel's manifest outside the skipped directories.
      const manifest = readJsonl<ManifestRecord>(FIXTURES + image.replace('.erofs', '.manifest.jsonl')).filter((e) => e.path !== undefined);
      const inSkip = (p: string) => skip.some((s) => p.startsWith('/' + s + '/'));
      expect(actual.split('\n').length - 1).toBe(manifest.filter((e) => !inSkip(e.path!)).length);
    });
  }

  it('z-lz4hc-18.erofs: the long symlinks the reference cannot read match the kernel', async () => {
    const image = 'z-lz4hc-18.erofs';
    const preopen = ErofsPreopenDirectory.open(c.ns, MNT, { path: '/' + image });
    const actual = await runRuby(ruby, shimWasi(preopen, []), walkScript(MNT));
    preopen.dispose();
    const manifest = readJsonl<ManifestRecord>(FIXTURES + image.replace('.erofs', '.manifest.jsonl'));
    const links = manifest.filter((e) => e.path?.startsWith('/links/') && e.type === 'symlink');
    expect(links.some((e) => e.target!.length > 1000)).toBe(true);
    const lines = new Map(actual.split('\n').map((l) => [l.split(' ')[0], l]));
    for (const e of links) {
      expect(lines.get(e.path!.slice(1))).toBe(`${e.path!.slice(1)} link ${e.size} ${e.nlink} ${e.mtime} ${e.target}`);
    }
  });
});
