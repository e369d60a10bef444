/**
 * Zstandard (RFC 8878) for EROFS pclusters: each pcluster holds one standard zstd frame,
 * right-aligned after zero padding that the caller strips.
 *
 * Engine choice, measured with tools/bench/codecs.ts (Node 20, 2-core machine, 4–128 KiB
 * frames of a text and a binary corpus from zstd -3, same run, same frames, best of 7
 * interleaved rounds, MiB/s of output):
 *
 *                                     4 KiB     16 KiB    64 KiB    128 KiB
 *   C loop on libzstd (native)        655       900–1000  1190–1310 1240–1385
 *   libzstd in wasm (zstddec)         240–280   355–390   440–470   440–490   (36–44 % of C)
 *   fzstd, pure TypeScript            83–84     116–117   133–146   139–140   (10–13 % of C)
 *
 * So the decoder is libzstd itself, compiled to WebAssembly by the zstddec package (the
 * three.js KTX2 loader's decoder; MIT/BSD; the wasm is inlined as base64, so it loads the
 * same way in Node, browsers and bundlers). Being the reference decoder it also makes the
 * reference checks: offsets beyond the window, FSE and Huffman table validity,
 * Frame_Content_Size against the output, the XXH64 checksum. WebAssembly compiles
 * asynchronously in general, so the fast codec comes from `await createZstd()`, once, when
 * an image is opened; from then on `decode` is synchronous.
 *
 * There is no pure-TypeScript fallback: the one on npm (fzstd) was 3.3x slower and, as
 * published, spent 197 s on an 18-byte hostile frame (a block's sequences were never held
 * to the block's size). Until `createZstd()` (or `loadCodecs()`) has resolved, the
 * synchronous `zstd` codec refuses with EOPNOTSUPP rather than guess.
 *
 * Both engines sit behind the same frame walk (`readZstdFrame`), which checks the frame
 * header and every block header in TypeScript before any byte is decoded: one frame, no
 * dictionary, no reserved bits, blocks within Block_Maximum_Size, nothing after the frame
 * unless partial. It also yields a bound on the frame's output, which sizes the buffers:
 * zstddec exposes only ZSTD_decompress (one whole frame per call), so a partial read
 * decodes the frame into a scratch buffer of at most `ZSTD_MAX_FRAME_OUTPUT` bytes and
 * copies the prefix, and the fallback stops as soon as the output is full.
 */
import { ZSTDDecoder } from 'zstddec';
import type { Codec } from './codec.js';
import { ErofsError, codecError } from '../errors.js';

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_SIZE_MAX = 128 * 1024;
/**
 * The most output a single pcluster's frame may describe when it has to be decoded whole
 * (partial reads). EROFS pclusters are at most 1 MiB and a decoded extent at most 12 MiB.
 */
export const ZSTD_MAX_FRAME_OUTPUT = 16 * 1024 * 1024;

/** What the frame header and the block headers say, before any block is decoded. */
export interface ZstdFrame {
  /** Bytes of input the frame occupies: header, blocks, checksum. */
  size: number;
  /** Frame_Content_Size, or -1 when the header does not record it. */
  contentSize: number;
  /** Window_Size (for a single-segment frame, the content size). */
  windowSize: number;
  /** Upper bound of the output: raw and RLE blocks exactly, compressed blocks at their maximum. */
  maxOutput: number;
  /** Whether a 4-byte XXH64 content checksum follows the last block. */
  checksum: boolean;
}

/**
 * Walks one zstd frame at the start of `input`: frame header, then the 3-byte header of
 * every block up to the last one, then the checksum. Does not decode block contents.
 * Throws ErofsError EUCLEAN for anything that is not a well-formed frame for EROFS.
 */
export function readZstdFrame(input: Uint8Array): ZstdFrame {
  const n = input.length;
  if (n < 6) throw codecError('zstd', 0, `${n} bytes cannot hold a frame header`);
  const magic = (input[0] | (input[1] << 8) | (input[2] << 16) | (input[3] << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) {
    const what = (magic & 0xfffffff0) >>> 0 === 0x184d2a50 ? 'a skippable frame' : `magic 0x${magic.toString(16)}`;
    throw codecError('zstd', 0, `${what} where a zstd frame (magic 0xfd2fb528) was expected`);
  }
  const fhd = input[4];
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const checksum = ((fhd >>> 2) & 1) === 1;
  const dictFlag = fhd & 3;
  if (fhd & 0x08) throw codecError('zstd', 4, 'reserved bit of the frame header descriptor is set');
  let p = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const wd = input[p++];
    const windowLog = 10 + (wd >>> 3);
    const base = 2 ** windowLog;
    windowSize = base + (base / 8) * (wd & 7);
  }
  const dictBytes = dictFlag === 3 ? 4 : dictFlag;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (p + dictBytes + fcsBytes > n) throw codecError('zstd', 4, 'frame header is truncated');
  let dictId = 0;
  for (let i = 0; i < dictBytes; i++) dictId += input[p + i] * 2 ** (8 * i);
  p += dictBytes;
  if (dictId !== 0) throw codecError('zstd', 5, `frame needs dictionary ${dictId}; EROFS frames use none`);
  let contentSize = -1;
  if (fcsBytes > 0) {
    contentSize = 0;
    for (let i = 0; i < fcsBytes; i++) contentSize += input[p + i] * 2 ** (8 * i);
    if (fcsBytes === 2) contentSize += 256;
    p += fcsBytes;
  }
  if (singleSegment) windowSize = contentSize;
  const blockMax = Math.min(windowSize, BLOCK_SIZE_MAX);
  let maxOutput = 0;
  for (;;) {
    if (p + 3 > n) throw codecError('zstd', p, 'frame is truncated where a block header was due');
    const bh = input[p] | (input[p + 1] << 8) | (input[p + 2] << 16);
    const last = bh & 1;
    const type = (bh >>> 1) & 3;
    const blockSize = bh >>> 3;
    if (type === 3) throw codecError('zstd', p, 'block type 3 is reserved');
    if (blockSize > blockMax) {
      throw codecError('zstd', p, `block of ${blockSize} bytes exceeds the frame's block maximum of ${blockMax}`);
    }
    p += 3;
    const stored = type === 1 ? 1 : blockSize;
    if (p + stored > n) throw codecError('zstd', p, `block needs ${stored} bytes, ${n - p} remain`);
    p += stored;
    maxOutput += type === 2 ? blockMax : blockSize;
    if (last) break;
  }
  if (checksum) {
    if (p + 4 > n) throw codecError('zstd', p, 'frame is truncated where its checksum was due');
    p += 4;
  }
  if (contentSize >= 0 && contentSize > maxOutput) {
    throw codecError('zstd', 5, `frame declares ${contentSize} bytes but its blocks hold at most ${maxOutput}`);
  }
  return { size: p, contentSize, windowSize, maxOutput, checksum };
}

/**
 * Checks the frame against the request and returns the frame's bytes and the capacity the
 * engine should decode into (exactly output.length when not partial).
 */
function plan(input: Uint8Array, want: number, partial: boolean): { frame: ZstdFrame; bytes: Uint8Array; cap: number } {
  const frame = readZstdFrame(input);
  if (!partial && frame.size !== input.length) {
    throw codecError('zstd', frame.size, `${input.length - frame.size} bytes follow the end of the frame`);
  }
  const known = frame.contentSize >= 0;
  let cap: number;
  if (partial) {
    const total = known ? frame.contentSize : frame.maxOutput;
    if (total < want) throw codecError('zstd', 0, `frame holds at most ${total} bytes, ${want} were asked for`);
    const limit = Math.max(want, ZSTD_MAX_FRAME_OUTPUT);
    if (known && total > limit) {
      throw codecError('zstd', 5, `frame declares ${total} bytes, more than the ${limit} a pcluster may hold`);
    }
    cap = Math.min(total, limit);
  } else {
    if (known && frame.contentSize !== want) {
      throw codecError('zstd', 5, `frame declares ${frame.contentSize} bytes, the extent needs ${want}`);
    }
    if (frame.maxOutput < want) {
      throw codecError('zstd', 0, `frame holds at most ${frame.maxOutput} bytes, the extent needs ${want}`);
    }
    cap = want;
  }
  return { frame, bytes: input.subarray(0, frame.size), cap };
}

/**
 * Decodes a whole frame (exactly its bytes) into at most `cap` bytes, copies the first
 * min(produced, output.length) of them into `output`, and returns how many it produced;
 * 0 means failure (or an empty frame).
 */
type WholeFrameDecoder = (frame: Uint8Array, cap: number, output: Uint8Array) => number;

function decodeWith(engine: WholeFrameDecoder, input: Uint8Array, output: Uint8Array, partial: boolean): void {
  const want = output.length;
  if (partial && want === 0) return;
  const { bytes, cap } = plan(input, want, partial);
  let n: number;
  try {
    // zstddec reads a capacity of 0 as "use the header's content size": never pass 0.
    n = engine(bytes, Math.max(cap, 1), output);
  } catch (e) {
    throw codecError('zstd', undefined, `decoder failed: ${(e as Error).message}`);
  }
  if (want === 0) {
    // Failure and an empty frame both come back empty; the walk has already checked the structure.
    if (n === 0) return;
  } else if (n === 0) {
    throw codecError('zstd', undefined, `libzstd rejected the frame: corrupt, or it holds more than ${cap} bytes`);
  }
  if (partial ? n < want : n !== want) {
    throw codecError('zstd', undefined, `frame ends after ${n} of ${want} output bytes`);
  }
}

/** The exports of zstddec's WebAssembly module that a direct call needs. */
interface ZstdExports {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  ZSTD_decompress(dst: number, dstCap: number, src: number, srcSize: number): number;
}

function isZstdExports(x: unknown): x is ZstdExports {
  const e = x as Partial<ZstdExports> | undefined;
  return !!e && typeof e.memory === 'object' && e.memory !== null && e.memory.buffer instanceof ArrayBuffer && typeof e.malloc === 'function' && typeof e.free === 'function' && typeof e.ZSTD_decompress === 'function';
}

/**
 * zstddec's decode() returns a fresh copy of every frame's output (heap.slice), which we
 * then copy again into the extent buffer: on a walk of a zstd image that was one
 * short-lived buffer per pcluster, and their backing stores, freed only when the GC came
 * round, raised the peak RSS. Calling the module's exports directly lets the output be
 * copied straight from the wasm memory. zstddec does not expose its instance, so it is
 * caught as init() creates it; if that does not work (another copy of zstddec compiled
 * the module first, or its internals changed), decode() is used as before.
 */
async function initCapturing(decoder: ZSTDDecoder): Promise<ZstdExports | undefined> {
  // The package's lib has no WebAssembly types (it targets any ES runtime): a structural view.
  const wa = (globalThis as unknown as { WebAssembly: { instantiate: (...a: unknown[]) => Promise<unknown> } }).WebAssembly;
  const original = wa.instantiate;
  let caught: unknown;
  wa.instantiate = function (this: unknown, ...args: unknown[]) {
    const p = original.apply(this, args);
    void p.then((r) => {
      caught ??= (r as { instance?: { exports: unknown } }).instance?.exports;
    }, () => undefined);
    return p;
  };
  try {
    await decoder.init();
  } finally {
    wa.instantiate = original;
  }
  return isZstdExports(caught) ? caught : undefined;
}

function directEngine(x: ZstdExports): WholeFrameDecoder {
  let heap = new Uint8Array(x.memory.buffer);
  return (frame, cap, output) => {
    const src = x.malloc(frame.length);
    const dst = x.malloc(cap);
    try {
      if (src === 0 || dst === 0) throw new Error(`out of WebAssembly memory for ${frame.length} + ${cap} bytes`);
      // malloc may have grown the memory, which detaches the old view.
      if (heap.buffer !== x.memory.buffer) heap = new Uint8Array(x.memory.buffer);
      heap.set(frame, src);
      // size_t on wasm32 comes back as an i32: an error code is negative (or, to be sure, above cap).
      const n = x.ZSTD_decompress(dst, cap, src, frame.length);
      if (n <= 0 || n > cap) return 0;
      if (heap.buffer !== x.memory.buffer) heap = new Uint8Array(x.memory.buffer);
      // Copied before free(): the allocator keeps its bookkeeping inside freed chunks.
      output.set(heap.subarray(dst, dst + Math.min(n, output.length)));
      return n;
    } finally {
      if (src !== 0) x.free(src);
      if (dst !== 0) x.free(dst);
    }
  };
}

/** The fallback: zstddec's decode(), one fresh array per frame. */
function copyingEngine(decoder: ZSTDDecoder): WholeFrameDecoder {
  return (frame, cap, output) => {
    const out = decoder.decode(frame, cap);
    output.set(out.length <= output.length ? out : out.subarray(0, output.length));
    return out.length;
  };
}

let wasmEngine: WholeFrameDecoder | undefined;
let wasmDirect = false;
let wasmReady: Promise<WholeFrameDecoder> | undefined;

function loadWasm(): Promise<WholeFrameDecoder> {
  wasmReady ??= (async () => {
    const decoder = new ZSTDDecoder();
    const exports = await initCapturing(decoder);
    const engine = exports ? directEngine(exports) : copyingEngine(decoder);
    wasmDirect = exports !== undefined;
    wasmEngine = engine;
    return engine;
  })();
  wasmReady.catch(() => {
    wasmReady = undefined;
  });
  return wasmReady;
}

/**
 * The fast zstd codec: libzstd compiled to WebAssembly. Compiling the module is the only
 * asynchronous step; await this once when an image is opened (for instance alongside
 * opening its source), then `decode` is synchronous. Later calls share the same module.
 */
export async function createZstd(): Promise<Codec> {
  const engine = await loadWasm();
  return {
    name: 'zstd',
    decode(input, output, partial) {
      decodeWith(engine, input, output, partial);
    },
  };
}

/** How the loaded engine is called: 'direct' (output copied out of the wasm memory) or 'copying' (zstddec's decode()). */
export function zstdEngineKind(): 'direct' | 'copying' | undefined {
  return wasmEngine === undefined ? undefined : wasmDirect ? 'direct' : 'copying';
}

/** Whether `createZstd()` has finished, so that `zstd` decodes with libzstd. */
export function zstdWasmReady(): boolean {
  return wasmEngine !== undefined;
}

/**
 * The zstd codec that is available synchronously: libzstd (wasm) once `createZstd()` has
 * resolved anywhere in the program; before that it refuses with EOPNOTSUPP.
 */
export const zstd: Codec = {
  name: 'zstd',
  decode(input, output, partial) {
    if (wasmEngine === undefined) {
      throw new ErofsError('EOPNOTSUPP', 'zstd', undefined, 'the Zstandard decoder is WebAssembly: await createZstd() or loadCodecs() once before reading');
    }
    decodeWith(wasmEngine, input, output, partial);
  },
};
