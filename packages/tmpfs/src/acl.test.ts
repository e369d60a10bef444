/**
 * ACL rules, with the values a kernel tmpfs gave (Linux 6.18, setfacl-free: raw xattrs
 * from python3):
 * - setting {user::rw, user:1000:rwx, group::r, mask::r-x, other::x} on a 0644 file made
 *   the mode 0651; chmod 0640 then turned the mask into r-- and other into ---.
 * - a default ACL {user::rwx, user:1000:rwx, group::r-x, mask::rwx, other::---} made a
 *   file created with 0666 (umask 077) 0660 with access ACL {rw, 1000:rwx, r-x, mask rw,
 *   ---}, and a directory created with 0755 0750 with mask r-x, inheriting the default.
 * - entries out of order, or permission bits above rwx: EINVAL.
 */
import { ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ, parsePosixAcl, type PosixAcl } from '@erofs-js/vfs';
import { describe, expect, it } from 'vitest';
import { aclChmod, aclCreate, aclEquivMode, encodeAcl, parseAclForSet, validateAcl } from './acl.js';
import { expectErrno } from './testutil.js';

const e = (tag: number, perm: number, id = 0xffffffff) => ({ tag, perm, id });

function raw(...entries: [number, number, number][]): Uint8Array {
  const out = new Uint8Array(4 + 8 * entries.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2, true);
  entries.forEach(([tag, perm, id], i) => {
    dv.setUint16(4 + 8 * i, tag, true);
    dv.setUint16(6 + 8 * i, perm, true);
    dv.setUint32(8 + 8 * i, id, true);
  });
  return out;
}

const perms = (acl: PosixAcl | null) => acl?.map((x) => [x.tag, x.perm]);

describe('ACLs', () => {
  const named: PosixAcl = [e(ACL_USER_OBJ, 6), e(ACL_USER, 7, 1000), e(ACL_GROUP_OBJ, 4), e(ACL_MASK, 5), e(ACL_OTHER, 1)];

  it('validates order and permission bits (observed EINVAL for both)', () => {
    expect(() => validateAcl(named)).not.toThrow();
    expectErrno(() => parseAclForSet(raw([ACL_GROUP_OBJ, 6, 0], [ACL_USER_OBJ, 4, 0], [ACL_OTHER, 4, 0])), 'EINVAL');
    expectErrno(() => parseAclForSet(raw([ACL_USER_OBJ, 0xf, 0], [ACL_GROUP_OBJ, 4, 0], [ACL_OTHER, 4, 0])), 'EINVAL');
    // Named entries need a mask.
    expectErrno(() => validateAcl([e(ACL_USER_OBJ, 6), e(ACL_USER, 7, 5), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 1)]), 'EINVAL');
    expectErrno(() => validateAcl([e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4)]), 'EINVAL');
    expectErrno(() => validateAcl([e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 1), e(ACL_OTHER, 1)]), 'EINVAL');
    expect(parseAclForSet(raw())).toBe(null);
    expectErrno(() => parseAclForSet(new Uint8Array([1, 0, 0, 0])), 'EOPNOTSUPP');
  });

  it('encodes with -1 ids for unnamed entries (the bytes Linux returned)', () => {
    const hex = Buffer.from(encodeAcl(named)).toString('hex');
    expect(hex).toBe('0200000001000600ffffffff02000700e803000004000400ffffffff10000500ffffffff20000100ffffffff');
    expect(parsePosixAcl(encodeAcl(named))).toEqual(named);
  });

  it('equivalent mode: 0651 from the mask; a base-only ACL is equivalent', () => {
    expect(aclEquivMode(named)).toEqual({ perms: 0o651, equivalent: false });
    expect(aclEquivMode([e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 4)])).toEqual({ perms: 0o644, equivalent: true });
  });

  it('chmod 0640 rewrites owner, mask and other (observed)', () => {
    expect(perms(aclChmod(named, 0o640))).toEqual([[ACL_USER_OBJ, 6], [ACL_USER, 7], [ACL_GROUP_OBJ, 4], [ACL_MASK, 4], [ACL_OTHER, 0]]);
    // Without a mask the group entry follows the mode.
    expect(perms(aclChmod([e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 4)], 0o750))).toEqual([[ACL_USER_OBJ, 7], [ACL_GROUP_OBJ, 5], [ACL_OTHER, 0]]);
  });

  it('create masks by the default ACL (observed 0660 and 0750)', () => {
    const dflt: PosixAcl = [e(ACL_USER_OBJ, 7), e(ACL_USER, 7, 1000), e(ACL_GROUP_OBJ, 5), e(ACL_MASK, 7), e(ACL_OTHER, 0)];
    const f = aclCreate(dflt, 0o666, false);
    expect(f.mode).toBe(0o660);
    expect(Buffer.from(encodeAcl(f.access as PosixAcl)).toString('hex')).toBe('0200000001000600ffffffff02000700e803000004000500ffffffff10000600ffffffff20000000ffffffff');
    expect(f.dflt).toBe(null);
    const d = aclCreate(dflt, 0o755, true);
    expect(d.mode).toBe(0o750);
    expect(Buffer.from(encodeAcl(d.access as PosixAcl)).toString('hex')).toBe('0200000001000700ffffffff02000700e803000004000500ffffffff10000500ffffffff20000000ffffffff');
    expect(d.dflt).toBe(dflt);
    // A default ACL of base entries only: the mode is masked, no access ACL (observed 0640).
    const base = aclCreate([e(ACL_USER_OBJ, 7), e(ACL_GROUP_OBJ, 5), e(ACL_OTHER, 0)], 0o666, false);
    expect(base).toEqual({ mode: 0o640, access: null, dflt: null });
  });
});
