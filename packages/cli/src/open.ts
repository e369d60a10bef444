import { Image, loadCodecs, type ByteSource } from '@erofs-js/erofs';
import { FileSource, createNodeDeflate } from '@erofs-js/erofs/node';

/** Compiles the WebAssembly Zstandard decoder; call once before openImage. */
export async function prepareCodecs(): Promise<void> {
  await loadCodecs();
}

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
    // Node's zlib (native) decodes DEFLATE about twice as fast as the portable decoder.
    const image = new Image(src, { devices, verifyChecksum: opts.verifyChecksum, codecs: { 2: createNodeDeflate() } });
    return { image, close };
  } catch (e) {
    close();
    throw e;
  }
}
