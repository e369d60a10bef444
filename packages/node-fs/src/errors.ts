/**
 * Errors shaped like Node's fs errors: `code` "ENOENT", `errno` -2 (Node reports libuv's
 * negated numbers), `syscall` "open", `path` (and `dest` for two-path calls), and the
 * message Node prints: "ENOENT: no such file or directory, open '/x'". Programs and WASI
 * runtimes written against node:fs branch on `code`, so that is the part that must match.
 */
import { ERRNO, SysError, toSysError } from '@erofs-js/vfs';

/** Lower-case descriptions, the wording Node uses in its messages. */
const DESCRIPTIONS: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'i/o error',
  ENXIO: 'no such device or address',
  E2BIG: 'argument list too long',
  EBADF: 'bad file descriptor',
  EACCES: 'permission denied',
  EFAULT: 'bad address in system call argument',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EXDEV: 'cross-device link not permitted',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  ESPIPE: 'invalid seek',
  EROFS: 'read-only file system',
  ERANGE: 'result too large',
  ENAMETOOLONG: 'name too long',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links encountered',
  ENODATA: 'no data available',
  EOPNOTSUPP: 'operation not supported on socket',
  EUCLEAN: 'structure needs cleaning',
};

/** The error Node's fs throws for a failed system call. */
export interface NodeFsError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
}

function show(p: unknown): string {
  if (typeof p === 'string') return p;
  if (p instanceof Uint8Array) return new TextDecoder().decode(p);
  return String(p);
}

/** Builds the Node-style error for `code` (an errno name) from `syscall` on `path`. */
export function fsError(code: keyof typeof ERRNO, syscall: string, path?: unknown, dest?: unknown): NodeFsError {
  let message = `${code}: ${DESCRIPTIONS[code] ?? code.toLowerCase()}, ${syscall}`;
  if (path !== undefined) message += ` '${show(path)}'`;
  if (dest !== undefined) message += ` -> '${show(dest)}'`;
  const e = new Error(message) as NodeFsError;
  e.errno = -ERRNO[code];
  e.code = code;
  e.syscall = syscall;
  if (path !== undefined) e.path = show(path);
  if (dest !== undefined) e.dest = show(dest);
  return e;
}

/**
 * Runs `fn`, turning a SysError (or a decoder error, via the VFS's own conversion) into the
 * Node-style error for `syscall`. Anything else is a bug and passes through unchanged.
 */
export function call<T>(syscall: string, path: unknown, fn: () => T, dest?: unknown): T {
  try {
    return fn();
  } catch (e) {
    throw nodeError(e, syscall, path, dest);
  }
}

/** The Node-style form of a thrown value; errors that are already Node-style are kept. */
export function nodeError(e: unknown, syscall: string, path?: unknown, dest?: unknown): unknown {
  if (isNodeFsError(e)) return e;
  let se: SysError;
  try {
    se = toSysError(e);
  } catch {
    return e;
  }
  if (!(se instanceof SysError)) return e;
  const out = fsError(se.code, syscall, path, dest);
  // The VFS's own message says which check failed; keep it for whoever debugs.
  (out as { cause?: unknown }).cause = se;
  return out;
}

function isNodeFsError(e: unknown): e is NodeFsError {
  return e instanceof Error && typeof (e as NodeFsError).syscall === 'string' && typeof (e as NodeFsError).errno === 'number' && (e as NodeFsError).errno < 0;
}
