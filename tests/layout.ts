/**
 * Where an image's metadata lives, for structure-aware mutation: the byte ranges of the
 * superblock, device table, inodes, xattrs, long prefixes, chunk tables, directory blocks,
 * inline tails, compressed files' map headers and indexes (full, compact, encoded extent
 * records), inodes held in a metabox and a compressed metabox's pclusters. Shared by
 * tests/mutation.test.ts and the fuzzer (tools/fuzz-targets.ts); the mutation test checks
 * that every byte the mapper reads for a compressed file lies in that file's ranges.
 *
 * Computed from a clean image with the decoder itself, except the compressed indexes, whose
 * extents follow the on-disk rules (the kernel's z_erofs_map_header and index layouts).
 */
import {
  COMPAT,
  DataLayout,
  ExtentKind,
  INCOMPAT,
  isCompressed,
  isDir,
  walk,
  type Image,
  type Inode,
  type Superblock,
} from '../packages/erofs/src/index.js';

export type RangeKind =
  | 'superblock'
  | 'devtable'
  | 'inode'
  | 'xattr'
  | 'prefix'
  | 'chunk'
  | 'dirent'
  | 'inline'
  // Compressed files: the 8-byte map header, full ("legacy") lcluster indexes, compact 2/4-byte
  // packs, encoded extent records (48-bit layout).
  | 'zheader'
  | 'zindex-legacy'
  | 'zindex-compact'
  | 'zextent'
  // Inodes held in an uncompressed metabox, and the pclusters of a compressed metabox (its
  // inodes and directories live inside them).
  | 'metabox-inode'
  | 'metabox-pcluster';
export interface Range {
  start: number;
  end: number;
  kind: RangeKind;
  /** The inode the range belongs to; the root's for image-wide structures (superblock, device table, prefixes). */
  nid: number;
}

export interface Layout {
  ranges: Range[];
  blockSize: number;
  /** NIDs of every inode with xattrs, with the names it holds. */
  xattrInodes: { nid: number; names: Uint8Array[] }[];
  sb: Superblock;
}

/** The metadata ranges of a clean image of `size` bytes (ranges past the end are dropped). */
export function metadataLayout(image: Image, size: number): Layout {
  const sb = image.sb;
  const bs = image.blockSize;
  const ranges: Range[] = [];
  let nid = image.rootNid;
  const add = (start: number, len: number, kind: RangeKind) => {
    if (len > 0 && start >= 0 && start + len <= size) ranges.push({ start, end: start + len, kind, nid });
  };
  const metabox = sb.featureIncompat & INCOMPAT.METABOX ? image.inode(sb.metaboxNid) : undefined;
  /** Physical ranges of [off, off+len) of a file's data: blocks, inline tails; holes skipped. */
  const addFile = (inode: Inode, off: number, len: number, kind: RangeKind) => {
    const end = Math.min(off + len, inode.size);
    for (let p = off; p < end; ) {
      const x = image.map(inode, p);
      const n = Math.min(x.logical + x.length, end) - p;
      if (x.kind === ExtentKind.Data && x.deviceId === 0) add(x.physical, n, kind);
      else if (x.kind === ExtentKind.Inline) addMeta(inode.inMetabox, x.physical, n, kind);
      p += n;
    }
  };
  const addMeta = (inMetabox: boolean, pos: number, len: number, kind: RangeKind) => {
    if (!inMetabox) add(pos, len, kind);
    else addFile(metabox!, pos, len, kind);
  };

  add(1024, sb.sbSize, 'superblock');
  if (sb.featureIncompat & INCOMPAT.DEVICE_TABLE && sb.extraDevices) add(sb.devtSlotoff * 128, sb.extraDevices * 128, 'devtable');

  const seen = new Set<number>();
  const xattrInodes: Layout['xattrInodes'] = [];
  const sharedInMetabox = (sb.featureCompat & COMPAT.SHARED_EA_IN_METABOX) !== 0;
  /**
   * A compressed file's map header and index, by the on-disk rules (the kernel's
   * z_erofs_map_header and index layouts), not by asking the mapper: header at ibase rounded
   * up to 8; full indexes 8 bytes per lcluster after 8 more bytes; encoded extents as
   * records of 4 << ((advise >> 1) & 3) bytes; compact indexes as 4-byte entries up to a
   * 32-byte boundary, 2-byte packs of 16 when COMPACTED_2B, 4-byte packs of 2 to the end.
   */
  const addZindex = (i: Inode) => {
    const hp = Math.ceil(i.ibase / 8) * 8;
    addMeta(i.inMetabox, hp, 8, 'zheader');
    const h = image.metaView(i.inMetabox, hp, 8).slice();
    if (h[7] & 0x80) return; // the whole file is a fragment: no index
    const advise = h[4] | (h[5] << 8);
    const lclusterBits = bs.toString(2).length - 1 + (h[7] & 15);
    const lclusters = Math.ceil(i.size / 2 ** lclusterBits);
    if (i.layout === DataLayout.CompressedFull && advise & 1) {
      const recsz = 4 << ((advise >> 1) & 3);
      const start = Math.ceil((hp + 8) / recsz) * recsz;
      const dv = new DataView(h.buffer);
      const records = recsz <= 8 ? lclusters : dv.getUint32(0, true) + (recsz >= 16 ? dv.getUint16(6, true) * 2 ** 32 : 0);
      addMeta(i.inMetabox, start, (recsz === 4 ? 8 : 0) + records * recsz, 'zextent');
    } else if (i.layout === DataLayout.CompressedFull) {
      addMeta(i.inMetabox, hp + 16, lclusters * 8, 'zindex-legacy');
    } else {
      // Entries are read in whole packs: 2 entries (8 bytes) or 16 (32 bytes).
      const ebase = hp + 8;
      const total = Math.ceil(i.size / bs);
      const initial4b = Math.min(((32 - (ebase % 32)) / 4) & 7, total);
      const n2b = advise & 1 && initial4b < total ? Math.floor((total - initial4b) / 16) * 16 : 0;
      const end4b = total - initial4b - n2b;
      addMeta(i.inMetabox, ebase, Math.ceil(initial4b / 2) * 8 + n2b * 2 + Math.ceil(end4b / 2) * 8, 'zindex-compact');
    }
  };
  const addInode = (i: Inode) => {
    if (seen.has(i.nid)) return;
    seen.add(i.nid);
    nid = i.nid;
    addMeta(i.inMetabox, i.pos, i.inodeSize, i.inMetabox ? 'metabox-inode' : 'inode');
    if (i.layout === DataLayout.CompressedFull || i.layout === DataLayout.CompressedCompact) addZindex(i);
    if (i.xattrSize) {
      addMeta(i.inMetabox, i.pos + i.inodeSize, i.xattrSize, 'xattr');
      const h = image.metaView(i.inMetabox, i.pos + i.inodeSize, 12).slice();
      const ids = image.metaView(i.inMetabox, i.pos + i.inodeSize + 12, 4 * h[4]).slice();
      const dv = new DataView(ids.buffer);
      for (let k = 0; k < h[4]; k++) {
        const p = sb.xattrBlkaddr * bs + 4 * dv.getUint32(4 * k, true);
        const eh = image.metaView(sharedInMetabox, p, 4);
        addMeta(sharedInMetabox, p, Math.ceil((4 + eh[0] + (eh[2] | (eh[3] << 8))) / 4) * 4, 'xattr');
      }
      xattrInodes.push({ nid: i.nid, names: image.listXattrs(i).map((x) => x.nameBytes) });
    }
    if (i.layout === DataLayout.ChunkBased) {
      const unit = i.chunkFormat & 0x20 ? 8 : 4;
      const pos = Math.ceil(i.ibase / unit) * unit;
      addMeta(i.inMetabox, pos, unit * Math.ceil(i.size / 2 ** i.chunkBits), 'chunk');
    }
    if (isDir(i)) addFile(i, 0, i.size, 'dirent');
    else if (i.layout === DataLayout.FlatInline && i.size > 0) {
      const tail = (Math.ceil(i.size / bs) - 1) * bs;
      addFile(i, tail, i.size - tail, 'inline');
    }
  };
  if (metabox) {
    addInode(metabox);
    if (isCompressed(metabox)) {
      for (let off = 0; off < metabox.size; ) {
        const x = image.map(metabox, off);
        if (x.kind === ExtentKind.Encoded && !x.inMeta) add(x.physical, x.plen!, 'metabox-pcluster');
        off = x.logical + x.length;
      }
    }
  }
  if (sb.packedNid) addInode(image.inode(sb.packedNid));
  walk(image, (e) => addInode(e.inode));

  nid = image.rootNid;
  if (sb.featureIncompat & INCOMPAT.XATTR_PREFIXES && sb.xattrPrefixCount) {
    let len = 0;
    for (const p of image.longPrefixes()) len += Math.ceil((3 + p.infix.length) / 4) * 4;
    const start = sb.xattrPrefixStart * 4;
    if (sb.featureCompat & COMPAT.PLAIN_XATTR_PFX || (!metabox && !(sb.featureIncompat & INCOMPAT.FRAGMENTS && sb.packedNid))) add(start, len, 'prefix');
    else if (metabox) addMeta(true, start, len, 'prefix');
    else addFile(image.inode(sb.packedNid), start, len, 'prefix');
  }
  return { ranges, blockSize: bs, xattrInodes, sb };
}

