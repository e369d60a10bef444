/**
 * C programs built by others, compiled to WASI: toybox's ls, find, cat, md5sum, sha1sum,
 * cksum and wc (fixtures/guests/, built by tools/guests/build-c-guests.sh from Debian's
 * toybox 0.8.9 source with Debian's clang + wasi-libc). Each runs over a fixture image
 * through our adapters — @erofs-js/node-fs under @tybys/wasm-util's WASI, and
 * @erofs-js/browser-wasi-shim under @bjorn3/browser_wasi_shim's WASI — and the same wasm
 * runs under Node's own node:wasi (uvwasi, the host's real files) over the tree unpacked by
 * the CLI's extract. Their outputs must be equal.
 *
 * Normalised in `ls -lR --full-time` listings, and why (each is the reference's or the
 * runtime's, not the image's):
 *  - a directory's size and column padding: the host file system sizes directories its own
 *    way (4096), EROFS by its dirents; ls pads columns to the widest size.
 *  - fractions of a second: the unpacked tree's times were set through Node's utimes (a
 *    double: microseconds at best, milliseconds before 1970, rounding near 2554), and
 *    @tybys/wasm-util reads only mtimeMs. WASI permission bits and owners do not exist
 *    (filestat has none), so every runtime prints ---------- and 0 0.
 * Left out, with the reason:
 *  - basic-18 /names (both adapters): a name that is not UTF-8 cannot go through the JS
 *    string paths of @tybys/wasm-util or of the shim.
 *  - basic-18 /links (@tybys/wasm-util): its fd_readdir stats every entry following links,
 *    so a dangling link fails the whole listing (ENOENT) and a loop throws ELOOP.
 *  - basic-18 /dev (@tybys/wasm-util): its runtime has no file type for a FIFO (UNKNOWN,
 *    where uvwasi says SOCKET_STREAM); the socket, which extract cannot recreate, is dropped
 *    from the other runtimes' listings.
 *  - /links/len-4095: uvwasi answers ENOBUFS to a 4095-byte readlink into toybox's 4095-byte
 *    buffer (it wants room for a NUL); the line and uvwasi's error are dropped.
 *  - the shim refuses `..` relative to a subdirectory's descriptor (ENOTCAPABLE, as
 *    wasmtime does), and toybox's find stats each directory's `..`: one expected stderr line
 *    per directory, exit status 1; stdout is compared in full.
 */
import * as nodefs from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeFs } from '@erofs-js/node-fs';
import { HostController } from '@erofs-js/mount/node';
import { ErofsPreopenDirectory } from '@erofs-js/browser-wasi-shim';
import { extract } from '../packages/cli/src/extract.js';
import { FIXTURES, fixtureBytes, openFixture, readJsonl } from './fixtures.js';
import { MNT, runNodeWasi, runShim, runTybys, type GuestRun } from './adapter-c-guests.runtimes.js';

interface Entry { path?: string; type: string; size: number }

const IMAGES = [
  { image: 'rootfs-18.erofs', skipBoth: [] as string[], skipTybys: [] as string[] },
  { image: 'basic-18.erofs', skipBoth: ['names'], skipTybys: ['links', 'dev'] },
];

/** The normalised `ls -lR --full-time` listing (see the header). */
function normaliseLs(out: Buffer): string {
  return out
    .toString('latin1')
    .split('\n')
    .map((l) => l.replace(/ +/g, ' ').replace(/^(d\S* \d+ \d+ \d+ )\d+ /, '$1DIR ').replace(/(\d\d:\d\d:\d\d)\.\d{9} /, '$1 ').replace(/^total \d+$/, 'total'))
    .filter((l) => !/ socket$/.test(l) && !/ len-4095 -> /.test(l))
    .join('\n');
}

function ok(run: GuestRun): GuestRun {
  expect(run.stderr.toString(), 'stderr').toBe('');
  expect(run.code).toBe(0);
  return run;
}

describe('toybox tools for WASI read EROFS images through our adapters as they read the unpacked tree', () => {
  const work = nodefs.mkdtempSync(join(tmpdir(), 'c-guests-'));
  let host: HostController;
  beforeAll(async () => {
    host = await HostController.create({ mkdirs: IMAGES.map((i) => '/' + i.image) });
    for (const { image } of IMAGES) await host.mount({ image: FIXTURES + image, target: '/' + image });
  });
  afterAll(() => {
    host?.close();
    nodefs.rmSync(work, { recursive: true, force: true });
  });

  for (const { image, skipBoth, skipTybys } of IMAGES) {
    it(image, async () => {
      const tree = join(work, image);
      extract(openFixture(image), tree, { samePermissions: true, devices: true });
      const manifest = readJsonl<Entry>(FIXTURES + image.replace('.erofs', '.manifest.jsonl')).filter((e) => e.path !== undefined);
      const top = (skip: string[]) =>
        manifest.filter((e) => e.path!.split('/').length === 2 && e.path !== '/' && !skip.includes(e.path!.slice(1))).map((e) => MNT + e.path).sort();
      const hasLen4095 = manifest.some((e) => e.path === '/links/len-4095');
      const efs = await openNodeFs({ bytes: fixtureBytes(image) });
      const shim = ErofsPreopenDirectory.open(host.ns, MNT, { path: '/' + image });
      try {
        const tybys = (tool: string, args: string[]) => runTybys(tool, args, efs);
        const shimRun = (tool: string, args: string[]) => {
          try {
            return runShim(tool, args, shim);
          } catch (e) {
            throw new Error(`${tool} (${args.length} args) under browser_wasi_shim: ${String(e)}`);
          }
        };
        const uvwasi = (tool: string, args: string[]) => runNodeWasi(tool, args, tree);

        // ls -lR: the directory walker with stat and readlink of every entry.
        for (const [run, skip] of [[tybys, [...skipBoth, ...skipTybys]], [shimRun, skipBoth]] as const) {
          const args = ['-lR', '--full-time', ...top(skip)];
          const ref = uvwasi('ls', args);
          const lenLink = hasLen4095 && !skip.includes('links');
          expect(ref.stderr.toString()).toBe(lenLink ? `ls: ${MNT}/links/len-4095: No buffer space available\n` : '');
          const ours = ok(run('ls', args));
          const listing = normaliseLs(ours.stdout);
          expect(listing.split('\n').length).toBeGreaterThan(image.startsWith('basic') ? 2500 : 80);
          expect(listing).toBe(normaliseLs(ref.stdout));
        }

        // find: every path; readdir order is each file system's own, so the lines are sorted.
        // The socket is not in the unpacked tree; uvwasi's find drops the link it cannot read.
        const sorted = (r: GuestRun) => r.stdout.toString('latin1').split('\n').filter((l) => !/\/(socket|len-4095)$/.test(l)).sort().join('\n');
        const findArgs = top(skipBoth);
        const findRef = uvwasi('find', findArgs);
        expect(findRef.stderr.toString()).toBe(hasLen4095 ? `find: ${MNT}/links/len-4095: No buffer space available\n` : '');
        const count = manifest.filter((e) => !skipBoth.some((s) => e.path!.startsWith(`/${s}/`) || e.path === `/${s}`) && e.path !== '/').length;
        expect(findRef.stdout.toString('latin1').split('\n').length - 1).toBe(count - (manifest.some((e) => e.type === 'socket') ? 1 : 0) - (hasLen4095 ? 1 : 0));
        const findT = ok(tybys('find', top([...skipBoth, ...skipTybys])));
        expect(sorted(findT)).toBe(sorted(ok(uvwasi('find', top([...skipBoth, ...skipTybys])))));
        const findS = shimRun('find', findArgs);
        expect(sorted(findS)).toBe(sorted(findRef));
        expect(findS.stdout.toString('latin1').split('\n').length - 1).toBe(count);
        const dirs = manifest.filter((e) => e.type === 'dir' && e.path !== '/' && !skipBoth.some((d) => e.path === `/${d}` || e.path!.startsWith(`/${d}/`))).map((e) => MNT + e.path);
        expect(findS.stderr.toString().split('\n').filter(Boolean).sort()).toEqual(dirs.map((d) => `find: '${d}/..': Capabilities insufficient`).sort());
        expect(findS.code).toBe(1);

        // Checksums, cat and wc over every regular file (UTF-8 paths; the skipped ones excluded).
        const files = manifest.filter((e) => e.type === 'file' && !skipBoth.some((s) => e.path!.startsWith(`/${s}/`))).map((e) => MNT + e.path);
        expect(files.length).toBeGreaterThan(10);
        const asciiFiles = files.filter((f) => /^[\x20-\x7e]*$/.test(f));
        expect(asciiFiles.length).toBeGreaterThan(files.length / 2);
        for (const tool of ['md5sum', 'sha1sum', 'cksum', 'wc', 'cat']) {
          const ref = ok(uvwasi(tool, files));
          expect(ok(tybys(tool, files)).stdout.equals(ref.stdout), `${tool} via node-fs`).toBe(true);
          // The shim sizes argv by UTF-16 length but writes UTF-8 (args_sizes_get in 0.4.2), so
          // non-ASCII arguments overflow the guest's buffer: it gets the ASCII paths only.
          const refAscii = asciiFiles.length === files.length ? ref : ok(uvwasi(tool, asciiFiles));
          expect(ok(shimRun(tool, asciiFiles)).stdout.equals(refAscii.stdout), `${tool} via browser_wasi_shim`).toBe(true);
          if (tool === 'sha1sum') {
            // The guest's own arithmetic against node:crypto on the host files.
            const want = files.map((f) => `${createHash('sha1').update(nodefs.readFileSync(tree + f.slice(MNT.length))).digest('hex')}  ${f}\n`).join('');
            expect(ref.stdout.toString()).toBe(want);
          }
          if (tool === 'cat') expect(ref.stdout.length).toBe(manifest.filter((e) => files.includes(MNT + e.path)).reduce((n, e) => n + e.size, 0));
        }
      } finally {
        shim.dispose();
        efs.close();
      }
    }, 120_000);
  }
});
