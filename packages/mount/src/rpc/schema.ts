/**
 * The RPC protocol: JSON-RPC 2.0 messages, one per line (newline-delimited JSON, UTF-8,
 * at most MAX_MESSAGE_BYTES per line including the newline), and a small validator that
 * checks every request before it reaches the controller.
 *
 * Methods (params are always by name; every field is checked, unknown fields refused):
 *   ping    {}                                                   -> { pong: true, version }
 *   mount   { [type: "erofs",] image: abs host path | url: http(s):// or s3:// URL [, headers: "Name: value"[]],
 *             target: abs guest path,
 *             options?: { dentryCacheSize?, negativeCacheSize?, dirCacheEntries?,
 *                         extentCacheBytes?, pageCacheBytes?, mkdir?, source?, devices?: abs path[],
 *                         nosuid?, nodev?, noexec? } }          -> MountRecord
 *   mount   { type: "tmpfs", target: abs guest path,
 *             options?: { size?: bytes | "16m", nr_inodes?: n | "1k", mode?: bits | "1777",
 *                         uid?, gid?, readOnly?, nosuid?, nodev?, noexec?, mkdir?, source? } }
 *                                                                -> MountRecord
 *   mount   { type: "overlay", target: abs guest path, layers: abs host path[] (lowest first, 1..128),
 *             upper?: { size?: bytes | "64m", nr_inodes?: n | "16k" },
 *             options?: { mkdir?, source?, readOnly?, nosuid?, nodev?, noexec? } }    -> MountRecord
 *           (which types the RPC may mount is the host's choice: RpcServerOptions.mountTypes)
 *   unmount { target: abs guest path, detach?: boolean }         -> { id, target, released }
 *   list    {}                                                   -> { mounts: MountRecord[], mountinfo }
 *   mkdir   { path: abs guest path, parents?: boolean }          -> { path }
 *   prefetch { target: abs guest path, paths: abs path inside it[] (at most 4096), wait?: boolean }
 *                                                                -> { files, bytes, skipped: [{ path, errno, message }] }
 *           (warms the files' bytes in the caches of remote images; answers once they are
 *           fetched, or once queued with wait: false)
 *
 * Errors: the JSON-RPC codes (-32700 parse error, -32600 invalid request, -32601 method
 * not found, -32602 invalid params, whose data is { errno: "EINVAL", errnum: 22 } and
 * whose message names the field, -32603 internal error), -32000 for a failed
 * operation, whose data is { errno: "EBUSY", errnum: 16 }, and -32001 for a request
 * cancelled because the client closed its side before it was committed.
 */

export const JSONRPC = '2.0';
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_BATCH = 16;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** An operation failed with an errno (data.errno names it). */
export const OPERATION_FAILED = -32000;
/** The client closed its side before the request was committed; nothing was done. */
export const REQUEST_CANCELLED = -32001;

export type Id = string | number | null;

export interface RpcRequest {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
  /** Absent for a notification (no response is sent). */
  id?: Id;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type RpcResponse = { jsonrpc: '2.0'; id: Id; result: unknown } | { jsonrpc: '2.0'; id: Id; error: RpcErrorObject };

// ---- a small schema language ------------------------------------------------------------

export type Schema =
  | { type: 'string'; maxBytes: number; absolutePath?: boolean; enum?: readonly string[]; pattern?: RegExp }
  | { type: 'integer'; min: number; max: number }
  | { type: 'boolean' }
  | { type: 'array'; items: Schema; maxItems: number }
  | { type: 'object'; properties: Record<string, Schema>; required?: readonly string[] }
  /** The first alternative that fits; otherwise "<field> must be <hint>". */
  | { type: 'oneOf'; of: readonly Schema[]; hint: string }
  /** An object whose `tag` field (default `fallback` when absent) picks the schema it must fit. */
  | { type: 'tagged'; tag: string; fallback: string; cases: Readonly<Record<string, Schema>> };

const PATH_MAX = 4096;
const utf8 = new TextEncoder();

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** Checks `value` against `schema`; returns the first problem found, or null. */
export function validate(schema: Schema, value: unknown, at = 'params'): string | null {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return `${at} must be a string, not ${describe(value)}`;
      const bytes = utf8.encode(value).length;
      if (bytes > schema.maxBytes) return `${at} is ${bytes} bytes long (at most ${schema.maxBytes})`;
      if (value.includes('\0')) return `${at} holds a NUL character`;
      if (schema.absolutePath && !value.startsWith('/')) return `${at} must be an absolute path`;
      if (schema.enum && !schema.enum.includes(value)) return `${at} must be ${schema.enum.map((e) => JSON.stringify(e)).join(' or ')}`;
      if (schema.pattern && !schema.pattern.test(value)) return `${at} ${JSON.stringify(value.slice(0, 64))} does not have the form ${schema.pattern.source}`;
      return null;
    }
    case 'oneOf':
      for (const alt of schema.of) if (validate(alt, value, at) === null) return null;
      return `${at} must be ${schema.hint}, not ${typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : describe(value)}`;
    case 'tagged': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at} must be an object, not ${describe(value)}`;
      const tag = Object.hasOwn(value, schema.tag) ? (value as Record<string, unknown>)[schema.tag] : schema.fallback;
      if (typeof tag !== 'string' || !Object.hasOwn(schema.cases, tag)) {
        return `${at}.${schema.tag} must be ${Object.keys(schema.cases).map((k) => JSON.stringify(k)).join(' or ')}`;
      }
      return validate(schema.cases[tag], value, at);
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `${at} must be an integer, not ${describe(value)}`;
      if (value < schema.min || value > schema.max) return `${at} must be between ${schema.min} and ${schema.max}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${at} must be a boolean, not ${describe(value)}`;
    case 'array': {
      if (!Array.isArray(value)) return `${at} must be an array, not ${describe(value)}`;
      if (value.length > schema.maxItems) return `${at} has ${value.length} items (at most ${schema.maxItems})`;
      for (let i = 0; i < value.length; i++) {
        const err = validate(schema.items, value[i], `${at}[${i}]`);
        if (err) return err;
      }
      return null;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at} must be an object, not ${describe(value)}`;
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(schema.properties, key)) return `${at} has an unknown field ${JSON.stringify(key)}`;
      }
      for (const key of schema.required ?? []) {
        if (!Object.hasOwn(value, key)) return `${at}.${key} is required`;
      }
      for (const [key, sub] of Object.entries(schema.properties)) {
        if (!Object.hasOwn(value, key)) continue;
        const err = validate(sub, (value as Record<string, unknown>)[key], `${at}.${key}`);
        if (err) return err;
      }
      return null;
    }
  }
}

const hostPath: Schema = { type: 'string', maxBytes: PATH_MAX - 1, absolutePath: true };
const guestPath: Schema = { type: 'string', maxBytes: PATH_MAX - 1, absolutePath: true };
const count = (max: number): Schema => ({ type: 'integer', min: 0, max });
const bool: Schema = { type: 'boolean' };
const empty: Schema = { type: 'object', properties: {} };

/** Largest tmpfs `size` the RPC takes (1 TiB) and largest `nr_inodes`. */
export const TMPFS_MAX_BYTES = 2 ** 40;
export const TMPFS_MAX_INODES = 2 ** 31 - 1;
/** A size as mount(8) writes it: digits and an optional k, m, g or t (binary) suffix. */
export const SIZE_PATTERN = /^[0-9]{1,16}[kKmMgGtT]?$/;

const sizeOf = (max: number, what: string): Schema => ({
  type: 'oneOf',
  of: [
    { type: 'integer', min: 1, max },
    { type: 'string', maxBytes: 17, pattern: SIZE_PATTERN },
  ],
  hint: `${what}: an integer from 1 to ${max}, or digits with an optional k, m, g or t suffix ("16m")`,
});
const id: Schema = { type: 'integer', min: 0, max: 2 ** 32 - 2 };

const imageMount: Schema = {
  type: 'object',
  // image or url, exactly one: checked by imageFromRpc (remote.ts)
  required: ['target'],
  properties: {
    type: { type: 'string', maxBytes: 16, enum: ['erofs'] },
    image: hostPath,
    url: { type: 'string', maxBytes: 8192 },
    headers: { type: 'array', items: { type: 'string', maxBytes: 8192 }, maxItems: 32 },
    target: guestPath,
    options: {
      type: 'object',
      properties: {
        dentryCacheSize: count(1_000_000),
        negativeCacheSize: count(1_000_000),
        dirCacheEntries: count(10_000_000),
        extentCacheBytes: count(1 << 30),
        pageCacheBytes: count(1 << 30),
        mkdir: bool,
        source: { type: 'string', maxBytes: 1024 },
        devices: { type: 'array', items: hostPath, maxItems: 16 },
        nosuid: bool,
        nodev: bool,
        noexec: bool,
      },
    },
  },
};

const tmpfsMount: Schema = {
  type: 'object',
  required: ['type', 'target'],
  properties: {
    type: { type: 'string', maxBytes: 16, enum: ['tmpfs'] },
    target: guestPath,
    options: {
      type: 'object',
      properties: {
        // A string's value is bounded too, once parsed (server.ts, tmpfsFromRpc).
        size: sizeOf(TMPFS_MAX_BYTES, 'bytes'),
        nr_inodes: sizeOf(TMPFS_MAX_INODES, 'a count of inodes'),
        mode: {
          type: 'oneOf',
          of: [
            { type: 'integer', min: 0, max: 0o7777 },
            { type: 'string', maxBytes: 4, pattern: /^[0-7]{1,4}$/ },
          ],
          hint: 'permission bits: an integer from 0 to 4095 (0o7777), or 1 to 4 octal digits ("1777")',
        },
        uid: id,
        gid: id,
        readOnly: bool,
        nosuid: bool,
        nodev: bool,
        noexec: bool,
        mkdir: bool,
        source: { type: 'string', maxBytes: 1024 },
      },
    },
  },
};

/** An overlay of image layers (host paths, lowest first) under a tmpfs upper. */
const overlayMount: Schema = {
  type: 'object',
  required: ['type', 'target', 'layers'],
  properties: {
    type: { type: 'string', maxBytes: 16, enum: ['overlay'] },
    target: guestPath,
    layers: { type: 'array', items: hostPath, maxItems: 128 },
    upper: {
      type: 'object',
      properties: {
        type: { type: 'string', maxBytes: 16, enum: ['tmpfs'] },
        size: sizeOf(TMPFS_MAX_BYTES, 'bytes'),
        nr_inodes: sizeOf(TMPFS_MAX_INODES, 'a count of inodes'),
      },
    },
    options: {
      type: 'object',
      properties: { mkdir: bool, source: { type: 'string', maxBytes: 1024 }, readOnly: bool, nosuid: bool, nodev: bool, noexec: bool },
    },
  },
};

export const METHODS: Readonly<Record<string, Schema>> = {
  ping: empty,
  list: empty,
  mount: { type: 'tagged', tag: 'type', fallback: 'erofs', cases: { erofs: imageMount, tmpfs: tmpfsMount, overlay: overlayMount } },
  unmount: {
    type: 'object',
    required: ['target'],
    properties: { target: guestPath, detach: bool },
  },
  mkdir: {
    type: 'object',
    required: ['path'],
    properties: { path: guestPath, parents: bool },
  },
  prefetch: {
    type: 'object',
    required: ['target', 'paths'],
    properties: { target: guestPath, paths: { type: 'array', items: guestPath, maxItems: 4096 }, wait: bool },
  },
};

/** The errno an invalid params error carries: a field out of its schema is EINVAL, as a bad mount(2) option is. */
export const INVALID_PARAMS_DATA = { errno: 'EINVAL', errnum: 22 } as const;

export type Checked =
  | { ok: true; request: RpcRequest; notification: boolean }
  | { ok: false; id: Id; error: RpcErrorObject; notification: boolean };

function validId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/**
 * Validates one parsed message as a request: envelope first (-32600), then the method
 * (-32601), then the params (-32602). The id is echoed whenever it is usable.
 */
export function checkRequest(msg: unknown): Checked {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return { ok: false, id: null, notification: false, error: { code: INVALID_REQUEST, message: `a request must be an object, not ${describe(msg)}` } };
  }
  const m = msg as Record<string, unknown>;
  const hasId = Object.hasOwn(m, 'id');
  const id: Id = hasId && validId(m.id) ? (m.id as Id) : null;
  const fail = (code: number, message: string): Checked => ({ ok: false, id, notification: false, error: { code, message } });
  if (hasId && !validId(m.id)) return fail(INVALID_REQUEST, 'id must be a string, a number or null');
  if (typeof m.id === 'string' && m.id.length > 256) {
    return { ok: false, id: null, notification: false, error: { code: INVALID_REQUEST, message: 'id is longer than 256 characters' } };
  }
  for (const key of Object.keys(m)) {
    if (key !== 'jsonrpc' && key !== 'method' && key !== 'params' && key !== 'id') return fail(INVALID_REQUEST, `unknown member ${JSON.stringify(key)}`);
  }
  if (m.jsonrpc !== JSONRPC) return fail(INVALID_REQUEST, 'jsonrpc must be "2.0"');
  if (typeof m.method !== 'string') return fail(INVALID_REQUEST, 'method must be a string');
  if (!Object.hasOwn(METHODS, m.method)) return { ...fail(METHOD_NOT_FOUND, `no method ${JSON.stringify(m.method.slice(0, 64))}`), notification: !hasId };
  const schema = METHODS[m.method];
  let params: unknown = m.params;
  if (!Object.hasOwn(m, 'params')) params = {};
  if (Array.isArray(params)) return { ...fail(INVALID_PARAMS, 'params must be given by name (an object)'), notification: !hasId };
  const err = validate(schema, params);
  if (err) return { ok: false, id, notification: !hasId, error: { code: INVALID_PARAMS, message: err, data: INVALID_PARAMS_DATA } };
  const request: RpcRequest = { jsonrpc: JSONRPC, method: m.method, params: params as Record<string, unknown> };
  if (hasId) request.id = id;
  return { ok: true, request, notification: !hasId };
}

export function errorResponse(id: Id, code: number, message: string, data?: unknown): RpcResponse {
  const error: RpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: JSONRPC, id, error };
}

export function resultResponse(id: Id, result: unknown): RpcResponse {
  return { jsonrpc: JSONRPC, id, result };
}
