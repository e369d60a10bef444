/**
 * The builder outputs that the real tools judge: hand-made trees (every file type, xattrs,
 * hard links, long names, a 500-entry directory, sparse and LZ4-friendly and -hostile data,
 * in four block sizes with and without inline data) and generated trees (tests/mkfs-tree.ts
 * specs). tools/mkfs-check.ts builds them, checks each image with fsck.erofs and the
 * kernel's mount and records the verdicts with each image's sha256 in
 * fixtures/mkfs-check.jsonl; tests/mkfs-verdicts.test.ts rebuilds them from that record
 * and requires the same bytes, so that a builder change the tools have not judged fails.
 */
import { device, dir, fifo, file, socket, symlink, type BuildOptions, type DirNode } from '@erofs-js/mkfs';
import { treeOf, type TreeSpec } from './mkfs-tree.js';

export interface MkfsCase {
  name: string;
  tree: DirNode;
  options: BuildOptions;
  /** Generated cases: the spec the tree was expanded from (recorded, so no generator is needed to rebuild it). */
  spec?: TreeSpec;
}

const utf8 = new TextEncoder();

/** The hand-made cases; with `lz4`, compressed and with compressible and incompressible files added. */
export function handmadeCases(lz4: boolean): MkfsCase[] {
  const shared = { 'user.shared': utf8.encode('one value, many inodes') };
  const hl = file('linked', { xattrs: shared });
  const wide: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 500; i++) wide[`entry-with-a-longish-name-${i}`] = file(`${i}`);
  const tree = dir({
    'a.txt': file('hello\n'),
    big: file(new Uint8Array(100_000).map((_, i) => i * 31)),
    block: file(new Uint8Array(4096).fill(9)),
    sparse: file(new Uint8Array(64 * 1024).fill(1, 20_000, 20_010)),
    empty: file(''),
    ext: file('extended', { uid: 100_000, mtime: 1, mtimeNsec: 999_999_999 }),
    sub: dir({ deeper: dir({ x: file('x', { xattrs: { ...shared, 'trusted.overlay.opaque': utf8.encode('y') } }) }), link: hl }),
    link2: hl,
    sl: symlink('a.txt'),
    longsl: symlink('t/'.repeat(2000)),
    cdev: device('chardev', 1, 3),
    bdev: device('blockdev', 259, 70_000),
    ff: fifo(),
    so: socket(),
    ['é'.repeat(127) + 'x']: file('long name'),
    wide: dir(wide),
  }, { xattrs: { 'security.x1': utf8.encode('root') } });
  if (lz4) {
    // Compressible and incompressible runs in one file, long zero runs, text.
    let x = 1;
    const noise = (n: number) => new Uint8Array(n).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
    const text = utf8.encode('An EROFS image holds this sentence many times over, with small changes: '.repeat(2000));
    tree.entries.set('text', file(text));
    tree.entries.set('mixed', file(new Uint8Array([...text.subarray(0, 50_000), ...noise(30_000), ...new Uint8Array(2 << 20), ...text.subarray(0, 9_999)])));
    tree.entries.set('zeros', file(new Uint8Array(5 << 20)));
    tree.entries.set('noise', file(noise(50_000)));
  }
  const out: MkfsCase[] = [];
  for (const blockSize of [512, 1024, 2048, 4096]) {
    for (const inlineData of [true, false]) {
      // Half of them with 8-byte chunk indexes and compact compressed indexes, half with the
      // 4-byte block map and full compressed indexes.
      out.push({
        name: `handmade-b${blockSize}${inlineData ? '' : '-noinline-chunkidx'}`,
        tree,
        options: { blockSize, inlineData, chunkBits: 0, chunkIndexes: !inlineData, epoch: 1_700_000_000, fixedNsec: 0, volumeName: 'mkfs-check', compression: lz4 ? 'lz4' : undefined, compressedIndexes: inlineData ? 'full' : 'compact' },
      });
    }
  }
  return out;
}

/** A generated case from its spec; `lz4` forces LZ4 compression (specs otherwise pick it at random). */
export function generatedCase(name: string, spec: TreeSpec, lz4: boolean): MkfsCase {
  const s: TreeSpec = lz4 ? { ...spec, compression: 'lz4' } : spec;
  return { name, spec: s, ...treeOf(s) };
}
