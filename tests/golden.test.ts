/**
 * The golden sweep: every committed fixture decoded whole and compared, field by field,
 * with the manifest taken from the Linux kernel's own mount of the same image (or from
 * the source tree where the kernel cannot mount it), plus every directory's order.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Image, MemorySource, decodeName, isDir, isCompressed, walk, type ByteSource } from '@erofs-js/erofs';
import { manifestRecord, readdirRecords, type ManifestRecord } from '../packages/cli/src/manifest.js';
import { FIXTURES, fixtureIndex, openFixture, readJsonl } from './fixtures.js';

const index = fixtureIndex();

/** Our manifest of an image, every file's content decoded (compressed ones too). */
function ourManifest(image: ReturnType<typeof openFixture>): { recs: ManifestRecord[]; compressedFiles: number } {
  const recs: { path: Uint8Array; rec: ManifestRecord }[] = [];
  let compressedFiles = 0;
  walk(image, (e) => {
    if (isCompressed(e.inode)) compressedFiles++;
    recs.push({ path: e.path, rec: manifestRecord(image, e.path, e.inode) });
  });
  recs.sort((a, b) => Buffer.compare(a.path, b.path));
  return { recs: recs.map((r) => r.rec), compressedFiles };
}

/**
 * A file's bytes as a Node Buffer that shares a larger allocation: a non-zero (odd)
 * byteOffset and foreign bytes on both sides. Code that takes `.slice()` for a copy (a
 * Buffer's is a view) or reads `.buffer` without `byteOffset` shows up here.
 */
function pooledBuffer(path: string): Buffer {
  const pad = Buffer.alloc(7, 0xa5);
  const bytes = readFileSync(path);
  return Buffer.concat([pad, bytes, pad]).subarray(pad.length, pad.length + bytes.length);
}

/** A source that hands out the Buffer's own subarrays (Buffers), as a caller's ByteSource may. */
function bufferViews(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    readInto: (dest, at, off, n) => dest.set(buf.subarray(off, off + n), at),
    view: (off, n) => buf.subarray(off, off + n),
  };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('golden sweep', () => {
  it('covers every image in fixtures/ and every mkfs version', () => {
    expect(index.length).toBeGreaterThanOrEqual(20);
    const tools = new Set(index.map((f) => f.tool.replace(/^mkfs\.erofs\s*/, '').slice(0, 3)));
    expect([...tools].sort()).toEqual(['1.5', '1.8', '1.9']);
  });

  for (const fx of index) {
    describe(fx.image, () => {
      const base = FIXTURES + fx.image.replace(/\.erofs$/, '');

      it('manifest equals the truth, field by field', () => {
        const image = openFixture(fx.image);
        const { recs: ours, compressedFiles } = ourManifest(image);
        const compressed = fx.options.some((o) => o.startsWith('-z'));
        if (compressed) expect(compressedFiles).toBeGreaterThan(0);
        else expect(compressedFiles).toBe(0);
        const truth = readJsonl<Record<string, unknown>>(base + '.manifest.jsonl');
        expect(ours.map((r) => r.path ?? r.path_b64)).toEqual(truth.map((r) => r.path ?? r.path_b64));
        for (let i = 0; i < truth.length; i++) {
          const t = truth[i];
          const o = { ...ours[i] } as Record<string, unknown>;
          // A kernel manifest has the inode number the kernel reported for every path; only a
          // manifest made from the source tree (none is committed now) has none to compare.
          if (fx.truth === 'source') delete o.ino;
          else expect(t.ino, `${String(t.path ?? t.path_b64)}: the kernel's manifest has no ino`).toEqual(expect.any(Number));
          expect(o, String(t.path ?? t.path_b64)).toEqual(t);
        }
      });

      it('directory order equals getdents order', () => {
        const image = openFixture(fx.image);
        const ours = [...readdirRecords(image)];
        const truth = readJsonl(base + '.readdir.jsonl');
        expect(ours).toEqual(truth);
      });

      it('finds every name by binary-search lookup, and misses names that are absent', () => {
        const image = openFixture(fx.image);
        let dirs = 0;
        let misses = 0;
        walk(image, (e) => {
          if (!isDir(e.inode)) return;
          dirs++;
          const entries = [...image.readdir(e.inode)];
          const names = new Map(entries.map((d) => [Buffer.from(d.name).toString('latin1'), d.nid]));
          for (const d of entries) {
            const where = decodeName(e.path) + '/' + decodeName(d.name);
            const hit = image.lookup(e.inode, d.name);
            expect(hit?.nid, where).toBe(d.nid);
            // A name right after this one (one more byte, or the last byte changed); absent
            // unless the directory happens to hold it, in which case it must be found.
            const miss = new Uint8Array(d.name.length < 255 ? d.name.length + 1 : 255);
            miss.set(d.name.subarray(0, miss.length));
            if (d.name.length < 255) miss[d.name.length] = 0x01;
            else miss[254] = d.name[254] === 0xff ? 0xfe : d.name[254] + 1;
            const found = image.lookup(e.inode, miss);
            const present = names.get(Buffer.from(miss).toString('latin1'));
            if (present === undefined) {
              misses++;
              expect(found, `${where}: found ${decodeName(miss)}, which the directory does not hold`).toBeUndefined();
            } else expect(found?.nid, where).toBe(present);
          }
        });
        expect(dirs).toBeGreaterThan(1);
        expect(misses).toBeGreaterThan(dirs);
      });

      it('given as Buffers inside a larger pool: decodes the same, twice, and leaves the caller\'s bytes alone', () => {
        const bytes = pooledBuffer(FIXTURES + fx.image);
        const devices = fx.devices.map((d) => pooledBuffer(FIXTURES + d));
        expect(bytes.byteOffset).toBeGreaterThan(0);
        const before = [bytes, ...devices].map(sha256);
        const truth = readJsonl<Record<string, unknown>>(base + '.manifest.jsonl');
        // Twice: a first open that wrote into the caller's bytes (the checksum field) fails the
        // second. First through MemorySource (openNodeFs({ bytes }) and ZenFS { data } take that
        // path), then through a source whose every view is a Buffer, which reaches each place
        // in the decoder that copies or reinterprets a view.
        for (const wrap of [(b: Buffer) => new MemorySource(b), bufferViews]) {
          const image = new Image(wrap(bytes), { devices: devices.map(wrap) });
          const { recs: ours } = ourManifest(image);
          expect(ours.length).toBe(truth.length);
          for (let i = 0; i < truth.length; i++) {
            const t = truth[i];
            const o = ours[i];
            expect([o.path ?? o.path_b64, o.mode, o.size, o.sha256, o.target ?? o.target_b64, o.xattrs], String(t.path ?? t.path_b64))
              .toEqual([t.path ?? t.path_b64, t.mode, t.size, t.sha256, t.target ?? t.target_b64, t.xattrs]);
          }
        }
        expect([bytes, ...devices].map(sha256)).toEqual(before);
      });

      for (const dev of fx.devices) {
        it(`needs its extra device ${dev} for data, and says so with EIO`, () => {
          expect(existsSync(FIXTURES + dev)).toBe(true);
          const image = openFixture(fx.image, { devices: [] });
          expect(() => walk(image, (e) => void manifestRecord(image, e.path, e.inode))).toThrowError(expect.objectContaining({ code: 'EIO' }));
        });
      }
    });
  }
});
