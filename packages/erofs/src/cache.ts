/**
 * The one bounded cache every layer builds on: a least-recently-used map with a budget in
 * bytes (when values have a size) or in entries, and its statistics. Blocks of a remote
 * source (range-source.ts) and decoded file data (page-cache.ts) use it.
 *
 * A Map keeps insertion order, so "most recently used" is "last inserted": a hit deletes
 * and re-inserts its key, and eviction takes keys from the front. Both are O(1).
 */

export interface CacheStats {
  entries: number;
  /** Bytes held (values' sizes; 1 per entry when the cache counts entries). */
  bytes: number;
  /** The budget `bytes` stays within. */
  budget: number;
  hits: number;
  misses: number;
  evictions: number;
}

export interface BoundedCacheOptions<K, V> {
  /** Size of a value in budget units (default: its byteLength when it has one, else 1). */
  sizeOf?: (value: V) => number;
  /** Called for each entry evicted to stay within the budget (not for delete() or clear()). */
  onEvict?: (key: K, value: V) => void;
}

export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  private readonly sizeOf: (value: V) => number;
  private readonly onEvict: ((key: K, value: V) => void) | undefined;
  private held = 0;
  private budgetUnits: number;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(budget: number, options: BoundedCacheOptions<K, V> = {}) {
    this.budgetUnits = checkBudget(budget);
    this.sizeOf = options.sizeOf ?? ((v) => (v as { byteLength?: number }).byteLength ?? 1);
    this.onEvict = options.onEvict;
  }

  get budget(): number {
    return this.budgetUnits;
  }

  /** A new budget; shrinking evicts at once. */
  set budget(n: number) {
    this.budgetUnits = checkBudget(n);
    this.trim(n);
  }

  /** Bytes (or entries) held. */
  get size(): number {
    return this.held;
  }

  get count(): number {
    return this.map.size;
  }

  /** Whether `key` is cached, without counting or reordering. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value without counting or reordering. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** The value, made most recently used; counted as a hit or a miss. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Marks `key` most recently used, without counting. */
  touch(key: K): void {
    const v = this.map.get(key);
    if (v === undefined) return;
    this.map.delete(key);
    this.map.set(key, v);
  }

  /**
   * Adds or replaces `key`, then evicts least recently used entries until the cache is within
   * its budget. A value larger than the whole budget is not kept (and false is returned).
   */
  set(key: K, value: V): boolean {
    const size = this.sizeOf(value);
    const old = this.map.get(key);
    if (old !== undefined) {
      this.held -= this.sizeOf(old);
      this.map.delete(key);
    }
    if (size > this.budgetUnits) return false;
    this.map.set(key, value);
    this.held += size;
    if (this.held > this.budgetUnits) this.trim(this.budgetUnits);
    return true;
  }

  /** Removes `key` (no onEvict). */
  delete(key: K): boolean {
    const v = this.map.get(key);
    if (v === undefined) return false;
    this.held -= this.sizeOf(v);
    this.map.delete(key);
    return true;
  }

  /** Evicts least recently used entries until at most `target` is held. */
  trim(target: number): void {
    while (this.held > target && this.map.size > 0) {
      const [k, v] = this.map.entries().next().value as [K, V];
      this.map.delete(k);
      this.held -= this.sizeOf(v);
      this.evictions++;
      this.onEvict?.(k, v);
    }
  }

  /** Empties the cache (no onEvict); the counters stay. */
  clear(): void {
    this.map.clear();
    this.held = 0;
  }

  /** Keys from least to most recently used. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  stats(): CacheStats {
    return { entries: this.map.size, bytes: this.held, budget: this.budgetUnits, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}

function checkBudget(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`cache budget must be a non-negative integer, not ${n}`);
  return n;
}
