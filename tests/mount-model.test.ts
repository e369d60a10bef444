/**
 * Model-based test of the mount namespace: three fixture images mounted, stacked,
 * used and unmounted (plainly and lazily) in random orders through the host controller,
 * checked after every step against a small model of the mount tree built from the
 * kernel's manifests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { O_DIRECTORY, SysError, credentials, parseDirents } from '@erofs-js/vfs';
import { HostController, type Mount, type Task } from '@erofs-js/mount/node';
import { FIXTURES, readJsonl } from './fixtures.js';
import { fcRuns } from './fc-runs.js';

const IMAGES = ['rootfs-18.erofs', 'z-lz4hc-18.erofs', 'basic-18.erofs'] as const;
type ImageName = (typeof IMAGES)[number];

interface Entry {
  path: string;
  type: string;
  ino: number;
}

/** path -> entry, per image, from the kernel's manifests. */
const TREES = new Map<string, Map<string, Entry>>();
for (const img of IMAGES) {
  const m = new Map<string, Entry>();
  for (const e of readJsonl<Entry>(FIXTURES + img.replace('.erofs', '.manifest.jsonl'))) if (typeof e.path === 'string') m.set(e.path, e);
  TREES.set(img, m);
}
/** Top-level directories of each image. */
const TOP_DIRS = new Map<string, string[]>(
  IMAGES.map((img) => [img, [...TREES.get(img)!.values()].filter((e) => e.type === 'dir' && e.path.lastIndexOf('/') === 0 && e.path !== '/').map((e) => e.path.slice(1))]),
);
const SYNTH = new Map<string, Entry>([
  ['/', { path: '/', type: 'dir', ino: 1 }],
  ['/a', { path: '/a', type: 'dir', ino: 2 }],
  ['/b', { path: '/b', type: 'dir', ino: 3 }],
]);

/** Targets: synthetic dirs, directories of some images, a path that never exists. */
const TARGETS = ['/', '/a', '/b', '/a/etc', '/a/usr', '/a/usr/lib', '/a/text', '/a/files', '/b/links', '/b/etc', '/b/text', '/b/deep', '/b/files/size-1', '/c'];

interface MMount {
  id: number;
  image: ImageName | null;
  parent: MMount | null;
  /** Mount point: a directory path in the parent's filesystem. */
  mp: string;
  children: Map<string, MMount>;
  state: 'attached' | 'detached' | 'released';
  users: number;
  real: Mount;
}

type Loc = { m: MMount; p: string };

const join = (p: string, c: string) => (p === '/' ? '/' + c : p + '/' + c);
const treeOf = (m: MMount) => (m.image ? TREES.get(m.image)! : SYNTH);

class Model {
  root: MMount;
  nextId = 2;
  all: MMount[] = [];

  constructor(real: Mount) {
    this.root = { id: 1, image: null, parent: null, mp: '/', children: new Map(), state: 'attached', users: 0, real };
    this.all.push(this.root);
  }

  /** Resolves an absolute path made of plain names (no symlinks on the way). */
  resolve(path: string): Loc | string {
    let m = this.root;
    let p = '/';
    for (const comp of path.split('/').filter(Boolean)) {
      const here = treeOf(m).get(p)!;
      if (here.type !== 'dir') return 'ENOTDIR';
      const q = join(p, comp);
      const e = treeOf(m).get(q);
      if (!e) return 'ENOENT';
      if (e.type === 'symlink') throw new Error(`test design: ${path} crosses a symlink`);
      p = q;
      for (let c = m.children.get(p); c; c = m.children.get(p)) {
        m = c;
        p = '/';
      }
    }
    return { m, p };
  }

  pathOf(m: MMount): string {
    const parts: string[] = [];
    for (let x = m; x.parent; x = x.parent) parts.unshift(x.mp === '/' ? '' : x.mp);
    const s = parts.join('');
    return s === '' ? '/' : s;
  }

  attached(): MMount[] {
    return this.all.filter((m) => m.state === 'attached');
  }

  maybeRelease(m: MMount): void {
    if (m.state !== 'detached' || m.users > 0 || m.parent) return;
    const kids = [...m.children.values()];
    m.children.clear();
    for (const k of kids) k.parent = null;
    m.state = 'released';
    for (const k of kids) this.maybeRelease(k);
  }

  put(m: MMount): void {
    m.users--;
    this.maybeRelease(m);
  }
}

/**
 * A target is either one of TARGETS or, when `pick` is given, the mount point of the
 * pick-th mount attached at that moment (so that stacking and unmounting happen often).
 */
type Target = { path: string; pick?: number; inner?: number };
type Cmd =
  | { op: 'mount'; image: number; target: Target }
  | { op: 'unmount'; target: Target; lazy: boolean }
  | { op: 'open'; target: Target }
  | { op: 'close'; pick: number }
  | { op: 'chdir'; target: Target };

const target = (mountBias: number): fc.Arbitrary<Target> =>
  fc.oneof(
    { weight: 10 - mountBias, arbitrary: fc.record({ path: fc.constantFrom(...TARGETS, '/a', '/b', '/a', '/b', ...TARGETS.filter((t) => t.length > 2)) }) },
    { weight: mountBias, arbitrary: fc.record({ path: fc.constantFrom(...TARGETS), pick: fc.nat() }) },
  );
/** Or a top-level directory of the pick-th mount's image (mounts below mounts). */
const inner: fc.Arbitrary<Target> = fc.record({ path: fc.constantFrom(...TARGETS), pick: fc.nat(), inner: fc.nat() });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('mount' as const), image: fc.integer({ min: 0, max: 2 }), target: target(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mount' as const), image: fc.integer({ min: 0, max: 2 }), target: inner }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('unmount' as const), target: target(8), lazy: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open' as const), target: target(7) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chdir' as const), target: target(7) }) },
);

/** Counts of what the runs exercised, to keep the generator honest. */
const seen: Record<string, number> = {};
const saw = (what: string) => (seen[what] = (seen[what] ?? 0) + 1);

function errnoOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

async function errnoOfAsync(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

function names(task: Task, fd: number): string[] {
  const buf = new Uint8Array(8192);
  const out: string[] = [];
  let n: number;
  task.lseek(fd, 0, 0);
  // The model keeps the manifests' text paths only (line 26), so non-UTF-8 names are left
  // out here as well; the conformance tests compare those byte for byte.
  const strict = new TextDecoder('utf-8', { fatal: true });
  while ((n = task.getdents64(fd, buf)) > 0) {
    for (const d of parseDirents(buf, n)) {
      try {
        out.push(strict.decode(d.name));
      } catch {
        // not UTF-8
      }
    }
  }
  return out.filter((x) => x !== '.' && x !== '..').sort();
}

function childrenOf(m: MMount, p: string): string[] {
  const out: string[] = [];
  const prefix = p === '/' ? '/' : p + '/';
  for (const k of treeOf(m).keys()) if (k !== '/' && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')) out.push(k.slice(prefix.length));
  return out.sort();
}

async function run(cmds: Cmd[]): Promise<void> {
  saw('run');
  const c = await HostController.create({ mkdirs: ['/a', '/b'] });
  const model = new Model(c.ns.root);
  const task = c.task({ creds: credentials(0, 0) });
  let cwd: Loc = { m: model.root, p: '/' };
  model.root.users += 2; // the task's root and cwd
  const fds: { fd: number; loc: Loc }[] = [];

  const check = () => {
    // The mount table: ids, parents, mount points.
    expect(c.list().map((r) => [r.id, r.parentId, r.target])).toEqual(model.attached().map((m) => [m.id, m.parent ? m.parent.id : m.id, model.pathOf(m)]));
    for (const m of model.all) {
      expect(m.real.state, `state of mount ${m.id}`).toBe(m.state);
      if (m.state !== 'released') expect(m.real.users, `users of mount ${m.id}`).toBe(m.users);
    }
    // What every target resolves to.
    for (const t of TARGETS) {
      const want = model.resolve(t);
      let st: ReturnType<Task['stat']> | undefined;
      const got = errnoOf(() => (st = task.stat(t)));
      if (typeof want === 'string') {
        expect(got, t).toBe(want);
      } else {
        expect(got, t).toBeNull();
        expect(st!.dev, `dev of ${t}`).toBe(want.m.real.dev);
        expect(st!.ino, `ino of ${t}`).toBe(treeOf(want.m).get(want.p)!.ino);
      }
    }
    // Open descriptions keep seeing their own directory, mounted or not.
    for (const { fd, loc } of fds) expect(task.fstat(fd).ino).toBe(treeOf(loc.m).get(loc.p)!.ino);
  };

  const pathOf = (t: Target): string => {
    const mounted = model.attached().filter((m) => m !== model.root);
    if (t.pick === undefined || !mounted.length) return t.path;
    const m = mounted[t.pick % mounted.length];
    if (t.inner === undefined) return model.pathOf(m);
    const dirs = TOP_DIRS.get(m.image!)!;
    return model.pathOf(m) + '/' + dirs[t.inner % dirs.length];
  };
  try {
    for (const raw of cmds) {
      const k = 'target' in raw ? { ...raw, target: pathOf(raw.target) } : raw;
      saw('cmd:' + k.op);
      switch (k.op) {
        case 'mount': {
          const image = IMAGES[k.image];
          const want = model.resolve(k.target);
          const p = c.mount({ image: FIXTURES + image, target: k.target });
          if (typeof want === 'string') {
            expect(await errnoOfAsync(p), `mount at ${k.target}`).toBe(want);
          } else if (want.m === model.root && want.p === '/') {
            expect(await errnoOfAsync(p)).toBe('EBUSY');
          } else if (treeOf(want.m).get(want.p)!.type !== 'dir') {
            expect(await errnoOfAsync(p)).toBe('ENOTDIR');
          } else {
            const rec = await p;
            saw(want.p === '/' ? 'stacked mount' : 'mount');
            expect(rec.id).toBe(model.nextId);
            const mm: MMount = { id: model.nextId++, image, parent: want.m, mp: want.p, children: new Map(), state: 'attached', users: 0, real: c.ns.mountById(rec.id)! };
            want.m.children.set(want.p, mm);
            model.all.push(mm);
          }
          break;
        }
        case 'unmount': {
          const want = model.resolve(k.target);
          const got = errnoOf(() => c.unmount({ target: k.target, detach: k.lazy }));
          if (typeof want === 'string') {
            expect(got).toBe(want);
            break;
          }
          const m = want.m;
          if (want.p !== '/' || m === model.root) {
            expect(got).toBe('EINVAL');
            break;
          }
          if (!k.lazy && (m.users > 0 || m.children.size > 0)) {
            saw(m.children.size ? 'EBUSY (mounts below)' : 'EBUSY (users)');
            expect(got).toBe('EBUSY');
            break;
          }
          saw(k.lazy ? (m.users || m.children.size ? 'lazy unmount in use' : 'lazy unmount') : 'unmount');
          expect(got).toBeNull();
          m.parent!.children.delete(m.mp);
          m.parent = null;
          if (!k.lazy) {
            m.state = 'released';
          } else {
            const stack = [m];
            while (stack.length) {
              const x = stack.pop()!;
              x.state = 'detached';
              stack.push(...x.children.values());
            }
            model.maybeRelease(m);
          }
          break;
        }
        case 'open': {
          if (fds.length >= 6) break;
          const want = model.resolve(k.target);
          let fd = -1;
          const got = errnoOf(() => (fd = task.open(k.target, O_DIRECTORY)));
          if (typeof want === 'string') expect(got).toBe(want);
          else if (treeOf(want.m).get(want.p)!.type !== 'dir') expect(got).toBe('ENOTDIR');
          else {
            expect(got).toBeNull();
            want.m.users++;
            fds.push({ fd, loc: want });
            expect(names(task, fd)).toEqual(childrenOf(want.m, want.p));
          }
          break;
        }
        case 'close': {
          if (!fds.length) break;
          const [{ fd, loc }] = fds.splice(k.pick % fds.length, 1);
          expect(names(task, fd)).toEqual(childrenOf(loc.m, loc.p));
          task.close(fd);
          model.put(loc.m);
          break;
        }
        case 'chdir': {
          const want = model.resolve(k.target);
          const got = errnoOf(() => task.chdir(k.target));
          if (typeof want === 'string') expect(got).toBe(want);
          else if (treeOf(want.m).get(want.p)!.type !== 'dir') expect(got).toBe('ENOTDIR');
          else {
            expect(got).toBeNull();
            want.m.users++;
            const old = cwd;
            cwd = want;
            model.put(old.m);
          }
          break;
        }
      }
      check();
    }
    // Let go of everything: every mount must end up released.
    for (const { fd } of fds) task.close(fd);
    task.exit();
    c.close();
    for (const m of model.all) expect(m.real.state, `mount ${m.id} after shutdown`).toBe('released');
    expect(c.ns.detached()).toEqual([]);
  } finally {
    c.close();
  }
}

const { runs, scale } = fcRuns('mount model');

describe('mount namespace against a model of the mount tree', () => {
  it('three images mounted, stacked, used and unmounted in random orders', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 8, maxLength: 40, size: 'max' }), (cmds) => run(cmds)),
      runs(200),
    );
    // Floors at about half of what the generator gives at its worst over many seeds.
    const least: Record<string, number> = { mount: 200, 'stacked mount': 80, unmount: 30, 'lazy unmount': 35, 'lazy unmount in use': 25, 'EBUSY (users)': 12, 'EBUSY (mounts below)': 12 };
    // (for 200 runs; FC_RUNS scales them with the runs)
    for (const [what, n] of Object.entries(least)) expect(seen[what] ?? 0, `${what} happened too rarely: ${JSON.stringify(seen)}`).toBeGreaterThanOrEqual(Math.floor(n * Math.min(1, scale)));
  });

  it('a fixed scenario: stack three images on one directory and peel them off', async () => {
    const t = (path: string) => ({ path });
    await run([
      { op: 'mount', image: 2, target: t('/a') },
      { op: 'mount', image: 1, target: t('/a') },
      { op: 'mount', image: 0, target: t('/a') },
      { op: 'open', target: t('/a/usr') },
      { op: 'chdir', target: t('/a/etc') },
      { op: 'unmount', target: t('/a'), lazy: false },
      { op: 'unmount', target: t('/a'), lazy: true },
      { op: 'unmount', target: t('/a'), lazy: false },
      { op: 'mount', image: 0, target: t('/a/files') },
      { op: 'unmount', target: t('/a'), lazy: false },
      { op: 'unmount', target: t('/a'), lazy: true },
      { op: 'chdir', target: t('/b') },
      { op: 'close', pick: 0 },
    ]);
  });
});
