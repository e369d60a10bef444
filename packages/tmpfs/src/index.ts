/**
 * @erofs-js/tmpfs: a writable in-memory filesystem with Linux tmpfs semantics, behind the
 * erofs-js filesystem contract. See README.md.
 */
export {
  Tmpfs,
  TMPFS_MAGIC,
  ST_NOATIME,
  DEFAULT_SIZE,
  DEFAULT_NR_INODES,
  INODE_COST,
  SHORT_SYMLINK_LEN,
  parseSize,
  type TmpfsOptions,
  type TmpfsStats,
  type AtimeMode,
} from './tmpfs.js';
export { TmpNode, TmpInode, XATTR_OVERHEAD, type Time } from './inode.js';
export { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type TmpfsSnapshot, type SnapshotInode, type SnapshotEntry, type SnapshotTime } from './snapshot.js';
export { TmpFile, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, type TmpFileKind } from './file.js';
export { FileData, PAGE_SIZE, type PageBudget } from './data.js';
export { Dir, DIR_OFFSET_FIRST, DIR_OFFSET_MIN, DIR_OFFSET_MAX, DIR_OFFSET_EOD, type DirChild } from './dir.js';
export { parseAclForSet, validateAcl, encodeAcl, aclEquivMode, aclChmod, aclCreate, XATTR_ACL_ACCESS, XATTR_ACL_DEFAULT } from './acl.js';
