/**
 * Replaying the kernel's recorded answers (fixtures/oracle/*.jsonl) through `Task`: the
 * pieces tests/write-oracle.test.ts and tests/overlay-oracle.test.ts share. A Replayer
 * runs one recorded step and gives its answer in the recorded shape (see
 * tools/oracle/battery.ts and record.py); manifestOf walks the task's tree into
 * shared/tools/manifest.py's records, masked as the recorders mask them.
 *
 * Identities: record.py numbers inodes by the order of first appearance of st_ino;
 * record-overlay.py by that of the (st_dev, st_ino) pair, and adds `dev`, the order of
 * first appearance of st_dev ({ identity: 'dev-ino' }).
 */
import { createHash } from 'node:crypto';
import { splitDev, makedev } from '@erofs-js/erofs';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, ROOT, capMask, credentials, parseDirents, type Credentials, type Stat } from '@erofs-js/vfs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, type Task } from '@erofs-js/mount';
import { PROFILES, dataBytes, flagValue, offsetArg, type Arg, type Data, type Value, type Who } from '../tools/oracle/battery.js';

export const CAP_SYS_CHROOT = 18;

/** A battery profile as our credentials: root has every capability we know of. */
export function profileCreds(who: Who, umask: number): Credentials {
  const p = PROFILES[who];
  const caps = p.caps === 'all' ? ROOT.caps | capMask(CAP_SYS_CHROOT) : 0;
  return { ...credentials(p.uid, p.gid, p.groups, caps), umask };
}

export interface StepLine {
  scenario: number;
  step: number;
  call: string;
  args: Arg[];
  who?: Who;
  fd?: string;
  setup?: true;
  result: Result;
}

export type Result = Record<string, unknown>;

export interface ReplayOptions {
  /** How inodes are numbered: by st_ino (record.py) or by (st_dev, st_ino) with st_dev numbered too (record-overlay.py). */
  identity?: 'ino' | 'dev-ino';
}

export const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export const sleepMs = (ms: number) => Atomics.wait(sleepCell, 0, 0, ms);

export function blob(b: Uint8Array): Result {
  const r: Result = { size: b.length, sha256: sha256(b) };
  if (b.length <= 64) r.b64 = Buffer.from(b).toString('base64');
  return r;
}

/** Same rule as record.py: an explicit time, or "now" when within a day of the clock. */
export function tclass(sec: number, nsec: number): [number, number] | 'now' {
  return Math.abs(sec - Date.now() / 1000) < 86400 ? 'now' : [sec, nsec];
}

const UTIME: Record<string, number> = { UTIME_NOW: flagValue('UTIME_NOW'), UTIME_OMIT: flagValue('UTIME_OMIT') };

const ACCESS_MODES: Record<string, number> = { F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4 };

export class Replayer {
  private readonly fds = new Map<string, number>();
  private readonly inos = new Map<number | string, number>();
  private readonly devs = new Map<number, number>();
  private readonly lastTimes = new Map<number | string, [number, number, number]>();
  umask = 0o022;
  readonly identity: 'ino' | 'dev-ino';

  constructor(
    readonly task: Task,
    options: ReplayOptions = {},
  ) {
    this.identity = options.identity ?? 'ino';
  }

  /** The key an inode is numbered by. */
  key(st: { dev: number; ino: number }): number | string {
    return this.identity === 'ino' ? st.ino : `${st.dev}:${st.ino}`;
  }

  dev(d: number): number {
    if (!this.devs.has(d)) this.devs.set(d, this.devs.size);
    return this.devs.get(d)!;
  }

  private fd(a: Arg): number {
    if (a === 'AT_FDCWD') return AT_FDCWD;
    if (typeof a === 'number') return a;
    return this.fds.get(a as string) ?? -1;
  }

  ino(n: number | string): number {
    if (!this.inos.has(n)) this.inos.set(n, this.inos.size);
    return this.inos.get(n)!;
  }

  statRecord(st: Stat): Result {
    const r: Result = { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, blocks: st.blocks, ino: this.ino(this.key(st)) };
    if (this.identity === 'dev-ino') r.dev = this.dev(st.dev);
    const type = st.mode & 0o170000;
    if (type === 0o020000 || type === 0o060000) {
      const { major, minor } = splitDev(st.rdev);
      r.rdev = [major, minor];
    }
    r.atime = tclass(st.atime, st.atimeNsec);
    r.mtime = tclass(st.mtime, st.mtimeNsec);
    r.ctime = tclass(st.ctime, st.ctimeNsec);
    const cur: [number, number, number] = [st.atime * 1e9 + st.atimeNsec, st.mtime * 1e9 + st.mtimeNsec, st.ctime * 1e9 + st.ctimeNsec];
    const prev = this.lastTimes.get(this.key(st));
    if (prev) r.changed = (['atime', 'mtime', 'ctime'] as const).filter((_, i) => prev[i] !== cur[i]);
    this.lastTimes.set(this.key(st), cur);
    return r;
  }

  /** One step: the answer in the recorded shape. */
  run(s: StepLine): Result {
    this.task.creds = profileCreds(s.who ?? 'root', this.umask);
    try {
      return this.call(s);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return { err: code };
      return { threw: String(e) };
    } finally {
      this.task.creds = profileCreds('root', this.umask);
    }
  }

  private call(s: StepLine): Result {
    const t = this.task as unknown as Record<string, (...a: unknown[]) => unknown>;
    const a = s.args;
    const fd = (i: number) => this.fd(a[i]);
    const path = (i: number) => enc.encode(a[i] as string);
    const flags = (i: number) => flagValue(a[i] as string[] | string);
    const times = (x: Arg) =>
      x === null ? null : (x as [number, number | string][]).map(([sec, nsec]) => ({ sec, nsec: typeof nsec === 'string' ? UTIME[nsec] : nsec }));
    const need = (name: string) => {
      if (typeof t[name] !== 'function') throw new Error(`Task.${name} is missing`);
      return t[name].bind(this.task);
    };
    const ret = (v: unknown): Result => ({ ret: typeof v === 'bigint' ? Number(v) : v });
    switch (s.call) {
      case 'openat': {
        const n = need('openat')(fd(0), path(1), flags(2), flags(3)) as number;
        if (s.fd) {
          const old = this.fds.get(s.fd);
          if (old !== undefined) this.task.close(old);
          this.fds.set(s.fd, n);
        } else this.task.close(n);
        return { ret: 'fd' };
      }
      case 'close': {
        const n = fd(0);
        this.task.close(n);
        for (const [k, v] of [...this.fds]) if (v === n) this.fds.delete(k);
        return { ret: 0 };
      }
      case 'write':
        return ret(need('write')(fd(0), dataBytes(a[1] as Data)));
      case 'pwrite64':
        return ret(need('pwrite64')(fd(0), dataBytes(a[1] as Data), offsetArg(a[2])));
      case 'writev':
        return ret(need('writev')(fd(0), (a[1] as Data[]).map(dataBytes)));
      case 'pwritev':
        return ret(need('pwritev')(fd(0), (a[1] as Data[]).map(dataBytes), offsetArg(a[2])));
      case 'read':
      case 'pread64': {
        const buf = new Uint8Array(a[1] as number);
        const n = Number(s.call === 'read' ? need('read')(fd(0), buf) : need('pread64')(fd(0), buf, offsetArg(a[2])));
        return { ret: n, ...blob(buf.subarray(0, n)) };
      }
      case 'lseek':
        return ret(need('lseek')(fd(0), offsetArg(a[1]), flags(2)));
      case 'ftruncate':
        return ret(need('ftruncate')(fd(0), offsetArg(a[1])));
      case 'truncate':
        return ret(need('truncate')(path(0), offsetArg(a[1])));
      case 'fallocate':
        return ret(need('fallocate')(fd(0), flags(1), offsetArg(a[2]), offsetArg(a[3])));
      case 'fsync':
      case 'fdatasync':
      case 'syncfs':
        return ret(need(s.call)(fd(0)));
      case 'mkdirat':
        return ret(need('mkdirat')(fd(0), path(1), flags(2)));
      case 'mknodat': {
        const [major, minor] = a[3] as number[];
        return ret(need('mknodat')(fd(0), path(1), flags(2), makedev(major, minor)));
      }
      case 'symlinkat':
        return ret(need('symlinkat')(path(0), fd(1), path(2)));
      case 'linkat':
        return ret(need('linkat')(fd(0), path(1), fd(2), path(3), flags(4)));
      case 'unlinkat':
        return ret(need('unlinkat')(fd(0), path(1), flags(2)));
      case 'renameat2':
        return ret(need('renameat2')(fd(0), path(1), fd(2), path(3), flags(4)));
      case 'fchmodat':
        return ret(need('fchmodat')(fd(0), path(1), flags(2), 0));
      case 'fchmodat2':
        return ret((typeof t.fchmodat2 === 'function' ? need('fchmodat2') : need('fchmodat'))(fd(0), path(1), flags(2), flags(3)));
      case 'fchmod':
        return ret(need('fchmod')(fd(0), flags(1)));
      case 'fchownat':
        return ret(need('fchownat')(fd(0), path(1), a[2], a[3], flags(4)));
      case 'fchown':
        return ret(need('fchown')(fd(0), a[1], a[2]));
      case 'lchown':
        return ret(need('lchown')(path(0), a[1], a[2]));
      case 'utimensat':
        return ret(need('utimensat')(fd(0), path(1), times(a[2]), flags(3)));
      case 'futimens':
        return ret(need('futimens')(fd(0), times(a[1])));
      case 'setxattr':
      case 'lsetxattr':
        return ret(need(s.call)(path(0), enc.encode(a[1] as string), dataBytes(a[2] as Value), flags(3)));
      case 'fsetxattr':
        return ret(need('fsetxattr')(fd(0), enc.encode(a[1] as string), dataBytes(a[2] as Value), flags(3)));
      case 'removexattr':
      case 'lremovexattr':
        return ret(need(s.call)(path(0), enc.encode(a[1] as string)));
      case 'fremovexattr':
        return ret(need('fremovexattr')(fd(0), enc.encode(a[1] as string)));
      case 'getxattr':
      case 'lgetxattr':
      case 'fgetxattr': {
        const size = a[2] as number;
        const buf = size ? new Uint8Array(size) : null;
        const first = s.call === 'fgetxattr' ? fd(0) : path(0);
        const n = need(s.call)(first, enc.encode(a[1] as string), buf) as number;
        return buf ? { ret: n, ...blob(buf.subarray(0, n)) } : { ret: n };
      }
      case 'readlinkat': {
        const buf = new Uint8Array(a[2] as number);
        const n = this.task.readlinkat(fd(0), path(1), buf);
        return { ret: n, ...blob(buf.subarray(0, n)) };
      }
      case 'umask': {
        const old = need('umask')(flags(0)) as number;
        this.umask = flags(0) & 0o777;
        return { ret: old };
      }
      case 'newfstatat':
        return { ret: 0, stat: this.statRecord(this.task.newfstatat(fd(0), path(1), flags(2))) };
      case 'fstat':
        return { ret: 0, stat: this.statRecord(this.task.fstat(fd(0))) };
      case 'listdir': {
        const names = listdir(this.task, path(0));
        if (names.every((n) => utf8(n) !== null)) return { ret: 0, names: names.map((n) => utf8(n)) };
        return { ret: 0, names_b64: names.map((n) => Buffer.from(n).toString('base64')) };
      }
      case 'getdents64': {
        const buf = new Uint8Array(a[1] as number);
        const n = this.task.getdents64(fd(0), buf);
        const entries = parseDirents(buf, n).map((d) => [utf8(d.name) ?? { b64: Buffer.from(d.name).toString('base64') }, d.off, d.type]);
        return { ret: n, entries };
      }
      case 'listxattr': {
        const buf = new Uint8Array(1 << 16);
        const n = this.task.llistxattr(path(0), buf);
        const names = Buffer.from(buf.subarray(0, n)).toString('latin1').split('\0').filter(Boolean);
        names.sort((x, y) => Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1')));
        return { ret: 0, names };
      }
      case 'statfs': {
        const s = this.task.statfs(path(0));
        return { ret: 0, statfs: { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: Number(s.files), ffree: Number(s.ffree), namelen: s.namelen, frsize: s.frsize, flags: s.flags } };
      }
      case 'access':
        return ret(this.task.access(path(0), (a[1] as string[]).reduce((m, x) => m | ACCESS_MODES[x], 0)));
      case 'sleep':
        sleepMs(20);
        return { ret: 0 };
    }
    throw new Error(`unknown call ${s.call}`);
  }

  closeAll(): void {
    for (const n of new Set(this.fds.values())) {
      try {
        this.task.close(n);
      } catch {
        /* already closed */
      }
    }
    this.fds.clear();
  }
}

/** Names in getdents64 order, "." and ".." left out. */
export function listdir(task: Task, path: Uint8Array): Uint8Array[] {
  const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  const buf = new Uint8Array(1 << 16);
  const names: Uint8Array[] = [];
  try {
    let n: number;
    while ((n = task.getdents64(fd, buf)) > 0) {
      for (const d of parseDirents(buf, n)) {
        const isDot = d.name.length <= 2 && d.name.every((c) => c === 0x2e);
        if (!isDot) names.push(d.name.slice());
      }
    }
  } finally {
    task.close(fd);
  }
  return names;
}

const fatal = new TextDecoder('utf-8', { fatal: true });
export function utf8(b: Uint8Array): string | null {
  try {
    return fatal.decode(b);
  } catch {
    return null;
  }
}

/** manifest.py's text_or_b64: `key` as UTF-8 text, or `key_b64` when the bytes are not UTF-8. */
export function textOrB64(r: Record<string, unknown>, key: string, raw: Uint8Array): void {
  const t = utf8(raw);
  if (t !== null) r[key] = t;
  else r[key + '_b64'] = Buffer.from(raw).toString('base64');
}

export const TYPES: Record<number, string> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'chardev', 0o060000: 'blockdev', 0o010000: 'fifo', 0o140000: 'socket' };

/** shared/tools/manifest.py's records of the task's tree, masked as record.py masks them. */
export function manifestOf(r: Replayer): { manifest: Record<string, unknown>[]; readdir: { path: string; entries: string[] }[] } {
  const task = r.task;
  const recs: [Uint8Array, Record<string, unknown>, number | string][] = [];
  const dirs: [Uint8Array, Uint8Array[]][] = [];
  const text = (b: Uint8Array) => Buffer.from(b).toString();
  const record = (rel: Uint8Array): Record<string, unknown> & { rawIno: number | string } => {
    const p = rel.length === 1 ? enc.encode('/.') : rel;
    const st = task.newfstatat(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW);
    const type = TYPES[st.mode & 0o170000] ?? 'unknown';
    const rec: Record<string, unknown> & { rawIno: number | string } = { rawIno: r.key(st) };
    textOrB64(rec, 'path', rel);
    Object.assign(rec, {
      type,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      nlink: st.nlink,
      mtime: st.mtime,
      mtime_nsec: st.mtimeNsec,
      ino: 0,
    });
    if (type === 'chardev' || type === 'blockdev') rec.rdev = st.rdev;
    if (type === 'symlink') {
      const buf = new Uint8Array(4096);
      textOrB64(rec, 'target', buf.subarray(0, task.readlinkat(AT_FDCWD, p, buf)));
    }
    if (type === 'file') {
      const fd = task.openat(AT_FDCWD, p, O_RDONLY | O_NOFOLLOW);
      const h = createHash('sha256');
      const buf = new Uint8Array(1 << 16);
      let n: number;
      while ((n = task.read(fd, buf)) > 0) h.update(buf.subarray(0, n));
      task.close(fd);
      rec.sha256 = h.digest('hex');
    }
    const lbuf = new Uint8Array(1 << 16);
    const ln = task.llistxattr(p, lbuf);
    const names = text(lbuf.subarray(0, ln)).split('\0').filter(Boolean);
    names.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    if (names.length) {
      const xattrs: Record<string, string> = {};
      for (const n of names) {
        const vbuf = new Uint8Array(1 << 17);
        const vn = task.lgetxattr(p, n, vbuf);
        xattrs[n] = Buffer.from(vbuf.subarray(0, vn)).toString('base64');
      }
      rec.xattrs = xattrs;
    }
    return rec;
  };
  const walk = (rel: Uint8Array) => {
    const names = listdir(task, rel);
    dirs.push([rel, names]);
    for (const n of names) {
      const child = Buffer.concat([rel.length === 1 ? new Uint8Array(0) : rel, enc.encode('/'), n]);
      const rec = record(child);
      recs.push([child, rec, rec.rawIno]);
      if (rec.type === 'dir') walk(child);
    }
  };
  const slash = enc.encode('/');
  const root = record(slash);
  recs.push([slash, root, root.rawIno]);
  walk(slash);
  recs.sort((x, y) => Buffer.compare(x[0], y[0]));
  const manifest = recs.map(([, rec, raw]) => {
    const { rawIno: _, ...out } = rec;
    out.ino = r.ino(raw);
    if (tclass(out.mtime as number, out.mtime_nsec as number) === 'now') {
      out.mtime = 'now';
      delete out.mtime_nsec;
    }
    return out;
  });
  dirs.sort((x, y) => Buffer.compare(x[0], y[0]));
  return {
    manifest,
    readdir: dirs.map(([p, names]) => {
      const d: Record<string, unknown> = {};
      textOrB64(d, 'path', p);
      if (names.every((n) => utf8(n) !== null)) d.entries = names.map(text);
      else d.entries_b64 = names.map((n) => Buffer.from(n).toString('base64'));
      return d as { path: string; entries: string[] };
    }),
  };
}

/** JSON with sorted keys: the comparison ignores key order. */
export function canon(v: unknown): string {
  return JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

export function describeStep(s: StepLine): string {
  const args = JSON.stringify(s.args);
  return `#${s.step} ${s.who ?? 'root'} ${s.call}(${args.length > 120 ? args.slice(0, 117) + '...' : args})${s.fd ? ' -> ' + s.fd : ''}`;
}

