/**
 * The reader's half alone, over an in-process channel whose answers the test controls:
 * cache, readahead windows, coalescing, slot limits, deadlines. The HTTP half is tested
 * against a real server in tests/range-source.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RangeSource, displayUrl, type RangeChannel } from './range-source.js';

/** Answers requests from `bytes` when told to (or at once with `auto`); records every request. */
class FakeChannel implements RangeChannel {
  readonly requests: [number, number][] = [];
  private readonly state: ({ offset: number; length: number; done: boolean } | undefined)[];
  auto = true;
  failWith: string | undefined;
  constructor(private readonly bytes: Uint8Array, readonly slots = 4, readonly slotBytes = 8192) {
    this.state = new Array(slots);
  }
  start(slot: number, offset: number, length: number): void {
    this.requests.push([offset, length]);
    this.state[slot] = { offset, length, done: this.auto };
  }
  finished(slot: number): boolean {
    return this.state[slot]!.done;
  }
  wait(slot: number): boolean {
    return this.finished(slot);
  }
  answerAll(): void {
    for (const s of this.state) if (s) s.done = true;
  }
  result(slot: number) {
    const s = this.state[slot]!;
    if (this.failWith) return { error: this.failWith, attempts: 2 };
    return { bytes: this.bytes.subarray(s.offset, s.offset + s.length), attempts: 1 };
  }
  close(): void {}
}

const bytes = Uint8Array.from({ length: 64 << 10 }, (_, i) => (i * 7) & 0xff);
const make = (ch: FakeChannel, o = {}) => new RangeSource({ identity: { size: bytes.length, etag: '"e"' }, name: 'http://h/img', channel: ch, first: bytes.subarray(0, 1024) }, { blockSize: 1024, readaheadMax: 8192, timeoutMs: 50, ...o });

describe('RangeSource (reader half)', () => {
  it('serves the opening bytes from the cache and grows sequential windows up to the maximum', () => {
    const ch = new FakeChannel(bytes);
    const src = make(ch);
    expect(src.view(0, 1024)).toEqual(bytes.subarray(0, 1024));
    expect(ch.requests).toEqual([]);
    const out = new Uint8Array(32 << 10);
    for (let o = 0; o < out.length; o += 512) src.readInto(out, o, o, 512);
    expect(out).toEqual(bytes.subarray(0, out.length));
    const lengths = ch.requests.map(([, n]) => n);
    expect(lengths.slice(0, 4)).toEqual([1024, 2048, 4096, 8192]);
    expect(Math.max(...lengths)).toBe(8192);
    expect(src.stats.readaheads).toBeGreaterThan(0);
  });

  it('a read spanning several blocks is one request; a random miss fetches one block', () => {
    const ch = new FakeChannel(bytes);
    const src = make(ch);
    const out = new Uint8Array(5000);
    src.readInto(out, 0, 20_000, 5000);
    expect(out).toEqual(bytes.subarray(20_000, 25_000));
    expect(ch.requests).toEqual([[19456, 6144]]);
    src.view(50_000, 10);
    expect(ch.requests[1]).toEqual([49152, 1024]);
  });

  it('coalesces a miss on a block already requested, and bounds requests in flight by the slots', () => {
    const ch = new FakeChannel(bytes, 2);
    ch.auto = false;
    const src = make(ch);
    // Reading block 1 (sequential after the cached block 0) issues [1,3) and, at the marker, a readahead.
    expect(() => src.view(1024, 1)).toThrow(/no answer within 50 ms/);
    expect(src.stats.timeouts).toBe(1);
    ch.answerAll();
    ch.auto = true;
    expect(src.view(5000, 1)[0]).toBe(bytes[5000]);
    expect(ch.requests.length).toBeLessThanOrEqual(4);
  });

  it('a failure is EIO with the cause and the byte span; "object changed" breaks the source for good', () => {
    const ch = new FakeChannel(bytes);
    const src = make(ch);
    ch.failWith = 'HTTP 500 (gave up after 2 attempts)';
    expect(() => src.view(10_000, 1)).toThrow(/remote image at byte 9216: http:\/\/h\/img: bytes 9216-10239: HTTP 500/);
    ch.failWith = undefined;
    expect(src.view(10_000, 1)[0]).toBe(bytes[10_000]);
    ch.failWith = 'object changed: ETag "f", pinned "e"';
    expect(() => src.view(30_000, 1)).toThrow(/object changed/);
    ch.failWith = undefined;
    expect(() => src.view(40_000, 1)).toThrow(/object changed/);
  });

  it('a readahead that finds every slot busy lands the answer a reader waits for before reusing its slot', () => {
    // One slot (synchronous XHR has one): at a window's marker block the reader's readahead
    // needs the slot that window holds; it must move the window into the cache first, and
    // the reader then take its bytes from there, not from the slot (found by a random search).
    // Bytes that differ from block to block (`bytes` repeats every 256).
    const data = Uint8Array.from({ length: 64 << 10 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    const ch = new FakeChannel(data, 1);
    const src = new RangeSource({ identity: { size: data.length, etag: '"e"' }, name: 'http://h/img', channel: ch, first: data.subarray(0, 1024) }, { blockSize: 1024, readaheadMax: 8192 });
    for (const [at, n] of [[29088, 2113], [51968, 201], [52320, 1849], [54688, 2049]]) {
      const out = new Uint8Array(n);
      src.readInto(out, 0, at, n);
      expect(out).toEqual(data.subarray(at, at + n));
    }
  });

  it('the block cache is bounded', () => {
    const ch = new FakeChannel(bytes);
    const src = make(ch, { cacheBytes: 4096, readaheadMax: 1024 });
    for (let o = 0; o < bytes.length; o += 1024) src.view(o, 1);
    const before = ch.requests.length;
    src.view(1024, 1);
    expect(ch.requests.length).toBe(before + 1);
  });

  it('prints URLs without credentials or query', () => {
    expect(displayUrl('https://u:p@h.example/a/b.erofs?X-Amz-Signature=s')).toBe('https://h.example/a/b.erofs');
  });
});

/** A FakeChannel that can run requests in the background: answers count up, and onAnswer wakes the pump. */
class BackgroundChannel extends FakeChannel {
  count = 0;
  private waiters: (() => void)[] = [];
  answers(): number {
    return this.count;
  }
  onAnswer(seen: number, _timeoutMs: number, then: () => void): void {
    if (this.count !== seen) void Promise.resolve().then(then);
    else this.waiters.push(then);
  }
  /** Answers every pending request, as the worker would, and wakes the pump. */
  answerAll(): void {
    super.answerAll();
    this.count++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) void Promise.resolve().then(f);
  }
  inFlight(): number {
    return this.requests.length;
  }
}

describe('RangeSource prefetch (reader half)', () => {
  it('queues runs without waiting, leaves one slot to the reader, and serves the bytes from the cache once idle', async () => {
    const ch = new BackgroundChannel(bytes, 3);
    ch.auto = false;
    const src = make(ch);
    // Blocks 4..35 (32 KiB) in runs of at most readaheadMax (8 blocks): 4 runs, 2 slots for them.
    expect(src.prefetch(4096, 32 << 10)).toBe(32 << 10);
    expect(ch.requests).toEqual([[4096, 8192], [12288, 8192]]);
    let idle = false;
    void src.idle().then(() => (idle = true));
    for (let i = 0; i < 4 && !idle; i++) {
      ch.answerAll();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(idle).toBe(true);
    expect(ch.requests.map(([o]) => o)).toEqual([4096, 12288, 20480, 28672]);
    expect(src.stats).toMatchObject({ prefetches: 4, prefetchedBytes: 32 << 10 });
    const before = ch.requests.length;
    const out = new Uint8Array(32 << 10);
    src.readInto(out, 0, 4096, out.length);
    expect(out).toEqual(bytes.subarray(4096, 4096 + out.length));
    expect(ch.requests.length).toBe(before);
    // Cached bytes are not queued again.
    expect(src.prefetch(4096, 32 << 10)).toBe(0);
  });

  it('a reader missing a prefetched block joins its request; what is outstanding stays within the cache', async () => {
    const ch = new BackgroundChannel(bytes, 3);
    ch.auto = false;
    const src = make(ch, { cacheBytes: 8192 });
    expect(src.prefetch(8192, 32 << 10)).toBe(8192);
    expect(ch.requests).toEqual([[8192, 8192]]);
    ch.answerAll();
    expect(src.view(9000, 10)).toEqual(bytes.subarray(9000, 9010));
    expect(ch.requests.length).toBe(1);
    await src.idle();
  });

  it('close() settles idle(); a channel that cannot run requests in the background queues nothing', async () => {
    const ch = new BackgroundChannel(bytes, 3);
    ch.auto = false;
    const src = make(ch);
    expect(src.prefetch(2048, 4096)).toBe(4096);
    const idle = src.idle();
    src.close();
    await idle;
    expect(src.prefetch(2048, 4096)).toBe(0);
    expect(make(new FakeChannel(bytes)).prefetch(2048, 4096)).toBe(0);
  });
});
