import type { CompressionConfig } from '../compression.js';
import type { Codec } from './codec.js';
import { deflate } from './deflate.js';
import { lz4Best } from './lz4-wasm.js';
import { createLzma } from './lzma.js';
import { createZstd, zstd } from './zstd.js';

/**
 * The built-in decompressors for an image's configuration, by algorithm id. All run in
 * browsers; on Node, `createNodeDeflate()` from "@erofs-js/erofs/node" is faster for DEFLATE.
 * Zstandard is WebAssembly: `await loadCodecs()` once before opening images. LZ4 is liblz4
 * in WebAssembly too, compiled synchronously here on first use (2.3 KiB), or the TypeScript
 * decoder where that cannot run.
 */
export function defaultCodecs(cfg: CompressionConfig): Partial<Record<number, Codec>> {
  const codecs: Partial<Record<number, Codec>> = { 0: lz4Best(), 2: deflate, 3: zstd };
  // Without a config record (never written by mkfs for LZMA) the kernel's default applies.
  if (cfg.availableAlgs & 2) codecs[1] = createLzma(cfg.lzmaDictSize || 8 << 20);
  return codecs;
}

/** The one asynchronous step: compiles the WebAssembly Zstandard decoder. Idempotent. */
export async function loadCodecs(): Promise<void> {
  await createZstd();
}

export type { Codec } from './codec.js';
export { lz4, lz4Decode } from './lz4.js';
export { lz4Wasm, lz4Best, lz4DecodeWasm, lz4WasmAvailable, lz4WasmFailure, lz4WasmCounts } from './lz4-wasm.js';
export { createLzma, microLzmaDecode } from './lzma.js';
export { deflate, inflateRawInto } from './deflate.js';
export { zstd, createZstd, zstdWasmReady, readZstdFrame, ZSTD_MAX_FRAME_OUTPUT, type ZstdFrame } from './zstd.js';
