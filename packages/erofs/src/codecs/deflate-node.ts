/**
 * Raw DEFLATE through Node's native zlib (`inflateRawSync`). Node-only: exported from the
 * package's "./node" entry, never from the browser-safe index.
 *
 * node:zlib has no "inflate into this buffer" call, so each decode inflates into a fresh
 * Buffer bounded by `maxOutputLength` and copies it into `output`:
 * - not partial: the bound is exactly output.length, so a stream that holds more throws
 *   before producing it; Z_FINISH makes a stream without its end an error; `info.engine`
 *   tells how much input the stream used, so bytes after its end are caught too.
 * - partial: zlib cannot be told to stop at output.length without throwing away what it
 *   made, so it may inflate up to `partialSlack` bytes past the prefix, with Z_SYNC_FLUSH
 *   so that what follows the prefix need not be complete. A stream that would exceed that,
 *   or fails anywhere, is handed to the pure-TypeScript decoder, which stops exactly at
 *   output.length and gives the authoritative verdict.
 */
import { constants, inflateRawSync } from 'node:zlib';
import type { Codec } from './codec.js';
import { deflate } from './deflate.js';
import { codecError } from '../errors.js';

export interface NodeDeflateOptions {
  /** Partial decoding: how far past the asked prefix zlib may inflate before the pure decoder takes over (default 256 KiB). */
  partialSlack?: number;
}

interface InflateResult {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

function nodeMessage(e: unknown, want: number): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ERR_BUFFER_TOO_LARGE') return `stream holds more than ${want} output bytes`;
  if (err?.code === 'Z_BUF_ERROR') return `stream is truncated before ${want} output bytes and its end`;
  return err?.message ?? String(e);
}

/** Raw DEFLATE on Node's native zlib; same contract and errors as `deflate`. */
export function createNodeDeflate(options: NodeDeflateOptions = {}): Codec {
  const slack = options.partialSlack ?? 256 * 1024;
  return {
    name: 'deflate',
    decode(input, output, partial) {
      const want = output.length;
      if (partial && want === 0) return;
      // maxOutputLength must be at least 1, and zlib reports an empty input as truncated
      // either way: leave these corner cases to the pure decoder.
      if (want === 0 || input.length === 0) {
        deflate.decode(input, output, partial);
        return;
      }
      if (!partial) {
        let r: InflateResult;
        try {
          r = inflateRawSync(input, { maxOutputLength: want, info: true }) as unknown as InflateResult;
        } catch (e) {
          throw codecError('deflate', undefined, nodeMessage(e, want));
        }
        if (r.buffer.length !== want) {
          throw codecError('deflate', undefined, `stream ends after ${r.buffer.length} of ${want} output bytes`);
        }
        const used = r.engine.bytesWritten;
        if (used !== input.length) {
          throw codecError('deflate', used, `${input.length - used} bytes follow the end of the stream`);
        }
        output.set(r.buffer);
        return;
      }
      let buf: Buffer | undefined;
      try {
        buf = inflateRawSync(input, { maxOutputLength: want + slack, finishFlush: constants.Z_SYNC_FLUSH });
      } catch {
        buf = undefined;
      }
      if (buf === undefined || buf.length < want) {
        deflate.decode(input, output, true);
        return;
      }
      output.set(buf.subarray(0, want));
    },
  };
}
