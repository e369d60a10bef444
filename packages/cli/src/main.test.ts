/**
 * The real `erofs` binary (packages/cli/bin/erofs.js on the built dist/), run as a child
 * process on the committed fixtures, its output compared with the manifests the Linux
 * kernel produced for the same images.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES, fixtureIndex, readJsonl } from '../../../tests/fixtures.js';
import type { ManifestRecord } from './manifest.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/erofs.js');
const DIST_MAIN = join(ROOT, 'packages/cli/dist/main.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Newest mtime of the non-test sources the binary is built from. */
function newestSource(): number {
  let newest = 0;
  const scan = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) scan(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  scan(join(ROOT, 'packages/erofs/src'));
  scan(join(ROOT, 'packages/vfs/src'));
  scan(join(ROOT, 'packages/cli/src'));
  scan(join(ROOT, 'packages/mkfs/src'));
  return newest;
}

beforeAll(() => {
  if (!existsSync(DIST_MAIN)) {
    execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' });
  } else if (statSync(DIST_MAIN).mtimeMs < newestSource()) {
    // A stale build would test yesterday's code; rebuild, but a source tree that is
    // mid-edit elsewhere and does not compile must not hide the existing build.
    try {
      execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      console.warn('tsc -b failed; testing the existing dist/:', String((e as { stdout?: Buffer }).stdout ?? e));
    }
  }
  expect(existsSync(DIST_MAIN)).toBe(true);
}, 180_000);

interface Run {
  status: number | null;
  stdout: Buffer;
  out: string;
  err: string;
}

function erofs(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}

const fx = (name: string) => join(FIXTURES, name);
type Rec = ManifestRecord & Record<string, unknown>;
const manifestOf = (name: string) => readJsonl<Rec>(fx(name.replace(/\.erofs$/, '.manifest.jsonl')));
const readdirOf = (name: string) => readJsonl<{ path?: string; entries?: string[]; entries_b64?: string[] }>(fx(name.replace(/\.erofs$/, '.readdir.jsonl')));
const pathBytes = (r: { path?: string; path_b64?: string }) => (r.path !== undefined ? Buffer.from(r.path) : Buffer.from(r.path_b64!, 'base64'));
const byPath = (recs: Rec[], p: string) => {
  const r = recs.find((x) => x.path === p);
  expect(r, p).toBeDefined();
  return r!;
};
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A failure: exit 1 and exactly one stderr line "erofs: PATH: CODE: message", no stack. */
function expectOneLineError(r: Run, path: string, code?: string): string {
  expect(r.status, r.err).toBe(1);
  expect(r.err.endsWith('\n')).toBe(true);
  const lines = r.err.slice(0, -1).split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0].startsWith(`erofs: ${path}: `), lines[0]).toBe(true);
  const m = /^(E[A-Z]+): (.+)$/.exec(lines[0].slice(`erofs: ${path}: `.length));
  expect(m, lines[0]).not.toBeNull();
  if (code) expect(m![1]).toBe(code);
  expect(r.err).not.toMatch(/\n\s+at |internal error|Error:/);
  return m![1];
}

/** ls -l's mode column, written independently of format.ts. */
function lsMode(mode: number): string {
  const types: Record<number, string> = { 0o140000: 's', 0o120000: 'l', 0o100000: '-', 0o060000: 'b', 0o040000: 'd', 0o020000: 'c', 0o010000: 'p' };
  let s = types[mode & 0o170000];
  const bits = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  const set = (i: number, on: boolean, ch: string) => {
    if (on) s = s.slice(0, i) + (s[i] === 'x' ? ch : ch.toUpperCase()) + s.slice(i + 1);
  };
  set(3, (mode & 0o4000) !== 0, 's');
  set(6, (mode & 0o2000) !== 0, 's');
  set(9, (mode & 0o1000) !== 0, 't');
  return s;
}

/** glibc major/minor of an st_rdev. */
function majorMinor(rdev: number): [number, number] {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return [major, minor];
}

// ---------------------------------------------------------------------------------------

describe('erofs info', () => {
  it('prints the superblock facts of the index, and the label', () => {
    const index = fixtureIndex() as unknown as { image: string; blksz: number; superblock: { root_nid: number; inos: number; volume_name: string; meta_blkaddr: number } }[];
    for (const name of ['rootfs-19-label.erofs', 'rootfs-18.erofs', 'basic-18-b512.erofs', 'basic-19-b1024.erofs']) {
      const r = erofs('info', fx(name));
      expect(r.status, r.err).toBe(0);
      expect(r.err).toBe('');
      const kv = Object.fromEntries(r.out.trim().split('\n').filter((l) => /^\S[^:]*:/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
      const info = index.find((i) => i.image === name)!;
      expect(kv['block size']).toBe(String(info.blksz));
      expect(kv['root nid']).toBe(String(info.superblock.root_nid));
      expect(kv['inodes']).toBe(String(info.superblock.inos));
      expect(kv['meta blkaddr']).toBe(String(info.superblock.meta_blkaddr));
      expect(kv['label']).toBe(info.superblock.volume_name);
      expect(kv['uuid']).toBe('e0f5e1e2-0000-4000-8000-0000000e20f5');
    }
    expect(erofs('info', fx('rootfs-19-label.erofs')).out).toMatch(/^label: +erofs-js-demo$/m);
    expect(erofs('info', fx('basic-18-b512.erofs')).out).toMatch(/^block size: +512$/m);
  });

  it('lists the extra device of a multi-device image', () => {
    const r = erofs('info', fx('basic-18-blobdev.erofs'));
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^extra devices: +1$/m);
    expect(r.out).toMatch(/^ {2}device 1: \d+ blocks at \d+, tag /m);
  });
});

describe('erofs ls', () => {
  for (const [name, dirs] of [
    ['rootfs-18.erofs', ['/', '/bin', '/usr/lib', '/proc']],
    ['basic-18.erofs', ['/', '/bigdir', '/xattrs']],
    ['basic-19-dotomitted.erofs', ['/', '/bigdir']],
  ] as const) {
    it(`${name}: names in on-disk order equal getdents order`, () => {
      const truth = readdirOf(name);
      for (const dir of dirs) {
        const rec = truth.find((t) => t.path === dir)!;
        expect(rec.entries, dir).toBeDefined();
        const r = erofs('ls', fx(name), dir);
        expect(r.status, r.err).toBe(0);
        expect(r.out === '' ? [] : r.out.slice(0, -1).split('\n'), dir).toEqual(rec.entries);
      }
      // No PATH means the root.
      expect(erofs('ls', fx(name)).out).toBe(erofs('ls', fx(name), '/').out);
    });
  }

  it('ls -l: one line per entry with mode, links, owner, size (major, minor for devices), UTC mtime, name, link target', () => {
    const name = 'rootfs-18.erofs';
    const m = manifestOf(name);
    for (const dir of ['/', '/dev', '/bin', '/etc', '/usr/lib']) {
      const names = readdirOf(name).find((t) => t.path === dir)!.entries!;
      const r = erofs('ls', '-l', fx(name), dir);
      expect(r.status, r.err).toBe(0);
      const lines = r.out.slice(0, -1).split('\n');
      expect(lines).toHaveLength(names.length);
      lines.forEach((line, k) => {
        const rec = byPath(m, (dir === '/' ? '/' : dir + '/') + names[k]);
        const size = rec.type === 'chardev' || rec.type === 'blockdev' ? majorMinor(rec.rdev!).join(', ') : String(rec.size);
        const when = new Date(rec.mtime * 1000).toISOString().replace('T', ' ').slice(0, 19);
        const cols = line.trim().split(/ +/);
        expect(cols[0], line).toBe(lsMode(rec.mode));
        expect(Number(cols[1])).toBe(rec.nlink);
        expect(Number(cols[2])).toBe(rec.uid);
        expect(Number(cols[3])).toBe(rec.gid);
        expect(line).toContain(` ${size} ${when} ${names[k]}`);
        if (rec.type === 'symlink') expect(line.endsWith(` ${names[k]} -> ${rec.target}`), line).toBe(true);
        else expect(line.endsWith(` ${when} ${names[k]}`), line).toBe(true);
      });
    }
    // A non-directory lists itself.
    const one = erofs('ls', '-l', fx(name), '/etc/passwd');
    expect(one.out).toMatch(/^-rw-r--r-- +1 +0 +0 +123 2023-11-14 22:13:20 \/etc\/passwd\n$/);
  });
});

describe('erofs cat', () => {
  it('writes every regular file of rootfs-18 byte for byte (sha256 of the manifest)', () => {
    const name = 'rootfs-18.erofs';
    const files = manifestOf(name).filter((r) => r.type === 'file');
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const r = erofs('cat', fx(name), f.path!);
      expect(r.status, r.err).toBe(0);
      expect(r.stdout.length, f.path).toBe(f.size);
      expect(sha256(r.stdout), f.path).toBe(f.sha256);
    }
  });

  it('follows symlinks, and handles large, sparse, chunked and tail-packed files of the basic images', () => {
    const m = manifestOf('rootfs-18.erofs');
    const sh = byPath(m, '/bin/sh');
    expect(sh.type).toBe('symlink');
    expect(sha256(erofs('cat', fx('rootfs-18.erofs'), '/bin/sh').stdout)).toBe(byPath(m, '/bin/' + sh.target).sha256);
    for (const name of ['basic-18.erofs', 'basic-18-chunk.erofs', 'basic-18-b512.erofs', 'basic-19-48bit.erofs']) {
      const recs = manifestOf(name).filter((r) => r.type === 'file' && r.path);
      const big = recs.reduce((a, b) => (b.size > a.size ? b : a));
      const pick = [big, ...recs.filter((r) => ['/files/sparse', '/files/size-4097', '/files/tail-noinline'].includes(r.path!))];
      expect(pick.length, name).toBe(4);
      for (const f of pick) {
        const r = erofs('cat', fx(name), f.path!);
        expect(r.status, r.err).toBe(0);
        expect(sha256(r.stdout), `${name} ${f.path}`).toBe(f.sha256);
      }
    }
  });

  it('refuses a directory and a missing path with one error line', () => {
    expectOneLineError(erofs('cat', fx('rootfs-18.erofs'), '/etc'), fx('rootfs-18.erofs'), 'EISDIR');
    expectOneLineError(erofs('cat', fx('rootfs-18.erofs'), '/etc/nope'), fx('rootfs-18.erofs'), 'ENOENT');
    expectOneLineError(erofs('cat', fx('rootfs-18.erofs'), '/etc/passwd/x'), fx('rootfs-18.erofs'), 'ENOTDIR');
  });
});

describe('erofs stat', () => {
  it('prints the inode as JSON with the fields of the manifest record', () => {
    for (const [name, paths] of [
      ['rootfs-18.erofs', ['/', '/bin/busybox', '/bin/sh', '/dev/null', '/dev/sda', '/tmp', '/etc/shadow', '/home/user']],
      ['basic-18.erofs', ['/owners/huge', '/times/pre1970', '/times/y2106', '/links/with-xattr', '/hardlinks/h1']],
    ] as const) {
      const m = manifestOf(name);
      for (const p of paths) {
        const rec = byPath(m, p);
        const r = erofs('stat', fx(name), p);
        expect(r.status, r.err).toBe(0);
        const s = JSON.parse(r.out);
        expect(s.path).toBe(p);
        expect(s.type).toBe(rec.type);
        for (const k of ['mode', 'uid', 'gid', 'size', 'nlink', 'ino', 'mtime'] as const) expect(s[k], `${p} ${k}`).toBe(rec[k]);
        expect(s.mtimeNsec, p).toBe(rec.mtime_nsec);
        if (rec.rdev !== undefined) {
          expect(s.rdev).toBe(rec.rdev);
          expect([s.major, s.minor]).toEqual(majorMinor(rec.rdev));
        }
        if (rec.type === 'symlink') expect(s.target).toBe(rec.target); // not followed
        expect(s.xattrs).toBe(Object.keys(rec.xattrs ?? {}).length);
      }
    }
  });
});

describe('erofs xattr', () => {
  it('prints every xattr as name=value, the values equal to the manifest', () => {
    const name = 'basic-18.erofs';
    const m = manifestOf(name);
    const withX = m.filter((r) => r.xattrs && r.path && !r.path.includes('\n'));
    expect(withX.length).toBeGreaterThan(20);
    let binary = 0;
    // Inline and shared xattrs, binary values (ACLs, capabilities), long names, symlinks and directories.
    const pick = withX.filter((r, k) => k % 3 === 0 || /acl|capability|longname|with-xattr|mixed|overlay/.test(r.path!)).slice(0, 18);
    expect(pick.some((r) => r.type === 'symlink') && pick.some((r) => r.type === 'dir')).toBe(true);
    for (const rec of pick) {
      const r = erofs('xattr', fx(name), rec.path!);
      expect(r.status, r.err).toBe(0);
      const got: Record<string, string> = {};
      for (const line of r.out.slice(0, -1).split('\n')) {
        const eq = line.indexOf('=');
        const v = line.slice(eq + 1);
        let value: Buffer;
        if (v.startsWith('0s')) {
          value = Buffer.from(v.slice(2), 'base64');
          binary++;
        } else value = Buffer.from(JSON.parse(v) as string);
        got[line.slice(0, eq)] = value.toString('base64');
      }
      expect(got, rec.path).toEqual(rec.xattrs);
    }
    expect(binary).toBeGreaterThan(0);
    expect(erofs('xattr', fx(name), '/names').out).toBe('');
  });
});

describe('erofs manifest', () => {
  for (const [name, extra] of [
    ['rootfs-18.erofs', []],
    ['basic-18.erofs', []],
    ['basic-19-48bit.erofs', []],
    ['basic-19-metabox.erofs', []],
    ['basic-18-blobdev.erofs', ['--device=' + fx('basic-18-blobdev.blob')]],
    ['rootfs-19-tarindex.erofs', ['--device', fx('rootfs-19-tarindex.tar')]],
  ] as const) {
    it(`${name}${extra.length ? ' (with its extra device)' : ''}: equals the kernel's manifest line by line`, () => {
      const r = erofs('manifest', ...extra, fx(name));
      expect(r.status, r.err).toBe(0);
      const ours = r.out.slice(0, -1).split('\n').map((l) => JSON.parse(l));
      const truth = manifestOf(name);
      expect(ours.length).toBe(truth.length);
      ours.forEach((o, k) => expect(o, String(truth[k].path ?? truth[k].path_b64)).toEqual(truth[k]));
    });
  }

  for (const name of ['rootfs-18.erofs', 'basic-18.erofs', 'basic-19-dotomitted.erofs']) {
    it(`${name}: --readdir equals the getdents listing line by line`, () => {
      const r = erofs('manifest', '--readdir', fx(name));
      expect(r.status, r.err).toBe(0);
      expect(r.out.slice(0, -1).split('\n').map((l) => JSON.parse(l))).toEqual(readdirOf(name));
    });
  }
});

describe('erofs fsck', () => {
  it('says clean and exits 0 on good images', () => {
    for (const args of [[fx('rootfs-18.erofs')], [fx('basic-18.erofs')], ['--device=' + fx('basic-18-blobdev.blob'), fx('basic-18-blobdev.erofs')]]) {
      const r = erofs('fsck', ...args);
      expect(r.status, r.err).toBe(0);
      expect(r.err).toBe('');
      const lines = r.out.slice(0, -1).split('\n');
      expect(lines[lines.length - 1]).toBe('clean');
      expect(lines[0]).toMatch(/^\d+ inodes \(\d+ directories, \d+ files, \d+ symlinks, \d+ special\), \d+ data bytes, \d+ xattrs$/);
    }
    const inodes = new Set(manifestOf('rootfs-18.erofs').map((r) => r.ino)).size;
    expect(erofs('fsck', fx('rootfs-18.erofs')).out).toMatch(new RegExp(`^${inodes} inodes `));
  });

  it('lists the errors and exits 1 on a corrupt image, the first one on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erofs-main-'));
    try {
      const bytes = readFileSync(fx('basic-18-blobdev.erofs'));
      const p = join(dir, 'nodev.erofs');
      writeFileSync(p, bytes);
      const r = erofs('fsck', p); // without its blob: every file's data is missing
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/^\d+\+? errors:$/m);
      const errs = r.out.split('\n').filter((l) => l.startsWith('  '));
      expect(errs.length).toBeGreaterThan(1);
      for (const e of errs) expect(e).toMatch(/^ {2}\/[^\n]*: EIO: /);
      const stderr = r.err.slice(0, -1).split('\n');
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toBe(`erofs: ${p}: ${errs[0].trim()}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('erofs extract', () => {
  /** Every xattr of every path under `dir`, without following links (python3's os module takes bytes paths). */
  function hostXattrs(dir: string): Map<string, Record<string, string>> {
    const script = [
      'import os, sys, json, base64',
      'out = {}',
      'root = os.fsencode(sys.argv[1])',
      'for d, dirs, files in os.walk(root):',
      '    for n in [b""] + dirs + files:',
      '        p = os.path.join(d, n) if n else d',
      '        xs = {x: base64.b64encode(os.getxattr(p, x, follow_symlinks=False)).decode() for x in os.listxattr(p, follow_symlinks=False)}',
      '        if xs: out[p.decode("latin1")] = xs',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python3 xattr dump failed: ${r.stderr}`);
    return new Map(Object.entries(JSON.parse(r.stdout) as Record<string, Record<string, string>>));
  }

  /**
   * Compares an extracted tree with the manifest: types, modes, sizes, contents, targets,
   * mtimes, owners (root), devices (root with --devices), xattrs, and that nothing else was made.
   */
  function compareTree(dest: string, recs: Rec[], opts: { samePermissions: boolean; devices: boolean }): void {
    const base = Buffer.from(dest);
    const expected = new Set<string>();
    const keepSetid = isRoot && opts.samePermissions;
    const makeDevices = isRoot && opts.devices;
    const xattrs = hostXattrs(dest);
    let devices = 0;
    let withXattrs = 0;
    for (const rec of recs) {
      const rel = pathBytes(rec);
      const p = rel.length === 1 ? base : Buffer.concat([base, rel]);
      const what = rec.path ?? rec.path_b64!;
      if (rec.type === 'socket' || ((rec.type === 'chardev' || rec.type === 'blockdev') && !makeDevices)) {
        expect(existsSync(p), `${what}: not extracted`).toBe(false);
        continue;
      }
      expected.add(p.toString('latin1'));
      const st = lstatSync(p, { bigint: true });
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : st.isFIFO() ? 'fifo' : '?';
      expect(type, what).toBe(rec.type);
      if (rec.type !== 'symlink') expect(Number(st.mode), what).toBe(keepSetid ? rec.mode : rec.mode & ~0o6000);
      let sec = st.mtimeNs / 1_000_000_000n;
      if (st.mtimeNs % 1_000_000_000n < 0n) sec -= 1n;
      expect(Number(sec), `${what} mtime`).toBe(rec.mtime);
      if (isRoot) {
        expect([Number(st.uid), Number(st.gid)], `${what} owner`).toEqual([rec.uid, rec.gid]);
        // trusted.* and security.* need root; user.* cannot be put on symlinks and devices.
        expect(xattrs.get(p.toString('latin1')) ?? {}, `${what} xattrs`).toEqual(rec.xattrs ?? {});
        if (rec.xattrs) withXattrs++;
      }
      if (rec.type === 'file') {
        expect(Number(st.size), what).toBe(rec.size);
        expect(Number(st.nlink), `${what} nlink`).toBe(rec.nlink);
        expect(sha256(readFileSync(p)), what).toBe(rec.sha256);
      } else if (rec.type === 'symlink') {
        const target = readlinkSync(p, { encoding: 'buffer' });
        expect(target.equals(rec.target !== undefined ? Buffer.from(rec.target) : Buffer.from(rec.target_b64!, 'base64')), what).toBe(true);
      } else if (rec.type === 'chardev' || rec.type === 'blockdev') {
        expect(Number(st.rdev), `${what} rdev`).toBe(rec.rdev);
        devices++;
      }
    }
    if (makeDevices) expect(devices).toBeGreaterThan(0);
    if (isRoot && recs.some((r) => r.xattrs)) expect(withXattrs).toBeGreaterThan(0);
    // Nothing else was created.
    const found = new Set<string>();
    const scan = (d: Buffer) => {
      found.add(d.toString('latin1'));
      for (const e of readdirSync(d, { withFileTypes: true, encoding: 'buffer' })) {
        const p = Buffer.concat([d, Buffer.from('/'), e.name as unknown as Buffer]);
        if (e.isDirectory()) scan(p);
        else found.add(p.toString('latin1'));
      }
    };
    scan(base);
    expect([...found].sort()).toEqual([...expected].sort());
  }

  const ALL = ['--same-permissions', '--devices'];
  for (const [name, extra] of [
    ['rootfs-18.erofs', ALL],
    ['basic-18.erofs', ALL],
    ['basic-18-blobdev.erofs', [...ALL, '--device=' + fx('basic-18-blobdev.blob')]],
    ['basic-18.erofs', []],
  ] as const) {
    it(`${name} ${extra.join(' ')}: the extracted tree matches the manifest`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'erofs-extract-'));
      try {
        const dest = join(dir, 'out');
        const r = erofs('extract', ...extra, fx(name), dest);
        expect(r.status, r.err).toBe(0);
        compareTree(dest, manifestOf(name), { samePermissions: extra.includes('--same-permissions'), devices: extra.includes('--devices') });
        if (!extra.length) {
          // Without the flags: every cleared bit and skipped device is said on stderr.
          expect(r.err).toMatch(/setuid\/setgid bits cleared/);
          if (isRoot) expect(r.err).toMatch(/device skipped \(--devices not given\)/);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses to extract into a non-empty place it did not make', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erofs-extract-'));
    try {
      writeFileSync(join(dir, 'bin'), 'in the way');
      const r = erofs('extract', fx('rootfs-18.erofs'), dir);
      expect(r.status).toBe(1);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.err).toMatch(/^erofs: .*EEXIST/);
      expect(readFileSync(join(dir, 'bin'), 'utf8')).toBe('in the way');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('extra devices', () => {
  it('--device= supplies the blob: file data comes from it; without it, EIO', () => {
    const img = fx('basic-18-blobdev.erofs');
    const recs = manifestOf('basic-18-blobdev.erofs').filter((r) => r.type === 'file' && r.size > 0 && r.path);
    const f = recs.reduce((a, b) => (b.size > a.size ? b : a));
    const r = erofs('cat', '--device=' + fx('basic-18-blobdev.blob'), img, f.path!);
    expect(r.status, r.err).toBe(0);
    expect(sha256(r.stdout)).toBe(f.sha256);
    expectOneLineError(erofs('cat', img, f.path!), img, 'EIO');
    // Metadata alone does not need the blob.
    expect(erofs('ls', img, '/').status).toBe(0);
    // A blob that does not exist.
    expectOneLineError(erofs('cat', '--device=/nonexistent/blob', img, f.path!), img, 'EIO');
  });
});

describe('errors', () => {
  const tmp = () => mkdtempSync(join(tmpdir(), 'erofs-err-'));

  it('a file that is not EROFS: one line, EINVAL, exit 1', () => {
    for (const cmd of ['info', 'ls', 'fsck', 'manifest']) expectOneLineError(erofs(cmd, fx('index.json')), fx('index.json'), 'EINVAL');
    expectOneLineError(erofs('info', fx('README.md')), fx('README.md'), 'EINVAL');
  });

  it('a missing image: one line, EIO, exit 1', () => {
    expectOneLineError(erofs('info', '/nonexistent/image.erofs'), '/nonexistent/image.erofs', 'EIO');
  });

  it('truncated images: one line naming the code, exit 1', () => {
    const dir = tmp();
    try {
      const bytes = readFileSync(fx('rootfs-18.erofs'));
      for (const [len, code] of [
        [0, 'EINVAL'],
        [1100, 'EINVAL'],
        [3000, 'EUCLEAN'], // ends inside the checksummed part of block 0
      ] as const) {
        const p = join(dir, `cut-${len}.erofs`);
        writeFileSync(p, bytes.subarray(0, len));
        for (const cmd of ['info', 'ls', 'fsck']) expectOneLineError(erofs(cmd, p), p, code);
      }
      // Cut after the metadata the root needs: the image opens, a file past the cut fails.
      const p = join(dir, 'cut-half.erofs');
      writeFileSync(p, bytes.subarray(0, 8192));
      const busybox = erofs('cat', p, '/bin/busybox');
      expect(['EUCLEAN', 'EIO']).toContain(expectOneLineError(busybox, p));
      const f = erofs('fsck', p);
      expect(f.status).toBe(1);
      expect(f.err.slice(0, -1).split('\n')).toHaveLength(1);
      expect(f.err).toMatch(new RegExp(`^erofs: ${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: /[^\\n]*: E[A-Z]+: `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a corrupted superblock: one line, exit 1; --no-checksum skips the checksum', () => {
    const dir = tmp();
    try {
      const bytes = Buffer.from(readFileSync(fx('rootfs-19-label.erofs')));
      bytes[1024 + 0x40] ^= 0x01; // first byte of the label
      const p = join(dir, 'badsum.erofs');
      writeFileSync(p, bytes);
      expect(expectOneLineError(erofs('info', p), p, 'EUCLEAN'));
      expect(erofs('ls', p).err).toMatch(/checksum mismatch/);
      const r = erofs('info', '--no-checksum', p);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/^label: +drofs-js-demo$/m);

      const bad = Buffer.from(readFileSync(fx('rootfs-18.erofs')));
      bad[1024 + 0x0c] = 30; // blkszbits
      const q = join(dir, 'badblk.erofs');
      writeFileSync(q, bad);
      expectOneLineError(erofs('info', '--no-checksum', q), q, 'EOPNOTSUPP');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2; --help exits 0', () => {
    for (const args of [['frobnicate', fx('rootfs-18.erofs')], ['ls', '--bogus', fx('rootfs-18.erofs')], ['ls', '-x', fx('rootfs-18.erofs')], ['cat', fx('rootfs-18.erofs')], ['info'], [], ['--device']]) {
      const r = erofs(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err + r.out).toMatch(/usage: erofs/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect(erofs('frobnicate', 'x').err).toMatch(/^erofs: unknown command frobnicate\n/);
    expect(erofs('ls', '--bogus', 'x').err).toMatch(/^erofs: unknown option --bogus\n/);
    const h = erofs('--help');
    expect(h.status).toBe(0);
    expect(h.out).toMatch(/^usage: erofs/);
  });
});

describe('erofs mkfs', () => {
  it('builds an image of a directory that erofs fsck finds clean and whose manifest matches the source', () => {
    const work = mkdtempSync(join(tmpdir(), 'erofs-mkfs-'));
    try {
      const src = join(work, 'src');
      execFileSync('mkdir', ['-p', join(src, 'sub/deeper')]);
      writeFileSync(join(src, 'a.txt'), 'hello\n');
      writeFileSync(join(src, 'sub/big'), Buffer.alloc(10_000, 7));
      writeFileSync(join(src, 'sub/deeper/empty'), '');
      execFileSync('ln', ['-s', 'a.txt', join(src, 'link')]);
      execFileSync('ln', [join(src, 'a.txt'), join(src, 'sub/hard')]);
      const img = join(work, 'out.erofs');
      const r = erofs('mkfs', src, img);
      expect(r.status, r.err).toBe(0);
      expect(erofs('fsck', img).status).toBe(0);
      const recs = erofs('manifest', img).out.trim().split('\n').map((l) => JSON.parse(l) as Rec);
      expect(recs.map((x) => x.path)).toEqual(['/', '/a.txt', '/link', '/sub', '/sub/big', '/sub/deeper', '/sub/deeper/empty', '/sub/hard']);
      expect(byPath(recs, '/a.txt')).toMatchObject({ type: 'file', size: 6, nlink: 2, sha256: sha256(readFileSync(join(src, 'a.txt'))) });
      expect(byPath(recs, '/sub/big')).toMatchObject({ size: 10_000, sha256: sha256(Buffer.alloc(10_000, 7)) });
      expect(byPath(recs, '/link')).toMatchObject({ type: 'symlink', target: 'a.txt' });
      expect(byPath(recs, '/sub/hard').ino).toBe(byPath(recs, '/a.txt').ino);
      expect(byPath(recs, '/sub')).toMatchObject({ nlink: 3, mtime: Math.floor(statSync(join(src, 'sub')).mtimeMs / 1000) });
      expect(erofs('mkfs', join(work, 'missing'), img).status).toBe(1);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('the command line (parseArgs)', () => {
  const img = fx('rootfs-18.erofs');

  it('an extra argument, a missing one, or an option the command does not take: exit 2 and the command\'s usage', () => {
    for (const [args, message] of [
      [['info', img, 'extra'], 'info: unexpected argument "extra"'],
      [['ls', img, '/', '/etc'], 'ls: unexpected argument "/etc"'],
      [['cat', img], 'cat needs PATH'],
      [['extract', img], 'extract needs DIR'],
      [['info', '-l', img], 'info takes no -l option'],
      [['cat', '--json', img, '/etc/passwd'], 'cat takes no --json option'],
      [['fsck', '--tar', img], 'fsck takes no --tar option'],
      [['ls', '--json=yes', img], '--json takes no value'],
      [['ls', img, '--device'], '--device needs a value (a FILE)'],
    ] as const) {
      const r = erofs(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.split('\n');
      expect(lines[0]).toBe(`erofs: ${message}`);
      expect(lines[1]).toMatch(new RegExp(`^usage: erofs ${args[0]} `));
    }
  });

  it('options go anywhere before --; after it everything is an argument', () => {
    expect(erofs('ls', img, '-l', '/dev').out).toBe(erofs('ls', '-l', img, '/dev').out);
    expect(erofs('--long', 'ls', img, '/dev').out).toBe(erofs('ls', '-l', img, '/dev').out);
    const r = erofs('ls', img, '--', '-l');
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/: ENOENT: -l: /);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = erofs(flag);
      expect(r).toMatchObject({ status: 0, out: `erofs ${pkg.version}\n`, err: '' });
    }
  });

  it('erofs help CMD and CMD --help print the command\'s usage, options and details; help alone the whole usage', () => {
    for (const cmd of ['info', 'ls', 'cat', 'stat', 'xattr', 'extract', 'fsck', 'manifest', 'mkfs']) {
      const a = erofs('help', cmd);
      expect(a.status).toBe(0);
      expect(a.out).toMatch(new RegExp(`^usage: erofs ${cmd} `));
      expect(a.out).toMatch(/\noptions:\n(.*\n)*  -h, --help +this help\n$/);
      expect(erofs(cmd, '--help').out).toBe(a.out);
      expect(erofs(cmd, '-h', img).out).toBe(a.out);
      for (const line of a.out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(92);
    }
    expect(erofs('help', 'extract').out).toMatch(/--same-permissions/);
    expect(erofs('help', 'ls').out).not.toMatch(/--same-permissions/);
    expect(erofs('help', 'mkfs').out).toMatch(/--tar\[=f\|=i\]/);
    const all = erofs('help');
    expect(all.status).toBe(0);
    expect(all.out).toBe(erofs('--help').out);
    for (const cmd of ['info', 'ls', 'cat', 'stat', 'xattr', 'extract', 'fsck', 'manifest', 'mkfs']) expect(all.out).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    const bad = erofs('help', 'frobnicate');
    expect(bad.status).toBe(2);
    expect(bad.err).toMatch(/^erofs: help: unknown command frobnicate\n/);
  });
});

describe('errors name the image once', () => {
  it('a missing image: the reason in words and its code, the path not repeated', () => {
    const r = erofs('info', '/nonexistent/image.erofs');
    expect(r.err).toBe('erofs: /nonexistent/image.erofs: EIO: cannot open: no such file or directory (ENOENT)\n');
    const d = erofs('cat', '--device=/nonexistent/blob', fx('basic-18-blobdev.erofs'), '/');
    expect(d.err).toBe(`erofs: ${fx('basic-18-blobdev.erofs')}: EIO: device /nonexistent/blob: cannot open: no such file or directory (ENOENT)\n`);
    expectOneLineError(erofs('info', FIXTURES), FIXTURES, 'EINVAL');
  });

  it('extract into a non-empty directory: the image, then the host error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erofs-extract-'));
    try {
      writeFileSync(join(dir, 'bin'), 'in the way');
      const r = erofs('extract', fx('rootfs-18.erofs'), dir);
      expect(r.status).toBe(1);
      expect(r.err).toBe(`erofs: ${fx('rootfs-18.erofs')}: EEXIST: file already exists, mkdir '${join(dir, 'bin')}'\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mkfs names the image it was making', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erofs-mkfs-'));
    try {
      const r = erofs('mkfs', join(dir, 'missing'), join(dir, 'out.erofs'));
      expect(r.status).toBe(1);
      expect(r.err).toBe(`erofs: ${join(dir, 'out.erofs')}: ENOENT: no such file or directory, lstat '${join(dir, 'missing')}'\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--json', () => {
  it('info: the superblock as an object, equal to the fixture index and the text output', () => {
    const index = fixtureIndex() as unknown as { image: string; blksz: number; superblock: { root_nid: number; inos: number; volume_name: string; meta_blkaddr: number } }[];
    for (const name of ['rootfs-19-label.erofs', 'basic-18-b512.erofs', 'z-lz4hc-18-allfrag.erofs', 'basic-18-blobdev.erofs', 'z-zstd-19-48bit-unaligned.erofs']) {
      const r = erofs('info', '--json', fx(name));
      expect(r.status, r.err).toBe(0);
      const j = JSON.parse(r.out);
      const info = index.find((i) => i.image === name)!;
      expect(j).toMatchObject({ blockSize: info.blksz, inodes: info.superblock.inos, rootNid: String(info.superblock.root_nid), metaBlkaddr: info.superblock.meta_blkaddr, label: info.superblock.volume_name, uuid: 'e0f5e1e2-0000-4000-8000-0000000e20f5' });
      const text = erofs('info', fx(name)).out;
      expect(text).toContain(`features:        ${j.features.join(' ') || '(none)'}\n`);
      expect(text).toContain(`blocks:          ${j.blocks}\n`);
      if (j.compression.length) expect(text).toContain(`compression:     ${j.compression.join(' ')}\n`);
      else expect(text).not.toContain('compression:');
    }
    expect(JSON.parse(erofs('info', '--json', fx('z-zstd-19-48bit-unaligned.erofs')).out).compression).toContain('zstd');
    expect(JSON.parse(erofs('info', '--json', fx('basic-18-blobdev.erofs')).out).extraDevices).toHaveLength(1);
    expect(JSON.parse(erofs('info', '--json', fx('basic-18.erofs')).out).compression).toEqual([]);
  });

  it('ls: one object per entry in on-disk order, equal to the manifest', () => {
    for (const [name, dirs] of [['rootfs-18.erofs', ['/', '/dev', '/bin']], ['basic-18.erofs', ['/names', '/links']]] as const) {
      const m = manifestOf(name);
      for (const dir of dirs) {
        const r = erofs('ls', '--json', fx(name), dir);
        expect(r.status, r.err).toBe(0);
        const entries = JSON.parse(r.out) as Record<string, unknown>[];
        const truth = readdirOf(name).find((t) => t.path === dir)!;
        const names = entries.map((e) => (e.name !== undefined ? Buffer.from(e.name as string) : Buffer.from(e.name_b64 as string, 'base64')));
        expect(names.map((n) => n.toString('base64'))).toEqual((truth.entries ?? []).map((n) => Buffer.from(n).toString('base64')).concat((truth.entries_b64 ?? [])));
        entries.forEach((e, k) => {
          const rec = m.find((x) => pathBytes(x).equals(Buffer.concat([Buffer.from(dir === '/' ? '/' : dir + '/'), names[k]])))!;
          expect(rec).toBeDefined();
          expect(e).toMatchObject({ type: rec.type, mode: rec.mode, uid: rec.uid, gid: rec.gid, size: rec.size, nlink: rec.nlink, mtime: rec.mtime });
          if (rec.type === 'symlink') expect(e.target ?? e.target_b64).toBe(rec.target ?? rec.target_b64);
          if (rec.rdev !== undefined) expect([e.major, e.minor]).toEqual(majorMinor(rec.rdev));
        });
      }
    }
    expect(JSON.parse(erofs('ls', '--json', fx('rootfs-18.erofs'), '/etc/passwd').out)).toMatchObject([{ name: '/etc/passwd', type: 'file', size: 123 }]);
    expect(erofs('ls', '--json', fx('rootfs-18.erofs'), '/tmp').out).toBe('[]\n');
  });

  it('stat: the same object with or without --json', () => {
    const a = erofs('stat', '--json', fx('rootfs-18.erofs'), '/bin/sh');
    expect(a.status).toBe(0);
    expect(JSON.parse(a.out)).toEqual(JSON.parse(erofs('stat', fx('rootfs-18.erofs'), '/bin/sh').out));
  });
});

describe('progress on a TTY', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('a command done within a second draws no progress line', () => {
    // script(1) gives the command a terminal; its output (stdout and stderr together) comes back on ours.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${BIN} fsck ${fx('rootfs-18.erofs')}`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/\[#*\.*\]/);
    expect(r.stdout).toMatch(/clean/);
  });
});
