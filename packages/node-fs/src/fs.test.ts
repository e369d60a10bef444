/**
 * NodeFs against node:fs itself. A fixture image is unpacked with the CLI's extract into a
 * temporary directory; every call is made twice — through the facade on the image, and
 * through node:fs on the unpacked tree — and the results must agree: Stats fields that do
 * not depend on the filesystem (mode, size of non-directories, nlink, uid, gid, rdev,
 * mtime, the type predicates), readdir names and Dirent types, readlink, file bytes,
 * realpath, and the code / syscall of errors (ENOENT, ENOTDIR, ELOOP, EINVAL, EISDIR).
 * Write-type calls, which succeed on the host, are checked against Linux's order on a
 * read-only mount instead.
 */
import * as nodefs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostController } from '@erofs-js/mount/node';
import { extract } from '../../cli/src/extract.js';
import type { ManifestRecord } from '../../cli/src/manifest.js';
import { FIXTURES, fixtureBytes, openFixture, readJsonl } from '../../../tests/fixtures.js';
import { NodeFs, openNodeFs, BigIntStats, Stats } from './index.js';

const IMAGE = 'basic-18.erofs';
let host: string;
let efs: Awaited<ReturnType<typeof openNodeFs>>;
let records: ManifestRecord[];
let skipped: Set<string>;

beforeAll(async () => {
  host = nodefs.mkdtempSync(join(tmpdir(), 'node-fs-test-'));
  const report = extract(openFixture(IMAGE), host, { samePermissions: true, devices: true });
  skipped = new Set(report.skipped.map((p) => p.slice(host.length)));
  efs = await openNodeFs({ bytes: fixtureBytes(IMAGE) });
  // Entries with a path that is not UTF-8 cannot be named by a JS string on either side.
  records = readJsonl<ManifestRecord>(FIXTURES + IMAGE.replace('.erofs', '.manifest.jsonl')).filter((r) => r.path !== undefined && !skipped.has(r.path));
});

afterAll(() => {
  efs?.close();
  if (host) nodefs.rmSync(host, { recursive: true, force: true });
});

const h = (p: string) => host + p;

/** What either side threw, reduced to what Node programs branch on. */
function failure(fn: () => unknown): { code?: string; syscall?: string; errno?: number } | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const { code, syscall, errno } = e as { code?: string; syscall?: string; errno?: number };
    return { code, syscall, errno };
  }
}

function comparable(s: nodefs.Stats | Stats) {
  return {
    mode: s.mode,
    size: s.isDirectory() ? '-' : s.size,
    nlink: s.nlink,
    uid: s.uid,
    gid: s.gid,
    rdev: s.rdev,
    // Whole milliseconds: extract sets times through futimes (microseconds, and whole
    // milliseconds before 1970).
    mtimeMs: Math.floor(s.mtimeMs),
    types: [s.isFile(), s.isDirectory(), s.isSymbolicLink(), s.isFIFO(), s.isSocket(), s.isBlockDevice(), s.isCharacterDevice()],
  };
}

describe('NodeFs against node:fs on the unpacked tree', () => {
  it('unpacked the fixture (the comparison has something to compare)', () => {
    expect(records.length).toBeGreaterThan(2500);
    expect(skipped.size).toBeLessThan(3); // the socket, which extract cannot make
  });

  it('lstatSync agrees on every entry', () => {
    for (const r of records) {
      const ours = efs.lstatSync(r.path!) as Stats;
      expect(ours).toBeInstanceOf(Stats);
      expect(comparable(ours), r.path).toEqual(comparable(nodefs.lstatSync(h(r.path!))));
      // And the image's own record (the kernel's view) agrees with both.
      expect(ours.mode).toBe(r.mode);
      expect(Math.floor(ours.mtimeMs / 1000)).toBe(r.mtime);
    }
  });

  it('statSync follows symlinks the same way (or fails the same way)', () => {
    for (const r of records.filter((x) => x.type === 'symlink')) {
      // An absolute target resolves from the task root on the image but from the host's
      // root for node:fs: not comparable.
      if (r.target?.startsWith('/')) continue;
      const ours = failure(() => efs.statSync(r.path!));
      const theirs = failure(() => nodefs.statSync(h(r.path!)));
      expect(ours, r.path).toEqual(theirs);
      if (ours === 'ok') expect(comparable(efs.statSync(r.path!) as Stats)).toEqual(comparable(nodefs.statSync(h(r.path!))));
    }
  });

  it('BigIntStats carries the same values as bigints, with nanosecond times', () => {
    for (const r of records.slice(0, 200)) {
      const b = efs.lstatSync(r.path!, { bigint: true }) as BigIntStats;
      const n = nodefs.lstatSync(h(r.path!), { bigint: true });
      expect(b).toBeInstanceOf(BigIntStats);
      expect(b.mode).toBe(n.mode);
      expect(b.nlink).toBe(n.nlink);
      expect(b.mtimeNs).toBe(BigInt(r.mtime) * 1_000_000_000n + BigInt(r.mtime_nsec));
      expect(b.mtimeMs).toBe(n.mtimeMs);
      expect(b.isDirectory()).toBe(n.isDirectory());
    }
  });

  it('readdirSync: same names, same Dirent types, parentPath as given', () => {
    for (const r of records.filter((x) => x.type === 'dir')) {
      const names = (efs.readdirSync(r.path!) as string[]).filter((n) => !skipped.has(join(r.path!, n)));
      expect(names.sort(), r.path).toEqual(nodefs.readdirSync(h(r.path!)).sort());
      const ours = (efs.readdirSync(r.path!, { withFileTypes: true }) as nodefs.Dirent[]).filter((d) => !skipped.has(join(r.path!, d.name)));
      const theirs = nodefs.readdirSync(h(r.path!), { withFileTypes: true });
      const kind = (d: { name: string; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }) =>
        `${d.name}:${[d.isFile(), d.isDirectory(), d.isSymbolicLink(), d.isFIFO(), d.isCharacterDevice(), d.isBlockDevice()].map(Number).join('')}`;
      expect(ours.map(kind).sort()).toEqual(theirs.map(kind).sort());
      for (const d of ours) expect(d.parentPath).toBe(r.path);
    }
  });

  it('readdirSync recursive lists what node:fs lists', () => {
    const ours = (efs.readdirSync('/deep', { recursive: true }) as string[]).sort();
    expect(ours.length).toBeGreaterThan(30);
    expect(ours).toEqual((nodefs.readdirSync(h('/deep'), { recursive: true }) as string[]).sort());
  });

  it('readFileSync: the same bytes for every regular file, by path and by descriptor', () => {
    for (const r of records.filter((x) => x.type === 'file')) {
      const ours = efs.readFileSync(r.path!) as Uint8Array;
      expect(Buffer.compare(Buffer.from(ours), nodefs.readFileSync(h(r.path!))), r.path).toBe(0);
    }
    const fd = efs.openSync('/names/héllo', 'r');
    try {
      expect(efs.readFileSync(fd, 'utf8')).toBe(nodefs.readFileSync(h('/names/héllo'), 'utf8'));
    } finally {
      efs.closeSync(fd);
    }
  });

  it('readlinkSync returns every target, as a string or a Buffer', () => {
    for (const r of records.filter((x) => x.type === 'symlink')) {
      expect(efs.readlinkSync(r.path!), r.path).toBe(nodefs.readlinkSync(h(r.path!)));
    }
    expect(Buffer.from(efs.readlinkSync('/links/rel', 'buffer') as Uint8Array).toString()).toBe('../files/size-1');
  });

  it('realpathSync resolves like node:fs (relative links only), and fails the same way', () => {
    for (const p of ['/links/rel', '/links/todir', '/links/dot', '/deep/../links/todir/.', '/links/loop', '/links/dangling', '/files/size-1/x', '/nope', '/']) {
      const ours = failure(() => efs.realpathSync(p));
      const theirs = failure(() => nodefs.realpathSync(h(p)));
      expect(ours, p).toEqual(theirs);
      if (ours === 'ok') expect(efs.realpathSync(p)).toBe(nodefs.realpathSync(h(p)).slice(host.length) || '/');
    }
    expect(failure(() => efs.realpathSync.native('/links/loop'))).toEqual(failure(() => nodefs.realpathSync.native(h('/links/loop'))));
    expect(failure(() => efs.realpathSync.native('/nope/x'))).toEqual(failure(() => nodefs.realpathSync.native(h('/nope/x'))));
  });

  it('readSync with and without a position, as node:fs', () => {
    const p = '/files/size-4097';
    const a = efs.openSync(p, 'r');
    const b = nodefs.openSync(h(p), 'r');
    try {
      const x = Buffer.alloc(100);
      const y = Buffer.alloc(100);
      for (const args of [[0, 10, null], [10, 50, 4000], [0, 100, null], [5, 20, -1], [0, 100, 5000n]] as const) {
        expect(efs.readSync(a, x, args[0], args[1], args[2])).toBe(nodefs.readSync(b, y, args[0], args[1], args[2] as number | null));
        expect(x.equals(y)).toBe(true);
      }
      expect(efs.readSync(a, x, { position: 1 })).toBe(nodefs.readSync(b, y, { position: 1 }));
      expect(x.equals(y)).toBe(true);
      expect(comparable(efs.fstatSync(a))).toEqual(comparable(nodefs.fstatSync(b)));
    } finally {
      efs.closeSync(a);
      nodefs.closeSync(b);
    }
  });

  it('errors: the same code and syscall as node:fs, Node-style message and negative errno', () => {
    const cases: [string, (f: typeof nodefs, at: (p: string) => string) => unknown][] = [
      ['stat missing', (f, at) => f.statSync(at('/nope'))],
      ['lstat under a file', (f, at) => f.lstatSync(at('/files/size-1/x'))],
      ['stat loop', (f, at) => f.statSync(at('/links/loop'))],
      ['open dangling', (f, at) => f.openSync(at('/links/dangling'), 'r')],
      ['readdir of a file', (f, at) => f.readdirSync(at('/files/size-1'))],
      ['readdir missing', (f, at) => f.readdirSync(at('/nope'))],
      ['readlink of a file', (f, at) => f.readlinkSync(at('/files/size-1'))],
      ['readFile of a dir', (f, at) => f.readFileSync(at('/files'))],
      ['access missing', (f, at) => f.accessSync(at('/nope/x'))],
      ['open O_DIRECTORY on a file', (f, at) => f.openSync(at('/files/size-1'), f.constants.O_DIRECTORY)],
      ['mkdir existing', (f, at) => f.mkdirSync(at('/files'))],
      ['mkdir under missing', (f, at) => f.mkdirSync(at('/nope/x'))],
      ['symlink under missing', (f, at) => f.symlinkSync('t', at('/nope/x'))],
      ['rmdir under a file', (f, at) => f.rmdirSync(at('/files/size-1/x'))],
      ['close bad fd', (f) => f.closeSync(999)],
      ['fstat bad fd', (f) => f.fstatSync(999)],
    ];
    for (const [what, fn] of cases) {
      const ours = failure(() => fn(efs as unknown as typeof nodefs, (p) => p));
      const theirs = failure(() => fn(nodefs, h));
      expect(ours, what).not.toBe('ok');
      expect(ours, what).toEqual(theirs);
    }
    try {
      efs.openSync('/nope', 'r');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe("ENOENT: no such file or directory, open '/nope'");
      expect(e).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/nope' });
    }
    expect(efs.statSync('/nope', { throwIfNoEntry: false })).toBeUndefined();
    expect(() => efs.statSync('/files/size-1/x', { throwIfNoEntry: false })).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(efs.existsSync('/links/rel')).toBe(true);
    expect(efs.existsSync('/links/dangling')).toBe(false);
    expect(efs.existsSync('/nope')).toBe(nodefs.existsSync(h('/nope')));
  });
});

describe('write-type calls: Linux on a read-only mount', () => {
  const code = (fn: () => unknown) => {
    const f = failure(fn);
    return f === 'ok' ? 'ok' : `${f.code} ${f.syscall}`;
  };

  it('answer EROFS once the checks Linux makes first have passed', () => {
    expect(code(() => efs.writeFileSync('/files/size-1', 'x'))).toBe('EROFS open');
    expect(code(() => efs.writeFileSync('/newfile', 'x'))).toBe('EROFS open');
    expect(code(() => efs.appendFileSync('/files/size-1', 'x'))).toBe('EROFS open');
    expect(code(() => efs.openSync('/files/size-1', 'r+'))).toBe('EROFS open');
    expect(code(() => efs.mkdirSync('/newdir'))).toBe('EROFS mkdir');
    // Node's mkdirp stats a name mkdir refused with anything but ENOENT/EEXIST/EACCES/ENOSPC/
    // ENOTDIR/EPERM and reports the stat's error: ENOENT (Node 20 on a read-only tmpfs too).
    expect(code(() => efs.mkdirSync('/files/a/b', { recursive: true }))).toBe('ENOENT mkdir');
    expect(code(() => efs.mkdirSync('/files/a', { recursive: true }))).toBe('ENOENT mkdir');
    expect(efs.mkdirSync('/deep', { recursive: true })).toBeUndefined(); // exists: nothing to do, as in Node
    expect(code(() => efs.mkdtempSync('/tmpx-'))).toBe('EROFS mkdtemp');
    expect(code(() => efs.unlinkSync('/files/size-1'))).toBe('EROFS unlink');
    expect(code(() => efs.unlinkSync('/nope'))).toBe('EROFS unlink'); // Linux: EROFS before the lookup
    expect(code(() => efs.rmdirSync('/deep'))).toBe('EROFS rmdir');
    expect(code(() => efs.renameSync('/files/size-1', '/x'))).toBe('EROFS rename');
    expect(code(() => efs.symlinkSync('t', '/newlink'))).toBe('EROFS symlink');
    expect(code(() => efs.linkSync('/files/size-1', '/newlink'))).toBe('EROFS link');
    expect(code(() => efs.chmodSync('/files/size-1', 0o600))).toBe('EROFS chmod');
    expect(code(() => efs.chownSync('/files/size-1', 1, 1))).toBe('EROFS chown');
    expect(code(() => efs.utimesSync('/files/size-1', 1, 1))).toBe('EROFS utime');
    expect(code(() => efs.truncateSync('/files/size-1'))).toBe('EROFS open');
    expect(code(() => efs.copyFileSync('/files/size-1', '/copy'))).toBe('EROFS copyfile');
    expect(code(() => efs.rmSync('/files/size-1'))).toBe('EROFS unlink');
    expect(code(() => efs.rmSync('/nope', { force: true }))).toBe('ok');
  });

  it('keep the errors Linux gives before EROFS', () => {
    expect(code(() => efs.mkdirSync('/files'))).toBe('EEXIST mkdir');
    expect(code(() => efs.mkdirSync('/nope/x'))).toBe('ENOENT mkdir');
    expect(code(() => efs.symlinkSync('t', '/files'))).toBe('EEXIST symlink');
    expect(code(() => efs.symlinkSync('', '/new'))).toBe('ENOENT symlink');
    expect(code(() => efs.linkSync('/nope', '/new'))).toBe('ENOENT link');
    expect(code(() => efs.rmdirSync('/deep/.'))).toBe('EINVAL rmdir');
    expect(code(() => efs.unlinkSync('/deep/..'))).toBe('EISDIR unlink');
    expect(code(() => efs.openSync('/files', 'w'))).toBe('EISDIR open');
    expect(code(() => efs.openSync('/nope/x', 'w'))).toBe('ENOENT open');
    expect(code(() => efs.openSync('/files/size-1', 'wx'))).toBe('EEXIST open');
    expect(code(() => efs.chmodSync('/nope', 0o600))).toBe('ENOENT chmod');
    expect(code(() => efs.copyFileSync('/nope', '/copy'))).toBe('ENOENT copyfile');
    expect(code(() => efs.rmSync('/deep'))).toBe('ERR_FS_EISDIR rm');
    expect(code(() => efs.renameSync('/files/size-1', '/nope/x'))).toBe('ENOENT rename');
    const fd = efs.openSync('/files/size-1', 'r');
    try {
      expect(code(() => efs.writeSync(fd, Buffer.from('x')))).toBe('EBADF write');
      expect(code(() => efs.ftruncateSync(fd))).toBe('EINVAL ftruncate');
      expect(code(() => efs.fsyncSync(fd))).toBe('EINVAL fsync');
      expect(code(() => efs.futimesSync(fd, 1, 1))).toBe('EROFS futime');
      expect(code(() => efs.fchmodSync(fd, 0o600))).toBe('EROFS fchmod');
    } finally {
      efs.closeSync(fd);
    }
    expect(code(() => efs.futimesSync(999, 1, 1))).toBe('EBADF futime');
    expect(code(() => efs.writeSync(999, 'x'))).toBe('EBADF write');
  });

  it('send writeSync on 1 and 2 to the stdio callbacks when given', async () => {
    const out: string[] = [];
    const h2 = await HostController.create({ rootfs: { bytes: fixtureBytes(IMAGE) } });
    const fs = new NodeFs(h2.task({ reservedFds: [0, 1, 2] }), { stdout: (d) => out.push(`1:${Buffer.from(d)}`), stderr: (d) => out.push(`2:${Buffer.from(d)}`) });
    expect(fs.writeSync(1, 'hello')).toBe(5);
    expect(fs.writeSync(2, Buffer.from('xxerr'), 2, 3)).toBe(3);
    expect(out).toEqual(['1:hello', '2:err']);
    expect(code(() => fs.writeSync(0, 'x'))).toBe('EBADF write');
    h2.close();
  });

  it('methods work detached from the object, as runtimes call them', () => {
    const { statSync, readdirSync } = efs;
    expect((statSync('/files') as Stats).isDirectory()).toBe(true);
    expect(readdirSync('/deep').length).toBeGreaterThan(0);
  });
});
