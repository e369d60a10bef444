/**
 * The Node host's side of mounting: opening what an ImageRef names on this machine (host
 * paths, descriptors, http(s) and s3:// URLs) and the HostController that does so by
 * default, with Node's native DEFLATE. The controller logic itself is portable
 * (../controller.ts); this module only supplies its opener.
 *
 * Paths: a relative path is resolved against this process's cwd, once, here; the mount is
 * named (mountinfo, checkpoints) by the absolute path. The file is opened O_RDONLY |
 * O_NOCTTY | O_NONBLOCK: a FIFO or device named as an image must not hang the host, and
 * FdSource then refuses anything but a regular file or a block device.
 */
import { closeSync, open as openCb, constants as fsConstants } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { promisify } from 'node:util';
import { createNodeDeflate } from '@erofs-js/erofs/node';
import { ERRNO, SysError, toSysError, type Errno } from '@erofs-js/vfs';
import { allowImages as allowListed, type RestoreHost } from '../checkpoint.js';
import { HostController as PortableHostController, openPortable, type ImageOpener } from '../controller.js';
import { isRemoteRef, type ImageRef, type Opened } from '../image-ref.js';
import { openRemoteImage, type RemoteOptions } from './remote.js';
import { FdSource } from './source.js';

const openAsync = promisify(openCb);

/** A SysError from a Node.js error, keeping its errno name when we know it. */
export function fromNodeError(e: unknown, what: string): SysError {
  if (e instanceof SysError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const known = typeof code === 'string' && code in ERRNO ? (code as Errno) : 'EIO';
  return new SysError(known, `${what}: ${(e as Error)?.message ?? String(e)}`);
}

/** Opens a host file read-only into an FdSource named by its absolute path. */
async function openPath(given: unknown): Promise<Opened> {
  if (typeof given !== 'string' || given.length === 0 || given.includes('\0')) throw new SysError('EINVAL', 'an image path must be a non-empty string without NUL bytes');
  const path = resolvePath(given);
  let fd: number;
  try {
    fd = await openAsync(path, fsConstants.O_RDONLY | (fsConstants.O_NOCTTY ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fromNodeError(e, path);
  }
  try {
    return { source: new FdSource(fd, { name: path }), name: path };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already failing */
    }
    throw toSysError(e);
  }
}

/**
 * Opens any ImageRef on a Node host; failures are SysErrors. `remote`: how images behind
 * URLs are read (cache sizes, a DiskCache, S3 credentials; see RemoteOptions).
 */
export async function openNodeImage(ref: ImageRef, remote: RemoteOptions = {}): Promise<Opened> {
  // A URL (http(s) or s3://): read lazily with Range requests (remote.ts).
  if (isRemoteRef(ref)) return openRemoteImage(ref, remote);
  if (typeof ref === 'string') return openPath(ref);
  if (typeof ref === 'object' && ref !== null && !(ref instanceof Uint8Array)) {
    if ('path' in ref) return openPath(ref.path);
    if ('fd' in ref) {
      if (!(Number.isInteger(ref.fd) && ref.fd >= 0)) throw new SysError('EBADF', `bad descriptor ${ref.fd}`);
      const name = ref.name ?? `fd:${ref.fd}`;
      try {
        return { source: new FdSource(ref.fd, { name }), name };
      } catch (e) {
        throw toSysError(e);
      }
    }
  }
  return openPortable(ref);
}

/**
 * A Node host's opener whose remote images are read with `remote` (for instance
 * `{ diskCache: new DiskCache(dir, { maxBytes }) }`: blocks kept across restarts).
 */
export function createNodeOpener(remote: RemoteOptions = {}): ImageOpener {
  return { open: (ref) => openNodeImage(ref, remote), codecs: { 2: createNodeDeflate() } };
}

/** The Node host's opener: paths, descriptors, URLs, bytes and sources; DEFLATE by Node's zlib. */
export const nodeOpener: ImageOpener = createNodeOpener();

/**
 * The host controller of a Node host: the portable HostController with nodeOpener as its
 * default, so `rootfs` and `image` may name host files (relative to the cwd), descriptors
 * and URLs.
 */
export class HostController extends PortableHostController {
  protected static override defaultOpener: ImageOpener = nodeOpener;
}

/**
 * allowImages for the Node host: host paths given relative (list entries, or the recorded
 * names of a map) are resolved against the cwd, as nodeOpener resolves them, so they match
 * the absolute names a checkpoint records. URLs are left as they are.
 */
export function allowImages(allowed: Iterable<string> | Readonly<Record<string, ImageRef>>): RestoreHost {
  const abs = (name: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? name : resolvePath(name));
  if (typeof (allowed as Iterable<string>)[Symbol.iterator] === 'function') return allowListed([...(allowed as Iterable<string>)].map(abs));
  return allowListed(Object.fromEntries(Object.entries(allowed).map(([name, ref]) => [abs(name), ref])));
}
