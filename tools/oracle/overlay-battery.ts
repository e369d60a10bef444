/**
 * The overlay oracle battery: scripted system calls on an overlay of three read-only
 * EROFS layers with a tmpfs upper, whose answers the Linux kernel gives
 * (tools/oracle/record-overlay.py builds the layers with `mkfs.erofs --tar=f --aufs`,
 * stacks them with `mount -t overlay` and a fresh tmpfs upper per scenario, and stores
 * every answer in fixtures/oracle/overlay.jsonl) and which tests/overlay-oracle.test.ts
 * replays through `Task` on our Overlay over the same images.
 *
 * Run `npx tsx tools/oracle/overlay-battery.ts` to write tools/oracle/overlay-battery.json.
 *
 * ## Format
 *
 * As tools/oracle/battery.ts (steps, profiles, flags, data), plus:
 * - `layers`: the lower layers, lowest first, each a list of tar members
 *   ({ path, type, mode, uid, gid, mtime, data, target, dev, xattrs }). OCI whiteouts are
 *   members named `.wh.NAME` (a whiteout of NAME) and `.wh..wh..opq` (the directory is
 *   opaque); mkfs.erofs --aufs turns them into overlayfs whiteouts (character devices
 *   0:0) and `trusted.overlay.opaque` = "y". xattrs go into PAX `SCHILY.xattr.*` records.
 * - The mount: `lowerdir=L3:L2:L1` (the last layer is the top), `upperdir` and `workdir`
 *   on a fresh tmpfs (size=16m, nr_inodes=16384) per scenario, every other option at the
 *   kernel's default.
 * - More calls: `access` [path, mode], `getdents64` [fd, size] (one call: each record's name, d_off and d_type),
 *   `listxattr` [path] (the names, sorted), `statfs` [path] (the fields that do not depend
 *   on the machine).
 * - What is recorded differs from battery.ts in one way: a stat's inode is named by the
 *   order of first appearance of its (st_dev, st_ino) pair, and st_dev by the order of
 *   first appearance of st_dev (`dev`): an overlay reports several devices.
 * - At the end of each scenario: the manifest of the merged tree, and the manifest of the
 *   upper directory (its whiteouts and trusted.overlay.* xattrs; the random
 *   trusted.overlay.uuid value masked), with each directory's names in getdents order.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Builder, FLAGS, PROFILES, type Arg, type Data, type FdArg, type Step, type Value } from './battery.js';

export interface LayerMember {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo';
  /** Octal permission bits. */
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  data?: Data;
  /** Symlink target, or the member a hard link names. */
  target?: string;
  dev?: [number, number];
  xattrs?: Record<string, Value>;
}

export interface OverlayScenario {
  name: string;
  steps: Step[];
}

/** Builds one layer's members; every member takes the layer's mtime. */
class Layer {
  readonly members: LayerMember[] = [];
  constructor(private readonly mtime: number) {}

  private add(path: string, type: LayerMember['type'], mode: string, extra: Partial<LayerMember> = {}, uid = 0, gid = 0): this {
    this.members.push({ path, type, mode, uid, gid, mtime: this.mtime, ...extra });
    return this;
  }
  dir(path: string, mode = '0755', uid = 0, gid = 0, xattrs?: Record<string, Value>) {
    return this.add(path, 'dir', mode, xattrs ? { xattrs } : {}, uid, gid);
  }
  file(path: string, data: Data = '', mode = '0644', uid = 0, gid = 0, xattrs?: Record<string, Value>) {
    return this.add(path, 'file', mode, xattrs ? { data, xattrs } : { data }, uid, gid);
  }
  link(path: string, target: string) {
    return this.add(path, 'symlink', '0777', { target });
  }
  hard(path: string, target: string) {
    return this.add(path, 'hardlink', '0644', { target });
  }
  node(path: string, type: 'chardev' | 'blockdev' | 'fifo', mode: string, dev: [number, number] = [0, 0], gid = 0) {
    return this.add(path, type, mode, type === 'fifo' ? {} : { dev }, 0, gid);
  }
  /** An OCI whiteout of `path`. */
  whiteout(path: string) {
    const i = path.lastIndexOf('/');
    return this.file(path.slice(0, i + 1) + '.wh.' + path.slice(i + 1));
  }
  /** An OCI opaque marker in directory `dir`. */
  opaque(dir: string) {
    return this.file(dir + '/.wh..wh..opq');
  }
}

const ACL_640 = 'u::rw-,u:1000:r--,g::r--,m::r--,o::---';
const ACL_NEW = 'u::rw-,u:1001:rw-,g::r--,m::rw-,o::---';

/** L1, the base layer. */
function base(): LayerMember[] {
  const l = new Layer(1600000000);
  l.dir('etc').file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n').file('etc/hostname', 'base\n').file('etc/motd', 'welcome\n').file('etc/group', 'root:x:0:\n');
  l.dir('bin').file('bin/sh', '#!sh\n', '0755');
  l.dir('usr').dir('usr/lib').file('usr/lib/libc.so', { fill: 'c', len: 70000 }, '0755');
  l.dir('usr/share').dir('usr/share/doc').file('usr/share/doc/readme', 'doc\n').file('usr/share/doc/copying', 'gpl\n');
  l.dir('home').dir('home/user', '0750', 1000, 1000).file('home/user/.profile', 'PS1=$\n', '0644', 1000, 1000).file('home/user/notes', 'private\n', '0600', 1000, 1000);
  l.dir('hard').file('hard/h1', 'hard\n', '0644', 0, 0, { 'user.h': '1' }).hard('hard/h2', 'hard/h1').dir('hard/sub').hard('hard/sub/h3', 'hard/h1');
  l.dir('links').link('links/rel', '../etc/passwd').link('links/abs', '/etc/hostname').link('links/dangling', 'nowhere').link('links/dir', '../usr');
  l.dir('dev').node('dev/null', 'chardev', '0666', [1, 3]).node('dev/zero', 'chardev', '0666', [1, 5]).node('dev/fifo', 'fifo', '0644').node('dev/loop0', 'blockdev', '0660', [7, 0], 6);
  l.dir('x');
  l.file('x/user', 'u', '0644', 0, 0, { 'user.a': '1', 'user.b': 'two' });
  l.file('x/trusted', 't', '0644', 0, 0, { 'trusted.t': 'secret' });
  l.file('x/acl', 'acl', '0640', 0, 0, { 'system.posix_acl_access': { acl: ACL_640 } });
  l.dir('x/dir', '0755', 0, 0, { 'user.d': 'dir' });
  l.dir('modes').file('modes/suid', 's', '04755').dir('modes/sgid-dir', '02775', 0, 1000).dir('modes/sticky', '01777').file('modes/ro', 'ro', '0444');
  l.dir('gone').file('gone/a', 'a').file('gone/b', 'b');
  l.file('gonefile', 'gone\n');
  l.dir('opq').file('opq/old1', 'o1').file('opq/old2', 'o2');
  l.dir('merge').file('merge/a', 'a1').file('merge/b', 'b1').file('merge/c', 'c1').dir('merge/sub').file('merge/sub/s1', 's1');
  l.dir('typechange').file('typechange/f2d', 'file in L1').dir('typechange/d2f').file('typechange/d2f/inner', 'inner');
  l.dir('rmme').file('rmme/only', 'only');
  l.dir('empty');
  l.dir('owned', '0755', 1000, 1000).file('owned/mine', 'mine\n', '0644', 1000, 1000);
  l.dir('xw').file('xw/w1', 'w1').file('xw/w2', 'w2');
  return l.members;
}

/** L2, an application layer: replaces, adds and deletes (OCI whiteouts). */
function app(): LayerMember[] {
  const l = new Layer(1650000000);
  l.dir('etc').file('etc/hostname', 'app\n').file('etc/app.conf', 'conf\n').whiteout('etc/motd');
  l.dir('merge').file('merge/d', 'd2').whiteout('merge/b').file('merge/c', 'c2').dir('merge/sub').file('merge/sub/s2', 's2');
  l.dir('opq').opaque('opq').file('opq/new1', 'n1');
  l.whiteout('gone').whiteout('gonefile');
  l.dir('typechange').dir('typechange/f2d').file('typechange/f2d/inside', 'inside').file('typechange/d2f', 'file in L2');
  l.dir('app').file('app/run', '#!run\n', '0755').dir('app/data').file('app/data/db', 'db');
  l.dir('only2').whiteout('only2/phantom').file('only2/real', 'real');
  return l.members;
}

/** L3, the top layer: a directory marked for xattr whiteouts (overlayfs's own form, no OCI equivalent). */
function top(): LayerMember[] {
  const l = new Layer(1690000000);
  l.dir('xw', '0755', 0, 0, { 'trusted.overlay.opaque': 'x' });
  l.file('xw/w1', '', '0644', 0, 0, { 'trusted.overlay.whiteout': '' });
  l.file('xw/w3', 'w3');
  l.file('xw/notwhite', 'has data', '0644', 0, 0, { 'trusted.overlay.whiteout': '' });
  return l.members;
}

export const LAYERS: LayerMember[][] = [base(), app(), top()];

// ---- the builder ---------------------------------------------------------------------

class OverlayBuilder extends Builder {
  getdents64(fd: FdArg, size = 4096) {
    return this.push('getdents64', [fd, size]);
  }
  listxattr(path: string) {
    return this.push('listxattr', [path]);
  }
  statfs(path: string) {
    return this.push('statfs', [path]);
  }
  /** access(2): mode as symbols (F_OK, R_OK, W_OK, X_OK). */
  access(path: string, mode: string) {
    return this.push('access', [path, [mode]]);
  }
  /** newfstatat following symlinks. */
  statFollow(path: string) {
    return this.stat(path, []);
  }
}

function scenario(name: string, build: (b: OverlayBuilder) => void): OverlayScenario {
  const b = new OverlayBuilder();
  build(b);
  return { name, steps: b.steps };
}

const T1: [[number, number], [number, number]] = [
  [1000000000, 0],
  [1000000001, 500],
];

// ---- scenarios -------------------------------------------------------------------------

const lookupRead = scenario('lookup, read, list and stat through three layers', (b) => {
  for (const p of [
    '/', 'etc', 'etc/passwd', 'etc/hostname', 'etc/motd', 'etc/app.conf', 'bin', 'bin/sh', 'usr', 'usr/lib', 'usr/lib/libc.so',
    'hard/h1', 'hard/h2', 'hard/sub/h3', 'links/rel', 'links/dangling', 'dev/null', 'dev/fifo', 'dev/loop0', 'x/acl', 'x/dir',
    'modes/suid', 'modes/sgid-dir', 'modes/sticky', 'gone', 'gone/a', 'gonefile', 'opq', 'opq/old1', 'opq/new1', 'merge',
    'merge/a', 'merge/b', 'merge/c', 'merge/d', 'merge/sub', 'merge/sub/s1', 'merge/sub/s2', 'typechange', 'typechange/f2d',
    'typechange/f2d/inside', 'typechange/d2f', 'typechange/d2f/inner', 'app', 'app/data', 'only2', 'only2/phantom', 'only2/real',
    'xw', 'xw/w1', 'xw/w2', 'xw/w3', 'xw/notwhite', 'empty', 'owned', 'home/user',
  ]) {
    b.stat(p);
  }
  b.statFollow('links/rel');
  b.statFollow('links/dir/lib');
  b.statFollow('links/dir/lib/libc.so');
  b.openat('etc/hostname', ['O_RDONLY'], '0', 'h');
  b.read('h', 100);
  b.fstat('h');
  b.fsync('h');
  b.close('h');
  b.openat('links/rel', ['O_RDONLY'], '0', 'p');
  b.read('p', 100);
  b.close('p');
  b.openat('usr/lib/libc.so', ['O_RDONLY'], '0', 'c');
  b.pread64('c', 16, 65536);
  b.lseek('c', 0, 'SEEK_END');
  b.close('c');
  b.openat('merge/c', ['O_RDONLY'], '0', 'm');
  b.read('m', 10);
  b.close('m');
  b.openat('xw/notwhite', ['O_RDONLY'], '0', 'n');
  b.read('n', 100);
  b.close('n');
  b.readlinkat('links/rel');
  b.readlinkat('links/abs');
  b.readlinkat('etc/passwd');
  b.getxattr('x/user', 'user.a');
  b.getxattr('x/user', 'user.missing');
  b.getxattr('x/trusted', 'trusted.t');
  b.getxattr('x/acl', 'system.posix_acl_access');
  b.getxattr('x/dir', 'user.d');
  b.getxattr('hard/h2', 'user.h');
  b.getxattr('opq', 'trusted.overlay.opaque');
  b.getxattr('xw', 'trusted.overlay.opaque');
  b.getxattr('only2', 'trusted.overlay.origin');
  b.getxattr('xw/notwhite', 'trusted.overlay.whiteout');
  for (const p of ['x/user', 'x/trusted', 'x/acl', 'opq', 'xw', 'only2', 'xw/notwhite', '/']) b.listxattr(p);
  for (const p of ['/', 'etc', 'merge', 'merge/sub', 'opq', 'typechange', 'typechange/f2d', 'only2', 'xw', 'hard', 'dev', 'x', 'empty', 'app', 'usr/share/doc']) {
    b.listdir(p);
  }
  for (const p of ['/', 'merge', 'xw', 'only2', 'opq', 'etc', 'usr/share/doc', 'empty']) {
    b.openat(p, ['O_RDONLY', 'O_DIRECTORY'], '0', 'd');
    b.getdents64('d');
    b.getdents64('d');
    b.close('d');
  }
  b.access('etc/passwd', 'W_OK');
  b.access('modes/ro', 'W_OK');
  b.access('bin/sh', 'X_OK');
  b.access('dev/null', 'W_OK');
  b.statfs('/');
  b.statfs('etc');
  b.openat('etc', ['O_RDONLY', 'O_DIRECTORY'], '0', 'e');
  b.fstat('e');
  b.fsync('e');
  b.close('e');
  b.as('u1000', () => {
    b.stat('home/user/notes');
    b.openat('home/user/notes', ['O_RDONLY'], '0', 'u');
    b.read('u', 100);
    b.close('u');
    b.openat('etc/passwd', ['O_WRONLY']);
    b.access('etc/passwd', 'W_OK');
    b.access('etc/passwd', 'R_OK');
    b.getxattr('x/trusted', 'trusted.t');
    b.listxattr('x/trusted');
    b.openat('x/acl', ['O_RDONLY']);
  });
  b.as('nobody', () => {
    b.stat('home/user/notes');
    b.openat('x/acl', ['O_RDONLY']);
    b.listdir('home/user');
  });
});

const copyUp = scenario('copy-up of each file type by each write-type call', (b) => {
  b.stat('etc');
  b.stat('etc/passwd');
  b.fchmodat('etc/passwd', '0600');
  b.stat('etc/passwd');
  b.stat('etc');
  b.fchownat('bin/sh', 1000, 1000);
  b.stat('bin/sh');
  b.lchown('links/rel', 1000, 1000);
  b.stat('links/rel');
  b.readlinkat('links/rel');
  b.fchmodat('dev/fifo', '0600');
  b.stat('dev/fifo');
  b.fchownat('dev/null', 0, 5);
  b.stat('dev/null');
  b.fchmodat('dev/loop0', '0600');
  b.stat('dev/loop0');
  b.stat('usr/share');
  b.utimensat('usr/share/doc/readme', T1);
  b.stat('usr/share/doc/readme');
  b.stat('usr');
  b.stat('usr/share');
  b.stat('usr/share/doc');
  b.stat('usr/share/doc/copying');
  b.truncate('merge/a', 1);
  b.stat('merge/a');
  b.openat('merge/a', ['O_RDONLY'], '0', 'a');
  b.read('a', 10);
  b.close('a');
  b.stat('merge/c');
  b.openat('merge/c', ['O_WRONLY'], '0', 'c');
  b.fstat('c');
  b.close('c');
  b.stat('merge/c');
  b.openat('etc/group', ['O_RDWR'], '0', 'g');
  b.write('g', 'x');
  b.fstat('g');
  b.close('g');
  b.openat('etc/group', ['O_RDONLY'], '0', 'g2');
  b.read('g2', 100);
  b.close('g2');
  b.openat('etc/app.conf', ['O_WRONLY', 'O_TRUNC'], '0', 't');
  b.fstat('t');
  b.close('t');
  b.setxattr('x/user', 'user.c', '3');
  b.getxattr('x/user', 'user.a');
  b.getxattr('x/user', 'user.c');
  b.listxattr('x/user');
  b.stat('x/trusted');
  b.removexattr('x/trusted', 'trusted.missing');
  b.stat('x/trusted');
  b.removexattr('x/trusted', 'trusted.t');
  b.stat('x/trusted');
  b.listxattr('x/trusted');
  b.setxattr('x/acl', 'system.posix_acl_access', { acl: ACL_NEW });
  b.getxattr('x/acl', 'system.posix_acl_access');
  b.stat('x/acl');
  b.stat('x/dir');
  b.fchmodat('x/dir', '0700');
  b.stat('x/dir');
  b.getxattr('x/dir', 'user.d');
  b.listdir('x');
  b.stat('hard/h1');
  b.fchmodat('hard/h1', '0600');
  b.stat('hard/h1');
  b.stat('hard/h2');
  b.stat('hard/sub/h3');
  b.getxattr('hard/h1', 'user.h');
  b.fchownat('modes/suid', 1000, -1);
  b.stat('modes/suid');
  b.openat('merge/sub/s1', ['O_RDONLY'], '0', 'r');
  b.read('r', 1);
  b.fstat('r');
  b.openat('merge/sub/s1', ['O_WRONLY', 'O_APPEND'], '0', 'w');
  b.write('w', '+more');
  b.close('w');
  b.read('r', 100);
  b.pread64('r', 100, 0);
  b.fstat('r');
  b.close('r');
  b.fchmodat('opq/new1', '0600');
  b.fchmodat('xw/w3', '0600');
  b.stat('opq/new1');
  b.stat('xw/w3');
  b.openat('typechange/d2f', ['O_WRONLY', 'O_APPEND'], '0', 'd');
  b.write('d', '!');
  b.close('d');
  b.stat('typechange/d2f');
  b.openat('usr/lib/libc.so', ['O_RDWR'], '0', 'l');
  b.pwrite64('l', 'LIB', 69998);
  b.fstat('l');
  b.pread64('l', 8, 69996);
  b.close('l');
  b.fchmodat('modes/sgid-dir', '02770');
  b.stat('modes/sgid-dir');
  b.fchmodat('/', '0711');
  b.stat('/');
  b.utimensat('empty', T1);
  b.stat('empty');
  b.listdir('/');
  b.listdir('etc');
  b.listdir('merge');
});

const whiteouts = scenario('unlink and rmdir leave whiteouts; creating over them', (b) => {
  b.unlinkat('etc/passwd');
  b.stat('etc/passwd');
  b.listdir('etc');
  b.openat('etc/passwd', ['O_WRONLY', 'O_CREAT'], '0600', 'p');
  b.write('p', 'new passwd\n');
  b.close('p');
  b.stat('etc/passwd');
  b.listdir('etc');
  b.unlinkat('etc/app.conf');
  b.unlinkat('etc/hostname');
  b.stat('etc/hostname');
  b.openat('etc/new', ['O_WRONLY', 'O_CREAT', 'O_EXCL'], '0644', 'n');
  b.close('n');
  b.unlinkat('etc/new');
  b.listdir('etc');
  b.rmdir('empty');
  b.stat('empty');
  b.mkdirat('empty', '0750');
  b.stat('empty');
  b.listdir('empty');
  b.rmdir('rmme');
  b.unlinkat('rmme/only');
  b.listdir('rmme');
  b.stat('rmme');
  b.rmdir('rmme');
  b.stat('rmme');
  b.rmdir('merge/sub');
  b.unlinkat('merge/sub/s1');
  b.unlinkat('merge/sub/s2');
  b.rmdir('merge/sub');
  b.stat('merge/sub');
  b.mkdirat('merge/sub');
  b.listdir('merge/sub');
  b.unlinkat('dev/null');
  b.unlinkat('dev/fifo');
  b.unlinkat('links/dangling');
  b.rmdir('app/data');
  b.unlinkat('app/data/db');
  b.rmdir('app/data');
  b.symlinkat('welcome', 'etc/motd');
  b.readlinkat('etc/motd');
  b.mknodat('x/wh', 'S_IFCHR|0000', [0, 0]);
  b.mknodat('x/wh2', 'S_IFCHR|0644', [0, 0]);
  b.mknodat('dev/newfifo', 'S_IFIFO|0644');
  b.stat('dev/newfifo');
  b.unlinkat('hard/h2');
  b.stat('hard/h1');
  b.stat('hard/h2');
  b.rmdir('gone');
  b.unlinkat('gonefile');
  b.unlinkat('xw/w1');
  b.unlinkat('xw/w2');
  b.stat('xw/w2');
  b.listdir('xw');
  b.rmdir('typechange/f2d');
  b.unlinkat('typechange/f2d/inside');
  b.rmdir('typechange/f2d');
  b.stat('typechange/f2d');
  b.rmdir('only2');
  b.unlinkat('only2/real');
  b.rmdir('only2');
  b.stat('only2');
  b.rmdir('opq');
  b.unlinkat('opq/new1');
  b.rmdir('opq');
  b.mkdirat('opq');
  b.listdir('opq');
  b.mkdirat('newdir');
  b.openat('newdir/f', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.rmdir('newdir');
  b.unlinkat('newdir/f');
  b.rmdir('newdir');
  b.unlinkat('bin');
  b.rmdir('bin/sh');
  b.unlinkat('links');
  b.listdir('/');
  b.listdir('dev');
  b.listdir('merge');
});

const renames = scenario('renames: files, links, special files, directories (EXDEV), exchange, whiteouts', (b) => {
  b.renameat2('etc/passwd', 'etc/passwd2');
  b.stat('etc/passwd');
  b.stat('etc/passwd2');
  b.listdir('etc');
  b.renameat2('etc/passwd2', 'etc/group');
  b.stat('etc/group');
  b.renameat2('etc/hostname', 'etc/motd');
  b.stat('etc/motd');
  b.stat('etc/hostname');
  b.renameat2('bin/sh', 'bin/sh2', ['RENAME_NOREPLACE']);
  b.renameat2('bin/sh2', 'etc/motd', ['RENAME_NOREPLACE']);
  b.renameat2('usr', 'usr2');
  b.renameat2('usr/share', 'usr/share2');
  b.renameat2('merge', 'merge2');
  b.renameat2('merge/sub', 'merge/sub2');
  b.renameat2('empty', 'empty2');
  b.mkdirat('newdir');
  b.renameat2('newdir', 'newdir2');
  b.renameat2('newdir2', 'merge/newdir');
  b.getxattr('merge/newdir', 'trusted.overlay.opaque');
  b.stat('merge/newdir');
  b.renameat2('merge/a', 'merge/sub/a');
  b.stat('merge/sub/a');
  b.renameat2('x/user', 'x/trusted', ['RENAME_EXCHANGE']);
  b.getxattr('x/user', 'trusted.t');
  b.getxattr('x/trusted', 'user.a');
  b.renameat2('etc/app.conf', 'etc/x', ['RENAME_WHITEOUT']);
  b.renameat2('dev/fifo', 'dev/fifo2');
  b.stat('dev/fifo2');
  b.renameat2('links/rel', 'links/rel2');
  b.readlinkat('links/rel2');
  b.renameat2('hard/h1', 'hard/h4');
  b.stat('hard/h4');
  b.stat('hard/h2');
  b.renameat2('hard/sub/h3', 'hard/h2');
  b.stat('hard/h2');
  b.stat('hard/sub/h3');
  b.mkdirat('d1');
  b.openat('d1/f', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.renameat2('d1', 'empty');
  b.mkdirat('d2');
  b.renameat2('d2', 'empty');
  b.stat('empty');
  b.listdir('empty');
  b.renameat2('d1', 'rmme');
  b.renameat2('opq/new1', 'opq/new2');
  b.renameat2('typechange/d2f', 'typechange/f2d');
  b.renameat2('typechange/f2d', 'typechange/d2f');
  b.renameat2('merge/c', 'merge/d', ['RENAME_EXCHANGE']);
  b.renameat2('merge/c', 'merge/sub', ['RENAME_EXCHANGE']);
  b.renameat2('etc/group', 'etc/missing', ['RENAME_EXCHANGE']);
  b.renameat2('gonefile', 'x');
  b.renameat2('app/run', 'gonefile');
  b.stat('gonefile');
  b.mkdirat('gone');
  b.renameat2('x/dir', 'x/dir2');
  b.as('u1000', () => {
    b.renameat2('owned/mine', 'owned/mine2');
    b.renameat2('etc/motd', 'etc/m');
    b.renameat2('owned/mine2', 'etc/mine');
  });
  b.stat('owned/mine2');
  b.listdir('/');
  b.listdir('etc');
  b.listdir('merge');
  b.listdir('merge/sub');
  b.listdir('hard');
  b.listdir('x');
  b.listdir('dev');
});

const hardLinks = scenario('hard links across copy-up', (b) => {
  b.linkat('etc/passwd', 'etc/passwd.link');
  b.stat('etc/passwd');
  b.stat('etc/passwd.link');
  b.linkat('hard/h1', 'hard/h1.link');
  b.stat('hard/h1');
  b.stat('hard/h1.link');
  b.stat('hard/h2');
  b.stat('hard/sub/h3');
  b.linkat('merge/a', 'merge/sub/a.link');
  b.stat('merge/sub/a.link');
  b.openat('merge/sub/a.link', ['O_WRONLY', 'O_APPEND'], '0', 'w');
  b.write('w', '+');
  b.close('w');
  b.openat('merge/a', ['O_RDONLY'], '0', 'r');
  b.read('r', 10);
  b.close('r');
  b.unlinkat('etc/passwd');
  b.stat('etc/passwd.link');
  b.linkat('dev/null', 'dev/null2');
  b.stat('dev/null');
  b.stat('dev/null2');
  b.linkat('links/rel', 'links/rel.hl');
  b.stat('links/rel.hl');
  b.linkat('etc', 'etc2');
  b.linkat('gonefile', 'gonefile2');
  b.linkat('etc/hostname', 'etc/motd');
  b.stat('etc/motd');
  b.linkat('hard/h2', 'hard/h2.link');
  b.stat('hard/h2');
  b.stat('hard/h2.link');
  b.stat('hard/h1');
  b.as('u1000', () => {
    b.linkat('owned/mine', 'owned/mine.l');
    b.linkat('etc/group', 'owned/group');
    b.linkat('home/user/notes', 'owned/notes');
  });
  b.stat('owned/mine.l');
  b.stat('owned/notes');
  b.listdir('etc');
  b.listdir('hard');
  b.listdir('merge/sub');
  b.listdir('owned');
});

const readdirChanges = scenario('readdir during changes: positions, caches, rewinds', (b) => {
  b.openat('merge', ['O_RDONLY', 'O_DIRECTORY'], '0', 'a');
  b.openat('merge', ['O_RDONLY', 'O_DIRECTORY'], '0', 'b');
  b.getdents64('a', 64);
  b.getdents64('b', 4096);
  b.openat('merge/new', ['O_WRONLY', 'O_CREAT'], '0644', 'n');
  b.close('n');
  b.unlinkat('merge/c');
  b.getdents64('a', 4096);
  b.getdents64('a', 4096);
  b.lseek('a', 0, 'SEEK_SET');
  b.getdents64('a', 4096);
  b.lseek('b', 0, 'SEEK_SET');
  b.getdents64('b', 4096);
  b.lseek('a', 3, 'SEEK_SET');
  b.getdents64('a', 4096);
  b.lseek('a', 100, 'SEEK_SET');
  b.getdents64('a', 4096);
  b.lseek('a', 0, 'SEEK_CUR');
  b.lseek('a', 0, 'SEEK_END');
  b.openat('merge', ['O_RDONLY', 'O_DIRECTORY'], '0', 'c');
  b.getdents64('c', 16);
  b.getdents64('c', 64);
  b.lseek('c', 0, 'SEEK_CUR');
  b.close('a');
  b.close('b');
  b.close('c');
  b.openat('etc', ['O_RDONLY', 'O_DIRECTORY'], '0', 'e');
  b.getdents64('e', 80);
  b.unlinkat('etc/motd');
  b.unlinkat('etc/passwd');
  b.getdents64('e', 4096);
  b.lseek('e', 0, 'SEEK_SET');
  b.getdents64('e', 4096);
  b.close('e');
  b.openat('usr/share/doc', ['O_RDONLY', 'O_DIRECTORY'], '0', 'u');
  b.getdents64('u', 48);
  b.lseek('u', 0, 'SEEK_CUR');
  b.fchmodat('usr/share/doc/readme', '0600');
  b.getdents64('u', 4096);
  b.lseek('u', 0, 'SEEK_SET');
  b.getdents64('u', 4096);
  b.lseek('u', 13, 'SEEK_SET');
  b.getdents64('u', 4096);
  b.close('u');
  b.openat('usr/share/doc', ['O_RDONLY', 'O_DIRECTORY'], '0', 'u2');
  b.getdents64('u2', 4096);
  b.close('u2');
  b.mkdirat('up');
  b.openat('up/1', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.openat('up/2', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.openat('up', ['O_RDONLY', 'O_DIRECTORY'], '0', 'p');
  b.getdents64('p', 4096);
  b.openat('up/3', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.unlinkat('up/1');
  b.getdents64('p', 4096);
  b.lseek('p', 0, 'SEEK_SET');
  b.getdents64('p', 4096);
  b.close('p');
  b.openat('app', ['O_RDONLY', 'O_DIRECTORY'], '0', 'q');
  b.getdents64('q', 4096);
  b.openat('app/new', ['O_WRONLY', 'O_CREAT'], '0644', 'f');
  b.close('f');
  b.lseek('q', 0, 'SEEK_SET');
  b.getdents64('q', 4096);
  b.close('q');
  b.openat('app', ['O_RDONLY', 'O_DIRECTORY'], '0', 'q2');
  b.getdents64('q2', 4096);
  b.close('q2');
  b.openat('x', ['O_RDONLY', 'O_DIRECTORY'], '0', 'r');
  b.getdents64('r', 8);
  b.close('r');
  b.listdir('merge');
  b.listdir('etc');
  b.listdir('app');
});

const users = scenario('unprivileged callers: copy-up as the file owner, checks before copy-up', (b) => {
  b.as('u1000', () => {
    b.openat('home/user/.profile', ['O_WRONLY', 'O_APPEND'], '0', 'p');
    b.write('p', 'export X=1\n');
    b.close('p');
    b.stat('home/user/.profile');
    b.openat('home/user/new', ['O_WRONLY', 'O_CREAT'], '0666', 'n');
    b.close('n');
    b.stat('home/user/new');
    b.stat('home/user');
    b.mkdirat('home/user/sub', '0777');
    b.stat('home/user/sub');
    b.fchmodat('etc/passwd', '0600');
    b.truncate('etc/passwd', 0);
    b.utimensat('etc/passwd', null);
    b.setxattr('etc/passwd', 'user.x', '1');
    b.utimensat('owned/mine', null);
    b.stat('owned/mine');
    b.setxattr('owned/mine', 'user.x', '1');
    b.setxattr('owned/mine', 'trusted.x', '1');
    b.setxattr('owned/mine', 'system.posix_acl_access', { acl: ACL_NEW });
    b.stat('owned/mine');
    b.getxattr('owned/mine', 'system.posix_acl_access');
    b.mkdirat('modes/sticky/u');
    b.openat('modes/sticky/uf', ['O_WRONLY', 'O_CREAT'], '0644', 's');
    b.close('s');
    b.rmdir('empty');
    b.unlinkat('etc/group');
    b.openat('x/acl', ['O_RDONLY'], '0', 'a');
    b.close('a');
    b.fchmodat('home/user/notes', '0640');
    b.stat('home/user/notes');
  });
  b.stat('etc/passwd');
  b.as('u1001', () => {
    b.unlinkat('modes/sticky/uf');
    b.rmdir('modes/sticky/u');
    b.openat('modes/sgid-dir/f', ['O_WRONLY', 'O_CREAT'], '02755', 'g');
    b.close('g');
    b.stat('modes/sgid-dir/f');
    b.mkdirat('modes/sgid-dir/d', '0755');
    b.stat('modes/sgid-dir/d');
    b.openat('x/acl', ['O_RDONLY']);
    b.fchmodat('x/acl', '0600');
  });
  b.as('nobody', () => {
    b.mkdirat('etc/n');
    b.stat('home/user/notes');
    b.openat('home/user/x', ['O_WRONLY', 'O_CREAT'], '0644');
    b.unlinkat('owned/mine');
  });
  b.umask('0077');
  b.mkdirat('umasked', '0777');
  b.stat('umasked');
  b.openat('umasked/f', ['O_WRONLY', 'O_CREAT'], '0666', 'u');
  b.close('u');
  b.stat('umasked/f');
  b.umask('0022');
  b.listdir('home/user');
  b.listdir('modes/sgid-dir');
});

const privateXattrs = scenario('private trusted.overlay.* xattrs and other refused names', (b) => {
  b.getxattr('opq', 'trusted.overlay.opaque');
  b.setxattr('etc', 'trusted.overlay.opaque', 'y');
  b.setxattr('etc', 'trusted.overlay.foo', 'y');
  b.removexattr('opq', 'trusted.overlay.opaque');
  b.getxattr('etc', 'trusted.overlay.overlay.x');
  b.fchmodat('etc/passwd', '0600');
  b.listxattr('etc/passwd');
  b.getxattr('etc/passwd', 'trusted.overlay.origin');
  b.listxattr('etc');
  b.listxattr('/');
  b.setxattr('etc/passwd', 'trusted.t', '1');
  b.getxattr('etc/passwd', 'trusted.t');
  b.setxattr('etc/hostname', 'user.new', 'v', ['XATTR_REPLACE']);
  b.stat('etc/hostname');
  b.setxattr('x/user', 'user.a', 'v', ['XATTR_CREATE']);
  b.stat('x/user');
  b.setxattr('links/rel', 'user.x', 'v');
  b.lsetxattr('links/rel', 'user.x', 'v');
  b.lsetxattr('links/rel', 'trusted.x', 'v');
  b.lgetxattr('links/rel', 'trusted.x');
  b.stat('links/rel');
  b.removexattr('x/user', 'user.missing');
  b.stat('x/user');
  b.setxattr('x/trusted', 'security.s', 'v');
  b.getxattr('x/trusted', 'security.s');
  b.as('u1000', () => {
    b.getxattr('opq', 'trusted.overlay.opaque');
    b.listxattr('etc/passwd');
    b.setxattr('owned/mine', 'trusted.overlay.opaque', 'y');
  });
  b.mkdirat('.');
  b.mkdirat('etc/..');
  b.unlinkat('.');
  b.rmdir('.');
  b.rmdir('etc/..');
  b.renameat2('.', 'x2');
  b.listxattr('x/user');
});

const oddsAndEnds = scenario('descriptors, O_TMPFILE, fifos, ACL copy-up, statfs and times', (b) => {
  b.fchmodat('x/acl', '0600');
  b.openat('x/acl', ['O_WRONLY']);
  b.truncate('x/acl', 0);
  b.stat('x/acl');
  b.utimensat('etc/passwd', [
    [0, 'UTIME_OMIT'],
    [0, 'UTIME_OMIT'],
  ]);
  b.stat('etc/passwd');
  b.listdir('etc');
  b.openat('etc/hosts-new', ['O_RDWR', 'O_CREAT', 'O_EXCL'], '0640', 'n');
  b.fstat('n');
  b.close('n');
  b.openat('etc', ['O_TMPFILE', 'O_RDWR'], '0600', 't');
  b.write('t', 'tmp data');
  b.fstat('t');
  b.linkat('', 'etc/from-tmpfile', ['AT_EMPTY_PATH'], 't');
  b.close('t');
  b.stat('etc/from-tmpfile');
  b.openat('etc/group', ['O_RDONLY'], '0', 'r');
  b.fchmod('r', '0640');
  b.fchown('r', 0, 100);
  b.fstat('r');
  b.fsetxattr('r', 'user.f', 'v');
  b.fgetxattr('r', 'user.f');
  b.ftruncate('r', 0);
  b.close('r');
  b.openat('etc/group', ['O_RDWR'], '0', 'w');
  b.ftruncate('w', 3);
  b.fallocate('w', [], 0, 8192);
  b.fstat('w');
  b.lseek('w', 0, 'SEEK_HOLE');
  b.fsync('w');
  b.fdatasync('w');
  b.close('w');
  b.openat('dev/fifo', ['O_RDWR'], '0', 'f');
  b.write('f', 'through the pipe');
  b.read('f', 100);
  b.fstat('f');
  b.close('f');
  b.stat('dev/fifo');
  b.openat('dev/null', ['O_WRONLY'], '0', 'z');
  b.write('z', 'gone');
  b.close('z');
  b.stat('dev/null');
  b.openat('links/rel', ['O_WRONLY', 'O_APPEND'], '0', 'l');
  b.write('l', 'via link\n');
  b.close('l');
  b.stat('links/rel');
  b.stat('etc/passwd');
  b.readlinkat('links/rel');
  b.symlinkat('../etc/hosts', 'links/new');
  b.stat('links/new');
  b.openat('usr/lib/libc.so', ['O_RDWR'], '0', 'c');
  b.pwrite64('c', 'X', 200000);
  b.fstat('c');
  b.close('c');
  b.statfs('/');
  b.openat('bin', ['O_RDONLY', 'O_DIRECTORY'], '0', 'd');
  b.fchmod('d', '0700');
  b.fstat('d');
  b.fsync('d');
  b.getdents64('d');
  b.close('d');
  b.openat('bin/sh', ['O_PATH'], '0', 'p');
  b.fstat('p');
  b.close('p');
  b.unlinkat('etc/shadow-missing');
  b.mkdirat('etc/passwd/x');
  b.linkat('etc/passwd', 'gone/x');
  b.renameat2('etc/passwd', 'gone/x');
  b.listdir('/');
  b.listdir('etc');
  b.listdir('links');
});

export const OVERLAY_BATTERY: OverlayScenario[] = [lookupRead, copyUp, whiteouts, renames, hardLinks, readdirChanges, users, privateXattrs, oddsAndEnds];

/** What the recorder reads and the recorded fixture names by its sha256. */
export function overlayBatteryJson(): string {
  const steps = (ss: Step[]) => ss.map((s) => '   ' + JSON.stringify(s)).join(',\n');
  const lines = [
    '{',
    ` "format": "erofs-js overlay oracle battery 1",`,
    ` "profiles": ${JSON.stringify(PROFILES)},`,
    ` "flags": ${JSON.stringify({ ...FLAGS, W_OK: 2, R_OK: 4, X_OK: 1, F_OK: 0 })},`,
    ` "layers": [`,
    LAYERS.map((l) => `  [\n${l.map((m) => '   ' + JSON.stringify(m)).join(',\n')}\n  ]`).join(',\n'),
    ' ],',
    ' "scenarios": [',
    OVERLAY_BATTERY.map((s) => `  {"name": ${JSON.stringify(s.name)}, "steps": [\n${steps(s.steps)}\n  ]}`).join(',\n'),
    ' ]',
    '}',
  ];
  return lines.join('\n') + '\n';
}

export const OVERLAY_BATTERY_JSON_PATH = fileURLToPath(new URL('./overlay-battery.json', import.meta.url));

export function overlayBatterySha256(json = overlayBatteryJson()): string {
  return createHash('sha256').update(json).digest('hex');
}

export type { Arg };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = overlayBatteryJson();
  let old = '';
  try {
    old = readFileSync(OVERLAY_BATTERY_JSON_PATH, 'utf8');
  } catch {
    /* first time */
  }
  if (old !== json) writeFileSync(OVERLAY_BATTERY_JSON_PATH, json);
  const steps = OVERLAY_BATTERY.reduce((n, s) => n + s.steps.length, 0);
  console.log(`${OVERLAY_BATTERY_JSON_PATH}: ${OVERLAY_BATTERY.length} scenarios, ${steps} steps, ${LAYERS.length} layers; sha256 ${overlayBatterySha256(json)}${old === json ? ' (unchanged)' : ''}`);
}
