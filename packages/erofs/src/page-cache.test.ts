import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcRuns } from '../../../tests/fc-runs.js';
import { PageCache } from './page-cache.js';

const bytes = (n: number, v = n & 0xff) => new Uint8Array(n).fill(v);

describe('PageCache and its domains', () => {
  it('finds a range by any offset inside it, per inode, and counts', () => {
    const d = new PageCache(1000).domain();
    d.insert(7, 100, bytes(50));
    d.insert(7, 0, bytes(100));
    d.insert(8, 100, bytes(10));
    expect(d.find(7, 0)?.start).toBe(0);
    expect(d.find(7, 99)?.start).toBe(0);
    expect(d.find(7, 100)?.start).toBe(100);
    expect(d.find(7, 149)?.end).toBe(150);
    expect(d.find(7, 150)).toBeUndefined();
    expect(d.find(8, 50)).toBeUndefined();
    expect(d.find(9, 0)).toBeUndefined();
    expect(d.stats()).toMatchObject({ entries: 3, bytes: 160, hits: 4, misses: 3, evictions: 0 });
  });

  it('a range replaces the ranges it overlaps', () => {
    const d = new PageCache(1000).domain();
    d.insert(1, 0, bytes(10, 1));
    d.insert(1, 10, bytes(10, 2));
    d.insert(1, 20, bytes(10, 3));
    d.insert(1, 5, bytes(20, 9)); // overlaps all three
    expect(d.find(1, 0)).toBeUndefined();
    expect(d.find(1, 5)?.bytes[0]).toBe(9);
    expect(d.find(1, 24)?.start).toBe(5);
    expect(d.find(1, 25)).toBeUndefined();
    expect(d.stats()).toMatchObject({ entries: 1, bytes: 20 });
  });

  it('keeps each domain within its limit and the host within its budget, least recently used first', () => {
    const host = new PageCache(300);
    const a = host.domain(200);
    const b = host.domain();
    a.insert(1, 0, bytes(100));
    a.insert(1, 100, bytes(100));
    a.find(1, 0); // range 0 is now more recent than 100
    a.insert(1, 200, bytes(100)); // over a's limit: 100 goes
    expect(a.find(1, 150)).toBeUndefined();
    expect(a.find(1, 50)).toBeDefined();
    b.insert(2, 0, bytes(100)); // host full (300)
    b.insert(2, 100, bytes(100)); // over the host budget: its oldest (a's range 0? no: a's 200 was used last... ) goes
    expect(host.stats().bytes).toBeLessThanOrEqual(300);
    expect(a.stats().bytes + b.stats().bytes).toBe(host.stats().bytes);
    expect(a.stats().evictions + b.stats().evictions).toBe(2);
    expect(a.insert(3, 0, bytes(201))).toBeUndefined(); // larger than a's limit
    expect(b.insert(3, 0, bytes(301))).toBeUndefined(); // larger than the budget
    a.clear();
    expect(host.stats().bytes).toBe(b.stats().bytes);
    host.budget = 100;
    expect(b.stats().bytes).toBeLessThanOrEqual(100);
  });

  it('reuses the memory of evicted entries, never of shared ones', () => {
    const host = new PageCache(1 << 20);
    const d = host.domain(8192);
    const a = d.alloc(5000);
    expect(a.buffer.byteLength).toBe(8192); // a 4 KiB multiple
    d.insert(1, 0, a);
    d.insert(1, 5000, d.alloc(6000)); // evicts a
    expect(d.stats()).toMatchObject({ entries: 1, evictions: 1 });
    const b = d.alloc(7000);
    expect(b.buffer).toBe(a.buffer); // reused
    const r = d.insert(2, 0, b)!;
    d.share(r); // handed out as a view
    d.insert(2, 7000, d.alloc(7000)); // evicts b
    expect(d.alloc(7000).buffer).not.toBe(b.buffer);
  });

  it('admits what fits; when full, only a range asked for before', () => {
    const host = new PageCache(1 << 20);
    const d = host.domain(8192);
    expect(d.admit(1, 0, 4096)).toBe(true);
    d.insert(1, 0, bytes(4096));
    expect(d.admit(1, 4096, 4096)).toBe(true);
    d.insert(1, 4096, bytes(4096));
    expect(d.admit(1, 8192, 4096)).toBe(false); // full: declined, remembered
    expect(d.admit(1, 12288, 4096)).toBe(false);
    expect(d.admit(1, 8192, 4096)).toBe(true); // asked again: admitted
    expect(d.admit(1, 8192, 4096)).toBe(false); // and forgotten
    const small = new PageCache(4096).domain();
    expect(small.admit(2, 0, 8192)).toBe(false); // the host has no room
  });

  it('matches a model under arbitrary inserts and lookups (fast-check)', () => {
    const { runs } = fcRuns('page-cache');
    const op = fc.oneof(
      fc.record({ t: fc.constant('insert' as const), d: fc.nat(1), nid: fc.nat(2), start: fc.nat(40), len: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ t: fc.constant('find' as const), d: fc.nat(1), nid: fc.nat(2), pos: fc.nat(70) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 120 }), (ops, limit, budget) => {
        const host = new PageCache(budget);
        const ds = [host.domain(limit), host.domain()];
        // The model: what each (domain, nid) range holds; the cache may have dropped any,
        // but what it finds must be a range inserted last over that offset.
        const model = ds.map(() => new Map<number, Map<number, number>>()); // nid -> offset -> tag
        let tag = 0;
        for (const o of ops) {
          if (o.t === 'insert') {
            tag++;
            ds[o.d].insert(o.nid, o.start, bytes(o.len, tag & 0xff));
            let m = model[o.d].get(o.nid);
            if (!m) model[o.d].set(o.nid, (m = new Map()));
            for (let p = o.start; p < o.start + o.len; p++) m.set(p, tag & 0xff);
          } else {
            const r = ds[o.d].find(o.nid, o.pos);
            if (r) {
              expect(r.start <= o.pos && o.pos < r.end).toBe(true);
              expect(r.bytes[o.pos - r.start]).toBe(model[o.d].get(o.nid)?.get(o.pos));
            }
          }
          expect(ds[0].stats().bytes).toBeLessThanOrEqual(limit);
          expect(host.stats().bytes).toBeLessThanOrEqual(budget);
          expect(ds[0].stats().bytes + ds[1].stats().bytes).toBe(host.stats().bytes);
        }
      }),
      runs(300),
    );
  });
});
