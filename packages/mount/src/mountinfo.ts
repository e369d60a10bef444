/**
 * /proc/self/mountinfo, in the kernel's format (proc(5), fs/proc_namespace.c):
 *
 *   36 1 0:33 / /mnt/data ro,relatime - erofs /images/data.erofs ro,user_xattr,acl,cache_strategy=readaround
 *   (1)(2)(3) (4)(5)      (6)         (7)(8)  (9)                 (10)
 *
 * (1) mount id, (2) parent id (the root's own id for the namespace root), (3) st_dev
 * major:minor, (4) root of the mount within its filesystem, (5) mount point relative to
 * the reader's root, (6) per-mount options, (7) optional fields (none: every mount is
 * private), the " - " separator, (8) filesystem type, (9) source, (10) super-block
 * options. Paths and the source escape space, tab, newline and backslash as \ooo octal,
 * as the kernel's mangle() does. Mounts whose mount point is not below the reader's root
 * are left out, as the kernel does.
 */
import { splitDev } from '@erofs-js/erofs';
import type { Location, Mount, MountNamespace } from './namespace.js';

/** The kernel's mangle(): " \t\n\\" become \040 \011 \012 \134. Works on latin1 byte strings. */
export function mangle(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x5c) out += '\\' + c.toString(8).padStart(3, '0');
    else out += s[i];
  }
  return out;
}

/** Reverses mangle(). */
export function unmangle(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Byte string (latin1) of a JS string's UTF-8 encoding. */
function latin1(s: string): string {
  return String.fromCharCode(...new TextEncoder().encode(s));
}

/** One mountinfo line (no newline) for mount `m` seen from `root`, or null when it is outside the root. */
export function mountinfoLine(m: Mount, root: Location): string | null {
  const { path, reachable } = m.ns.pathOf({ mount: m, node: m.root }, root);
  if (!reachable) return null;
  const { major, minor } = splitDev(m.dev);
  const parentId = m.parent ? m.parent.id : m.id;
  return `${m.id} ${parentId} ${major}:${minor} / ${mangle(path)} ${m.options} - ${m.fstype} ${mangle(latin1(m.source))} ${m.spec.superOptions ?? 'ro'}`;
}

/** The mountinfo file as latin1 bytes-in-a-string (names are byte strings). */
export function mountinfoFor(ns: MountNamespace, root: Location = ns.rootLocation): string {
  let out = '';
  for (const m of ns.mounts()) {
    const line = mountinfoLine(m, root);
    if (line !== null) out += line + '\n';
  }
  return out;
}

/** The mountinfo file as bytes, ready to serve from a synthetic /proc/self/mountinfo. */
export function mountinfoBytes(ns: MountNamespace, root?: Location): Uint8Array {
  return Uint8Array.from(mountinfoFor(ns, root), (c) => c.charCodeAt(0));
}

/** The mountinfo file as text (UTF-8 names decoded). */
export function mountinfo(ns: MountNamespace, root?: Location): string {
  return new TextDecoder().decode(mountinfoBytes(ns, root));
}

export interface MountinfoEntry {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountPoint: string;
  options: string;
  optional: string[];
  fstype: string;
  source: string;
  superOptions: string;
}

/** Parses one mountinfo line (for tests and tools); throws on a malformed one. */
export function parseMountinfoLine(line: string): MountinfoEntry {
  const sep = line.indexOf(' - ');
  if (sep < 0) throw new Error(`mountinfo line without " - ": ${line}`);
  const left = line.slice(0, sep).split(' ');
  const right = line.slice(sep + 3).split(' ');
  if (left.length < 6 || right.length !== 3) throw new Error(`malformed mountinfo line: ${line}`);
  const [id, parentId, dev, root, mountPoint, options, ...optional] = left;
  const m = /^(\d+):(\d+)$/.exec(dev);
  if (!m || !/^\d+$/.test(id) || !/^\d+$/.test(parentId)) throw new Error(`malformed mountinfo line: ${line}`);
  return {
    id: Number(id),
    parentId: Number(parentId),
    major: Number(m[1]),
    minor: Number(m[2]),
    root: unmangle(root),
    mountPoint: unmangle(mountPoint),
    options,
    optional,
    fstype: right[0],
    source: unmangle(right[1]),
    superOptions: right[2],
  };
}
