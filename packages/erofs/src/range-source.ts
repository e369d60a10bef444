/**
 * RangeSource: the bytes of an image that lives behind a URL (a CDN, an object store's
 * presigned URL), read lazily with HTTP Range requests, synchronously, as the decoder
 * requires.
 *
 * The reader never does I/O itself. A fetch worker (range-worker.ts) on another thread
 * runs the requests; the reader posts a request and, only when it needs the bytes now,
 * blocks in Atomics.wait on shared memory until the worker has written them, or until a
 * deadline passes (then EIO, never a hang). In between sit:
 * - a block cache (BoundedCache keyed by block number, byte-bounded);
 * - readahead that grows like Linux's on-demand readahead (mm/readahead.c): a random miss
 *   fetches `readaheadInitial` bytes; a miss right after the previous window doubles it,
 *   up to `readaheadMax`; reaching the marker block of a window starts the next window
 *   without waiting, so a sequential reader finds its next bytes already on the way;
 * - coalescing: a miss on a block already requested waits for that request;
 * - up to `inFlight` requests at once (one shared-memory slot each);
 * - prefetch (a host's hint: warm these bytes): block ranges queued and requested in the
 *   background, one slot always left to the reader's own misses; a pump on the reader's
 *   event loop (Atomics.waitAsync on the completion counter) moves answers into the cache
 *   and starts the next queued range, and a reader that misses meanwhile both joins a
 *   request already under way and tops the queue up itself.
 * Retries, backoff and the identity checks happen in the worker; a failure reaches the
 * reader as ErofsError EIO naming the bytes and the cause. Once the object is seen to have
 * changed, every later read fails too: a guest never sees a mix of two versions.
 *
 * Portable: Node's opener (range-node.ts, under '@erofs-js/erofs/node') starts the worker
 * with worker_threads; openRangeSourceWeb here starts a Web Worker, which needs
 * SharedArrayBuffer, i.e. a cross-origin isolated page (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
 * require-corp`), and a reader that may block (a worker itself: browsers refuse
 * Atomics.wait on the main thread). Without SharedArrayBuffer it falls back to
 * synchronous XMLHttpRequest (no requests in flight beside the one waited for).
 */
import { BoundedCache } from './cache.js';
import { ErofsError } from './errors.js';
import { MemorySource, checkRange, type ByteSource } from './source.js';
import {
  SLOT_ATTEMPTS,
  SLOT_LENGTH,
  SLOT_STATE,
  SLOT_TICKET,
  SLOT_WORDS,
  SlotState,
  checkPartial,
  ctrlWords,
  describeIdentity,
  parseContentRange,
  pinHeaders,
  type RemoteIdentity,
} from './range-protocol.js';
import { WEB_WORKER_START, rangeWorkerSource, type WorkerOpen, type WorkerOpened, type WorkerRead } from './range-worker.js';

export type { RemoteIdentity } from './range-protocol.js';

export interface RangeSourceOptions {
  /** Request headers sent with every request (e.g. Authorization). Never recorded anywhere. */
  headers?: Record<string, string>;
  /** Cache block size in bytes, a power of two (default 32 KiB). */
  blockSize?: number;
  /** Byte budget of the block cache (default 16 MiB). */
  cacheBytes?: number;
  /** First readahead window in bytes, for a random miss (default one block). */
  readaheadInitial?: number;
  /** Largest readahead window in bytes; also the largest single request (default 1 MiB). */
  readaheadMax?: number;
  /** Requests in flight at most (default 6). */
  inFlight?: number;
  /** Time allowed for one HTTP request, headers and body (default 10 s). */
  attemptTimeoutMs?: number;
  /** Retries of a request after a 5xx, 429, 408, timeout, reset or short body (default 3). */
  retries?: number;
  /** First backoff before a retry; doubled each time, with jitter (default 100 ms). */
  backoffMs?: number;
  /**
   * Longest the reader blocks for one request before EIO (default: enough for every
   * attempt and backoff, plus one second).
   */
  timeoutMs?: number;
  /** A server without Range support: the largest object read whole instead (default 16 MiB). */
  wholeBodyCap?: number;
  /** Accept an object with neither ETag nor Last-Modified (default false: EIO at open). */
  allowUnpinned?: boolean;
  /** Name in error messages (default: the URL without its query and credentials). */
  name?: string;
  /**
   * A second tier under the memory cache, given the identity pinned at open and the block
   * size (on Node, DiskCache.open from '@erofs-js/erofs/node': a directory that survives
   * restarts). Looked in before a request; every block fetched is offered to it.
   */
  blockStore?: (identity: RemoteIdentity, blockSize: number) => BlockStore | undefined;
}

/** Blocks of one object version kept outside memory (see RangeSourceOptions.blockStore). */
export interface BlockStore {
  /** Whether block `b` is held (cheap: no I/O). */
  has(b: number): boolean;
  /** Block `b`'s bytes, or undefined (absent, unreadable, or of the wrong length). Synchronous. */
  get(b: number): Uint8Array | undefined;
  /** Offers block `b` (the store copies it if it keeps it; may write in the background). */
  put(b: number, bytes: Uint8Array): void;
}

/** Counters of one source, for tests and the benchmark. */
export interface RangeStats {
  /** HTTP requests made, the opening one and retries included. */
  requests: number;
  /** Body bytes received. */
  bytesFetched: number;
  /** Block lookups served by the cache, and those that were not. */
  hits: number;
  misses: number;
  /** Times the reader blocked for a request. */
  waits: number;
  /** Requests started ahead of need. */
  readaheads: number;
  /** Requests the reader gave up waiting for. */
  timeouts: number;
  /** Requests started for prefetch(), and their bytes that reached the cache. */
  prefetches: number;
  prefetchedBytes: number;
  /** Blocks found in the block store (RangeSourceOptions.blockStore) instead of asked for. */
  storeHits: number;
}

/**
 * The reader's view of its fetch worker: numbered slots, each carrying one request at a
 * time. start() returns at once; wait() blocks with a deadline.
 */
export interface RangeChannel {
  readonly slots: number;
  readonly slotBytes: number;
  start(slot: number, offset: number, length: number): void;
  /** Whether the slot's request has an answer (non-blocking). */
  finished(slot: number): boolean;
  /** Blocks until the slot has an answer or `timeoutMs` passed; returns finished(slot). */
  wait(slot: number, timeoutMs: number): boolean;
  /** The answer of a finished slot: bytes valid until the slot is started again, or a failure. */
  result(slot: number): { bytes: Uint8Array; attempts: number } | { error: string; attempts: number };
  /**
   * Optional, for requests that run while the reader does not wait (prefetch): a counter
   * of answers so far, and a call of `then` (asynchronous, never inside this call) once
   * it has moved past `seen` or `timeoutMs` passed. A channel without them (synchronous
   * XHR) cannot prefetch.
   */
  answers?(): number;
  onAnswer?(seen: number, timeoutMs: number, then: () => void): void;
  close(): void;
}

/** A URL safe to print: no user:password, no query (presigned URLs carry a signature there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

interface Flight {
  slot: number;
  first: number;
  count: number;
  offset: number;
  length: number;
  ahead: boolean;
  /** Started for prefetch(), at `started` (Date.now()). */
  prefetch?: boolean;
  started: number;
}

const DEFAULTS = {
  blockSize: 32 << 10,
  cacheBytes: 16 << 20,
  readaheadMax: 1 << 20,
  inFlight: 6,
  attemptTimeoutMs: 10_000,
  retries: 3,
  backoffMs: 100,
  wholeBodyCap: 16 << 20,
};

export class RangeSource implements ByteSource {
  readonly size: number;
  readonly identity: RemoteIdentity;
  /** The URL as printed in errors and shown in mountinfo (see displayUrl). */
  readonly name: string;
  readonly stats: RangeStats = { requests: 0, bytesFetched: 0, hits: 0, misses: 0, waits: 0, readaheads: 0, timeouts: 0, prefetches: 0, prefetchedBytes: 0, storeHits: 0 };
  private readonly whole: MemorySource | undefined;
  private readonly channel: RangeChannel | undefined;
  private readonly bs: number;
  private readonly blocks: number;
  private readonly cache: BoundedCache<number, Uint8Array>;
  private readonly initBlocks: number;
  private readonly maxBlocks: number;
  private readonly timeoutMs: number;
  private readonly flights: Flight[] = [];
  private readonly inFlight = new Map<number, Flight>();
  private readonly free: number[] = [];
  /** Slots whose request the reader gave up on: reusable once the worker answers. */
  private readonly abandoned = new Set<number>();
  /** Readahead state: the window size, the block after the last window, the marker block. */
  private raWindow = 0;
  private raNext = -1;
  private raMarker = -1;
  private lastIndex = -1;
  private lastBlock: Uint8Array | undefined;
  private scratch = new Uint8Array(0);
  /** Set once the object was seen to change (or the source closed): every read fails with it. */
  private broken: string | undefined;
  /** prefetch(): block runs not requested yet (each at most maxBlocks), and their blocks. */
  private readonly queue: { first: number; count: number }[] = [];
  private readonly queued = new Set<number>();
  /** Blocks of prefetch runs queued or in flight: at most the cache's capacity. */
  private prefetchOutstanding = 0;
  private readonly capacityBlocks: number;
  /** A wake-up of the pump is scheduled; callers of prefetch() waiting for it to drain. */
  private pumpScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly store: BlockStore | undefined;

  /**
   * Built by the openers (openRangeSource in '@erofs-js/erofs/node', openRangeSourceWeb):
   * either over a channel to a fetch worker, with the bytes the opening request brought
   * (`first`, from offset 0), or over a whole body already in memory.
   */
  constructor(init: { identity: RemoteIdentity; name: string; channel?: RangeChannel; first?: Uint8Array; whole?: Uint8Array; openRequests?: number }, options: RangeSourceOptions = {}) {
    this.identity = init.identity;
    this.size = init.identity.size;
    this.name = init.name;
    this.bs = options.blockSize ?? DEFAULTS.blockSize;
    if (this.bs & (this.bs - 1) || this.bs < 512) throw new RangeError('RangeSource: blockSize must be a power of two >= 512');
    this.blocks = Math.ceil(this.size / this.bs);
    this.cache = new BoundedCache<number, Uint8Array>(options.cacheBytes ?? DEFAULTS.cacheBytes);
    this.capacityBlocks = Math.floor((options.cacheBytes ?? DEFAULTS.cacheBytes) / this.bs);
    this.initBlocks = Math.max(1, Math.ceil((options.readaheadInitial ?? this.bs) / this.bs));
    this.timeoutMs = options.timeoutMs ?? defaultTimeout(options);
    this.stats.requests = init.openRequests ?? 0;
    if (init.whole) {
      this.whole = new MemorySource(init.whole);
      this.stats.bytesFetched = init.whole.length;
      this.maxBlocks = 1;
      return;
    }
    if (!init.channel) throw new RangeError('RangeSource: a channel or a whole body is required');
    this.channel = init.channel;
    this.maxBlocks = Math.max(1, Math.floor(Math.min(options.readaheadMax ?? DEFAULTS.readaheadMax, init.channel.slotBytes) / this.bs));
    for (let s = init.channel.slots - 1; s >= 0; s--) this.free.push(s);
    this.store = options.blockStore?.(init.identity, this.bs);
    if (init.first) {
      this.stats.bytesFetched += init.first.length;
      for (let b = 0; b * this.bs < init.first.length; b++) {
        const end = Math.min((b + 1) * this.bs, this.size);
        if (end > init.first.length) continue;
        const blk = new Uint8Array(init.first.subarray(b * this.bs, end));
        this.cache.set(b, blk);
        this.store?.put(b, blk);
      }
    }
  }

  /** Whether the whole object was read at open (a server without Range support). */
  get isWhole(): boolean {
    return this.whole !== undefined;
  }

  readInto(dest: Uint8Array, destOffset: number, offset: number, length: number): void {
    checkRange(this, offset, length, this.name);
    if (this.whole) return this.whole.readInto(dest, destOffset, offset, length);
    const through = length > 0 ? Math.floor((offset + length - 1) / this.bs) : 0;
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const b = Math.floor(pos / this.bs);
      const blk = this.block(b, through);
      const inBlock = pos - b * this.bs;
      const n = Math.min(length - done, blk.length - inBlock);
      dest.set(blk.subarray(inBlock, inBlock + n), destOffset + done);
      done += n;
    }
  }

  view(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length, this.name);
    if (this.whole) return this.whole.view(offset, length);
    const b = Math.floor(offset / this.bs);
    const inBlock = offset - b * this.bs;
    if (inBlock + length <= this.bs) return this.block(b, b).subarray(inBlock, inBlock + length);
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    const out = this.scratch.subarray(0, length);
    this.readInto(out, 0, offset, length);
    return out;
  }

  close(): void {
    if (this.broken === 'source closed') return;
    this.broken = 'source closed';
    this.cache.clear();
    this.lastIndex = -1;
    this.lastBlock = undefined;
    this.queue.length = 0;
    this.queued.clear();
    this.channel?.close();
    this.settle();
  }

  /**
   * A hint (readahead(2), posix_fadvise WILLNEED): start fetching the blocks of [offset,
   * offset + length) into the cache, in the background, and return at once. Blocks cached,
   * requested or queued already are skipped, and what is outstanding stays within the
   * cache's capacity (more would evict what was just fetched): the rest is dropped. Returns
   * the bytes queued (0 as well for a whole body in memory, a closed source, or a channel
   * that cannot run requests in the background). Failures are not reported: a later read
   * of those bytes asks again and reports its own.
   */
  prefetch(offset: number, length: number): number {
    const ch = this.channel;
    if (!ch || this.broken || !ch.onAnswer || !ch.answers || !(length > 0) || !(offset >= 0) || offset >= this.size) return 0;
    const first = Math.floor(offset / this.bs);
    const last = Math.floor((Math.min(offset + length, this.size) - 1) / this.bs);
    let added = 0;
    let run: { first: number; count: number } | undefined;
    for (let b = first; b <= last && this.prefetchOutstanding < this.capacityBlocks; b++) {
      if (this.have(b) || this.inFlight.has(b) || this.queued.has(b)) {
        run = undefined;
        continue;
      }
      if (!run || run.count === this.maxBlocks) {
        run = { first: b, count: 0 };
        this.queue.push(run);
      }
      run.count++;
      this.queued.add(b);
      this.prefetchOutstanding++;
      added++;
    }
    if (added > 0) this.pump();
    return Math.min(added * this.bs, this.size - first * this.bs);
  }

  /**
   * Resolves once nothing asked for by prefetch() is queued or in flight: its bytes are in
   * the cache (or failed, or were dropped because the source closed). Never rejects.
   */
  idle(): Promise<void> {
    if (this.prefetchOutstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Moves answers that came into the cache, abandons prefetch requests older than the
   * deadline, starts queued prefetch runs in free slots (leaving one for the reader), and
   * schedules itself for the next answer while prefetch work remains. Never blocks.
   */
  private pump(): void {
    const ch = this.channel!;
    if (this.broken) return this.settle();
    // Read before looking at the slots: an answer landing after this is seen as a change.
    const seen = ch.answers!();
    const now = Date.now();
    for (const s of this.abandoned) {
      if (ch.finished(s)) {
        this.abandoned.delete(s);
        this.free.push(s);
      }
    }
    for (const f of this.flights.slice()) {
      if (ch.finished(f.slot)) {
        try {
          this.land(f, -1);
        } catch {
          /* dropped: the next demand for those blocks asks again and reports the error */
        }
      } else if (f.prefetch && now - f.started > this.timeoutMs) {
        this.forget(f);
        this.abandoned.add(f.slot);
        this.stats.timeouts++;
      }
    }
    const spare = ch.slots > 1 ? 1 : 0;
    while (this.queue.length > 0 && this.free.length > spare) {
      const run = this.queue[0];
      // Blocks a reader fetched meanwhile are skipped; issue() stops before the next one.
      while (run.count > 0 && (this.have(run.first) || this.inFlight.has(run.first))) this.unqueue(run);
      if (run.count === 0) {
        this.queue.shift();
        continue;
      }
      const f = this.issue(run.first, run.count, true)!;
      f.prefetch = true;
      this.stats.prefetches++;
      for (let i = 0; i < f.count; i++) this.queued.delete(run.first + i);
      run.first += f.count;
      run.count -= f.count;
      if (run.count === 0) this.queue.shift();
    }
    if (this.prefetchOutstanding === 0) return this.settle();
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    ch.onAnswer!(seen, this.timeoutMs, () => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Whether block `b` needs no request: in memory, or in the block store. */
  private have(b: number): boolean {
    return this.cache.has(b) || this.store?.has(b) === true;
  }

  /** Drops the first block of a queued run (it was fetched by a reader). */
  private unqueue(run: { first: number; count: number }): void {
    this.queued.delete(run.first);
    this.prefetchOutstanding--;
    run.first++;
    run.count--;
  }

  /** Wakes idle() waiters when nothing is outstanding (or everything was dropped). */
  private settle(): void {
    if (this.broken) {
      this.prefetchOutstanding = 0;
      this.queue.length = 0;
      this.queued.clear();
    }
    if (this.prefetchOutstanding !== 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  /** Block `b`, from the cache or the network; `through` is the last block the caller's read needs. */
  private block(b: number, through: number): Uint8Array {
    if (b === this.lastIndex) return this.lastBlock!;
    if (this.broken) throw new ErofsError('EIO', 'remote image', b * this.bs, `${this.name}: ${this.broken}`);
    let blk = this.cache.get(b);
    if (!blk && this.store?.has(b)) {
      blk = this.store.get(b);
      if (blk) {
        this.stats.storeHits++;
        this.cache.set(b, blk);
      }
    }
    if (blk) {
      this.stats.hits++;
    } else {
      this.stats.misses++;
      if (this.queue.length > 0) this.pump();
      let f = this.inFlight.get(b);
      if (!f) {
        const need = Math.min(through - b + 1, this.maxBlocks);
        const sequential = b === this.raNext;
        const want = Math.max(need, sequential ? Math.min(this.raWindow * 2, this.maxBlocks) : this.initBlocks);
        f = this.issue(b, want, false)!;
        this.raWindow = f.count;
        this.raNext = b + f.count;
        // Like the kernel's PG_readahead mark: reaching the middle of a window that was
        // itself sequential (or bigger than the read asked) starts the next one early.
        this.raMarker = sequential || f.count > need ? b + Math.max(need, Math.ceil(f.count / 2)) : -1;
        if (this.raMarker >= this.raNext) this.raMarker = this.raNext - 1;
      }
      // The marker is checked before waiting, so that the next window is on its way while
      // this one arrives: two windows in flight for a sequential reader.
      if (b === this.raMarker) this.readAhead();
      if (this.flights.includes(f)) {
        blk = this.land(f, b);
      } else {
        // Finding every slot busy, the readahead landed answers already in, this one among
        // them, and may have reused its slot: the bytes are in the cache, or the request
        // failed (that error was dropped there), and asking again reports it.
        const got = this.cache.get(b);
        if (!got) return this.block(b, through);
        blk = got;
      }
    }
    if (b === this.raMarker) this.readAhead();
    this.lastIndex = b;
    this.lastBlock = blk;
    return blk;
  }

  /** Starts the next window after the current one without waiting for it. */
  private readAhead(): void {
    this.raMarker = -1;
    if (this.raNext < 0 || this.raNext >= this.blocks) return;
    const f = this.issue(this.raNext, Math.min(this.raWindow * 2, this.maxBlocks), true);
    if (!f) return;
    this.stats.readaheads++;
    this.raWindow = f.count;
    this.raMarker = f.first;
    this.raNext = f.first + f.count;
  }

  /**
   * Requests up to `want` blocks from `first`, stopping before a block that is cached or
   * already requested. A demand request waits for a free slot; a readahead takes one only
   * if free (undefined otherwise, or when there is nothing to fetch).
   */
  private issue(first: number, want: number, ahead: boolean): Flight | undefined {
    let count = 0;
    while (count < want && count < this.maxBlocks && first + count < this.blocks && !this.have(first + count) && !this.inFlight.has(first + count)) count++;
    if (count === 0) return undefined;
    const slot = this.takeSlot(!ahead);
    if (slot === undefined) return undefined;
    const offset = first * this.bs;
    const f: Flight = { slot, first, count, offset, length: Math.min(count * this.bs, this.size - offset), ahead, started: Date.now() };
    this.channel!.start(slot, f.offset, f.length);
    this.flights.push(f);
    for (let i = 0; i < count; i++) this.inFlight.set(first + i, f);
    return f;
  }

  private takeSlot(mustHave: boolean): number | undefined {
    if (this.free.length === 0) {
      for (const s of this.abandoned) {
        if (this.channel!.finished(s)) {
          this.abandoned.delete(s);
          this.free.push(s);
        }
      }
      // Answers already in: move them to the cache (a failed readahead is simply dropped).
      for (const f of this.flights.slice()) {
        if (this.channel!.finished(f.slot)) {
          try {
            this.land(f, -1);
          } catch {
            /* dropped: the next demand for those blocks asks again and reports the error */
          }
        }
      }
    }
    if (this.free.length === 0 && mustHave) {
      const oldest = this.flights[0];
      if (!oldest) throw new ErofsError('EIO', 'remote image', undefined, `${this.name}: every request slot is held by a request that never answered`);
      try {
        this.land(oldest, -1);
      } catch {
        /* as above */
      }
    }
    return this.free.pop();
  }

  /**
   * Waits for a request's answer and moves its blocks into the cache; returns block `want`
   * of it (or an empty array when `want` is -1). A failure throws EIO with its cause.
   */
  private land(f: Flight, want: number): Uint8Array {
    const ch = this.channel!;
    const span = `bytes ${f.offset}-${f.offset + f.length - 1}`;
    if (!ch.finished(f.slot)) {
      this.stats.waits++;
      if (!ch.wait(f.slot, this.timeoutMs)) {
        this.forget(f);
        this.abandoned.add(f.slot);
        this.stats.timeouts++;
        throw new ErofsError('EIO', 'remote image', f.offset, `${this.name}: ${span}: no answer within ${this.timeoutMs} ms`);
      }
    }
    const r = ch.result(f.slot);
    this.forget(f);
    this.free.push(f.slot);
    this.stats.requests += r.attempts;
    if ('error' in r) {
      if (r.error.startsWith('object changed')) this.broken = r.error;
      throw new ErofsError('EIO', 'remote image', f.offset, `${this.name}: ${span}: ${r.error}`);
    }
    this.stats.bytesFetched += r.bytes.length;
    if (f.prefetch) this.stats.prefetchedBytes += r.bytes.length;
    let kept = new Uint8Array(0);
    for (let i = 0; i < f.count; i++) {
      const blk = new Uint8Array(r.bytes.subarray(i * this.bs, Math.min((i + 1) * this.bs, f.length)));
      this.cache.set(f.first + i, blk);
      this.store?.put(f.first + i, blk);
      if (f.first + i === want) kept = blk;
    }
    return kept;
  }

  private forget(f: Flight): void {
    const i = this.flights.indexOf(f);
    if (i >= 0) {
      this.flights.splice(i, 1);
      if (f.prefetch) this.prefetchOutstanding -= f.count;
    }
    for (let k = 0; k < f.count; k++) this.inFlight.delete(f.first + k);
  }
}

function defaultTimeout(o: RangeSourceOptions): number {
  const retries = o.retries ?? DEFAULTS.retries;
  const backoff = o.backoffMs ?? DEFAULTS.backoffMs;
  return (o.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs) * (retries + 1) + backoff * (2 ** retries - 1) + 1000;
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<unknown> | string };

/**
 * A RangeChannel over shared memory to a fetch worker (range-worker.ts). Portable: the
 * caller supplies how to post to the worker and how to stop it.
 */
export class SharedChannel implements RangeChannel {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;
  private ticket = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly slots: number,
    readonly slotBytes: number,
    private readonly post: (m: WorkerRead | { t: 'close' }) => void,
    private readonly stop: () => void,
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(ctrlWords(slots) * 4));
    this.data = new Uint8Array(new SharedArrayBuffer(slots * slotBytes));
  }

  start(slot: number, offset: number, length: number): void {
    const base = 1 + slot * SLOT_WORDS;
    const ticket = ++this.ticket;
    Atomics.store(this.ctrl, base + SLOT_TICKET, ticket);
    Atomics.store(this.ctrl, base + SLOT_STATE, SlotState.Pending);
    this.post({ t: 'read', slot, ticket, offset, length });
  }

  finished(slot: number): boolean {
    const st = Atomics.load(this.ctrl, 1 + slot * SLOT_WORDS + SLOT_STATE);
    return st === SlotState.Done || st === SlotState.Failed;
  }

  wait(slot: number, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.ctrl, 0);
      if (this.finished(slot)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctrl, 0, seen, left);
    }
  }

  result(slot: number): { bytes: Uint8Array; attempts: number } | { error: string; attempts: number } {
    const base = 1 + slot * SLOT_WORDS;
    const length = Atomics.load(this.ctrl, base + SLOT_LENGTH);
    const attempts = Atomics.load(this.ctrl, base + SLOT_ATTEMPTS);
    const bytes = this.data.subarray(slot * this.slotBytes, slot * this.slotBytes + length);
    if (Atomics.load(this.ctrl, base + SLOT_STATE) === SlotState.Failed) {
      // TextDecoder refuses views of shared memory in browsers: copy first.
      return { error: new TextDecoder().decode(new Uint8Array(bytes)), attempts };
    }
    return { bytes, attempts };
  }

  answers(): number {
    return Atomics.load(this.ctrl, 0);
  }

  onAnswer(seen: number, timeoutMs: number, then: () => void): void {
    const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
    let fired = false;
    const fire = () => {
      if (fired) return;
      fired = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      then();
    };
    // A timer besides: where Atomics.waitAsync is missing it polls, and in Node it keeps
    // the process alive while prefetch work is outstanding (a pending waitAsync does not).
    const timer = setTimeout(fire, waitAsync ? timeoutMs : Math.min(timeoutMs, 10));
    this.timers.add(timer);
    if (!waitAsync) return;
    const r = waitAsync(this.ctrl, 0, seen, timeoutMs);
    if (r.async) void (r.value as Promise<unknown>).then(fire);
    else void Promise.resolve().then(fire);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    try {
      this.post({ t: 'close' });
    } finally {
      this.stop();
    }
  }
}

/** A started fetch worker, as the openers see it. */
export interface WorkerHandle {
  post(m: WorkerOpen | WorkerRead | { t: 'close' }): void;
  /** The worker's next message (its answer to open). */
  next(): Promise<WorkerOpened>;
  terminate(): void;
}

/** Opens a range source over a started fetch worker: probes the object, pins it, seeds the cache. */
export async function openWithWorker(worker: WorkerHandle, url: string, options: RangeSourceOptions): Promise<RangeSource> {
  const name = options.name ?? displayUrl(url);
  if (!/^https?:\/\//i.test(url)) {
    worker.terminate();
    throw new ErofsError('EINVAL', 'remote image', undefined, `${name}: only http: and https: URLs can be read with Range requests`);
  }
  const bs = options.blockSize ?? DEFAULTS.blockSize;
  const slots = Math.max(1, options.inFlight ?? DEFAULTS.inFlight);
  const slotBytes = Math.max(bs, Math.ceil((options.readaheadMax ?? DEFAULTS.readaheadMax) / bs) * bs);
  const channel = new SharedChannel(slots, slotBytes, (m) => worker.post(m), () => worker.terminate());
  const open: WorkerOpen = {
    t: 'open',
    url,
    headers: options.headers ?? {},
    probeBytes: bs,
    wholeBodyCap: options.wholeBodyCap ?? DEFAULTS.wholeBodyCap,
    attemptTimeoutMs: options.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs,
    retries: options.retries ?? DEFAULTS.retries,
    backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
    allowUnpinned: options.allowUnpinned ?? false,
    ctrl: channel.ctrl.buffer as SharedArrayBuffer,
    data: channel.data.buffer as SharedArrayBuffer,
    slotBytes,
  };
  let r: WorkerOpened;
  try {
    worker.post(open);
    r = await worker.next();
  } catch (e) {
    worker.terminate();
    throw new ErofsError('EIO', 'remote image', undefined, `${name}: the fetch worker failed: ${(e as Error)?.message ?? e}`);
  }
  if (r.t === 'failed') {
    worker.terminate();
    throw new ErofsError('EIO', 'remote image', undefined, `${name}: ${r.message}`);
  }
  if (r.whole) {
    worker.terminate();
    return new RangeSource({ identity: r.identity, name, whole: new Uint8Array(r.whole), openRequests: r.requests }, options);
  }
  return new RangeSource({ identity: r.identity, name, channel, first: new Uint8Array(r.first!), openRequests: r.requests }, options);
}

interface WebGlobals {
  Worker?: new (url: string) => { postMessage(m: unknown): void; terminate(): void; onmessage: ((e: { data: any }) => void) | null; onerror: ((e: any) => void) | null };
  Blob?: new (parts: string[], o: { type: string }) => unknown;
  URL: { createObjectURL?(b: unknown): string; revokeObjectURL?(u: string): void };
  crossOriginIsolated?: boolean;
  XMLHttpRequest?: new () => XhrLike;
}

/**
 * Opens a range source in a browser (or any runtime with Web Workers): a Web Worker over
 * SharedArrayBuffer when the page is cross-origin isolated, else synchronous XHR.
 */
export async function openRangeSourceWeb(url: string, options: RangeSourceOptions = {}): Promise<RangeSource> {
  const g = globalThis as unknown as WebGlobals;
  if (typeof SharedArrayBuffer !== 'undefined' && g.crossOriginIsolated !== false && g.Worker && g.Blob && g.URL.createObjectURL) {
    const blobUrl = g.URL.createObjectURL(new g.Blob([rangeWorkerSource(WEB_WORKER_START)], { type: 'text/javascript' }));
    const w = new g.Worker(blobUrl);
    g.URL.revokeObjectURL?.(blobUrl);
    const handle: WorkerHandle = {
      post: (m) => w.postMessage(m),
      next: () =>
        new Promise((resolve, reject) => {
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => reject(new Error(e?.message ?? 'worker error'));
        }),
      terminate: () => w.terminate(),
    };
    return openWithWorker(handle, url, options);
  }
  if (!g.XMLHttpRequest) throw new ErofsError('EIO', 'remote image', undefined, `${displayUrl(url)}: neither SharedArrayBuffer with Web Workers nor XMLHttpRequest is available`);
  return openWithXhr(g.XMLHttpRequest, url, options);
}

interface XhrLike {
  open(method: string, url: string, async: boolean): void;
  setRequestHeader(name: string, value: string): void;
  overrideMimeType(mime: string): void;
  send(): void;
  readonly status: number;
  readonly responseText: string;
  getResponseHeader(name: string): string | null;
}

/**
 * The fallback without SharedArrayBuffer: one synchronous XMLHttpRequest per request, on
 * the reader's own thread. Bytes come through responseText with a user-defined charset
 * (a synchronous request in a page may not ask for an ArrayBuffer). Retries are immediate:
 * a synchronous caller cannot sleep.
 */
class XhrChannel implements RangeChannel {
  readonly slots = 1;
  private answer: { bytes: Uint8Array; attempts: number } | { error: string; attempts: number } = { error: 'no request', attempts: 0 };
  identity: RemoteIdentity = { size: 0 };

  constructor(
    private readonly Xhr: new () => XhrLike,
    private readonly url: string,
    private readonly headers: Record<string, string>,
    readonly slotBytes: number,
    private readonly retries: number,
  ) {}

  /** One request; `extra` adds headers. Throws on a network failure. */
  request(extra: Record<string, string>): XhrLike {
    const x = new this.Xhr();
    x.open('GET', this.url, false);
    x.overrideMimeType('text/plain; charset=x-user-defined');
    for (const [k, v] of Object.entries({ ...this.headers, ...extra })) x.setRequestHeader(k, v);
    x.send();
    return x;
  }

  start(_slot: number, offset: number, length: number): void {
    const end = Math.min(offset + length, this.identity.size);
    let error = '';
    for (let attempt = 1; attempt <= this.retries + 1; attempt++) {
      try {
        const x = this.request({ ...pinHeaders(this.identity), range: `bytes=${offset}-${end - 1}` });
        const bad = checkPartial(x.status, (n) => x.getResponseHeader(n), this.identity, offset, length);
        if (bad) {
          error = bad.message;
          if (bad.retry) continue;
          break;
        }
        const bytes = textBytes(x.responseText);
        if (bytes.length !== end - offset) {
          error = `short body: ${bytes.length} of ${end - offset} bytes`;
          continue;
        }
        this.answer = { bytes, attempts: attempt };
        return;
      } catch (e) {
        error = (e as Error)?.message ?? String(e);
      }
    }
    this.answer = { error, attempts: this.retries + 1 };
  }

  finished(): boolean {
    return true;
  }

  wait(): boolean {
    return true;
  }

  result(): { bytes: Uint8Array; attempts: number } | { error: string; attempts: number } {
    return this.answer;
  }

  close(): void {}
}

function textBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

async function openWithXhr(Xhr: new () => XhrLike, url: string, options: RangeSourceOptions): Promise<RangeSource> {
  const name = options.name ?? displayUrl(url);
  const bs = options.blockSize ?? DEFAULTS.blockSize;
  const slotBytes = Math.max(bs, Math.ceil((options.readaheadMax ?? DEFAULTS.readaheadMax) / bs) * bs);
  const ch = new XhrChannel(Xhr, url, options.headers ?? {}, slotBytes, options.retries ?? DEFAULTS.retries);
  const fail = (m: string) => new ErofsError('EIO', 'remote image', undefined, `${name}: ${m}`);
  let x: XhrLike;
  try {
    x = ch.request({ range: `bytes=0-${bs - 1}` });
  } catch (e) {
    throw fail((e as Error)?.message ?? String(e));
  }
  const etag = x.getResponseHeader('etag') ?? undefined;
  const lastModified = x.getResponseHeader('last-modified') ?? undefined;
  if (x.status === 200) {
    const whole = textBytes(x.responseText);
    if (whole.length > (options.wholeBodyCap ?? DEFAULTS.wholeBodyCap)) throw fail(`the server does not support Range requests (HTTP 200) and the object's ${whole.length} bytes exceed the whole-body cap`);
    return new RangeSource({ identity: { size: whole.length, etag, lastModified }, name, whole, openRequests: 1 }, options);
  }
  const cr = parseContentRange(x.getResponseHeader('content-range'));
  if (x.status !== 206 || !cr || cr.start !== 0 || cr.total < 0) throw fail(`HTTP ${x.status} to the opening range request`);
  if (!etag && !lastModified && !options.allowUnpinned) throw fail('the server sends neither ETag nor Last-Modified: the object cannot be pinned (allowUnpinned accepts it)');
  ch.identity = { size: cr.total, etag, lastModified };
  return new RangeSource({ identity: ch.identity, name, channel: ch, first: textBytes(x.responseText), openRequests: 1 }, options);
}

export { describeIdentity };
