/**
 * LZ4 at native-class speed: liblz4's own block decoder (LZ4_decompress_safe and
 * LZ4_decompress_safe_partial, the two the kernel's EROFS uses) compiled to WebAssembly by
 * tools/lz4-wasm/build.sh. The module is 2.3 KiB, imports nothing, and is embedded in base64
 * (lz4-wasm-module.ts), so it compiles synchronously on first use, in Node, browsers and
 * bundlers alike (under the 4 KiB a browser's main thread may compile synchronously); where
 * the runtime has no WebAssembly or refuses to compile it, `lz4Best` is the TypeScript
 * decoder (lz4.ts).
 *
 * Measured with tools/bench/lz4.ts (Node 20, one run, same blocks): see the README's
 * "Codecs: choices and speed". The TypeScript decoder stays: it is the fallback, the test
 * oracle, and the judge of every block liblz4 refuses. A refusal is rare (a corrupt image,
 * or a block that breaks liblz4's end-of-block rules, which the kernel refuses too but
 * lz4.ts accepts as LZ4_decompress_safe_partial does), so the TypeScript decoder decodes it
 * again: it either accepts it, or throws its ErofsError with the input offset of the fault.
 * Either way the result, the accepted blocks and the errors are exactly lz4.ts's.
 *
 * Memory layout, owned by this file: [liblz4's stack and data | input | output], input at
 * __heap_base. The memory grows to the largest pcluster seen (at most 1 MiB in and 12 MiB
 * out) and never shrinks; there is no allocator and no allocation per call. Output is
 * copied out of the wasm memory into the caller's buffer: WebAssembly cannot write to a
 * JavaScript buffer outside its memory, and a copy (memcpy speed) costs a fraction of
 * the decode.
 */
import type { Codec } from './codec.js';
import { lz4, lz4Decode } from './lz4.js';
import { LZ4_WASM_BASE64 } from './lz4-wasm-module.js';

// The package's lib (ES2022, no DOM) has no WebAssembly types: the little used here, structurally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
interface Lz4Exports {
  memory: WasmMemory;
  __heap_base: { value: number };
  LZ4_decompress_safe(src: number, dst: number, srcSize: number, dstCapacity: number): number;
  LZ4_decompress_safe_partial(src: number, dst: number, srcSize: number, targetOutputSize: number, dstCapacity: number): number;
}

const PAGE = 65536;

class Lz4Wasm {
  private heap: Uint8Array;
  private readonly base: number;

  constructor(private readonly x: Lz4Exports) {
    this.base = (x.__heap_base.value + 15) & ~15;
    this.heap = new Uint8Array(x.memory.buffer);
  }

  /** Decodes as lz4Decode does; returns false where liblz4 refused (the caller asks lz4.ts). */
  decode(input: Uint8Array, output: Uint8Array, partial: boolean): boolean {
    const inLen = input.length;
    const outLen = output.length;
    const src = this.base;
    const dst = (src + inLen + 15) & ~15;
    const end = dst + outLen;
    if (end > this.heap.length) {
      this.x.memory.grow(Math.ceil((end - this.heap.length) / PAGE));
      this.heap = new Uint8Array(this.x.memory.buffer);
    }
    const heap = this.heap;
    heap.set(input, src);
    const n = partial
      ? this.x.LZ4_decompress_safe_partial(src, dst, inLen, outLen, outLen)
      : this.x.LZ4_decompress_safe(src, dst, inLen, outLen);
    if (n !== outLen) return false;
    output.set(heap.subarray(dst, end));
    return true;
  }
}

function base64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The compiled module, null where it cannot run, undefined until first asked. */
let engine: Lz4Wasm | null | undefined;
let failure = '';
/** Blocks liblz4 decoded, and blocks it refused (handed to lz4.ts), since the module loaded. */
const counts = { decoded: 0, refused: 0 };

function load(): Lz4Wasm | null {
  if (engine !== undefined) return engine;
  try {
    const wa = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (!wa) throw new Error('no WebAssembly in this runtime');
    const module = new wa.Module(base64(LZ4_WASM_BASE64));
    const instance = new wa.Instance(module, {});
    engine = new Lz4Wasm(instance.exports as unknown as Lz4Exports);
  } catch (e) {
    // No WebAssembly, no bulk-memory instructions, or synchronous compilation refused: the
    // TypeScript decoder does the work.
    failure = (e as Error)?.message ?? String(e);
    engine = null;
  }
  return engine;
}

/** Whether liblz4 (wasm) decodes: compiles the module on first call. */
export function lz4WasmAvailable(): boolean {
  return load() !== null;
}

/** How many blocks liblz4 decoded and how many it refused (then judged by lz4.ts). */
export function lz4WasmCounts(): { decoded: number; refused: number } {
  return { ...counts };
}

/** Why the wasm decoder is unavailable ('' when it is available or not yet tried). */
export function lz4WasmFailure(): string {
  return failure;
}

/**
 * One LZ4 block through liblz4 (wasm), with lz4Decode's contract and results; lz4Decode
 * itself where the module cannot run or liblz4 refuses the block. Returns nothing (unlike
 * lz4Decode, it does not report the input consumed by a partial decode).
 */
export function lz4DecodeWasm(input: Uint8Array, output: Uint8Array, partial: boolean): void {
  const e = engine === undefined ? load() : engine;
  if (e !== null && output.length > 0 && !overlaps(input, output)) {
    if (e.decode(input, output, partial)) {
      counts.decoded++;
      return;
    }
    counts.refused++;
  }
  lz4Decode(input, output, partial);
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/** LZ4 through liblz4 in WebAssembly, with the TypeScript decoder behind it (see above). */
export const lz4Wasm: Codec = {
  name: 'lz4',
  decode(input: Uint8Array, output: Uint8Array, partial: boolean): void {
    lz4DecodeWasm(input, output, partial);
  },
};

/** The fastest LZ4 codec this runtime has: liblz4 in wasm, else the TypeScript decoder. */
export function lz4Best(): Codec {
  return lz4WasmAvailable() ? lz4Wasm : lz4;
}
