/**
 * The scripted guest session of the checkpoint test, in two halves. The first half leaves
 * the namespace in the awkward state a checkpoint must carry: files open mid-read (one of
 * them dup'ed, sharing its offset), directories half listed (one spanning many blocks,
 * one on the rootfs), an O_PATH handle, a forked task sharing the table, a cwd inside a
 * mount that the host then lazily detached (so the cwd and two descriptors are reachable
 * only through the task), a new mount stacked where the old one was, and a cwd deep in
 * it. The second half finishes every one of those and prints what it sees.
 *
 * Each half appends lines to a transcript; the test compares "first half + second half
 * after a restore in another process" with the same session run in one go.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { AT_FDCWD, type HostController, type Task } from '@erofs-js/mount';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, SEEK_CUR, SysError, credentials, parseDirents } from '@erofs-js/vfs';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const ROOTFS = join(FIXTURES, 'rootfs-18.erofs');
export const ZSTD = join(FIXTURES, 'z-zstd-18.erofs');
export const BASIC = join(FIXTURES, 'basic-18.erofs');
export const LZ4 = join(FIXTURES, 'z-lz4-15.erofs');
/** Images the host lets a restore open. */
export const ALLOWED = [ROOTFS, ZSTD, BASIC, LZ4];

/** What the guest program itself remembers (its registers and memory, in a real emulator). */
export interface GuestState {
  fds: Record<string, number>;
}

const text = new TextDecoder();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const short = (s: string) => s.replaceAll(FIXTURES, 'fixtures/');

function names(task: Task, fd: number, bufSize: number, calls = Infinity): { names: string[]; lastOff: number } {
  const buf = new Uint8Array(bufSize);
  const out: string[] = [];
  let lastOff = -1;
  for (let i = 0; i < calls; i++) {
    const n = task.getdents64(fd, buf);
    if (n === 0) break;
    for (const d of parseDirents(buf, n)) {
      out.push(text.decode(d.name));
      lastOff = d.off;
    }
  }
  return { names: out, lastOff };
}

function readChunks(task: Task, fd: number, chunk: number, max = Infinity): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < max) {
    const buf = new Uint8Array(Math.min(chunk, max - total));
    const n = task.read(fd, buf);
    if (n === 0) break;
    parts.push(buf.subarray(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

const UTF8_NAME = '007-' + 'é'.repeat(125) + 'z';
const DEEP = '/tmp/deep/' + Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}`).join('/');

/** The first half: mounts, two tasks, and the state described above. Returns the tasks. */
export async function firstHalf(c: HostController, print: (l: string) => void): Promise<{ tasks: Task[]; guest: GuestState }> {
  const m2 = await c.mount({ image: ZSTD, target: '/tmp', options: { dentryCacheSize: 7, pageCacheBytes: 1 << 16 } });
  print(`host: mounted ${short(m2.source)} at ${m2.target}: id ${m2.id} dev ${m2.dev}`);
  const t1 = c.task({ creds: credentials(1000, 1000, [10]), reservedFds: [0, 1, 2] });
  const fds: Record<string, number> = {};
  fds.log = t1.open('/tmp/big/log-192k', O_RDONLY);
  const head = readChunks(t1, fds.log, 1000, 5000);
  print(`t1: read ${head.length} bytes of log-192k (sha ${sha(head)}), offset ${t1.lseek(fds.log, 0, SEEK_CUR)}`);
  fds.logDup = t1.dup(fds.log);
  fds.etc = t1.openat(AT_FDCWD, '/etc', O_RDONLY | O_DIRECTORY);
  const e1 = names(t1, fds.etc, 64, 2);
  print(`t1: /etc half listed: ${e1.names.join(' ')} (d_off ${e1.lastOff})`);
  t1.chdir('/tmp/text');
  fds.rel = t1.open('/tmp/links/rel', O_PATH | O_NOFOLLOW);
  fds.size = t1.open('size-16385', O_RDONLY);
  const s1 = readChunks(t1, fds.size, 4096, 4096 * 2 + 7);
  print(`t1: read ${s1.length} bytes of text/size-16385 (sha ${sha(s1)}), cwd ${text.decode(t1.cwdPath())}`);
  const t2 = t1.fork();
  t2.chdir('/etc');
  print(`t2: forked, cwd ${text.decode(t2.cwdPath())}`);
  const u = c.unmount({ target: '/tmp', detach: true });
  print(`host: lazily unmounted ${u.target} (mount ${u.id}, released ${u.released})`);
  const m3 = await c.mount({ image: BASIC, target: '/tmp', options: { dirCacheEntries: 100, negativeCacheSize: 3 } });
  print(`host: mounted ${short(m3.source)} at ${m3.target}: id ${m3.id} dev ${m3.dev}`);
  fds.bigdir = t1.openat(AT_FDCWD, '/tmp/bigdir', O_RDONLY | O_DIRECTORY);
  const b1 = names(t1, fds.bigdir, 1024, 3);
  print(`t1: /tmp/bigdir: ${b1.names.length} entries so far, last ${b1.names.at(-1)?.slice(0, 12)}..., d_off ${b1.lastOff}`);
  fds.utf8 = t2.open(`/tmp/bigdir/${UTF8_NAME}`, O_RDONLY);
  const st = t2.fstat(fds.utf8);
  print(`t2: opened the UTF-8 name: fd ${fds.utf8} ino ${st.ino} size ${st.size}`);
  fds.bang = t2.open('/tmp/!bang', O_RDONLY);
  const bang = new Uint8Array(2);
  print(`t2: read ${t2.read(fds.bang, bang)} bytes of /tmp/!bang: ${JSON.stringify(text.decode(bang))}`);
  t2.chdir(DEEP);
  const dup = new Uint8Array(3000);
  const nd = t1.read(fds.logDup, dup);
  print(`t1: read ${nd} bytes through the dup (sha ${sha(dup.subarray(0, nd))}), shared offset ${t1.lseek(fds.log, 0, SEEK_CUR)}`);
  print(`t1: cwd ${text.decode(t1.cwdPath())}; t2: cwd ${text.decode(t2.cwdPath()).slice(0, 22)}...`);
  print(`host: ${c.list().map((m) => `${m.id}:${m.target}`).join(' ')}; detached ${c.ns.detached().map((m) => `${m.id}(${m.users} users)`).join(' ')}`);
  return { tasks: [t1, t2], guest: { fds } };
}

/** The second half: finishes everything the first half left open. */
export async function secondHalf(c: HostController, tasks: Task[], guest: GuestState, print: (l: string) => void): Promise<void> {
  const [t1, t2] = tasks;
  const { fds } = guest;
  const rest = readChunks(t1, fds.log, 16384);
  print(`t1: read the remaining ${rest.length} bytes of log-192k (sha ${sha(rest)}), offset ${t1.lseek(fds.logDup, 0, SEEK_CUR)}`);
  const srest = readChunks(t1, fds.size, 1000);
  print(`t1: read the remaining ${srest.length} bytes of text/size-16385 (sha ${sha(srest)})`);
  const e2 = names(t1, fds.etc, 64);
  print(`t1: rest of /etc: ${e2.names.join(' ')} (d_off ${e2.lastOff})`);
  const b2 = names(t1, fds.bigdir, 1024);
  print(`t1: rest of /tmp/bigdir: ${b2.names.length} entries (sha ${sha(new TextEncoder().encode(b2.names.join('\n')))}), last d_off ${b2.lastOff}`);
  const lbuf = new Uint8Array(256);
  print(`t1: readlinkat(fd, "") = ${text.decode(lbuf.subarray(0, t1.readlinkat(fds.rel, '', lbuf)))}`);
  print(`t1: cwd ${text.decode(t1.cwdPath())}`);
  const here = t1.open('.', O_RDONLY | O_DIRECTORY);
  print(`t1: ls . -> ${names(t1, here, 4096).names.length} entries; cat size-100 | sha = ${sha(readChunks(t1, t1.open('size-100'), 4096))}`);
  const sx = t1.statx(AT_FDCWD, '.', 0, 0);
  print(`t1: stat . -> dev ${sx.devMajor}:${sx.devMinor} ino ${sx.ino} mnt_id ${sx.mntId}`);
  print('t1: mountinfo:');
  for (const l of t1.mountinfo().trimEnd().split('\n')) print(`  ${short(l)}`);
  const st = t2.fstat(fds.utf8);
  print(`t2: fstat UTF-8 name: ino ${st.ino} dev ${st.dev}; cwd ${text.decode(t2.cwdPath()).length} bytes long`);
  const leaf = t2.open('leaf', O_RDONLY);
  print(`t2: cat leaf = ${JSON.stringify(text.decode(readChunks(t2, leaf, 100)))}`);
  const bang = readChunks(t2, fds.bang, 100);
  print(`t2: rest of /tmp/!bang: ${JSON.stringify(text.decode(bang))}`);
  try {
    t2.read(fds.etc, new Uint8Array(1));
  } catch (e) {
    print(`t2: read(/etc fd) -> ${(e as SysError).code}`);
  }
  t1.exit();
  print(`host: t1 exited; detached ${c.ns.detached().map((m) => `${m.id}(${m.users} users)`).join(' ') || 'none'}`);
  t2.exit();
  print(`host: t2 exited; detached ${c.ns.detached().map((m) => `${m.id}`).join(' ') || 'none'}`);
  const m4 = await c.mount({ image: LZ4, target: '/mnt', options: { mkdir: false } }).catch((e: SysError) => e);
  print(`host: mount at /mnt -> ${m4 instanceof Error ? (m4 as SysError).code : 'ok'}`);
  const m5 = await c.mount({ image: LZ4, target: '/tmp/deep' });
  print(`host: mounted ${short(m5.source)} at ${m5.target}: id ${m5.id} dev ${m5.dev}`);
  print(`host: ${c.list().map((m) => `${m.id}:${m.target}:${m.users}`).join(' ')}`);
}
