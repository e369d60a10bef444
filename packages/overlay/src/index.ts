/**
 * @erofs-js/overlay: an overlay filesystem (read-only layers under a writable tmpfs
 * upper) with Linux overlayfs semantics, behind the erofs-js filesystem contract. See
 * README.md.
 */
export { Overlay, OVERLAYFS_SUPER_MAGIC, COPY_UP_CHUNK, DIR_INO_ENTRIES, type OverlayOptions, type DirInoTable } from './overlay.js';
export { OvlNode, type LowerEntry, type OriginRef } from './node.js';
export { erofsLayer, MOUNTER, type OverlayLayer } from './layer.js';
export { encodeOrigin, decodeOrigin, FILEID_INO64_GEN, type Origin } from './handle.js';
export {
  XATTR_OPAQUE,
  XATTR_WHITEOUT,
  XATTR_ORIGIN,
  XATTR_IMPURE,
  XATTR_UUID,
  realXattrName,
  shownXattrName,
} from './names.js';
export { mergeListing, type MergedEntry, type DirCache } from './readdir.js';
