import { describe, expect, it } from 'vitest';
import { DataLayout, type Inode } from '../inode.js';
import { ExtentKind } from './extent.js';
import { mapFlat } from './flat.js';

const inode = (layout: DataLayout, size: number, startBlock: number | null, ibase: number) =>
  ({ nid: 1, layout, size, startBlock, ibase, inMetabox: false }) as Inode;

describe('mapFlat', () => {
  it('FLAT_PLAIN maps the whole file contiguously from the start block', () => {
    const e = mapFlat(inode(DataLayout.FlatPlain, 10000, 5, 0), 4100, 12);
    expect(e).toEqual({ kind: ExtentKind.Data, logical: 4100, length: 5900, physical: 5 * 4096 + 4100, deviceId: 0 });
  });

  it('FLAT_PLAIN with a NULL start block is one hole', () => {
    expect(mapFlat(inode(DataLayout.FlatPlain, 10000, null, 0), 0, 12)).toMatchObject({ kind: ExtentKind.Hole, length: 10000 });
  });

  it('FLAT_INLINE puts whole blocks first and the tail right after the inode', () => {
    const i = inode(DataLayout.FlatInline, 2 * 4096 + 100, 7, 8192 + 64);
    expect(mapFlat(i, 0, 12)).toMatchObject({ kind: ExtentKind.Data, length: 8192, physical: 7 * 4096 });
    expect(mapFlat(i, 8192 + 10, 12)).toMatchObject({ kind: ExtentKind.Inline, length: 90, physical: 8192 + 64 + 10 });
  });

  it('refuses an inline tail that would cross a block boundary', () => {
    const i = inode(DataLayout.FlatInline, 100, 0xffffffff, 4096 - 50);
    expect(() => mapFlat(i, 0, 12)).toThrow(/inline tail of 100 bytes crosses a block boundary/);
  });
});
