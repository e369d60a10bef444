/**
 * Checkpoint / restore of overlays: an overlay root and an overlay mount, changed by a
 * guest (copy-ups, whiteouts, new files, an opaque directory, open descriptions), saved to
 * JSON and restored from it. The restored namespace must show the same merged trees (names,
 * types, modes, sizes, contents, st_dev/st_ino), the same mountinfo and the same open
 * descriptions at their positions; the layers are checked against their recorded
 * identities, and hostile overlay sections are refused.
 */
import { describe, expect, it } from 'vitest';
import { buildImage, device, dir, file, symlink } from '@erofs-js/mkfs';
import { AT_FDCWD, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_WRONLY, parseDirents, type Stat } from '@erofs-js/vfs';
import { CheckpointError, HostController, allowImages, parseCheckpoint, type Checkpoint, type Task } from '@erofs-js/mount';

const T = 1700000000;
const base = buildImage(
  dir({
    etc: dir({ passwd: file('root:x:0:0\n', { mtime: T }), hostname: file('base\n', { mtime: T }), motd: file('hello\n', { mtime: T }) }, { mtime: T }),
    bin: dir({ sh: file('#!sh\n', { mode: 0o755, mtime: T }) }, { mtime: T }),
    usr: dir({ lib: dir({ x: file('x', { mtime: T }), y: file('y', { mtime: T }) }, { mtime: T }) }, { mtime: T }),
    mnt: dir({}, { mtime: T }),
  }),
  { uuid: new Uint8Array(16).fill(1) },
);
const app = buildImage(
  dir({
    etc: dir({ hostname: file('app\n', { mtime: T + 1 }) }, { mtime: T + 1 }),
    usr: dir({ lib: dir({ x: device('chardev', 0, 0, { mode: 0 }) }, { mtime: T + 1 }) }, { mtime: T + 1 }),
    app: dir({ run: file('#!run\n', { mode: 0o755 }), link: symlink('run') }),
  }),
  { uuid: new Uint8Array(16).fill(2) },
);
const other = buildImage(dir({ etc: dir({ hostname: file('other\n') }) }), { uuid: new Uint8Array(16).fill(3) });

const enc = new TextEncoder();
const dec = new TextDecoder();
const IMAGES = { 'base.erofs': { bytes: base, name: 'base.erofs' }, 'app.erofs': { bytes: app, name: 'app.erofs' } };

function readFd(t: Task, fd: number, n = 4096): string {
  const buf = new Uint8Array(n);
  return dec.decode(buf.subarray(0, t.read(fd, buf)));
}

function readAll(t: Task, path: string): string {
  const fd = t.open(path, O_RDONLY);
  try {
    return readFd(t, fd);
  } finally {
    t.close(fd);
  }
}

/** Names from a directory description, `calls` getdents64 calls of `bufSize` bytes at most. */
function dirents(t: Task, fd: number, bufSize = 4096, calls = Infinity): string[] {
  const buf = new Uint8Array(bufSize);
  const out: string[] = [];
  for (let i = 0; i < calls; i++) {
    const n = t.getdents64(fd, buf);
    if (n === 0) break;
    for (const d of parseDirents(buf, n)) out.push(dec.decode(d.name));
  }
  return out;
}

function names(t: Task, path: string): string[] {
  const fd = t.open(path, O_RDONLY | O_DIRECTORY);
  try {
    return dirents(t, fd).filter((n) => n !== '.' && n !== '..');
  } finally {
    t.close(fd);
  }
}

/** The merged tree under `path`: each name with its type, mode, size, st_dev/st_ino, nlink and content. */
function manifest(t: Task, path: string): string[] {
  const out: string[] = [];
  const link = new Uint8Array(4096);
  const walk = (p: string) => {
    for (const n of names(t, p).sort()) {
      const q = `${p === '/' ? '' : p}/${n}`;
      let s: Stat;
      try {
        s = t.lstat(q);
      } catch (e) {
        // A whiteout in the lowest layer of a directory no other layer has: listed, not
        // found (so Linux answers, its real directory being read through).
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        out.push(`${q} ENOENT`);
        continue;
      }
      const kind = s.mode & 0o170000;
      let extra = '';
      if (kind === 0o100000) extra = JSON.stringify(readAll(t, q));
      else if (kind === 0o120000) extra = dec.decode(link.subarray(0, t.readlinkat(AT_FDCWD, q, link)));
      out.push(`${q} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.size} ${s.dev}:${s.ino} n${s.nlink} ${extra}`);
      if (kind === 0o040000) walk(q);
    }
  };
  walk(path);
  return out;
}

async function start(): Promise<HostController> {
  const c = await HostController.create({
    rootfs: { layers: [{ bytes: base, name: 'base.erofs' }, { bytes: app, name: 'app.erofs' }], upper: { type: 'tmpfs', size: '8m' } },
  });
  await c.mount({ type: 'overlay', target: '/mnt', layers: [{ bytes: app, name: 'app.erofs' }], upper: { size: '1m', nr_inodes: 100 } });
  return c;
}

/** A guest's changes: copy-ups, whiteouts over a file and a directory, an opaque directory, new files. */
function change(t: Task): { fds: number[] } {
  t.unlink('/etc/passwd');
  const sh = t.open('/bin/sh', O_RDWR);
  t.write(sh, enc.encode('#!new'));
  t.chmod('/etc/motd', 0o600);
  t.mkdir('/tmp', 0o1777);
  const f = t.open('/tmp/f', O_WRONLY | O_CREAT, 0o644);
  t.write(f, enc.encode('written before the checkpoint'));
  t.close(f);
  t.unlink('/usr/lib/y');
  t.rmdir('/usr/lib');
  t.mkdir('/usr/lib', 0o700);
  t.symlink('/etc/hostname', '/usr/lib/host');
  t.rename('/etc/motd', '/etc/motd.old');
  t.unlink('/mnt/app/link');
  t.mkdir('/mnt/new', 0o755);
  const host = t.open('/etc/hostname', O_RDONLY);
  t.read(host, new Uint8Array(2));
  const etc = t.open('/etc', O_RDONLY | O_DIRECTORY);
  // Two entries ("." and ".." of a 24-byte record each) read before the checkpoint.
  expect(dirents(t, etc, 48, 1)).toEqual(['.', '..']);
  const run = t.open('/mnt/app/run', O_RDWR);
  t.read(run, new Uint8Array(3));
  return { fds: [sh, host, etc, run] };
}

function saveJson(c: HostController): Checkpoint {
  return JSON.parse(JSON.stringify(c.save())) as Checkpoint;
}

describe('overlay checkpoints', () => {
  it('records each layer, the upper tmpfs and the pseudo devices; a restore shows the same trees', async () => {
    const c = await start();
    const t = c.task();
    const { fds } = change(t);
    const before = { root: manifest(t, '/'), mountinfo: c.mountinfo(), etc: names(t, '/etc'), statfs: t.statfs('/') };
    expect(before.etc).toEqual(['hostname', 'motd.old']);
    const cp = saveJson(c);
    t.exit();
    c.close();

    expect(parseCheckpoint(cp)).toEqual(cp);
    const [root, mnt] = cp.mounts;
    expect(root.fstype).toBe('overlay');
    expect(root.overlay!.layers.map((l) => l.name)).toEqual(['base.erofs', 'app.erofs']);
    expect(root.overlay!.devs).toHaveLength(3);
    expect(root.overlay!.dirInos.entries.length).toBeGreaterThan(5);
    expect(mnt.overlay!.layers.map((l) => l.name)).toEqual(['app.erofs']);
    expect(mnt.overlay!.upper.options).toMatchObject({ size: 1 << 20, nr_inodes: 100 });

    const { controller, tasks } = await HostController.restore(cp, allowImages(IMAGES));
    try {
      const [r] = tasks;
      expect(r.openFds()).toEqual(expect.arrayContaining(fds));
      // Directory inode numbers are the overlay's own, given in lookup order: the restored
      // overlay gives back the recorded ones, whatever order they are asked in.
      const usrLib = r.stat('/usr/lib');
      expect(before.root).toContain(`/usr/lib ${usrLib.mode.toString(8)} 0:0 ${usrLib.size} ${usrLib.dev}:${usrLib.ino} n${usrLib.nlink} `);
      expect(manifest(r, '/')).toEqual(before.root);
      expect(controller.mountinfo()).toBe(before.mountinfo);
      expect(names(r, '/etc')).toEqual(before.etc);
      // As after a remount: the work directory is made afresh, without the whiteout every
      // whiteout of the upper layer was a hard link of (the next whiteout makes another).
      expect(r.statfs('/')).toEqual({ ...before.statfs, ffree: before.statfs.ffree + 1n });
      // The descriptions, at their positions.
      const [sh, host, etc, run] = fds;
      expect(dirents(r, etc)).toEqual(before.etc);
      expect(readFd(r, host)).toBe('p\n');
      r.write(sh, enc.encode('!'));
      expect(readAll(r, '/bin/sh')).toBe('#!new!');
      expect(readFd(r, run)).toBe('un\n');
      // Still an overlay: more copy-ups and whiteouts work on the restored upper.
      r.unlink('/etc/hostname');
      expect(() => readAll(r, '/usr/lib/host')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(names(r, '/etc')).toEqual(['motd.old']);
      expect(readAll(r, '/mnt/new/../app/run')).toBe('#!run\n');
    } finally {
      for (const x of tasks) x.exit();
      controller.close();
    }
  });

  it('a restored checkpoint saves again to the same checkpoint', async () => {
    const c = await start();
    const t = c.task();
    change(t);
    const cp = saveJson(c);
    t.exit();
    c.close();
    const { controller, tasks } = await HostController.restore(cp, allowImages(IMAGES));
    try {
      const again = saveJson(controller);
      expect(again.mounts.map((m) => m.overlay?.layers)).toEqual(cp.mounts.map((m) => m.overlay?.layers));
      expect(again.mounts.map((m) => m.overlay?.devs)).toEqual(cp.mounts.map((m) => m.overlay?.devs));
      expect(again.descriptions).toEqual(cp.descriptions);
    } finally {
      for (const x of tasks) x.exit();
      controller.close();
    }
  });

  it('refuses a layer that is not the recorded image, one the host does not give, and malformed sections', async () => {
    const c = await start();
    const t = c.task();
    change(t);
    const cp = saveJson(c);
    t.exit();
    c.close();
    const refusal = async (x: unknown, host = allowImages(IMAGES)) => {
      const e = await HostController.restore(x, host).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(CheckpointError);
      return e as CheckpointError;
    };
    let e = await refusal(cp, allowImages({ 'base.erofs': { bytes: base }, 'app.erofs': { bytes: other } }));
    expect(e.reason).toBe('image-mismatch');
    expect(e.message).toMatch(/layer 1 "app.erofs" is not the image the checkpoint was taken with \(uuid: recorded "0202/);
    e = await refusal(cp, allowImages({ 'base.erofs': { bytes: base } }));
    expect(e).toMatchObject({ reason: 'refused', code: 'EACCES' });
    const noLayers = structuredClone(cp);
    noLayers.mounts[1].overlay!.layers = [];
    expect((await refusal(noLayers)).message).toContain('an overlay has at least one layer');
    const wrongType = structuredClone(cp);
    wrongType.mounts[1].fstype = 'erofs';
    expect((await refusal(wrongType)).message).toContain('an overlay mount is "overlay"');
    const both = structuredClone(cp) as unknown as { mounts: Record<string, unknown>[] };
    both.mounts[1].tmpfs = cp.mounts[1].overlay!.upper;
    expect((await refusal(both)).message).toContain('a mount is one of image, tmpfs or provided or overlay');
    const badIno = structuredClone(cp);
    badIno.mounts[0].overlay!.dirInos = { next: 100, entries: [['u:999', 2], ['u:999', 3]] };
    expect((await refusal(badIno)).message).toContain('listed twice');
    const pastNext = structuredClone(cp);
    pastNext.mounts[0].overlay!.dirInos = { next: 3, entries: [['u:1', 5]] };
    expect((await refusal(pastNext)).message).toMatch(/dirInos\.entries\[\d+\]\[1\]: \d+ is outside 2\.\.2/);
    const badUpper = structuredClone(cp);
    badUpper.mounts[1].overlay!.upper.options.size = 4096;
    e = await refusal(badUpper);
    expect(e.reason).not.toBe('image-mismatch');
  });
});
