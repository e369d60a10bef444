/**
 * Path arguments as WASI gives them: strings relative to a directory descriptor. The
 * checks here are WASI's, made before the mount layer walks the path with Linux's rules.
 */
import { wasi } from '@bjorn3/browser_wasi_shim';

const utf8 = new TextEncoder();
const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * The bytes of a path relative to a directory handle, or a WASI errno. An absolute path,
 * or one whose ".." components climb above the handle, is ENOTCAPABLE: a WASI handle is a
 * capability for what is below it (the shim's own directories and wasmtime answer the
 * same). A NUL byte is EINVAL (a C guest cannot even form that path).
 */
export function relativePath(path: string): Uint8Array | number {
  if (path.includes('\0')) return wasi.ERRNO_INVAL;
  const bytes = utf8.encode(path);
  if (bytes[0] === SLASH) return wasi.ERRNO_NOTCAPABLE;
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== SLASH) continue;
    const len = i - start;
    if (len === 2 && bytes[start] === DOT && bytes[start + 1] === DOT) {
      if (--depth < 0) return wasi.ERRNO_NOTCAPABLE;
    } else if (len > 0 && !(len === 1 && bytes[start] === DOT)) {
      depth++;
    }
    start = i + 1;
  }
  return bytes;
}

/**
 * Splits a path into its parent (what Linux's filename_parentat walks) and its last
 * component, trailing slashes dropped. "a" has the parent "." (the handle itself).
 */
export function splitLast(bytes: Uint8Array): { parent: Uint8Array; last: Uint8Array } {
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === SLASH) end--;
  let cut = end - 1;
  while (cut >= 0 && bytes[cut] !== SLASH) cut--;
  const last = bytes.subarray(cut + 1, end);
  let pend = cut;
  while (pend > 0 && bytes[pend - 1] === SLASH) pend--;
  const parent = cut < 0 ? new Uint8Array([DOT]) : pend === 0 ? bytes.subarray(0, 1) : bytes.subarray(0, pend);
  return { parent, last };
}

/** "." or "..". */
export function isDots(name: Uint8Array): boolean {
  return (name.length === 1 && name[0] === DOT) || (name.length === 2 && name[0] === DOT && name[1] === DOT);
}
