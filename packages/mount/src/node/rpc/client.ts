/**
 * A JSON-RPC 2.0 client for the controller's socket (newline-delimited JSON, see
 * server.ts). Calls may be issued concurrently; responses are matched by id. A failed
 * call rejects with RpcError, whose `errno` names the Linux error when the operation
 * itself failed (code -32000).
 */
import { createConnection, type Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { HostMountOptions, PrefetchResult } from '../../controller.js';
import type { MountRecord } from '../../namespace.js';
import { INVALID_PARAMS, MAX_MESSAGE_BYTES, OPERATION_FAILED, type Id, type RpcErrorObject } from '../../rpc/schema.js';

/** Options of a tmpfs mounted over RPC: sizes as numbers or mount(8) strings ("16m"), mode as bits or octal digits. */
export interface RpcTmpfsOptions {
  size?: number | string;
  nr_inodes?: number | string;
  mode?: number | string;
  uid?: number;
  gid?: number;
  readOnly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  mkdir?: boolean;
  source?: string;
}

export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: number;
  readonly data: unknown;

  constructor(err: RpcErrorObject) {
    super(err.message);
    this.code = err.code;
    this.data = err.data;
  }

  /** The errno name ("EBUSY") of a failed operation, or "EINVAL" for params out of their schema. */
  get errno(): string | undefined {
    const d = this.data as { errno?: unknown } | undefined;
    return (this.code === OPERATION_FAILED || this.code === INVALID_PARAMS) && typeof d?.errno === 'string' ? d.errno : undefined;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface RpcClientOptions {
  /** Largest response line accepted (default 4 MiB: a list of many mounts is long). */
  maxMessageBytes?: number;
}

export class RpcClient {
  private readonly pending = new Map<Id, Pending>();
  private nextId = 1;
  private buf: Buffer[] = [];
  private bufLen = 0;
  private closedError: Error | null = null;
  private readonly max: number;

  private constructor(
    readonly socket: Socket,
    options: RpcClientOptions,
  ) {
    this.max = options.maxMessageBytes ?? Math.max(MAX_MESSAGE_BYTES, 4 << 20);
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(socketPath: string, options: RpcClientOptions = {}): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(socketPath);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RpcClient(s, options));
      });
    });
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onData(b: Buffer): void {
    let start = 0;
    for (let nl = b.indexOf(0x0a); nl >= 0; nl = b.indexOf(0x0a, start)) {
      this.buf.push(b.subarray(start, nl));
      const line = Buffer.concat(this.buf).toString('utf8');
      this.buf = [];
      this.bufLen = 0;
      start = nl + 1;
      this.onLine(line);
    }
    if (start < b.length) {
      this.buf.push(Buffer.from(b.subarray(start)));
      this.bufLen += b.length - start;
      if (this.bufLen > this.max) {
        this.fail(new Error(`response longer than ${this.max} bytes`));
        this.socket.destroy();
      }
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      const r = m as { id?: Id; result?: unknown; error?: RpcErrorObject };
      const p = this.pending.get(r.id ?? null);
      if (!p) continue;
      this.pending.delete(r.id ?? null);
      if (r.error) p.reject(new RpcError(r.error));
      else p.resolve(r.result);
    }
  }

  /** Sends one request and waits for its response. */
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const msg: Record<string, unknown> = { jsonrpc: '2.0', id, method };
    if (params !== undefined) msg.params = params;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Sends raw bytes (for tests of hostile input). */
  sendRaw(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  ping(): Promise<{ pong: true; version: string }> {
    return this.call('ping');
  }

  /**
   * `image`: a host path, or a URL with headers ("Name: value") for a remote image. Host
   * paths (the image, `devices`) given relative are resolved against this process's cwd
   * before they are sent: the host's own cwd means nothing to the caller.
   */
  mount(image: string | { url: string; headers?: string[] }, target: string, options?: Omit<HostMountOptions, 'devices'> & { devices?: string[] }): Promise<MountRecord> {
    const what = typeof image === 'string' ? { image: resolvePath(image) } : image.headers?.length ? { url: image.url, headers: image.headers } : { url: image.url };
    if (options?.devices) options = { ...options, devices: options.devices.map((d) => resolvePath(d)) };
    return this.call('mount', options ? { ...what, target, options } : { ...what, target });
  }

  /** Mounts a tmpfs at `target` (if the host allows tmpfs over RPC). */
  mountTmpfs(target: string, options?: RpcTmpfsOptions): Promise<MountRecord> {
    return this.call('mount', options ? { type: 'tmpfs', target, options } : { type: 'tmpfs', target });
  }

  /** Mounts an overlay of image layers (host paths, lowest first) under a tmpfs upper at `target` (if the host allows overlays over RPC). */
  mountOverlay(target: string, layers: string[], upper?: { size?: number | string; nr_inodes?: number | string }, options?: { mkdir?: boolean; source?: string; readOnly?: boolean; nosuid?: boolean; nodev?: boolean; noexec?: boolean }): Promise<MountRecord> {
    const params: Record<string, unknown> = { type: 'overlay', target, layers: layers.map((l) => resolvePath(l)) };
    if (upper) params.upper = upper;
    if (options) params.options = options;
    return this.call('mount', params);
  }

  unmount(target: string, detach = false): Promise<{ id: number; target: string; released: boolean }> {
    return this.call('unmount', detach ? { target, detach } : { target });
  }

  list(): Promise<{ mounts: MountRecord[]; mountinfo: string }> {
    return this.call('list');
  }

  mkdir(path: string, parents = false): Promise<{ path: string }> {
    return this.call('mkdir', parents ? { path, parents } : { path });
  }

  /**
   * Warms `paths` (absolute inside the mount at `target`) in the caches of the sources
   * behind them (HostController.prefetch); answers once fetched, or once queued when
   * `wait` is false.
   */
  prefetch(target: string, paths: string[], wait = true): Promise<PrefetchResult> {
    return this.call('prefetch', wait ? { target, paths } : { target, paths, wait });
  }

  /** Closes the connection (pending calls reject). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
  }
}
