/**
 * Real guest through the @bjorn3/browser_wasi_shim adapter: CRuby built for WASI by the
 * ruby.wasm project walks an EROFS image preopened with ErofsPreopenDirectory inside the
 * shim's own WASI, and prints a listing (types, sizes, link counts, mtimes, SHA-256 of
 * every file, symlink targets, sorted children, Dir.glob). The shim's own in-memory
 * directories cannot serve as the reference (no symlinks, link counts or times), so the
 * references are the kernel's manifest and Node's WASI on the unpacked tree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleStdout, File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import { HostController } from '@erofs-js/mount/node';
import { ErofsPreopenDirectory, installPosixReadlink } from '@erofs-js/browser-wasi-shim';
import { extract } from '../packages/cli/src/extract.js';
import { FIXTURES, openFixture, readJsonl } from './fixtures.js';
import { loadRubyModule, runRuby, walkScript } from './guests/ruby.js';
import { rubyUnderNodeWasi } from './guests/shim-node-wasi.js';
import { kernelListing } from './guests/shim-listing.js';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';

/**
 * Each image is walked by the guest through the adapter, and the listing is held to two
 * truths: the kernel's manifest of the image (guests/shim-listing.ts), and, where Node's
 * WASI survives the walk, the same program on the unpacked tree.
 *
 * rootfs-18: the README's Linux-like root (absolute and relative symlinks, devices, a
 * sticky /tmp). z-lz4hc-18: LZ4HC-compressed files of many sizes, a hard link, a fifo, a
 * char device, symlinks up to 4095 bytes. basic-18: 2747 paths — a 2540-entry directory,
 * 40 levels of nesting, three hard links to one file, every file type, modes 0000..07777,
 * owners up to 4e9, times before 1970 and after 2106, symlinks of 1 to 4095 bytes.
 *
 * `skip`: /names of basic-18 holds a name that is not UTF-8; the shim hands path arguments
 * over as JS strings, so the guest can list it but not open it. `reference.skip`: CRuby's
 * File.readlink starts with a 100-byte buffer and retries larger only when POSIX truncation
 * says so; uvwasi answers ENOBUFS instead (the shim EBADF, which installPosixReadlink fixes
 * on our side), after which ruby.wasm under node:wasi crashes Node. basic-18 has no
 * reference run: Node's WASI crashes on walks of that size (see guests/shim-node-wasi.ts).
 */
const IMAGES: { image: string; skip: string[]; reference?: { skip: string[] } }[] = [
  { image: 'rootfs-18.erofs', skip: [], reference: { skip: [] } },
  { image: 'z-lz4hc-18.erofs', skip: [], reference: { skip: ['links'] } },
  { image: 'basic-18.erofs', skip: ['names'] },
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

  async function walk(image: string, skip: string[]): Promise<string> {
    const preopen = ErofsPreopenDirectory.open(c.ns, MNT, { path: '/' + image });
    const stderr: string[] = [];
    try {
      return await runRuby(ruby, shimWasi(preopen, stderr), walkScript(MNT, skip));
    } finally {
      preopen.dispose();
      expect(stderr).toEqual([]);
    }
  }

  for (const { image, skip, reference } of IMAGES) {
    it(`${image}: the guest's listing is the kernel's`, async () => {
      const actual = await walk(image, skip);
      const manifest = readJsonl<ManifestRecord>(FIXTURES + image.replace('.erofs', '.manifest.jsonl'));
      const inSkip = (p: string) => skip.some((d) => p.startsWith('/' + d + '/'));
      expect(actual.split('\n').length - 1).toBe(manifest.filter((e) => e.path !== undefined && !inSkip(e.path)).length);
      expect(actual).toBe(kernelListing(FIXTURES, image, skip));
    });

    if (reference) {
      it(`${image}: the guest's listing is the one it prints for the unpacked tree under Node's WASI`, async (ctx) => {
        const tree = join(work, image);
        extract(openFixture(image), tree, { samePermissions: true, devices: true });
        const expected = rubyUnderNodeWasi(tree, MNT, walkScript(MNT, reference.skip));
        if ('crashed' in expected) {
          console.warn(`${image}: reference skipped, ${expected.crashed}`);
          ctx.skip();
          return;
        }
        expect(await walk(image, reference.skip)).toBe(expected.out);
      }, 300_000); // the reference may be run several times (guests/shim-node-wasi.ts)
    }
  }
});
