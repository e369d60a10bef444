/**
 * The golden sweep through HTTP: every fixture (and its extra devices) served by the
 * loopback range server and decoded through RangeSource, with small blocks and a small
 * cache so that reads cross blocks, windows and evictions, gives the manifests the kernel
 * gave. See golden.test.ts for the sweep over local bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Image, isCompressed, walk, type RangeSource } from '@erofs-js/erofs';
import { openRangeSource } from '@erofs-js/erofs/node';
import { manifestRecord, readdirRecords, type ManifestRecord } from '../packages/cli/src/manifest.js';
import { FIXTURES, fixtureBytes, fixtureIndex, readJsonl } from './fixtures.js';
import { ServerProcess } from './range-server.js';

const index = fixtureIndex();
let server: ServerProcess;

beforeAll(async () => {
  server = await ServerProcess.start();
  const names = new Set(index.flatMap((f) => [f.image, ...f.devices]));
  for (const n of names) await server.put('/' + n, fixtureBytes(n));
});
afterAll(() => server.close());

const OPTIONS = { blockSize: 4096, readaheadMax: 64 << 10, cacheBytes: 128 << 10, attemptTimeoutMs: 5000 };

describe('golden sweep over HTTP ranges', () => {
  for (const fx of index) {
    it(fx.image, async () => {
      const sources: RangeSource[] = [];
      try {
        const main = await openRangeSource(server.url('/' + fx.image), OPTIONS);
        sources.push(main);
        for (const d of fx.devices) sources.push(await openRangeSource(server.url('/' + d), OPTIONS));
        const image = new Image(main, { devices: sources.slice(1) });
        const recs: { path: Uint8Array; rec: ManifestRecord }[] = [];
        let compressed = 0;
        walk(image, (e) => {
          if (isCompressed(e.inode)) compressed++;
          recs.push({ path: e.path, rec: manifestRecord(image, e.path, e.inode) });
        });
        recs.sort((a, b) => Buffer.compare(a.path, b.path));
        const base = FIXTURES + fx.image.replace(/\.erofs$/, '');
        const truth = readJsonl<Record<string, unknown>>(base + '.manifest.jsonl');
        expect(compressed > 0).toBe(fx.options.some((o) => o.startsWith('-z')));
        expect(recs.length).toBe(truth.length);
        for (let i = 0; i < truth.length; i++) {
          const o = { ...recs[i].rec } as Record<string, unknown>;
          if (!('ino' in truth[i])) delete o.ino;
          expect(o, String(truth[i].path ?? truth[i].path_b64)).toEqual(truth[i]);
        }
        expect([...readdirRecords(image)]).toEqual(readJsonl(base + '.readdir.jsonl'));
        // Never more bytes than the image (and devices) hold: nothing fetched twice while cached.
        expect(main.stats.requests).toBeGreaterThan(0);
      } finally {
        for (const s of sources) s.close();
      }
    });
  }
});
