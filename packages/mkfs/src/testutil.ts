/**
 * A small tar writer for tests and tools (not part of the build): any header field,
 * PAX records ('x', 'g'), GNU long names ('L', 'K'), old GNU sparse entries ('S', with
 * extension blocks), base-256 numbers; nothing checked, so that broken archives can be made
 * too.
 */

export interface TarSpec {
  path: string | Uint8Array;
  /** Type flag character (default '0'). */
  type?: string;
  data?: Uint8Array | string;
  /** The size field (default: data length). */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  link?: string | Uint8Array;
  devmajor?: number;
  devminor?: number;
  /** 'ustar' (POSIX, default) or 'gnu' magic. */
  format?: 'ustar' | 'gnu';
  /** Split the path into the ustar prefix field and the name field at its last '/' within 155 bytes. */
  usePrefix?: boolean;
  /** PAX records for this entry, written as an 'x' header before it. */
  pax?: [string, string | Uint8Array][];
  /** GNU long name / long link pseudo-entries before it. */
  longName?: boolean;
  longLink?: boolean;
  /** Old GNU sparse: [offset, length] pairs and the real size (type is 'S'). */
  sparse?: { map: number[]; realSize: number };
}

const enc = new TextEncoder();
const bytes = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? enc.encode(s) : s);

/** A numeric field: octal when it fits, else base-256 (negative: 0xff two's complement). */
function putNum(h: Uint8Array, at: number, len: number, v: number): void {
  const oct = v >= 0 ? v.toString(8) : '';
  if (v >= 0 && oct.length < len) {
    h.set(enc.encode(oct.padStart(len - 1, '0')), at);
    h[at + len - 1] = 0;
    return;
  }
  let x = BigInt(v);
  if (x < 0n) x += 1n << BigInt(8 * (len - 1));
  for (let k = len - 1; k >= 1; k--) {
    h[at + k] = Number(x & 0xffn);
    x >>= 8n;
  }
  h[at] = v < 0 ? 0xff : 0x80;
}

export function header(spec: TarSpec & { size: number }): Uint8Array {
  const h = new Uint8Array(512);
  let name = bytes(spec.path);
  if (spec.usePrefix) {
    const cut = name.lastIndexOf(0x2f, 155);
    h.set(name.subarray(0, cut), 345);
    name = name.subarray(cut + 1);
  }
  h.set(name.subarray(0, 100), 0);
  putNum(h, 100, 8, spec.mode ?? 0o644);
  putNum(h, 108, 8, spec.uid ?? 0);
  putNum(h, 116, 8, spec.gid ?? 0);
  putNum(h, 124, 12, spec.size);
  putNum(h, 136, 12, spec.mtime ?? 1_600_000_000);
  h[156] = (spec.type ?? '0').charCodeAt(0);
  if (spec.link !== undefined) h.set(bytes(spec.link).subarray(0, 100), 157);
  if (spec.format === 'gnu') h.set(enc.encode('ustar  \0'), 257);
  else h.set(enc.encode('ustar\x0000'), 257);
  putNum(h, 329, 8, spec.devmajor ?? 0);
  putNum(h, 337, 8, spec.devminor ?? 0);
  if (spec.sparse) {
    const m = spec.sparse.map;
    for (let k = 0; k < Math.min(4, m.length / 2); k++) {
      putNum(h, 386 + 24 * k, 12, m[2 * k]);
      putNum(h, 398 + 24 * k, 12, m[2 * k + 1]);
    }
    h[482] = m.length > 8 ? 1 : 0;
    putNum(h, 483, 12, spec.sparse.realSize);
  }
  return checksum(h);
}

/** Writes the header's checksum field (after a test changed the header). */
export function checksum(h: Uint8Array): Uint8Array {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let k = 0; k < 512; k++) sum += h[k];
  h.set(enc.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}

const pad = (n: number) => new Uint8Array(-n & 511);

/** PAX records "LEN KEY=VALUE\n". */
export function paxBody(records: [string, string | Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of records) {
    const body = [enc.encode(` ${k}=`), bytes(v), enc.encode('\n')];
    const n = body.reduce((a, b) => a + b.length, 0);
    let len = n + 1;
    while (String(len).length + n !== len) len = String(len).length + n;
    parts.push(enc.encode(String(len)), ...body);
  }
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The blocks of one entry: its PAX / long-name headers, header, extension blocks, data and padding. */
export function entry(spec: TarSpec): Uint8Array {
  const out: Uint8Array[] = [];
  const data = spec.data === undefined ? new Uint8Array(0) : bytes(spec.data);
  if (spec.pax) {
    const body = paxBody(spec.pax);
    out.push(header({ path: 'PaxHeader', type: 'x', size: body.length }), body, pad(body.length));
  }
  for (const [on, type, value] of [[spec.longName, 'L', spec.path], [spec.longLink, 'K', spec.link ?? '']] as const) {
    if (!on) continue;
    const body = concat([bytes(value), new Uint8Array(1)]);
    out.push(header({ path: '././@LongLink', type, size: body.length, format: 'gnu' }), body, pad(body.length));
  }
  out.push(header({ ...spec, size: spec.size ?? data.length }));
  if (spec.sparse && spec.sparse.map.length > 8) {
    const rest = spec.sparse.map.slice(8);
    for (let k = 0; k < rest.length; k += 42) {
      const b = new Uint8Array(512);
      const part = rest.slice(k, k + 42);
      for (let j = 0; j < part.length / 2; j++) {
        putNum(b, 24 * j, 12, part[2 * j]);
        putNum(b, 24 * j + 12, 12, part[2 * j + 1]);
      }
      b[504] = k + 42 < rest.length ? 1 : 0;
      out.push(b);
    }
  }
  out.push(data, pad(data.length));
  return concat(out);
}

/** A global PAX header ('g'). */
export function globalPax(records: [string, string | Uint8Array][]): Uint8Array {
  const body = paxBody(records);
  return concat([header({ path: 'GlobalHead', type: 'g', size: body.length }), body, pad(body.length)]);
}

/** An archive: the entries and the two zero blocks. */
export function tar(...parts: (TarSpec | Uint8Array)[]): Uint8Array {
  return concat([...parts.map((p) => (p instanceof Uint8Array ? p : entry(p))), new Uint8Array(1024)]);
}
