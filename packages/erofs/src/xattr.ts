import { ErofsError, corrupt } from './errors.js';
import type { Inode } from './inode.js';
import { formatNid } from './nid.js';
import { xxh32 } from './xxhash.js';
import { copyBytes } from './source.js';

/** Built-in name prefixes by e_name_index; the two ACL names are whole names (empty suffix in practice). */
export const XATTR_INDEX_PREFIXES: readonly string[] = [
  '',
  'user.',
  'system.posix_acl_access',
  'system.posix_acl_default',
  'trusted.',
  'lustre.',
  'security.',
];
const LONG_PREFIX_FLAG = 0x80;
const FILTER_SEED = 0x25bbe08f;
const IBODY_HEADER = 12;
const ENTRY_HEADER = 4;

const utf8 = new TextEncoder();
const latin = new TextDecoder('utf-8');

export interface Xattr {
  /** Full name, e.g. "user.comment" (decoded as UTF-8). */
  name: string;
  /** Full name bytes. */
  nameBytes: Uint8Array;
  value: Uint8Array;
  /** Stored in the shared pool (referenced by id) rather than inline. */
  shared: boolean;
}

/** A long name prefix (XATTR_PREFIXES): a built-in prefix plus an infix. */
export interface LongPrefix {
  baseIndex: number;
  infix: Uint8Array;
  /** The whole prefix: built-in prefix + infix. */
  prefix: Uint8Array;
}

export interface XattrContext {
  blockSize: number;
  xattrBlkaddr: number;
  /** Honour h_name_filter (compat XATTR_FILTER and xattr_filter_reserved == 0). */
  useFilter: boolean;
  sharedInMetabox: boolean;
  prefixes: LongPrefix[];
  /** Reads meta-space bytes (image or metabox data); the result may be a transient view. */
  meta(inMetabox: boolean, pos: number, length: number): Uint8Array;
}

/** Parses the long prefix table: `count` records of u16 length + base index + infix, each 4-aligned. */
export function parsePrefixTable(read: (pos: number, length: number) => Uint8Array, start: number, count: number, where: string): LongPrefix[] {
  const out: LongPrefix[] = [];
  let pos = start;
  for (let i = 0; i < count; i++) {
    const h = read(pos, 2);
    const len = h[0] | (h[1] << 8);
    if (len < 1 || len > 256) throw corrupt(where, pos, `long xattr prefix ${i} has length ${len}, not 1..256`);
    const body = copyBytes(read(pos + 2, len));
    const baseIndex = body[0];
    if (baseIndex === 0 || baseIndex >= XATTR_INDEX_PREFIXES.length || baseIndex & LONG_PREFIX_FLAG) {
      throw corrupt(where, pos + 2, `long xattr prefix ${i} has base index ${baseIndex}`);
    }
    const infix = body.subarray(1);
    const base = utf8.encode(XATTR_INDEX_PREFIXES[baseIndex]);
    const prefix = new Uint8Array(base.length + infix.length);
    prefix.set(base);
    prefix.set(infix, base.length);
    out.push({ baseIndex, infix, prefix });
    pos += Math.ceil((2 + len) / 4) * 4;
  }
  return out;
}

interface RawEntry {
  index: number;
  suffix: Uint8Array;
  value: Uint8Array;
}

function readEntry(ctx: XattrContext, inMetabox: boolean, pos: number, limit: number, where: string): { e: RawEntry; size: number } {
  if (pos + ENTRY_HEADER > limit) throw corrupt(where, pos, 'xattr entry header runs past the end of its area');
  const h = ctx.meta(inMetabox, pos, ENTRY_HEADER);
  const nameLen = h[0];
  const index = h[1];
  const valueSize = h[2] | (h[3] << 8);
  const size = Math.ceil((ENTRY_HEADER + nameLen + valueSize) / 4) * 4;
  if (pos + ENTRY_HEADER + nameLen + valueSize > limit) {
    throw corrupt(where, pos, `xattr entry (name ${nameLen} bytes, value ${valueSize} bytes) runs past the end of its area`);
  }
  const body = copyBytes(ctx.meta(inMetabox, pos + ENTRY_HEADER, nameLen + valueSize));
  return { e: { index, suffix: body.subarray(0, nameLen), value: body.subarray(nameLen) }, size };
}

/** Full name bytes of an entry, or null when its index names no known prefix (the kernel skips those). */
function fullName(ctx: XattrContext, index: number, suffix: Uint8Array): Uint8Array | null {
  let prefix: Uint8Array;
  if (index & LONG_PREFIX_FLAG) {
    const p = ctx.prefixes[index & 0x7f];
    if (!p) return null;
    prefix = p.prefix;
  } else {
    const s = XATTR_INDEX_PREFIXES[index];
    if (!s) return null;
    prefix = utf8.encode(s);
  }
  const out = new Uint8Array(prefix.length + suffix.length);
  out.set(prefix);
  out.set(suffix, prefix.length);
  return out;
}

interface Ibody {
  filter: number;
  sharedIds: number[];
  inlineStart: number;
  end: number;
}

function readIbody(ctx: XattrContext, inode: Inode): Ibody | null {
  if (inode.xattrIcount === 0) return null;
  const where = `xattrs of inode ${formatNid(inode.nid)}`;
  const start = inode.pos + inode.inodeSize;
  if (inode.xattrIcount === 1) {
    throw new ErofsError('EOPNOTSUPP', where, start, 'xattr ibody of a bare 12-byte header is not supported');
  }
  const end = start + inode.xattrSize;
  const h = ctx.meta(inode.inMetabox, start, IBODY_HEADER);
  const filter = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
  const sharedCount = h[4];
  const inlineStart = start + IBODY_HEADER + 4 * sharedCount;
  if (inlineStart > end) throw corrupt(where, start + 4, `${sharedCount} shared xattr ids do not fit in the ${inode.xattrSize}-byte ibody`);
  const sharedIds: number[] = [];
  if (sharedCount > 0) {
    const ids = ctx.meta(inode.inMetabox, start + IBODY_HEADER, 4 * sharedCount);
    const dv = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
    for (let i = 0; i < sharedCount; i++) sharedIds.push(dv.getUint32(4 * i, true));
  }
  return { filter, sharedIds, inlineStart, end };
}

function* rawEntries(ctx: XattrContext, inode: Inode, body: Ibody, sharedLimit: number): Generator<{ e: RawEntry; shared: boolean }> {
  const where = `xattrs of inode ${formatNid(inode.nid)}`;
  let pos = body.inlineStart;
  while (pos < body.end) {
    const { e, size } = readEntry(ctx, inode.inMetabox, pos, body.end, where);
    yield { e, shared: false };
    pos += size;
  }
  const base = ctx.xattrBlkaddr * ctx.blockSize;
  for (const id of body.sharedIds) {
    const p = base + 4 * id;
    const { e } = readEntry(ctx, ctx.sharedInMetabox, p, sharedLimit, `shared xattr ${id} of inode ${formatNid(inode.nid)}`);
    yield { e, shared: true };
  }
}

/** All xattrs of an inode in on-disk order: inline entries, then shared ones. */
export function listXattrs(ctx: XattrContext, inode: Inode, sharedLimit: number): Xattr[] {
  const body = readIbody(ctx, inode);
  if (!body) return [];
  const out: Xattr[] = [];
  for (const { e, shared } of rawEntries(ctx, inode, body, sharedLimit)) {
    const nameBytes = fullName(ctx, e.index, e.suffix);
    if (!nameBytes) continue;
    out.push({ name: latin.decode(nameBytes), nameBytes, value: e.value, shared });
  }
  return out;
}

/** Splits a full name into its built-in index and the rest, as the bloom filter hashes it. */
function shortPrefixOf(name: Uint8Array): { index: number; rest: Uint8Array } | null {
  for (let index = 1; index < XATTR_INDEX_PREFIXES.length; index++) {
    const p = XATTR_INDEX_PREFIXES[index];
    if (name.length < p.length) continue;
    let ok = true;
    for (let k = 0; k < p.length; k++) if (name[k] !== p.charCodeAt(k)) { ok = false; break; }
    if (ok) return { index, rest: name.subarray(p.length) };
  }
  return null;
}

/** True when the inode's name filter proves `name` absent. A false answer proves nothing. */
export function filterSaysAbsent(filter: number, name: Uint8Array): boolean {
  const sp = shortPrefixOf(name);
  if (!sp) return false;
  const bit = xxh32(sp.rest, FILTER_SEED + sp.index) & 31;
  return ((filter >>> bit) & 1) === 1;
}

export function getXattr(ctx: XattrContext, inode: Inode, name: string | Uint8Array, sharedLimit: number): Uint8Array | undefined {
  const body = readIbody(ctx, inode);
  if (!body) return undefined;
  const target = typeof name === 'string' ? utf8.encode(name) : name;
  if (ctx.useFilter && filterSaysAbsent(body.filter, target)) return undefined;
  for (const { e } of rawEntries(ctx, inode, body, sharedLimit)) {
    const full = fullName(ctx, e.index, e.suffix);
    if (full && full.length === target.length && full.every((b, i) => b === target[i])) return e.value;
  }
  return undefined;
}
