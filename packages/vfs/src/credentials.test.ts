import { describe, expect, it } from 'vitest';
import {
  ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
  CAP_SYS_ADMIN, MAY_EXEC, MAY_READ, MAY_WRITE, ROOT, capMask, checkPermission, credentials, genericPermission, hasCap,
  inGroup, ownerOrCapable, parsePosixAcl, type AclEntry,
} from './credentials.js';

function aclBytes(entries: [number, number, number][], version = 2): Uint8Array {
  const out = new Uint8Array(4 + 8 * entries.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, version, true);
  entries.forEach(([tag, perm, id], i) => {
    dv.setUint16(4 + 8 * i, tag, true);
    dv.setUint16(6 + 8 * i, perm, true);
    dv.setUint32(8 + 8 * i, id, true);
  });
  return out;
}

const FILE = 0o100000;
const DIR = 0o040000;
const U = credentials(1000, 1000);

describe('credentials', () => {
  it('builds capability masks and group membership', () => {
    expect(capMask(CAP_DAC_OVERRIDE, CAP_SYS_ADMIN)).toBe((1 << 1) | (1 << 21));
    expect(hasCap(ROOT, CAP_FOWNER)).toBe(true);
    expect(hasCap(U, CAP_FOWNER)).toBe(false);
    const c = credentials(5, 6, [7, 8]);
    expect(inGroup(c, 6) && inGroup(c, 8) && !inGroup(c, 9)).toBe(true);
    expect(Object.isFrozen(c) && Object.isFrozen(c.groups)).toBe(true);
    expect(() => capMask(40)).toThrow(RangeError);
    expect(ownerOrCapable(U, { mode: 0, uid: 1000, gid: 0 })).toBe(true);
    expect(ownerOrCapable(U, { mode: 0, uid: 0, gid: 0 })).toBe(false);
    expect(ownerOrCapable(credentials(1, 1, [], capMask(CAP_FOWNER)), { mode: 0, uid: 0, gid: 0 })).toBe(true);
  });

  it('checks owner, group and other bits like generic_permission', () => {
    const f = { mode: FILE | 0o640, uid: 1000, gid: 50 };
    expect(genericPermission(U, f, MAY_READ | MAY_WRITE)).toBe(true);
    expect(genericPermission(U, f, MAY_EXEC)).toBe(false);
    // The owner class decides for the owner even when group or other would allow more.
    expect(genericPermission(U, { mode: FILE | 0o077, uid: 1000, gid: 1000 }, MAY_READ)).toBe(false);
    expect(genericPermission(credentials(2, 50), f, MAY_READ)).toBe(true);
    expect(genericPermission(credentials(2, 50), f, MAY_WRITE)).toBe(false);
    expect(genericPermission(credentials(2, 9, [50]), f, MAY_READ)).toBe(true);
    expect(genericPermission(credentials(2, 9), f, MAY_READ)).toBe(false);
    // A group member gets the group bits even when other would allow more.
    expect(genericPermission(credentials(2, 50), { mode: FILE | 0o604, uid: 1, gid: 50 }, MAY_READ)).toBe(false);
    expect(() => checkPermission(credentials(2, 9), f, MAY_READ)).toThrow(expect.objectContaining({ code: 'EACCES' }));
  });

  it('lets capabilities override as Linux does', () => {
    const dac = credentials(5, 5, [], capMask(CAP_DAC_OVERRIDE));
    const search = credentials(5, 5, [], capMask(CAP_DAC_READ_SEARCH));
    const none = { mode: FILE | 0o000, uid: 0, gid: 0 };
    const dir = { mode: DIR | 0o000, uid: 0, gid: 0 };
    expect(genericPermission(dac, none, MAY_READ | MAY_WRITE)).toBe(true);
    // Execute needs at least one x bit, even for CAP_DAC_OVERRIDE.
    expect(genericPermission(dac, none, MAY_EXEC)).toBe(false);
    expect(genericPermission(ROOT, none, MAY_EXEC)).toBe(false);
    expect(genericPermission(dac, { ...none, mode: FILE | 0o001 }, MAY_EXEC)).toBe(true);
    expect(genericPermission(dac, dir, MAY_EXEC | MAY_WRITE)).toBe(true);
    expect(genericPermission(search, none, MAY_READ)).toBe(true);
    expect(genericPermission(search, none, MAY_READ | MAY_EXEC)).toBe(false);
    expect(genericPermission(search, dir, MAY_READ | MAY_EXEC)).toBe(true);
    expect(genericPermission(search, dir, MAY_WRITE)).toBe(false);
  });

  it('decodes system.posix_acl_access values with the kernel errors', () => {
    const acl = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 6, 0xffffffff], [ACL_USER, 4, 1000], [ACL_GROUP_OBJ, 4, 0xffffffff], [ACL_OTHER, 0, 0xffffffff]]));
    expect(acl).toEqual([
      { tag: ACL_USER_OBJ, perm: 6, id: 0xffffffff },
      { tag: ACL_USER, perm: 4, id: 1000 },
      { tag: ACL_GROUP_OBJ, perm: 4, id: 0xffffffff },
      { tag: ACL_OTHER, perm: 0, id: 0xffffffff },
    ]);
    expect(parsePosixAcl(aclBytes([]))).toBeNull();
    expect(() => parsePosixAcl(aclBytes([[1, 6, 0]], 1))).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
    expect(() => parsePosixAcl(aclBytes([[1, 6, 0]]).subarray(0, 10))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => parsePosixAcl(aclBytes([[0x40, 6, 0]]))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => parsePosixAcl(new Uint8Array(2))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('enforces POSIX ACLs: named entries, the mask, group entries, other', () => {
    // /xattrs/acl of the basic fixtures: u::rw- u:1000:r-- g::r-- g:2000:rw- m::rw- o::---, mode 0660.
    const acl: AclEntry[] = parsePosixAcl(
      aclBytes([[ACL_USER_OBJ, 6, -1 >>> 0], [ACL_USER, 4, 1000], [ACL_GROUP_OBJ, 4, -1 >>> 0], [ACL_GROUP, 6, 2000], [ACL_MASK, 6, -1 >>> 0], [ACL_OTHER, 0, -1 >>> 0]]),
    )!;
    const f = { mode: FILE | 0o660, uid: 0, gid: 0 };
    const can = (c: ReturnType<typeof credentials>, m: number) => genericPermission(c, f, m, () => acl);
    expect(can(U, MAY_READ)).toBe(true);
    expect(can(U, MAY_WRITE)).toBe(false);
    expect(can(credentials(1001, 2000), MAY_READ | MAY_WRITE)).toBe(true);
    expect(can(credentials(1001, 1001, [2000]), MAY_READ)).toBe(true);
    expect(can(credentials(1001, 1001), MAY_READ)).toBe(false);
    // A matching group entry that does not grant denies, without falling through to other.
    const acl2 = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, 0], [ACL_GROUP_OBJ, 0, 0], [ACL_MASK, 7, 0], [ACL_OTHER, 7, 0]]))!;
    expect(genericPermission(credentials(5, 0), { mode: FILE | 0o707, uid: 1, gid: 0 }, MAY_READ, () => acl2)).toBe(false);
    expect(genericPermission(credentials(5, 9), { mode: FILE | 0o707, uid: 1, gid: 0 }, MAY_READ, () => acl2)).toBe(true);
    // The mask limits named users.
    const acl3 = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, 0], [ACL_USER, 7, 5], [ACL_GROUP_OBJ, 7, 0], [ACL_MASK, 4, 0], [ACL_OTHER, 0, 0]]))!;
    expect(genericPermission(credentials(5, 9), { mode: FILE | 0o740, uid: 1, gid: 0 }, MAY_READ, () => acl3)).toBe(true);
    expect(genericPermission(credentials(5, 9), { mode: FILE | 0o740, uid: 1, gid: 0 }, MAY_WRITE, () => acl3)).toBe(false);
    // The ACL is not consulted when the group bits are all clear, nor for the owner.
    let asked = 0;
    const spy = () => (asked++, acl3);
    genericPermission(credentials(5, 9), { mode: FILE | 0o704, uid: 1, gid: 0 }, MAY_READ, spy);
    genericPermission(credentials(1, 9), { mode: FILE | 0o744, uid: 1, gid: 0 }, MAY_READ, spy);
    expect(asked).toBe(0);
  });
});
