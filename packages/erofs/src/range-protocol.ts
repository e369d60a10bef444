/**
 * The HTTP side of a range source, as pure functions: what identifies a remote object, the
 * conditional headers that pin it, and the checks every response passes before its bytes
 * are used. Portable (no node:* imports, no DOM types).
 *
 * Each function here is also shipped as source text into the fetch worker (see
 * range-worker.ts), so each must stand alone: no imports, no module-level names, no calls
 * to the others (a minifier renames them where they are called, not in the worker's text).
 */

/** What was pinned at open: a changed object fails every later request. */
export interface RemoteIdentity {
  /** The object's size in bytes (from Content-Range, or Content-Length of a whole body). */
  size: number;
  /** The ETag as sent (quotes kept; "W/" marks a weak one). */
  etag?: string;
  /** Last-Modified as sent (an HTTP date). */
  lastModified?: string;
}

/**
 * The conditions sent with every range request. A strong ETag goes in If-Match (a weak one
 * never matches there, RFC 9110 13.1.1), otherwise Last-Modified in If-Unmodified-Since;
 * the response checks in checkPartial catch a server that ignores both.
 */
export function pinHeaders(identity: RemoteIdentity): Record<string, string> {
  if (identity.etag && !identity.etag.startsWith('W/')) return { 'if-match': identity.etag };
  if (identity.lastModified) return { 'if-unmodified-since': identity.lastModified };
  return {};
}

/** `bytes START-END/TOTAL` -> numbers; undefined when malformed (TOTAL may be "*": -1). */
export function parseContentRange(value: string | null | undefined): { start: number; end: number; total: number } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? -1 : Number(m[3]);
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start)) return undefined;
  if (total !== -1 && !(Number.isSafeInteger(total) && end < total)) return undefined;
  return { start, end, total };
}

/**
 * Why a response to a range request cannot be used, or undefined when it can. `retry`
 * says whether asking again may help (5xx, 429, 408); otherwise the failure is final.
 * `get(name)` reads a response header (lower-case name).
 */
export function checkPartial(
  status: number,
  get: (name: string) => string | null,
  identity: RemoteIdentity,
  offset: number,
  length: number,
): { retry: boolean; message: string } | undefined {
  if (status === 412) {
    // describeIdentity's words, written out: this function may not call another (see the header).
    const pinned = identity.etag ? `ETag ${identity.etag}, ` : identity.lastModified ? `Last-Modified ${identity.lastModified}, ` : '';
    return { retry: false, message: `object changed: the server refused the pinned identity (HTTP 412, ${pinned}${identity.size} bytes)` };
  }
  if (status >= 500 || status === 429 || status === 408) return { retry: true, message: `HTTP ${status}` };
  if (status === 200) return { retry: false, message: 'the server answered a range request with the whole object (HTTP 200): it stopped honouring Range' };
  if (status !== 206) return { retry: false, message: `HTTP ${status}` };
  const etag = get('etag');
  if (identity.etag && etag && etag !== identity.etag) return { retry: false, message: `object changed: ETag ${etag}, pinned ${identity.etag}` };
  const lm = get('last-modified');
  if (!identity.etag && identity.lastModified && lm && lm !== identity.lastModified) {
    return { retry: false, message: `object changed: Last-Modified ${lm}, pinned ${identity.lastModified}` };
  }
  const cr = get('content-range');
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(cr ?? '');
  if (!m) return { retry: false, message: `HTTP 206 with a malformed Content-Range ${JSON.stringify(cr)}` };
  const total = m[3] === '*' ? -1 : Number(m[3]);
  if (total !== -1 && total !== identity.size) return { retry: false, message: `object changed: size ${total}, pinned ${identity.size}` };
  const end = Math.min(offset + length, identity.size) - 1;
  if (Number(m[1]) !== offset || Number(m[2]) !== end) return { retry: false, message: `HTTP 206 for bytes ${m[1]}-${m[2]}, asked for ${offset}-${end}` };
  return undefined;
}

/** The identity as words for messages: `ETag "x", 1234 bytes`. */
export function describeIdentity(identity: RemoteIdentity): string {
  const parts: string[] = [];
  if (identity.etag) parts.push(`ETag ${identity.etag}`);
  else if (identity.lastModified) parts.push(`Last-Modified ${identity.lastModified}`);
  parts.push(`${identity.size} bytes`);
  return parts.join(', ');
}

/**
 * The shared-memory handshake between a reader and its fetch worker. `ctrl` is an
 * Int32Array over a SharedArrayBuffer: word 0 counts completions (the reader waits on it),
 * then SLOT_WORDS words per slot. The slot's bytes are `slotBytes` at `slot * slotBytes`
 * of the data buffer; a failure leaves its message there as UTF-8.
 */
export const SLOT_WORDS = 4;
/** Word offsets inside a slot's record. */
export const SLOT_STATE = 0;
export const SLOT_LENGTH = 1;
/** Requests the worker made for the slot (retries included). */
export const SLOT_ATTEMPTS = 2;
/** A counter the reader bumps per use, echoed by the worker, so a late answer to an abandoned request is recognised. */
export const SLOT_TICKET = 3;

export const enum SlotState {
  Free = 0,
  Pending = 1,
  Done = 2,
  Failed = 3,
}

/** Words of ctrl for `slots` slots. */
export function ctrlWords(slots: number): number {
  return 1 + slots * SLOT_WORDS;
}
