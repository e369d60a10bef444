/**
 * The scripted guest session of the tmpfs checkpoint test, in two halves, and the
 * manifest both sides compare.
 *
 * The first half writes a tree on a tmpfs /tmp over the rootfs image (files with data,
 * a sparse file with a fallocated range past its end, a hard link, symlinks (one
 * dangling, with a non-UTF-8 byte), xattrs of three namespaces, a fifo and a device
 * node), mounts a second tmpfs inside the first and a read-only one on /run, and leaves
 * behind what a checkpoint must carry: a file unlinked while open mid-way, a file whose
 * opened name was removed while another name lives, an O_TMPFILE file, a file created
 * 0444 and opened for writing, an O_APPEND descriptor, a directory half listed, and a
 * cwd in a removed directory. The second half continues each of them and prints what it
 * sees (no timestamps: the two runs it is compared between happen at different times).
 */
import { createHash } from 'node:crypto';
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, makedev } from '@erofs-js/erofs';
import { AT_FDCWD, AT_REMOVEDIR, type HostController, type Task } from '@erofs-js/mount';
import { FALLOC_FL_KEEP_SIZE, type Tmpfs } from '@erofs-js/tmpfs';
import { O_APPEND, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TMPFILE, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET, SysError, credentials, parseDirents } from '@erofs-js/vfs';

export interface TmpfsGuestState {
  fds: Record<string, number>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** `n` bytes of a seeded xorshift stream. */
export function data(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function errno(f: () => unknown): string {
  try {
    return `ok ${String(f())}`;
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

function readN(t: Task, fd: number, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = t.read(fd, buf.subarray(got));
    if (k === 0) break;
    got += k;
  }
  return buf.subarray(0, got);
}

function names(t: Task, fd: number, bufSize: number, calls = Infinity): string[] {
  const buf = new Uint8Array(bufSize);
  const out: string[] = [];
  for (let i = 0; i < calls; i++) {
    const n = t.getdents64(fd, buf);
    if (n === 0) break;
    for (const d of parseDirents(buf, n)) out.push(dec.decode(d.name));
  }
  return out;
}

/**
 * One line per entry under `top` (sorted, depth first), as root sees it: type, mode,
 * owner, size, nlink, inode, mtime and ctime to the nanosecond, rdev, the sha256 of a
 * file's bytes, a symlink's target, and every xattr (hex values).
 */
export function manifest(c: HostController, top: string): string[] {
  const t = c.task();
  const out: string[] = [];
  const walk = (path: string) => {
    const st = t.lstat(path);
    const type = { [S_IFREG]: 'f', [S_IFDIR]: 'd', [S_IFLNK]: 'l', [S_IFIFO]: 'p', [S_IFCHR]: 'c' }[st.mode & S_IFMT] ?? '?';
    let extra = '';
    if (type === 'f') {
      const fd = t.open(path, O_RDONLY);
      extra = ` sha=${sha(readN(t, fd, st.size))}`;
      t.close(fd);
    } else if (type === 'l') {
      const buf = new Uint8Array(4096);
      extra = ` -> ${hex(buf.subarray(0, t.readlinkat(AT_FDCWD, path, buf)))}`;
    }
    const list = new Uint8Array(65536);
    const xs = dec
      .decode(list.subarray(0, t.llistxattr(path, list)))
      .split('\0')
      .filter(Boolean)
      .sort()
      .map((x) => {
        const v = new Uint8Array(65536);
        return `${x}=${hex(v.subarray(0, t.lgetxattr(path, x, v)))}`;
      });
    out.push(`${path} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} size=${st.size} nlink=${st.nlink} ino=${st.ino} mtime=${st.mtime}.${st.mtimeNsec} ctime=${st.ctime}.${st.ctimeNsec} rdev=${st.rdev}${extra}${xs.length ? ` xattrs=${xs.join(',')}` : ''}`);
    if (type === 'd') {
      const fd = t.open(path, O_RDONLY | O_DIRECTORY);
      const kids = names(t, fd, 4096).filter((n) => n !== '.' && n !== '..');
      t.close(fd);
      for (const k of kids.sort()) walk(`${path === '/' ? '' : path}/${k}`);
    }
  };
  try {
    walk(top);
  } finally {
    t.exit();
  }
  return out;
}

/** What each tmpfs of the namespace accounts for (pages, inodes, orphans, inode space), by mount point. */
export function tmpfsStats(c: HostController): string[] {
  return c
    .list()
    .filter((m) => m.fstype === 'tmpfs')
    .map((m) => {
      const s = (c.ns.mountById(m.id)!.fs as Tmpfs).stats();
      return `${m.target}: inodes ${s.inodes} orphans ${s.orphans} pages ${s.pages} ispace ${s.inodeSpaceUsed} held ${s.nodesHeld}`;
    });
}

export const USER = () => credentials(1000, 1000, [1000]);

/** The first half: see the header. Returns the tasks (the user's and its fork). */
export function firstHalf(c: HostController, print: (l: string) => void): { tasks: Task[]; guest: TmpfsGuestState } {
  const home = c.mountFs({ type: 'tmpfs', target: '/tmp/home', options: { mkdir: true, size: '1m', nr_inodes: 64, mode: 0o750, uid: 1000, gid: 1000, nosuid: true } });
  const run = c.mountFs({ type: 'tmpfs', target: '/run', options: { readOnly: true, size: 8192, source: 'runfs' } });
  print(`host: tmpfs ${home.target} mount ${home.id} ${home.superOptions}; ${run.target} mount ${run.id} ${run.options}`);
  const root = c.task();
  root.mkdir('/tmp/a', 0o755);
  root.chown('/tmp/a', 1000, 1000);
  root.exit();
  const u = c.task({ creds: USER(), reservedFds: [0, 1, 2] });
  const fds: Record<string, number> = {};
  u.umask(0o022);
  u.mkdir('/tmp/a/b', 0o700);
  const f1 = u.open('/tmp/a/file1', O_CREAT | O_WRONLY, 0o644);
  u.write(f1, data(10000, 1));
  u.close(f1);
  u.setxattr('/tmp/a/file1', 'user.color', enc.encode('blue'));
  u.setxattr('/tmp/a', 'user.dir', new Uint8Array([0, 255, 1]));
  u.link('/tmp/a/file1', '/tmp/a/b/hard');
  u.symlink('file1', '/tmp/a/sym');
  u.symlink(new Uint8Array([0x2f, 0x6e, 0x6f, 0xff]), '/tmp/a/dangling');
  const sp = u.open('/tmp/a/sparse', O_CREAT | O_RDWR, 0o600);
  u.pwrite64(sp, data(100, 2), 1 << 20);
  u.fallocate(sp, FALLOC_FL_KEEP_SIZE, 2 << 20, 8192);
  u.close(sp);
  const admin = c.task();
  admin.lsetxattr('/tmp/a/sym', 'trusted.t', enc.encode('x'));
  admin.setxattr('/tmp/a/file1', 'security.label', enc.encode('s0'));
  admin.mknod('/tmp/a/fifo', S_IFIFO | 0o640);
  admin.mknod('/tmp/a/null', S_IFCHR | 0o666, makedev(1, 3));
  admin.exit();
  fds.ro = u.open('/tmp/a/readonly', O_CREAT | O_RDWR, 0o444);
  u.write(fds.ro, enc.encode('abc'));
  fds.victim = u.open('/tmp/a/victim', O_CREAT | O_RDWR, 0o600);
  u.write(fds.victim, data(20000, 3));
  u.lseek(fds.victim, 5000, SEEK_SET);
  u.unlink('/tmp/a/victim');
  u.link('/tmp/a/file1', '/tmp/a/hl');
  fds.hl = u.open('/tmp/a/hl', O_RDONLY);
  readN(u, fds.hl, 100);
  u.unlink('/tmp/a/hl');
  fds.tmpfile = u.open('/tmp/a', O_TMPFILE | O_RDWR, 0o600);
  u.write(fds.tmpfile, enc.encode('anonymous'));
  fds.log = u.open('/tmp/a/log', O_CREAT | O_WRONLY | O_APPEND, 0o644);
  u.write(fds.log, enc.encode('one\n'));
  u.mkdir('/tmp/a/many', 0o755);
  for (let i = 0; i < 30; i++) u.close(u.open(`/tmp/a/many/f${String(i).padStart(2, '0')}`, O_CREAT | O_WRONLY, 0o644));
  fds.dir = u.open('/tmp/a/many', O_RDONLY | O_DIRECTORY);
  const first = names(u, fds.dir, 200, 1);
  const notes = u.open('/tmp/home/notes', O_CREAT | O_WRONLY, 0o600);
  u.write(notes, data(5000, 4));
  u.close(notes);
  const t2 = u.fork();
  u.mkdir('/tmp/a/gone', 0o755);
  t2.chdir('/tmp/a/gone');
  u.unlinkat(AT_FDCWD, '/tmp/a/gone', AT_REMOVEDIR);
  print(`u: victim unlinked at offset ${u.lseek(fds.victim, 0, SEEK_CUR)}, nlink ${u.fstat(fds.victim).nlink}; hl nlink ${u.fstat(fds.hl).nlink}; ${first.length} of /tmp/a/many listed`);
  print(`t2: cwd removed, nlink ${t2.stat('.').nlink}`);
  return { tasks: [u, t2], guest: { fds } };
}

/** The second half: continues what the first left open, prints what it sees. */
export function secondHalf(c: HostController, tasks: Task[], guest: TmpfsGuestState, print: (l: string) => void): void {
  const [u, t2] = tasks;
  const { fds } = guest;
  const v = readN(u, fds.victim, 1000);
  print(`u: victim read ${v.length} (${sha(v) === sha(data(20000, 3).subarray(5000, 6000)) ? 'bytes 5000..6000' : 'WRONG BYTES'}), offset ${u.lseek(fds.victim, 0, SEEK_CUR)}, size ${u.fstat(fds.victim).size}, nlink ${u.fstat(fds.victim).nlink}`);
  u.lseek(fds.victim, 0, SEEK_END);
  u.write(fds.victim, enc.encode('more'));
  const tail = new Uint8Array(8);
  print(`u: victim after write: size ${u.fstat(fds.victim).size}, tail ${JSON.stringify(dec.decode(tail.subarray(0, u.pread64(fds.victim, tail, 19998))))}`);
  const hl = readN(u, fds.hl, 20000);
  print(`u: rest of hl ${hl.length} bytes (${sha(hl) === sha(data(10000, 1).subarray(100)) ? 'file1 from 100' : 'WRONG BYTES'}), nlink ${u.fstat(fds.hl).nlink}`);
  u.lseek(fds.tmpfile, 0, SEEK_SET);
  print(`u: O_TMPFILE holds ${JSON.stringify(dec.decode(readN(u, fds.tmpfile, 100)))}, nlink ${u.fstat(fds.tmpfile).nlink}`);
  u.write(fds.log, enc.encode('two\n'));
  const log = u.open('/tmp/a/log', O_RDONLY);
  print(`u: log = ${JSON.stringify(dec.decode(readN(u, log, 100)))}`);
  print(`u: write through the 0444 file's descriptor -> ${errno(() => u.write(fds.ro, enc.encode('def')))}; open it again for writing -> ${errno(() => u.open('/tmp/a/readonly', O_WRONLY))}`);
  const rest = names(u, fds.dir, 200);
  print(`u: rest of /tmp/a/many: ${rest.length} names, ${new Set(rest).size} distinct`);
  print(`t2: stat . nlink ${t2.stat('.').nlink}; create in it -> ${errno(() => t2.open('x', O_CREAT | O_WRONLY, 0o644))}`);
  print(`u: create on the read-only /run -> ${errno(() => u.open('/run/x', O_CREAT | O_WRONLY, 0o644))}`);
  print(`u: write /tmp/home/big (2 MiB into 1 MiB) -> ${errno(() => u.write(u.open('/tmp/home/big', O_CREAT | O_WRONLY, 0o600), new Uint8Array(2 << 20)))}`);
  const mi = c.mountinfo().split('\n').filter((l) => l.includes(' - tmpfs '));
  for (const l of mi) print(`mountinfo: ${l}`);
  u.exit();
  t2.exit();
  print(`host: tasks gone: ${tmpfsStats(c).join('; ')}`);
  print(`host: unmount /tmp/home -> ${errno(() => c.unmount({ target: '/tmp/home' }).released)}`);
}
