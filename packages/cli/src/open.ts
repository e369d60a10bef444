import { closeSync, fstatSync, openSync } from 'node:fs';
import { Image, loadCodecs, type ByteSource } from '@erofs-js/erofs';
import { FileSource, createNodeDeflate } from '@erofs-js/erofs/node';
import { SysError } from '@erofs-js/vfs';

/** Compiles the WebAssembly Zstandard decoder; call once before openImage. */
export async function prepareCodecs(): Promise<void> {
  await loadCodecs();
}

export interface OpenOptions {
  devices: string[];
  verifyChecksum: boolean;
}

/**
 * A descriptor of the file at `path`, or the SysError the command prints after the image's
 * name: EIO (the image cannot be read) with the host's reason in words and its code, e.g.
 * "EIO: cannot open: no such file or directory (ENOENT)", without repeating the path.
 * `what` prefixes the message for an extra device ("device /x: cannot open: ...").
 */
function openFile(path: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Node's text is "CODE: reason, syscall 'path'": keep the reason.
    const reason = /^[A-Z0-9]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
    throw new SysError('EIO', `${what}cannot open: ${reason}${err.code ? ` (${err.code})` : ''}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isBlockDevice()) {
    closeSync(fd);
    throw new SysError('EINVAL', `${what}not a regular file or block device`);
  }
  return fd;
}

/** Opens an image file (and its extra devices) for a command; sources are closed by `close`. */
export function openImage(path: string, opts: OpenOptions): { image: Image; close: () => void } {
  const sources: ByteSource[] = [];
  const close = () => {
    for (const s of sources) s.close?.();
  };
  try {
    // The source owns the descriptor from here (its close() closes it).
    const src = new FileSource(openFile(path, ''), { name: path });
    sources.push(src);
    const devices = opts.devices.map((d) => {
      const s = new FileSource(openFile(d, `device ${d}: `), { name: d });
      sources.push(s);
      return s;
    });
    // Node's zlib (native) decodes DEFLATE about twice as fast as the portable decoder.
    const image = new Image(src, { devices, verifyChecksum: opts.verifyChecksum, codecs: { 2: createNodeDeflate() } });
    return { image, close };
  } catch (e) {
    close();
    throw e;
  }
}
