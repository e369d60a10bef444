import { describe, expect, it } from 'vitest';
import { DataLayout, type Inode } from '../inode.js';
import { CompressedMapper } from './compressed.js';
import { ExtentKind, FORMAT_SHIFTED } from './extent.js';

/** A full-index (legacy) compressed inode built by hand: header at 32, entries from 48. */
function fullIndexInode(entries: [type: number, a: number, b: number, c?: number][], size: number, advise = 0) {
  const meta = new Uint8Array(64 + entries.length * 8);
  const dv = new DataView(meta.buffer);
  dv.setUint16(32 + 4, advise, true);
  meta[32 + 6] = 0; // lz4
  meta[32 + 7] = 0; // lcluster = block
  entries.forEach(([type, a, b, c], lcn) => {
    const p = 48 + lcn * 8;
    dv.setUint16(p, type, true);
    if (type === 2) {
      dv.setUint16(p + 4, a, true); // delta[0]
      dv.setUint16(p + 6, b, true); // delta[1]
    } else {
      dv.setUint16(p + 2, a, true); // clusterofs
      dv.setUint32(p + 4, b, true); // blkaddr
    }
    void c;
  });
  const inode = { nid: 1, pos: 0, ibase: 32, size, layout: DataLayout.CompressedFull, inMetabox: false } as Inode;
  const mapper = () =>
    new CompressedMapper({ blkszbits: 12, bigPcluster: true, availableAlgs: 1, meta: (_m, p, l) => meta.subarray(p, p + l) }, inode);
  return { mapper, dv };
}

const HEAD1 = 1, NONHEAD = 2, PLAIN = 0;

describe('CompressedMapper (full indexes)', () => {
  const layout: [number, number, number][] = [
    [HEAD1, 0, 100],
    [NONHEAD, 1, 1],
    [HEAD1, 100, 101],
    [NONHEAD, 1, 1],
    [PLAIN, 0, 102],
  ];

  it('maps offsets to whole extents, looking back through NONHEADs and ahead to the next HEAD', () => {
    const { mapper } = fullIndexInode(layout, 5 * 4096);
    expect(mapper().map(0)).toMatchObject({ kind: ExtentKind.Encoded, logical: 0, length: 2 * 4096 + 100, physical: 100 * 4096, plen: 4096, format: 0 });
    expect(mapper().map(5000)).toMatchObject({ logical: 0, length: 8292 });
    // Before the HEAD's clusterofs: still the previous extent.
    expect(mapper().map(8200)).toMatchObject({ logical: 0, length: 8292 });
    expect(mapper().map(8292)).toMatchObject({ logical: 8292, length: 16384 - 8292, physical: 101 * 4096 });
    expect(mapper().map(16389)).toMatchObject({ logical: 16384, length: 4096, physical: 102 * 4096, format: FORMAT_SHIFTED });
  });

  it('refuses look-back distances that leave the file or do not move', () => {
    const far = fullIndexInode([[HEAD1, 0, 100], [NONHEAD, 5, 1]], 2 * 4096);
    expect(() => far.mapper().map(4096)).toThrow(/bogus look-back distance 5/);
    const zero = fullIndexInode([[NONHEAD, 0, 1], [NONHEAD, 0, 1]], 2 * 4096);
    expect(() => zero.mapper().map(4096)).toThrow(/look-back distance 0/);
  });

  it('refuses a clusterofs beyond the lcluster and offsets before the first extent', () => {
    expect(() => fullIndexInode([[HEAD1, 5000, 100]], 4096).mapper().map(0)).toThrow(/clusterofs 5000/);
    expect(() => fullIndexInode([[HEAD1, 10, 100]], 4096).mapper().map(0)).toThrow(/before the first extent/);
  });

  it('reads big pcluster block counts from the CBLKCNT entry', () => {
    const { mapper } = fullIndexInode([[HEAD1, 0, 100], [NONHEAD, 0x800 | 3, 1], [NONHEAD, 2, 1]], 3 * 4096, 0x02);
    expect(mapper().map(0)).toMatchObject({ plen: 3 * 4096, length: 3 * 4096 });
  });

  it('refuses algorithms the superblock does not declare', () => {
    const { mapper, dv } = fullIndexInode(layout, 5 * 4096);
    dv.setUint8(32 + 6, 2); // deflate
    expect(() => mapper().map(0)).toThrow(/algorithm 2 is not among/);
  });

  it('refuses extents beyond the kernel limits with EOPNOTSUPP', () => {
    const entries: [number, number, number][] = [[HEAD1, 0, 1]];
    for (let i = 1; i < 3300; i++) entries.push([NONHEAD, 1, 1]); // each steps back one lcluster
    // 3300 lclusters of 4 KiB: a 13 MiB extent from one block.
    const meta = fullIndexInode(entries, 3300 * 4096);
    expect(() => meta.mapper().map(0)).toThrowError(expect.objectContaining({ code: 'EOPNOTSUPP' }));
  });
});
