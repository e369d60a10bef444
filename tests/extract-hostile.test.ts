/**
 * `erofs extract` against images made to escape the target directory (issue #13 item 1).
 *
 * Each image is built by our builder, some then patched byte for byte (duplicate names,
 * unsorted names, "/" and ".." in names). Every one is extracted by the real CLI into
 * SANDBOX/out, as root and (when the tests run as root) as the unprivileged user nobody.
 * Beside out/ the sandbox holds a sentinel file and a victim directory, both owned by the
 * extracting user, which the images' symlinks point at. Whatever the image, afterwards:
 * the sentinel's content, mode, owner, times and xattrs are unchanged, the victim directory
 * is empty and unchanged, nothing appears in the sandbox but out/, and the CLI exits 0 or
 * 1 with a one-line error (never a crash). Images that are well formed are also checked to
 * have been extracted under their exact byte names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, device, dir, fifo, file, symlink, type DirNode, type TreeNode } from '@erofs-js/mkfs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/erofs.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;
const hasSetfattr = spawnSync('setfattr', ['--version']).status === 0;

beforeAll(() => {
  // The CLI runs from dist/: build it when missing (main.test.ts rebuilds stale builds).
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' });
}, 180_000);

const b = (s: string) => Buffer.from(s, 'latin1');
/** No superblock checksum: patched images must reach the directory walk, not fail at the superblock. */
const build = (root: DirNode) => buildImage(root, { checksum: false });
const tree = (entries: [Buffer | string, TreeNode][]) => dir(new Map(entries.map(([n, v]) => [typeof n === 'string' ? n : new Uint8Array(n), v])));

/** Replaces the one occurrence of `from` (a unique name) with `to` (same length). */
function patch(image: Uint8Array, from: string, to: string): Uint8Array {
  const out = Uint8Array.from(image);
  const at = Buffer.from(out.buffer).indexOf(b(from));
  expect(at, `${from} in the image`).toBeGreaterThan(0);
  expect(Buffer.from(out.buffer).indexOf(b(from), at + 1), `${from} occurs once`).toBe(-1);
  out.set(b(to), at);
  return out;
}

/** Every xattr of `p` (not followed), by python3's os module, which takes bytes paths (given in hex: argv would re-encode them). */
function xattrsOf(p: string | Buffer): Record<string, string> {
  const script = 'import os,sys,json,base64\np=bytes.fromhex(sys.argv[1])\nprint(json.dumps({x: base64.b64encode(os.getxattr(p,x,follow_symlinks=False)).decode() for x in os.listxattr(p,follow_symlinks=False)}))';
  const r = spawnSync('python3', ['-c', script, Buffer.from(p).toString('hex')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

interface Sandbox {
  dir: string;
  out: string;
  sentinel: string;
  victim: string;
}

/** What must not change: the sentinel's bytes and inode fields (not atime: taking the snapshot reads it), the victim dir, the sandbox listing. */
function snapshot(s: Sandbox): unknown {
  const st = lstatSync(s.sentinel, { bigint: true });
  const vt = lstatSync(s.victim, { bigint: true });
  const inner = join(s.victim, 'inner');
  const it = lstatSync(inner, { bigint: true });
  return {
    inner: { sha: createHash('sha256').update(readFileSync(inner)).digest('hex'), mode: it.mode, uid: it.uid, mtime: it.mtimeNs, ctime: it.ctimeNs, xattrs: xattrsOf(inner) },
    sha: createHash('sha256').update(readFileSync(s.sentinel)).digest('hex'),
    sentinel: { mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtimeNs, ctime: st.ctimeNs, nlink: st.nlink, xattrs: xattrsOf(s.sentinel) },
    victim: { mode: vt.mode, uid: vt.uid, mtime: vt.mtimeNs, ctime: vt.ctimeNs, entries: readdirSync(s.victim), xattrs: xattrsOf(s.victim) },
    sandbox: readdirSync(s.dir, { encoding: 'buffer' }).map((n) => n.toString('hex')).sort(),
  };
}

function makeSandbox(uid: number): Sandbox {
  const d = mkdtempSync(join(tmpdir(), 'extract-hostile-'));
  const s: Sandbox = { dir: d, out: join(d, 'out'), sentinel: join(d, 'sentinel'), victim: join(d, 'victim') };
  writeFileSync(s.sentinel, 'the owner\'s own file\n');
  chmodSync(s.sentinel, 0o640);
  mkdirSync(s.victim, 0o750);
  const inner = join(s.victim, 'inner');
  writeFileSync(inner, 'a file in the victim directory\n');
  if (hasSetfattr) {
    execFileSync('setfattr', ['-n', 'user.keep', '-v', 'sentinel', s.sentinel]);
    execFileSync('setfattr', ['-n', 'user.keep', '-v', 'inner', inner]);
    if (isRoot) execFileSync('setfattr', ['-n', 'trusted.keep', '-v', 'victim', s.victim]);
  }
  utimesSync(s.sentinel, 1_000_000, 1_000_000);
  utimesSync(inner, 1_500_000, 1_500_000);
  utimesSync(s.victim, 2_000_000, 2_000_000);
  if (uid !== process.getuid!()) {
    for (const p of [d, s.sentinel, s.victim, inner]) chownSync(p, uid, uid);
  }
  return s;
}

let images: string;
beforeAll(() => {
  images = mkdtempSync(join(tmpdir(), 'extract-hostile-images-'));
  chmodSync(images, 0o755); // readable by nobody
});
afterAll(() => rmSync(images, { recursive: true, force: true }));

/** Runs `erofs extract [flags] IMG out` as `uid`. */
function run(image: Uint8Array, s: Sandbox, uid: number, flags: string[]) {
  const img = join(images, createHash('sha256').update(image).digest('hex').slice(0, 16) + '.erofs');
  writeFileSync(img, image);
  chmodSync(img, 0o644);
  const opts = uid === process.getuid!() ? {} : { uid, gid: uid };
  return spawnSync(process.execPath, [BIN, 'extract', ...flags, img, s.out], { ...opts, encoding: 'utf8', cwd: '/' });
}

interface Case {
  name: string;
  image: (s: Sandbox) => Uint8Array;
  /** 0: extracted (then `check` looks at out/), 1: refused as corrupt. */
  status: 0 | 1;
  /** For refused images: what the one-line error must say. */
  error?: RegExp;
  check?: (s: Sandbox, uid: number) => void;
}

const E_UTF8 = '\xc3\xa9'; // é as UTF-8: what the old latin1 -> UTF-8 round trip turned \xe9 into
const E_LATIN1 = '\xe9';
const at = (s: Sandbox, name: string) => Buffer.concat([Buffer.from(s.out + '/'), b(name)]);

const cases: Case[] = [
  {
    name: 'a name and its UTF-8 re-encoding: symlinks to the sentinel and the victim beside a file, fifo, device, symlink and dir with xattrs and mode 7777',
    image: (s) => build(tree([
      [b('f' + E_UTF8), symlink(s.sentinel)],
      [b('f' + E_LATIN1), file('data', { mode: 0o7777, mtime: 0, xattrs: { 'user.evil': b('1'), 'trusted.evil': b('2') } })],
      [b('p' + E_UTF8), symlink(s.sentinel)],
      [b('p' + E_LATIN1), fifo({ mode: 0o7777, mtime: 0, xattrs: { 'trusted.evil': b('3') } })],
      [b('c' + E_UTF8), symlink(s.sentinel)],
      [b('c' + E_LATIN1), device('chardev', 1, 3, { mode: 0o7777, mtime: 0, xattrs: { 'trusted.evil': b('4') } })],
      [b('l' + E_UTF8), symlink(s.sentinel)],
      [b('l' + E_LATIN1), symlink('elsewhere', { mtime: 0, xattrs: { 'trusted.evil': b('5') } })],
      [b('d' + E_UTF8), symlink(s.victim)],
      [b('d' + E_LATIN1), dir({
        inner: file('x', { mode: 0o777, mtime: 0, xattrs: { 'user.evil': b('8') } }),
        newfifo: fifo({ mode: 0o777, mtime: 0, xattrs: { 'trusted.evil': b('9') } }),
      }, { mode: 0o7777, mtime: 0, xattrs: { 'user.evil': b('6'), 'trusted.evil': b('7') } })],
    ])),
    status: 0,
    check: (s, uid) => {
      for (const c of 'fpcld') expect(readlinkSync(at(s, c + E_UTF8), 'latin1'), c).toBe(c === 'd' ? s.victim : s.sentinel);
      const root = uid === 0;
      expect(readFileSync(at(s, 'f' + E_LATIN1), 'utf8')).toBe('data');
      expect(statSync(at(s, 'f' + E_LATIN1)).mode & 0o7777).toBe(root ? 0o7777 : 0o1777); // setuid/setgid only with --same-permissions as root
      expect(lstatSync(at(s, 'p' + E_LATIN1)).isFIFO()).toBe(true);
      expect(lstatSync(at(s, 'l' + E_LATIN1)).isSymbolicLink()).toBe(true);
      expect(readFileSync(Buffer.concat([at(s, 'd' + E_LATIN1), b('/inner')]), 'utf8')).toBe('x');
      if (root) {
        expect(lstatSync(at(s, 'c' + E_LATIN1)).isCharacterDevice()).toBe(true);
        if (hasSetfattr) {
          expect(xattrsOf(at(s, 'f' + E_LATIN1))).toEqual({ 'user.evil': 'MQ==', 'trusted.evil': 'Mg==' });
          expect(xattrsOf(at(s, 'p' + E_LATIN1))).toEqual({ 'trusted.evil': 'Mw==' });
          expect(xattrsOf(at(s, 'l' + E_LATIN1))).toEqual({ 'trusted.evil': 'NQ==' });
          expect(xattrsOf(at(s, 'd' + E_LATIN1))).toEqual({ 'user.evil': 'Ng==', 'trusted.evil': 'Nw==' });
          expect(xattrsOf(at(s, 'c' + E_LATIN1))).toEqual({ 'trusted.evil': 'NA==' });
        }
      } else {
        expect(existsSync(at(s, 'c' + E_LATIN1))).toBe(false);
      }
    },
  },
  {
    name: 'a symlink to the sentinel, then a fifo of the same non-ASCII name (patched duplicate)',
    image: (s) => patch(build(tree([[b('dup\xe91'), symlink(s.sentinel)], [b('dup\xe92'), fifo({ mode: 0o777, mtime: 0 })]])), 'dup\xe92', 'dup\xe91'),
    status: 1,
  },
  {
    name: 'a symlink to the victim directory, then a directory of the same name (patched duplicate) holding a file',
    image: (s) => patch(build(tree([['dupname1', symlink(s.victim)], ['dupname2', dir({ planted: file('x', { mode: 0o777 }) })]])), 'dupname2', 'dupname1'),
    status: 1,
  },
  {
    name: 'a symlink to the sentinel, then a file of the same name (patched duplicate)',
    image: (s) => patch(build(tree([['samename1', symlink(s.sentinel)], ['samename2', file('overwritten', { mode: 0o777, mtime: 0 })]])), 'samename2', 'samename1'),
    status: 1,
  },
  {
    name: 'a symlink to the sentinel, then a fifo of the same name (patched duplicate)',
    image: (s) => patch(build(tree([['fifoname1', symlink(s.sentinel)], ['fifoname2', fifo({ mode: 0o777, mtime: 0 })]])), 'fifoname2', 'fifoname1'),
    status: 1,
  },
  {
    name: 'names out of order: a directory after a symlink to the victim, sorted before it',
    image: (s) => patch(build(tree([['order1', dir({ planted: file('x') })], ['order2', symlink(s.victim)]])), 'order1', 'order3'),
    status: 1,
  },
  {
    name: 'a name with "/" through a symlink to the victim directory',
    image: (s) => patch(build(tree([['ev', symlink(s.victim)], ['evXplanted', file('x', { mode: 0o777 })]])), 'evXplanted', 'ev/planted'),
    status: 1,
    error: /name contains "\/" or NUL/,
  },
  {
    name: 'a symlink to the victim named ".." (patched) after the real ".."',
    image: (s) => patch(build(tree([['q', dir({ yy: symlink(s.victim), zzfile: file('x') })]])), 'yy', '..'),
    status: 1,
  },
  {
    name: 'a file named "." (patched) in a directory',
    image: () => patch(build(tree([['q', dir({ 'Q': file('x', { mode: 0o777 }) })]])), 'Q', '.'),
    status: 1,
  },
];

const users = isRoot ? [0, NOBODY] : [process.getuid!()];

describe('erofs extract: nothing outside DIR is created, followed or changed', () => {
  for (const uid of users) {
    for (const c of cases) {
      it(`as uid ${uid}: ${c.name}`, () => {
        const s = makeSandbox(uid);
        try {
          const image = c.image(s);
          const before = snapshot(s);
          const r = run(image, s, uid, ['--same-permissions', '--devices']);
          expect(r.status, r.stderr).toBe(c.status);
          if (c.status === 1) expect(r.stderr).toMatch(new RegExp('EUCLEAN: dirent of directory .*' + (c.error ?? /names are not sorted and unique/).source));
          expect(r.stderr).not.toMatch(/internal error/);
          const after = snapshot(s);
          expect({ ...(after as object), sandbox: (after as { sandbox: string[] }).sandbox.filter((n) => n !== Buffer.from('out').toString('hex')) })
            .toEqual({ ...(before as object) });
          c.check?.(s, uid);
        } finally {
          rmSync(s.dir, { recursive: true, force: true });
        }
      });
    }
  }
});
