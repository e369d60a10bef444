/**
 * The xattrs overlayfs keeps in its layers, and how the overlay shows xattr names.
 *
 * Private xattrs (Linux's `trusted.overlay.*`, fs/overlayfs/overlayfs.h):
 * - `opaque`: "y" on a directory hides every layer below it; "x" marks a directory whose
 *   regular files may be xattr whiteouts (not opaque).
 * - `whiteout`: present on a zero-size regular file: that file is a whiteout (Linux 6.7's
 *   xwhiteouts, for layers that cannot hold a character device 0:0). Linux honours it in
 *   lookups in any layer; readdir checks it only in directories marked opaque "x".
 * - `origin`: on a copied-up object, the file handle of the lower inode it came from
 *   (handle.ts); empty: "copied up, origin unknown". A lower directory that has it (even
 *   empty, as `mkfs.erofs --aufs` writes on directories holding whiteouts) may contain
 *   whiteouts, so its listing is always filtered.
 * - `impure`: "y" on an upper directory that holds copied-up entries.
 * - `uuid`: on the upper root, the overlay's UUID (random, made by the first mount).
 *
 * Names as the overlay shows them (6.7+): every real `trusted.overlay.*` is hidden,
 * except the escaped form `trusted.overlay.overlay.X`, which the overlay shows (and lets
 * one get, set and remove) as `trusted.overlay.X`: setting `trusted.overlay.opaque` through
 * the overlay stores `trusted.overlay.overlay.opaque` in the upper layer.
 */
export const OVL_PREFIX = 'trusted.overlay.';
export const OVL_ESCAPED_PREFIX = 'trusted.overlay.overlay.';
export const XATTR_OPAQUE = 'trusted.overlay.opaque';
export const XATTR_WHITEOUT = 'trusted.overlay.whiteout';
export const XATTR_ORIGIN = 'trusted.overlay.origin';
export const XATTR_IMPURE = 'trusted.overlay.impure';
export const XATTR_UUID = 'trusted.overlay.uuid';
export const XATTR_REDIRECT = 'trusted.overlay.redirect';

export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';

/** The real name an overlay xattr name reads and writes ("trusted.overlay.X" -> "trusted.overlay.overlay.X"). */
export function realXattrName(key: string): string {
  return key.startsWith(OVL_PREFIX) ? OVL_ESCAPED_PREFIX + key.slice(OVL_PREFIX.length) : key;
}

/** How a real xattr name shows through the overlay: null when it is private (hidden). */
export function shownXattrName(key: string): string | null {
  if (!key.startsWith(OVL_PREFIX)) return key;
  if (key.startsWith(OVL_ESCAPED_PREFIX) && key.length > OVL_ESCAPED_PREFIX.length) return OVL_PREFIX + key.slice(OVL_ESCAPED_PREFIX.length);
  return null;
}

/** latin1 key of an ASCII name. */
export function keyOf(name: string): Uint8Array {
  const out = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) out[i] = name.charCodeAt(i);
  return out;
}
