/**
 * Dir: offsets and the listing order as Linux 6.18's offset directories keep them
 * (observed on a kernel tmpfs: after creating x, y, z, removing y and creating w,
 * getdents gave ".", "..", "w", "z", "x"; tests/write-oracle.test.ts replays more).
 */
import { describe, expect, it } from 'vitest';
import { DIR_OFFSET_FIRST, DIR_OFFSET_MAX, DIR_OFFSET_MIN, Dir, type DirChild } from './dir.js';

class C implements DirChild {
  offset = 0;
  newer: C | null = null;
  older: C | null = null;
  constructor(public key: string) {}
}

const names = (d: Dir<C>) => [...d.entries()].map((c) => c.key);

/** The names a listing from `pos` reads, as getdents walks them. */
function from(d: Dir<C>, pos: number): string[] {
  const out: string[] = [];
  for (let c = d.at(pos); c; c = c.older) out.push(c.key);
  return out;
}

function make(...keys: string[]): [Dir<C>, C[]] {
  const d = new Dir<C>();
  const cs = keys.map((k) => new C(k));
  for (const c of cs) d.add(c);
  return [d, cs];
}

describe('Dir', () => {
  it('gives offsets from 3 up and lists the newest first; a position reads on from the entry at or below it', () => {
    const [d, [x, y, z]] = make('x', 'y', 'z');
    expect([x.offset, y.offset, z.offset]).toEqual([DIR_OFFSET_MIN, DIR_OFFSET_MIN + 1, DIR_OFFSET_MIN + 2]);
    expect(names(d)).toEqual(['z', 'y', 'x']);
    expect(from(d, DIR_OFFSET_FIRST)).toEqual(['z', 'y', 'x']);
    expect(from(d, y.offset)).toEqual(['y', 'x']);
    d.remove(y);
    // y's position now reads on from the entry below it.
    expect(from(d, y.offset)).toEqual(['x']);
    const w = new C('w');
    d.add(w);
    expect(w.offset).toBe(z.offset + 1);
    expect(names(d)).toEqual(['w', 'z', 'x']);
    // A listing under way (its position at x) does not meet w.
    expect(from(d, x.offset)).toEqual(['x']);
    // Nothing at or below a position: the kernel starts from the front.
    d.remove(x);
    expect(from(d, DIR_OFFSET_MIN)).toEqual(['w', 'z']);
    // Past every offset: from the largest.
    expect(from(d, 2 ** 40)).toEqual(['w', 'z']);
  });

  it('an entry put at a replaced entry\'s offset goes to the front (rename onto an existing name)', () => {
    const [d, [a, b, c]] = make('a', 'b', 'c');
    const off = a.offset;
    d.remove(a);
    d.remove(c);
    c.key = 'a';
    d.insert(c, off);
    expect(names(d)).toEqual(['a', 'b']);
    expect(c.offset).toBe(off);
    // A reader stopped at b goes on to the entries below b's offset only.
    expect(from(d, b.offset)).toEqual(['b']);
    expect(from(d, off)).toEqual(['a', 'b']);
    expect(() => d.insert(new C('z'), b.offset)).toThrow(/taken/);
  });

  it('stays correct across compaction of many removed entries', () => {
    const [d, all] = make(...Array.from({ length: 500 }, (_, i) => `n${i}`));
    for (let i = 0; i < 500; i++) if (i % 7 !== 0) d.remove(all[i]);
    const left = all.filter((_, i) => i % 7 === 0);
    expect(names(d)).toEqual(left.map((c) => c.key).reverse());
    expect(d.size).toBe(left.length);
    for (let i = 0; i < 500; i++) {
      const at = [...left].reverse().find((c) => c.offset <= all[i].offset) ?? null;
      expect(d.at(all[i].offset), `position ${all[i].offset}`).toBe(at ?? d.first);
    }
    for (const c of left) d.remove(c);
    expect(d.size).toBe(0);
    expect(d.at(DIR_OFFSET_FIRST)).toBe(null);
    expect(d.at(100)).toBe(null);
  });

  it('exchange swaps names and offsets; the other side goes to the front first, then the moved one', () => {
    const d1 = new Dir<C>();
    const d2 = new Dir<C>();
    const first = new C('first');
    const a = new C('a');
    const x = new C('x');
    d1.add(first);
    d1.add(a);
    d2.add(new C('other'));
    d2.add(x);
    d2.add(new C('last'));
    const [oa, ox] = [a.offset, x.offset];
    Dir.exchange(d1, a, d2, x, (c, k) => {
      c.key = k;
    });
    expect(d1.get('a')).toBe(x);
    expect(d2.get('x')).toBe(a);
    expect([x.offset, a.offset]).toEqual([oa, ox]);
    expect(names(d1)).toEqual(['a', 'first']);
    expect(names(d2)).toEqual(['x', 'last', 'other']);
    // Within one directory: the moved entry ends up in front of the one it swapped with.
    const [d, [p, , r]] = make('p', 'q', 'r');
    Dir.exchange(d, p, d, r, (c, k) => {
      c.key = k;
    });
    expect(names(d).map((k, i) => [k, [...d.entries()][i] === p ? 'moved' : ''])).toEqual([['r', 'moved'], ['p', ''], ['q', '']]);
    expect(() => d.add(new C('p'))).toThrow();
  });

  it('hands offsets out cyclically: past the top it wraps to the lowest free one', () => {
    const [d, [a, b]] = make('a', 'b', 'c');
    d.remove(a);
    d.nextOffset = DIR_OFFSET_MAX;
    const top = new C('top');
    d.add(top);
    expect(top.offset).toBe(DIR_OFFSET_MAX);
    const wrapped = new C('wrapped');
    d.add(wrapped);
    expect(wrapped.offset).toBe(DIR_OFFSET_MIN); // a's, free again
    const next = new C('next');
    d.add(next);
    expect(next.offset).toBe(b.offset + 2); // past b and c
    expect(names(d)).toEqual(['next', 'wrapped', 'top', 'c', 'b']);
  });
});
