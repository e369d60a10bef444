/**
 * Real guest through @erofs-js/node-fs: CRuby built for WASI by the ruby.wasm project runs
 * under @tybys/wasm-util's WASI (the polyfill @napi-rs/wasm-runtime uses), whose `fs`
 * option is our facade over an EROFS image. The Ruby walker (tests/guests/walk.rb) prints
 * types, sizes, link counts, mtimes, SHA-256 of every file, symlink targets, sorted
 * children and a Dir.glob digest. The same program under the same WASI runtime, with
 * `fs` = node:fs over the tree unpacked by the CLI's extract, must print the same listing.
 *
 * Left out, with the reason (each is the runtime's or node:fs's, the same on both sides):
 *  - rootfs-18 usr/bin: /usr/bin/env is an absolute symlink. The runtime's fd_readdir
 *    stats every entry following links; node:fs resolves "/bin/busybox" on the host,
 *    which has none (ENOENT), while the image resolves it inside the image.
 *  - basic-18 links: a symlink loop makes that stat throw ELOOP, which the runtime does
 *    not map to a WASI errno and rethrows into the guest (on both sides).
 *  - basic-18 names: a name that is not UTF-8 cannot round-trip through a JS string path.
 *  - basic-18 dev: holds a socket, which extract cannot recreate.
 */
import * as nodefs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WASI } from '@tybys/wasm-util';
import { openNodeFs } from '@erofs-js/node-fs';
import { extract } from '../packages/cli/src/extract.js';
import { fixtureBytes, openFixture } from './fixtures.js';
import { loadRubyModule, runRuby, walkScript, type Wasip1 } from './guests/ruby.js';

const CASES = [
  { image: 'rootfs-18.erofs', skip: ['usr/bin'], minLines: 40 },
  { image: 'basic-18.erofs', skip: ['links', 'names', 'dev'], minLines: 2600 },
];
const MAPPED = '/work';

let ruby: WebAssembly.Module;
const trees: string[] = [];

beforeAll(async () => {
  ruby = await loadRubyModule();
});

afterAll(() => {
  for (const t of trees) nodefs.rmSync(t, { recursive: true, force: true });
});

/** Runs the walker under @tybys/wasm-util's WASI with `fs`, `/work` preopened at `root`. */
async function walk(fs: object, root: string, skip: string[]): Promise<{ listing: string; stdout: string[] }> {
  const stdout: string[] = [];
  const wasi = new WASI({
    version: 'preview1',
    fs: fs as never,
    preopens: { [MAPPED]: root },
    returnOnExit: true,
    print: (s: string) => stdout.push(s),
    printErr: (s: string) => stdout.push(`stderr: ${s}`),
  });
  const listing = await runRuby(ruby, wasi as unknown as Wasip1, `${walkScript(MAPPED, skip)}\nputs "entries: #{out.length}"\nout.join("\\n")`);
  return { listing, stdout };
}

describe('ruby.wasm under @tybys/wasm-util WASI with @erofs-js/node-fs as its fs', () => {
  for (const { image, skip, minLines } of CASES) {
    it(`walks ${image} and prints what it prints over the unpacked tree`, async () => {
      const tree = nodefs.mkdtempSync(join(tmpdir(), 'node-fs-guest-'));
      trees.push(tree);
      extract(openFixture(image), tree, { samePermissions: true, devices: true });
      const host = await walk(nodefs, tree, skip);

      const efs = await openNodeFs({ bytes: fixtureBytes(image) });
      try {
        const ours = await walk(efs, '/', skip);
        const lines = ours.listing.split('\n');
        expect(lines.length).toBeGreaterThan(minLines);
        // The listing read real content: every regular file got a digest.
        expect(lines.filter((l) => / file \d+ \d+ -?\d+ [0-9a-f]{64}$/.test(l)).length).toBeGreaterThan(10);
        expect(ours.listing).toBe(host.listing);
        // Output went through the runtime's own stdout (fd 1), not through fs.
        expect(ours.stdout).toEqual([`entries: ${lines.length}`]);
        expect(ours.stdout).toEqual(host.stdout);
      } finally {
        efs.close();
      }
    }, 120_000);
  }

  it('a guest that reads a missing file gets ENOENT through the facade', async () => {
    const efs = await openNodeFs({ bytes: fixtureBytes('rootfs-18.erofs') });
    try {
      const wasi = new WASI({ version: 'preview1', fs: efs as never, preopens: { [MAPPED]: '/' }, returnOnExit: true });
      const out = await runRuby(
        ruby,
        wasi as unknown as Wasip1,
        `begin; File.read("${MAPPED}/etc/nope"); "read"; rescue SystemCallError => e; e.class.name; end + " " + File.read("${MAPPED}/etc/hostname").strip`,
      );
      expect(out).toBe(`Errno::ENOENT ${new TextDecoder().decode(efs.readFileSync('/etc/hostname') as Uint8Array).trim()}`);
    } finally {
      efs.close();
    }
  });
});
