/**
 * What the host hands the controller to mount an image, and what opening it gives: plain
 * types, in a module of their own so that checkpoint.ts (which records and reopens images)
 * and controller.ts (which opens and mounts them) both use them without importing each
 * other.
 */
import type { ByteSource, Codec, RemoteIdentity } from '@erofs-js/erofs';
import type { MountFlags } from './namespace.js';

/** An image behind a URL: http(s)://... or s3://bucket/key. */
export interface RemoteImageRef {
  url: string;
  /** Sent with every request (e.g. Authorization); never recorded. */
  headers?: Record<string, string>;
  /** The name recorded and shown (default: the URL without query or credentials). */
  name?: string;
}

export function isRemoteRef(ref: unknown): ref is RemoteImageRef {
  return typeof ref === 'object' && ref !== null && typeof (ref as { url?: unknown }).url === 'string';
}

/**
 * Where an image comes from: a host path (relative ones against the host process's cwd),
 * an open descriptor (ownership passes), bytes, a source, or a URL. Paths, descriptors
 * and s3:// URLs need the Node host (@erofs-js/mount/node).
 */
export type ImageRef = string | { path: string } | { fd: number; name?: string } | { bytes: Uint8Array; name?: string } | { source: ByteSource; name?: string } | RemoteImageRef;

export interface HostMountOptions extends MountFlags {
  /** Most unreferenced dentries kept per mount (default 1000). */
  dentryCacheSize?: number;
  /** Most remembered lookup misses (default 1000). */
  negativeCacheSize?: number;
  /** Most directory entries kept decoded (default 16384). */
  dirCacheEntries?: number;
  /** Byte budget of the decoded-extent cache of compressed files (default 8 MiB). */
  extentCacheBytes?: number;
  /** Byte budget of the page cache memory mappings materialise pages in (default 8 MiB). */
  pageCacheBytes?: number;
  /**
   * Decompressors by algorithm id, over the opener's and the image's defaults. Under the
   * Node host DEFLATE (id 2) is Node's native zlib unless given here (createNodeDeflate):
   * a walk + read of a DEFLATE image ran twice as fast as with the portable decoder
   * (bench-results, workload 1).
   */
  codecs?: Partial<Record<number, Codec>>;
  /** Create the target (and missing parents) on the synthetic root when absent. */
  mkdir?: boolean;
  /** The source shown in mountinfo (default: the image path). */
  source?: string;
  /** Extra devices of a multi-device image (blob / tar files), in device-table order. */
  devices?: ImageRef[];
}


/** @internal One opened source and the name it was opened under. */
export interface Opened {
  source: ByteSource;
  name: string;
  /**
   * An image behind a URL: the object's identity pinned at open (size, ETag or
   * Last-Modified). Checkpoints record it, and restore refuses an object that changed.
   */
  remote?: RemoteIdentity;
}

/** @internal An image and its extra devices, opened but not yet validated. */
export interface OpenedImage {
  main: Opened;
  devices: Opened[];
  close(): void;
}
