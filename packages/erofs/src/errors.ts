/**
 * Errors raised by the decoder. Every failure caused by the bytes of an image or by
 * its source is an ErofsError carrying a Linux errno name, so that the layers above
 * can hand it to a guest unchanged and a fuzzer can tell a clean refusal from a bug.
 */

export const ERRNO = {
  ENOENT: 2,
  EIO: 5,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENAMETOOLONG: 36,
  ELOOP: 40,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  EUCLEAN: 117,
} as const;

export type ErofsErrorCode = keyof typeof ERRNO;

export class ErofsError extends Error {
  override readonly name = 'ErofsError';
  /** errno name: EUCLEAN (corrupt image), EOPNOTSUPP (unsupported feature), EIO (source failure), ... */
  readonly code: ErofsErrorCode;
  /** The on-disk structure being decoded when the problem was found ("superblock", "inode", "dirent", ...). */
  readonly structure: string;
  /** Absolute byte offset of that structure in its device or meta space, when known. */
  readonly offset: number | undefined;

  constructor(code: ErofsErrorCode, structure: string, offset: number | undefined, detail: string) {
    super(offset === undefined ? `${structure}: ${detail}` : `${structure} at byte ${offset}: ${detail}`);
    this.code = code;
    this.structure = structure;
    this.offset = offset;
  }

  get errno(): number {
    return ERRNO[this.code];
  }
}

/** Shorthand for the common case: the image is corrupt. */
export function corrupt(structure: string, offset: number | undefined, detail: string): ErofsError {
  return new ErofsError('EUCLEAN', structure, offset, detail);
}

export function unsupported(structure: string, offset: number | undefined, detail: string): ErofsError {
  return new ErofsError('EOPNOTSUPP', structure, offset, detail);
}

export function isErofsError(e: unknown): e is ErofsError {
  return e instanceof ErofsError;
}

/** A malformed compressed stream. `where` names the codec (and, when known, the pcluster). */
export function codecError(where: string, offset: number | undefined, detail: string): ErofsError {
  return new ErofsError('EUCLEAN', where, offset, detail);
}
