import { describe, expect, it } from 'vitest';
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  METHODS,
  checkRequest,
  errorResponse,
  resultResponse,
  validate,
  type Schema,
} from './schema.js';

const req = (o: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, ...o });

describe('validate', () => {
  const s: Schema = {
    type: 'object',
    required: ['p'],
    properties: {
      p: { type: 'string', maxBytes: 8, absolutePath: true },
      n: { type: 'integer', min: 0, max: 10 },
      b: { type: 'boolean' },
      l: { type: 'array', items: { type: 'integer', min: 0, max: 1 }, maxItems: 2 },
    },
  };
  it('accepts what matches', () => {
    expect(validate(s, { p: '/a' })).toBeNull();
    expect(validate(s, { p: '/a', n: 10, b: false, l: [0, 1] })).toBeNull();
  });
  it('names the first problem', () => {
    expect(validate(s, {})).toBe('params.p is required');
    expect(validate(s, { p: 'a' })).toBe('params.p must be an absolute path');
    expect(validate(s, { p: '/aaaaaaaaa' })).toMatch(/bytes long/);
    expect(validate(s, { p: '/é' })).toBeNull();
    expect(validate(s, { p: '/éééé' })).toMatch(/9 bytes/);
    expect(validate(s, { p: '/a\0' })).toMatch(/NUL/);
    expect(validate(s, { p: 1 })).toBe('params.p must be a string, not number');
    expect(validate(s, { p: '/a', n: 1.5 })).toMatch(/integer/);
    expect(validate(s, { p: '/a', n: 11 })).toMatch(/between/);
    expect(validate(s, { p: '/a', n: '1' })).toMatch(/integer, not string/);
    expect(validate(s, { p: '/a', b: 'true' })).toMatch(/boolean/);
    expect(validate(s, { p: '/a', l: [0, 1, 0] })).toMatch(/3 items/);
    expect(validate(s, { p: '/a', l: [2] })).toBe('params.l[0] must be between 0 and 1');
    expect(validate(s, { p: '/a', l: {} })).toMatch(/array, not an object/);
    expect(validate(s, { p: '/a', x: 1 })).toBe('params has an unknown field "x"');
    expect(validate(s, [])).toMatch(/object, not an array/);
    expect(validate(s, null)).toMatch(/not null/);
  });
});

describe('validate: alternatives and tagged objects', () => {
  const either: Schema = {
    type: 'oneOf',
    of: [
      { type: 'integer', min: 1, max: 9 },
      { type: 'string', maxBytes: 3, pattern: /^[0-9]+k$/ },
    ],
    hint: 'a small size',
  };
  const tagged: Schema = {
    type: 'tagged',
    tag: 'kind',
    fallback: 'a',
    cases: {
      a: { type: 'object', properties: { kind: { type: 'string', maxBytes: 1, enum: ['a'] }, x: { type: 'integer', min: 0, max: 1 } } },
      b: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', maxBytes: 1, enum: ['b'] }, y: either } },
    },
  };
  it('takes the first alternative that fits, else names the field and the hint', () => {
    expect(validate(either, 5)).toBeNull();
    expect(validate(either, '12k')).toBeNull();
    expect(validate(either, 10)).toBe('params must be a small size, not number');
    expect(validate(either, '12m')).toBe('params must be a small size, not "12m"');
    expect(validate({ type: 'string', maxBytes: 8, pattern: /^a+$/ }, 'ab')).toBe('params "ab" does not have the form ^a+$');
    expect(validate({ type: 'string', maxBytes: 8, enum: ['x', 'y'] }, 'z')).toBe('params must be "x" or "y"');
  });
  it('picks the case by its tag, the fallback when absent', () => {
    expect(validate(tagged, { x: 1 })).toBeNull();
    expect(validate(tagged, { kind: 'a', x: 1 })).toBeNull();
    expect(validate(tagged, { y: '1k' })).toBe('params has an unknown field "y"');
    expect(validate(tagged, { kind: 'b', y: '1k' })).toBeNull();
    expect(validate(tagged, { kind: 'b', y: 0 })).toBe('params.y must be a small size, not number');
    expect(validate(tagged, { kind: 'c' })).toBe('params.kind must be "a" or "b"');
    expect(validate(tagged, { kind: 'constructor' })).toBe('params.kind must be "a" or "b"');
    expect(validate(tagged, [])).toMatch(/object, not an array/);
  });
  it('the mount method: an image by default, a tmpfs by type', () => {
    expect(validate(METHODS.mount, { image: '/i.erofs', target: '/mnt' })).toBeNull();
    expect(validate(METHODS.mount, { type: 'erofs', image: '/i.erofs', target: '/mnt' })).toBeNull();
    expect(validate(METHODS.mount, { type: 'tmpfs', target: '/tmp', options: { size: '64m', nr_inodes: 1024, mode: '1777', uid: 0, gid: 0, readOnly: false, nosuid: true, nodev: true, noexec: true, mkdir: true, source: 'tmpfs' } })).toBeNull();
    expect(validate(METHODS.mount, { type: 'tmpfs', target: '/tmp', options: { pageCacheBytes: 1 } })).toBe('params.options has an unknown field "pageCacheBytes"');
    expect(validate(METHODS.mount, { image: '/i.erofs', target: '/mnt', options: { size: 1 } })).toBe('params.options has an unknown field "size"');
  });
});

describe('checkRequest', () => {
  it('accepts the five methods with their params', () => {
    for (const [method, params] of [
      ['ping', undefined],
      ['list', {}],
      ['mount', { image: '/i.erofs', target: '/mnt', options: { mkdir: true, dentryCacheSize: 0, devices: ['/d'] } }],
      ['unmount', { target: '/mnt', detach: true }],
      ['mkdir', { path: '/mnt', parents: true }],
    ] as const) {
      const r = checkRequest(req(params ? { method, params } : { method }));
      expect(r.ok, method).toBe(true);
    }
  });

  it('refuses envelopes that are not requests', () => {
    expect(checkRequest(5)).toMatchObject({ ok: false, id: null, error: { code: INVALID_REQUEST } });
    expect(checkRequest(null)).toMatchObject({ ok: false, error: { code: INVALID_REQUEST } });
    expect(checkRequest(req({ jsonrpc: '1.0', method: 'ping' }))).toMatchObject({ id: 1, error: { code: INVALID_REQUEST } });
    expect(checkRequest(req({ method: 7 }))).toMatchObject({ error: { code: INVALID_REQUEST } });
    expect(checkRequest(req({ method: 'ping', extra: 1 }))).toMatchObject({ error: { code: INVALID_REQUEST, message: 'unknown member "extra"' } });
    expect(checkRequest({ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' })).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    expect(checkRequest({ jsonrpc: '2.0', id: 'x'.repeat(300), method: 'ping' })).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    expect(checkRequest(JSON.parse('{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"x":1}}'))).toMatchObject({ error: { code: INVALID_REQUEST } });
  });

  it('unknown methods and bad params, echoing the id', () => {
    expect(checkRequest(req({ method: 'rm -rf' }))).toMatchObject({ id: 1, error: { code: METHOD_NOT_FOUND } });
    expect(checkRequest(req({ method: 'toString' }))).toMatchObject({ error: { code: METHOD_NOT_FOUND } });
    expect(checkRequest(req({ method: 'mount', params: ['/a', '/b'] }))).toMatchObject({ error: { code: INVALID_PARAMS } });
    expect(checkRequest(req({ method: 'mount', params: { image: '/a' } }))).toMatchObject({ error: { code: INVALID_PARAMS, message: 'params.target is required' } });
    expect(checkRequest(req({ method: 'mount', params: { image: '/a', target: '/b', options: { evil: true } } }))).toMatchObject({
      error: { code: INVALID_PARAMS, message: 'params.options has an unknown field "evil"' },
    });
    expect(checkRequest(req({ method: 'unmount', params: { target: '/b', detach: 'yes' } }))).toMatchObject({ error: { code: INVALID_PARAMS } });
    expect(checkRequest(req({ method: 'ping', params: { x: 1 } }))).toMatchObject({ error: { code: INVALID_PARAMS } });
  });

  it('knows notifications: no id, no response for method or params errors', () => {
    expect(checkRequest({ jsonrpc: '2.0', method: 'ping' })).toMatchObject({ ok: true, notification: true });
    expect(checkRequest({ jsonrpc: '2.0', method: 'nope' })).toMatchObject({ ok: false, notification: true });
    expect(checkRequest({ jsonrpc: '2.0', id: null, method: 'ping' })).toMatchObject({ ok: true, notification: false, request: { id: null } });
  });

  it('builds responses', () => {
    expect(errorResponse(3, -1, 'm', { a: 1 })).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -1, message: 'm', data: { a: 1 } } });
    expect(errorResponse(3, -1, 'm')).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -1, message: 'm' } });
    expect(resultResponse('a', 1)).toEqual({ jsonrpc: '2.0', id: 'a', result: 1 });
  });
});
