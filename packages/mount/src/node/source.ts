/**
 * FdSource: the bytes of an image behind an already-open file descriptor. The host
 * controller opens image paths itself (asynchronously) and hands the descriptor here; a
 * host that opened the image some other way passes the descriptor directly. It is the
 * decoder's FileSource taking over a descriptor (the source owns it: close() closes it),
 * with a 4 MiB cache per mounted image by default.
 */
import { FileSource, type FileSourceOptions } from '@erofs-js/erofs/node';

export type FdSourceOptions = FileSourceOptions;

export class FdSource extends FileSource {
  constructor(fd: number, options: FdSourceOptions = {}) {
    super(fd, { cacheBlocks: 256, ...options });
  }

  /** The name used in error messages. */
  get name(): string {
    return this.path;
  }
}
