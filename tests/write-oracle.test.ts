/**
 * The Linux kernel as the oracle of the write surface: every step tools/oracle/record.py
 * ran on a kernel tmpfs and on the kernel's EROFS mount of basic-18 (fixtures/oracle/*.jsonl)
 * is replayed here through `Task` on our tmpfs and our EROFS mount, and each answer must
 * be the kernel's: the return value or errno, what reads returned, stat fields (inode
 * numbers as order of first appearance, "now" times as "now", which times changed), and
 * for tmpfs the tree's manifest and directory order after each scenario.
 *
 * Re-record (root, Linux with tmpfs and EROFS):
 *   npx tsx tools/oracle/battery.ts && python3 tools/oracle/record.py
 * The battery's format is documented in tools/oracle/battery.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makedev, splitDev } from '@erofs-js/erofs';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, ROOT, capMask, credentials, parseDirents, type Credentials, type Stat } from '@erofs-js/vfs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, HostController, type Task } from '@erofs-js/mount/node';
import { FIXTURES, readJsonl } from './fixtures.js';
import { BATTERY_JSON_PATH, PROFILES, batteryJson, batterySha256, dataBytes, flagValue, offsetArg, type Arg, type Data, type Target, type Value, type Who } from '../tools/oracle/battery.js';

const CAP_SYS_CHROOT = 18;

// ---- the one place that knows how our mounts and tasks are made ------------------------

/**
 * A task whose root and cwd are the root of a fresh mount of `target`: our tmpfs
 * (size=16m, as the kernel's) or the EROFS image the kernel answers were recorded on.
 */
async function mountTarget(target: Target, image: string): Promise<{ task: Task; close(): void }> {
  const c = await HostController.create({ mkdirs: ['/t'] });
  if (target === 'tmpfs') {
    await c.mount({ type: 'tmpfs', target: '/t', options: { size: 16 << 20 } });
  } else {
    await c.mount({ image: FIXTURES + image, target: '/t' });
  }
  const task = c.task({ creds: { ...ROOT, caps: ROOT.caps | capMask(CAP_SYS_CHROOT) } });
  task.chroot('/t');
  task.chdir('/');
  return {
    task,
    close() {
      task.exit();
      c.close();
    },
  };
}

/** A battery profile as our credentials: root has every capability we know of. */
function profileCreds(who: Who, umask: number): Credentials {
  const p = PROFILES[who];
  const caps = p.caps === 'all' ? ROOT.caps | capMask(CAP_SYS_CHROOT) : 0;
  return { ...credentials(p.uid, p.gid, p.groups, caps), umask };
}

// ---- the recorded answers ----------------------------------------------------------------

interface Header {
  oracle: string;
  kernel: string;
  date: string;
  target: Target;
  battery_sha256: string;
  scenarios: string[];
  image?: string;
}

interface StepLine {
  scenario: number;
  step: number;
  call: string;
  args: Arg[];
  who?: Who;
  fd?: string;
  setup?: true;
  result: Result;
}

type Result = Record<string, unknown>;

interface Recorded {
  header: Header;
  scenarios: Map<number, { steps: StepLine[]; manifest: Record<string, unknown>[]; readdir: { path: string; entries: string[] }[] }>;
}

function loadOracle(file: string): Recorded {
  const lines = readJsonl<Record<string, unknown>>(FIXTURES + 'oracle/' + file);
  const header = lines[0] as unknown as Header;
  const scenarios: Recorded['scenarios'] = new Map();
  for (const l of lines.slice(1)) {
    const i = l.scenario as number;
    if (!scenarios.has(i)) scenarios.set(i, { steps: [], manifest: [], readdir: [] });
    const s = scenarios.get(i)!;
    if ('step' in l) s.steps.push(l as unknown as StepLine);
    else if ('manifest' in l) s.manifest.push(l.manifest as Record<string, unknown>);
    else if ('readdir' in l) s.readdir.push(l.readdir as { path: string; entries: string[] });
  }
  return { header, scenarios };
}

// ---- where we answer otherwise, on purpose -------------------------------------------------

/**
 * Steps whose answer is ours by design, not the kernel's. For these the replay demands the
 * answer written here (`ours`, or the kernel's with `patch` laid over it, objects merged key
 * by key), so a deviation stays asserted and documented; if we ever answer as the kernel
 * does, the step fails and its entry goes.
 */
interface Deviation {
  file: string;
  scenario: number;
  step: number;
  ours?: Result;
  patch?: Result;
  why: string;
}

const FILE_SIZES =
  'file sizes and write offsets stop at 2^53 - 1 (MAX_OFFSET: sizes are JS numbers in the filesystem contract and in stat), ' +
  'where Linux tmpfs allows MAX_LFS_FILESIZE (2^63 - 1): past it we answer EFBIG (packages/tmpfs/README.md)';

const DEVIATIONS: Deviation[] = [
  { file: 'tmpfs.jsonl', scenario: 4, step: 49, ours: { err: 'EFBIG' }, why: `ftruncate to 2^62: ${FILE_SIZES}` },
  // After the refused ftruncate the size is the 2^40 the step before set, and only the atime of the read before it changed.
  { file: 'tmpfs.jsonl', scenario: 4, step: 50, patch: { stat: { size: 2 ** 40, changed: ['atime'] } }, why: `fstat after it: ${FILE_SIZES}` },
  { file: 'tmpfs.jsonl', scenario: 4, step: 51, ours: { err: 'EFBIG' }, why: `pwrite at 2^62: ${FILE_SIZES}` },
  { file: 'tmpfs.jsonl', scenario: 4, step: 58, ours: { err: 'EFBIG' }, why: `truncate to 2^53: ${FILE_SIZES}` },
];

/** `base` with `over` laid on it: objects merged key by key, anything else replaced. */
function overlay(base: unknown, over: unknown): unknown {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(base) || !isObj(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = overlay(base[k], v);
  return out;
}

/** What a step must answer: the kernel's, or our documented deviation from it. */
function expected(file: string, s: StepLine): { want: Result; deviation?: Deviation } {
  const deviation = DEVIATIONS.find((d) => d.file === file && d.scenario === s.scenario && d.step === s.step);
  if (!deviation) return { want: s.result };
  return { want: deviation.ours ?? (overlay(s.result, deviation.patch) as Result), deviation };
}

// ---- replaying ---------------------------------------------------------------------------

const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleepCell, 0, 0, ms);

function blob(b: Uint8Array): Result {
  const r: Result = { size: b.length, sha256: sha256(b) };
  if (b.length <= 64) r.b64 = Buffer.from(b).toString('base64');
  return r;
}

/** Same rule as record.py: an explicit time, or "now" when within a day of the clock. */
function tclass(sec: number, nsec: number): [number, number] | 'now' {
  return Math.abs(sec - Date.now() / 1000) < 86400 ? 'now' : [sec, nsec];
}

const UTIME: Record<string, number> = { UTIME_NOW: flagValue('UTIME_NOW'), UTIME_OMIT: flagValue('UTIME_OMIT') };

class Replayer {
  private readonly fds = new Map<string, number>();
  private readonly inos = new Map<number, number>();
  private readonly lastTimes = new Map<number, [number, number, number]>();
  umask = 0o022;

  constructor(readonly task: Task) {}

  private fd(a: Arg): number {
    if (a === 'AT_FDCWD') return AT_FDCWD;
    if (typeof a === 'number') return a;
    return this.fds.get(a as string) ?? -1;
  }

  ino(n: number): number {
    if (!this.inos.has(n)) this.inos.set(n, this.inos.size);
    return this.inos.get(n)!;
  }

  statRecord(st: Stat): Result {
    const r: Result = { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, blocks: st.blocks, ino: this.ino(st.ino) };
    const type = st.mode & 0o170000;
    if (type === 0o020000 || type === 0o060000) {
      const { major, minor } = splitDev(st.rdev);
      r.rdev = [major, minor];
    }
    r.atime = tclass(st.atime, st.atimeNsec);
    r.mtime = tclass(st.mtime, st.mtimeNsec);
    r.ctime = tclass(st.ctime, st.ctimeNsec);
    const cur: [number, number, number] = [st.atime * 1e9 + st.atimeNsec, st.mtime * 1e9 + st.mtimeNsec, st.ctime * 1e9 + st.ctimeNsec];
    const prev = this.lastTimes.get(st.ino);
    if (prev) r.changed = (['atime', 'mtime', 'ctime'] as const).filter((_, i) => prev[i] !== cur[i]);
    this.lastTimes.set(st.ino, cur);
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
function listdir(task: Task, path: Uint8Array): Uint8Array[] {
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
function utf8(b: Uint8Array): string | null {
  try {
    return fatal.decode(b);
  } catch {
    return null;
  }
}

/** manifest.py's text_or_b64: `key` as UTF-8 text, or `key_b64` when the bytes are not UTF-8. */
function textOrB64(r: Record<string, unknown>, key: string, raw: Uint8Array): void {
  const t = utf8(raw);
  if (t !== null) r[key] = t;
  else r[key + '_b64'] = Buffer.from(raw).toString('base64');
}

const TYPES: Record<number, string> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'chardev', 0o060000: 'blockdev', 0o010000: 'fifo', 0o140000: 'socket' };

/** shared/tools/manifest.py's records of the task's tree, masked as record.py masks them. */
function manifestOf(r: Replayer): { manifest: Record<string, unknown>[]; readdir: { path: string; entries: string[] }[] } {
  const task = r.task;
  const recs: [Uint8Array, Record<string, unknown>, number][] = [];
  const dirs: [Uint8Array, Uint8Array[]][] = [];
  const text = (b: Uint8Array) => Buffer.from(b).toString();
  const record = (rel: Uint8Array): Record<string, unknown> & { rawIno: number } => {
    const p = rel.length === 1 ? enc.encode('/.') : rel;
    const st = task.newfstatat(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW);
    const type = TYPES[st.mode & 0o170000] ?? 'unknown';
    const rec: Record<string, unknown> & { rawIno: number } = { rawIno: st.ino };
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
function canon(v: unknown): string {
  return JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

function describeStep(s: StepLine): string {
  const args = JSON.stringify(s.args);
  return `#${s.step} ${s.who ?? 'root'} ${s.call}(${args.length > 120 ? args.slice(0, 117) + '...' : args})${s.fd ? ' -> ' + s.fd : ''}`;
}

/** Replays one recorded scenario; returns the differences from the kernel (or from a documented deviation), one line each. */
async function replay(file: string, target: Target, image: string, rec: Recorded['scenarios'] extends Map<number, infer S> ? S : never): Promise<string[]> {
  const { task, close } = await mountTarget(target, image);
  const r = new Replayer(task);
  const diffs: string[] = [];
  try {
    for (const s of rec.steps) {
      if (!s.setup) {
        // Our clocks may tick in milliseconds: let one pass, as record.py waits 5 ms.
        const t0 = Date.now();
        while (Date.now() === t0) sleepMs(1);
      }
      const ours = r.run(s);
      const { want, deviation } = expected(file, s);
      if (canon(ours) !== canon(want)) {
        diffs.push(deviation ? `${describeStep(s)}: documented deviation ${canon(want)} (kernel ${canon(s.result)}; ${deviation.why}), ours ${canon(ours)}` : `${describeStep(s)}: kernel ${canon(s.result)}, ours ${canon(ours)}`);
      }
    }
    r.closeAll();
    if (target === 'tmpfs') {
      let m: ReturnType<typeof manifestOf>;
      try {
        m = manifestOf(r);
      } catch (e) {
        diffs.push(`manifest: ${String(e)}`);
        return diffs;
      }
      const key = (x: Record<string, unknown>) => (x.path ?? 'b64:' + x.path_b64) as string;
      const want = new Map(rec.manifest.map((x) => [key(x), x]));
      const got = new Map(m.manifest.map((x) => [key(x), x]));
      for (const [p, w] of want) {
        const g = got.get(p);
        if (!g) diffs.push(`manifest ${p}: missing (kernel ${canon(w)})`);
        else if (canon(g) !== canon(w)) diffs.push(`manifest ${p}: kernel ${canon(w)}, ours ${canon(g)}`);
      }
      for (const [p, g] of got) if (!want.has(p)) diffs.push(`manifest ${p}: not in the kernel's tree (ours ${canon(g)})`);
      const wantDirs = new Map(rec.readdir.map((x) => [key(x), x]));
      for (const d of m.readdir) {
        const w = wantDirs.get(key(d));
        if (w && canon(w) !== canon(d)) diffs.push(`readdir ${key(d)}: kernel ${canon(w)}, ours ${canon(d)}`);
      }
    }
  } finally {
    try {
      close();
    } catch (e) {
      diffs.push(`teardown: ${String(e)}`);
    }
  }
  return diffs;
}

// ---- the tests ---------------------------------------------------------------------------

describe('write oracle: the replay harness itself', () => {
  it("walks a tree into manifest.py's records: basic-18 through our EROFS mount equals its kernel manifest", async () => {
    const { task, close } = await mountTarget('erofs', 'basic-18.erofs');
    try {
      const r = new Replayer(task);
      const m = manifestOf(r);
      const ordinal = new Map<number, number>();
      const want = readJsonl<Record<string, unknown>>(FIXTURES + 'basic-18.manifest.jsonl').map((x) => {
        const ino = x.ino as number;
        if (!ordinal.has(ino)) ordinal.set(ino, ordinal.size);
        return { ...x, ino: ordinal.get(ino) };
      });
      expect(m.manifest.length).toBe(want.length);
      const bad = m.manifest.filter((x, i) => canon(x) !== canon(want[i])).map((x) => canon(x));
      expect(bad.slice(0, 5)).toEqual([]);
      const dirs = readJsonl<Record<string, unknown>>(FIXTURES + 'basic-18.readdir.jsonl');
      expect(m.readdir.map(canon)).toEqual(dirs.map(canon));
    } finally {
      close();
    }
  });
});

const FILES: { file: string; target: Target }[] = [
  { file: 'tmpfs.jsonl', target: 'tmpfs' },
  { file: 'erofs-basic-18.jsonl', target: 'erofs' },
];

describe('write oracle: the battery and its recordings', () => {
  it('each documented deviation names a recorded step and says why', () => {
    for (const d of DEVIATIONS) {
      const rec = loadOracle(d.file).scenarios.get(d.scenario)?.steps.find((s) => s.step === d.step);
      expect(rec, `${d.file} scenario ${d.scenario} step ${d.step}`).toBeDefined();
      expect((d.ours === undefined) !== (d.patch === undefined), 'ours or patch').toBe(true);
      expect(d.why.length).toBeGreaterThan(0);
    }
  });
  it('tools/oracle/battery.json is what battery.ts generates', () => {
    expect(readFileSync(BATTERY_JSON_PATH, 'utf8') === batteryJson(), 'run: npx tsx tools/oracle/battery.ts').toBe(true);
  });
  for (const { file, target } of FILES) {
    it(`${file} was recorded from this battery on Linux (${target})`, () => {
      const { header, scenarios } = loadOracle(file);
      expect(header.oracle).toBe('linux');
      expect(header.target).toBe(target);
      expect(header.battery_sha256, 'stale recording: re-run python3 tools/oracle/record.py as root').toBe(batterySha256(readFileSync(BATTERY_JSON_PATH, 'utf8')));
      expect(scenarios.size).toBeGreaterThan(0);
    });
  }
});

for (const { file, target } of FILES) {
  const { header, scenarios } = loadOracle(file);
  describe(`write oracle: ${target} answers as Linux ${header.kernel} did (${file})`, () => {
    for (const [i, rec] of scenarios) {
      it(`${i}: ${header.scenarios[i]}`, async () => {
        const diffs = await replay(file, target, header.image ?? '', rec);
        expect(diffs, `${diffs.length} of ${rec.steps.length} steps differ`).toEqual([]);
      });
    }
  });
}
