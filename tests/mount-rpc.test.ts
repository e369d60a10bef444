/**
 * The controller's RPC server on a real Unix socket with real clients: access rights,
 * malformed and hostile requests, concurrent clients, clients that go away mid-request.
 * Every case must end in a JSON-RPC error (or a closed connection), never a crash, and
 * never a half-made mount.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentials } from '@erofs-js/vfs';
import { HostController, RpcClient, RpcServer, rpcSchema, type HostControllerOptions } from '@erofs-js/mount/node';
import { FIXTURES } from './fixtures.js';

const { PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, OPERATION_FAILED } = rpcSchema;
const base = mkdtempSync(join(tmpdir(), 'erofs-rpc-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
let controller: HostController;
let server: RpcServer;

async function start(options: HostControllerOptions = {}, serverOptions: Partial<Parameters<typeof RpcServer.listen>[1]> = {}) {
  controller = await HostController.create({ mkdirs: ['/mnt', '/a', '/b'], ...options });
  server = await RpcServer.listen(controller, { socketPath: join(base, `d${n++}`, 'ctl.sock'), ...serverOptions });
}

afterEach(async () => {
  await server?.close();
  controller?.close();
});

/** A raw client: writes bytes, reads response lines. */
class Raw {
  private lines: unknown[] = [];
  private waiters: ((v: unknown) => void)[] = [];
  private buf = '';
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const v = JSON.parse(line);
        const w = this.waiters.shift();
        if (w) w(v);
        else this.lines.push(v);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static connect(path = server.socketPath): Promise<Raw> {
    return new Promise((res, rej) => {
      const s = createConnection(path);
      s.once('connect', () => res(new Raw(s)));
      s.once('error', rej);
    });
  }

  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** The next response (with a timeout). */
  next(ms = 5000): Promise<any> {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('no response')), ms);
      this.waiters.push((v) => {
        clearTimeout(t);
        res(v);
      });
    });
  }

  async call(obj: unknown): Promise<any> {
    this.send(JSON.stringify(obj) + '\n');
    return this.next();
  }

  end(): void {
    this.socket.end();
  }
}

const ping = (id: unknown = 1) => ({ jsonrpc: '2.0', id, method: 'ping' });
const mountReq = (id: number, image: string, target: string, options?: object) => ({ jsonrpc: '2.0', id, method: 'mount', params: options ? { image: FIXTURES + image, target, options } : { image: FIXTURES + image, target } });

/** Open descriptors of this process. */
const openFds = () => readdirSync('/proc/self/fd').length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RPC server: access', () => {
  beforeEach(() => start());

  it('socket mode 0600 in a 0700 directory owned by us', () => {
    const st = statSync(server.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
    const dir = statSync(join(server.socketPath, '..'));
    expect(dir.mode & 0o777).toBe(0o700);
  });

  it.runIf(process.getuid?.() === 0)('another user cannot connect', async () => {
    const child = spawn(process.execPath, ['-e', `const s=require('net').createConnection(${JSON.stringify(server.socketPath)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`], { uid: 65534, gid: 65534 });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => child.once('exit', r));
    expect(out.trim()).toBe('EACCES');
  });
});

describe('RPC server: malformed and hostile requests', () => {
  beforeEach(() => start());

  it('truncated or broken JSON is a parse error, and the connection stays usable', async () => {
    const c = await Raw.connect();
    c.send('{"jsonrpc":"2.0","id":1,"method":"pi\n');
    expect(await c.next()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: PARSE_ERROR } });
    c.send('{]\n');
    expect((await c.next()).error.code).toBe(PARSE_ERROR);
    c.send(new Uint8Array([0xff, 0xfe, 0x7b, 0x0a]));
    expect((await c.next()).error).toMatchObject({ code: PARSE_ERROR, message: expect.stringMatching(/UTF-8/) });
    expect(await c.call(ping(2))).toEqual({ jsonrpc: '2.0', id: 2, result: { pong: true, version: '0.1.0' } });
    // Blank lines are ignored.
    c.send('\n   \n\r\n');
    expect(await c.call(ping(3))).toMatchObject({ id: 3 });
    c.end();
  });

  it('truncated JSON at end of stream still gets an answer before the server closes', async () => {
    const c = await Raw.connect();
    c.send('{"jsonrpc":"2.0","id":9,"method":"mount","params":{"image":"/x","tar');
    c.end();
    expect((await c.next()).error.code).toBe(PARSE_ERROR);
    await c.closed;
    // A complete final message without its newline is served...
    const d = await Raw.connect();
    d.send(JSON.stringify(ping(5)));
    d.end();
    expect(await d.next()).toMatchObject({ id: 5, result: { pong: true } });
    await d.closed;
    // ...but closing the writing side cancels a mount not yet committed.
    const e = await Raw.connect();
    e.send(JSON.stringify(mountReq(6, 'basic-18.erofs', '/mnt')) + '\n');
    e.end();
    const r = await e.next();
    await e.closed;
    if (r.error) expect(r).toMatchObject({ id: 6, error: { code: rpcSchema.REQUEST_CANCELLED } });
    expect(controller.list()).toHaveLength(r.error ? 1 : 2);
  });

  it('envelopes that are not requests', async () => {
    const c = await Raw.connect();
    for (const bad of ['42', '"ping"', 'null', 'true', '{}', '{"jsonrpc":"2.0"}', '{"jsonrpc":"1.0","id":1,"method":"ping"}', '{"id":1,"method":"ping"}']) {
      c.send(bad + '\n');
      expect((await c.next()).error.code, bad).toBe(INVALID_REQUEST);
    }
    expect(await c.call({ ...ping(7), extra: 1 })).toMatchObject({ id: 7, error: { code: INVALID_REQUEST } });
    expect(await c.call({ jsonrpc: '2.0', id: { evil: 1 }, method: 'ping' })).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    expect(await c.call({ jsonrpc: '2.0', id: [1], method: 'ping' })).toMatchObject({ id: null, error: { code: INVALID_REQUEST } });
    c.send('{"jsonrpc":"2.0","id":8,"method":"ping","__proto__":{"polluted":true}}\n');
    expect(await c.next()).toMatchObject({ id: 8, error: { code: INVALID_REQUEST } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    c.end();
  });

  it('unknown methods, wrong types, extra fields', async () => {
    const c = await Raw.connect();
    expect(await c.call({ jsonrpc: '2.0', id: 'a', method: 'exec', params: {} })).toMatchObject({ id: 'a', error: { code: METHOD_NOT_FOUND } });
    expect(await c.call({ jsonrpc: '2.0', id: 'b', method: 'constructor' })).toMatchObject({ id: 'b', error: { code: METHOD_NOT_FOUND } });
    expect(await c.call({ jsonrpc: '2.0', id: 'c', method: 'x'.repeat(10000) })).toMatchObject({ id: 'c', error: { code: METHOD_NOT_FOUND } });
    const wrong: [string, unknown][] = [
      ['mount', { image: 5, target: '/mnt' }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: true }],
      ['mount', { image: FIXTURES + 'basic-18.erofs' }],
      ['mount', { image: 'relative.erofs', target: '/mnt' }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: 'mnt' }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt\u0000/x' }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/' + 'x'.repeat(5000) }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { dentryCacheSize: -1 } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { dentryCacheSize: 1e12 } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { dentryCacheSize: 1.5 } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { mkdir: 'yes' } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { devices: '/x' } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { devices: new Array(17).fill('/x') } }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: null }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', extra: 1 }],
      ['mount', { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { readWrite: true } }],
      ['mount', [FIXTURES + 'basic-18.erofs', '/mnt']],
      ['mount', 'string params'],
      ['unmount', { target: '/mnt', detach: 1 }],
      ['unmount', {}],
      ['list', { verbose: true }],
      ['mkdir', { path: '/x', parents: 'true' }],
    ];
    let id = 100;
    for (const [method, params] of wrong) {
      const r = await c.call({ jsonrpc: '2.0', id: ++id, method, params });
      expect(r, JSON.stringify(params).slice(0, 100)).toMatchObject({ id, error: { code: INVALID_PARAMS } });
    }
    expect(controller.list()).toHaveLength(1);
    c.end();
  });

  it('operations that fail carry the errno, and leave nothing behind', async () => {
    const c = await Raw.connect();
    const fifo = join(base, 'fifo.erofs');
    spawnSync('mkfifo', [fifo]);
    writeFileSync(join(base, 'junk.erofs'), new Uint8Array(8192).fill(0x41));
    const fds = openFds();
    const cases: [object, string][] = [
      [{ image: '/nonexistent/x.erofs', target: '/mnt' }, 'ENOENT'],
      [{ image: '/etc/passwd', target: '/mnt' }, 'EINVAL'],
      [{ image: join(base, 'junk.erofs'), target: '/mnt' }, 'EINVAL'],
      [{ image: base, target: '/mnt' }, 'EINVAL'],
      [{ image: fifo, target: '/mnt' }, 'EINVAL'],
      [{ image: FIXTURES + 'basic-18.erofs', target: '/nope' }, 'ENOENT'],
      [{ image: FIXTURES + 'basic-18.erofs', target: '/' }, 'EBUSY'],
      [{ image: FIXTURES + 'basic-18-blobdev.erofs', target: '/mnt', options: { devices: ['/nonexistent'] } }, 'ENOENT'],
    ];
    let id = 0;
    for (const [params, errno] of cases) {
      const r = await c.call({ jsonrpc: '2.0', id: ++id, method: 'mount', params });
      expect(r, JSON.stringify(params)).toMatchObject({ id, error: { code: OPERATION_FAILED, data: { errno } } });
    }
    expect(await c.call({ jsonrpc: '2.0', id: 50, method: 'unmount', params: { target: '/mnt' } })).toMatchObject({ error: { data: { errno: 'EINVAL', errnum: 22 } } });
    expect(await c.call({ jsonrpc: '2.0', id: 51, method: 'mkdir', params: { path: '/mnt' } })).toMatchObject({ error: { data: { errno: 'EEXIST' } } });
    expect(controller.list()).toHaveLength(1);
    expect(openFds()).toBe(fds);
    c.end();
  });

  it('an oversized message gets an error and the connection is closed; others carry on', async () => {
    const c = await Raw.connect();
    const other = await Raw.connect();
    c.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + 'x'.repeat(70 * 1024));
    expect(await c.next()).toMatchObject({ id: null, error: { code: INVALID_REQUEST, message: expect.stringMatching(/longer than 65536/) } });
    await c.closed;
    // With its newline, too.
    const d = await Raw.connect();
    d.send(JSON.stringify({ ...ping(1), params: { pad: 'y'.repeat(65536) } }) + '\n');
    expect((await d.next()).error.code).toBe(INVALID_REQUEST);
    await d.closed;
    expect(await other.call(ping(4))).toMatchObject({ id: 4, result: { pong: true } });
    other.end();
  });

  it('deep nesting, huge numbers and odd values do not crash the server', async () => {
    const c = await Raw.connect();
    // Parses (V8 copes) as a batch holding one array: not a request.
    c.send('['.repeat(30000) + ']'.repeat(30000) + '\n');
    expect(await c.next()).toMatchObject([{ id: null, error: { code: INVALID_REQUEST } }]);
    c.send('{"a":'.repeat(10000) + '1' + '}'.repeat(10000) + '\n');
    expect((await c.next()).error.code).toBe(INVALID_REQUEST);
    expect(await c.call({ jsonrpc: '2.0', id: 1e308, method: 'ping' })).toMatchObject({ id: 1e308, result: { pong: true } });
    c.send('{"jsonrpc":"2.0","id":1e999,"method":"ping"}\n');
    expect((await c.next()).error.code).toBe(INVALID_REQUEST);
    expect(await c.call({ jsonrpc: '2.0', id: 2, method: 'mount', params: { image: FIXTURES + 'basic-18.erofs', target: '/mnt', options: { source: '\u202e\n\\ evil' } } })).toMatchObject({ result: { id: 2 } });
    expect(controller.mountinfo()).toContain('\\012\\134\\040evil');
    c.end();
  });

  it('batches: mixed results, notifications answered by nothing, limits', async () => {
    const c = await Raw.connect();
    const r = await c.call([ping(1), { jsonrpc: '2.0', method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'nope' }, 5, mountReq(3, 'basic-18.erofs', '/a')]);
    expect(r).toHaveLength(4);
    expect(r.map((x: any) => x.error?.code ?? 'ok')).toEqual(['ok', METHOD_NOT_FOUND, INVALID_REQUEST, 'ok']);
    expect(await c.call([])).toMatchObject({ error: { code: INVALID_REQUEST } });
    expect(await c.call(new Array(17).fill(ping(1)))).toMatchObject({ error: { code: INVALID_REQUEST } });
    // Notifications get no response at all, even failing ones.
    c.send(JSON.stringify([{ jsonrpc: '2.0', method: 'ping' }]) + '\n');
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'nope' }) + '\n');
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'unmount', params: { target: '/b' } }) + '\n');
    expect(await c.call(ping(9))).toMatchObject({ id: 9 });
    c.end();
  });

  it('a client that floods requests is cut off', async () => {
    const c = await Raw.connect();
    c.send((JSON.stringify(ping(1)) + '\n').repeat(100));
    const seen: any[] = [];
    for (;;) {
      const r = await c.next().catch(() => null);
      if (!r) break;
      seen.push(r);
      if (r.error) break;
    }
    expect(seen.at(-1).error.message).toMatch(/requests queued/);
    await c.closed;
    const ok = await RpcClient.connect(server.socketPath);
    expect((await ok.ping()).pong).toBe(true);
    await ok.close();
  });
});

describe('RPC server: concurrency and disconnects', () => {
  it('many clients at once: every mount lands whole, then every unmount', async () => {
    await start();
    const clients = await Promise.all(Array.from({ length: 12 }, () => RpcClient.connect(server.socketPath)));
    const images = ['basic-18.erofs', 'rootfs-18.erofs', 'z-lz4hc-18.erofs', 'z-zstd-18.erofs'];
    const recs = await Promise.all(clients.map((c, i) => c.mount(FIXTURES + images[i % 4], `/m/${i}`, { mkdir: true })));
    expect(new Set(recs.map((r) => r.id)).size).toBe(12);
    // Interleaved with lists and pings, and a second wave stacking on the first.
    const wave = await Promise.all(clients.flatMap((c, i) => [c.list(), c.mount(FIXTURES + images[(i + 1) % 4], `/m/${i}`), c.ping()]));
    expect(wave.filter((x: any) => x.target).length).toBe(12);
    const list = await clients[0].list();
    expect(list.mounts).toHaveLength(25);
    const t = controller.task({ creds: credentials(1000, 1000) });
    for (let i = 0; i < 12; i++) expect(t.statx(-100, `/m/${i}`, 0, 0).mntId).toBe(list.mounts.find((m) => m.target === `/m/${i}` && m.parentId !== 1)!.id);
    t.exit();
    await Promise.all(clients.map((c, i) => c.unmount(`/m/${i}`).then(() => c.unmount(`/m/${i}`))));
    expect((await clients[0].list()).mounts).toHaveLength(1);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a client that disconnects mid-message leaves no mount', async () => {
    await start();
    const c = await Raw.connect();
    const line = JSON.stringify(mountReq(1, 'basic-18.erofs', '/mnt')) + '\n';
    c.send(line.slice(0, line.length / 2));
    c.socket.destroy();
    await c.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(controller.list()).toHaveLength(1);
  });

  it('a client that disconnects while its mount is in flight: rolled back, image closed', async () => {
    let gateOpen!: () => void;
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const gate = new Promise<void>((r) => (gateOpen = r));
    await start({
      beforeCommit: async () => {
        reached();
        await gate;
      },
    });
    const fds = openFds();
    const c = await Raw.connect();
    c.send(JSON.stringify(mountReq(1, 'basic-18.erofs', '/mnt')) + '\n');
    await atGate;
    expect(controller.pending).toBe(1);
    expect(openFds()).toBe(fds + 3); // both ends of the client's socket (same process) and the image
    c.socket.destroy();
    await c.closed;
    await new Promise((r) => setTimeout(r, 20));
    gateOpen();
    while (controller.pending) await new Promise((r) => setTimeout(r, 5));
    expect(controller.list()).toHaveLength(1);
    expect(openFds()).toBe(fds);
    expect(controller.ns.detached()).toEqual([]);
  });

  it('clients vanishing right after sending: every mount that exists is whole', async () => {
    await start();
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const c = await Raw.connect();
        c.send(JSON.stringify(mountReq(i, i % 2 ? 'basic-18.erofs' : 'rootfs-18.erofs', '/mnt')) + '\n');
        if (i % 3 === 0) await new Promise((r) => setTimeout(r, i));
        c.socket.destroy();
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    while (controller.pending) await new Promise((r) => setTimeout(r, 5));
    const t = controller.task();
    const mounts = controller.list();
    // A chain stacked on /mnt, each one complete: resolvable, readable, its parent the one below.
    for (let i = 2; i < mounts.length; i++) expect(mounts[i].parentId).toBe(mounts[i - 1].id);
    if (mounts.length > 1) expect(t.statx(-100, '/mnt', 0, 0).mntId).toBe(mounts.at(-1)!.id);
    for (const m of controller.ns.mounts()) expect(m.state).toBe('attached');
    t.exit();
    while (controller.list().length > 1) controller.unmount({ target: '/mnt' });
    expect(controller.ns.detached()).toEqual([]);
  });

  it('closing the server cancels in-flight requests and removes the socket', async () => {
    let gateOpen!: () => void;
    const gate = new Promise<void>((r) => (gateOpen = r));
    await start({ beforeCommit: () => gate });
    const c = await Raw.connect();
    c.send(JSON.stringify(mountReq(1, 'basic-18.erofs', '/mnt')) + '\n');
    while (!controller.pending) await new Promise((r) => setTimeout(r, 2));
    await server.close();
    gateOpen();
    while (controller.pending) await new Promise((r) => setTimeout(r, 2));
    expect(controller.list()).toHaveLength(1);
    expect(() => statSync(server.socketPath)).toThrow();
  });
});

describe('RPC server: availability', () => {
  it('past maxConnections a newcomer takes the place of the connection idle longest', async () => {
    await start({}, { maxConnections: 2 });
    const a = await Raw.connect();
    const b = await Raw.connect();
    expect(await a.call(ping(1))).toMatchObject({ result: { pong: true } });
    // b has been idle since it connected, a only since its answer: b goes.
    const c = await Raw.connect();
    expect((await b.next()).error.message).toMatch(/closed to make room/);
    await b.closed;
    expect(await c.call(ping(2))).toMatchObject({ result: { pong: true } });
    expect(await a.call(ping(3))).toMatchObject({ result: { pong: true } });
    expect(server.connections).toBe(2);
    a.end();
    c.end();
  });

  it('idle connections go first, then the one whose request has been arriving longest', async () => {
    await start({}, { maxConnections: 2 });
    const slow = await Raw.connect();
    slow.send('{"jsonrpc":"2.0",');
    await sleep(10);
    const idle = await Raw.connect();
    const n1 = await Raw.connect();
    await idle.closed;
    n1.send('{"jsonrpc":');
    await sleep(10);
    // Both are now receiving a request; the older one goes.
    const n2 = await Raw.connect();
    expect((await slow.next()).error.message).toMatch(/closed to make room/);
    await slow.closed;
    n1.send('"2.0","id":1,"method":"ping"}\n');
    expect(await n1.next()).toMatchObject({ id: 1, result: { pong: true } });
    expect(await n2.call(ping(2))).toMatchObject({ result: { pong: true } });
    n1.end();
    n2.end();
  });

  it('a connection whose request is running is never closed for room: with every place so taken, the newcomer is refused', async () => {
    let gateOpen!: () => void;
    const gate = new Promise<void>((r) => (gateOpen = r));
    await start({ beforeCommit: () => gate }, { maxConnections: 2 });
    const a = await Raw.connect();
    const b = await Raw.connect();
    a.send(JSON.stringify(mountReq(1, 'basic-18.erofs', '/a')) + '\n');
    b.send(JSON.stringify(mountReq(2, 'basic-18.erofs', '/b')) + '\n');
    while (controller.pending < 2) await sleep(2);
    const c = await Raw.connect();
    expect((await c.next()).error.message).toMatch(/too many connections \(2\), each with a request running/);
    await c.closed;
    gateOpen();
    expect(await a.next()).toMatchObject({ id: 1, result: { target: '/a' } });
    expect(await b.next()).toMatchObject({ id: 2, result: { target: '/b' } });
    a.end();
    b.end();
  });

  it('a request not arriving whole within requestTimeoutMs is refused and the connection closed, however steadily it trickles', async () => {
    await start({}, { requestTimeoutMs: 400 });
    const c = await Raw.connect();
    const t0 = performance.now();
    const line = JSON.stringify(ping(1));
    let i = 0;
    const trickle = setInterval(() => c.send(line[i++ % line.length]), 20);
    const resp = await c.next();
    clearInterval(trickle);
    expect(resp.error).toMatchObject({ code: INVALID_REQUEST, message: 'request not received whole within 400 ms' });
    await c.closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    expect(server.connections).toBe(0);
    // A later line on a healthy connection has its own deadline, not the first line's.
    const d = await Raw.connect();
    d.send(line.slice(0, 10));
    await sleep(250);
    d.send(line.slice(10) + '\n' + line.slice(0, 10));
    expect(await d.next()).toMatchObject({ id: 1, result: { pong: true } });
    await sleep(250);
    d.send(line.slice(10) + '\n');
    expect(await d.next()).toMatchObject({ id: 1, result: { pong: true } });
    d.end();
  });

  it('a connection with nothing to do is closed after idleTimeoutMs; one that keeps asking is not', async () => {
    await start({}, { idleTimeoutMs: 300 });
    const idle = await Raw.connect();
    const busy = await Raw.connect();
    for (let i = 0; i < 8; i++) {
      expect(await busy.call(ping(i))).toMatchObject({ result: { pong: true } });
      await sleep(50);
    }
    expect((await idle.next()).error.message).toBe('idle for 300 ms: closed');
    await idle.closed;
    expect(server.connections).toBe(1);
    busy.end();
  });

  it('a client that stops reading is closed after idleTimeoutMs, or sooner when its place is needed', async () => {
    await start({}, { idleTimeoutMs: 600, maxPending: 64, maxConnections: 2 });
    // 64 batches of 16 pongs with long ids: more than the socket holds, so the server
    // waits for the client to read, which it never does.
    const batch = JSON.stringify(Array.from({ length: 16 }, (_, i) => ({ jsonrpc: '2.0', id: String(i).padEnd(256, '.'), method: 'ping' }))) + '\n';
    // A paused client sees no end of stream, so watch the server's side.
    const stuck = await Raw.connect();
    stuck.socket.pause();
    stuck.send(batch.repeat(64));
    const t0 = performance.now();
    while (server.connections > 0) await sleep(10);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(550);
    stuck.socket.destroy();
    // Two stuck clients fill the places; a newcomer takes the place of the first.
    const one = await Raw.connect();
    one.socket.pause();
    one.send(batch.repeat(64));
    await sleep(50);
    const two = await Raw.connect();
    two.socket.pause();
    two.send(batch.repeat(64));
    await sleep(50);
    const c = await Raw.connect();
    expect(await c.call(ping(1))).toMatchObject({ result: { pong: true } });
    one.socket.resume();
    await one.closed;
    expect(server.connections).toBe(2);
    c.end();
    two.socket.destroy();
  });

  it('100 idle clients and 100 trickling one byte a second do not keep the owner out', async () => {
    await start({}, { requestTimeoutMs: 1500, idleTimeoutMs: 2500 });
    const idle = await Promise.all(Array.from({ length: 100 }, () => Raw.connect()));
    const slow = await Promise.all(Array.from({ length: 100 }, () => Raw.connect()));
    const line = JSON.stringify(ping(1));
    let i = 0;
    const trickle = () => {
      for (const c of slow) if (!c.socket.destroyed) c.send(line[i % line.length]);
      i++;
    };
    trickle();
    const timer = setInterval(trickle, 1000);
    try {
      await sleep(1100);
      // The newest 32 hold every place, each with a request arriving within its deadline.
      const held = server.connections;
      const open = [...idle, ...slow].filter((c) => !c.socket.destroyed).length;
      const t0 = performance.now();
      const owner = await RpcClient.connect(server.socketPath);
      const pong = await owner.ping();
      const latency = performance.now() - t0;
      console.log(`200 hostile clients: the server held ${held} connections (maxConnections 32), ${open} hostile sockets open; the owner's connect + ping took ${latency.toFixed(1)} ms`);
      expect([held, open]).toEqual([32, 32]);
      expect(pong.pong).toBe(true);
      expect(latency).toBeLessThan(1000);
      await owner.close();
      // Then the deadlines clear the rest: every hostile client is closed.
      const t1 = performance.now();
      await Promise.all([...idle, ...slow].map((c) => c.closed));
      console.log(`every hostile client closed ${(performance.now() - t1).toFixed(0)} ms after the ping (requestTimeoutMs 1500, idleTimeoutMs 2500)`);
      expect(server.connections).toBe(0);
    } finally {
      clearInterval(timer);
    }
  }, 20_000);
});

describe('RPC server: tmpfs mounts', () => {
  const tmpfsReq = (id: number, target: string, options?: object) => ({ jsonrpc: '2.0', id, method: 'mount', params: options ? { type: 'tmpfs', target, options } : { type: 'tmpfs', target } });

  it('mounts a tmpfs a guest can write in, with its options in mountinfo', async () => {
    await start();
    const c = await Raw.connect();
    const r = await c.call(tmpfsReq(1, '/mnt', { size: '16m', nr_inodes: 1000, mode: '1770', uid: 1000, gid: 100, nosuid: true, nodev: true, source: 'scratch' }));
    expect(r).toMatchObject({ id: 1, result: { id: 2, target: '/mnt', fstype: 'tmpfs', source: 'scratch', options: 'rw,nosuid,nodev,relatime', superOptions: 'rw,size=16384k,nr_inodes=1000,mode=1770,uid=1000,gid=100,inode64' } });
    // Integers do as well as strings; mkdir makes the mount point on the synthetic root; readOnly.
    expect(await c.call(tmpfsReq(2, '/srv/ro', { size: 65536, mode: 0o755, mkdir: true, readOnly: true }))).toMatchObject({ result: { target: '/srv/ro', options: 'ro,relatime', superOptions: 'ro,size=64k,nr_inodes=16384,mode=755,inode64' } });
    // Without options: Linux's defaults bounded by ours (64 MiB, 16384 inodes, 1777).
    expect(await c.call(tmpfsReq(3, '/a'))).toMatchObject({ result: { superOptions: 'rw,size=65536k,nr_inodes=16384,mode=1777,inode64' } });
    // "type": "erofs" is the image mount, spelled out.
    expect(await c.call({ ...mountReq(4, 'basic-18.erofs', '/b'), params: { type: 'erofs', image: FIXTURES + 'basic-18.erofs', target: '/b' } })).toMatchObject({ result: { fstype: 'erofs' } });
    const t = controller.task({ creds: credentials(1000, 100) });
    const fd = t.open('/mnt/hello', 0o101 /* O_WRONLY | O_CREAT */, 0o644);
    expect(t.write(fd, new TextEncoder().encode('hi'))).toBe(2);
    expect(t.stat('/mnt/hello').size).toBe(2);
    t.exit();
    const client = await RpcClient.connect(server.socketPath);
    const rec = await client.mountTmpfs('/mnt/sub', { size: '1m', mkdir: true });
    expect(rec).toMatchObject({ fstype: 'tmpfs', target: '/mnt/sub', parentId: 2 });
    expect((await client.list()).mountinfo).toMatch(/ \/mnt\/sub rw,relatime - tmpfs tmpfs rw,size=1024k,/);
    expect(await client.unmount('/mnt/sub')).toMatchObject({ released: true });
    await client.close();
    c.end();
  });

  it('refuses bad option values with EINVAL naming the field, and mounts nothing', async () => {
    await start();
    const c = await Raw.connect();
    const cases: [object, RegExp][] = [
      [{ size: 0 }, /params\.options\.size must be bytes: an integer from 1 to 1099511627776, or digits/],
      [{ size: -5 }, /params\.options\.size must be bytes/],
      [{ size: 2 ** 41 }, /params\.options\.size must be bytes/],
      [{ size: 1.5 }, /params\.options\.size must be bytes/],
      [{ size: '16q' }, /params\.options\.size must be bytes: .*, not "16q"/],
      [{ size: '1e9' }, /params\.options\.size/],
      [{ size: '' }, /params\.options\.size/],
      [{ size: true }, /params\.options\.size must be bytes: .*, not boolean/],
      [{ nr_inodes: 0 }, /params\.options\.nr_inodes must be a count of inodes/],
      [{ nr_inodes: '3x' }, /params\.options\.nr_inodes/],
      [{ mode: '9777' }, /params\.options\.mode must be permission bits/],
      [{ mode: '017777' }, /params\.options\.mode must be permission bits/],
      [{ mode: 0o10000 }, /params\.options\.mode must be permission bits/],
      [{ mode: -1 }, /params\.options\.mode/],
      [{ uid: -1 }, /params\.options\.uid must be between 0 and 4294967294/],
      [{ uid: 2 ** 32 - 1 }, /params\.options\.uid must be between/],
      [{ gid: '100' }, /params\.options\.gid must be an integer, not string/],
      [{ readOnly: 'yes' }, /params\.options\.readOnly must be a boolean/],
      [{ source: 'x'.repeat(2000) }, /params\.options\.source is 2000 bytes long/],
      [{ dentryCacheSize: 10 }, /params\.options has an unknown field "dentryCacheSize"/],
      [{ devices: ['/x'] }, /params\.options has an unknown field "devices"/],
    ];
    let id = 0;
    for (const [options, message] of cases) {
      const r = await c.call(tmpfsReq(++id, '/mnt', options));
      expect(r, JSON.stringify(options)).toMatchObject({ id, error: { code: INVALID_PARAMS, message: expect.stringMatching(message), data: { errno: 'EINVAL', errnum: 22 } } });
    }
    // The envelope of a tmpfs mount: no image, a known type.
    for (const [params, message] of [
      [{ type: 'tmpfs', target: '/mnt', image: FIXTURES + 'basic-18.erofs' }, /params has an unknown field "image"/],
      [{ type: 'ext4', target: '/mnt' }, /params\.type must be "erofs" or "tmpfs"/],
      [{ type: 7, target: '/mnt' }, /params\.type must be "erofs" or "tmpfs"/],
      [{ type: 'tmpfs' }, /params\.target is required/],
      [{ type: 'tmpfs', target: 'mnt' }, /params\.target must be an absolute path/],
    ] as [object, RegExp][]) {
      const r = await c.call({ jsonrpc: '2.0', id: ++id, method: 'mount', params });
      expect(r, JSON.stringify(params)).toMatchObject({ error: { code: INVALID_PARAMS, message: expect.stringMatching(message), data: { errno: 'EINVAL' } } });
    }
    // Within the schema, too big once parsed: EINVAL from the operation, naming the field.
    for (const [options, message] of [
      [{ size: '2048g' }, /params\.options\.size: "2048g" is 2199023255552, outside 1\.\.1099511627776/],
      [{ size: '9999999999999999t' }, /params\.options\.size: .* outside/],
      [{ nr_inodes: '4g' }, /params\.options\.nr_inodes: "4g" is 4294967296, outside 1\.\.2147483647/],
    ] as [object, RegExp][]) {
      const r = await c.call(tmpfsReq(++id, '/mnt', options));
      expect(r, JSON.stringify(options)).toMatchObject({ error: { code: OPERATION_FAILED, message: expect.stringMatching(message), data: { errno: 'EINVAL', errnum: 22 } } });
    }
    // Where it cannot go: the errno of the operation.
    expect(await c.call(tmpfsReq(++id, '/nope'))).toMatchObject({ error: { code: OPERATION_FAILED, data: { errno: 'ENOENT' } } });
    expect(await c.call(tmpfsReq(++id, '/'))).toMatchObject({ error: { code: OPERATION_FAILED, data: { errno: 'EBUSY' } } });
    expect(controller.list()).toHaveLength(1);
    const client = await RpcClient.connect(server.socketPath);
    const e = await client.mountTmpfs('/mnt', { size: 'lots' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ errno: 'EINVAL', message: expect.stringMatching(/params\.options\.size/) });
    await client.close();
    c.end();
  });

  it('mounts only the types the host allows', async () => {
    await start({}, { mountTypes: ['erofs'] });
    const c = await Raw.connect();
    expect(await c.call(tmpfsReq(1, '/mnt'))).toMatchObject({ error: { code: OPERATION_FAILED, message: expect.stringMatching(/does not allow tmpfs mounts over RPC \(allowed: erofs\)/), data: { errno: 'EPERM' } } });
    expect(await c.call(mountReq(2, 'basic-18.erofs', '/mnt'))).toMatchObject({ result: { fstype: 'erofs' } });
    c.end();
    await server.close();
    server = await RpcServer.listen(controller, { socketPath: join(base, `d${n++}`, 'ctl.sock'), mountTypes: ['tmpfs'] });
    const d = await Raw.connect();
    expect(await d.call(mountReq(3, 'basic-18.erofs', '/a'))).toMatchObject({ error: { data: { errno: 'EPERM' } } });
    expect(await d.call(tmpfsReq(4, '/a'))).toMatchObject({ result: { fstype: 'tmpfs' } });
    d.end();
    await expect(RpcServer.listen(controller, { socketPath: join(base, `d${n++}`, 'ctl.sock'), mountTypes: ['ext4' as never] })).rejects.toThrow(/cannot mount "ext4"/);
  });
});
