import { describe, expect, it } from 'vitest';
import { BoundedCache } from './cache.js';

describe('BoundedCache', () => {
  it('evicts least recently used entries to stay within a byte budget, and counts', () => {
    const evicted: string[] = [];
    const c = new BoundedCache<string, Uint8Array>(100, { onEvict: (k) => evicted.push(k) });
    const [a, b, cc] = [1, 2, 3].map((v) => new Uint8Array(40).fill(v));
    c.set('a', a);
    c.set('b', b);
    expect(c.get('a')).toBe(a); // a is now the most recent
    c.set('c', cc); // evicts b
    expect(evicted).toEqual(['b']);
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(80);
    expect(c.set('huge', new Uint8Array(101))).toBe(false); // larger than the budget: not kept
    expect(c.has('huge')).toBe(false);
    expect(c.stats()).toEqual({ entries: 2, bytes: 80, budget: 100, hits: 1, misses: 1, evictions: 1 });
    // peek and touch neither count nor (peek) reorder; touch refreshes
    expect(c.peek('a')).toBe(a);
    c.touch('a');
    c.set('d', new Uint8Array(40)); // evicts c, the least recent now
    expect([...c.keys()]).toEqual(['a', 'd']);
    expect(c.stats().hits).toBe(1);
  });

  it('replaces a key, deletes and clears without onEvict, and shrinks with its budget', () => {
    const evicted: number[] = [];
    const c = new BoundedCache<number, string>(3, { sizeOf: () => 1, onEvict: (k) => evicted.push(k) });
    c.set(1, 'x');
    c.set(1, 'y');
    expect(c.count).toBe(1);
    expect(c.size).toBe(1);
    c.set(2, 'z');
    c.set(3, 'w');
    expect(c.delete(2)).toBe(true);
    expect(c.delete(2)).toBe(false);
    c.budget = 1;
    expect(evicted).toEqual([1]);
    expect([...c.keys()]).toEqual([3]);
    c.clear();
    expect(c.size).toBe(0);
    expect(evicted).toEqual([1]);
    expect(() => new BoundedCache(-1)).toThrow(RangeError);
    expect(() => new BoundedCache(1.5)).toThrow(RangeError);
  });
});
