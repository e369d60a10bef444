/**
 * The write half of NodeFs against node:fs itself. One script of write-type calls runs
 * twice, step by step: through the facade in a tmpfs mounted at /tmp of a namespace, and
 * through node:fs in a real temporary directory of the host. Every step must give the same
 * answer — the value returned (paths with the two roots taken out), or the error's code,
 * errno, syscall, path, dest and message — and afterwards both trees must be equal: names,
 * types, modes, sizes, link counts, owners, contents, symlink targets, and the mtimes the
 * script set (atimes are compared by a step right after utimes: reading moves them). Node's own compositions (mkdir -p, rm -r, copyFile, truncate, appendFile)
 * are part of what is compared.
 */
import * as nodefs from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostController, type Task } from '@erofs-js/mount/node';
import { fixture } from '../../mount/test/helpers.js';
import { NodeFs } from './index.js';

type Fs = typeof nodefs;
/** One step of the script: `at` turns a script path into the side's own path. */
type Step = [string, (f: Fs, at: (p: string) => string) => unknown];

const enc = (s: string) => Buffer.from(s);
const HAS_ROOT = process.getuid?.() === 0;

/** Runs a step; returns what it returned or threw, with `root` taken out of strings. */
function outcome(fn: () => unknown, root: string): unknown {
  const strip = (v: unknown): unknown => (typeof v === 'string' ? v.split(root).join('') : v);
  try {
    const v = fn();
    if (v instanceof nodefs.Stats || (v && typeof v === 'object' && 'isFile' in v)) return { stat: statView(v as nodefs.Stats) };
    if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
    return { ok: strip(v) };
  } catch (e) {
    const { code, errno, syscall, path, dest, message } = e as Record<string, unknown>;
    return { code, errno, syscall, path: strip(path), dest: strip(dest), message: strip(message) };
  }
}

function statView(s: nodefs.Stats | nodefs.BigIntStats) {
  return {
    mode: Number(s.mode),
    size: s.isDirectory() ? '-' : Number(s.size),
    nlink: Number(s.nlink),
    uid: Number(s.uid),
    gid: Number(s.gid),
  };
}

/** The tree under `root` as a sorted list of records (lstat, content hash, link target; times where the script set them). */
function tree(f: Fs, root: string, timed: Set<string>): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const st = f.lstatSync(root + rel, { bigint: true }) as nodefs.BigIntStats;
    // mkdtemp's random suffix is the one thing that differs by design.
    const rec: Record<string, unknown> = { path: rel.replace(/\/t-[A-Za-z0-9]{6}$/, '/t-XXXXXX') || '/', ...statView(st) };
    if (st.isFile()) rec.sha256 = createHash('sha256').update(f.readFileSync(root + rel) as Buffer).digest('hex');
    if (st.isSymbolicLink()) rec.target = f.readlinkSync(root + rel);
    // Reading a file moves its atime (relatime), so only mtimes are compared here.
    if (timed.has(rel)) rec.mtimeNs = String(st.mtimeNs);
    out.push(JSON.stringify(rec));
    if (st.isDirectory()) for (const n of (f.readdirSync(root + rel) as string[]).sort()) walk(`${rel}/${n}`);
  };
  walk('');
  return out;
}

/** The script: successes and the errors Linux gives, in an order where each step depends on the ones before. */
const SCRIPT: Step[] = [
  ['mkdir', (f, at) => f.mkdirSync(at('/a'))],
  ['mkdir existing', (f, at) => f.mkdirSync(at('/a'))],
  ['mkdir mode', (f, at) => f.mkdirSync(at('/m'), 0o750)],
  ['mkdir mode string', (f, at) => f.mkdirSync(at('/m2'), { mode: '711' })],
  ['mkdir -p returns the first made', (f, at) => f.mkdirSync(at('/a/b/c/d'), { recursive: true })],
  ['mkdir -p of an existing tree', (f, at) => f.mkdirSync(at('/a/b'), { recursive: true })],
  ['mkdir -p trailing slash', (f, at) => f.mkdirSync(at('/a/p/q/'), { recursive: true })],
  ['mkdir missing parent', (f, at) => f.mkdirSync(at('/nope/x'))],
  ['writeFile', (f, at) => f.writeFileSync(at('/a/f'), 'hello')],
  ['writeFile mode and Buffer', (f, at) => f.writeFileSync(at('/a/g'), enc('0123456789'), { mode: 0o600 })],
  ['writeFile latin1', (f, at) => f.writeFileSync(at('/a/lat'), 'caf\u00e9', 'latin1')],
  ['appendFile', (f, at) => f.appendFileSync(at('/a/f'), ' world')],
  ['appendFile creates', (f, at) => f.appendFileSync(at('/a/new'), 'n')],
  ['writeFile on a directory', (f, at) => f.writeFileSync(at('/a'), 'x')],
  ['writeFile under a file', (f, at) => f.writeFileSync(at('/a/f/x'), 'x')],
  ['writeFile wx existing', (f, at) => f.writeFileSync(at('/a/f'), 'x', { flag: 'wx' })],
  ['mkdir -p through a file', (f, at) => f.mkdirSync(at('/a/f/x/y'), { recursive: true })],
  ['mkdir -p of a file', (f, at) => f.mkdirSync(at('/a/f'), { recursive: true })],
  ['readFile', (f, at) => f.readFileSync(at('/a/f'), 'utf8')],
  [
    'descriptor writes',
    (f, at) => {
      const fd = f.openSync(at('/a/h'), 'w+', 0o640);
      const r = [
        f.writeSync(fd, 'abc'),
        f.writeSync(fd, enc('XYZW'), 1, 2, 10), // pwrite past the end: a hole
        f.writeSync(fd, 'Q', 0),
        f.writeSync(fd, enc('tail'), { offset: 1, length: 2 }),
        f.writevSync(fd, [enc('v1'), enc('v2')]),
        f.writevSync(fd, [enc('P')], 2),
        f.fstatSync(fd).size,
      ];
      f.ftruncateSync(fd, 20);
      r.push(f.fstatSync(fd).size);
      f.ftruncateSync(fd, -5); // Node raises a negative length to 0
      r.push(f.fstatSync(fd).size);
      f.writeSync(fd, 'again');
      f.fsyncSync(fd);
      f.fdatasyncSync(fd);
      f.fchmodSync(fd, 0o604);
      f.fchownSync(fd, 0, 0);
      f.futimesSync(fd, 1_000_000, 2_000_000.25);
      f.closeSync(fd);
      return r;
    },
  ],
  ['write to a read-only descriptor', (f, at) => {
    const fd = f.openSync(at('/a/h'), 'r');
    try {
      return f.writeSync(fd, 'x');
    } finally {
      f.closeSync(fd);
    }
  }],
  ['ftruncate a read-only descriptor', (f, at) => {
    const fd = f.openSync(at('/a/h'), 'r');
    try {
      return f.ftruncateSync(fd, 1);
    } finally {
      f.closeSync(fd);
    }
  }],
  ['append mode writes at the end', (f, at) => {
    const fd = f.openSync(at('/a/g'), 'a');
    f.writeSync(fd, 'END');
    f.closeSync(fd);
    return f.readFileSync(at('/a/g'), 'utf8');
  }],
  ['open O_EXCL existing', (f, at) => f.openSync(at('/a/g'), 'wx')],
  ['open O_CREAT under a file', (f, at) => f.openSync(at('/a/g/x'), 'w')],
  ['open numeric flags and mode', (f, at) => {
    f.closeSync(f.openSync(at('/a/num'), f.constants.O_CREAT | f.constants.O_WRONLY | f.constants.O_EXCL, 0o611));
  }],
  ['writeFile on a descriptor', (f, at) => {
    const fd = f.openSync(at('/a/num'), 'r+');
    f.writeFileSync(fd, 'fd-data');
    f.appendFileSync(fd, '+more');
    f.closeSync(fd);
    return f.readFileSync(at('/a/num'), 'utf8');
  }],
  ['truncate shorter', (f, at) => f.truncateSync(at('/a/f'), 3)],
  ['truncate longer', (f, at) => f.truncateSync(at('/a/f'), 10)],
  ['truncate default', (f, at) => f.truncateSync(at('/a/new'))],
  ['truncate missing', (f, at) => f.truncateSync(at('/a/nope'))],
  ['truncate a directory', (f, at) => f.truncateSync(at('/a'))],
  ['symlink', (f, at) => f.symlinkSync('f', at('/a/l'))],
  ['symlink existing', (f, at) => f.symlinkSync('f', at('/a/l'))],
  ['symlink dangling', (f, at) => f.symlinkSync('../nope', at('/a/dangling'))],
  ['symlink to a directory', (f, at) => f.symlinkSync('b', at('/a/lb'), 'dir')],
  ['symlink empty target', (f, at) => f.symlinkSync('', at('/a/empty'))],
  ['readlink', (f, at) => f.readlinkSync(at('/a/dangling'))],
  ['write through a dangling symlink creates its target', (f, at) => f.writeFileSync(at('/a/l2'), 'via')],
  ['link', (f, at) => f.linkSync(at('/a/f'), at('/a/f2'))],
  ['link existing', (f, at) => f.linkSync(at('/a/f'), at('/a/f2'))],
  ['link missing', (f, at) => f.linkSync(at('/a/nope'), at('/a/x'))],
  ['link a directory', (f, at) => f.linkSync(at('/a/b'), at('/a/blink'))],
  ['link a symlink (not followed)', (f, at) => f.linkSync(at('/a/dangling'), at('/a/dangling2'))],
  ['stat a hard link', (f, at) => f.statSync(at('/a/f2'))],
  ['rename', (f, at) => f.renameSync(at('/a/f2'), at('/a/f3'))],
  ['rename into its own subtree', (f, at) => f.renameSync(at('/a/b'), at('/a/b/c/x'))],
  ['rename missing', (f, at) => f.renameSync(at('/a/nope'), at('/a/y'))],
  ['rename a directory over a file', (f, at) => f.renameSync(at('/a/b'), at('/a/f3'))],
  ['rename a file over a directory', (f, at) => f.renameSync(at('/a/f3'), at('/a/b'))],
  ['rename over a non-empty directory', (f, at) => f.renameSync(at('/a/p'), at('/a/b'))],
  ['rename a directory over an empty one', (f, at) => f.renameSync(at('/a/p/q'), at('/m2'))],
  ['rename over an existing file', (f, at) => f.renameSync(at('/a/new'), at('/a/lat'))],
  ['chmod', (f, at) => f.chmodSync(at('/a/f3'), 0o755)],
  ['chmod octal string', (f, at) => f.chmodSync(at('/a/g'), '640')],
  ['chmod setuid and sticky', (f, at) => f.chmodSync(at('/m'), 0o3775)],
  ['chmod missing', (f, at) => f.chmodSync(at('/nope'), 0o700)],
  ['chmod through a symlink', (f, at) => f.chmodSync(at('/a/l'), 0o700)],
  ['lchmod is not on Linux', (f) => typeof (f as { lchmodSync?: unknown }).lchmodSync],
  ['chown', (f, at) => (HAS_ROOT ? f.chownSync(at('/a/g'), 1000, 1001) : undefined)],
  ['lchown a symlink', (f, at) => (HAS_ROOT ? f.lchownSync(at('/a/l'), 7, 8) : undefined)],
  ['chown through a dangling symlink', (f, at) => f.chownSync(at('/a/dangling'), 1, 1)],
  ['utimes numbers', (f, at) => f.utimesSync(at('/a/f3'), 1_000_000_000, 1_500_000_000.123456)],
  ['utimes Date and string', (f, at) => f.utimesSync(at('/a/g'), new Date(Date.UTC(2001, 1, 3, 4, 5, 6, 789)), '1234567890')],
  ['utimes a Date before 1970', (f, at) => f.utimesSync(at('/a/lat'), new Date(-86_400_500), new Date(-1))],
  ['lutimes a symlink', (f, at) => f.lutimesSync(at('/a/l'), 5, 6.5)],
  [
    'times as set',
    (f, at) =>
      ['/a/f3', '/a/g', '/a/lat', '/a/h'].map((p) => {
        const st = f.statSync(at(p), { bigint: true });
        return `${st.atimeNs} ${st.mtimeNs}`;
      }).concat(String(f.lstatSync(at('/a/l'), { bigint: true }).mtimeNs)),
  ],
  ['utimes through a dangling symlink', (f, at) => f.utimesSync(at('/a/dangling'), 1, 1)],
  ['copyFile', (f, at) => f.copyFileSync(at('/a/g'), at('/a/c1'))],
  ['copyFile over an existing file', (f, at) => f.copyFileSync(at('/a/h'), at('/a/c1'))],
  ['copyFile EXCL existing', (f, at) => f.copyFileSync(at('/a/g'), at('/a/c1'), f.constants.COPYFILE_EXCL)],
  ['copyFile missing source', (f, at) => f.copyFileSync(at('/a/nope'), at('/a/c2'))],
  ['copyFile onto a directory', (f, at) => f.copyFileSync(at('/a/g'), at('/a/b'))],
  ['copyFile onto itself', (f, at) => f.copyFileSync(at('/a/g'), at('/a/g'))],
  ['copyFile of a directory', (f, at) => f.copyFileSync(at('/a/b'), at('/a/c3'))],
  ['mkdtemp', (f, at) => /^\/a\/t-[A-Za-z0-9]{6}$/.test((f.mkdtempSync(at('/a/t-')) as string).slice(at('').length))],
  ['mkdtemp missing parent', (f, at) => f.mkdtempSync(at('/nope/t-'))],
  ['unlink', (f, at) => f.unlinkSync(at('/a/l'))],
  ['unlink a directory', (f, at) => f.unlinkSync(at('/a/b'))],
  ['unlink missing', (f, at) => f.unlinkSync(at('/a/nope'))],
  ['rmdir non-empty', (f, at) => f.rmdirSync(at('/a/b'))],
  ['rmdir a file', (f, at) => f.rmdirSync(at('/a/f'))],
  ['rmdir', (f, at) => f.rmdirSync(at('/a/b/c/d'))],
  ['rm missing', (f, at) => f.rmSync(at('/a/nope'))],
  ['rm missing forced', (f, at) => f.rmSync(at('/a/nope'), { force: true })],
  ['rm a directory', (f, at) => f.rmSync(at('/a/b'))],
  ['rm -r', (f, at) => f.rmSync(at('/a/b'), { recursive: true })],
  ['rm a file', (f, at) => f.rmSync(at('/a/c1'))],
  ['rm a dangling symlink', (f, at) => f.rmSync(at('/a/dangling2'))],
  ['rm -rf a file through a path under it', (f, at) => f.rmSync(at('/a/f/x'), { recursive: true, force: true })],
  ['mkdir for rm -r', (f, at) => f.mkdirSync(at('/r/s/t'), { recursive: true })],
  ['fill for rm -r', (f, at) => ['/r/1', '/r/s/2', '/r/s/t/3'].forEach((p) => f.writeFileSync(at(p), p))],
  ['rm -r of a tree', (f, at) => f.rmSync(at('/r'), { recursive: true })],
  ['exists after', (f, at) => [f.existsSync(at('/r')), f.existsSync(at('/a/f3'))]],
];

describe('NodeFs writes on a tmpfs as node:fs writes in a host directory', () => {
  let host: string;
  let c: HostController;
  let task: Task;
  let efs: NodeFs;
  const ROOT = '/tmp/w';

  beforeAll(async () => {
    host = join(nodefs.mkdtempSync(join(tmpdir(), 'node-fs-write-')), 'w');
    nodefs.mkdirSync(host);
    c = await HostController.create({ mkdirs: ['/tmp', '/img'] });
    await c.mount({ type: 'tmpfs', target: '/tmp', options: { size: '16m' } });
    await c.mount({ image: fixture('basic-18.erofs'), target: '/img' });
    task = c.task({ reservedFds: [0, 1, 2] });
    // Creation modes depend on the umask: the guest gets the host process's.
    const mask = process.umask();
    task.umask(mask);
    efs = new NodeFs(task);
    efs.mkdirSync(ROOT);
  });

  afterAll(() => {
    task?.exit();
    c?.close();
    if (host) nodefs.rmSync(join(host, '..'), { recursive: true, force: true });
  });

  it('every step answers as node:fs does, and the trees end equal', () => {
    let failed = 0;
    for (const [what, step] of SCRIPT) {
      const ours = outcome(() => step(efs as unknown as Fs, (p) => ROOT + p), ROOT);
      const theirs = outcome(() => step(nodefs, (p) => host + p), host);
      expect(ours, what).toEqual(theirs);
      if ('code' in (theirs as object)) failed++;
    }
    // Both kinds of answer are exercised.
    expect(failed).toBeGreaterThan(35);
    expect(SCRIPT.length - failed).toBeGreaterThan(45);
    const timed = new Set(['/a/f3', '/a/g', '/a/lat', '/a/l', '/a/h']);
    const ourTree = tree(efs as unknown as Fs, ROOT, timed);
    expect(ourTree.length).toBeGreaterThan(12);
    expect(ourTree.join('\n')).toBe(tree(nodefs, host, timed).join('\n'));
  });

  it('on an image the same calls answer as Linux on a read-only mount', () => {
    const code = (fn: () => unknown) => {
      const o = outcome(fn, '') as { code?: string; syscall?: string };
      return 'ok' in o ? 'ok' : `${o.code} ${o.syscall}`;
    };
    expect(code(() => efs.writeFileSync('/img/files/size-1', 'x'))).toBe('EROFS open');
    expect(code(() => efs.mkdirSync('/img/newdir'))).toBe('EROFS mkdir');
    expect(code(() => efs.mkdirSync('/img/files'))).toBe('EEXIST mkdir');
    expect(code(() => efs.renameSync('/tmp/w/a/f3', '/img/x'))).toBe('EXDEV rename');
    expect(code(() => efs.linkSync('/img/files/size-1', '/tmp/w/x'))).toBe('EXDEV link');
    expect(code(() => efs.copyFileSync('/img/files/size-1', '/tmp/w/copied'))).toBe('ok');
    expect(efs.readFileSync('/tmp/w/copied')).toEqual(efs.readFileSync('/img/files/size-1'));
    expect((efs.statSync('/tmp/w/copied') as nodefs.Stats).mode).toBe((efs.statSync('/img/files/size-1') as nodefs.Stats).mode);
    expect(code(() => efs.copyFileSync('/tmp/w/copied', '/img/files/new'))).toBe('EROFS copyfile');
    expect(code(() => efs.unlinkSync('/tmp/w/copied'))).toBe('ok');
  });

  it('writes reach the filesystem: another task of the namespace reads them', () => {
    const other = new NodeFs(c.task());
    efs.writeFileSync('/tmp/w/shared', 'seen by both');
    expect(other.readFileSync('/tmp/w/shared', 'utf8')).toBe('seen by both');
    other.task.exit();
  });
});
