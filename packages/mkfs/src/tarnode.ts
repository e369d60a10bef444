/**
 * Node only: tar archives (files, stdin, .tar.gz) to image files.
 *
 *   buildImageFileFromTar(src, dest)   what `erofs mkfs --tar SRC IMAGE` does
 *   TarFileStore                       an uncompressed tar on disk is its own store: file
 *                                      data is read back from the archive by offset, no copy
 *   SpoolStore                         otherwise file data is spooled to an unlinked
 *                                      temporary file (gzip input, pipes)
 *   nodeGunzip                         gzip through node:zlib
 *   { index: true }                    an index-only image (mkfs.erofs --tar=i): the tar file
 *                                      becomes extra device 1, nothing is copied
 *
 * Memory holds the tree and a megabyte or so of data in flight, whatever the archive's size.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildImageTo, type BuildOptions } from './builder.js';
import { tarSource, type DataStore, type Gunzip, type TarOptions, type TarSource } from './fromtar.js';
import { BuildError } from './table.js';
import { writeImageFile } from './fromdir.js';

/** gzip through node:zlib (multi-member streams included). */
export const nodeGunzip: Gunzip = (compressed) => {
  const gz = createGunzip();
  const input = Readable.from(compressed, { objectMode: false });
  input.on('error', (e) => gz.destroy(e));
  input.pipe(gz);
  return (async function* () {
    try {
      for await (const chunk of gz) yield new Uint8Array((chunk as Buffer).buffer, (chunk as Buffer).byteOffset, (chunk as Buffer).length);
    } catch (e) {
      throw new BuildError(`gzip: ${(e as Error).message}`);
    }
  })();
};

function readFully(fd: number, dest: Uint8Array, position: number, what: string): void {
  for (let done = 0; done < dest.length; ) {
    const n = readSync(fd, dest, done, dest.length - done, position + done);
    if (n === 0) throw new BuildError(`${what}: ended before byte ${position + dest.length} (changed during the build?)`);
    done += n;
  }
}

/** File data read back from the uncompressed tar file itself: locators are archive offsets. */
export class TarFileStore implements DataStore {
  private fd: number;
  constructor(private readonly path: string) {
    this.fd = openSync(path, 'r');
  }
  append(_bytes: Uint8Array, offset: number): number {
    return offset;
  }
  read(locator: number, dest: Uint8Array): void {
    readFully(this.fd, dest, locator, this.path);
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** File data spooled to a temporary file in `dir`, unlinked as soon as it is open (nothing is left behind). */
export class SpoolStore implements DataStore {
  private fd: number;
  private size = 0;
  constructor(dir = tmpdir()) {
    const path = join(dir, `.erofs-spool.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`);
    this.fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
  }
  append(bytes: Uint8Array): number {
    const at = this.size;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, at + done);
    this.size += bytes.length;
    return at;
  }
  read(locator: number, dest: Uint8Array): void {
    readFully(this.fd, dest, locator, 'spool file');
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Is the file at `path` a regular file starting with the gzip magic? (reads 2 bytes) */
function sniff(path: string): { regular: boolean; gzip: boolean } {
  const fd = openSync(path, 'r');
  try {
    const regular = fstatSync(fd).isFile();
    if (!regular) return { regular, gzip: false };
    const b = new Uint8Array(2);
    const n = readSync(fd, b, 0, 2, 0);
    return { regular, gzip: n === 2 && b[0] === 0x1f && b[1] === 0x8b };
  } finally {
    closeSync(fd);
  }
}

async function* fileChunks(path: string | number): AsyncGenerator<Uint8Array> {
  const s = typeof path === 'number' ? createReadStream('', { fd: path, autoClose: false, highWaterMark: 1 << 20 }) : createReadStream(path, { highWaterMark: 1 << 20 });
  for await (const chunk of s) yield new Uint8Array((chunk as Buffer).buffer, (chunk as Buffer).byteOffset, (chunk as Buffer).length);
}

export interface TarFileOptions extends TarOptions {
  /** Where the spool file goes when one is needed (default: the directory of the image). */
  spoolDir?: string;
}

/**
 * Reads the tar at `src` ("-": standard input; gzip-compressed or not) as a build source.
 * An uncompressed regular file needs no spool; anything else is spooled to a temporary file.
 */
export async function tarFileSource(src: string, options: TarFileOptions = {}): Promise<TarSource> {
  const stdin = src === '-';
  const kind = stdin ? { regular: false, gzip: false } : sniff(src);
  if (options.index) {
    // The archive itself is the image's data device: it must be a file, uncompressed.
    if (!kind.regular || kind.gzip) throw new BuildError(`${src}: an index-only image needs an uncompressed tar file (its data device)${kind.gzip ? '; gunzip it first' : ''}`);
    const s = await tarSource(fileChunks(src), options);
    s.devices = [{ size: statSync(src).size, tag: options.deviceTag }];
    return s;
  }
  const store = options.store ?? (kind.regular && !kind.gzip ? new TarFileStore(src) : new SpoolStore(options.spoolDir));
  return tarSource(fileChunks(stdin ? 0 : src), { gunzip: nodeGunzip, ...options, store });
}

/**
 * An image of the tar at `src` written to `dest` (through a temporary file renamed when
 * complete: a malformed archive or any other failure leaves no `dest` and no temporary
 * file). Returns the image size.
 */
export async function buildImageFileFromTar(src: string, dest: string, options: BuildOptions & TarFileOptions = {}): Promise<number> {
  const spoolDir = options.spoolDir ?? dirname(dest);
  const source = await tarFileSource(src, { ...options, spoolDir });
  // Index-only: 512-byte blocks, so that every tar data offset is a block address (as mkfs.erofs).
  const opts = options.index && options.blockSize === undefined ? { ...options, blockSize: 512 } : options;
  try {
    return writeImageFile(dest, (sink) => buildImageTo(source, sink, opts));
  } finally {
    source.close();
  }
}
