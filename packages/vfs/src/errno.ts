/**
 * Linux error numbers and the error the VFS throws. Every failure a guest can cause or
 * meet is a SysError carrying the errno a Linux kernel would return for the same call.
 */
import { isErofsError } from '@erofs-js/erofs';

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  // EAGAIN, EPIPE: pipes and fifos (pipe.ts): an empty or full pipe without waiting, a
  // write with no reader left (the SIGPIPE condition).
  EAGAIN: 11,
  EACCES: 13,
  // EFAULT: memory mapping reports a page wholly past end of file (the SIGBUS condition) with it.
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  // ENODEV, EMFILE, ENOSPC, ENOSYS: added for @erofs-js/mount (guest mount(2) of an unknown
  // type, a full descriptor table, the mount limit, an unknown syscall name).
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EUCLEAN: 117,
} as const;

export type Errno = keyof typeof ERRNO;

export class SysError extends Error {
  override readonly name = 'SysError';
  /** errno name, e.g. "ENOENT". */
  readonly code: Errno;
  /** Linux errno number, e.g. 2. */
  readonly errno: number;
  /**
   * The call that failed ("openat", "read", ...), as Node's errors carry it: set by the mount
   * layer's Task on the way out of each call (see failedCall), absent below it.
   */
  declare syscall?: string;
  /** The path argument of that call, bytes decoded as UTF-8; absent for calls on a descriptor. */
  declare path?: string;
  /** Record a stack trace in every SysError (off: they are frequent and expected). */
  static captureStacks = false;

  constructor(code: Errno, message: string = code, options?: { cause?: unknown }) {
    // Errno results are control flow for a guest (ENOENT on every PATH probe), not bugs:
    // capturing a stack trace made a missing-path lookup 6x slower. Set
    // SysError.captureStacks = true when debugging.
    const limit = Error.stackTraceLimit;
    if (!SysError.captureStacks) Error.stackTraceLimit = 0;
    super(`${code}: ${message}`, options);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.errno = ERRNO[code];
  }
}

export function isSysError(e: unknown): e is SysError {
  return e instanceof SysError;
}

/** Shorthand used throughout the package. */
export function sysError(code: Errno, message?: string): SysError {
  return new SysError(code, message);
}

/**
 * The SysError for an error raised while decoding. The decoder's codes are Linux errno
 * names already (EUCLEAN for a corrupt image, EIO for a failing source, EOPNOTSUPP for a
 * feature it cannot decode, EFBIG, ...); they pass through with the decoder's message,
 * which names the structure and byte offset. SysErrors pass through unchanged. Anything
 * else is a bug, not a property of the image, and is rethrown as is.
 */
export function toSysError(e: unknown): SysError {
  if (e instanceof SysError) return e;
  if (isErofsError(e)) {
    const code = (e.code in ERRNO ? e.code : 'EIO') as Errno;
    return new SysError(code, e.message, { cause: e });
  }
  throw e;
}

const pathDecoder = new TextDecoder();

/**
 * `e` as a SysError (toSysError) naming the call it failed in and that call's path, as Node's
 * errors do: `syscall` set, `path` set to the path argument (bytes decoded as UTF-8) or
 * removed for a call without one. The outermost call sets them last, and an error object
 * thrown again by a later call is named for that call. The message is left as it is, and
 * nothing is built unless a call fails.
 */
export function failedCall(e: unknown, syscall: string, path?: string | Uint8Array | null): SysError {
  const s = toSysError(e);
  s.syscall = syscall;
  if (path != null) s.path = typeof path === 'string' ? path : pathDecoder.decode(path);
  else if (s.path !== undefined) delete s.path;
  return s;
}

/** Runs a decoder call, turning an ErofsError into the matching SysError. */
export function decoding<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toSysError(e);
  }
}
