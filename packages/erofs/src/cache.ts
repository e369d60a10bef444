/**
 * The one bounded cache every layer builds on: a least-recently-used map with a budget in
 * bytes (when values have a size) or in entries, and its statistics. Blocks of a remote
 * source (range-source.ts) and decoded file data (page-cache.ts) use it.
 *
 * Entries sit in a doubly linked list, most recently used at the head, each with a stamp
 * from a counter shared by every cache, taken when it was last used: a hit relinks its
 * node, eviction unlinks the tail, and several caches can be evicted from in one global
 * LRU order by comparing their tails' stamps (page-cache.ts does). No step allocates but
 * the node of a new entry; a Map finds nodes by key. (A Map alone, deleting and
 * re-inserting keys to keep them in order, cost 7% of an LZ4 walk in this place, mostly
 * in its iterators and tombstones.)
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

interface Node<K, V> {
  key: K;
  value: V;
  size: number;
  stamp: number;
  prev: Node<K, V> | null;
  next: Node<K, V> | null;
}

/** Use order over every cache in the program. */
let clock = 0;

export class BoundedCache<K, V> {
  private readonly map = new Map<K, Node<K, V>>();
  private readonly sizeOf: (value: V) => number;
  private readonly onEvict: ((key: K, value: V) => void) | undefined;
  private head: Node<K, V> | null = null;
  private tail: Node<K, V> | null = null;
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
    return this.map.get(key)?.value;
  }

  /** The value, made most recently used; counted as a hit or a miss. */
  get(key: K): V | undefined {
    const node = this.map.get(key);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.toFront(node);
    return node.value;
  }

  /** Marks `key` most recently used, without counting. */
  touch(key: K): void {
    const node = this.map.get(key);
    if (node !== undefined) this.toFront(node);
  }

  /**
   * Adds or replaces `key`, then evicts least recently used entries until the cache is within
   * its budget. A value larger than the whole budget is not kept (and false is returned).
   */
  set(key: K, value: V): boolean {
    const size = this.sizeOf(value);
    this.delete(key);
    if (size > this.budgetUnits) return false;
    const node: Node<K, V> = { key, value, size, stamp: ++clock, prev: null, next: this.head };
    if (this.head !== null) this.head.prev = node;
    else this.tail = node;
    this.head = node;
    this.map.set(key, node);
    this.held += size;
    if (this.held > this.budgetUnits) this.trim(this.budgetUnits);
    return true;
  }

  /** Removes `key` (no onEvict). */
  delete(key: K): boolean {
    const node = this.map.get(key);
    if (node === undefined) return false;
    this.map.delete(key);
    this.unlink(node);
    this.held -= node.size;
    return true;
  }

  /** Evicts least recently used entries until at most `target` is held. */
  trim(target: number): void {
    while (this.held > target && this.tail !== null) this.evictOldest();
  }

  /** Evicts the least recently used entry (with onEvict). */
  evictOldest(): void {
    const node = this.tail;
    if (node === null) return;
    this.map.delete(node.key);
    this.unlink(node);
    this.held -= node.size;
    this.evictions++;
    this.onEvict?.(node.key, node.value);
  }

  /** When the least recently used entry was last used (Infinity when empty): comparable across caches. */
  get oldestStamp(): number {
    return this.tail === null ? Infinity : this.tail.stamp;
  }

  /** Empties the cache (no onEvict); the counters stay. */
  clear(): void {
    this.map.clear();
    this.head = this.tail = null;
    this.held = 0;
  }

  /** Keys from least to most recently used. */
  *keys(): IterableIterator<K> {
    for (let n = this.tail; n !== null; n = n.prev) yield n.key;
  }

  stats(): CacheStats {
    return { entries: this.map.size, bytes: this.held, budget: this.budgetUnits, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  private toFront(node: Node<K, V>): void {
    node.stamp = ++clock;
    if (node === this.head) return;
    this.unlink(node);
    node.prev = null;
    node.next = this.head;
    if (this.head !== null) this.head.prev = node;
    else this.tail = node;
    this.head = node;
  }

  private unlink(node: Node<K, V>): void {
    if (node.prev !== null) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
  }
}

function checkBudget(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`cache budget must be a non-negative integer, not ${n}`);
  return n;
}
