import { Image, type ByteSource } from '@erofs-js/erofs';
import { FileSource } from '@erofs-js/erofs/node';

export interface OpenOptions {
  devices: string[];
  verifyChecksum: boolean;
}

/** Opens an image file (and its extra devices) for a command; sources are closed by `close`. */
export function openImage(path: string, opts: OpenOptions): { image: Image; close: () => void } {
  const sources: ByteSource[] = [];
  const close = () => {
    for (const s of sources) s.close?.();
  };
  try {
    const src = new FileSource(path);
    sources.push(src);
    const devices = opts.devices.map((d) => {
      const s = new FileSource(d);
      sources.push(s);
      return s;
    });
    const image = new Image(src, { devices, verifyChecksum: opts.verifyChecksum });
    return { image, close };
  } catch (e) {
    close();
    throw e;
  }
}
