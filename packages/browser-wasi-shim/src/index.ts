/**
 * @bjorn3/browser_wasi_shim adapter: Fd and Inode classes over an EROFS mount namespace.
 *
 *   const pre = ErofsPreopenDirectory.open(controller.ns, '/mnt', { path: '/' });
 *   const w = new WASI(args, env, [stdin, stdout, stderr, pre]);
 */
export { ErofsPreopenDirectory, type PreopenOptions } from './preopen.js';
export { ErofsFd, ErofsInode, LOOKUPFLAGS_SYMLINK_FOLLOW, WRITE_RIGHTS } from './fd.js';
export { ErofsFilestat, filestatOf, filetypeOfMode, filetypeOfDtype, timestamp } from './filestat.js';
export { WASI_ERRNO, wasiErrno, errnoOf } from './errno.js';
export { installPosixReadlink } from './readlink.js';
export { installSymlink } from './symlink.js';
