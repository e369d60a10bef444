import { describe, expect, it } from 'vitest';
import { Dentry, DentryCache, keyBytes, keyEquals, keyHash, nameHash, nameKey } from './dentry.js';
import type { Inode } from './inode.js';

/** A cache whose "inodes" are counters, to watch evictions release them. */
function setup(capacity: number) {
  const released: string[] = [];
  const cache = new DentryCache(capacity, (d) => released.push(d.key));
  const inode = {} as Inode;
  const root = cache.attach(null, '', inode).incRef();
  const child = (parent: Dentry, key: string) => cache.attach(parent, key, inode).incRef();
  return { cache, root, child, released };
}

describe('dentry cache', () => {
  it('maps names to exact keys and back', () => {
    const bytes = new Uint8Array([0x61, 0xff, 0x00, 0x80, 0xe6]);
    expect(keyBytes(nameKey(bytes))).toEqual(bytes);
    expect(nameKey(new TextEncoder().encode('abc'))).toBe('abc');
    // every byte value, and a run longer than one String.fromCharCode call takes
    const all = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 255);
    const key = nameKey(all);
    expect(key.length).toBe(all.length);
    expect(keyBytes(key)).toEqual(all);
    expect(nameKey(new Uint8Array(0))).toBe('');
  });

  it('indexes children by a hash of their name bytes, colliding names included', () => {
    const enc = new TextEncoder();
    const b = enc.encode('/x/caf\u00e9/');
    expect(nameHash(b, 3, b.length - 1)).toBe(keyHash(nameKey(b.subarray(3, b.length - 1))));
    expect(keyEquals(nameKey(b.subarray(3, 8)), b, 3, 8)).toBe(true);
    expect(keyEquals('caf', b, 3, 8)).toBe(false);
    // Two names with one 30-bit hash (a birthday search finds a pair in a few thousand names).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const k = `n${i}`;
      const h = keyHash(k);
      const o = seen.get(h);
      if (o !== undefined) pair = [o, k];
      else seen.set(h, k);
    }
    const [p, q] = pair;
    const { cache, root, child } = setup(1);
    const dp = child(root, p);
    const dq = child(root, q);
    expect(dp.hash).toBe(dq.hash);
    // The index holds the first; the second is in children only.
    expect(root.byHash!.get(dp.hash)).toBe(dp);
    expect(root.child(q)).toBe(dq);
    // Evicting the indexed one leaves no stale index entry.
    dq.decRef();
    dp.decRef();
    expect(dq.dead).toBe(true);
    expect(root.byHash!.get(dp.hash)).toBe(dp);
    child(root, 'other').decRef();
    expect(dp.dead).toBe(true);
    expect(root.byHash!.has(dp.hash)).toBe(false);
    expect([...root.byHash!.values()].map((d) => d.key)).toEqual(['other']);
    cache.trim(0);
    expect(root.children).toBeNull();
    expect(root.byHash).toBeNull();
  });

  it('keeps at most N unreferenced dentries and evicts the least recently used', () => {
    const { cache, root, child, released } = setup(2);
    const a = child(root, 'a');
    const b = child(root, 'b');
    const c = child(root, 'c');
    expect(cache.size).toBe(0);
    a.decRef();
    b.decRef();
    expect(cache.size).toBe(2);
    c.decRef();
    expect(cache.size).toBe(2);
    expect(released).toEqual(['a']);
    expect(a.dead).toBe(true);
    expect(root.child('a')).toBeUndefined();
    expect(root.child('b')).toBe(b);
    // Re-referencing takes a dentry off the list; it is then safe from eviction.
    b.incRef();
    expect(cache.size).toBe(1);
    child(root, 'd').decRef();
    child(root, 'e').decRef();
    expect(released).toEqual(['a', 'c']);
    expect(b.dead).toBe(false);
    expect([...cache.lru()].map((d) => d.key)).toEqual(['e', 'd']);
    expect(root.refs).toBe(1 + 3);
  });

  it('pins a parent while a child is attached, and parks it when the last child goes', () => {
    const { cache, root, child, released } = setup(0);
    const dir = child(root, 'dir');
    const f = child(dir, 'f');
    dir.decRef();
    expect(dir.refs).toBe(1);
    expect(dir.parked).toBe(false);
    f.decRef();
    // With N = 0 the child goes at once, then its parent, up to the pinned root.
    expect(released).toEqual(['f', 'dir']);
    expect(cache.live).toBe(1);
    expect(root.refs).toBe(1);
    expect(root.children).toBeNull();
  });

  it('cascades evictions without recursion through deep chains', () => {
    const { cache, root, child } = setup(0);
    let d = root;
    const chain: Dentry[] = [];
    for (let i = 0; i < 50_000; i++) {
      const next = child(d, 'x');
      if (d !== root) d.decRef();
      chain.push(next);
      d = next;
    }
    expect(cache.live).toBe(50_001);
    d.decRef();
    expect(cache.live).toBe(1);
    expect(chain.every((x) => x.dead)).toBe(true);
  });

  it('throws on a double release and on use after eviction', () => {
    const { root, child } = setup(0);
    const a = child(root, 'a');
    a.decRef();
    expect(() => a.decRef()).toThrow(/released more times/);
    expect(() => a.incRef()).toThrow(/after eviction/);
    const b = child(root, 'b');
    b.decRef();
    expect(() => b.decRef()).toThrow();
    expect(() => new DentryCache(-1, () => {})).toThrow(RangeError);
  });

  it('gives each dentry its path from the root', () => {
    const { root, child } = setup(4);
    const a = child(root, 'a');
    const b = child(a, 'b\xff');
    expect(Array.from(b.path())).toEqual([0x2f, 0x61, 0x2f, 0x62, 0xff]);
    expect(Array.from(root.path())).toEqual([0x2f]);
    expect(Array.from(b.name)).toEqual([0x62, 0xff]);
  });
});
