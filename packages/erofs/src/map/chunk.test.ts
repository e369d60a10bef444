import { describe, expect, it } from 'vitest';
import { DataLayout, type Inode } from '../inode.js';
import { ExtentKind } from './extent.js';
import { chunkTablePos, mapChunk } from './chunk.js';

function chunked(format: number, size: number, ibase: number): Inode {
  return { nid: 1, layout: DataLayout.ChunkBased, chunkFormat: format, chunkBits: 12 + (format & 31), size, ibase, inMetabox: false } as Inode;
}

function metaOf(table: Uint8Array, at: number) {
  return (_m: boolean, pos: number, len: number) => table.subarray(pos - at, pos - at + len);
}

describe('mapChunk', () => {
  it('aligns the table to the entry size after the inode and xattrs', () => {
    expect(chunkTablePos(chunked(0, 10000, 100))).toEqual({ pos: 100, unit: 4, count: 3 });
    expect(chunkTablePos(chunked(0x20, 10000, 100))).toEqual({ pos: 104, unit: 8, count: 3 });
  });

  it('reads 4-byte block-map entries, all-ones being a hole', () => {
    const t = new Uint8Array(12);
    const dv = new DataView(t.buffer);
    dv.setUint32(0, 10, true);
    dv.setUint32(4, 0xffffffff, true);
    dv.setUint32(8, 30, true);
    const i = chunked(0, 2 * 4096 + 5, 64);
    const m = metaOf(t, 64);
    expect(mapChunk(i, 100, 12, 0, m)).toEqual({ kind: ExtentKind.Data, logical: 100, length: 3996, physical: 10 * 4096 + 100, deviceId: 0 });
    expect(mapChunk(i, 4096, 12, 0, m)).toMatchObject({ kind: ExtentKind.Hole, length: 4096 });
    expect(mapChunk(i, 8192, 12, 0, m)).toMatchObject({ kind: ExtentKind.Data, length: 5, physical: 30 * 4096 });
  });

  it('reads 8-byte chunk indexes with device ids masked like the kernel, and 48-bit high bits', () => {
    const t = new Uint8Array(16);
    const dv = new DataView(t.buffer);
    dv.setUint16(0, 1, true); // startblk_hi
    dv.setUint16(2, 1 | 4, true); // device 1, plus a bit above the mask
    dv.setUint32(4, 2, true);
    dv.setUint16(8, 0xffff, true);
    dv.setUint32(12, 0xffffffff, true);
    const i = chunked(0x20 | 0x40, 8192, 64);
    const m = metaOf(t, 64);
    expect(mapChunk(i, 0, 12, 1, m)).toMatchObject({ kind: ExtentKind.Data, deviceId: 1, physical: (2 ** 32 + 2) * 4096 });
    expect(mapChunk(i, 4096, 12, 1, m)).toMatchObject({ kind: ExtentKind.Hole });
  });

  it('refuses device ids beyond the device table', () => {
    const t = new Uint8Array(8);
    new DataView(t.buffer).setUint16(2, 3, true);
    expect(() => mapChunk(chunked(0x20, 4096, 64), 0, 12, 2, metaOf(t, 64))).toThrow(/device id 3 beyond the 2 extra devices/);
  });
});
