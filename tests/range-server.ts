/**
 * A loopback HTTP server for the range-source tests and the benchmark: serves objects with
 * Range, ETag, Last-Modified, If-Match and If-Unmodified-Since, and injects faults on
 * demand (latency, 5xx, resets mid-body, short bodies, answers that never come, no Range
 * support, an object replaced between requests).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Served {
  bytes: Uint8Array;
  etag: string;
  lastModified: string;
  mtime: number;
}

/** A fault applied to one upcoming request (in order). */
export type Fault = '500' | '503' | 'reset' | 'short' | 'hang' | '404';

export class RangeServer {
  private server: Server | undefined;
  private readonly objects = new Map<string, Served>();
  private clock = Date.UTC(2024, 0, 1) / 1000;
  base = '';
  /** Added before every answer. */
  latencyMs = 0;
  /** Off: every GET answers 200 with the whole object. */
  rangeSupport = true;
  /** Off: If-Match and If-Unmodified-Since are ignored (the client must notice a changed object itself). */
  honourConditions = true;
  sendEtag = true;
  sendLastModified = true;
  /** Faults for the next requests, first applied first. */
  faults: Fault[] = [];
  /** Faults applied only to requests whose range starts past this offset (the opening probe is spared). */
  faultsFrom = 0;
  requests = 0;
  bytesSent = 0;
  active = 0;
  maxActive = 0;
  /** Every request: its Range header (or "-") and its request headers. */
  readonly log: { range: string; headers: IncomingMessage['headers'] }[] = [];

  /** Serves `bytes` at `path`; a second put of a path is a new version (new ETag, later Last-Modified). */
  put(path: string, bytes: Uint8Array): void {
    this.clock += 10;
    const etag = `"${createHash('sha256').update(bytes).update(String(this.clock)).digest('hex').slice(0, 16)}"`;
    this.objects.set(path, { bytes, etag, lastModified: new Date(this.clock * 1000).toUTCString(), mtime: this.clock });
  }

  url(path: string): string {
    return this.base + path;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    res.on('close', () => this.active--);
    const range = req.headers.range ?? '-';
    this.log.push({ range, headers: req.headers });
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const start = /^bytes=(\d+)-/.exec(range);
    const fault = start && Number(start[1]) >= this.faultsFrom ? this.faults.shift() : undefined;
    if (fault === 'hang') return; // never answers; closed by close()
    if (fault === '500' || fault === '503' || fault === '404') {
      res.writeHead(Number(fault)).end('fault');
      return;
    }
    const obj = this.objects.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!obj) {
      res.writeHead(404).end('no such object');
      return;
    }
    const headers: Record<string, string> = { 'accept-ranges': this.rangeSupport ? 'bytes' : 'none' };
    if (this.sendEtag) headers.etag = obj.etag;
    if (this.sendLastModified) headers['last-modified'] = obj.lastModified;
    if (this.honourConditions) {
      const im = req.headers['if-match'];
      const ius = req.headers['if-unmodified-since'];
      if ((im && im !== obj.etag) || (ius && Date.parse(ius) / 1000 < obj.mtime)) {
        res.writeHead(412, headers).end();
        return;
      }
    }
    let body = obj.bytes;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (this.rangeSupport && m) {
      const a = Number(m[1]);
      const b = m[2] === '' ? obj.bytes.length - 1 : Math.min(Number(m[2]), obj.bytes.length - 1);
      if (a >= obj.bytes.length || b < a) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${obj.bytes.length}` }).end();
        return;
      }
      body = obj.bytes.subarray(a, b + 1);
      status = 206;
      headers['content-range'] = `bytes ${a}-${b}/${obj.bytes.length}`;
    }
    if (fault === 'reset') {
      // Headers and half the body, then the connection dies.
      res.writeHead(status, { ...headers, 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    if (fault === 'short') {
      // A chunked body that ends early: nothing at the transport level says it is short.
      res.writeHead(status, headers);
      res.end(body.subarray(0, body.length >> 1));
      this.bytesSent += body.length >> 1;
      return;
    }
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
    this.bytesSent += body.length;
  }
}

/** Settings of a server that can be changed between requests. */
export type ServerSettings = Partial<Pick<RangeServer, 'latencyMs' | 'rangeSupport' | 'honourConditions' | 'sendEtag' | 'sendLastModified' | 'faults' | 'faultsFrom'>>;

export interface ServerStats {
  requests: number;
  bytesSent: number;
  maxActive: number;
  ranges: string[];
  headers: IncomingMessage['headers'][];
}

/**
 * The server in a child process, driven over IPC. It must not share the test's thread: a
 * RangeSource reader blocks its thread in Atomics.wait, and a server on that thread could
 * never answer.
 */
export class ServerProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (v: any) => void>();
  base = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: any) => {
      this.waiting.get(m.seq)?.(m.value);
      this.waiting.delete(m.seq);
    });
  }

  static async start(): Promise<ServerProcess> {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, RANGE_SERVER_CHILD: '1' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const p = new ServerProcess(child);
    p.base = await p.call('base');
    return p;
  }

  private call(op: string, arg?: unknown): Promise<any> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, resolve);
      this.child.send({ seq, op, arg }, (e) => e && reject(e));
    });
  }

  url(path: string): string {
    return this.base + path;
  }

  /** Serves `bytes` at `path`; again for a path: a new version. */
  put(path: string, bytes: Uint8Array): Promise<void> {
    return this.call('put', { path, bytes });
  }

  set(settings: ServerSettings): Promise<void> {
    return this.call('set', settings);
  }

  /** Counters and the log since the last reset. */
  stats(): Promise<ServerStats> {
    return this.call('stats');
  }

  reset(): Promise<void> {
    return this.call('reset');
  }

  async close(): Promise<void> {
    await this.call('close').catch(() => {});
    this.child.kill();
  }
}

async function childMain(): Promise<void> {
  const s = await new RangeServer().start();
  process.on('message', async (m: any) => {
    let value: unknown;
    if (m.op === 'base') value = s.base;
    else if (m.op === 'put') s.put(m.arg.path, m.arg.bytes);
    else if (m.op === 'set') Object.assign(s, m.arg);
    else if (m.op === 'stats') value = { requests: s.requests, bytesSent: s.bytesSent, maxActive: s.maxActive, ranges: s.log.map((l) => l.range), headers: s.log.map((l) => l.headers) };
    else if (m.op === 'reset') {
      s.requests = s.bytesSent = s.maxActive = 0;
      s.log.length = 0;
      s.faults = [];
    } else if (m.op === 'close') {
      await s.close();
      process.send!({ seq: m.seq });
      process.exit(0);
    }
    process.send!({ seq: m.seq, value });
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.env.RANGE_SERVER_CHILD === '1') void childMain();
