/**
 * Model-based test of the VFS with fast-check commands: random sequences of lookups,
 * single-step lookups, opens, reads at random offsets, getdents64 with random buffer
 * sizes and seeks, closes, releases and cache shrinks, run against a model built from
 * the kernel's manifest of the image. After every step the dentry cache invariants are
 * checked: at most N unreferenced dentries cached, nothing referenced ever evicted, every
 * reference count equal to its holders (caller holds, open descriptions, attached
 * children, the filesystem's hold on the root), one inode per NID with one reference per
 * dentry; after everything is released all counts are zero.
 *
 * Every answer is compared with the kernel's manifest, not with our own code: a lookup or
 * an open reaches the inode number the kernel reported for that path, sizes are the
 * manifest's, and read bytes are slices of a file's content whose sha256 equals the
 * manifest's (read once per file by the decoder and checked against that hash).
 *
 * The seed is printed; rerun one with FC_SEED=<seed> (FC_RUNS=k multiplies the runs).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Filesystem,
  ROOT,
  direntSize,
  parseDirents,
  resolve,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  SEEK_SET,
  SysError,
  type Dentry,
  type FileDescription,
} from '@erofs-js/vfs';
import { createHash } from 'node:crypto';
import type { Image } from '@erofs-js/erofs';
import { FIXTURES, nodeAt, openFixture, readJsonl } from './fixtures.js';
import { fcRuns } from './fc-runs.js';

interface Rec {
  path?: string;
  path_b64?: string;
  type: string;
  mode: number;
  size: number;
  ino: number;
  sha256?: string;
}

const utf8 = new TextEncoder();
const bytesOf = (r: { path?: string; path_b64?: string }) => (r.path !== undefined ? utf8.encode(r.path) : new Uint8Array(Buffer.from(r.path_b64!, 'base64')));
const latin = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** What the manifest says about an image: paths, and each directory's listing in getdents order. */
class Truth {
  readonly recs: Rec[];
  readonly paths: Uint8Array[];
  readonly byPath = new Map<string, Rec>();
  /** Directory path -> names in getdents order, "." and ".." included, each with its record size. */
  readonly listing = new Map<string, string[]>();

  private readonly image: Image;
  private readonly contents = new Map<string, Uint8Array>();

  constructor(image: string, readonly dotOmitted: boolean) {
    this.image = openFixture(image);
    const base = FIXTURES + image.replace(/\.erofs$/, '');
    this.recs = readJsonl<Rec>(base + '.manifest.jsonl');
    this.paths = this.recs.map(bytesOf);
    this.recs.forEach((r, i) => this.byPath.set(latin(this.paths[i]), r));
    for (const t of readJsonl<{ path?: string; path_b64?: string; entries?: string[]; entries_b64?: string[] }>(base + '.readdir.jsonl')) {
      const names = t.entries ? t.entries.map((s) => latin(utf8.encode(s))) : t.entries_b64!.map((s) => Buffer.from(s, 'base64').toString('latin1'));
      // On-disk order is bytewise: "." and ".." sit among the other names; without a
      // stored "." (DOT_OMITTED) Linux lists one after everything else.
      const all = [...names, '..', ...(dotOmitted ? [] : ['.'])].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
      if (dotOmitted) all.push('.');
      this.listing.set(latin(bytesOf(t)), all);
    }
  }

  /**
   * A regular file's content, known to be the kernel's: decoded once from a separate open
   * of the image and accepted only if its length and sha256 are the manifest's.
   */
  content(path: string): Uint8Array {
    let c = this.contents.get(path);
    if (!c) {
      const rec = this.byPath.get(path)!;
      c = new Uint8Array(rec.size);
      this.image.read(nodeAt(this.image, Buffer.from(path, 'latin1')), 0, c);
      expect(createHash('sha256').update(c).digest('hex'), `${path}: decoded content against the manifest's sha256`).toBe(rec.sha256);
      this.contents.set(path, c);
    }
    return c;
  }
}

interface FdModel {
  path: string;
  kind: 'file' | 'dir' | 'path';
  /** Directories: index of the next entry getdents returns. */
  cursor: number;
}

interface Model {
  truth: Truth;
  holds: string[];
  fds: FdModel[];
  /** d_off seen per directory entry ("dir\0name" -> d_off): a seek target with a known outcome. */
  offs: Map<string, number>;
}

interface Real {
  fs: Filesystem;
  holds: Dentry[];
  fds: FileDescription[];
  n: number;
}

const key = (dir: string, name: string) => dir + '\0' + name;

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof SysError) {
      expect(e.code).toBe(code);
      return;
    }
    throw e;
  }
  throw new Error(`expected ${code}`);
}

/** Every invariant of the dentry tree, the LRU list and the inode table. */
function checkInvariants(r: Real): void {
  const { fs } = r;
  const st = fs.stats();
  expect(st.dentriesCached).toBeLessThanOrEqual(r.n);
  const external = new Map<Dentry, number>();
  for (const d of r.holds) external.set(d, (external.get(d) ?? 0) + 1);
  for (const f of r.fds) external.set(f.dentry, (external.get(f.dentry) ?? 0) + 1);
  for (const d of external.keys()) {
    expect(d.dead, 'a referenced dentry was evicted').toBe(false);
  }
  const inodeRefs = new Map<number, number>();
  let live = 0;
  let parked = 0;
  const stack: Dentry[] = [fs.root];
  while (stack.length) {
    const d = stack.pop()!;
    live++;
    if (d.parked) parked++;
    expect(d.dead).toBe(false);
    const children = d.children ? [...d.children.values()] : [];
    for (const c of children) {
      expect(c.parent).toBe(d);
      stack.push(c);
    }
    const expected = (external.get(d) ?? 0) + children.length + (d === fs.root ? 1 : 0);
    expect(d.refs, `refs of ${latin(d.path())}`).toBe(expected);
    expect(d.parked).toBe(d.refs === 0);
    inodeRefs.set(d.inode.nid, (inodeRefs.get(d.inode.nid) ?? 0) + 1);
  }
  expect(live).toBe(st.dentriesCached + st.dentriesPinned);
  expect(parked).toBe(st.dentriesCached);
  expect(st.inodesLive).toBe(inodeRefs.size);
  for (const [nid, n] of inodeRefs) expect(fs.liveInode(nid)!.refs).toBe(n);
}

type Cmd = fc.Command<Model, Real>;

class LookupPath implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const path = m.truth.paths[this.i % m.truth.paths.length];
    const d = resolve(r.fs, path, ROOT, { follow: false });
    const rec = m.truth.byPath.get(latin(path))!;
    const st = r.fs.stat(d);
    expect([st.ino, st.mode, st.size]).toEqual([rec.ino, rec.mode, rec.size]);
    r.holds.push(d);
    m.holds.push(latin(path));
  }
  toString = () => `lookupPath(${this.i})`;
}

/** One step from a held directory: a listed name, "..", or a name that is not there. */
class LookupStep implements Cmd {
  constructor(readonly h: number, readonly pick: number, readonly miss: boolean) {}
  check = (m: Readonly<Model>) => m.holds.some((p) => m.truth.byPath.get(p)!.type === 'dir');
  run(m: Model, r: Real): void {
    const dirs = m.holds.map((p, i) => [p, i] as const).filter(([p]) => m.truth.byPath.get(p)!.type === 'dir');
    const [dirPath, hi] = dirs[this.h % dirs.length];
    const parent = r.holds[hi];
    const names = m.truth.listing.get(dirPath)!;
    if (this.miss) {
      expectCode(() => r.fs.lookup(parent, 'no-such-name-' + this.pick, ROOT), 'ENOENT');
      return;
    }
    const name = names[this.pick % names.length];
    const d = r.fs.lookup(parent, Buffer.from(name, 'latin1'), ROOT);
    let childPath: string;
    if (name === '.') childPath = dirPath;
    else if (name === '..') childPath = dirPath === '/' ? '/' : dirPath.slice(0, Math.max(1, dirPath.lastIndexOf('/')));
    else childPath = (dirPath === '/' ? '' : dirPath) + '/' + name;
    expect(r.fs.stat(d).ino).toBe(m.truth.byPath.get(childPath)!.ino);
    r.holds.push(d);
    m.holds.push(childPath);
  }
  toString = () => `lookupStep(${this.h}, ${this.pick}, ${this.miss})`;
}

class Release implements Cmd {
  constructor(readonly h: number) {}
  check = (m: Readonly<Model>) => m.holds.length > 0;
  run(m: Model, r: Real): void {
    const i = this.h % m.holds.length;
    r.holds[i].decRef();
    r.holds.splice(i, 1);
    m.holds.splice(i, 1);
  }
  toString = () => `release(${this.h})`;
}

class Open implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const path = m.truth.paths[this.i % m.truth.paths.length];
    const rec = m.truth.byPath.get(latin(path))!;
    const d = resolve(r.fs, path, ROOT, { follow: false });
    try {
      let f: FileDescription;
      if (rec.type === 'file') f = r.fs.open(d, O_RDONLY, ROOT);
      else if (rec.type === 'dir') f = r.fs.open(d, O_RDONLY | O_DIRECTORY, ROOT);
      else if (rec.type === 'symlink') {
        expectCode(() => r.fs.open(d, O_RDONLY, ROOT), 'ELOOP');
        f = r.fs.open(d, O_PATH | O_NOFOLLOW, ROOT);
      } else {
        expectCode(() => r.fs.open(d, O_RDONLY, ROOT), 'ENXIO');
        f = r.fs.open(d, O_PATH, ROOT);
      }
      // The description reached the inode the kernel reported for this path.
      expect([f.stat().ino, f.stat().size], `open ${latin(path)}`).toEqual([rec.ino, rec.size]);
      r.fds.push(f);
      m.fds.push({ path: latin(path), kind: f.kind, cursor: 0 });
    } finally {
      d.decRef();
    }
  }
  toString = () => `open(${this.i})`;
}

class Close implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.fds.length > 0;
  run(m: Model, r: Real): void {
    const i = this.k % m.fds.length;
    r.fds[i].close();
    expectCode(() => r.fds[i].close(), 'EBADF');
    r.fds.splice(i, 1);
    m.fds.splice(i, 1);
  }
  toString = () => `close(${this.k})`;
}

class Read implements Cmd {
  constructor(readonly k: number, readonly at: number, readonly len: number) {}
  check = (m: Readonly<Model>) => m.fds.some((f) => f.kind === 'file');
  run(m: Model, r: Real): void {
    const files = m.fds.map((f, i) => [f, i] as const).filter(([f]) => f.kind === 'file');
    const [fm, i] = files[this.k % files.length];
    const f = r.fds[i];
    const truth = m.truth.content(fm.path);
    const size = truth.length;
    const at = size ? this.at % (size + 2) : this.at % 3;
    const buf = new Uint8Array(this.len);
    const n = f.pread(buf, at);
    expect(n).toBe(Math.max(0, Math.min(this.len, size - at)));
    bytesChecked += n;
    if (Buffer.compare(buf.subarray(0, n), truth.subarray(at, at + n)) !== 0) {
      throw new Error(`${fm.path}: ${n} bytes at ${at} differ from the content the manifest's sha256 vouches for`);
    }
  }
  toString = () => `read(${this.k}, ${this.at}, ${this.len})`;
}

class Getdents implements Cmd {
  constructor(readonly k: number, readonly bufSize: number) {}
  check = (m: Readonly<Model>) => m.fds.some((f) => f.kind === 'dir');
  run(m: Model, r: Real): void {
    const dirs = m.fds.map((f, i) => [f, i] as const).filter(([f]) => f.kind === 'dir');
    const [fm, i] = dirs[this.k % dirs.length];
    const names = m.truth.listing.get(fm.path)!;
    const buf = new Uint8Array(this.bufSize);
    if (fm.cursor < names.length && direntSize(names[fm.cursor].length) > this.bufSize) {
      expectCode(() => r.fds[i].getdents64(buf), 'EINVAL');
      return;
    }
    const n = r.fds[i].getdents64(buf);
    const recs = parseDirents(buf, n);
    // As many records as fit, in the kernel's order.
    let fit = 0;
    let bytes = 0;
    while (fm.cursor + fit < names.length && bytes + direntSize(names[fm.cursor + fit].length) <= this.bufSize) bytes += direntSize(names[fm.cursor + fit++].length);
    expect(recs.map((e) => latin(e.name))).toEqual(names.slice(fm.cursor, fm.cursor + fit));
    for (const e of recs) {
      const k = key(fm.path, latin(e.name));
      const seen = m.offs.get(k);
      if (seen !== undefined) expect(e.off).toBe(seen);
      m.offs.set(k, e.off);
    }
    fm.cursor += fit;
    if (fm.cursor === names.length) expect(r.fds[i].offset).toBeGreaterThanOrEqual(r.fds[i].stat().size);
  }
  toString = () => `getdents(${this.k}, ${this.bufSize})`;
}

/** Seek a directory to its start, its end, or the d_off of an entry seen before. */
class SeekDir implements Cmd {
  constructor(readonly k: number, readonly pick: number) {}
  check = (m: Readonly<Model>) => m.fds.some((f) => f.kind === 'dir');
  run(m: Model, r: Real): void {
    const dirs = m.fds.map((f, i) => [f, i] as const).filter(([f]) => f.kind === 'dir');
    const [fm, i] = dirs[this.k % dirs.length];
    const names = m.truth.listing.get(fm.path)!;
    const known = names.map((n, j) => [m.offs.get(key(fm.path, n)), j] as const).filter(([o]) => o !== undefined);
    const choice = this.pick % (known.length + 2);
    if (choice === 0) {
      r.fds[i].lseek(0, SEEK_SET);
      fm.cursor = 0;
    } else if (choice === 1) {
      // At i_size only a synthesized "." (DOT_OMITTED) is left.
      r.fds[i].lseek(r.fds[i].stat().size, SEEK_SET);
      fm.cursor = m.truth.dotOmitted ? names.length - 1 : names.length;
    } else {
      const [off, j] = known[choice - 2];
      r.fds[i].lseek(off!, SEEK_SET);
      fm.cursor = j + 1;
    }
  }
  toString = () => `seekDir(${this.k}, ${this.pick})`;
}

class Shrink implements Cmd {
  check = () => true;
  run(_m: Model, r: Real): void {
    r.fs.shrink();
    expect(r.fs.stats().dentriesCached).toBe(0);
  }
  toString = () => 'shrink()';
}

const commands = [
  fc.nat().map((i) => new LookupPath(i)),
  fc.tuple(fc.nat(), fc.nat(), fc.boolean()).map(([h, p, miss]) => new LookupStep(h, p, miss)),
  fc.nat().map((h) => new Release(h)),
  fc.nat().map((i) => new Open(i)),
  fc.nat().map((k) => new Close(k)),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 20000 })).map(([k, at, len]) => new Read(k, at, len)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 1200 })).map(([k, b]) => new Getdents(k, b)),
  fc.tuple(fc.nat(), fc.nat()).map(([k, p]) => new SeekDir(k, p)),
  fc.constant(new Shrink()),
];

let executed = 0;
let bytesChecked = 0;
const { runs } = fcRuns('vfs-model');

describe('VFS against a model of the manifest', () => {
  for (const image of ['basic-18-b512.erofs', 'rootfs-18.erofs', 'basic-19-dotomitted.erofs']) {
    it(`${image}: random command sequences keep the cache invariants`, () => {
      const truth = new Truth(image, image.includes('dotomitted'));
      executed = 0;
      bytesChecked = 0;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 6 }), fc.commands(commands, { maxCommands: 100, size: 'max' }), (n, cmds) => {
          const fs = new Filesystem(openFixture(image), { dentryCacheSize: n, negativeCacheSize: 4, dirCacheEntries: 64 });
          const real: Real = { fs, holds: [], fds: [], n };
          const model: Model = { truth, holds: [], fds: [], offs: new Map() };
          fc.modelRun(
            () => ({ model, real }),
            [...cmds].map((c) => ({
              check: (m: Readonly<Model>) => c.check(m),
              run: (m: Model, r: Real) => {
                c.run(m, r);
                executed++;
                checkInvariants(r);
              },
              toString: () => c.toString(),
            })),
          );
          // Release everything: all counts go to zero.
          for (const f of real.fds) f.close();
          for (const d of real.holds) d.decRef();
          real.fds = [];
          real.holds = [];
          checkInvariants(real);
          fs.release();
          expect(fs.stats()).toMatchObject({ dentriesCached: 0, dentriesPinned: 0, inodesLive: 0 });
          expect(fs.root.refs).toBe(0);
        }),
        runs(100),
      );
      console.log(`vfs-model ${image}: ${executed} commands executed, ${bytesChecked} bytes read and compared`);
      expect(bytesChecked).toBeGreaterThan(0);
    });
  }
});
