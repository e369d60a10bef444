/**
 * A streaming tar reader: chunks of an (uncompressed) archive in, entries and their data
 * out, synchronously, holding at most one header sequence in memory. Portable (no node:*).
 *
 * Formats, as GNU tar, bsdtar and OCI image tools write them:
 *   ustar       512-byte header blocks, magic "ustar\0" "00"; path = prefix "/" name
 *   GNU         magic "ustar  \0"; long names and link targets in 'L' / 'K' pseudo-entries
 *               (their data is the name); numbers too large for octal in base-256
 *               (first byte 0x80, or 0xff for negative two's complement); old sparse
 *               files ('S': map in the header at 386, realsize at 483, extension blocks
 *               of 21 more pairs while byte 482 / 504 is set)
 *   PAX         'x' (next entry) and 'g' (all later entries) records "LEN KEY=VALUE\n"
 *               overriding path, linkpath, size, uid, gid, mtime (with nanoseconds);
 *               xattrs as SCHILY.xattr.NAME=raw bytes and LIBARCHIVE.xattr.NAME=base64
 *               (NAME %-escaped); sparse files as GNU.sparse.* 0.0 (offset/numbytes
 *               records), 0.1 (GNU.sparse.map) and 1.0 (map of decimal lines at the start
 *               of the data, padded to a block)
 *
 * Names, link targets and xattr values stay bytes: the libraries on npm decode them as
 * UTF-8 strings, which turns a binary xattr value or a Latin-1 name into U+FFFD (see the
 * README). The archive ends at two zero blocks; a lone zero block is skipped (as
 * mkfs.erofs does), and an archive that stops at a block boundary without the end marker is
 * accepted. Anything else malformed throws TarError with the byte offset of the header
 * it concerns (and the entry's path once known).
 */

export class TarError extends Error {
  constructor(
    message: string,
    /** Offset in the uncompressed stream of the header block the error concerns. */
    readonly offset: number,
    /** The entry's path, when known. */
    readonly entry?: Uint8Array,
  ) {
    super(`tar: ${entry ? `entry ${quote(entry)} (header at byte ${offset})` : `header at byte ${offset}`}: ${message}`);
    this.name = 'TarError';
  }
}

/** A path as text for messages: UTF-8 where valid, \xNN escapes otherwise. */
export function quote(bytes: Uint8Array): string {
  let s = '';
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return JSON.stringify(s);
}

export interface TarEntry {
  /** Offset of the entry's own header block (after any PAX / GNU long-name blocks). */
  offset: number;
  /** The type flag character: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo, '7' contiguous, 'S' sparse, ... */
  type: string;
  /** PAX path, GNU long name or ustar prefix/name; trailing slashes removed ("." for an empty name). */
  path: Uint8Array;
  /** Link target (hard link or symlink): PAX linkpath, GNU long link or the linkname field. */
  link: Uint8Array;
  /** Permission bits (low 12 bits of the mode field). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  mtimeNsec: number;
  /** Bytes of data that follow in the archive (for a sparse file: its stored segments). */
  size: number;
  /** The file's length: `size`, or for a sparse file the length with its holes. */
  realSize: number;
  /** Sparse files: data segments as [offset, length] pairs in archive order; undefined otherwise. */
  sparse?: number[];
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX records (this entry's, then the global ones it did not set), by name. */
  xattrs: Map<string, Uint8Array>;
  /** Offset of the first data byte in the stream. */
  dataOffset: number;
}

export interface TarHandler {
  /** An entry; its `size` data bytes follow through `data`. */
  entry(e: TarEntry): void;
  /** The next bytes of the current entry's data (a view, valid during the call) at stream offset `offset`. */
  data(bytes: Uint8Array, offset: number): void;
}

export interface TarReaderOptions {
  /** Told about what is skipped (unknown entry types, PAX keywords that mean nothing here). */
  onWarning?(message: string): void;
}

const BLOCK = 512;
/** Bounds on buffered metadata: one PAX record set or long name (GNU tar's own limit is similar). */
const MAX_META = 16 << 20;
const MAX_SPARSE_MAP = 1 << 20;

/** Overrides collected from PAX records and GNU long names for the next entry (or all, for 'g'). */
interface Pending {
  path?: Uint8Array;
  link?: Uint8Array;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: [number, number];
  xattrs: Map<string, Uint8Array>;
  sparseName?: Uint8Array;
  sparseSize?: number;
  sparseMajor?: number;
  sparseMinor?: number;
  sparseMap?: number[];
}

const newPending = (): Pending => ({ xattrs: new Map() });

const enum State {
  Header,
  Meta,
  GnuExtension,
  SparseMap,
  Data,
  Padding,
  End,
}

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};
const utf8 = new TextDecoder();

function cstr(b: Uint8Array, at: number, len: number): Uint8Array {
  const field = b.subarray(at, at + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function stripSlashes(p: Uint8Array): Uint8Array {
  let n = p.length;
  while (n > 1 && p[n - 1] === 0x2f) n--;
  return p.subarray(0, n);
}

const isZero = (b: Uint8Array): boolean => {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

export class TarReader {
  private state = State.Header;
  /** Stream offset of the next byte pushed. */
  private pos = 0;
  /** A header block, a metadata body or the sparse map being gathered. */
  private buf = new Uint8Array(BLOCK);
  private have = 0;
  private need = BLOCK;
  /** Data bytes left of the current entry, then padding bytes. */
  private left = 0;
  private pad = 0;
  private headerAt = 0;
  private lastZero = false;
  private pending = newPending();
  private readonly global = newPending();
  /** The header whose metadata body or extension blocks are being read. */
  private metaType = '';
  private metaPath: Uint8Array | undefined;
  private entry: TarEntry | undefined;

  constructor(
    private readonly handler: TarHandler,
    private readonly options: TarReaderOptions = {},
  ) {}

  /** Bytes consumed so far. */
  get offset(): number {
    return this.pos;
  }

  /** True once the end-of-archive marker has been read. */
  get ended(): boolean {
    return this.state === State.End;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.End:
          this.pos += chunk.length - i; // what follows the end marker is not read (mkfs.erofs stops there too)
          return;
        case State.Data: {
          const n = Math.min(this.left, chunk.length - i);
          if (n > 0) this.handler.data(chunk.subarray(i, i + n), this.pos);
          i += n;
          this.pos += n;
          this.left -= n;
          if (this.left === 0) this.afterData();
          break;
        }
        case State.Padding: {
          const n = Math.min(this.pad, chunk.length - i);
          i += n;
          this.pos += n;
          this.pad -= n;
          if (this.pad === 0) this.gather(State.Header, BLOCK);
          break;
        }
        default: {
          const n = Math.min(this.need - this.have, chunk.length - i);
          this.buf.set(chunk.subarray(i, i + n), this.have);
          this.have += n;
          i += n;
          this.pos += n;
          if (this.have === this.need) this.gathered();
        }
      }
    }
  }

  /** The stream ended: throws TarError when it stopped inside an entry. */
  end(): void {
    if (this.state === State.End) return;
    if (this.state === State.Header && this.have === 0) return; // no end marker: accepted, as mkfs.erofs does
    if (this.state === State.Header) throw new TarError(`archive truncated in a header block (${this.have} of 512 bytes)`, this.pos - this.have);
    const what = this.state === State.Data ? `data (${this.left} bytes missing)` : 'its metadata';
    throw new TarError(`archive truncated in ${what}`, this.headerAt, this.entry?.path ?? this.metaPath);
  }

  private gather(state: State, need: number): void {
    this.state = state;
    this.have = 0;
    this.need = need;
    if (this.buf.length < need) this.buf = new Uint8Array(Math.max(need, this.buf.length * 2));
  }

  private afterData(): void {
    this.entry = undefined;
    if (this.pad > 0) this.state = State.Padding;
    else this.gather(State.Header, BLOCK);
  }

  private startData(size: number): void {
    this.left = size;
    this.pad = -size & (BLOCK - 1);
    this.state = State.Data;
    if (size === 0) this.afterData();
  }

  private gathered(): void {
    switch (this.state) {
      case State.Header:
        return this.header(this.buf.subarray(0, BLOCK));
      case State.Meta:
        return this.meta();
      case State.GnuExtension:
        return this.gnuExtension();
      case State.SparseMap:
        return this.sparseMapBlock();
    }
  }

  private fail(message: string, path?: Uint8Array): never {
    throw new TarError(message, this.headerAt, path ?? this.entry?.path ?? this.metaPath);
  }

  private warn(message: string): void {
    this.options.onWarning?.(`tar: header at byte ${this.headerAt}: ${message}`);
  }

  // ---- numbers -----------------------------------------------------------------------------

  /** An octal field (leading spaces, terminated by space or NUL), or base-256. Empty: undefined. */
  private num(h: Uint8Array, at: number, len: number, field: string, allow256 = true): number | undefined {
    const b0 = h[at];
    if (allow256 && (b0 === 0x80 || b0 === 0xff)) {
      let v = 0n;
      for (let k = 1; k < len; k++) v = (v << 8n) | BigInt(h[at + k]);
      if (b0 === 0xff) v -= 1n << BigInt(8 * (len - 1));
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${field} out of range`);
      return Number(v);
    }
    let k = at;
    const end = at + len;
    while (k < end && h[k] === 0x20) k++;
    let v = 0;
    let digits = 0;
    for (; k < end && h[k] >= 0x30 && h[k] <= 0x37; k++, digits++) v = v * 8 + (h[k] - 0x30);
    if (k < end && h[k] !== 0x20 && h[k] !== 0) this.fail(`${field} field is not an octal number`);
    if (!Number.isSafeInteger(v)) this.fail(`${field} out of range`);
    return digits ? v : undefined;
  }

  // ---- headers -----------------------------------------------------------------------------

  private header(h: Uint8Array): void {
    this.headerAt = this.pos - BLOCK;
    if (isZero(h)) {
      if (this.lastZero) {
        this.state = State.End;
        return;
      }
      this.lastZero = true;
      this.gather(State.Header, BLOCK);
      return;
    }
    this.lastZero = false;
    this.metaPath = undefined;
    if (h[257] !== 0x75 || h[258] !== 0x73 || h[259] !== 0x74 || h[260] !== 0x61 || h[261] !== 0x72) {
      const hint = this.headerAt === 0 ? compressedHint(h) : '';
      this.fail(`not a ustar, GNU or PAX tar header (no "ustar" magic)${hint}`);
    }
    // Checksum: the header's bytes summed with the checksum field as spaces, unsigned or (old tars) signed.
    const want = this.num(h, 148, 8, 'checksum', false);
    let sum = 8 * 0x20;
    let ssum = 8 * 0x20;
    for (let k = 0; k < BLOCK; k++) {
      if (k >= 148 && k < 156) continue;
      sum += h[k];
      ssum += (h[k] << 24) >> 24;
    }
    if (want === undefined || (want !== sum && want !== ssum)) this.fail(`header checksum mismatch (stored ${want ?? 'none'}, computed ${sum})`);
    const type = String.fromCharCode(h[156] || 0x30);
    let size = this.num(h, 124, 12, 'size') ?? 0;
    if (size < 0) this.fail(`negative size ${size}`);

    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_META) this.fail(`${type === 'x' || type === 'g' ? 'PAX header' : 'GNU long name'} of ${size} bytes (limit ${MAX_META})`);
      this.metaType = type;
      this.pad = -size & (BLOCK - 1);
      this.gather(State.Meta, size);
      if (size === 0) this.meta();
      return;
    }
    if (type === 'V') {
      // A GNU volume label: not a file.
      this.pending = newPending();
      this.startData(size);
      return;
    }

    const p = this.pending;
    const g = this.global;
    this.pending = newPending();
    const posix = h[262] === 0; // "ustar\0": the prefix field is a path prefix (GNU uses those bytes otherwise)
    let path = p.sparseName ?? p.path;
    if (!path) {
      const name = cstr(h, 0, 100);
      const prefix = posix ? cstr(h, 345, 155) : new Uint8Array(0);
      if (prefix.length) {
        path = new Uint8Array(prefix.length + 1 + name.length);
        path.set(prefix);
        path[prefix.length] = 0x2f;
        path.set(name, prefix.length + 1);
      } else path = name;
    }
    path = stripSlashes(path).slice(); // a copy: the header buffer is reused
    if (path.length === 0) path = new Uint8Array([0x2e]);
    this.metaPath = path;
    if (p.size !== undefined) size = p.size;
    else if (g.size !== undefined) size = g.size;
    const mode = (this.num(h, 100, 8, 'mode', false) ?? 0) & 0o7777;
    const uid = p.uid ?? g.uid ?? this.num(h, 108, 8, 'uid') ?? 0;
    const gid = p.gid ?? g.gid ?? this.num(h, 116, 8, 'gid') ?? 0;
    const [mtime, mtimeNsec] = p.mtime ?? g.mtime ?? [this.num(h, 136, 12, 'mtime') ?? 0, 0];
    const xattrs = p.xattrs;
    for (const [k, v] of g.xattrs) if (!xattrs.has(k)) xattrs.set(k, v);
    const dev = type === '3' || type === '4';
    const e: TarEntry = {
      offset: this.headerAt,
      type,
      path,
      link: (p.link ?? cstr(h, 157, 100)).slice(),
      mode,
      uid,
      gid,
      mtime,
      mtimeNsec,
      size,
      realSize: size,
      devmajor: dev ? (this.num(h, 329, 8, 'devmajor') ?? 0) : 0,
      devminor: dev ? (this.num(h, 337, 8, 'devminor') ?? 0) : 0,
      xattrs,
      dataOffset: 0,
    };
    for (const [v, what] of [[uid, 'uid'], [gid, 'gid']] as const) if (v < 0 || v > 0xffffffff) this.fail(`${what} ${v} out of range`, e.path);

    if (type === 'S') {
      // Old GNU sparse: up to 4 pairs here, more in extension blocks while the flag byte is set.
      e.realSize = this.num(h, 483, 12, 'realsize') ?? 0;
      e.sparse = [];
      this.gnuPairs(h, 386, 4, e.sparse);
      this.entry = e;
      if (h[482]) {
        this.gather(State.GnuExtension, BLOCK);
        return;
      }
      return this.begin(e);
    }
    if (p.sparseMajor === 1) {
      // PAX sparse 1.0: the map is at the start of the data.
      if (p.sparseMinor !== 0) this.fail(`GNU sparse format 1.${p.sparseMinor} is not known`, e.path);
      e.realSize = p.sparseSize ?? 0;
      this.entry = e;
      this.sparseMapLeft = size;
      this.sparseText = [];
      this.sparseNumbers = [];
      if (size < BLOCK) this.fail('sparse map does not fit in the entry', e.path);
      this.gather(State.SparseMap, BLOCK);
      return;
    }
    if (p.sparseMap) {
      e.realSize = p.sparseSize ?? 0;
      e.sparse = p.sparseMap;
    }
    this.begin(e);
  }

  /** Hands the entry over and starts its data. */
  private begin(e: TarEntry): void {
    if (e.sparse) this.checkSparse(e);
    e.dataOffset = this.pos;
    this.entry = e;
    this.handler.entry(e);
    this.startData(e.size);
  }

  private checkSparse(e: TarEntry): void {
    const m = e.sparse!;
    let stored = 0;
    let end = 0;
    for (let k = 0; k < m.length; k += 2) {
      const [off, len] = [m[k], m[k + 1]];
      if (!(Number.isSafeInteger(off) && Number.isSafeInteger(len) && off >= end && len >= 0 && off + len <= e.realSize)) {
        this.fail(`sparse map segment ${off}+${len} overlaps the previous one or lies beyond the file's ${e.realSize} bytes`, e.path);
      }
      end = off + len;
      stored += len;
    }
    if (stored !== e.size) this.fail(`sparse map holds ${stored} bytes of data but the entry stores ${e.size}`, e.path);
  }

  private gnuPairs(b: Uint8Array, at: number, count: number, out: number[]): void {
    for (let k = 0; k < count; k++) {
      const o = at + 24 * k;
      if (b[o] === 0) break;
      out.push(this.num(b, o, 12, 'sparse offset') ?? 0, this.num(b, o + 12, 12, 'sparse numbytes') ?? 0);
      if (out.length > MAX_SPARSE_MAP) this.fail('sparse map too long');
    }
  }

  private gnuExtension(): void {
    const b = this.buf.subarray(0, BLOCK);
    this.gnuPairs(b, 0, 21, this.entry!.sparse!);
    if (b[504]) this.gather(State.GnuExtension, BLOCK);
    else this.begin(this.entry!);
  }

  // ---- PAX 1.0 sparse map in the data ---------------------------------------------------------

  private sparseMapLeft = 0;
  private sparseText: number[] = [];
  private sparseNumbers: number[] = [];

  private sparseMapBlock(): void {
    const e = this.entry!;
    const b = this.buf.subarray(0, BLOCK);
    this.sparseMapLeft -= BLOCK;
    const nums = this.sparseNumbers;
    for (let k = 0; k < BLOCK; k++) {
      const c = b[k];
      if (c === 0x0a) {
        if (!this.sparseText.length) this.fail('empty number in the sparse map', e.path);
        nums.push(Number(String.fromCharCode(...this.sparseText)));
        this.sparseText = [];
        if (nums.length === 1 + 2 * nums[0]) {
          e.sparse = nums.slice(1);
          e.size = this.sparseMapLeft;
          this.sparseNumbers = [];
          return this.begin(e);
        }
      } else if (c >= 0x30 && c <= 0x39 && this.sparseText.length < 20) this.sparseText.push(c);
      else this.fail(`bad byte 0x${c.toString(16)} in the sparse map`, e.path);
    }
    if (nums.length > MAX_SPARSE_MAP || this.sparseMapLeft < BLOCK) this.fail('sparse map runs past the entry data', e.path);
    this.gather(State.SparseMap, BLOCK);
  }

  // ---- PAX records and GNU long names -------------------------------------------------------

  private meta(): void {
    const body = this.buf.subarray(0, this.need);
    const type = this.metaType;
    if (type === 'L' || type === 'K') {
      const nul = body.indexOf(0);
      const name = (nul < 0 ? body : body.subarray(0, nul)).slice();
      if (type === 'L') this.pending.path = name;
      else this.pending.link = name;
    } else this.pax(body, type === 'g' ? this.global : this.pending);
    if (this.pad > 0) {
      this.state = State.Padding;
    } else this.gather(State.Header, BLOCK);
  }

  private pax(body: Uint8Array, into: Pending): void {
    const isGlobal = into === this.global;
    for (let p = 0; p < body.length; ) {
      // "LEN KEY=VALUE\n", LEN counting the whole record.
      let k = p;
      let len = 0;
      while (k < body.length && body[k] >= 0x30 && body[k] <= 0x39 && k - p < 12) len = len * 10 + (body[k++] - 0x30);
      if (k === p || body[k] !== 0x20 || len <= k + 1 - p || p + len > body.length || body[p + len - 1] !== 0x0a) {
        if (isZero(body.subarray(p))) break; // zero padding some writers leave
        this.fail(`malformed PAX record at byte ${p} of the extended header`);
      }
      const rec = body.subarray(k + 1, p + len - 1);
      p += len;
      const eq = rec.indexOf(0x3d);
      if (eq < 0) this.fail('PAX record without "="');
      const key = latin1(rec.subarray(0, eq));
      const value = rec.subarray(eq + 1);
      this.paxRecord(key, value, into, isGlobal);
    }
  }

  private paxRecord(key: string, value: Uint8Array, into: Pending, isGlobal: boolean): void {
    const text = () => latin1(value);
    const integer = (what: string, min = 0): number => {
      const s = text();
      if (!/^-?\d+$/.test(s)) this.fail(`PAX ${what}=${JSON.stringify(s)} is not an integer`);
      const v = Number(s);
      if (!Number.isSafeInteger(v) || v < min) this.fail(`PAX ${what}=${s} out of range`);
      return v;
    };
    if (key.startsWith('SCHILY.xattr.')) {
      into.xattrs.set(utf8.decode(latinBytes(key.slice(13))), value.slice());
      return;
    }
    if (key.startsWith('LIBARCHIVE.xattr.')) {
      const name = percentDecode(key.slice(17));
      const v = base64(text());
      if (!v) this.fail(`LIBARCHIVE.xattr.${key.slice(17)}: value is not base64`);
      into.xattrs.set(utf8.decode(name), v);
      return;
    }
    const empty = value.length === 0;
    switch (key) {
      case 'path':
        // A global path or linkpath would name every later entry alike: ignored.
        if (!isGlobal) into.path = empty ? undefined : value.slice();
        return;
      case 'linkpath':
        if (!isGlobal) into.link = empty ? undefined : value.slice();
        return;
      case 'size':
        into.size = empty ? undefined : integer('size');
        return;
      case 'uid':
        into.uid = empty ? undefined : integer('uid');
        return;
      case 'gid':
        into.gid = empty ? undefined : integer('gid');
        return;
      case 'mtime':
        into.mtime = empty ? undefined : this.paxTime(text());
        return;
      case 'GNU.sparse.name':
        into.sparseName = value.slice();
        return;
      case 'GNU.sparse.size':
      case 'GNU.sparse.realsize':
        into.sparseSize = integer(key);
        return;
      case 'GNU.sparse.major':
        into.sparseMajor = integer(key);
        return;
      case 'GNU.sparse.minor':
        into.sparseMinor = integer(key);
        return;
      case 'GNU.sparse.offset':
        (into.sparseMap ??= []).push(integer(key));
        return;
      case 'GNU.sparse.numbytes': {
        const m = (into.sparseMap ??= []);
        if (m.length % 2 !== 1) this.fail('GNU.sparse.numbytes without a GNU.sparse.offset before it');
        m.push(integer(key));
        return;
      }
      case 'GNU.sparse.map': {
        const parts = text().split(',');
        if (parts.length % 2 || !parts.every((s) => /^\d+$/.test(s))) this.fail('malformed GNU.sparse.map');
        into.sparseMap = parts.map(Number);
        return;
      }
      case 'GNU.sparse.numblocks':
      case 'atime':
      case 'ctime':
      case 'uname':
      case 'gname':
      case 'comment':
      case 'charset':
      case 'hdrcharset':
        return;
      default:
        this.warn(`PAX keyword ${JSON.stringify(key)} ignored`);
    }
  }

  /** "SECONDS[.FRACTION]", possibly negative: floor seconds and nanoseconds in 0..999999999. */
  private paxTime(s: string): [number, number] {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
    if (!m) this.fail(`PAX mtime=${JSON.stringify(s)} is not a time`);
    let sec = Number(m[2]);
    let ns = m[3] ? Number(m[3].slice(0, 9).padEnd(9, '0')) : 0;
    if (!Number.isSafeInteger(sec)) this.fail(`PAX mtime=${s} out of range`);
    if (m[1]) {
      sec = -sec;
      if (ns) {
        sec -= 1;
        ns = 1e9 - ns;
      }
    }
    return [sec, ns];
  }
}

function latinBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** %XX escapes undone (libarchive escapes '%', '=' and bytes outside printable ASCII in xattr names). */
function percentDecode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length + 0 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c);
  }
  return new Uint8Array(out);
}

const B64 = new Int16Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

/** Standard base64, padding optional; undefined when malformed. */
function base64(s: string): Uint8Array | undefined {
  let end = s.length;
  while (end > 0 && s[end - 1] === '=') end--;
  if (s.length - end > 2 || end % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const v = B64[s.charCodeAt(i) & 0xff];
    if (v < 0 || s.charCodeAt(i) > 0xff) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** A hint for the first header of something that is not a tar at all. */
function compressedHint(h: Uint8Array): string {
  if (h[0] === 0x1f && h[1] === 0x8b) return ': the input is gzip-compressed';
  if (h[0] === 0xfd && h[1] === 0x37 && h[2] === 0x7a && h[3] === 0x58) return ': the input is xz-compressed (not supported; decompress it first)';
  if (h[0] === 0x28 && h[1] === 0xb5 && h[2] === 0x2f && h[3] === 0xfd) return ': the input is zstd-compressed (not supported; decompress it first)';
  if (h[0] === 0x42 && h[1] === 0x5a && h[2] === 0x68) return ': the input is bzip2-compressed (not supported; decompress it first)';
  return '';
}
