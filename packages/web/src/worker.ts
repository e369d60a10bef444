/**
 * The page's worker: everything that decodes the image runs here, so the page never
 * waits on the decoder (a 200 MB image, a whole-file read, a tool walking every
 * directory). A picked or dropped file is read in blocks with FileReaderSync as the
 * decoder asks for them (ChunkedSource); a URL is read with HTTP range requests
 * (openRangeSourceWeb), or fetched whole when the server does not answer ranges.
 *
 * `run` starts a toybox tool (fixtures/guests, served under guests/) under
 * @bjorn3/browser_wasi_shim with the image as its preopened "/" (ErofsPreopenDirectory
 * over a HostController's namespace), streaming what it writes.
 */
import { ConsoleStdout, File as WasiFile, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import { Image, MemorySource, loadCodecs, openRangeSourceWeb, type ByteSource } from '@erofs-js/erofs';
import { HostController } from '@erofs-js/mount';
import { ErofsPreopenDirectory, installPosixReadlink } from '@erofs-js/browser-wasi-shim';
import { ChunkedSource } from './chunked-source.js';
import { describeError, details, list, read, rootEntry, storage, summary } from './inspect.js';
import type { Call, ImageSource, Output, Reply } from './protocol.js';
import { ShellSyntaxError, splitWords } from './shell.js';

/** The tools the build copied to guests/ (set by the build with esbuild's define). */
declare const __TOOLS__: readonly string[];
const TOOLS: readonly string[] = typeof __TOOLS__ !== 'undefined' ? __TOOLS__ : [];

interface WorkerScope {
  postMessage(m: Reply | Output, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Call>) => void) | null;
  location: { href: string };
}
const scope = globalThis as unknown as WorkerScope;

let source: ByteSource | undefined;
let image: Image | undefined;
let sourceName = '';
let host: HostController | undefined;
const modules = new Map<string, Promise<WebAssembly.Module>>();

async function openSource(s: ImageSource): Promise<ByteSource> {
  if (s.kind === 'file') return ChunkedSource.fromBlob(s.file, { name: s.name });
  try {
    return await openRangeSourceWeb(s.url, { name: s.url });
  } catch (rangeError) {
    // A server without range requests (or a data: or blob: URL): the whole image in memory.
    let r: Response;
    try {
      r = await fetch(s.url);
    } catch {
      throw rangeError;
    }
    if (!r.ok) throw Object.assign(new Error(`${s.url}: HTTP ${r.status} ${r.statusText}`), { code: 'EIO' });
    return new MemorySource(new Uint8Array(await r.arrayBuffer()));
  }
}

async function open(s: ImageSource): Promise<unknown> {
  host?.close();
  host = undefined;
  source?.close?.();
  source = undefined;
  image = undefined;
  await loadCodecs();
  const src = await openSource(s);
  source = src;
  sourceName = s.kind === 'file' ? s.name : s.url;
  image = new Image(src);
  return { summary: summary(image, sourceName), root: rootEntry(image) };
}

function opened(): Image {
  if (!image) throw new Error('no image is open');
  return image;
}

function guestModule(tool: string): Promise<WebAssembly.Module> {
  let m = modules.get(tool);
  if (!m) {
    m = (async () => {
      const r = await fetch(new URL(`guests/${tool}.wasm`, scope.location.href));
      if (!r.ok) throw new Error(`guests/${tool}.wasm: HTTP ${r.status}`);
      return WebAssembly.compile(await r.arrayBuffer());
    })();
    m.catch(() => modules.delete(tool));
    modules.set(tool, m);
  }
  return m;
}

const encoder = new TextEncoder();

/** Runs one command line; its output goes to the page as Output messages; resolves to the exit status. */
async function run(id: number, line: string): Promise<number> {
  const send = (fd: 1 | 2, data: Uint8Array) => scope.postMessage({ id, fd, data }, [data.buffer as ArrayBuffer]);
  const say = (text: string) => send(2, encoder.encode(text));
  let words: string[];
  try {
    words = splitWords(line);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    say(`sh: ${e.message}\n`);
    return 2;
  }
  if (!words.length) return 0;
  const [tool, ...args] = words;
  if (tool === 'help') {
    send(1, encoder.encode(`Tools (toybox, as WASI programs): ${TOOLS.join(' ')}\nThe image is the root (/), read-only. One tool per line; quotes and \\ work, globs, pipes and redirections do not.\nclear empties the screen; Stop (or Ctrl-C) ends a running tool.\n`));
    return 0;
  }
  if (!TOOLS.includes(tool)) {
    say(`sh: ${tool}: command not found (try help)\n`);
    return 127;
  }
  const img = opened();
  host ??= await HostController.create({ rootfs: { source: img.source, name: sourceName } });
  const module = await guestModule(tool);
  // Output is sent in batches: at 16 KiB, or when 50 ms have passed since the last batch.
  const pending: Record<1 | 2, Uint8Array[]> = { 1: [], 2: [] };
  const pendingBytes: Record<1 | 2, number> = { 1: 0, 2: 0 };
  let last = Date.now();
  const flush = (fd: 1 | 2) => {
    if (!pendingBytes[fd]) return;
    const all = new Uint8Array(pendingBytes[fd]);
    let o = 0;
    for (const p of pending[fd]) {
      all.set(p, o);
      o += p.length;
    }
    pending[fd] = [];
    pendingBytes[fd] = 0;
    send(fd, all);
  };
  const writer = (fd: 1 | 2) => (b: Uint8Array) => {
    pending[fd].push(b.slice());
    pendingBytes[fd] += b.length;
    const now = Date.now();
    if (pendingBytes[fd] >= 16384 || now - last >= 50) {
      flush(1);
      flush(2);
      last = now;
    }
  };
  const preopen = ErofsPreopenDirectory.open(host.ns, '/', { path: '/' });
  const wasi = new WASI([tool, ...args], ['HOME=/', 'PATH=/bin:/usr/bin'], [new OpenFile(new WasiFile([])), new ConsoleStdout(writer(1)), new ConsoleStdout(writer(2)), preopen], { debug: false });
  installPosixReadlink(wasi);
  let code: number;
  try {
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    code = wasi.start(instance as unknown as { exports: { memory: WebAssembly.Memory; _start: () => unknown } });
  } catch (e) {
    flush(1);
    flush(2);
    say(`${tool}: stopped: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    code = 134;
  } finally {
    preopen.dispose();
  }
  flush(1);
  flush(2);
  return code;
}

async function handle(call: Call): Promise<unknown> {
  const r = call.req;
  switch (r.op) {
    case 'open':
      return open(r.source);
    case 'list':
      return list(opened(), r.nid);
    case 'details':
      return details(opened(), r.nid, encoder.encode(r.name));
    case 'read':
      return read(opened(), r.nid, r.offset, r.length);
    case 'storage':
      return storage(opened(), r.nid);
    case 'run':
      return run(call.id, r.line);
  }
}

// One call at a time, in order: a call waits for the one before it (an open's fetch, a
// tool's module) instead of running against a half-opened image.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const call = e.data;
  queue = queue.then(async () => {
    try {
      const value = await handle(call);
      scope.postMessage({ id: call.id, ok: true, value }, value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : []);
    } catch (err) {
      scope.postMessage({ id: call.id, ok: false, error: describeError(err) });
    }
  });
};
