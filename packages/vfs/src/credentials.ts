/**
 * Who is asking, and Linux's answer to "may they?": generic_permission with POSIX ACLs
 * and the capabilities that override discretionary access control.
 */
import { SysError } from './errno.js';
import { S_IFMT, S_IFDIR } from '@erofs-js/erofs';

/** Linux capability numbers (the ones the filesystems consult). */
export const CAP_CHOWN = 0;
export const CAP_DAC_OVERRIDE = 1;
export const CAP_DAC_READ_SEARCH = 2;
export const CAP_FOWNER = 3;
export const CAP_FSETID = 4;
export const CAP_SYS_ADMIN = 21;
export const CAP_MKNOD = 27;

/** Access bits, as Linux's MAY_* (and access(2)'s X_OK, W_OK, R_OK). */
export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

export interface Credentials {
  /** Filesystem uid and gid (fsuid/fsgid). */
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups. */
  readonly groups: readonly number[];
  /** Effective capabilities: bit n set means capability n is held (see capMask). */
  readonly caps: number;
  /** The file mode creation mask (umask(2)); 0o022 when absent. Creating operations apply it. */
  readonly umask?: number;
}

/** The bitmask holding the given capabilities. */
export function capMask(...caps: number[]): number {
  let m = 0;
  for (const c of caps) {
    if (!(c >= 0 && c < 31)) throw new RangeError(`capability ${c} out of range`);
    m |= 1 << c;
  }
  return m;
}

export const ALL_CAPS = capMask(CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_SYS_ADMIN, CAP_MKNOD);

/** uid 0 with every capability the VFS consults. */
export const ROOT: Credentials = Object.freeze({ uid: 0, gid: 0, groups: Object.freeze([]) as readonly number[], caps: ALL_CAPS });

/** Credentials of an unprivileged user unless capabilities are given. */
export function credentials(uid: number, gid: number, groups: readonly number[] = [], caps = 0): Credentials {
  return Object.freeze({ uid, gid, groups: Object.freeze([...groups]), caps });
}

export function hasCap(c: Credentials, cap: number): boolean {
  return ((c.caps >>> cap) & 1) === 1;
}

export function inGroup(c: Credentials, gid: number): boolean {
  return c.gid === gid || c.groups.includes(gid);
}

// ---- POSIX ACLs ----------------------------------------------------------------------

export const ACL_USER_OBJ = 0x01;
export const ACL_USER = 0x02;
export const ACL_GROUP_OBJ = 0x04;
export const ACL_GROUP = 0x08;
export const ACL_MASK = 0x10;
export const ACL_OTHER = 0x20;
const ACL_XATTR_VERSION = 2;

export interface AclEntry {
  tag: number;
  /** rwx bits (4 read, 2 write, 1 execute). */
  perm: number;
  /** uid for ACL_USER, gid for ACL_GROUP; unused otherwise. */
  id: number;
}

export type PosixAcl = readonly AclEntry[];

/**
 * Decodes a system.posix_acl_access value: a u32 version (2), then 8-byte entries
 * {u16 tag, u16 perm, u32 id}, little-endian. Errors as Linux's posix_acl_from_xattr:
 * a wrong version is EOPNOTSUPP, a ragged size or an unknown tag EINVAL. An empty list
 * decodes to null (no ACL).
 */
export function parsePosixAcl(value: Uint8Array): PosixAcl | null {
  if (value.length < 4) throw new SysError('EINVAL', `POSIX ACL of ${value.length} bytes has no header`);
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const version = dv.getUint32(0, true);
  if (version !== ACL_XATTR_VERSION) throw new SysError('EOPNOTSUPP', `POSIX ACL version ${version}, expected 2`);
  if ((value.length - 4) % 8 !== 0) throw new SysError('EINVAL', `POSIX ACL of ${value.length} bytes is not a whole number of entries`);
  const count = (value.length - 4) / 8;
  if (count === 0) return null;
  const out: AclEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = 4 + 8 * i;
    const tag = dv.getUint16(o, true);
    switch (tag) {
      case ACL_USER_OBJ:
      case ACL_USER:
      case ACL_GROUP_OBJ:
      case ACL_GROUP:
      case ACL_MASK:
      case ACL_OTHER:
        break;
      default:
        throw new SysError('EINVAL', `POSIX ACL entry ${i} has unknown tag 0x${tag.toString(16)}`);
    }
    out.push({ tag, perm: dv.getUint16(o + 2, true), id: dv.getUint32(o + 4, true) });
  }
  return out;
}

/** Linux's posix_acl_permission: true when the ACL grants `want` (rwx bits). */
function aclAllows(c: Credentials, owner: number, group: number, acl: PosixAcl, want: number): boolean {
  let found = false;
  for (let i = 0; i < acl.length; i++) {
    const e = acl[i];
    switch (e.tag) {
      case ACL_USER_OBJ:
        if (owner === c.uid) return (e.perm & want) === want;
        break;
      case ACL_USER:
        if (e.id === c.uid) return masked(acl, i, e.perm, want);
        break;
      case ACL_GROUP_OBJ:
        if (inGroup(c, group)) {
          found = true;
          if ((e.perm & want) === want) return masked(acl, i, e.perm, want);
        }
        break;
      case ACL_GROUP:
        if (inGroup(c, e.id)) {
          found = true;
          if ((e.perm & want) === want) return masked(acl, i, e.perm, want);
        }
        break;
      case ACL_MASK:
        break;
      case ACL_OTHER:
        if (found) return false;
        return (e.perm & want) === want;
    }
  }
  // No ACL_OTHER entry: Linux answers EIO; deny.
  return false;
}

/** The grant of entry `i` limited by the ACL_MASK entry that follows it, if any. */
function masked(acl: PosixAcl, i: number, perm: number, want: number): boolean {
  for (let j = i + 1; j < acl.length; j++) {
    if (acl[j].tag === ACL_MASK) return (perm & acl[j].perm & want) === want;
  }
  return (perm & want) === want;
}

/** What permission checks need of an inode. */
export interface Owned {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

const S_IXUGO = 0o111;
const S_IRWXG = 0o070;

/**
 * Linux's generic_permission: may `c` access an inode with `mask` (MAY_READ | MAY_WRITE
 * | MAY_EXEC)? `acl` is called only when the answer depends on the inode's access ACL
 * (a caller that is not the owner, with group bits set); it returns the decoded ACL or
 * null. Capabilities are consulted after the mode and ACL deny, as Linux does. This is
 * the discretionary check only; a read-only filesystem's EROFS comes first, in the VFS.
 */
export function genericPermission(c: Credentials, inode: Owned, mask: number, acl?: () => PosixAcl | null): boolean {
  mask &= 7;
  const mode = inode.mode;
  const isDir = (mode & S_IFMT) === S_IFDIR;
  // Capabilities only ever add access, so when they grant it the ACL need not be read.
  if (c.caps !== 0) {
    if (isDir) {
      if (!(mask & MAY_WRITE) && hasCap(c, CAP_DAC_READ_SEARCH)) return true;
      if (hasCap(c, CAP_DAC_OVERRIDE)) return true;
    } else {
      if (mask === MAY_READ && hasCap(c, CAP_DAC_READ_SEARCH)) return true;
      if ((!(mask & MAY_EXEC) || (mode & S_IXUGO) !== 0) && hasCap(c, CAP_DAC_OVERRIDE)) return true;
    }
  }
  if (c.uid === inode.uid) return (mask & ~(mode >>> 6)) === 0;
  if (acl && (mode & S_IRWXG) !== 0) {
    const a = acl();
    if (a) return aclAllows(c, inode.uid, inode.gid, a, mask);
  }
  let bits = mode;
  if (mask & (mode ^ (mode >>> 3)) && inGroup(c, inode.gid)) bits = mode >>> 3;
  return (mask & ~bits & 7) === 0;
}

/** genericPermission, throwing EACCES when denied. */
export function checkPermission(c: Credentials, inode: Owned, mask: number, acl?: () => PosixAcl | null): void {
  if (!genericPermission(c, inode, mask, acl)) throw new SysError('EACCES', 'permission denied');
}

/** Linux's inode_owner_or_capable: the owner, or a holder of CAP_FOWNER. */
export function ownerOrCapable(c: Credentials, inode: Owned): boolean {
  return c.uid === inode.uid || hasCap(c, CAP_FOWNER);
}
