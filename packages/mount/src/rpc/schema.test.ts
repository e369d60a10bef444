import { describe, expect, it } from 'vitest';
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
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
