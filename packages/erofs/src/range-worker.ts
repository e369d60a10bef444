/**
 * The fetch worker of a range source: the asynchronous half. The reader (RangeSource, on a
 * thread that may block) posts requests; this code runs them with `fetch` on its own
 * thread, several at a time, retrying transient failures with backoff, and writes each
 * answer into its shared-memory slot before waking the reader (range-protocol.ts has the
 * layout).
 *
 * It is shipped as source text (rangeWorkerSource), not as a module file, so the same code
 * runs in a Node worker_threads Worker (eval) and in a browser Web Worker (a Blob URL)
 * without a bundler and without a second file to locate at run time. Hence the rules for
 * rangeWorkerMain: no imports, no module-level names; the protocol helpers come in as a
 * parameter. The text survives minification (tests/browser-range.test.ts runs a minified
 * bundle); a bundler that transpiles below ES2022 could insert module-level helpers
 * (async or class-field shims) and break it.
 */
import { checkPartial, describeIdentity, parseContentRange, pinHeaders } from './range-protocol.js';

/** What the reader sends to open: the URL, and how hard to try. */
export interface WorkerOpen {
  t: 'open';
  url: string;
  headers: Record<string, string>;
  /** Bytes fetched from offset 0 at open (they also tell the size and identity). */
  probeBytes: number;
  /** Largest whole body accepted from a server without Range support. */
  wholeBodyCap: number;
  /** Time allowed for one request, headers and body. */
  attemptTimeoutMs: number;
  /** Attempts after the first for a transient failure. */
  retries: number;
  /** First backoff; doubled per retry, with jitter. */
  backoffMs: number;
  /** Accept an object with neither ETag nor Last-Modified (its identity is then its size alone). */
  allowUnpinned: boolean;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  slotBytes: number;
}

export interface WorkerRead {
  t: 'read';
  slot: number;
  ticket: number;
  offset: number;
  length: number;
}

export type WorkerOpened =
  | { t: 'opened'; identity: { size: number; etag?: string; lastModified?: string }; first?: ArrayBuffer; whole?: ArrayBuffer; requests: number }
  | { t: 'failed'; message: string };

interface Port {
  on(f: (m: any) => void): void;
  post(m: unknown, transfer?: ArrayBuffer[]): void;
}

interface Helpers {
  checkPartial: typeof checkPartial;
  describeIdentity: typeof describeIdentity;
  parseContentRange: typeof parseContentRange;
  pinHeaders: typeof pinHeaders;
}

/** The worker's body. Runs in the worker; see the module comment for its rules. */
export function rangeWorkerMain(port: Port, h: Helpers): void {
  // Slot record layout: the same numbers as range-protocol.ts (SLOT_WORDS, SlotState).
  const WORDS = 4;
  const DONE = 2;
  const FAILED = 3;
  let cfg: WorkerOpen;
  let ctrl: Int32Array;
  let data: Uint8Array;
  let identity: { size: number; etag?: string; lastModified?: string };
  let pin: Record<string, string> = {};
  let closed = false;

  class Final extends Error {}
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const causeOf = (e: any): string => {
    let s = e?.name === 'TimeoutError' ? `no complete answer within ${cfg.attemptTimeoutMs} ms` : String(e?.message ?? e);
    const c = e?.cause;
    if (c) s += ` (${c.code ? c.code + ': ' : ''}${c.message ?? c})`;
    return s;
  };

  /**
   * Runs `once` until it returns, retrying transient failures (anything but a Final) up to
   * cfg.retries times with doubling, jittered backoff. Counts every request in `count`.
   */
  async function withRetries<T>(once: () => Promise<T>, count: { n: number }): Promise<T> {
    for (let i = 0; ; i++) {
      count.n++;
      try {
        return await once();
      } catch (e) {
        if (e instanceof Final) throw e;
        if (i >= cfg.retries || closed) throw new Final(`${causeOf(e)} (gave up after ${i + 1} attempts)`);
        await sleep(cfg.backoffMs * 2 ** i * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Reads a body of at most `cap` bytes; a longer one is cancelled and refused. */
  async function readCapped(res: any, cap: number): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let n = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > cap) {
        await reader.cancel().catch(() => {});
        throw new Final(`the server does not support Range requests and the object is larger than the whole-body cap of ${cap} bytes`);
      }
      chunks.push(value);
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  async function open(m: WorkerOpen): Promise<WorkerOpened> {
    cfg = m;
    ctrl = new Int32Array(m.ctrl);
    data = new Uint8Array(m.data);
    const count = { n: 0 };
    return withRetries(async () => {
      const res: any = await fetch(m.url, { headers: { ...m.headers, range: `bytes=0-${m.probeBytes - 1}` }, signal: AbortSignal.timeout(m.attemptTimeoutMs) });
      const get = (n: string) => res.headers.get(n) as string | null;
      const etag = get('etag') ?? undefined;
      const lastModified = get('last-modified') ?? undefined;
      if (res.status >= 500 || res.status === 429 || res.status === 408) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${res.status}`);
      }
      if (res.status === 200) {
        // No Range support: only a body small enough to hold whole is of use.
        const len = Number(get('content-length') ?? NaN);
        if (len > m.wholeBodyCap) {
          await res.body?.cancel().catch(() => {});
          throw new Final(`the server does not support Range requests (HTTP 200) and the object's ${len} bytes exceed the whole-body cap of ${m.wholeBodyCap}`);
        }
        const whole = await readCapped(res, m.wholeBodyCap);
        if (!Number.isNaN(len) && whole.length !== len) throw new Error(`short body: ${whole.length} of ${len} bytes`);
        identity = { size: whole.length, etag, lastModified };
        return { t: 'opened' as const, identity, whole: whole.buffer as ArrayBuffer, requests: count.n };
      }
      if (res.status === 416) throw new Final('the object is empty (HTTP 416 for its first byte)');
      if (res.status !== 206) {
        await res.body?.cancel().catch(() => {});
        throw new Final(`HTTP ${res.status}`);
      }
      const cr = h.parseContentRange(get('content-range'));
      if (!cr || cr.start !== 0 || cr.total < 0) throw new Final(`HTTP 206 with an unusable Content-Range ${JSON.stringify(get('content-range'))}`);
      if (!etag && !lastModified && !m.allowUnpinned) {
        throw new Final('the server sends neither ETag nor Last-Modified: the object cannot be pinned (allowUnpinned accepts it)');
      }
      const first = new Uint8Array(await res.arrayBuffer());
      if (first.length !== cr.end + 1) throw new Error(`short body: ${first.length} of ${cr.end + 1} bytes`);
      identity = { size: cr.total, etag, lastModified };
      pin = h.pinHeaders(identity);
      return { t: 'opened' as const, identity, first: first.buffer as ArrayBuffer, requests: count.n };
    }, count).catch((e) => ({ t: 'failed' as const, message: causeOf(e) }));
  }

  async function read(m: WorkerRead): Promise<void> {
    const base = 1 + m.slot * WORDS;
    const count = { n: 0 };
    const end = Math.min(m.offset + m.length, identity.size);
    const want = end - m.offset;
    let state = DONE;
    let length = 0;
    try {
      const bytes = await withRetries(async () => {
        const res: any = await fetch(cfg.url, {
          headers: { ...cfg.headers, ...pin, range: `bytes=${m.offset}-${end - 1}` },
          signal: AbortSignal.timeout(cfg.attemptTimeoutMs),
        });
        const bad = h.checkPartial(res.status, (n: string) => res.headers.get(n), identity, m.offset, m.length);
        if (bad) {
          await res.body?.cancel().catch(() => {});
          if (bad.retry) throw new Error(bad.message);
          throw new Final(bad.message);
        }
        const got = new Uint8Array(await res.arrayBuffer());
        if (got.length !== want) throw new Error(`short body: ${got.length} of ${want} bytes`);
        return got;
      }, count);
      data.set(bytes, m.slot * cfg.slotBytes);
      length = bytes.length;
    } catch (e) {
      state = FAILED;
      const text = new TextEncoder().encode(e instanceof Final ? e.message : causeOf(e)).subarray(0, cfg.slotBytes);
      data.set(text, m.slot * cfg.slotBytes);
      length = text.length;
    }
    if (Atomics.load(ctrl, base + 3) !== m.ticket) return; // the reader gave up on it and reused the slot
    Atomics.store(ctrl, base + 1, length);
    Atomics.store(ctrl, base + 2, count.n);
    Atomics.store(ctrl, base, state);
    Atomics.add(ctrl, 0, 1);
    Atomics.notify(ctrl, 0);
  }

  port.on((m) => {
    if (m.t === 'open') void open(m).then((r) => port.post(r, r.t === 'opened' ? [r.first ?? r.whole!] : []));
    else if (m.t === 'read') void read(m);
    else if (m.t === 'close') closed = true;
  });
}

/**
 * The worker's program text. It defines `run(port)`; `start` is the code that builds the
 * port ({ on, post }) for the host and calls it. `__name` is defined because some
 * TypeScript transpilers (esbuild's keepNames, as under vitest) wrap functions in calls to
 * it, and the text is taken from the transpiled code.
 */
export function rangeWorkerSource(start: string): string {
  // Bound to their names by assignment: a minified bundle renames the declarations (the
  // text of `function checkPartial` may come out as `function t`).
  const helpers = Object.entries({ checkPartial, describeIdentity, parseContentRange, pinHeaders })
    .map(([name, f]) => `var ${name} = ${f};`)
    .join('\n');
  const names = '{ checkPartial, describeIdentity, parseContentRange, pinHeaders }';
  return `"use strict";\nvar __name = (f) => f;\n${helpers}\nfunction run(port) { (${rangeWorkerMain})(port, ${names}); }\n${start}\n`;
}

/** Start code for a browser Web Worker. */
export const WEB_WORKER_START = 'run({ on: (f) => { self.onmessage = (e) => f(e.data); }, post: (m, t) => self.postMessage(m, t || []) });';
