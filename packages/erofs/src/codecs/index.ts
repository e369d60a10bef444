import type { CompressionConfig } from '../compression.js';
import type { Codec } from './codec.js';

/** The built-in decompressors for an image's configuration, by algorithm id. */
export function defaultCodecs(_cfg: CompressionConfig): Partial<Record<number, Codec>> {
  return {};
}

export type { Codec } from './codec.js';
