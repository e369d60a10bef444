/**
 * Dir: positions (cookies) that survive changes. Linux 6.18's tmpfs also keeps stable
 * offsets; it lists the newest entries first (observed: after creating x, y, z, removing
 * y and creating w, getdents gave ".", "..", "w", "z", "x"), where we list in creation
 * order, as issue 14 asks.
 */
import { describe, expect, it } from 'vitest';
import { Dir, FIRST_COOKIE, type DirChild } from './dir.js';

class C implements DirChild {
  cookie = 0;
  constructor(public key: string) {}
}

const names = (d: Dir<C>) => [...d.entries()].map((c) => c.key);

describe('Dir', () => {
  it('gives increasing cookies and finds the next entry from any position', () => {
    const d = new Dir<C>();
    const [a, b, c] = ['a', 'b', 'c'].map((k) => new C(k));
    d.add(a);
    d.add(b);
    d.add(c);
    expect([a.cookie, b.cookie, c.cookie]).toEqual([FIRST_COOKIE, FIRST_COOKIE + 1, FIRST_COOKIE + 2]);
    expect(d.next(0, Infinity)).toBe(a);
    expect(d.next(b.cookie, Infinity)).toBe(b);
    expect(d.next(b.cookie + 1, Infinity)).toBe(c);
    expect(d.next(c.cookie + 1, Infinity)).toBe(null);
    d.remove(b);
    expect(d.next(b.cookie, Infinity)).toBe(c);
    expect(names(d)).toEqual(['a', 'c']);
    const e = new C('b');
    d.add(e);
    expect(e.cookie).toBe(c.cookie + 1);
    expect(names(d)).toEqual(['a', 'c', 'b']);
    // The limit hides entries added after a listing began.
    expect(d.next(c.cookie + 1, e.cookie)).toBe(null);
  });

  it('stays correct across compaction of many removed entries', () => {
    const d = new Dir<C>();
    const all = Array.from({ length: 500 }, (_, i) => new C(`n${i}`));
    for (const c of all) d.add(c);
    for (let i = 0; i < 500; i++) if (i % 7 !== 0) d.remove(all[i]);
    const left = all.filter((_, i) => i % 7 === 0);
    expect(names(d)).toEqual(left.map((c) => c.key));
    expect(d.size).toBe(left.length);
    for (let i = 0; i < 500; i++) {
      const want = left.find((c) => c.cookie >= all[i].cookie) ?? null;
      expect(d.next(all[i].cookie, Infinity)).toBe(want);
    }
    for (const c of left) d.remove(c);
    expect(d.size).toBe(0);
    expect(d.next(0, Infinity)).toBe(null);
  });

  it('exchange swaps names and keeps positions', () => {
    const d1 = new Dir<C>();
    const d2 = new Dir<C>();
    const a = new C('a');
    const x = new C('x');
    d1.add(new C('first'));
    d1.add(a);
    d2.add(x);
    const [ca, cx] = [a.cookie, x.cookie];
    Dir.exchange(d1, a, d2, x, (c, k) => {
      c.key = k;
    });
    expect(d1.get('a')).toBe(x);
    expect(d2.get('x')).toBe(a);
    expect([x.cookie, a.cookie]).toEqual([ca, cx]);
    expect(names(d1)).toEqual(['first', 'a']);
    expect(() => d1.add(new C('a'))).toThrow();
  });
});
