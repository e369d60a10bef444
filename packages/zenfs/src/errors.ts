/**
 * Our errors as ZenFS wants them. ZenFS's VFS reads `code`, `errno`, `syscall` and `path`
 * off what a backend throws (it fills in the last two), so every SysError from the VFS
 * and every ErofsError from the decoder leaves the backend as ZenFS's ErrnoError with the
 * same Linux errno number; the original stays reachable as `cause`.
 */
import { ErrnoError } from '@zenfs/core';
import { isErofsError } from '@erofs-js/erofs';
import { SysError, toSysError } from '@erofs-js/vfs';

/**
 * ZenFS's errno table (from kerium) spells two of the codes we use differently from
 * Linux and Node: 95 is ENOTSUP there (Node's name too), 117 is "EEUCLEAN". We keep
 * ENOTSUP, which Node programs test for, and give 117 its Linux name.
 */
const CODE_FIXES: Record<number, string> = { 117: 'EUCLEAN' };

/** The ZenFS error for a SysError (or an ErofsError, through the VFS's mapping). */
export function toErrnoError(e: SysError): InstanceType<typeof ErrnoError> {
  const err = new ErrnoError(e.errno, e.message);
  if (typeof err.code !== 'string' || CODE_FIXES[e.errno]) {
    // A number ZenFS has no name for: keep the number, use our name.
    (err as { code: string }).code = CODE_FIXES[e.errno] ?? e.code;
  }
  (err as { cause?: unknown }).cause = e;
  return err;
}

/**
 * Runs one backend operation: SysErrors and ErofsErrors become ErrnoErrors; anything
 * else is a bug in our code, not a property of the image, and passes through unchanged.
 */
export function zen<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SysError) throw toErrnoError(e);
    if (isErofsError(e)) throw toErrnoError(toSysError(e));
    throw e;
  }
}
