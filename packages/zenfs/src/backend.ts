/**
 * The `Erofs` backend for ZenFS's configure():
 *
 *   await configure({ mounts: { '/': { backend: Erofs, data: bytes } } });
 *
 * The image comes as bytes (`data`: Uint8Array, ArrayBuffer or SharedArrayBuffer), as a
 * file (`path`, Node only: read block by block through a bounded cache, never whole), or
 * as an Image the caller opened. Creation is the one asynchronous step: it loads the
 * Zstandard decoder (WebAssembly) and, for `path`, the Node file source; everything after
 * it is synchronous.
 */
import type { Backend } from '@zenfs/core';
import { Image, MemorySource, loadCodecs, type ByteSource, type ImageOptions } from '@erofs-js/erofs';
import type { Credentials, FilesystemOptions } from '@erofs-js/vfs';
import { zen } from './errors.js';
import { ErofsFS } from './filesystem.js';

export interface ErofsOptions {
  /** The image bytes. */
  data?: Uint8Array | ArrayBuffer | SharedArrayBuffer;
  /** The image file (Node only). */
  path?: string;
  /** An image opened by the caller (its source stays the caller's to close). */
  image?: Image;
  /** Extra devices of a multi-device image (`--blobdev`, `--tar=i`), in device-table order: bytes or file paths. */
  devices?: (Uint8Array | ArrayBuffer | SharedArrayBuffer | string)[];
  /** Decoder options: decoded-extent cache size, codecs, checksum verification. */
  imageOptions?: Omit<ImageOptions, 'devices'>;
  /** Our VFS's cache sizes (dentries, negative lookups, directory entries, pages). */
  vfs?: Omit<FilesystemOptions, 'dev'>;
  /** Credentials for our VFS's own checks (default root: ZenFS checks access itself). */
  credentials?: Credentials;
}

const isBytes = (v: unknown): boolean =>
  v instanceof Uint8Array || v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer);

function memory(v: Uint8Array | ArrayBuffer | SharedArrayBuffer): MemorySource {
  return new MemorySource(v instanceof Uint8Array ? v : new Uint8Array(v));
}

async function openSources(options: ErofsOptions): Promise<{ image: Image; close: () => void }> {
  const opened: ByteSource[] = [];
  const close = () => {
    for (const s of opened) s.close?.();
  };
  try {
    let fileSource: ((path: string) => ByteSource) | undefined;
    const open = async (v: Uint8Array | ArrayBuffer | SharedArrayBuffer | string): Promise<ByteSource> => {
      if (typeof v !== 'string') return memory(v);
      if (!fileSource) {
        // Imported only when a path is given; browser bundles get an empty module instead
        // (package.json "browser"), so they never see node:fs.
        const { FileSource } = (await import('@erofs-js/erofs/node')) as Partial<typeof import('@erofs-js/erofs/node')>;
        if (!FileSource) throw new TypeError('Erofs backend: a path is opened only on Node; give data (the image bytes) instead');
        fileSource = (p) => new FileSource(p);
      }
      const s = zen(() => fileSource!(v));
      opened.push(s);
      return s;
    };
    const given = [options.data, options.path, options.image].filter((v) => v !== undefined).length;
    if (given !== 1) throw new TypeError('Erofs backend: give exactly one of data, path or image');
    if (options.image) return { image: options.image, close };
    const main = await open((options.data ?? options.path)!);
    const devices: ByteSource[] = [];
    for (const d of options.devices ?? []) devices.push(await open(d));
    const image = zen(() => new Image(main, { ...options.imageOptions, devices }));
    return { image, close };
  } catch (e) {
    close();
    throw e;
  }
}

export const Erofs = {
  name: 'Erofs',
  options: {
    data: { type: isBytes, required: false },
    path: { type: 'string', required: false },
    image: { type: (v: unknown) => v instanceof Image, required: false },
    devices: { type: (v: unknown) => Array.isArray(v) && v.every((d) => typeof d === 'string' || isBytes(d)), required: false },
    imageOptions: { type: 'object', required: false },
    vfs: { type: 'object', required: false },
    credentials: { type: 'object', required: false },
  },
  isAvailable(): boolean {
    return true;
  },
  async create(options: ErofsOptions): Promise<ErofsFS> {
    await loadCodecs();
    const { image, close } = await openSources(options);
    try {
      return new ErofsFS(image, { ...options.vfs, credentials: options.credentials, onClose: close });
    } catch (e) {
      close();
      throw e;
    }
  },
} as const satisfies Backend<ErofsFS, ErofsOptions>;

type _Erofs = typeof Erofs;
/** The backend's type, for `configure<{ '/': Erofs }>` and BackendConfiguration. */
export interface Erofs extends _Erofs {}
