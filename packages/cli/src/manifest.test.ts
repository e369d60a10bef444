/**
 * `erofs manifest` as a library: the order of its paths (a sort of the full path bytes,
 * produced one directory at a time), that it streams, and that a file's holes are hashed
 * without being read. The CLI's output on the fixtures is compared with the kernel's
 * manifests in main.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DataLayout, ExtentKind, Image, MemorySource, isDir, walk, type Inode } from '@erofs-js/erofs';
import { buildImage, dir, file, symlink, type DirNode, type TreeNode } from '@erofs-js/mkfs';
import { fixtureIndex, nodeAt, openFixture } from '../../../tests/fixtures.js';
import { hashContent, manifest, manifestRecord, pathOrder, readdirRecords, sha256Of } from './manifest.js';

const open = (bytes: Uint8Array) => new Image(new MemorySource(bytes));
const build = (tree: DirNode, chunkBits?: number) => buildImage(tree, { checksum: false, epoch: 1_000_000, chunkBits });
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
/** A record's path bytes, as latin1. */
const pathOf = (r: { path?: string; path_b64?: string }) => latin1(r.path !== undefined ? Buffer.from(r.path) : Buffer.from(r.path_b64!, 'base64'));

/** Every path of the image, sorted by its bytes after a whole walk: the order manifest.py writes. */
function sortedPaths(image: Image): string[] {
  const paths: Uint8Array[] = [];
  walk(image, (e) => void paths.push(e.path));
  return paths.sort((a, b) => Buffer.compare(a, b)).map(latin1);
}

/** Counts the image's read() calls and the bytes they ask for. */
function countReads(image: Image): { calls: number; bytes: number } {
  const n = { calls: 0, bytes: 0 };
  const read = image.read.bind(image);
  image.read = (inode, offset, dest, destOffset = 0, length = dest.length - destOffset) => {
    n.calls++;
    n.bytes += length;
    return read(inode, offset, dest, destOffset, length);
  };
  return n;
}

/**
 * A one-file image whose file is a FLAT_PLAIN hole of `size` bytes: the null start block
 * (as in tests/hardening.test.ts), so 4 KiB of image claim any size.
 */
function holeImage(size: number): { image: Image; f: Inode } {
  const bytes = build(dir({ f: file(new Uint8Array(0), { mtime: 5 }) })); // extended inode: 64-bit i_size
  const pos = nodeAt(open(bytes), '/f').pos;
  const dv = new DataView(bytes.buffer);
  dv.setUint32(pos + 8, size % 2 ** 32, true);
  dv.setUint32(pos + 12, Math.floor(size / 2 ** 32), true);
  dv.setUint32(pos + 0x10, 0xffffffff, true); // null start block: all hole
  dv.setUint16(pos + 6, 0xffff, true); // its 48-bit high part
  const image = open(bytes);
  const f = nodeAt(image, '/f');
  expect([f.size, f.layout, image.map(f, 0).kind]).toEqual([size, DataLayout.FlatPlain, ExtentKind.Hole]);
  return { image, f };
}

describe('path order', () => {
  it('equals a sort of every path by bytes, on every fixture', () => {
    for (const fx of fixtureIndex()) {
      const image = openFixture(fx.image);
      expect([...pathOrder(image)].map((e) => latin1(e.path)), fx.image).toEqual(sortedPaths(image));
    }
  });

  it('puts siblings whose names extend a directory\'s name between it and its children ("a" < "a-b" < "a-b/x" < "a/x")', () => {
    const leaf = () => dir({ x: file('x'), 'x-': file('y'), 'x.': dir({ z: file('z') }) });
    const entries = new Map<string | Uint8Array, TreeNode>();
    for (const name of ['a', 'a-', 'a-b', 'a.', 'a ', 'a!', 'a0', 'a\x01', 'a\x7f', 'b', '-', '.a', 'az']) {
      entries.set(name, leaf());
    }
    entries.set(new Uint8Array([0x61, 0xff]), leaf()); // "a\xff", not UTF-8
    entries.set(new Uint8Array([0x61, 0x2e, 0x80]), file('q')); // "a.\x80"
    entries.set('a-link', symlink('a'));
    const image = open(build(dir({ top: dir(entries), 'top-': file('t'), 'top.': dir({ top: leaf() }) })));
    const ours = [...pathOrder(image)].map((e) => latin1(e.path));
    expect(ours).toEqual(sortedPaths(image));
    expect(ours.indexOf('/top/a-b/x')).toBeLessThan(ours.indexOf('/top/a/x'));
    expect(ours.indexOf('/top/a-b')).toBeGreaterThan(ours.indexOf('/top/a'));
    expect(ours.filter((p) => p.startsWith('/top/a\xff')).length).toBe(5);
    // The records and the readdir listings come in the same order.
    expect([...manifest(image)].map(pathOf)).toEqual(ours);
    const dirPaths = new Set<string>();
    walk(image, (e) => void (isDir(e.inode) && dirPaths.add(latin1(e.path))));
    expect([...readdirRecords(image)].map(pathOf)).toEqual(ours.filter((p) => dirPaths.has(p)));
  });

  it('refuses a directory reached twice (a directory hard link) with EUCLEAN instead of listing it again', () => {
    const bytes = build(dir({ a: dir({ x: file('x') }), b: dir({ y: file('y') }) }));
    const image = open(bytes);
    const root = image.root();
    const a = image.lookup(root, 'a')!;
    const b = image.lookup(root, 'b')!;
    // Point the dirent "b" at directory "a": its nid is the dirent's first 8 bytes.
    const ext = image.map(root, b.offset);
    const at = ext.physical + (b.offset - ext.logical);
    const dv = new DataView(bytes.buffer);
    expect(Number(dv.getBigUint64(at, true))).toBe(b.nid);
    dv.setBigUint64(at, BigInt(a.nid), true);
    expect(() => [...pathOrder(open(bytes))]).toThrowError(expect.objectContaining({ code: 'EUCLEAN', message: expect.stringMatching(/reachable twice/) }));
  });
});

describe('streaming', () => {
  it('yields records while it walks: names in memory stay within the directories on the current path', () => {
    const top: Record<string, TreeNode> = {};
    for (let d = 0; d < 40; d++) {
      const files: Record<string, TreeNode> = {};
      for (let f = 0; f < 25; f++) files[`f${f}`] = file(`${d}/${f}`);
      top[`d${String(d).padStart(2, '0')}`] = dir(files);
    }
    const image = open(build(dir(top)));
    let listed = 0; // entries read from directories so far
    let dirsRead = 0;
    const readdir = image.readdir.bind(image);
    image.readdir = function* (inode, from) {
      dirsRead++;
      for (const d of readdir(inode, from)) {
        if (d.name[0] !== 0x2e || d.name.length > 2 || (d.name.length === 2 && d.name[1] !== 0x2e)) listed++;
        yield d;
      }
    };
    const it = manifest(image);
    // "/" then "/d00": only the root has been read so far.
    expect([it.next().value?.path, it.next().value?.path, dirsRead]).toEqual(['/', '/d00', 1]);
    let records = 2;
    let mostAhead = 0;
    for (let r = it.next(); !r.done; r = it.next()) {
      records++;
      mostAhead = Math.max(mostAhead, listed - records);
    }
    expect([records, dirsRead]).toEqual([1 + 40 + 40 * 25, 41]);
    // Names held ahead of the records: at most the root's 40 and one directory's 25 (a
    // collect-then-sort manifest holds all 1041 records before it returns the first).
    expect(mostAhead).toBeLessThanOrEqual(40 + 25);
    expect(mostAhead).toBeGreaterThan(25);
  });
});

describe('hashing holes', () => {
  it('a 2^32-byte hole: the sha256 of 2^32 zero bytes, and no read of the file', () => {
    const { image, f } = holeImage(2 ** 32);
    const reads = countReads(image);
    // Computed outside this code: head -c 4294967296 /dev/zero | sha256sum (coreutils), and
    // the same with openssl dgst -sha256.
    expect(sha256Of(image, f)).toBe('8479e43911dc45e89f934fe48d01297e16f51d17aa561d4d1c216b1ae0fcddca');
    expect(reads.calls).toBe(0);
  });

  it('a 2^40-byte hole: fed to the hash as exactly 2^40 zero bytes in 1 MiB runs of one buffer, in bounded time', () => {
    const { image, f } = holeImage(2 ** 40);
    const reads = countReads(image);
    let bytes = 0;
    let calls = 0;
    let first: Uint8Array | undefined;
    let sameBuffer = true;
    const t = performance.now();
    hashContent(image, f, {
      update(data: Uint8Array) {
        first ??= data;
        sameBuffer &&= data.buffer === first.buffer;
        bytes += data.length;
        calls++;
      },
    });
    // The structure's cost (the hash's own work on 2^40 bytes takes ~9 minutes: see hashContent).
    expect(performance.now() - t).toBeLessThan(5000);
    expect([bytes, calls, sameBuffer, reads.calls]).toEqual([2 ** 40, 2 ** 20, true, 0]);
    expect(first!.every((b) => b === 0)).toBe(true);
  });

  it('a chunked sparse file: only the data chunks are read, the hash equals the content\'s', () => {
    const MiB = 1 << 20;
    const content = new Uint8Array(5 * MiB + 100);
    for (let i = 0; i < MiB; i++) content[i] = (i * 7 + 3) & 255;
    for (let i = 4 * MiB; i < content.length; i++) content[i] = (i * 13 + 1) & 255;
    const image = open(build(dir({ s: file(content) }), 0)); // 4 KiB chunks
    const s = nodeAt(image, '/s');
    expect(s.layout).toBe(DataLayout.ChunkBased);
    expect(image.map(s, 2 * MiB).kind).toBe(ExtentKind.Hole);
    const reads = countReads(image);
    expect(sha256Of(image, s)).toBe(createHash('sha256').update(content).digest('hex'));
    // 1 MiB of data, three of holes (768 hole chunks: no read), then 1 MiB + 100 bytes.
    expect(reads.bytes).toBe(2 * MiB + 100);
  });

  it('a fixture\'s sparse chunked file hashes as reading it whole does (every fixture is checked against the kernel in main.test.ts)', () => {
    const image = openFixture('basic-18-chunk.erofs');
    const sparse = nodeAt(image, '/files/sparse');
    expect(sparse.layout).toBe(DataLayout.ChunkBased);
    const h = createHash('sha256');
    const buf = new Uint8Array(sparse.size);
    image.read(sparse, 0, buf);
    h.update(buf);
    expect(manifestRecord(image, new TextEncoder().encode('/files/sparse'), sparse).sha256).toBe(h.digest('hex'));
  });

  it.skipIf(!process.env.EROFS_SLOW_TESTS)('(EROFS_SLOW_TESTS=1, about 9 minutes) a 2^40-byte hole hashes to the sha256 of 2^40 zero bytes', () => {
    const { image, f } = holeImage(2 ** 40);
    expect(sha256Of(image, f)).toBe(SHA256_OF_2_40_ZEROS);
  }, 1_800_000);
});

/**
 * Computed outside this code, by Python 3.11's hashlib fed 2^14 runs of 64 MiB of zeros (672 s
 * here): python3 -c 'import hashlib; h = hashlib.sha256(); z = bytes(1 << 26); [h.update(z) for _ in range(1 << 14)]; print(h.hexdigest())'
 */
const SHA256_OF_2_40_ZEROS = '2f236f2140d22e400d6a39e697fb54deddfd28a09776c76ab4b8a28644780516';
