/**
 * Runs one of the C guests in fixtures/guests/ (toybox tools compiled to wasm32-wasi, see
 * fixtures/guests/README.md) under three WASI runtimes, with one directory preopened as
 * `/t`, and returns what the program wrote to fd 1 and fd 2 as raw bytes:
 *
 *  - `@tybys/wasm-util`'s WASI with `fs` = our @erofs-js/node-fs facade over an image;
 *  - `@bjorn3/browser_wasi_shim`'s WASI with an ErofsPreopenDirectory over a namespace path;
 *  - Node's own `node:wasi` (uvwasi) over a real host directory: the reference.
 *
 * The three runtimes print stdout differently (@tybys/wasm-util splits lines and decodes
 * UTF-8, dropping an unterminated last line; the shim wants an Fd; node:wasi wants a host fd),
 * so the same small `fd_write` replacement captures fds 1 and 2 for all of them and only
 * file-system calls reach the runtime under test.
 */
import { readFileSync } from 'node:fs';
import { WASI as NodeWasi } from 'node:wasi';
import { WASI as TybysWasi } from '@tybys/wasm-util';
import { File, OpenFile, WASI as ShimWasi } from '@bjorn3/browser_wasi_shim';
import type { ErofsPreopenDirectory } from '@erofs-js/browser-wasi-shim';
import { FIXTURES } from './fixtures.js';

export const MNT = '/t';

export interface GuestRun {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled guest `name` (fixtures/guests/NAME.wasm), compiled once per process. */
export function guestModule(name: string): WebAssembly.Module {
  let m = modules.get(name);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(`${FIXTURES}guests/${name}.wasm`));
    modules.set(name, m);
  }
  return m;
}

type Imports = Record<string, (...a: never[]) => unknown>;

/**
 * Instantiates `name` with `wasiImport`, fd_write on fds 1 and 2 replaced by a capture
 * (WASI preview1 ABI: an array of {u32 buf, u32 len} at `iovs`, total written at `out`).
 */
function instantiate(name: string, wasiImport: Imports, out: { stdout: Buffer[]; stderr: Buffer[] }): WebAssembly.Instance {
  let memory: WebAssembly.Memory | undefined;
  const original = wasiImport.fd_write as unknown as (fd: number, iovs: number, n: number, written: number) => number;
  const fd_write = (fd: number, iovs: number, n: number, written: number): number => {
    if (fd !== 1 && fd !== 2) return original(fd, iovs, n, written);
    const view = new DataView(memory!.buffer);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const ptr = view.getUint32(iovs + i * 8, true);
      const len = view.getUint32(iovs + i * 8 + 4, true);
      (fd === 1 ? out.stdout : out.stderr).push(Buffer.from(new Uint8Array(memory!.buffer, ptr, len)));
      total += len;
    }
    view.setUint32(written, total, true);
    return 0;
  };
  const instance = new WebAssembly.Instance(guestModule(name), { wasi_snapshot_preview1: { ...wasiImport, fd_write } });
  memory = instance.exports.memory as WebAssembly.Memory;
  return instance;
}

function result(code: number, out: { stdout: Buffer[]; stderr: Buffer[] }): GuestRun {
  return { code, stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr) };
}

/** `name args...` under node:wasi with host directory `dir` preopened as `mnt` (default /t). */
export function runNodeWasi(name: string, args: string[], dir: string, mnt = MNT): GuestRun {
  const wasi = new NodeWasi({ version: 'preview1', args: [name, ...args], env: {}, preopens: { [mnt]: dir }, returnOnExit: true });
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const imports = wasi.getImportObject() as { wasi_snapshot_preview1: Imports };
  const instance = instantiate(name, imports.wasi_snapshot_preview1, out);
  return result(wasi.start(instance), out);
}

/** `name args...` under @tybys/wasm-util's WASI with `fs` (a Node-fs-shaped object) and `root` preopened as `mnt` (default /t). */
export function runTybys(name: string, args: string[], fs: object, root = '/', mnt = MNT): GuestRun {
  const wasi = new TybysWasi({ version: 'preview1', args: [name, ...args], env: {}, fs: fs as never, preopens: { [mnt]: root }, returnOnExit: true });
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const instance = instantiate(name, wasi.wasiImport as unknown as Imports, out);
  return result(wasi.start(instance) as number, out);
}

/**
 * `name args...` under browser_wasi_shim's WASI with `preopen` as fd 3 (named /t by its
 * opener); `setup` may replace imports (installSymlink, installPosixReadlink) first.
 */
export function runShim(name: string, args: string[], preopen: ErofsPreopenDirectory, setup?: (w: ShimWasi) => void): GuestRun {
  // fds 1 and 2 are captured before the shim sees them; they only need to exist.
  const std = () => new OpenFile(new File([]));
  const wasi = new ShimWasi([name, ...args], [], [std(), std(), std(), preopen], { debug: false });
  setup?.(wasi);
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const instance = instantiate(name, wasi.wasiImport as unknown as Imports, out);
  return result(wasi.start(instance as never), out);
}
