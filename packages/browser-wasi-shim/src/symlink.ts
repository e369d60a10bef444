/**
 * path_symlink for the shim. In 0.4.2 the shim answers path_symlink itself (ERRNO_NOTSUP)
 * without asking any Fd, so a guest cannot make a symbolic link even where the namespace
 * can. installSymlink replaces that import: on one of our descriptors it is symlinkat(2),
 * with the target's bytes as the guest wrote them (absolute targets too, as Linux and
 * uvwasi store them; they resolve inside the preopen); other descriptors keep the shim's
 * answer.
 */
import type { WASI } from '@bjorn3/browser_wasi_shim';

interface BytesSymlink {
  path_symlink_bytes(target: Uint8Array, path: string): number;
}

function hasBytesSymlink(fd: unknown): fd is BytesSymlink {
  return typeof (fd as Partial<BytesSymlink> | undefined)?.path_symlink_bytes === 'function';
}

/** Replaces `w.wasiImport.path_symlink`; call before instantiating the guest. */
export function installSymlink(w: WASI): void {
  const utf8 = new TextDecoder();
  const original = w.wasiImport.path_symlink as (oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number) => number;
  w.wasiImport.path_symlink = (oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number => {
    const obj = w.fds[fd];
    if (!hasBytesSymlink(obj)) return original(oldPtr, oldLen, fd, newPtr, newLen);
    const mem = w.inst.exports.memory.buffer;
    const target = new Uint8Array(mem, oldPtr, oldLen).slice();
    const path = utf8.decode(new Uint8Array(mem, newPtr, newLen));
    return obj.path_symlink_bytes(target, path);
  };
}
