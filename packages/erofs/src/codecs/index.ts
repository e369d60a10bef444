import type { CompressionConfig } from '../compression.js';
import type { Codec } from './codec.js';
import { lz4 } from './lz4.js';

/** The built-in decompressors for an image's configuration, by algorithm id. */
export function defaultCodecs(_cfg: CompressionConfig): Partial<Record<number, Codec>> {
  return { 0: lz4 };
}

export type { Codec } from './codec.js';
export { lz4, lz4Decode } from './lz4.js';
