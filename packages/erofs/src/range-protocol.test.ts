import { describe, expect, it } from 'vitest';
import { checkPartial, describeIdentity, parseContentRange, pinHeaders } from './range-protocol.js';

const id = { size: 1000, etag: '"abc"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' };
const headers = (h: Record<string, string>) => (n: string) => h[n] ?? null;

describe('range protocol', () => {
  it('parses Content-Range and refuses malformed or inconsistent ones', () => {
    expect(parseContentRange('bytes 0-99/1000')).toEqual({ start: 0, end: 99, total: 1000 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, total: -1 });
    for (const bad of ['', 'bytes 9-5/100', 'bytes 0-100/100', 'items 0-1/2', 'bytes -1-2/3', null]) expect(parseContentRange(bad)).toBeUndefined();
  });

  it('pins a strong ETag with If-Match, else Last-Modified with If-Unmodified-Since', () => {
    expect(pinHeaders(id)).toEqual({ 'if-match': '"abc"' });
    expect(pinHeaders({ ...id, etag: 'W/"abc"' })).toEqual({ 'if-unmodified-since': id.lastModified });
    expect(pinHeaders({ size: 1 })).toEqual({});
    expect(describeIdentity(id)).toBe('ETag "abc", 1000 bytes');
  });

  it('accepts the exact partial answer and says why anything else is unusable', () => {
    const ok = { etag: '"abc"', 'content-range': 'bytes 100-199/1000' };
    expect(checkPartial(206, headers(ok), id, 100, 100)).toBeUndefined();
    // A request past the end is answered up to the end.
    expect(checkPartial(206, headers({ 'content-range': 'bytes 900-999/1000' }), id, 900, 4096)).toBeUndefined();
    expect(checkPartial(503, headers({}), id, 0, 1)).toEqual({ retry: true, message: 'HTTP 503' });
    expect(checkPartial(429, headers({}), id, 0, 1)?.retry).toBe(true);
    expect(checkPartial(412, headers({}), id, 0, 1)?.message).toMatch(/^object changed/);
    expect(checkPartial(200, headers({}), id, 0, 1)?.message).toMatch(/stopped honouring Range/);
    expect(checkPartial(403, headers({}), id, 0, 1)).toEqual({ retry: false, message: 'HTTP 403' });
    expect(checkPartial(206, headers({ ...ok, etag: '"new"' }), id, 100, 100)?.message).toBe('object changed: ETag "new", pinned "abc"');
    expect(checkPartial(206, headers({ 'content-range': 'bytes 100-199/2000' }), id, 100, 100)?.message).toBe('object changed: size 2000, pinned 1000');
    expect(checkPartial(206, headers({ 'content-range': 'bytes 0-99/1000' }), id, 100, 100)?.message).toMatch(/asked for 100-199/);
    expect(checkPartial(206, headers({}), id, 100, 100)?.message).toMatch(/malformed Content-Range/);
    const lmOnly = { size: 1000, lastModified: id.lastModified };
    expect(checkPartial(206, headers({ 'last-modified': 'Tue, 02 Jan 2024 00:00:00 GMT', 'content-range': 'bytes 0-0/1000' }), lmOnly, 0, 1)?.message).toMatch(/object changed: Last-Modified/);
  });
});
