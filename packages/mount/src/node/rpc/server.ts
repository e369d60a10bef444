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
 * Safety: every request is validated (schema.ts) before it touches the controller, and
 * the mount call mounts only the filesystem types the host allows (mountTypes).
 * Requests on one connection run one after another; connections interleave freely. A
 * mount is atomic in the controller. A client that closes the connection, or only its
 * writing side, cancels what it asked for and is not yet committed: a mount still
 * opening its image is rolled back (answered with REQUEST_CANCELLED if anyone can still
 * read). So a client keeps the connection open until its answers arrive. At most
 * maxPending queued requests per client; a client that does not read its responses is
 * not served further until it does.
 *
 * Availability: a client must not be able to hold the socket against the owner by
 * connecting and doing nothing, or by trickling bytes. Three rules:
 *  - a request has requestTimeoutMs (5 s) from its first byte to arrive whole; a
 *    connection past that deadline is told so and closed, whatever else it has running;
 *  - a connection with nothing to do (no request arriving, queued or running, no answer
 *    waiting for its client to read) is closed after idleTimeoutMs (60 s);
 *  - at most maxConnections (32) are served at once, and a client past the limit takes a
 *    place rather than being refused: the connection cheapest to lose is closed to make
 *    room. That is the one idle longest; failing that, the one whose request has been
 *    arriving longest (nothing of it is done yet, so the client only has to resend);
 *    failing that, the one whose client has stopped reading longest (its answers are lost:
 *    the last resort). A connection whose request the controller is running is never
 *    closed for room; only when every place holds one is the new client refused.
 * So the owner connecting and sending a request at once is served, unless maxConnections
 * requests are running in the controller right then; a long-lived client that sits idle
 * can lose its connection to newcomers and must reconnect.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { SysError } from '@erofs-js/vfs';
import { CancelledError, type HostController, type OverlayMountRequest, type TmpfsMountRequest } from '../../controller.js';
import { imageFromRpc } from '../remote.js';
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  MAX_BATCH,
  MAX_MESSAGE_BYTES,
  OPERATION_FAILED,
  PARSE_ERROR,
  REQUEST_CANCELLED,
  TMPFS_MAX_BYTES,
  TMPFS_MAX_INODES,
  checkRequest,
  errorResponse,
  resultResponse,
  type RpcRequest,
  type RpcResponse,
} from '../../rpc/schema.js';

export const VERSION = '0.1.0';

export interface RpcServerOptions {
  socketPath: string;
  /** Largest message (one line, newline included), default 64 KiB. */
  maxMessageBytes?: number;
  /**
   * Clients served at once (default 32). One more closes the connection cheapest to lose
   * (see the header), or is told so and closed if every connection has a request running.
   */
  maxConnections?: number;
  /** Requests queued per connection (default 16); more close the connection. */
  maxPending?: number;
  /** Time a request has to arrive whole, from its first byte (default 5 s; 0: no limit). */
  requestTimeoutMs?: number;
  /** Close a connection that has had nothing to do for this long (default 60 s; 0: never). */
  idleTimeoutMs?: number;
  /** Diagnostics (internal errors); default silent. */
  log?: (line: string) => void;
  /**
   * Filesystem types the mount call may mount (default ["erofs", "tmpfs", "overlay"]); any
   * other is EPERM. "erofs" is an image the host opens by path or URL, "tmpfs" a tmpfs,
   * "overlay" image layers the host opens by path under a tmpfs upper.
   */
  mountTypes?: readonly RpcMountType[];
}

/** What the RPC mount call can mount ("overlay": image layers the host opens by path under a tmpfs upper). */
export type RpcMountType = 'erofs' | 'tmpfs' | 'overlay';
export const RPC_MOUNT_TYPES: readonly RpcMountType[] = ['erofs', 'tmpfs', 'overlay'];

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A size or count the schema let through (an integer, or digits with a k/m/g/t suffix), within 1..max. */
function sizeFromRpc(v: unknown, field: string, max: number): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else {
    const s = String(v);
    const unit = /[kmgt]$/i.test(s) ? s.slice(-1).toLowerCase() : '';
    n = Number(unit ? s.slice(0, -1) : s) * SIZE_UNITS[unit];
  }
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= max)) throw new SysError('EINVAL', `${field}: ${JSON.stringify(v)} is ${n}, outside 1..${max}`);
  return n;
}

/** The controller's tmpfs mount request from validated RPC params; values the schema cannot bound are EINVAL naming the field. */
export function tmpfsFromRpc(p: Record<string, unknown>): TmpfsMountRequest {
  const o = (p.options ?? {}) as Record<string, unknown>;
  const options: NonNullable<TmpfsMountRequest['options']> = {};
  for (const k of ['readOnly', 'nosuid', 'nodev', 'noexec', 'mkdir'] as const) if (o[k] !== undefined) options[k] = o[k] as boolean;
  if (o.source !== undefined) options.source = o.source as string;
  if (o.size !== undefined) options.size = sizeFromRpc(o.size, 'params.options.size', TMPFS_MAX_BYTES);
  if (o.nr_inodes !== undefined) options.nr_inodes = sizeFromRpc(o.nr_inodes, 'params.options.nr_inodes', TMPFS_MAX_INODES);
  if (o.mode !== undefined) options.mode = typeof o.mode === 'string' ? parseInt(o.mode, 8) : (o.mode as number);
  if (o.uid !== undefined) options.uid = o.uid as number;
  if (o.gid !== undefined) options.gid = o.gid as number;
  return { type: 'tmpfs', target: p.target as string, options };
}

/** The controller's overlay mount request from validated RPC params (sizes bounded as tmpfsFromRpc's). */
export function overlayFromRpc(p: Record<string, unknown>): OverlayMountRequest {
  const u = (p.upper ?? {}) as Record<string, unknown>;
  const upper: NonNullable<OverlayMountRequest['upper']> = {};
  if (u.size !== undefined) upper.size = sizeFromRpc(u.size, 'params.upper.size', TMPFS_MAX_BYTES);
  if (u.nr_inodes !== undefined) upper.nr_inodes = sizeFromRpc(u.nr_inodes, 'params.upper.nr_inodes', TMPFS_MAX_INODES);
  const layers = p.layers as string[];
  if (layers.length === 0) throw new SysError('EINVAL', 'params.layers: an overlay needs at least one layer');
  return { type: 'overlay', target: p.target as string, layers, upper, options: (p.options ?? {}) as OverlayMountRequest['options'] };
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
  /** Connections being served (the ones that count against maxConnections). */
  private readonly conns = new Set<Connection>();
  /** Every socket still open, including ones told to go that have not closed yet. */
  private readonly sockets = new Set<Socket>();
  private closing = false;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly maxPending: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly log: (line: string) => void;
  readonly mountTypes: readonly RpcMountType[];

  private constructor(
    readonly controller: HostController,
    options: RpcServerOptions,
  ) {
    this.socketPath = options.socketPath;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.maxConnections = options.maxConnections ?? 32;
    this.maxPending = options.maxPending ?? 16;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.log = options.log ?? (() => {});
    const types = options.mountTypes ?? RPC_MOUNT_TYPES;
    for (const t of types) if (!RPC_MOUNT_TYPES.includes(t)) throw new SysError('EINVAL', `mountTypes: the RPC cannot mount ${JSON.stringify(t)} (only ${RPC_MOUNT_TYPES.join(', ')})`);
    this.mountTypes = [...types];
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
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.conns.size >= this.maxConnections && !this.makeRoom()) {
      socket.on('error', () => {});
      farewell(socket, errorResponse(null, INTERNAL_ERROR, `too many connections (${this.maxConnections}), each with a request running`));
      return;
    }
    const c = new Connection(this, socket, () => this.conns.delete(c));
    this.conns.add(c);
    socket.resume();
  }

  /** Closes the connection cheapest to lose (see the header); false if each has a request running. */
  private makeRoom(): boolean {
    let victim: Connection | null = null;
    let best: Spare | null = null;
    for (const c of this.conns) {
      const s = c.spare();
      if (s && (!best || s.rank < best.rank || (s.rank === best.rank && s.since < best.since))) {
        victim = c;
        best = s;
      }
    }
    victim?.evict();
    return victim !== null;
  }

  /** Stops listening, drops every connection (cancelling their requests), removes the socket file. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const done = new Promise<void>((res) => this.server.close(() => res()));
    for (const c of this.conns) c.destroy();
    for (const s of this.sockets) s.destroy();
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
      case 'mount': {
        const type = (p.type as RpcMountType | undefined) ?? 'erofs';
        if (!this.mountTypes.includes(type)) throw new SysError('EPERM', `this host does not allow ${type} mounts over RPC (allowed: ${this.mountTypes.join(', ') || 'none'})`);
        if (type === 'tmpfs') return c.mount(tmpfsFromRpc(p), signal);
        if (type === 'overlay') return c.mount(overlayFromRpc(p), signal);
        return c.mount({ image: imageFromRpc(p), target: p.target as string, options: p.options as never }, signal);
      }
      case 'unmount':
        return c.unmount({ target: p.target as string, detach: p.detach as boolean | undefined });
      case 'mkdir':
        c.mkdir(p.path as string, { parents: p.parents as boolean | undefined });
        return { path: p.path };
      case 'prefetch':
        return c.prefetch(p.target as string, p.paths as string[], { wait: p.wait as boolean | undefined });
      default:
        throw new Error(`validated method ${req.method} has no handler`);
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Sends a last message and closes: at once when it is flushed, within a second if the client does not read. */
function farewell(socket: Socket, resp: RpcResponse): void {
  socket.pause();
  socket.end(JSON.stringify(resp) + '\n', () => socket.destroy());
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * What closing a connection to make room would cost: rank 0 it is idle, 1 its request
 * is still arriving, 2 its client is not reading its answers; `since` is when it got so
 * (performance.now()), the oldest going first within a rank.
 */
interface Spare {
  rank: 0 | 1 | 2;
  since: number;
}

class Connection {
  private chunks: Buffer[] = [];
  /** Bytes of the line still arriving. */
  private partial = 0;
  private readonly queue: Buffer[] = [];
  /** pump() is working through the queue (a request running, or an answer waiting to be read). */
  private running = false;
  /** pump() waits for the client to read ('drain'). */
  private blocked = false;
  private ended = false;
  private dead = false;
  private readonly abort = new AbortController();
  /** When the line still arriving began, the connection fell idle, the client stopped reading. */
  private lineSince = 0;
  private idleSince = 0;
  private blockedSince = 0;
  private lineTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: RpcServer,
    readonly socket: Socket,
    /** Called once, when the connection stops being served. */
    private readonly onDead: () => void,
  ) {
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    this.settle();
  }

  /** How cheaply this connection could be closed to make room; null while the controller runs one of its requests. */
  spare(): Spare | null {
    if (this.dead) return null;
    if (this.blocked) return { rank: 2, since: this.blockedSince };
    if (this.running) return null;
    return this.partial > 0 ? { rank: 1, since: this.lineSince } : { rank: 0, since: this.idleSince };
  }

  /** Closes the connection to make room for a new one. */
  evict(): void {
    // A client that is not reading would never see a last message.
    if (this.blocked) this.destroy();
    else this.fatal(errorResponse(null, INTERNAL_ERROR, `closed to make room for a new connection (${this.server.maxConnections} at most)`));
  }

  destroy(): void {
    this.onClose();
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.dead) return;
    this.die();
  }

  /** Stops serving: drops what is queued, cancels what is running, stops the clocks. */
  private die(): void {
    this.dead = true;
    this.queue.length = 0;
    this.chunks = [];
    this.partial = 0;
    this.abort.abort();
    clearTimeout(this.lineTimer);
    clearTimeout(this.idleTimer);
    this.lineTimer = this.idleTimer = undefined;
    this.onDead();
  }

  /** Starts or stops the idle clock after a change of state. */
  private settle(): void {
    const ms = this.server.idleTimeoutMs;
    if (this.dead || ms <= 0) return;
    const idle = !this.running && this.partial === 0;
    if (idle && this.idleTimer === undefined) {
      this.idleSince = performance.now();
      this.idleTimer = setTimeout(() => this.fatal(errorResponse(null, INTERNAL_ERROR, `idle for ${ms} ms: closed`)), ms);
      this.idleTimer.unref();
    } else if (!idle && this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  /** Starts the deadline of a line that began arriving just now, or stops it when no line is arriving. */
  private lineClock(began: boolean): void {
    if (began || this.partial === 0) {
      clearTimeout(this.lineTimer);
      this.lineTimer = undefined;
    }
    const ms = this.server.requestTimeoutMs;
    if (this.partial === 0 || this.lineTimer !== undefined || ms <= 0) return;
    this.lineSince = performance.now();
    this.lineTimer = setTimeout(() => this.fatal(errorResponse(null, INVALID_REQUEST, `request not received whole within ${ms} ms`)), ms);
    this.lineTimer.unref();
  }

  private onData(b: Buffer): void {
    if (this.dead || this.ended) return;
    const max = this.server.maxMessageBytes;
    let start = 0;
    // A line begins in this chunk if none was arriving, or if one ends here: whatever
    // follows that end is a new line with a deadline of its own.
    const began = b.includes(0x0a) || this.partial === 0;
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
    this.lineClock(began);
    void this.pump();
    this.settle();
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
    this.lineClock(false);
    void this.pump();
    this.settle();
  }

  private oversize(): void {
    this.fatal(errorResponse(null, INVALID_REQUEST, `message longer than ${this.server.maxMessageBytes} bytes`));
  }

  /** Sends a last error and closes; later bytes are ignored. */
  private fatal(resp: RpcResponse): void {
    if (this.dead) return;
    this.die();
    farewell(this.socket, resp);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.settle();
    try {
      while (!this.dead && this.queue.length) {
        const line = this.queue.shift()!;
        const resp = await this.handleLine(line);
        if (resp !== null && !this.dead && !this.socket.write(JSON.stringify(resp) + '\n')) await this.drained();
      }
      if (this.ended && !this.dead && this.queue.length === 0) this.socket.end();
    } finally {
      this.running = false;
      this.settle();
    }
  }

  /**
   * Waits until the client has read enough for more answers, or the connection is gone.
   * Both listeners go when either fires, so none outlives its wait. A client that reads
   * nothing for idleTimeoutMs is closed.
   */
  private drained(): Promise<void> {
    const socket = this.socket;
    const ms = this.server.idleTimeoutMs;
    return new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        clearTimeout(timer);
        this.blocked = false;
        resolve();
      };
      const timer =
        ms > 0
          ? setTimeout(() => {
              this.destroy();
              done();
            }, ms)
          : undefined;
      socket.on('drain', done);
      socket.on('close', done);
      this.blocked = true;
      this.blockedSince = performance.now();
    });
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
    if (!checked.ok) return checked.notification ? null : errorResponse(checked.id, checked.error.code, checked.error.message, checked.error.data);
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
