/**
 * The write-surface oracle battery: scripted system calls whose answers the Linux kernel
 * gives (tools/oracle/record.py runs them on a kernel tmpfs and on a kernel EROFS mount
 * and stores every answer under fixtures/oracle/), and which tests/write-oracle.test.ts
 * replays through `Task` on our own mounts, demanding the same answers.
 *
 * Run `npx tsx tools/oracle/battery.ts` to write tools/oracle/battery.json, the form the
 * recorder reads (the test checks the JSON is current and the fixtures were recorded
 * from it).
 *
 * ## Format
 *
 * A battery is a list of scenarios. A scenario names the targets it runs on ("tmpfs",
 * "erofs"), the tree it starts from, and its steps. The process is chrooted into the
 * mount, so "/" and relative paths both name places on the mount under test, and the cwd
 * is its root. Each scenario starts with umask 022, as root, on a fresh mount (tmpfs) or
 * the image's tree (erofs).
 *
 * - `tree`: "empty" (a new tmpfs: its root is 1777 root:root) or "base": a small copy of
 *   the fixture image basic-18's layout (same names, types, modes, owners), built by the
 *   steps in TREES.base on tmpfs; on erofs the image itself is that tree, and tree steps
 *   are not run.
 * - A step: `{ call, args, who?, fd?, setup? }`.
 *   - `call` is the Linux system call name (the `Task` method of that name), or one of
 *     the pseudo calls `listdir` (open O_DIRECTORY, getdents64 to the end, close: the
 *     names in order, "." and ".." left out) and `sleep`.
 *   - `who` names a credential profile from PROFILES (default "root"): root has every
 *     capability; the others are unprivileged with no capabilities at all.
 *   - `fd` names the descriptor an `openat` returns; later steps pass that name where a
 *     descriptor goes. A name not bound (its open failed, or it was closed) is -1.
 *   - `setup` marks steps that build the scenario's starting tree: they run as root, must
 *     succeed, and are skipped on erofs.
 * - Arguments, in the syscall's order:
 *   - a descriptor: "AT_FDCWD", a descriptor name, or a number (999: not open);
 *   - a path: a string (UTF-8);
 *   - flags: a list of symbol names (FLAGS), [] for 0;
 *   - a mode: an octal string "0644", optionally with a type: "S_IFIFO|0644";
 *   - a device: [major, minor];
 *   - write payloads (Data): a string (its UTF-8 bytes) or { fill, len }: `len` copies of
 *     the one-character string `fill`;
 *   - xattr values (Value): Data, or { acl: "u::rw-,u:1000:r--,g::r--,m::rw-,o::---" }
 *     (encoded as the kernel's system.posix_acl_* xattr: see encodeAcl), or { hex };
 *   - times: null or [[sec, nsec], [sec, nsec]] where nsec may be "UTIME_NOW" / "UTIME_OMIT";
 *   - read sizes and offsets: numbers; an offset past 2^53 is a string of decimal digits.
 *
 * ## What is recorded (see record.py)
 *
 * For each step: `{ ret }` or `{ err: "ENOENT" }`; for openat success `ret` is "fd". For
 * reads the size and sha256 of the bytes (and the bytes in base64 when at most 64). For
 * newfstatat/fstat the stat fields, with the inode number replaced by its order of first
 * appearance in the scenario (`ino: 0, 1, ...`), and each time either [sec, nsec] (an
 * explicit time, more than a day from the clock) or "now", plus `changed`: which of
 * atime/mtime/ctime differ from the previous stat of the same inode in the scenario. At
 * the end of a scenario, for tmpfs, the tree's manifest (shared/tools/manifest.py's
 * records, inode numbers as order numbers, "now" mtimes masked) and each directory's
 * names in getdents order.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Target = 'tmpfs' | 'erofs';
export type Who = 'root' | 'u1000' | 'u1001' | 'nobody';
export type Data = string | { fill: string; len: number };
export type Value = Data | { acl: string } | { hex: string };
export type Arg = string | number | null | string[] | number[] | Data | Value | Arg[];

export interface Step {
  call: string;
  args: Arg[];
  who?: Who;
  fd?: string;
  setup?: true;
}

export interface Scenario {
  name: string;
  on: Target[];
  tree: 'empty' | 'base';
  steps: Step[];
}

export interface Profile {
  uid: number;
  gid: number;
  groups: number[];
  /** "all": every capability (root); "none": an empty effective set. */
  caps: 'all' | 'none';
}

export const PROFILES: Record<Who, Profile> = {
  root: { uid: 0, gid: 0, groups: [], caps: 'all' },
  u1000: { uid: 1000, gid: 1000, groups: [], caps: 'none' },
  /** A second user who is a member of group 1000 (setgid and group-permission cases). */
  u1001: { uid: 1001, gid: 1001, groups: [1000], caps: 'none' },
  nobody: { uid: 65534, gid: 65534, groups: [], caps: 'none' },
};

/** Linux flag and mode symbols (x86-64 / generic values); the recorder checks them against Python's os module. */
export const FLAGS: Record<string, number> = {
  O_RDONLY: 0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  O_PATH: 0o10000000,
  O_TMPFILE: 0o20200000,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_REMOVEDIR: 0x200,
  AT_SYMLINK_FOLLOW: 0x400,
  AT_EMPTY_PATH: 0x1000,
  RENAME_NOREPLACE: 1,
  RENAME_EXCHANGE: 2,
  RENAME_WHITEOUT: 4,
  FALLOC_FL_KEEP_SIZE: 1,
  FALLOC_FL_PUNCH_HOLE: 2,
  FALLOC_FL_COLLAPSE_RANGE: 8,
  FALLOC_FL_ZERO_RANGE: 0x10,
  FALLOC_FL_INSERT_RANGE: 0x20,
  XATTR_CREATE: 1,
  XATTR_REPLACE: 2,
  S_IFIFO: 0o010000,
  S_IFCHR: 0o020000,
  S_IFDIR: 0o040000,
  S_IFBLK: 0o060000,
  S_IFREG: 0o100000,
  S_IFLNK: 0o120000,
  S_IFSOCK: 0o140000,
  SEEK_SET: 0,
  SEEK_CUR: 1,
  SEEK_END: 2,
  SEEK_DATA: 3,
  SEEK_HOLE: 4,
  UTIME_NOW: 0x3fffffff,
  UTIME_OMIT: 0x3ffffffe,
  /** A bit no call defines (unknown-flag cases). */
  BIT_0x80: 0x80,
  BIT_0x8: 0x8,
};

/** A list of symbols, or a "|"-joined string of symbols and octal numbers, as a number. */
export function flagValue(f: string | string[] | number): number {
  if (typeof f === 'number') return f;
  const parts = Array.isArray(f) ? f : f.split('|');
  let v = 0;
  for (const p of parts) {
    if (/^0[0-7]*$/.test(p)) v |= parseInt(p, 8);
    else if (p in FLAGS) v |= FLAGS[p];
    else throw new Error(`unknown symbol ${p}`);
  }
  return v;
}

/** A write payload as bytes. */
export function dataBytes(d: Value): Uint8Array {
  if (typeof d === 'string') return new TextEncoder().encode(d);
  if ('fill' in d) return new TextEncoder().encode(d.fill.repeat(d.len));
  if ('hex' in d) return new Uint8Array(Buffer.from(d.hex, 'hex'));
  return encodeAcl(d.acl);
}

const ACL_TAGS: Record<string, number> = { u: 0x01, g: 0x04, m: 0x10, o: 0x20 };
const ACL_NAMED: Record<string, number> = { u: 0x02, g: 0x08 };

/**
 * A POSIX ACL in short text form ("u::rw-,u:1000:r--,g::r--,m::rw-,o::---") as the
 * system.posix_acl_access / _default xattr value: u32 version 2, then {u16 tag, u16 perm,
 * u32 id} little-endian, id 0xffffffff for the unnamed entries, entries in the order given.
 * The text may also give an entry as "tag=NUMBER:perm:id" for a deliberately bad tag, and
 * "version=N" first for a bad version.
 */
export function encodeAcl(text: string): Uint8Array {
  let version = 2;
  const entries: [number, number, number][] = [];
  for (const part of text.split(',').filter(Boolean)) {
    if (part.startsWith('version=')) {
      version = Number(part.slice(8));
      continue;
    }
    const [tag, id, perm] = part.split(':');
    const bits = (perm[0] === 'r' ? 4 : 0) | (perm[1] === 'w' ? 2 : 0) | (perm[2] === 'x' ? 1 : 0);
    if (tag.startsWith('tag=')) entries.push([Number(tag.slice(4)), bits, id === '' ? 0xffffffff : Number(id)]);
    else if (id === '') entries.push([ACL_TAGS[tag], bits, 0xffffffff]);
    else entries.push([ACL_NAMED[tag], bits, Number(id)]);
  }
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

// ---- a small builder -----------------------------------------------------------------

/**
 * An offset or length: a number when it is a safe integer, else its exact decimal digits
 * (JSON numbers past 2^53 do not survive a round trip through a double's shortest form).
 */
function big(n: number): number | string {
  return Number.isSafeInteger(n) ? n : BigInt(n).toString();
}

/** An offset argument as the test passes it: a number, or a bigint past 2^53. */
export function offsetArg(a: Arg): number | bigint {
  return typeof a === 'string' ? BigInt(a) : (a as number);
}

export type FdArg = string | number;
export type Times = [[number, number | string], [number, number | string]] | null;
const CWD = 'AT_FDCWD';

/** Builds a scenario's steps, one method per system call (tools/oracle/overlay-battery.ts extends it). */
export class Builder {
  readonly steps: Step[] = [];
  private who: Who = 'root';
  private inSetup = false;
  private fdSeq = 0;

  protected push(call: string, args: Arg[], fd?: string): this {
    const s: Step = { call, args };
    if (this.who !== 'root' && !this.inSetup) s.who = this.who;
    if (fd) s.fd = fd;
    if (this.inSetup) s.setup = true;
    this.steps.push(s);
    return this;
  }

  /** Steps run as another profile. */
  as(who: Who, fn: () => void): this {
    const prev = this.who;
    this.who = who;
    fn();
    this.who = prev;
    return this;
  }

  /** Steps that build the starting tree. */
  setup(fn: () => void): this {
    this.inSetup = true;
    fn();
    this.inSetup = false;
    return this;
  }

  // syscalls, named and ordered as Linux's
  openat(path: string, flags: string[], mode = '0', fd?: string, dirfd: FdArg = CWD) {
    return this.push('openat', [dirfd, path, flags, mode], fd);
  }
  close(fd: FdArg) {
    return this.push('close', [fd]);
  }
  write(fd: FdArg, d: Data) {
    return this.push('write', [fd, d]);
  }
  pwrite64(fd: FdArg, d: Data, off: number) {
    return this.push('pwrite64', [fd, d, big(off)]);
  }
  writev(fd: FdArg, ds: Data[]) {
    return this.push('writev', [fd, ds]);
  }
  pwritev(fd: FdArg, ds: Data[], off: number) {
    return this.push('pwritev', [fd, ds, big(off)]);
  }
  read(fd: FdArg, count: number) {
    return this.push('read', [fd, count]);
  }
  pread64(fd: FdArg, count: number, off: number) {
    return this.push('pread64', [fd, count, big(off)]);
  }
  lseek(fd: FdArg, off: number, whence: string) {
    return this.push('lseek', [fd, big(off), whence]);
  }
  ftruncate(fd: FdArg, len: number) {
    return this.push('ftruncate', [fd, big(len)]);
  }
  truncate(path: string, len: number) {
    return this.push('truncate', [path, big(len)]);
  }
  fallocate(fd: FdArg, mode: string[], off: number, len: number) {
    return this.push('fallocate', [fd, mode, big(off), big(len)]);
  }
  fsync(fd: FdArg) {
    return this.push('fsync', [fd]);
  }
  fdatasync(fd: FdArg) {
    return this.push('fdatasync', [fd]);
  }
  syncfs(fd: FdArg) {
    return this.push('syncfs', [fd]);
  }
  mkdirat(path: string, mode = '0755', dirfd: FdArg = CWD) {
    return this.push('mkdirat', [dirfd, path, mode]);
  }
  mknodat(path: string, mode: string, dev: [number, number] = [0, 0], dirfd: FdArg = CWD) {
    return this.push('mknodat', [dirfd, path, mode, dev]);
  }
  symlinkat(target: string, path: string, dirfd: FdArg = CWD) {
    return this.push('symlinkat', [target, dirfd, path]);
  }
  linkat(oldpath: string, newpath: string, flags: string[] = [], olddirfd: FdArg = CWD, newdirfd: FdArg = CWD) {
    return this.push('linkat', [olddirfd, oldpath, newdirfd, newpath, flags]);
  }
  unlinkat(path: string, flags: string[] = [], dirfd: FdArg = CWD) {
    return this.push('unlinkat', [dirfd, path, flags]);
  }
  rmdir(path: string) {
    return this.unlinkat(path, ['AT_REMOVEDIR']);
  }
  renameat2(oldpath: string, newpath: string, flags: string[] = [], olddirfd: FdArg = CWD, newdirfd: FdArg = CWD) {
    return this.push('renameat2', [olddirfd, oldpath, newdirfd, newpath, flags]);
  }
  fchmodat(path: string, mode: string, dirfd: FdArg = CWD) {
    return this.push('fchmodat', [dirfd, path, mode, []]);
  }
  fchmodat2(path: string, mode: string, flags: string[], dirfd: FdArg = CWD) {
    return this.push('fchmodat2', [dirfd, path, mode, flags]);
  }
  fchmod(fd: FdArg, mode: string) {
    return this.push('fchmod', [fd, mode]);
  }
  fchownat(path: string, uid: number, gid: number, flags: string[] = [], dirfd: FdArg = CWD) {
    return this.push('fchownat', [dirfd, path, uid, gid, flags]);
  }
  fchown(fd: FdArg, uid: number, gid: number) {
    return this.push('fchown', [fd, uid, gid]);
  }
  lchown(path: string, uid: number, gid: number) {
    return this.push('lchown', [path, uid, gid]);
  }
  utimensat(path: string, times: Times, flags: string[] = [], dirfd: FdArg = CWD) {
    return this.push('utimensat', [dirfd, path, times as Arg, flags]);
  }
  futimens(fd: FdArg, times: Times) {
    return this.push('futimens', [fd, times as Arg]);
  }
  setxattr(path: string, name: string, value: Value, flags: string[] = []) {
    return this.push('setxattr', [path, name, value, flags]);
  }
  lsetxattr(path: string, name: string, value: Value, flags: string[] = []) {
    return this.push('lsetxattr', [path, name, value, flags]);
  }
  fsetxattr(fd: FdArg, name: string, value: Value, flags: string[] = []) {
    return this.push('fsetxattr', [fd, name, value, flags]);
  }
  removexattr(path: string, name: string) {
    return this.push('removexattr', [path, name]);
  }
  lremovexattr(path: string, name: string) {
    return this.push('lremovexattr', [path, name]);
  }
  fremovexattr(fd: FdArg, name: string) {
    return this.push('fremovexattr', [fd, name]);
  }
  getxattr(path: string, name: string, size = 4096) {
    return this.push('getxattr', [path, name, size]);
  }
  lgetxattr(path: string, name: string, size = 4096) {
    return this.push('lgetxattr', [path, name, size]);
  }
  fgetxattr(fd: FdArg, name: string, size = 4096) {
    return this.push('fgetxattr', [fd, name, size]);
  }
  umask(mask: string) {
    return this.push('umask', [mask]);
  }
  stat(path: string, flags: string[] = ['AT_SYMLINK_NOFOLLOW'], dirfd: FdArg = CWD) {
    return this.push('newfstatat', [dirfd, path, flags]);
  }
  fstat(fd: FdArg) {
    return this.push('fstat', [fd]);
  }
  readlinkat(path: string, size = 4096, dirfd: FdArg = CWD) {
    return this.push('readlinkat', [dirfd, path, size]);
  }
  listdir(path: string) {
    return this.push('listdir', [path]);
  }
  /** Lets the clock move on, so that "changed" times are visible at any timestamp granularity. */
  sleep() {
    return this.push('sleep', []);
  }

  // ---- setup helpers (several syscalls each) -------------------------------------------
  private nextFd() {
    return `s${++this.fdSeq}`;
  }
  dir(path: string, mode = '0755', uid = 0, gid = 0) {
    this.mkdirat(path, '0700');
    if (uid !== 0 || gid !== 0) this.fchownat(path, uid, gid);
    return this.fchmodat(path, mode);
  }
  file(path: string, data: Data = '', mode = '0644', uid = 0, gid = 0) {
    const fd = this.nextFd();
    this.openat(path, ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0600', fd);
    if (typeof data !== 'string' || data.length) this.write(fd, data);
    if (uid !== 0 || gid !== 0) this.fchown(fd, uid, gid);
    this.fchmod(fd, mode);
    return this.close(fd);
  }
  link(path: string, target: string, uid = 0, gid = 0) {
    this.symlinkat(target, path);
    if (uid !== 0 || gid !== 0) this.fchownat(path, uid, gid, ['AT_SYMLINK_NOFOLLOW']);
    return this;
  }
  node(path: string, mode: string, dev: [number, number] = [0, 0], uid = 0, gid = 0) {
    this.mknodat(path, mode, dev);
    if (uid !== 0 || gid !== 0) this.fchownat(path, uid, gid);
    return this.fchmodat(path, mode.split('|').pop()!);
  }
}

function scenario(name: string, on: Target[], tree: Scenario['tree'], build: (b: Builder) => void): Scenario {
  const b = new Builder();
  build(b);
  return { name, on, tree, steps: b.steps };
}

// ---- the starting trees --------------------------------------------------------------

const ACL_FILE = 'u::rw-,u:1000:r--,g::r--,g:2000:rw-,m::rw-,o::---';
const ACL_DIR = 'u::rwx,u:1000:r-x,g::r-x,m::r-x,o::r-x';

/** A small copy of the parts of basic-18's tree the "both" scenarios touch (tmpfs only). */
function baseTree(b: Builder) {
  b.fchmodat('/', '0755');
  b.dir('files');
  b.file('files/size-0');
  b.file('files/size-1', 'a');
  b.file('files/text.txt', 'text in a file\n');
  b.dir('links');
  b.link('links/rel', '../files/size-1');
  b.link('links/dangling', 'does/not/exist');
  b.link('links/one', 'x');
  b.link('links/todir', '../deep');
  b.link('links/loop', 'loop');
  b.link('links/with-xattr', '../files/size-0', 1000, 1000);
  b.lsetxattr('links/with-xattr', 'trusted.symlink', 'xattr on a symlink');
  b.dir('deep');
  b.dir('deep/1');
  b.dir('dev');
  b.node('dev/null', 'S_IFCHR|0666', [1, 3]);
  b.node('dev/zero', 'S_IFCHR|0666', [1, 5]);
  b.node('dev/fifo', 'S_IFIFO|0644');
  b.dir('modes');
  b.dir('modes/sticky-dir', '01777');
  b.dir('modes/dir-0000', '0000');
  b.dir('modes/dir-7777', '07777');
  b.file('modes/m0600', '', '0600');
  b.file('modes/m4755', '', '04755');
  b.file('modes/m2755', '', '02755');
  b.dir('owners');
  b.file('owners/root');
  b.file('owners/user', '', '0644', 1000, 1000);
  b.dir('owners/dir-large', '0755', 100000, 70000);
  b.dir('hardlinks');
  b.file('hardlinks/h1', { fill: 'h', len: 5000 });
  b.linkat('hardlinks/h1', 'hardlinks/h2');
  b.dir('hardlinks/sub');
  b.linkat('hardlinks/h1', 'hardlinks/sub/h3');
  b.setxattr('hardlinks/h1', 'user.hard', 'shared by three names');
  b.dir('xattrs');
  b.file('xattrs/user', 'hi');
  b.setxattr('xattrs/user', 'user.a', '1');
  b.setxattr('xattrs/user', 'user.empty', '');
  b.file('xattrs/acl', '', '0660');
  b.setxattr('xattrs/acl', 'system.posix_acl_access', { acl: ACL_FILE });
  b.dir('xattrs/acl-dir');
  b.setxattr('xattrs/acl-dir', 'system.posix_acl_access', { acl: ACL_DIR });
  b.setxattr('xattrs/acl-dir', 'system.posix_acl_default', { acl: ACL_DIR });
}

function treeSteps(build: (b: Builder) => void): Step[] {
  const b = new Builder();
  b.setup(() => build(b));
  return b.steps;
}

export const TREES: Record<Scenario['tree'], Step[]> = {
  empty: [],
  base: treeSteps(baseTree),
};

const BOTH: Target[] = ['tmpfs', 'erofs'];
const TMPFS: Target[] = ['tmpfs'];
const T1: Times = [
  [1000000000, 0],
  [1000000001, 500],
];

// ---- scenarios on both targets (the base tree): which error wins ------------------------

const createPrecedence = scenario('create: existing names, missing parents, dots, trailing slashes', BOTH, 'base', (b) => {
  b.mkdirat('files');
  b.mkdirat('files/newdir');
  b.mkdirat('files/newdir2/');
  b.mkdirat('missing/new');
  b.mkdirat('files/size-1/new');
  b.mkdirat('files/size-1/');
  b.mkdirat('/');
  b.mkdirat('.');
  b.mkdirat('..');
  b.mkdirat('files/.');
  b.mkdirat('files/..');
  b.mkdirat('links/dangling');
  b.mkdirat('links/dangling/');
  b.mkdirat('links/todir/');
  b.mkdirat('links/loop/x');
  b.mkdirat('x'.repeat(256));
  b.symlinkat('x', 'files/size-1');
  b.symlinkat('x', 'links/dangling');
  b.symlinkat('x', 'files');
  b.symlinkat('x', 'files/newlink');
  b.symlinkat('', 'files/emptylink');
  b.symlinkat('x', 'files/newlink2/');
  b.symlinkat('x', '/');
  b.symlinkat('x', 'missing/l');
  b.mknodat('files/fifo', 'S_IFIFO|0644');
  b.mknodat('files/size-1', 'S_IFIFO|0644');
  b.mknodat('files/chr', 'S_IFCHR|0644', [1, 3]);
  b.mknodat('files/dirnode', 'S_IFDIR|0755');
  b.mknodat('files/reg', 'S_IFREG|0644');
  b.mknodat('files/zero-mode', '0644');
  b.mknodat('files/sock', 'S_IFSOCK|0644');
  b.mknodat('files/bad', 'S_IFLNK|0777');
  b.mknodat('files/fifo2/', 'S_IFIFO|0644');
  b.linkat('files/size-1', 'files/hl');
  b.linkat('files', 'deep/files-link');
  b.linkat('files/size-1', 'files/size-0');
  b.linkat('files/missing', 'files/hl2');
  b.linkat('links/dangling', 'files/symlink-link');
  b.linkat('links/dangling', 'files/symlink-link2', ['AT_SYMLINK_FOLLOW']);
  b.linkat('links/rel', 'files/followed-link', ['AT_SYMLINK_FOLLOW']);
  b.linkat('files/size-1', 'files/hl3/');
  b.linkat('files/size-1', '/');
  b.linkat('files/size-1', 'files/x', ['BIT_0x8']);
  b.openat('files/size-1', ['O_RDONLY', 'O_CREAT'], '0644', 'f1');
  b.fstat('f1');
  b.close('f1');
  b.openat('files/size-1', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0644');
  b.openat('links/dangling', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0644');
  b.openat('links/rel', ['O_RDONLY', 'O_CREAT', 'O_NOFOLLOW'], '0644');
  b.openat('links/one', ['O_WRONLY', 'O_CREAT'], '0640', 'f2');
  b.close('f2');
  b.openat('files/new', ['O_RDONLY', 'O_CREAT'], '0600', 'f3');
  b.close('f3');
  b.openat('files/', ['O_WRONLY', 'O_CREAT'], '0644');
  b.openat('files', ['O_WRONLY']);
  b.openat('files', ['O_RDWR']);
  b.openat('files/newfile/', ['O_WRONLY', 'O_CREAT'], '0644');
  b.openat('/', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0644');
  b.openat('/', ['O_RDONLY', 'O_CREAT'], '0644');
  b.openat('.', ['O_RDWR', 'O_CREAT', 'O_EXCL'], '0644');
  b.openat('files/..', ['O_RDONLY', 'O_CREAT', 'O_EXCL'], '0644');
  b.openat('missing/x', ['O_WRONLY', 'O_CREAT'], '0644');
  b.openat('files/size-1/x', ['O_WRONLY', 'O_CREAT'], '0644');
  b.openat('files/size-1/', ['O_RDONLY']);
  b.openat('files/text.txt', ['O_RDONLY', 'O_TRUNC'], '0', 'f4');
  b.fstat('f4');
  b.close('f4');
  b.openat('files', ['O_TMPFILE', 'O_RDWR'], '0600', 'f5');
  b.fstat('f5');
  b.close('f5');
  b.openat('files', ['O_TMPFILE', 'O_RDONLY'], '0600');
  b.openat('files/absent', ['O_TMPFILE', 'O_RDONLY'], '0600');
  b.openat('files/absent', ['O_TMPFILE', 'O_WRONLY'], '0600');
  b.openat('files/size-1', ['O_TMPFILE', 'O_RDWR'], '0600');
  b.openat('files', ['O_DIRECTORY', 'O_CREAT'], '0755');
  b.openat('files/newdirfile', ['O_DIRECTORY', 'O_CREAT', 'O_WRONLY'], '0755');
  b.openat('files/loop-create', ['O_WRONLY', 'O_CREAT', 'O_NOFOLLOW'], '0644', 'f6');
  b.close('f6');
  b.openat('links/loop', ['O_WRONLY', 'O_CREAT'], '0644');
  b.openat('links/todir', ['O_WRONLY', 'O_CREAT'], '0644');
  b.as('u1000', () => {
    b.mkdirat('files/u');
    b.mkdirat('modes/sticky-dir/u');
    b.mkdirat('files');
    b.mkdirat('modes/dir-0000/x');
    b.mkdirat('modes/dir-0000');
    b.openat('files/size-1', ['O_WRONLY']);
    b.openat('files/size-1', ['O_RDONLY', 'O_CREAT'], '0644', 'u1');
    b.close('u1');
    b.openat('files/size-1', ['O_RDONLY', 'O_TRUNC']);
    b.openat('owners/user', ['O_WRONLY'], '0', 'u2');
    b.close('u2');
    b.openat('files/u', ['O_WRONLY', 'O_CREAT'], '0644');
    b.openat('modes/sticky-dir/uf', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0644', 'u3');
    b.close('u3');
    b.openat('modes/dir-0000/x', ['O_WRONLY', 'O_CREAT'], '0644');
    b.symlinkat('x', 'files/ul');
    b.symlinkat('x', 'files/size-1');
    b.mknodat('files/ufifo', 'S_IFIFO|0644');
    b.mknodat('modes/sticky-dir/ufifo', 'S_IFIFO|0644');
    b.mknodat('modes/sticky-dir/uchr', 'S_IFCHR|0644', [1, 3]);
    b.linkat('files/size-1', 'modes/sticky-dir/uhl');
    b.linkat('owners/user', 'modes/sticky-dir/uhl2');
    b.openat('files', ['O_TMPFILE', 'O_RDWR'], '0600');
    b.openat('modes/sticky-dir', ['O_TMPFILE', 'O_RDWR'], '0600', 'u4');
    b.close('u4');
  });
  b.as('nobody', () => {
    b.mkdirat('owners/dir-large/x');
    b.mkdirat('modes/dir-7777/n');
    b.openat('modes/m0600', ['O_RDONLY', 'O_CREAT'], '0644');
    b.openat('xattrs/acl', ['O_RDONLY']);
  });
});

const removePrecedence = scenario('remove and rename: which error wins', BOTH, 'base', (b) => {
  b.unlinkat('files/size-0');
  b.unlinkat('files/missing');
  b.unlinkat('missing/x');
  b.unlinkat('files');
  b.unlinkat('files/');
  b.unlinkat('files/size-1/');
  b.unlinkat('files/size-1/x');
  b.unlinkat('/');
  b.unlinkat('.');
  b.unlinkat('..');
  b.unlinkat('links/todir/');
  b.unlinkat('links/dangling');
  b.unlinkat('dev/fifo');
  b.unlinkat('files/text.txt', ['BIT_0x8']);
  b.rmdir('files');
  b.rmdir('deep/1');
  b.rmdir('files/size-1');
  b.rmdir('.');
  b.rmdir('..');
  b.rmdir('/');
  b.rmdir('files/.');
  b.rmdir('files/..');
  b.rmdir('deep/missing');
  b.rmdir('modes/dir-0000/');
  b.rmdir('links/todir');
  b.rmdir('links/todir/');
  b.renameat2('files/size-1', 'files/renamed');
  b.renameat2('files/missing', 'files/x');
  b.renameat2('files', 'files/sub');
  b.renameat2('deep', 'deep/1/deeper');
  b.renameat2('files/text.txt', 'hardlinks/h1');
  b.renameat2('files/text.txt', 'deep');
  b.renameat2('deep', 'files/text.txt');
  b.renameat2('modes', 'hardlinks');
  b.renameat2('.', 'x');
  b.renameat2('/', 'x');
  b.renameat2('files/text.txt', '/');
  b.renameat2('files/text.txt', '.');
  b.renameat2('files/text.txt', 'files/..');
  b.renameat2('files/text.txt', 'owners/root', ['RENAME_NOREPLACE']);
  b.renameat2('files/text.txt', 'files/nr', ['RENAME_NOREPLACE']);
  b.renameat2('files/nr', 'deep', ['RENAME_EXCHANGE']);
  b.renameat2('files/nr', 'files/none', ['RENAME_EXCHANGE']);
  b.renameat2('files/nr', 'owners/root', ['RENAME_EXCHANGE', 'RENAME_NOREPLACE']);
  b.renameat2('owners/root', 'owners/wh', ['RENAME_WHITEOUT']);
  b.renameat2('owners/wh', 'owners/wh2', ['RENAME_WHITEOUT', 'RENAME_EXCHANGE']);
  b.renameat2('hardlinks/h1', 'hardlinks/h2');
  b.renameat2('hardlinks/h1/', 'hardlinks/h4');
  b.renameat2('deep/1/', 'deep/2/');
  b.renameat2('owners/wh', 'owners/wh3', ['BIT_0x80']);
  b.renameat2('links/todir', 'links/todir2');
  b.renameat2('links/todir/', 'links/todir3');
  b.as('u1000', () => {
    b.unlinkat('hardlinks/h2');
    b.unlinkat('hardlinks/missing');
    b.unlinkat('modes/dir-0000/x');
    b.rmdir('deep/1');
    b.renameat2('owners/user', 'owners/user2');
    b.renameat2('owners/user', 'modes/sticky-dir/user2');
    b.renameat2('modes/dir-7777', 'modes/dir-7777b');
  });
  b.as('nobody', () => {
    b.unlinkat('modes/dir-7777/missing');
    b.unlinkat('owners/dir-large/x');
  });
  b.listdir('files');
  b.listdir('deep');
});

const attrPrecedence = scenario('attributes: chmod, chown, times, truncate, xattrs', BOTH, 'base', (b) => {
  b.fchmodat('files/size-1', '0600');
  b.fchmodat('files/missing', '0600');
  b.fchmodat('links/dangling', '0600');
  b.fchmodat('links/rel', '0640');
  b.fchmodat('files/size-1/', '0600');
  b.fchmodat('/', '0755');
  b.fchmodat('files/text.txt', 'S_IFDIR|04640');
  b.fchmodat2('links/rel', '0600', ['AT_SYMLINK_NOFOLLOW']);
  b.fchmodat2('files/size-1', '0644', ['AT_SYMLINK_NOFOLLOW']);
  b.fchmodat2('files/size-1', '0644', ['AT_REMOVEDIR']);
  b.fchownat('files/size-1', 1000, 1000);
  b.fchownat('files/size-1', -1, -1);
  b.fchownat('files/missing', 0, 0);
  b.fchownat('links/dangling', 0, 0);
  b.fchownat('links/dangling', 1000, -1, ['AT_SYMLINK_NOFOLLOW']);
  b.lchown('links/rel', 1000, 1000);
  b.lchown('links/loop', 1000, 1000);
  b.fchownat('files/text.txt', 0, 0, ['AT_REMOVEDIR']);
  b.utimensat('files/size-1', T1);
  b.utimensat('files/size-1', null);
  b.utimensat('files/size-1', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_OMIT'],
  ]);
  b.utimensat('files/size-1', [
    [0, 'UTIME_NOW'],
    [5, 'UTIME_OMIT'],
  ]);
  b.utimensat('files/size-1', [
    [0, 1000000000],
    [0, 0],
  ]);
  b.utimensat('files/size-1', [
    [0, -1],
    [0, 0],
  ]);
  b.utimensat('links/dangling', T1, ['AT_SYMLINK_NOFOLLOW']);
  b.utimensat('links/dangling', T1);
  b.utimensat('dev/fifo', T1);
  b.utimensat('files/missing', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_OMIT'],
  ]);
  b.utimensat('files/size-1', T1, ['AT_REMOVEDIR']);
  b.truncate('files/size-1', 0);
  b.truncate('files', 0);
  b.truncate('dev/fifo', 0);
  b.truncate('dev/null', 0);
  b.truncate('links/dangling', 0);
  b.truncate('links/rel', 5);
  b.truncate('files/text.txt', -1);
  b.truncate('files/missing', 0);
  b.truncate('files/size-1/', 0);
  b.setxattr('files/size-1', 'user.x', 'v');
  b.setxattr('files/size-1', 'user.x', 'w', ['XATTR_CREATE']);
  b.setxattr('files/size-1', 'user.nope', 'w', ['XATTR_REPLACE']);
  b.setxattr('files/size-1', 'user.x', 'w', ['XATTR_CREATE', 'XATTR_REPLACE']);
  b.setxattr('files/size-1', 'user.', 'v');
  b.setxattr('files/size-1', 'foo.bar', 'v');
  b.setxattr('files/size-1', '', 'v');
  b.setxattr('files/size-1', 'u'.repeat(256), 'v');
  b.setxattr('files/missing', 'user.x', 'v');
  b.lsetxattr('links/rel', 'user.x', 'v');
  b.setxattr('links/rel', 'user.y', 'v');
  b.setxattr('dev/fifo', 'user.x', 'v');
  b.setxattr('dev/null', 'user.x', 'v');
  b.setxattr('files', 'user.d', 'v');
  b.setxattr('files/size-1', 'trusted.t', 'v');
  b.setxattr('files/size-1', 'security.s', 'v');
  b.lsetxattr('links/with-xattr', 'trusted.symlink', 'changed');
  b.lsetxattr('links/rel', 'system.posix_acl_access', { acl: 'u::rw-,g::r--,o::r--' });
  b.setxattr('files/size-1', 'system.posix_acl_access', { acl: 'u::rw-,g::r--,o::r--' });
  b.setxattr('files/size-1', 'system.posix_acl_default', { acl: 'u::rw-,g::r--,o::r--' });
  b.setxattr('files/size-1', 'system.foo', 'v');
  b.removexattr('files/size-1', 'user.x');
  b.removexattr('files/size-1', 'user.nope');
  b.removexattr('files/size-1', 'user.');
  b.lremovexattr('links/with-xattr', 'trusted.symlink');
  b.lremovexattr('links/rel', 'user.x');
  b.removexattr('xattrs/user', 'user.a');
  b.removexattr('xattrs/acl', 'system.posix_acl_access');
  b.removexattr('files/size-1', 'system.posix_acl_access');
  b.as('u1000', () => {
    b.fchmodat('files/size-1', '0666');
    b.fchmodat('owners/user', '0600');
    b.fchmodat('owners/user', '02644');
    b.fchownat('owners/user', 1000, 1000);
    b.fchownat('owners/user', 0, -1);
    b.fchownat('owners/user', -1, 0);
    b.fchownat('owners/user', -1, -1);
    b.lchown('links/with-xattr', 1000, 1000);
    b.setxattr('files/size-1', 'user.x', 'v');
    b.setxattr('owners/user', 'user.x', 'v');
    b.setxattr('owners/user', 'trusted.x', 'v');
    b.setxattr('owners/user', 'security.x', 'v');
    b.utimensat('owners/user', null);
    b.utimensat('owners/user', T1);
    b.utimensat('files/size-1', null);
    b.utimensat('files/size-1', T1);
    b.utimensat('files/size-1', [
      [0, 'UTIME_OMIT'],
      [0, 'UTIME_OMIT'],
    ]);
    b.utimensat('modes/dir-7777', null);
    b.utimensat('modes/dir-7777', [
      [0, 'UTIME_NOW'],
      [0, 'UTIME_NOW'],
    ]);
    b.utimensat('modes/dir-7777', [
      [0, 'UTIME_NOW'],
      [0, 'UTIME_OMIT'],
    ]);
    b.truncate('files/size-1', 0);
    b.truncate('owners/user', 3);
    b.truncate('modes/dir-0000/x', 0);
    b.removexattr('files/size-1', 'user.nope');
    b.removexattr('owners/user', 'user.nope');
    b.setxattr('xattrs/acl', 'user.x', 'v');
  });
  b.as('nobody', () => {
    b.fchmodat('owners/user', '0644');
    b.fchownat('owners/user', 65534, 65534);
    b.utimensat('owners/user', null);
  });
  // Issue #13's read-side answers, recorded here too.
  b.lgetxattr('links/rel', 'system.posix_acl_access');
  b.lgetxattr('links/rel', 'system.posix_acl_default');
  b.lgetxattr('links/rel', 'user.x');
  b.lgetxattr('links/with-xattr', 'trusted.symlink');
  b.getxattr('xattrs/acl', 'system.posix_acl_access');
  b.getxattr('xattrs/acl-dir', 'system.posix_acl_default');
  b.getxattr('xattrs/user', 'user.a', 0);
  b.getxattr('xattrs/user', 'user.empty');
  b.as('u1000', () => {
    b.getxattr('links/with-xattr', 'trusted.symlink');
    b.lgetxattr('links/with-xattr', 'trusted.symlink');
  });
  b.openat('files/text.txt', ['O_RDONLY'], '0', 'r1');
  b.lseek('r1', 2 ** 62, 'SEEK_SET');
  b.read('r1', 16);
  b.lseek('r1', -1, 'SEEK_SET');
  b.close('r1');
  b.stat('files/size-1');
  b.stat('links/dangling');
});

const fdPrecedence = scenario('descriptors: what each open mode allows', BOTH, 'base', (b) => {
  b.openat('files/text.txt', ['O_RDONLY'], '0', 'r');
  b.write('r', 'x');
  b.pwrite64('r', 'x', 0);
  b.writev('r', ['x', 'y']);
  b.pwritev('r', ['x'], 0);
  b.ftruncate('r', 0);
  b.fallocate('r', [], 0, 10);
  b.fsync('r');
  b.fdatasync('r');
  b.syncfs('r');
  b.fchmod('r', '0600');
  b.fchown('r', 1000, 1000);
  b.futimens('r', T1);
  b.futimens('r', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_OMIT'],
  ]);
  b.fsetxattr('r', 'user.x', 'v');
  b.fremovexattr('r', 'user.nope');
  b.fgetxattr('r', 'user.nope');
  b.pread64('r', 64, 0);
  b.close('r');
  b.openat('files', ['O_RDONLY', 'O_DIRECTORY'], '0', 'd');
  b.write('d', 'x');
  b.ftruncate('d', 0);
  b.fallocate('d', [], 0, 10);
  b.fsync('d');
  b.fdatasync('d');
  b.fchmod('d', '0750');
  b.fsetxattr('d', 'user.x', 'v');
  b.read('d', 16);
  b.mkdirat('sub', '0755', 'd');
  b.mkdirat('/abs-ignores-dirfd', '0755', 'd');
  b.openat('new', ['O_WRONLY', 'O_CREAT'], '0644', 'dn', 'd');
  b.close('dn');
  b.unlinkat('size-0', [], 'd');
  b.symlinkat('t', 'sl', 'd');
  b.mkdirat('x', '0755', 'r');
  b.close('d');
  b.openat('files/size-1', ['O_PATH'], '0', 'p');
  b.write('p', 'x');
  b.ftruncate('p', 0);
  b.fallocate('p', [], 0, 1);
  b.fsync('p');
  b.fchmod('p', '0600');
  b.fchown('p', 0, 0);
  b.futimens('p', T1);
  b.fsetxattr('p', 'user.x', 'v');
  b.fgetxattr('p', 'user.x');
  b.fremovexattr('p', 'user.x');
  b.fstat('p');
  b.linkat('', 'files/from-opath', ['AT_EMPTY_PATH'], 'p');
  b.mkdirat('x', '0755', 'p');
  b.close('p');
  b.openat('files/text.txt', ['O_RDWR'], '0', 'w');
  b.write('w', 'WRITE');
  b.fsync('w');
  b.fdatasync('w');
  b.pread64('w', 64, 0);
  b.close('w');
  b.openat('dev/null', ['O_RDWR'], '0', 'n');
  b.write('n', 'discarded');
  b.read('n', 16);
  b.ftruncate('n', 0);
  b.fallocate('n', [], 0, 1);
  b.fsync('n');
  b.lseek('n', 100, 'SEEK_SET');
  b.fsetxattr('n', 'user.x', 'v');
  b.fchmod('n', '0660');
  b.close('n');
  b.openat('dev/zero', ['O_RDONLY'], '0', 'z');
  b.read('z', 16);
  b.write('z', 'x');
  b.close('z');
  b.openat('dev/fifo', ['O_WRONLY', 'O_NONBLOCK']);
  b.openat('dev/fifo', ['O_RDONLY', 'O_NONBLOCK'], '0', 'fr');
  b.openat('dev/fifo', ['O_WRONLY', 'O_NONBLOCK'], '0', 'fw');
  b.read('fr', 16);
  b.write('fw', 'through the pipe');
  b.pwrite64('fw', 'x', 0);
  b.ftruncate('fw', 0);
  b.fallocate('fw', [], 0, 1);
  b.lseek('fr', 0, 'SEEK_SET');
  b.fsync('fw');
  b.read('fr', 64);
  b.close('fw');
  b.read('fr', 64);
  b.close('fr');
  b.openat('dev/fifo', ['O_RDWR'], '0', 'frw');
  b.write('frw', 'both ends');
  b.read('frw', 64);
  b.close('frw');
  b.write(999, 'x');
  b.fsync(999);
  b.ftruncate(999, 0);
  b.fchmod(999, '0644');
  b.close(999);
  b.as('u1000', () => {
    b.openat('owners/user', ['O_RDONLY'], '0', 'ur');
    b.fchmod('ur', '0640');
    b.fchown('ur', 1000, 1000);
    b.fchown('ur', 0, 0);
    b.futimens('ur', null);
    b.futimens('ur', T1);
    b.fsetxattr('ur', 'user.x', 'v');
    b.close('ur');
    b.openat('files/text.txt', ['O_RDONLY'], '0', 'ur2');
    b.fchmod('ur2', '0666');
    b.futimens('ur2', null);
    b.fsetxattr('ur2', 'user.x', 'v');
    b.close('ur2');
  });
});

// ---- tmpfs: what writes do ------------------------------------------------------------

const fileIo = scenario('file I/O: writes, holes, truncate, fallocate, append', TMPFS, 'empty', (b) => {
  b.openat('f', ['O_RDWR', 'O_CREAT', 'O_EXCL'], '0644', 'f');
  b.write('f', 'hello');
  b.fstat('f');
  b.pwrite64('f', 'far', 10000);
  b.fstat('f');
  b.pread64('f', 32, 0);
  b.pread64('f', 16, 9995);
  b.lseek('f', 0, 'SEEK_CUR');
  b.lseek('f', 0, 'SEEK_DATA');
  b.lseek('f', 0, 'SEEK_HOLE');
  b.lseek('f', 5000, 'SEEK_DATA');
  b.lseek('f', 0, 'SEEK_END');
  b.lseek('f', 20000, 'SEEK_DATA');
  b.writev('f', ['ab', '', 'cd']);
  b.lseek('f', 0, 'SEEK_CUR');
  b.pwritev('f', ['12', '34'], 2);
  b.pread64('f', 16, 0);
  b.pwrite64('f', 'x', -1);
  b.pwritev('f', ['x'], -1);
  b.write('f', '');
  b.ftruncate('f', 3);
  b.fstat('f');
  b.pread64('f', 16, 0);
  b.ftruncate('f', 8192);
  b.fstat('f');
  b.pread64('f', 16, 0);
  b.ftruncate('f', -1);
  b.lseek('f', 0, 'SEEK_CUR');
  b.write('f', 'after');
  b.fstat('f');
  b.fallocate('f', [], 0, 16384);
  b.fstat('f');
  b.fallocate('f', ['FALLOC_FL_KEEP_SIZE'], 16384, 8192);
  b.fstat('f');
  b.fallocate('f', ['FALLOC_FL_PUNCH_HOLE', 'FALLOC_FL_KEEP_SIZE'], 0, 4096);
  b.fstat('f');
  b.pread64('f', 16, 0);
  b.fallocate('f', ['FALLOC_FL_PUNCH_HOLE'], 0, 4096);
  b.fallocate('f', ['FALLOC_FL_ZERO_RANGE'], 0, 4096);
  b.fallocate('f', ['FALLOC_FL_COLLAPSE_RANGE'], 0, 4096);
  b.fallocate('f', ['FALLOC_FL_INSERT_RANGE'], 0, 4096);
  b.fallocate('f', [], -1, 10);
  b.fallocate('f', [], 0, 0);
  b.fallocate('f', [], 0, 32 << 20);
  b.fstat('f');
  b.fallocate('f', ['BIT_0x80'], 0, 1);
  b.ftruncate('f', 2 ** 40);
  b.fstat('f');
  b.pread64('f', 16, 2 ** 40 - 8);
  b.ftruncate('f', 2 ** 62);
  b.fstat('f');
  b.pwrite64('f', 'end', 2 ** 62);
  b.ftruncate('f', 10);
  b.fsync('f');
  b.fdatasync('f');
  b.syncfs('f');
  b.close('f');
  b.truncate('f', 20);
  b.truncate('f', 2 ** 53);
  b.truncate('f', 4);
  b.stat('f');
  b.openat('a', ['O_WRONLY', 'O_CREAT', 'O_APPEND'], '0644', 'a');
  b.write('a', 'one');
  b.pwrite64('a', 'two', 0);
  b.lseek('a', 0, 'SEEK_SET');
  b.write('a', 'three');
  b.lseek('a', 0, 'SEEK_CUR');
  b.fallocate('a', [], 0, 100);
  b.ftruncate('a', 1);
  b.write('a', 'four');
  b.fstat('a');
  b.close('a');
  b.openat('a', ['O_RDONLY'], '0', 'ar');
  b.read('ar', 64);
  b.close('ar');
  b.openat('big', ['O_WRONLY', 'O_CREAT'], '0644', 'big');
  b.write('big', { fill: 'b', len: 70000 });
  b.pwrite64('big', { fill: 'c', len: 4096 }, 4094);
  b.fstat('big');
  b.write('big', { fill: 'd', len: 20 << 20 });
  b.fstat('big');
  b.ftruncate('big', 0);
  b.close('big');
  b.listdir('/');
});

const openCreate = scenario('open: O_CREAT modes and umask, O_EXCL, O_TRUNC, O_TMPFILE', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('d', '0777');
    b.file('d/existing', 'content', '0644');
    b.file('d/user', 'content', '0644', 1000, 1000);
    b.file('d/ro', 'content', '0444', 1000, 1000);
    b.node('d/fifo', 'S_IFIFO|0666');
  });
  b.openat('d/c644', ['O_WRONLY', 'O_CREAT'], '0644', 'c');
  b.close('c');
  b.openat('d/c777', ['O_WRONLY', 'O_CREAT'], '0777', 'c');
  b.close('c');
  b.openat('d/c7777', ['O_WRONLY', 'O_CREAT'], '07777', 'c');
  b.close('c');
  b.openat('d/cS_IFDIR', ['O_WRONLY', 'O_CREAT'], 'S_IFDIR|0644', 'c');
  b.close('c');
  b.umask('0');
  b.openat('d/u0', ['O_WRONLY', 'O_CREAT'], '0666', 'c');
  b.close('c');
  b.mkdirat('d/md0', '01777');
  b.mknodat('d/fifo0', 'S_IFIFO|0666');
  b.umask('077');
  b.openat('d/u077', ['O_WRONLY', 'O_CREAT'], '0666', 'c');
  b.close('c');
  b.mkdirat('d/md077', '0777');
  b.symlinkat('target', 'd/sl077');
  b.umask('0777');
  b.openat('d/u777', ['O_RDWR', 'O_CREAT'], '0666', 'c');
  b.write('c', 'still writable through the descriptor');
  b.close('c');
  b.umask('01022');
  b.umask('022');
  b.openat('d/existing', ['O_WRONLY', 'O_CREAT'], '0600', 'c');
  b.fstat('c');
  b.close('c');
  b.openat('d/existing', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0600');
  b.openat('d/existing', ['O_WRONLY', 'O_TRUNC'], '0', 'c');
  b.fstat('c');
  b.close('c');
  b.openat('d/fifo', ['O_RDWR', 'O_TRUNC'], '0', 'c');
  b.close('c');
  b.openat('d', ['O_TMPFILE', 'O_RDWR'], '0640', 't');
  b.fstat('t');
  b.write('t', 'anonymous');
  b.linkat('', 'd/from-tmpfile', ['AT_EMPTY_PATH'], 't');
  b.fstat('t');
  b.linkat('', 'd/from-tmpfile2', ['AT_EMPTY_PATH'], 't');
  b.fstat('t');
  b.close('t');
  b.openat('d', ['O_TMPFILE', 'O_RDWR', 'O_EXCL'], '0600', 't');
  b.linkat('', 'd/excl-tmpfile', ['AT_EMPTY_PATH'], 't');
  b.close('t');
  b.openat('d', ['O_TMPFILE', 'O_WRONLY'], '07777', 't');
  b.fstat('t');
  b.close('t');
  b.as('u1000', () => {
    b.openat('d/u1', ['O_WRONLY', 'O_CREAT'], '06755', 'c');
    b.fstat('c');
    b.close('c');
    b.openat('d/ro', ['O_RDONLY', 'O_TRUNC']);
    b.openat('d/ro', ['O_WRONLY']);
    b.openat('d/ro', ['O_RDONLY', 'O_CREAT'], '0644', 'c');
    b.close('c');
    b.openat('d/user', ['O_WRONLY', 'O_TRUNC'], '0', 'c');
    b.close('c');
    b.openat('d/existing', ['O_RDONLY', 'O_TRUNC']);
    b.openat('d', ['O_TMPFILE', 'O_RDWR'], '0600', 't');
    b.fstat('t');
    b.linkat('', 'd/u-tmpfile', ['AT_EMPTY_PATH'], 't');
    b.close('t');
    b.openat('d/existing', ['O_RDONLY', 'O_NOATIME']);
    b.openat('d/user', ['O_RDONLY', 'O_NOATIME'], '0', 'c');
    b.close('c');
  });
  b.listdir('d');
});

const dirs = scenario('directories: nlink, sizes, getdents order', TMPFS, 'empty', (b) => {
  b.setup(() => b.fchmodat('/', '0755'));
  b.stat('/');
  b.mkdirat('a');
  b.stat('/');
  b.mkdirat('a/b');
  b.mkdirat('a/c');
  b.openat('a/f', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.symlinkat('b', 'a/l');
  b.stat('a');
  b.listdir('a');
  b.rmdir('a/b');
  b.stat('a');
  b.mkdirat('a/b');
  b.listdir('a');
  b.renameat2('a/c', 'a/z');
  b.listdir('a');
  b.renameat2('a/z', 'c');
  b.stat('a');
  b.stat('/');
  b.rmdir('a');
  b.unlinkat('a/l');
  b.unlinkat('a/f');
  b.rmdir('a/b');
  b.openat('a', ['O_RDONLY', 'O_DIRECTORY'], '0', 'd');
  b.rmdir('a');
  b.fstat('d');
  b.openat('x', ['O_WRONLY', 'O_CREAT'], '0644', '', 'd');
  b.mkdirat('x', '0755', 'd');
  b.stat('/');
  b.close('d');
  b.mkdirat('e', '0755');
  b.openat('e', ['O_RDONLY', 'O_DIRECTORY'], '0', 'e');
  b.mkdirat('e/1');
  b.mkdirat('e/2');
  b.openat('e/3', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.listdir('e');
  b.unlinkat('e/1', ['AT_REMOVEDIR']);
  b.mkdirat('e/4');
  b.listdir('e');
  b.close('e');
  b.listdir('/');
});

const linksAndUnlinked = scenario('hard links, symlinks, unlinked open files', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('d');
    b.file('d/f', 'data');
    b.dir('d/sub');
  });
  b.linkat('d/f', 'd/g');
  b.stat('d/f');
  b.linkat('d/f', 'd/sub/h');
  b.stat('d/g');
  b.linkat('d/f', 'd/g');
  b.linkat('d/sub', 'd/sub2');
  b.symlinkat('f', 'd/s');
  b.readlinkat('d/s');
  b.readlinkat('d/s', 2);
  b.readlinkat('d/f');
  b.linkat('d/s', 'd/s-link');
  b.stat('d/s');
  b.linkat('d/s', 'd/s-followed', ['AT_SYMLINK_FOLLOW']);
  b.stat('d/f');
  b.symlinkat('/'.repeat(4094) + 'x', 'd/long');
  b.readlinkat('d/long');
  b.symlinkat('y'.repeat(4096), 'd/toolong');
  b.symlinkat('a/../../../b', 'd/dotty');
  b.stat('d/dotty');
  b.unlinkat('d/g');
  b.stat('d/f');
  b.openat('d/f', ['O_RDWR'], '0', 'o');
  b.unlinkat('d/f');
  b.unlinkat('d/sub/h');
  b.unlinkat('d/s-link');
  b.unlinkat('d/s-followed');
  b.fstat('o');
  b.write('o', 'still here');
  b.pread64('o', 64, 0);
  b.ftruncate('o', 100);
  b.fstat('o');
  b.fchmod('o', '0600');
  b.fsetxattr('o', 'user.gone', 'x');
  b.fgetxattr('o', 'user.gone');
  b.linkat('', 'd/revived', ['AT_EMPTY_PATH'], 'o');
  b.close('o');
  b.openat('d/s', ['O_WRONLY', 'O_CREAT'], '0644', 'o');
  b.write('o', 'created through a dangling symlink');
  b.close('o');
  b.stat('d/f');
  b.listdir('d');
});

const renames = scenario('rename: overwrite, exchange, whiteout, times and nlink', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('a');
    b.dir('b');
    b.file('a/f', 'f');
    b.file('a/g', 'g');
    b.dir('a/d');
    b.dir('a/d/inner');
    b.dir('b/empty');
    b.dir('b/full');
    b.file('b/full/x');
    b.linkat('a/f', 'a/f2');
  });
  b.stat('a');
  b.stat('b');
  b.stat('a/f');
  b.sleep();
  b.renameat2('a/f', 'b/f');
  b.stat('a');
  b.stat('b');
  b.stat('b/f');
  b.renameat2('a/g', 'b/f');
  b.stat('b/f');
  b.stat('a/f2');
  b.renameat2('a/f2', 'a/f2');
  b.renameat2('a/d', 'b/empty');
  b.stat('a');
  b.stat('b');
  b.renameat2('b/empty', 'b/full');
  b.renameat2('b/empty', 'b/f');
  b.renameat2('b/f', 'b/empty');
  b.renameat2('b/empty', 'b/empty/inner/x');
  b.renameat2('b/empty/inner', 'a/moved-inner');
  b.sleep();
  b.renameat2('b/f', 'b/full', ['RENAME_EXCHANGE']);
  b.stat('b/f');
  b.stat('b/full');
  b.stat('b');
  b.renameat2('b/f/x', 'a/x', ['RENAME_EXCHANGE']);
  b.renameat2('b/f', 'a', ['RENAME_EXCHANGE']);
  b.renameat2('b/full', 'b/full', ['RENAME_EXCHANGE']);
  b.renameat2('b/full', 'b/f/x', ['RENAME_EXCHANGE']);
  b.renameat2('a/moved-inner', 'a/wh-inner', ['RENAME_WHITEOUT']);
  b.stat('a/moved-inner');
  b.stat('a');
  b.renameat2('a/f2', 'a/wh', ['RENAME_WHITEOUT']);
  b.stat('a/f2');
  b.renameat2('b/full', 'a/f2', ['RENAME_WHITEOUT']);
  b.renameat2('a/wh', 'a/f2', ['RENAME_NOREPLACE']);
  b.renameat2('a/wh', 'a/f2');
  b.stat('a/f2');
  b.as('u1000', () => {
    b.renameat2('a/f2', 'a/f3', ['RENAME_WHITEOUT']);
  });
  b.listdir('a');
  b.listdir('b');
});

const sticky = scenario('sticky directories: who may unlink and rename', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('tmp', '01777');
    b.file('tmp/root', '', '0666');
    b.file('tmp/u1000', '', '0666', 1000, 1000);
    b.file('tmp/nobody', '', '0666', 65534, 65534);
    b.dir('tmp/u1000dir', '0777', 1000, 1000);
    b.dir('own', '01777', 1000, 1000);
    b.file('own/nobody', '', '0644', 65534, 65534);
    b.file('own/root', '', '0644');
  });
  b.as('nobody', () => {
    b.unlinkat('tmp/u1000');
    b.unlinkat('tmp/root');
    b.renameat2('tmp/u1000', 'tmp/mine');
    b.renameat2('tmp/nobody', 'tmp/u1000');
    b.renameat2('tmp/nobody', 'tmp/n2');
    b.rmdir('tmp/u1000dir');
    b.openat('tmp/u1000', ['O_WRONLY'], '0', 'w');
    b.close('w');
    b.unlinkat('tmp/missing');
    b.linkat('tmp/u1000', 'tmp/n-link');
    b.renameat2('tmp/n2', 'tmp/root', ['RENAME_EXCHANGE']);
  });
  b.as('u1000', () => {
    b.unlinkat('tmp/n2');
    b.unlinkat('own/nobody');
    b.unlinkat('own/root');
    b.renameat2('tmp/u1000', 'tmp/u1000b');
    b.rmdir('tmp/u1000dir');
  });
  b.unlinkat('tmp/n2');
  b.renameat2('tmp/root', 'tmp/root2');
  b.listdir('tmp');
  b.listdir('own');
});

const setgid = scenario('setgid directories, set-id bits cleared by writes and chown', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('g', '02777', 0, 1000);
    b.file('suid', 'x', '06777');
    b.file('sgid-noexec', 'x', '02666');
    b.file('u-suid', 'x', '06755', 1000, 1000);
    b.file('chown-me', 'x', '06755');
    b.file('trunc-me', 'xyz', '06777');
  });
  b.mkdirat('g/root-dir', '0755');
  b.stat('g/root-dir');
  b.openat('g/root-file', ['O_WRONLY', 'O_CREAT'], '02755', 'f');
  b.fstat('f');
  b.close('f');
  b.as('u1001', () => {
    b.openat('g/member-file', ['O_WRONLY', 'O_CREAT'], '02755', 'f');
    b.fstat('f');
    b.close('f');
    b.mkdirat('g/member-dir', '0700');
    b.stat('g/member-dir');
  });
  b.as('nobody', () => {
    b.openat('g/other-file', ['O_WRONLY', 'O_CREAT'], '02755', 'f');
    b.fstat('f');
    b.close('f');
    b.mkdirat('g/other-dir', '02777');
    b.stat('g/other-dir');
    b.mknodat('g/other-fifo', 'S_IFIFO|02666');
    b.stat('g/other-fifo');
    b.openat('g/root-dir/x', ['O_WRONLY', 'O_CREAT'], '0644');
    b.openat('suid', ['O_WRONLY'], '0', 'w');
    b.stat('suid');
    b.write('w', 'y');
    b.stat('suid');
    b.close('w');
    b.openat('sgid-noexec', ['O_WRONLY'], '0', 'w');
    b.write('w', 'y');
    b.stat('sgid-noexec');
    b.close('w');
    b.truncate('trunc-me', 1);
    b.stat('trunc-me');
  });
  b.as('u1000', () => {
    b.openat('u-suid', ['O_WRONLY'], '0', 'w');
    b.write('w', 'owner writes');
    b.stat('u-suid');
    b.close('w');
    b.fchmodat('u-suid', '02755');
    b.stat('u-suid');
    b.fchownat('u-suid', -1, 1000);
    b.stat('u-suid');
    b.fchmodat('u-suid', '04755');
    b.fchownat('u-suid', -1, -1);
    b.stat('u-suid');
  });
  b.fchownat('chown-me', 0, 0);
  b.stat('chown-me');
  b.fchmodat('chown-me', '06755');
  b.fchownat('chown-me', -1, -1);
  b.stat('chown-me');
  b.fchmodat('chown-me', '06755');
  b.fchownat('chown-me', 1000, 1000);
  b.stat('chown-me');
  b.fchmodat('chown-me', '02745');
  b.fchownat('chown-me', 1000, 1001);
  b.stat('chown-me');
  b.fchownat('g', 1000, -1);
  b.stat('g');
  b.mknodat('g/root-fifo', 'S_IFIFO|02666');
  b.stat('g/root-fifo');
  b.listdir('g');
});

const acls = scenario('POSIX ACLs: access checks, chmod and the mask, default ACL inheritance', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('d', '0755');
    b.file('d/f', 'acl', '0640');
    b.dir('inherit', '0777');
  });
  b.as('u1000', () => b.openat('d/f', ['O_WRONLY']));
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,u:1000:rw-,g::r--,m::rw-,o::---' });
  b.stat('d/f');
  b.getxattr('d/f', 'system.posix_acl_access');
  b.as('u1000', () => {
    b.openat('d/f', ['O_WRONLY'], '0', 'w');
    b.write('w', 'ACL');
    b.close('w');
  });
  b.as('nobody', () => b.openat('d/f', ['O_RDONLY']));
  b.fchmodat('d/f', '0604');
  b.getxattr('d/f', 'system.posix_acl_access');
  b.stat('d/f');
  b.as('u1000', () => b.openat('d/f', ['O_WRONLY']));
  b.as('nobody', () => {
    b.openat('d/f', ['O_RDONLY'], '0', 'r');
    b.close('r');
  });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,g::r--,o::r--' });
  b.getxattr('d/f', 'system.posix_acl_access');
  b.stat('d/f');
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rwx,g::r-x,o::---,u:1000:rwx,m::rwx' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'version=3,u::rw-,g::r--,o::r--' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,g::r--' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,tag=64::r--,g::r--,o::r--' });
  b.setxattr('d/f', 'system.posix_acl_access', { hex: '0200000001' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: '' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,u:1000:rw-,g::r--,o::---' });
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,u:1000:rw-,u:1000:r--,g::r--,m::rw-,o::---' });
  b.setxattr('d/f', 'system.posix_acl_default', { acl: 'u::rw-,g::r--,o::r--' });
  b.as('u1000', () => b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,g::rw-,o::rw-' }));
  b.setxattr('d/f', 'system.posix_acl_access', { acl: 'u::rw-,u:1000:rw-,g::r--,m::r--,o::---' });
  b.as('u1000', () => b.openat('d/f', ['O_WRONLY']));
  b.setxattr('inherit', 'system.posix_acl_default', { acl: 'u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---' });
  b.getxattr('inherit', 'system.posix_acl_default');
  b.getxattr('inherit', 'system.posix_acl_access');
  b.openat('inherit/file', ['O_WRONLY', 'O_CREAT'], '0666', 'f');
  b.fstat('f');
  b.close('f');
  b.getxattr('inherit/file', 'system.posix_acl_access');
  b.getxattr('inherit/file', 'system.posix_acl_default');
  b.mkdirat('inherit/sub', '0777');
  b.stat('inherit/sub');
  b.getxattr('inherit/sub', 'system.posix_acl_access');
  b.getxattr('inherit/sub', 'system.posix_acl_default');
  b.mknodat('inherit/fifo', 'S_IFIFO|0644');
  b.stat('inherit/fifo');
  b.symlinkat('t', 'inherit/sl');
  b.stat('inherit/sl');
  b.umask('077');
  b.openat('inherit/masked', ['O_WRONLY', 'O_CREAT'], '0666', 'f');
  b.fstat('f');
  b.close('f');
  b.umask('022');
  b.as('u1000', () => {
    b.openat('inherit/file', ['O_WRONLY'], '0', 'w');
    b.close('w');
  });
  b.removexattr('inherit', 'system.posix_acl_default');
  b.removexattr('inherit', 'system.posix_acl_default');
  b.removexattr('d/f', 'system.posix_acl_access');
  b.stat('d/f');
  b.listdir('inherit');
});

const xattrs = scenario('extended attributes: namespaces, flags, sizes, who may set them', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.file('f', '', '0644');
    b.file('mine', '', '0644', 1000, 1000);
    b.file('open', '', '0666');
    b.dir('d', '0777');
    b.dir('sticky', '01777');
    b.link('sl', 'f');
    b.node('fifo', 'S_IFIFO|0666');
    b.node('chr', 'S_IFCHR|0666', [1, 3]);
  });
  b.setxattr('f', 'user.a', 'one');
  b.setxattr('f', 'user.a', 'two', ['XATTR_REPLACE']);
  b.getxattr('f', 'user.a');
  b.setxattr('f', 'user.a', 'three', ['XATTR_CREATE']);
  b.setxattr('f', 'user.b', 'four', ['XATTR_REPLACE']);
  b.setxattr('f', 'user.empty', '');
  b.getxattr('f', 'user.empty');
  b.getxattr('f', 'user.a', 1);
  b.getxattr('f', 'user.a', 0);
  b.getxattr('f', 'user.missing');
  b.setxattr('f', 'user.' + 'n'.repeat(250), 'max name');
  b.setxattr('f', 'user.' + 'n'.repeat(251), 'too long');
  b.setxattr('f', 'user.big', { fill: 'v', len: 65536 });
  b.getxattr('f', 'user.big', 65536);
  b.setxattr('f', 'user.bigger', { fill: 'v', len: 65537 });
  b.setxattr('f', 'trusted.t', 'root only');
  b.setxattr('f', 'security.s', 'sec');
  b.setxattr('f', 'security.capability', { hex: '0000000201000000000000000000000000000000' });
  b.setxattr('f', 'system.other', 'x');
  b.setxattr('f', 'osx.name', 'x');
  b.lsetxattr('sl', 'user.a', 'x');
  b.lsetxattr('sl', 'trusted.t', 'x');
  b.lsetxattr('sl', 'security.s', 'x');
  b.setxattr('fifo', 'user.a', 'x');
  b.setxattr('fifo', 'trusted.t', 'x');
  b.setxattr('chr', 'user.a', 'x');
  b.setxattr('d', 'user.a', 'x');
  b.setxattr('sticky', 'user.a', 'x');
  b.lremovexattr('sl', 'trusted.t');
  b.removexattr('f', 'user.big');
  b.removexattr('f', 'user.big');
  b.removexattr('f', 'trusted.nope');
  b.as('u1000', () => {
    b.setxattr('mine', 'user.a', 'x');
    b.setxattr('f', 'user.a', 'x');
    b.setxattr('open', 'user.a', 'x');
    b.setxattr('mine', 'trusted.t', 'x');
    b.setxattr('mine', 'security.s', 'x');
    b.setxattr('d', 'user.a', 'x');
    b.setxattr('sticky', 'user.b', 'x');
    b.getxattr('f', 'trusted.t');
    b.getxattr('f', 'user.a');
    b.getxattr('f', 'security.s');
    b.removexattr('f', 'user.a');
    b.removexattr('f', 'user.missing');
    b.removexattr('open', 'user.a');
    b.removexattr('f', 'trusted.t');
    b.openat('open', ['O_RDONLY'], '0', 'r');
    b.fsetxattr('r', 'user.via-fd', 'x');
    b.close('r');
    b.openat('mine', ['O_RDONLY'], '0', 'r');
    b.fsetxattr('r', 'user.via-fd', 'x');
    b.fremovexattr('r', 'user.via-fd');
    b.fremovexattr('r', 'user.via-fd');
    b.close('r');
  });
  b.sleep();
  b.stat('f');
  b.setxattr('f', 'user.ctime', 'x');
  b.stat('f');
});

const devices = scenario('mknod, devices and fifos', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('dev', '0777');
  });
  b.umask('0');
  b.mknodat('dev/null', 'S_IFCHR|0666', [1, 3]);
  b.mknodat('dev/zero', 'S_IFCHR|0666', [1, 5]);
  b.mknodat('dev/full', 'S_IFCHR|0666', [1, 7]);
  b.mknodat('dev/unreg', 'S_IFCHR|0666', [4095, 1048575]);
  b.mknodat('dev/blk', 'S_IFBLK|0600', [4095, 1048574]);
  b.mknodat('dev/wh', 'S_IFCHR|0000', [0, 0]);
  b.mknodat('dev/fifo', 'S_IFIFO|0666');
  b.mknodat('dev/sock', 'S_IFSOCK|0755');
  b.mknodat('dev/reg', 'S_IFREG|0600');
  b.mknodat('dev/dir', 'S_IFDIR|0755');
  b.mknodat('dev/null', 'S_IFCHR|0666', [1, 3]);
  b.stat('dev/null');
  b.stat('dev/blk');
  b.stat('dev/wh');
  b.as('u1000', () => {
    b.mknodat('dev/u-chr', 'S_IFCHR|0666', [1, 3]);
    b.mknodat('dev/u-blk', 'S_IFBLK|0666', [7, 0]);
    b.mknodat('dev/u-wh', 'S_IFCHR|0000', [0, 0]);
    b.mknodat('dev/u-fifo', 'S_IFIFO|0666');
    b.mknodat('dev/u-sock', 'S_IFSOCK|0666');
    b.mknodat('dev/u-reg', 'S_IFREG|0644');
    b.mknodat('dev/u-zero', '0644');
    b.stat('dev/u-fifo');
    b.openat('dev/null', ['O_RDWR'], '0', 'n');
    b.write('n', 'to nowhere');
    b.read('n', 64);
    b.close('n');
  });
  b.openat('dev/zero', ['O_RDWR'], '0', 'z');
  b.read('z', 32);
  b.write('z', 'ignored');
  b.pread64('z', 8, 1000);
  b.close('z');
  b.openat('dev/full', ['O_RDWR'], '0', 'full');
  b.write('full', 'x');
  b.read('full', 8);
  b.close('full');
  b.openat('dev/unreg', ['O_RDONLY']);
  b.openat('dev/unreg', ['O_PATH'], '0', 'p');
  b.fstat('p');
  b.close('p');
  b.openat('dev/wh', ['O_RDONLY']);
  b.openat('dev/sock', ['O_RDONLY']);
  b.openat('dev/fifo', ['O_WRONLY', 'O_NONBLOCK']);
  b.openat('dev/fifo', ['O_RDONLY', 'O_NONBLOCK'], '0', 'r');
  b.read('r', 8);
  b.openat('dev/fifo', ['O_WRONLY', 'O_NONBLOCK'], '0', 'w');
  b.write('w', 'pipe data');
  b.fstat('w');
  b.read('r', 4);
  b.read('r', 64);
  b.read('r', 64);
  b.close('w');
  b.read('r', 64);
  b.close('r');
  b.truncate('dev/fifo', 0);
  b.truncate('dev/null', 0);
  b.truncate('dev/sock', 0);
  b.stat('dev/fifo');
  b.listdir('dev');
});

const times = scenario('timestamps: explicit, now, omit, and what each call changes', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('d', '0777');
    b.file('d/f', 'content', '0644');
    b.file('d/w', 'content', '0666');
    b.file('d/u', 'content', '0644', 1000, 1000);
    b.link('d/l', 'f');
  });
  b.utimensat('d/f', T1);
  b.stat('d/f');
  b.utimensat('d/f', [
    [-1, 0],
    [2 ** 31, 999999999],
  ]);
  b.stat('d/f');
  b.utimensat('d/f', [
    [2 ** 34, 1],
    [0, 'UTIME_OMIT'],
  ]);
  b.stat('d/f');
  b.utimensat('d/f', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_NOW'],
  ]);
  b.stat('d/f');
  b.utimensat('d/l', T1, ['AT_SYMLINK_NOFOLLOW']);
  b.stat('d/l');
  b.stat('d/f');
  b.sleep();
  b.utimensat('d/f', null);
  b.stat('d/f');
  b.sleep();
  b.utimensat('d/f', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_OMIT'],
  ]);
  b.stat('d/f');
  b.utimensat('d/w', T1);
  b.stat('d/w');
  b.sleep();
  b.openat('d/w', ['O_RDONLY'], '0', 'r');
  b.read('r', 4);
  b.stat('d/w');
  b.sleep();
  b.read('r', 4);
  b.stat('d/w');
  b.close('r');
  b.sleep();
  b.openat('d/w', ['O_WRONLY'], '0', 'w');
  b.stat('d/w');
  b.write('w', 'x');
  b.stat('d/w');
  b.sleep();
  b.write('w', '');
  b.stat('d/w');
  b.sleep();
  b.ftruncate('w', 7);
  b.stat('d/w');
  b.sleep();
  b.ftruncate('w', 7);
  b.stat('d/w');
  b.sleep();
  b.truncate('d/w', 7);
  b.stat('d/w');
  b.sleep();
  b.fallocate('w', ['FALLOC_FL_KEEP_SIZE'], 0, 8192);
  b.stat('d/w');
  b.close('w');
  b.sleep();
  b.fchmodat('d/w', '0646');
  b.stat('d/w');
  b.sleep();
  b.fchownat('d/w', -1, -1);
  b.stat('d/w');
  b.sleep();
  b.stat('d');
  b.linkat('d/w', 'd/w2');
  b.stat('d/w');
  b.stat('d');
  b.sleep();
  b.renameat2('d/w2', 'd/w3');
  b.stat('d/w');
  b.stat('d');
  b.sleep();
  b.unlinkat('d/w3');
  b.stat('d/w');
  b.stat('d');
  b.sleep();
  b.openat('d/w', ['O_WRONLY', 'O_TRUNC'], '0', 'w');
  b.stat('d/w');
  b.close('w');
  b.sleep();
  b.openat('d/w', ['O_WRONLY', 'O_TRUNC'], '0', 'w');
  b.stat('d/w');
  b.close('w');
  b.as('u1000', () => {
    b.utimensat('d/w', null);
    b.utimensat('d/w', [
      [0, 'UTIME_NOW'],
      [0, 'UTIME_NOW'],
    ]);
    b.utimensat('d/w', T1);
    b.utimensat('d/w', [
      [0, 'UTIME_NOW'],
      [0, 'UTIME_OMIT'],
    ]);
    b.utimensat('d/f', null);
    b.utimensat('d/u', T1);
    b.stat('d/u');
    b.openat('d/u', ['O_RDONLY'], '0', 'r');
    b.futimens('r', [
      [5, 5],
      [6, 6],
    ]);
    b.close('r');
    b.stat('d/u');
  });
  b.openat('d/f', ['O_RDONLY'], '0', 'r');
  b.futimens('r', T1);
  b.futimens('r', [
    [0, 1000000000],
    [0, 0],
  ]);
  b.close('r');
  b.utimensat('d', T1);
  b.stat('d');
});

const paths = scenario('paths: through files, missing parents, loops, long names, dots, the root', TMPFS, 'empty', (b) => {
  b.setup(() => {
    b.fchmodat('/', '0755');
    b.dir('d', '0755');
    b.file('d/f', 'file', '0644');
    b.link('d/loop', 'loop');
    b.link('d/dangling', 'nowhere/x');
    b.link('d/todir', '.');
    b.link('d/abs', '/d');
    b.dir('d/closed', '0700');
    b.file('d/closed/inside', '', '0666');
  });
  for (const p of ['d/f/x', 'd/missing/x', 'd/loop/x', 'd/dangling/x', 'd/f/', 'd/closed/inside/x']) {
    b.mkdirat(p);
    b.openat(p, ['O_WRONLY', 'O_CREAT'], '0644');
    b.unlinkat(p);
    b.renameat2(p, 'd/r');
    b.renameat2('d/f', p);
    b.truncate(p, 0);
    b.setxattr(p, 'user.x', 'v');
  }
  b.mkdirat('d/todir/via-link');
  b.mkdirat('d/abs/via-abs');
  b.mkdirat('/d/absolute');
  b.mkdirat('d/' + 'n'.repeat(255));
  b.mkdirat('d/' + 'n'.repeat(256));
  b.mkdirat('d/./././dot');
  b.mkdirat('d/../d/../d/dotdot');
  b.mkdirat('..');
  b.mkdirat('/../..');
  b.mkdirat('//d//double//');
  b.symlinkat('x', 'd/sl/');
  b.mknodat('d/nod/', 'S_IFIFO|0644');
  b.linkat('d/f', 'd/lnk/');
  b.linkat('d/f/', 'd/lnk2');
  b.unlinkat('/');
  b.rmdir('/');
  b.renameat2('/', 'd/root');
  b.renameat2('d', '/');
  b.linkat('/', 'd/rootlink');
  b.symlinkat('x', '/');
  b.truncate('/', 0);
  b.fchmodat('/', '0711');
  b.stat('/');
  b.fchmodat('/', '0755');
  b.fchownat('/', 1000, 1000);
  b.stat('/');
  b.fchownat('/', 0, 0);
  b.setxattr('/', 'user.root', 'x');
  b.renameat2('d/..', 'x');
  b.renameat2('d/.', 'x');
  b.renameat2('d/f', 'd/..');
  b.unlinkat('d/f/.');
  b.as('u1000', () => {
    b.mkdirat('d/closed/x');
    b.unlinkat('d/closed/inside');
    b.openat('d/closed/inside', ['O_WRONLY']);
    b.truncate('d/closed/inside', 0);
    b.mkdirat('d/u');
  });
  b.listdir('d');
});

export const BATTERY: Scenario[] = [
  createPrecedence,
  removePrecedence,
  attrPrecedence,
  fdPrecedence,
  fileIo,
  openCreate,
  dirs,
  linksAndUnlinked,
  renames,
  sticky,
  setgid,
  acls,
  xattrs,
  devices,
  times,
  paths,
];

/** What the recorder reads and the recorded fixtures name by its sha256. */
export function batteryJson(): string {
  const steps = (ss: Step[]) => ss.map((s) => '   ' + JSON.stringify(s)).join(',\n');
  const lines = [
    '{',
    ` "format": "erofs-js write oracle battery 1",`,
    ` "profiles": ${JSON.stringify(PROFILES)},`,
    ` "flags": ${JSON.stringify(FLAGS)},`,
    ` "trees": {`,
    Object.entries(TREES)
      .map(([k, v]) => `  ${JSON.stringify(k)}: [${v.length ? '\n' + steps(v) + '\n  ' : ''}]`)
      .join(',\n'),
    ' },',
    ' "scenarios": [',
    BATTERY.map((s) => `  {"name": ${JSON.stringify(s.name)}, "on": ${JSON.stringify(s.on)}, "tree": ${JSON.stringify(s.tree)}, "steps": [\n${steps(s.steps)}\n  ]}`).join(',\n'),
    ' ]',
    '}',
  ];
  return lines.join('\n') + '\n';
}

export const BATTERY_JSON_PATH = fileURLToPath(new URL('./battery.json', import.meta.url));

export function batterySha256(json = batteryJson()): string {
  return createHash('sha256').update(json).digest('hex');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = batteryJson();
  let old = '';
  try {
    old = readFileSync(BATTERY_JSON_PATH, 'utf8');
  } catch {
    /* first time */
  }
  if (old !== json) writeFileSync(BATTERY_JSON_PATH, json);
  const steps = BATTERY.reduce((n, s) => n + s.steps.length, 0);
  const probes = BATTERY.reduce((n, s) => n + s.steps.filter((x) => !x.setup).length, 0);
  console.log(`${BATTERY_JSON_PATH}: ${BATTERY.length} scenarios, ${steps} steps (${probes} probes), tree "base" ${TREES.base.length} setup steps; sha256 ${batterySha256(json)}${old === json ? ' (unchanged)' : ''}`);
}
