/**
 * An optional fix for the shim's path_readlink import. In 0.4.2 it answers EBADF when the
 * target is longer than the guest's buffer, where POSIX readlink(2) truncates; C guests
 * size the buffer by trying (CRuby starts at 100 bytes and doubles while the result fills
 * it), so a long target fails outright. It also passes the target through a JS string,
 * which mangles bytes that are not UTF-8. The replacement copies the stored bytes and
 * truncates to the buffer; descriptors that are not ours keep the shim's string path.
 */
import { wasi, type WASI } from '@bjorn3/browser_wasi_shim';

interface BytesReadlink {
  path_readlink_bytes(path: string): { ret: number; data: Uint8Array | null };
}

function hasBytesReadlink(fd: unknown): fd is BytesReadlink {
  return typeof (fd as Partial<BytesReadlink> | undefined)?.path_readlink_bytes === 'function';
}

/** Replaces `w.wasiImport.path_readlink`; call before instantiating the guest. */
export function installPosixReadlink(w: WASI): void {
  const utf8 = new TextDecoder();
  const enc = new TextEncoder();
  w.wasiImport.path_readlink = (fd: number, pathPtr: number, pathLen: number, bufPtr: number, bufLen: number, nreadPtr: number): number => {
    const mem = w.inst.exports.memory.buffer;
    const obj = w.fds[fd];
    if (obj === undefined) return wasi.ERRNO_BADF;
    const path = utf8.decode(new Uint8Array(mem, pathPtr, pathLen));
    let ret: number;
    let data: Uint8Array | null;
    if (hasBytesReadlink(obj)) ({ ret, data } = obj.path_readlink_bytes(path));
    else {
      const r = obj.path_readlink(path);
      ret = r.ret;
      data = r.data === null ? null : enc.encode(r.data);
    }
    if (data === null) return ret;
    const n = Math.min(data.length, bufLen);
    new Uint8Array(mem, bufPtr, n).set(data.subarray(0, n));
    new DataView(mem).setUint32(nreadPtr, n, true);
    return ret;
  };
}
