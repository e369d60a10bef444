/**
 * POSIX ACLs as a writable filesystem keeps them: validation of a value a caller sets, the
 * xattr encoding getxattr returns, and the three ways an ACL and the mode follow each
 * other (Linux's fs/posix_acl.c):
 *
 * - Setting an access ACL sets the mode from it: owner bits from ACL_USER_OBJ, group bits
 *   from ACL_MASK (or ACL_GROUP_OBJ when there is no mask), other bits from ACL_OTHER. An
 *   ACL that says no more than the mode (only the three base entries) is not stored.
 * - chmod rewrites ACL_USER_OBJ, ACL_OTHER and ACL_MASK (ACL_GROUP_OBJ when there is no
 *   mask) from the new mode; named entries keep their permissions.
 * - A new inode in a directory with a default ACL gets the default ACL, masked by the
 *   mode the creator asked for, as its access ACL (when it says more than the mode), and
 *   a new directory also inherits the default ACL; the umask is not applied then.
 *
 * Decoding and the permission check itself are the VFS's (parsePosixAcl,
 * genericPermission in @erofs-js/vfs); this module reuses them.
 */
import {
  ACL_GROUP,
  ACL_GROUP_OBJ,
  ACL_MASK,
  ACL_OTHER,
  ACL_USER,
  ACL_USER_OBJ,
  SysError,
  parsePosixAcl,
  type AclEntry,
  type PosixAcl,
} from '@erofs-js/vfs';

/** Names of the two ACL xattrs. */
export const XATTR_ACL_ACCESS = 'system.posix_acl_access';
export const XATTR_ACL_DEFAULT = 'system.posix_acl_default';

/**
 * Decodes and validates an ACL value as setxattr receives it (posix_acl_from_xattr, then
 * posix_acl_valid): entries in the order USER_OBJ, USER..., GROUP_OBJ, GROUP..., MASK,
 * OTHER; a MASK required when there are named entries; permissions within rwx. Returns
 * null for an empty list (which removes the ACL). Errors: EINVAL, or EOPNOTSUPP for a
 * version other than 2.
 */
export function parseAclForSet(value: Uint8Array): PosixAcl | null {
  const acl = parsePosixAcl(value);
  if (!acl) return null;
  validateAcl(acl);
  return acl;
}

/** posix_acl_valid: throws EINVAL when the entries are out of order or incomplete. */
export function validateAcl(acl: PosixAcl): void {
  // States: 1 expecting USER_OBJ, 2 in USER entries, 3 in GROUP entries, 4 after MASK, 0 done.
  let state = 1;
  let needsMask = false;
  for (let i = 0; i < acl.length; i++) {
    const e = acl[i];
    if (e.perm & ~7) throw new SysError('EINVAL', `ACL entry ${i} has permission bits 0x${e.perm.toString(16)}`);
    switch (e.tag) {
      case ACL_USER_OBJ:
        if (state !== 1) throw invalid(i, 'ACL_USER_OBJ');
        state = 2;
        break;
      case ACL_USER:
        if (state !== 2) throw invalid(i, 'ACL_USER');
        needsMask = true;
        break;
      case ACL_GROUP_OBJ:
        if (state !== 2) throw invalid(i, 'ACL_GROUP_OBJ');
        state = 3;
        break;
      case ACL_GROUP:
        if (state !== 3) throw invalid(i, 'ACL_GROUP');
        needsMask = true;
        break;
      case ACL_MASK:
        if (state !== 3) throw invalid(i, 'ACL_MASK');
        state = 4;
        break;
      case ACL_OTHER:
        if (state === 4 || (state === 3 && !needsMask)) {
          state = 0;
          break;
        }
        throw invalid(i, 'ACL_OTHER');
      default:
        throw new SysError('EINVAL', `ACL entry ${i} has unknown tag ${e.tag}`);
    }
    if (state === 0 && i !== acl.length - 1) throw new SysError('EINVAL', `ACL entry ${i + 1} follows ACL_OTHER`);
  }
  if (state !== 0) throw new SysError('EINVAL', 'ACL lacks a required entry');
}

function invalid(i: number, what: string): SysError {
  return new SysError('EINVAL', `ACL entry ${i} (${what}) is out of order`);
}

/** The xattr encoding of an ACL, ids of the unnamed entries as -1, as Linux's getxattr gives. */
export function encodeAcl(acl: PosixAcl): Uint8Array {
  const out = new Uint8Array(4 + 8 * acl.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2, true);
  for (let i = 0; i < acl.length; i++) {
    const e = acl[i];
    const o = 4 + 8 * i;
    dv.setUint16(o, e.tag, true);
    dv.setUint16(o + 2, e.perm, true);
    dv.setUint32(o + 4, e.tag === ACL_USER || e.tag === ACL_GROUP ? e.id : 0xffffffff, true);
  }
  return out;
}

/**
 * posix_acl_equiv_mode: the permission bits the ACL stands for (group bits from the mask
 * when present), and whether the ACL says more than those bits.
 */
export function aclEquivMode(acl: PosixAcl): { perms: number; equivalent: boolean } {
  let perms = 0;
  let mask = -1;
  let equivalent = true;
  for (const e of acl) {
    switch (e.tag) {
      case ACL_USER_OBJ:
        perms |= (e.perm & 7) << 6;
        break;
      case ACL_GROUP_OBJ:
        perms |= (e.perm & 7) << 3;
        break;
      case ACL_OTHER:
        perms |= e.perm & 7;
        break;
      case ACL_MASK:
        mask = e.perm & 7;
        equivalent = false;
        break;
      default:
        equivalent = false;
    }
  }
  if (mask >= 0) perms = (perms & ~0o070) | (mask << 3);
  return { perms, equivalent };
}

/** posix_acl_chmod: the access ACL after chmod to `mode`. */
export function aclChmod(acl: PosixAcl, mode: number): PosixAcl {
  const hasMask = acl.some((e) => e.tag === ACL_MASK);
  return acl.map((e): AclEntry => {
    switch (e.tag) {
      case ACL_USER_OBJ:
        return { ...e, perm: (mode >> 6) & 7 };
      case ACL_OTHER:
        return { ...e, perm: mode & 7 };
      case ACL_MASK:
        return { ...e, perm: (mode >> 3) & 7 };
      case ACL_GROUP_OBJ:
        return hasMask ? { ...e } : { ...e, perm: (mode >> 3) & 7 };
      default:
        return { ...e };
    }
  });
}

/**
 * posix_acl_create for a new inode under a directory whose default ACL is `dflt`:
 * returns the mode (the requested permission bits masked by the ACL; the umask is not
 * applied), the access ACL to store (null when it says no more than the mode) and, for
 * a directory, the default ACL it inherits.
 */
export function aclCreate(dflt: PosixAcl, mode: number, isDir: boolean): { mode: number; access: PosixAcl | null; dflt: PosixAcl | null } {
  const acl = dflt.map((e) => ({ ...e }));
  let equivalent = true;
  let groupObj: AclEntry | null = null;
  let maskObj: AclEntry | null = null;
  for (const e of acl) {
    switch (e.tag) {
      case ACL_USER_OBJ:
        e.perm &= (mode >> 6) & 7;
        mode &= (e.perm << 6) | ~0o700;
        break;
      case ACL_USER:
      case ACL_GROUP:
        equivalent = false;
        break;
      case ACL_GROUP_OBJ:
        groupObj = e;
        break;
      case ACL_OTHER:
        e.perm &= mode & 7;
        mode &= e.perm | ~0o007;
        break;
      case ACL_MASK:
        maskObj = e;
        equivalent = false;
        break;
    }
  }
  const g = maskObj ?? groupObj;
  if (g) {
    g.perm &= (mode >> 3) & 7;
    mode &= (g.perm << 3) | ~0o070;
  }
  return { mode, access: equivalent ? null : acl, dflt: isDir ? dflt : null };
}
