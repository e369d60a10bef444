/**
 * The controller's JSON-RPC 2.0 server on a Unix domain socket.
 *
 * Framing: newline-delimited JSON. Each message is one line of UTF-8 JSON (a request, or
 * a batch array of at most 16) ending in "\n"; responses come back the same way, in the
 * order of the requests on that connection. A line longer than maxMessageBytes (64 KiB
 * by default) gets an Invalid Request error and the connection is closed; bytes that are
 * not UTF-8 or not JSON get a Parse error; a final line without its newline when the
 * client half-closes is still answered (usually with a Parse error: truncated JSON).
 *
 * Access: the socket is created in a directory that must belong to this user and have no
 * group or other permission bits (0700; created so if missing), and is set to mode 0600
 * before the first connection is served. Node cannot read SO_PEERCRED, so the directory
 * is the gate: nobody else can reach the socket.
 *
 * Safety: every request is validated (schema.ts) before it touches the controller.
 * Requests on one connection run one after another; connections interleave freely. A
 * mount is atomic in the controller. A client that closes the connection, or only its
 * writing side, cancels what it asked for and is not yet committed: a mount still
 * opening its image is rolled back (answered with REQUEST_CANCELLED if anyone can still
 * read). So a client keeps the connection open until its answers arrive. At most maxConnections clients at once and
 * maxPending queued requests per client; a client that does not read its responses is
 * not served further until it does.
 */
import { once } from 'node:events';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { SysError } from '@erofs-js/vfs';
import { CancelledError, type HostController } from '../controller.js';
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  MAX_BATCH,
  MAX_MESSAGE_BYTES,
  OPERATION_FAILED,
  PARSE_ERROR,
  REQUEST_CANCELLED,
  checkRequest,
  errorResponse,
  resultResponse,
  type RpcRequest,
  type RpcResponse,
} from './schema.js';

export const VERSION = '0.1.0';

export interface RpcServerOptions {
  socketPath: string;
  /** Largest message (one line, newline included), default 64 KiB. */
  maxMessageBytes?: number;
  /** Clients served at once (default 32); more are told so and closed. */
  maxConnections?: number;
  /** Requests queued per connection (default 16); more close the connection. */
  maxPending?: number;
  /** Close a connection idle for this long (default 5 minutes; 0: never). */
  idleTimeoutMs?: number;
  /** Diagnostics (internal errors); default silent. */
  log?: (line: string) => void;
}

/** Checks (or creates) the socket's directory: ours, a directory, mode 0700 or stricter. */
export async function prepareSocketDir(dir: string): Promise<void> {
  let st;
  try {
    st = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dir, { mode: 0o700 });
    st = await lstat(dir);
  }
  if (!st.isDirectory()) throw new SysError('ENOTDIR', `${dir} is not a directory (symlinks are refused)`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new SysError('EPERM', `${dir} belongs to uid ${st.uid}, not to us`);
  if (st.mode & 0o077) throw new SysError('EPERM', `${dir} has mode 0${(st.mode & 0o777).toString(8)}: other users could reach the socket; use 0700`);
}

/** Removes a stale socket left by a server that died; refuses to touch anything else. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new SysError('EEXIST', `${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((res) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
  if (alive) throw new SysError('EBUSY', `a server is already listening on ${path}`);
  await unlink(path);
}

export class RpcServer {
  readonly socketPath: string;
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private closing = false;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly maxPending: number;
  readonly idleTimeoutMs: number;
  readonly log: (line: string) => void;

  private constructor(
    readonly controller: HostController,
    options: RpcServerOptions,
  ) {
    this.socketPath = options.socketPath;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.maxConnections = options.maxConnections ?? 32;
    this.maxPending = options.maxPending ?? 16;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60_000;
    this.log = options.log ?? (() => {});
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
  }

  /** Prepares the directory, listens, sets the socket to 0600. */
  static async listen(controller: HostController, options: RpcServerOptions): Promise<RpcServer> {
    const srv = new RpcServer(controller, options);
    await prepareSocketDir(dirname(srv.socketPath));
    await clearStale(srv.socketPath);
    await new Promise<void>((res, rej) => {
      srv.server.once('error', rej);
      srv.server.listen(srv.socketPath, () => {
        srv.server.off('error', rej);
        res();
      });
    });
    try {
      await chmod(srv.socketPath, 0o600);
    } catch (e) {
      await srv.close();
      throw e;
    }
    srv.server.on('error', (e) => srv.log(`server error: ${(e as Error).message}`));
    return srv;
  }

  /** Clients connected now. */
  get connections(): number {
    return this.conns.size;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.maxConnections) {
      socket.on('error', () => {});
      socket.end(JSON.stringify(errorResponse(null, INTERNAL_ERROR, `too many connections (${this.maxConnections})`)) + '\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const c = new Connection(this, socket);
    this.conns.add(c);
    socket.once('close', () => this.conns.delete(c));
    socket.resume();
  }

  /** Stops listening, drops every connection (cancelling their requests), removes the socket file. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const done = new Promise<void>((res) => this.server.close(() => res()));
    for (const c of this.conns) c.destroy();
    await done;
    await unlink(this.socketPath).catch(() => {});
  }

  /** Runs one validated request. */
  async dispatch(req: RpcRequest, signal: AbortSignal): Promise<unknown> {
    const p = req.params ?? {};
    const c = this.controller;
    switch (req.method) {
      case 'ping':
        return { pong: true, version: VERSION };
      case 'list':
        return { mounts: c.list(), mountinfo: c.mountinfo() };
      case 'mount':
        return c.mount({ image: p.image as string, target: p.target as string, options: p.options as never }, signal);
      case 'unmount':
        return c.unmount({ target: p.target as string, detach: p.detach as boolean | undefined });
      case 'mkdir':
        c.mkdir(p.path as string, { parents: p.parents as boolean | undefined });
        return { path: p.path };
      default:
        throw new Error(`validated method ${req.method} has no handler`);
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

class Connection {
  private chunks: Buffer[] = [];
  private partial = 0;
  private readonly queue: Buffer[] = [];
  private running = false;
  private ended = false;
  private dead = false;
  private readonly abort = new AbortController();

  constructor(
    readonly server: RpcServer,
    readonly socket: Socket,
  ) {
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    if (server.idleTimeoutMs > 0) {
      socket.setTimeout(server.idleTimeoutMs, () => {
        if (!this.running) this.destroy();
      });
    }
  }

  destroy(): void {
    this.onClose();
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.dead) return;
    this.dead = true;
    this.queue.length = 0;
    this.chunks = [];
    this.abort.abort();
  }

  private onData(b: Buffer): void {
    if (this.dead || this.ended) return;
    const max = this.server.maxMessageBytes;
    let start = 0;
    for (let nl = b.indexOf(0x0a); nl >= 0; nl = b.indexOf(0x0a, start)) {
      const piece = b.subarray(start, nl);
      if (this.partial + piece.length + 1 > max) return this.oversize();
      this.chunks.push(piece);
      this.queue.push(Buffer.concat(this.chunks));
      this.chunks = [];
      this.partial = 0;
      start = nl + 1;
    }
    if (start < b.length) {
      const rest = b.subarray(start);
      if (this.partial + rest.length + 1 > max) return this.oversize();
      this.chunks.push(Buffer.from(rest));
      this.partial += rest.length;
    }
    if (this.queue.length > this.server.maxPending) {
      this.fatal(errorResponse(null, INVALID_REQUEST, `more than ${this.server.maxPending} requests queued`));
      return;
    }
    void this.pump();
  }

  private onEnd(): void {
    if (this.dead) return;
    this.ended = true;
    // The client closed its side: it may still read answers, but a client that went
    // away looks the same, so nothing it asked for is committed from now on.
    this.abort.abort();
    if (this.partial > 0) {
      this.queue.push(Buffer.concat(this.chunks));
      this.chunks = [];
      this.partial = 0;
    }
    void this.pump();
  }

  private oversize(): void {
    this.fatal(errorResponse(null, INVALID_REQUEST, `message longer than ${this.server.maxMessageBytes} bytes`));
  }

  /** Sends a last error and closes; later bytes are ignored. */
  private fatal(resp: RpcResponse): void {
    if (this.dead) return;
    this.dead = true;
    this.queue.length = 0;
    this.chunks = [];
    this.abort.abort();
    this.socket.pause();
    this.socket.end(JSON.stringify(resp) + '\n');
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.dead && this.queue.length) {
        const line = this.queue.shift()!;
        const resp = await this.handleLine(line);
        if (resp !== null && !this.dead) {
          if (!this.socket.write(JSON.stringify(resp) + '\n')) {
            await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]).catch(() => {});
          }
        }
      }
      if (this.ended && !this.dead && this.queue.length === 0) this.socket.end();
    } finally {
      this.running = false;
    }
  }

  private async handleLine(line: Buffer): Promise<RpcResponse | RpcResponse[] | null> {
    let text: string;
    try {
      text = decoder.decode(line);
    } catch {
      return errorResponse(null, PARSE_ERROR, 'Parse error: the message is not valid UTF-8');
    }
    if (text.trim() === '') return null;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return errorResponse(null, PARSE_ERROR, `Parse error: ${(e as Error).message}`);
    }
    if (Array.isArray(msg)) {
      if (msg.length === 0) return errorResponse(null, INVALID_REQUEST, 'empty batch');
      if (msg.length > MAX_BATCH) return errorResponse(null, INVALID_REQUEST, `batch of ${msg.length} requests (at most ${MAX_BATCH})`);
      const out: RpcResponse[] = [];
      for (const m of msg) {
        const r = await this.handleOne(m);
        if (r) out.push(r);
      }
      return out.length ? out : null;
    }
    return this.handleOne(msg);
  }

  private async handleOne(msg: unknown): Promise<RpcResponse | null> {
    const checked = checkRequest(msg);
    if (!checked.ok) return checked.notification ? null : errorResponse(checked.id, checked.error.code, checked.error.message);
    const { request, notification } = checked;
    const id = request.id ?? null;
    try {
      const result = await this.server.dispatch(request, this.abort.signal);
      return notification ? null : resultResponse(id, result);
    } catch (e) {
      if (e instanceof CancelledError) return notification || this.dead ? null : errorResponse(id, REQUEST_CANCELLED, e.message);
      if (e instanceof SysError) return notification ? null : errorResponse(id, OPERATION_FAILED, e.message, { errno: e.code, errnum: e.errno });
      this.server.log(`internal error in ${request.method}: ${(e as Error)?.stack ?? String(e)}`);
      return notification ? null : errorResponse(id, INTERNAL_ERROR, 'Internal error');
    }
  }
}
