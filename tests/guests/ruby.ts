/**
 * CRuby built for WASI by the ruby.wasm project (@ruby/3.4-wasm-wasi), as a real guest for
 * the adapters' tests. ruby+stdlib.wasm is a WASI "reactor" (it exports _initialize, not
 * _start) and carries its standard library inside itself (wasi-vfs), so the only directory a
 * runtime has to give it is the one under test. @ruby/wasm-wasi's RubyVM drives it: it takes
 * any WASI preview1 implementation shaped like { wasiImport, initialize(instance) } —
 * @tybys/wasm-util's WASI and @bjorn3/browser_wasi_shim's WASI both are.
 *
 * The module is ~30 MB; compile it once per test file with loadRubyModule().
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RubyVM } from '@ruby/wasm-wasi';

const require = createRequire(import.meta.url);

/** The WASI side ruby.wasm needs: the import object and a way to bind the instance's memory. */
export interface Wasip1 {
  wasiImport: WebAssembly.ModuleImports | Record<string, unknown>;
  initialize(instance: WebAssembly.Instance): void;
}

/** Path of ruby+stdlib.wasm in node_modules. */
export function rubyWasmPath(): string {
  return require.resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm');
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** Compiles ruby+stdlib.wasm once per process (per vitest worker). */
export function loadRubyModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(rubyWasmPath()));
  return compiled;
}

/** The Ruby walker script (tests/guests/walk.rb). */
export const WALK_RB = readFileSync(fileURLToPath(new URL('./walk.rb', import.meta.url)), 'utf8');

/**
 * The walker with its parameters: the directory to walk (a path as the guest sees it) and
 * paths relative to it whose contents are left out (directories the runtime under test
 * cannot list, with the reason in the caller).
 */
export function walkScript(root: string, skip: readonly string[] = []): string {
  return `WALK_ROOT = ${JSON.stringify(root)}\nWALK_SKIP = ${JSON.stringify(skip)}\n${WALK_RB}`;
}

/**
 * Instantiates a fresh Ruby VM over `wasi` and evaluates `script`; returns the value of the
 * script's last expression as a string. A Ruby exception comes back as a thrown Error
 * carrying Ruby's message. One VM per call: a guest that failed leaves nothing behind.
 */
export async function runRuby(module: WebAssembly.Module, wasi: Wasip1, script: string): Promise<string> {
  const { vm } = await RubyVM.instantiateModule({
    module,
    wasip1: wasi as Parameters<typeof RubyVM.instantiateModule>[0]['wasip1'],
    args: ['ruby.wasm', '-EUTF-8', '-e_=0'],
  });
  return vm.eval(script).toString();
}
