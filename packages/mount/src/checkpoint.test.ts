import { describe, expect, it, vi } from 'vitest';
import { Filesystem, O_CLOEXEC, O_DIRECTORY, O_RDONLY, SysError, capMask, credentials, parseDirents } from '@erofs-js/vfs';
import { fixtureBytes, readAll, spec, text } from '../test/helpers.js';
import { Image, MemorySource } from '@erofs-js/erofs';
import { CheckpointError, allowImages, fromBase64, identityDiff, imageIdentity, parseCheckpoint, saveNamespace, toBase64, type Checkpoint, type FsRequest, type ImageRequest, type RestoreHost } from './checkpoint.js';
import { HostController } from './node/controller.js';
import { MountNamespace } from './namespace.js';
import { METHODS, validate } from './rpc/schema.js';
import { AT_FDCWD, F_GETFD, Task } from './task.js';

const bytes = (name: string) => ({ bytes: fixtureBytes(name), name });
/** A host holding the fixtures in memory under their names. */
const memoryHost = (...names: string[]) => allowImages(Object.fromEntries(names.map((n) => [n, bytes(n)])));

function dents(t: Task, fd: number, size: number, calls = Infinity): string[] {
  const buf = new Uint8Array(size);
  const out: string[] = [];
  for (let i = 0, n: number; i < calls && (n = t.getdents64(fd, buf)) > 0; i++) for (const d of parseDirents(buf, n)) out.push(`${text(d.name)}@${d.off}`);
  return out;
}

/** Reads a descriptor to its end. */
function drain(t: Task, fd: number): Uint8Array {
  const parts: number[] = [];
  const buf = new Uint8Array(1000);
  for (let n: number; (n = t.read(fd, buf)) > 0; ) parts.push(...buf.subarray(0, n));
  return Uint8Array.from(parts);
}

const roundTrip = (cp: Checkpoint) => JSON.parse(JSON.stringify(cp)) as Checkpoint;

describe('checkpoint of a namespace with a synthetic root', () => {
  it('restores the synthetic tree, mounts, descriptors (cloexec, shared), positions and options', async () => {
    const c = await HostController.create({ mkdirs: ['/dev', '/mnt/a/b', '/srv'], policy: { guestUnmount: true }, maxMounts: 9 });
    c.mkdir('/secret', { mode: 0o700 });
    await c.mount({ image: bytes('rootfs-18.erofs'), target: '/mnt/a/b', options: { nosuid: true, pageCacheBytes: 12288, extentCacheBytes: 4096 } });
    await c.mount({ image: bytes('z-lz4hc-18.erofs'), target: '/srv', options: { source: 'data', dentryCacheSize: 3 } });
    const t = c.task({ creds: credentials(1000, 100, [5, 6]), maxFds: 64, reservedFds: [0, 1, 2], cwd: '/mnt' });
    const root = t.openat(AT_FDCWD, '/', O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const first = dents(t, root, 48, 1);
    const f = t.open('/srv/text/size-4097');
    t.read(f, new Uint8Array(1234));
    const g = t.fork();
    const d = g.dup3(f, 40, O_CLOEXEC);
    const jailed = c.task({ creds: credentials(0, 0, [], capMask(18 /* CAP_SYS_CHROOT */)) });
    jailed.chroot('/srv');
    jailed.chdir('/text');
    const cp = roundTrip(c.save());
    expect(cp.synthetic!.dirs.map((x) => [x.name, x.mode])).toEqual([
      ['dev', 0o755],
      ['mnt', 0o755],
      ['a', 0o755],
      ['b', 0o755],
      ['srv', 0o755],
      ['secret', 0o700],
    ]);
    expect(cp.tasks[1].fds.find((x) => x.fd === d)).toEqual({ fd: 40, desc: cp.tasks[0].fds.find((x) => x.fd === f)!.desc, cloexec: true });

    const { controller: r, tasks } = await HostController.restore(cp, memoryHost('rootfs-18.erofs', 'z-lz4hc-18.erofs'));
    const [t2, g2, jailed2] = tasks;
    expect(text(jailed2.cwdPath())).toBe('/text');
    expect(jailed2.stat('/')).toEqual(jailed.stat('/'));
    expect(jailed2.stat('/..')).toEqual(t.stat('/srv'));
    expect(r.mountinfo()).toBe(c.mountinfo());
    expect(r.ns.policy).toEqual(c.ns.policy);
    expect(r.ns.maxMounts).toBe(9);
    expect(t2.creds).toEqual(t.creds);
    expect(t2.reservedFds).toEqual([0, 1, 2]);
    expect(t2.maxFds).toBe(64);
    expect(text(t2.cwdPath())).toBe('/mnt');
    for (const p of ['/', '/secret', '/mnt/a', '/mnt/a/b', '/srv/text']) expect(t2.stat(p)).toEqual(t.stat(p));
    expect(t2.fcntl(root, F_GETFD)).toBe(t.fcntl(root, F_GETFD));
    expect(g2.fcntl(d, F_GETFD)).toBe(1);
    // The rest of the synthetic listing, and the rest of the file through the dup in the other task.
    expect(dents(t2, root, 48)).toEqual(dents(t, root, 48));
    expect(first.length).toBeGreaterThan(0);
    const a = drain(g, d);
    expect(drain(g2, d)).toEqual(a);
    expect(a.length).toBe(4097 - 1234);
    // Cache options and the flags of each mount came back.
    const fsOf = (ctl: HostController, id: number) => [...ctl.ns.mounts()].find((m) => m.id === id)!.fs as Filesystem;
    expect(fsOf(r, 2).options).toEqual(fsOf(c, 2).options);
    expect(fsOf(r, 2).options.pageCacheBytes).toBe(12288);
    expect(fsOf(r, 2).image.extentCache.maxBytes).toBe(4096);
    expect(fsOf(r, 3).options.dentryCacheSize).toBe(3);
    // Mount ids and devices continue as they would have.
    const next = await r.mount({ image: bytes('basic-18.erofs'), target: '/dev' });
    const nextOrig = await c.mount({ image: bytes('basic-18.erofs'), target: '/dev' });
    expect([next.id, next.dev]).toEqual([nextOrig.id, nextOrig.dev]);
    for (const x of [t, g, t2, g2, jailed, jailed2]) x.exit();
    c.close();
    r.close();
  });

  it('keeps a position past 2^53 (as decimal digits), and refuses one outside 2^53..2^63-1', async () => {
    const c = await HostController.create({ mkdirs: ['/srv'] });
    await c.mount({ image: bytes('z-lz4hc-18.erofs'), target: '/srv' });
    const t = c.task({});
    const f = t.open('/srv/text/size-4097');
    const dir = t.open('/srv/text', O_DIRECTORY);
    expect(t.lseek(f, 2n ** 62n + 1n, 0)).toBe(2n ** 62n + 1n);
    expect(t.lseek(dir, 2n ** 63n - 1n, 0)).toBe(2n ** 63n - 1n);
    const cp = roundTrip(c.save());
    expect(cp.descriptions.map((d) => d.offset)).toEqual([String(2n ** 62n + 1n), String(2n ** 63n - 1n)]);
    const { tasks } = await HostController.restore(cp, memoryHost('z-lz4hc-18.erofs'));
    expect(tasks[0].lseek(f, 0n, 1)).toBe(2n ** 62n + 1n);
    expect(tasks[0].read(f, new Uint8Array(8))).toBe(0);
    expect(tasks[0].lseek(dir, 0n, 1)).toBe(2n ** 63n - 1n);
    expect(tasks[0].getdents64(dir, new Uint8Array(4096))).toBe(0);
    for (const bad of ['9007199254740991', '9223372036854775808', '0x1', '-9007199254740993', '09007199254740993']) {
      const x = roundTrip(cp);
      x.descriptions[0].offset = bad;
      expect(() => parseCheckpoint(x), bad).toThrow(/descriptions\[0\]\.offset/);
    }
  });

  it('restores a detached mount that still has a mount below it, and releases each as its users go', async () => {
    const c = await HostController.create({ mkdirs: ['/mnt'] });
    await c.mount({ image: bytes('rootfs-18.erofs'), target: '/mnt' });
    await c.mount({ image: bytes('basic-18.erofs'), target: '/mnt/home' });
    const t = c.task();
    const fd = t.open('/mnt/etc/hostname');
    t.chdir('/mnt/home/deep/d00');
    c.unmount({ target: '/mnt', detach: true });
    const cp = roundTrip(c.save());
    expect(cp.mounts.map((m) => [m.id, m.state, m.parent, m.mountpoint, m.target])).toEqual([
      [1, 'attached', null, null, '/'],
      [2, 'detached', null, null, '(detached)'],
      [3, 'detached', 2, ['home'], '(detached)/home'],
    ]);
    const { controller: r, tasks } = await HostController.restore(cp, memoryHost('rootfs-18.erofs', 'basic-18.erofs'));
    const [t2] = tasks;
    expect(text(t2.cwdPath())).toBe('(unreachable)/home/deep/d00');
    expect(r.ns.detached().map((m) => [m.id, m.users, m.parent?.id ?? null])).toEqual([
      [2, 1, null],
      [3, 1, 2],
    ]);
    expect(r.list().map((m) => m.id)).toEqual([1]);
    expect(text(drain(t2, fd))).toBe(text(drain(t, fd)));
    t2.close(fd);
    expect(r.ns.detached().map((m) => [m.id, m.parent?.id ?? null])).toEqual([[3, null]]);
    t2.chdir('/');
    expect(r.ns.detached()).toEqual([]);
    t.exit();
    t2.exit();
    c.close();
    r.close();
  });
});

describe('images and the host', () => {
  it('asks the host for every image and extra device by its recorded name, with the identity to match', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs') });
    const blob = { bytes: fixtureBytes('basic-18-blobdev.blob'), name: 'blob-1' };
    await c.mount({ image: bytes('basic-18-blobdev.erofs'), target: '/tmp', options: { devices: [blob] } });
    const t = c.task();
    const want = readAll(t, '/tmp/files/size-40961');
    const cp = roundTrip(c.save());
    expect(cp.mounts[1].image!.devices).toEqual(['blob-1']);
    expect(cp.mounts[1].image!.identity.devices).toEqual([blob.bytes.length]);
    const asked: Omit<ImageRequest, 'identity'>[] = [];
    const host: RestoreHost = {
      async openImage(req) {
        const { identity, ...rest } = req;
        expect(identity).toEqual(cp.mounts.find((m) => m.id === req.mountId)!.image!.identity);
        asked.push(rest);
        return req.name === 'blob-1' ? blob : bytes(req.name);
      },
    };
    const { controller: r, tasks } = await HostController.restore(cp, host);
    expect(asked).toEqual([
      { mountId: 1, target: '/', name: 'rootfs-18.erofs', role: 'image' },
      { mountId: 2, target: '/tmp', name: 'basic-18-blobdev.erofs', role: 'image' },
      { mountId: 2, target: '/tmp', name: 'blob-1', role: 'device', device: 0 },
    ]);
    expect(readAll(tasks[0], '/tmp/files/size-40961')).toEqual(want);
    // A device of another size is a different device.
    const short = { bytes: blob.bytes.subarray(0, blob.bytes.length - 4096), name: 'blob-1' };
    const e = await HostController.restore(cp, { openImage: (req) => (req.name === 'blob-1' ? short : bytes(req.name)) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).message).toMatch(/mount 2 \(\/tmp\): .*devices: recorded \[\d+\], found \[\d+\]/);
    for (const x of [t, ...tasks]) x.exit();
    c.close();
    r.close();
  });

  it('a host that throws refuses the restore, with the cause kept', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs') });
    const cp = roundTrip(c.save());
    const boom = new Error('no such image in this cluster');
    const e = (await HostController.restore(cp, { openImage: () => Promise.reject(boom) }).catch((x: unknown) => x)) as CheckpointError;
    expect(e).toBeInstanceOf(CheckpointError);
    expect([e.reason, e.code, e.cause]).toEqual(['refused', 'EACCES', boom]);
    expect(e.message).toBe('EACCES: mount 1 (/): the host refused image "rootfs-18.erofs": no such image in this cluster');
    c.close();
  });

  it('identity: the fields that name an image, and what differs between two', () => {
    const img = (name: string) => (spec(null, name).fs as Filesystem).image;
    const a = imageIdentity(img('basic-18.erofs'));
    expect(imageIdentity(img('basic-18.erofs'))).toEqual(a);
    const sb = img('basic-18.erofs').sb;
    expect(a).toMatchObject({ blockSize: 4096, blocks: sb.blocks, inos: sb.inos, checksum: sb.checksum, bytes: fixtureBytes('basic-18.erofs').length, devices: [] });
    expect(a.uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(a.uuid).not.toBe('0'.repeat(32));
    expect(identityDiff(a, a)).toEqual([]);
    // The fixtures are built with one fixed UUID (mkfs.erofs -U, for reproducible images):
    // two different images can share it, which is why the identity holds more than the UUID.
    const other = imageIdentity(img('basic-18-compact.erofs'));
    expect(other.uuid).toBe(a.uuid);
    expect(identityDiff(a, other).map((d) => d.split(':')[0])).toEqual(['checksum', 'superblockCrc', 'blocks', 'inos', 'bytes']);
    expect(identityDiff(a, other)[0]).toBe(`checksum: recorded ${a.checksum}, found ${other.checksum}`);
  });
});

describe('what save refuses, and the hooks it relies on', () => {
  it('a shut-down controller cannot be saved; a root no controller opened neither', async () => {
    const c = await HostController.create();
    c.close();
    expect(() => c.save()).toThrow(SysError);
    const ns = new MountNamespace(spec(null, 'basic-18.erofs'));
    expect(() => saveNamespace(ns)).toThrow(/the namespace root is neither an image the host controller opened nor the synthetic root/);
    // A mount of a filesystem no controller opened is the emulator's: recorded as provided.
    const ns2 = new MountNamespace();
    ns2.attach(spec(ns2, 'basic-18.erofs'), ns2.rootLocation);
    expect(saveNamespace(ns2).mounts[1]).toMatchObject({ id: 2, fstype: 'erofs', provided: true });
  });

  it('only live tasks are saved; parseCheckpoint returns a clean copy of a saved one', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs') });
    const t1 = c.task();
    const t2 = c.task({ cwd: '/etc' });
    t1.exit();
    const cp = roundTrip(c.save());
    expect(cp.tasks.map((t) => t.cwd.path)).toEqual([['etc']]);
    expect(parseCheckpoint(cp)).toEqual(cp);
    expect(c.ns.tasks()).toEqual([t2]);
    t2.exit();
    expect(c.ns.tasks()).toEqual([]);
    c.close();
  });

  it('Task.adopt refuses a descriptor it could not hold, taking nothing over', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs') });
    const t = c.task();
    const fd = t.open('/etc/hostname');
    const desc = t.description(fd);
    expect(() => Task.adopt(c.ns, { reservedFds: [3] }, c.ns.rootLocation, c.ns.rootLocation, [{ fd: 3, desc, cloexec: false }])).toThrow(/descriptor 3 cannot be restored/);
    expect(() => Task.adopt(c.ns, { maxFds: 2 }, c.ns.rootLocation, c.ns.rootLocation, [{ fd: 2, desc, cloexec: false }])).toThrow(/descriptor 2/);
    expect(c.ns.tasks()).toEqual([t]);
    t.exit();
    c.close();
  });

  it('namespace.adopt keeps ids increasing and devices unique', () => {
    const ns = new MountNamespace();
    expect(() => ns.adopt(spec(ns, 'basic-18.erofs'), 1, ns.rootLocation, 'attached')).toThrow(/not above the ids in use/);
    const s = spec(null, 'basic-18.erofs');
    expect(() => ns.adopt(s, 5, ns.rootLocation, 'attached')).toThrow(/used by mount 1/);
    expect(() => ns.adopt(spec(ns, 'basic-18.erofs'), 5, null, 'attached')).toThrow(/has no parent/);
    const m = ns.adopt(spec(ns, 'basic-18.erofs'), 5, null, 'detached');
    expect([m.state, ns.nextMountId, ns.detached()]).toEqual(['detached', 6, [m]]);
    expect(() => ns.setNextMountId(3)).toThrow(/below the ids in use/);
  });
});

describe('pageCacheBytes through the controller and the RPC mount call', () => {
  it('reaches the filesystem, and the schema bounds it', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs'), rootfsOptions: { pageCacheBytes: 8192 } });
    await c.mount({ image: bytes('basic-18.erofs'), target: '/tmp', options: { pageCacheBytes: 0 } });
    expect(c.ns.mounts().map((m) => (m.fs as Filesystem).options.pageCacheBytes)).toEqual([8192, 0]);
    c.close();
    const ok = { image: '/i.erofs', target: '/tmp', options: { pageCacheBytes: 1 << 20 } };
    expect(validate(METHODS.mount, ok)).toBeNull();
    expect(validate(METHODS.mount, { ...ok, options: { pageCacheBytes: 2 ** 31 } })).toMatch(/pageCacheBytes must be between 0 and 1073741824/);
  });
});

describe('filesystems the emulator mounted, old checkpoints, base64', () => {
  const erofsFs = (name: string, dev: number) => new Filesystem(new Image(new MemorySource(fixtureBytes(name))), { dev });

  it('a mount({ fs }) is saved by type, source and device, and restored only when provideFs gives it back', async () => {
    const c = await HostController.create({ mkdirs: ['/proc'] });
    const fs = erofsFs('basic-18.erofs', c.ns.allocDev());
    await c.mount({ fs, target: '/proc', superOptions: 'rw,nosuid', options: { source: 'emu', nosuid: true } });
    const t = c.task();
    const fd = t.open('/proc/!bang');
    t.read(fd, new Uint8Array(1));
    const cp = roundTrip(c.save());
    expect(cp.mounts[1]).toMatchObject({ fstype: 'erofs', source: 'emu', superOptions: 'rw,nosuid', provided: true, flags: { readOnly: false, nosuid: true, nodev: false, noexec: false } });
    expect(cp.mounts[1].image).toBeUndefined();
    // No provideFs: refused, saying what is missing.
    let e = (await HostController.restore(cp, memoryHost()).catch((x: unknown) => x)) as CheckpointError;
    expect([e.reason, e.code]).toEqual(['refused', 'EOPNOTSUPP']);
    expect(e.message).toMatch(/mount 2 \(\/proc\): a "erofs" filesystem the emulator mounted cannot be restored without the host giving it again \(RestoreHost.provideFs\)/);
    // A filesystem with another device, or of another type, is not the one the guests saw.
    e = (await HostController.restore(cp, { ...memoryHost(), provideFs: () => erofsFs('basic-18.erofs', fs.dev + 1) }).catch((x: unknown) => x)) as CheckpointError;
    expect([e.reason, e.code]).toEqual(['refused', 'EINVAL']);
    expect(e.message).toMatch(/has st_dev \d+, the checkpoint recorded \d+ \(make it with request.dev\)/);
    const asked: FsRequest[] = [];
    const { controller: r, tasks } = await HostController.restore(cp, {
      ...memoryHost(),
      provideFs: (req) => {
        asked.push(req);
        return erofsFs('basic-18.erofs', req.dev);
      },
    });
    expect(asked).toEqual([{ mountId: 2, target: '/proc', fstype: 'erofs', source: 'emu', superOptions: 'rw,nosuid', dev: fs.dev }]);
    expect(drain(tasks[0], fd)).toEqual(drain(t, fd));
    expect(r.mountinfo()).toBe(c.mountinfo());
    for (const x of [t, ...tasks]) x.exit();
    c.close();
    r.close();
  });

  it('a lazily detached tmpfs still in use comes back detached, writable through the cwd that holds it', async () => {
    const c = await HostController.create({ tmpfs: [{ target: '/work', options: { size: '1m' } }] });
    const t = c.task({ creds: credentials(1000, 1000) });
    const fd = t.open('/work/data', 0o102 /* O_RDWR | O_CREAT */, 0o600);
    t.write(fd, new TextEncoder().encode('kept'));
    t.chdir('/work');
    c.unmount({ target: '/work', detach: true });
    const cp = roundTrip(c.save());
    expect(cp.mounts.map((m) => [m.id, m.state, m.fstype, m.users])).toEqual([
      [1, 'attached', 'rootfs', 1],
      [2, 'detached', 'tmpfs', 2],
    ]);
    const { controller: r, tasks } = await HostController.restore(cp, memoryHost());
    const [t2] = tasks;
    expect(text(t2.cwdPath())).toBe('(unreachable)/');
    t2.close(t2.open('more', 0o101, 0o644));
    t2.lseek(fd, 0, 0);
    expect(text(drain(t2, fd))).toBe('kept');
    expect(r.ns.detached().map((m) => m.id)).toEqual([2]);
    t2.close(fd);
    t2.chdir('/');
    expect(r.ns.detached()).toEqual([]);
    for (const x of [t, t2]) x.exit();
    c.close();
    r.close();
  });

  it('a devtmpfs is saved as the tmpfs it is, and comes back as a devtmpfs', async () => {
    const c = await HostController.create({ mkdirs: ['/dev'] });
    await c.mount({ type: 'devtmpfs', target: '/dev' });
    const t = c.task();
    t.mkdir('/dev/shm', 0o1777);
    const listing = (task: Task) => dents(task, task.open('/dev', O_DIRECTORY), 4096).map((e) => e.replace(/@\d+$/, '')).sort();
    const cp = roundTrip(c.save());
    expect(cp.mounts[1]).toMatchObject({ fstype: 'devtmpfs', source: 'devtmpfs' });
    expect(cp.mounts[1].tmpfs!.options).toMatchObject({ size: 1 << 20, nr_inodes: 1024 });
    const { controller: r, tasks } = await HostController.restore(cp, memoryHost());
    expect(r.mountinfo()).toBe(c.mountinfo());
    expect(listing(tasks[0])).toEqual(listing(t));
    for (const name of ['null', 'zero', 'urandom', 'shm', 'fd', 'stdin']) expect(tasks[0].lstat(`/dev/${name}`)).toEqual(t.lstat(`/dev/${name}`));
    for (const x of [t, ...tasks]) x.exit();
    c.close();
    r.close();
  });

  it('a version 1 checkpoint (no readOnly flag) still restores', async () => {
    const c = await HostController.create({ rootfs: bytes('rootfs-18.erofs') });
    await c.mount({ image: bytes('basic-18.erofs'), target: '/tmp', options: { nodev: true } });
    const cp = roundTrip(c.save()) as unknown as { version: number; mounts: { flags: Record<string, boolean> }[] };
    expect(cp.version).toBe(2);
    cp.version = 1;
    for (const m of cp.mounts) delete m.flags.readOnly;
    const { controller: r } = await HostController.restore(cp, memoryHost('rootfs-18.erofs', 'basic-18.erofs'));
    expect(r.mountinfo()).toBe(c.mountinfo());
    expect(r.save().mounts.map((m) => m.flags)).toEqual(c.save().mounts.map((m) => m.flags));
    cp.mounts[1].flags.readOnly = true;
    expect(() => parseCheckpoint(cp)).toThrow(/mounts\[1\]\.flags: unknown field "readOnly"/);
    c.close();
    r.close();
  });

  const base64Cases = (to: typeof toBase64, from: typeof fromBase64) => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff);
      const s = to(b);
      expect(s).toBe(Buffer.from(b).toString('base64'));
      expect(from(s)).toEqual(b);
      // Into the front of a longer array, the rest untouched.
      expect(from(s, new Uint8Array(n + 3).fill(7))).toEqual(Uint8Array.from([...b, 7, 7, 7]));
    }
    expect(to(new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 4))).toBe('AgME');
    expect(from('AA==', new Uint8Array(4))).toEqual(new Uint8Array(4));
    expect(from('AAAAAAAA', new Uint8Array(4))).toBe('6 bytes (at most 4)');
    expect(from('AB==')).toBe('base64 with non-zero padding bits');
    expect(from('AAB=')).toBe('base64 with non-zero padding bits');
    expect(from('AAA')).toMatch(/not a multiple of 4/);
    expect(from('A=AA')).toBe('a character "=" at 1 that is not base64');
    expect(from('AA-_')).toBe('a character "-" at 2 that is not base64');
    expect(from('AAé=')).toMatch(/"é" at 2 that is not base64/);
    expect(from('====')).toMatch(/"=" at 0/);
  };

  it('base64: the standard alphabet with padding, one encoding per value', () => base64Cases(toBase64, fromBase64));

  it('base64 without the Buffer of Node (a browser) answers the same', async () => {
    const saved = globalThis.Buffer;
    vi.resetModules();
    let mod: typeof import('./checkpoint.js');
    try {
      (globalThis as { Buffer?: unknown }).Buffer = undefined;
      mod = await import('./checkpoint.js');
    } finally {
      globalThis.Buffer = saved;
    }
    expect(mod.toBase64).not.toBe(toBase64);
    base64Cases(mod.toBase64, mod.fromBase64);
  });
});
