export { Erofs, type ErofsOptions } from './backend.js';
export { ErofsFS, EROFS_SUPER_MAGIC, type ErofsFSOptions } from './filesystem.js';
export { ErofsInode, readXattrs } from './inode.js';
export { toErrnoError } from './errors.js';
