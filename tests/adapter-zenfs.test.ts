/**
 * The ZenFS backend driven the way a ZenFS user drives it: configure() with our backend
 * over a fixture image, then ZenFS's own `fs` (sync, callback, promises and stream APIs).
 * Every path of each image is compared with the manifest the Linux kernel's mount of the
 * same image gave (type, mode, owner, size, nlink, inode number, mtime, device number,
 * symlink target, xattrs, content hash, getdents order). Symlinks are checked against a
 * small resolver over the manifest, so stat-through-links and realpath have their own truth.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, fs, InMemory, mounts, umount } from '@zenfs/core';
import { buildImage, dir, file, symlink } from '@erofs-js/mkfs';
import { Erofs, ErofsFS } from '@erofs-js/zenfs';
import { nameToString } from '../packages/zenfs/src/names.js';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';
import { FIXTURES, fixtureBytes, fixtureIndex, readJsonl } from './fixtures.js';

/**
 * Fixtures that between them hold every layout, every codec, every file type, xattrs of
 * every kind, hard links, 2,540-entry directories, non-UTF-8 names and a multi-device image.
 */
const FIXTURE_NAMES = [
  'basic-18.erofs',
  'basic-15-chunk.erofs',
  'basic-18-blobdev.erofs',
  'basic-18-tar.erofs',
  'basic-18-xprefix.erofs',
  'basic-19-48bit.erofs',
  'basic-19-dotomitted.erofs',
  'basic-19-metabox.erofs',
  'rootfs-19-rootxattr.erofs',
  'z-lz4hc-18-C64k.erofs',
  'z-lz4hc-18-fragdedupe.erofs',
  'z-lz4hc-19-zD.erofs',
  'z-lzma-18.erofs',
  'z-deflate-18.erofs',
  'z-zstd-18.erofs',
];

const index = fixtureIndex();

async function mountFixture(name: string): Promise<ErofsFS> {
  const info = index.find((f) => f.image === name);
  await configure({
    mounts: { '/': { backend: Erofs, data: fixtureBytes(name), devices: (info?.devices ?? []).map((d) => fixtureBytes(d)) } },
  });
  const fsys = mounts.get('/');
  if (!(fsys instanceof ErofsFS)) throw new Error('our backend is not mounted at /');
  return fsys;
}

type Rec = ManifestRecord;

/** What resolving `path` gives on the kernel's side, worked out from the manifest alone. */
function resolveModel(byPath: Map<string, Rec>, path: string, followLast: boolean): { path: string; rec: Rec } | { error: string } {
  const pending = path.split('/').filter(Boolean).reverse();
  let cur = '/';
  let links = 0;
  while (pending.length) {
    const comp = pending.pop()!;
    const last = pending.length === 0;
    const dir = byPath.get(cur)!;
    if (dir.type !== 'dir') return { error: 'ENOTDIR' };
    if (comp === '.') continue;
    if (comp === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, comp);
    const rec = byPath.get(next);
    if (!rec) return { error: 'ENOENT' };
    if (rec.type === 'symlink' && (!last || followLast)) {
      if (++links > 40) return { error: 'ELOOP' };
      const target = rec.target!;
      if (target.startsWith('/')) cur = '/';
      pending.push(...target.split('/').filter(Boolean).reverse());
      continue;
    }
    cur = next;
  }
  return { path: cur, rec: byPath.get(cur)! };
}

function expectStats(st: InstanceType<typeof fs.Stats>, rec: Rec, where: string): void {
  expect(
    {
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      nlink: st.nlink,
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      rdev: rec.rdev === undefined ? undefined : st.rdev,
    },
    where,
  ).toEqual({
    mode: rec.mode,
    uid: rec.uid,
    gid: rec.gid,
    size: rec.size,
    nlink: rec.nlink,
    ino: rec.ino,
    mtimeMs: rec.mtime * 1000 + rec.mtime_nsec / 1e6,
    rdev: rec.rdev,
  });
  const types: Record<string, boolean> = {
    file: st.isFile(),
    dir: st.isDirectory(),
    symlink: st.isSymbolicLink(),
    chardev: st.isCharacterDevice(),
    blockdev: st.isBlockDevice(),
    fifo: st.isFIFO(),
    socket: st.isSocket(),
  };
  expect(Object.keys(types).filter((k) => types[k]), where).toEqual([rec.type]);
}

const wellFormed = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const DT = { file: 'isFile', dir: 'isDirectory', symlink: 'isSymbolicLink', chardev: 'isCharacterDevice', blockdev: 'isBlockDevice', fifo: 'isFIFO', socket: 'isSocket' } as const;

describe.each(FIXTURE_NAMES)('ZenFS fs over %s', (name) => {
  const base = FIXTURES + name.replace(/\.erofs$/, '');
  const truth = readJsonl<Rec>(base + '.manifest.jsonl');
  const readdirTruth = readJsonl<{ path?: string; path_b64?: string; entries?: string[]; entries_b64?: string[] }>(base + '.readdir.jsonl');
  // Names that are not UTF-8 reach ZenFS with each bad byte as U+DC80..U+DCFF.
  for (const r of truth) if (r.path === undefined) r.path = nameToString(b64(r.path_b64!));
  for (const r of truth) if (r.target === undefined && r.target_b64 !== undefined) r.target = nameToString(b64(r.target_b64));
  for (const d of readdirTruth) {
    if (d.path === undefined) d.path = nameToString(b64(d.path_b64!));
    if (d.entries === undefined) d.entries = d.entries_b64!.map((e) => nameToString(b64(e)));
  }
  const byPath = new Map<string, Rec>();
  for (const r of truth) byPath.set(r.path!, r);
  let ours: ErofsFS;

  beforeAll(async () => {
    ours = await mountFixture(name);
  });
  afterAll(() => {
    umount('/');
    ours.close();
  });

  it('lstatSync, statSync, readlinkSync and realpathSync of every path agree with the kernel', () => {
    let links = 0;
    let loops = 0;
    for (const rec of truth) {
      const p = rec.path!;
      expectStats(fs.lstatSync(p), rec, p);
      if (rec.type !== 'symlink') {
        expectStats(fs.statSync(p), rec, p);
        continue;
      }
      links++;
      const model = resolveModel(byPath, p, true);
      if ('error' in model && model.error === 'ELOOP') {
        // ZenFS follows links with no limit of its own (stat of a loop runs it out of
        // memory); the backend answers the read of a looping link with ELOOP instead, so
        // stat gets Linux's ELOOP and readlink of that link ELOOP too (Linux: the target).
        loops++;
        expect(() => fs.statSync(p), p).toThrow(expect.objectContaining({ code: 'ELOOP' }));
        expect(() => fs.readlinkSync(p), p).toThrow(expect.objectContaining({ code: 'ELOOP' }));
        continue;
      }
      expect(fs.readlinkSync(p), p).toBe(rec.target);
      if (rec.target_b64 === undefined) expect(fs.readlinkSync(p, 'buffer'), p).toEqual(Buffer.from(rec.target!));
      if ('error' in model) {
        expect(() => fs.statSync(p), p).toThrow(expect.objectContaining({ code: model.error }));
      } else {
        expectStats(fs.statSync(p), model.rec, `${p} -> ${model.path}`);
        expect(fs.realpathSync(p), p).toBe(model.path);
      }
    }
    if (name.startsWith('basic-18.')) {
      expect(links).toBeGreaterThan(20);
      expect(loops).toBeGreaterThan(0);
    }
  });

  it('readFileSync of every regular file has the kernel content hash', () => {
    let files = 0;
    for (const rec of truth) {
      if (rec.type !== 'file') continue;
      expect(sha256(fs.readFileSync(rec.path!)), rec.path).toBe(rec.sha256);
      files++;
    }
    expect(files).toBeGreaterThan(0);
  });

  it('readdirSync lists every directory in getdents order, withFileTypes giving each type', () => {
    for (const d of readdirTruth) {
      const dir = d.path!;
      expect(fs.readdirSync(dir), dir).toEqual(d.entries);
      // ZenFS's Dirent keeps its name as UTF-8, so an escaped byte comes out as U+FFFD there.
      const ents = fs.readdirSync(dir, { withFileTypes: true });
      expect(ents.map((e) => e.name), dir).toEqual(d.entries!.map(wellFormed));
      ents.forEach((e, i) => {
        const where = posix.join(dir, d.entries![i]);
        const rec = byPath.get(where)!;
        expect(e[DT[rec.type as keyof typeof DT]](), where).toBe(true);
        expect(e.ino, where).toBe(rec.ino);
      });
    }
  });

  it('xattr.listSync and xattr.getSync give the kernel xattrs', () => {
    let seen = 0;
    for (const rec of truth) {
      const want = rec.xattrs ?? {};
      // Linux lists user.* on symlinks and devices but reads them as absent; ZenFS's list
      // is of what can be read.
      const readable = Object.keys(want).filter((k) => !(k.startsWith('user.') && rec.type !== 'file' && rec.type !== 'dir'));
      expect(fs.xattr.listSync(rec.path!).sort(), rec.path).toEqual(readable.sort());
      for (const k of readable) {
        seen++;
        // ZenFS lets programs read only user.* names (others are ENOTSUP there).
        if (!k.startsWith('user.')) continue;
        expect(new Uint8Array(fs.xattr.getSync(rec.path!, k)), `${rec.path} ${k}`).toEqual(b64(want[k]));
      }
    }
    if (truth.some((r) => r.xattrs)) expect(seen).toBeGreaterThan(0);
  });

  it('hard links share an inode number and nlink', () => {
    const byIno = new Map<number, Rec[]>();
    for (const r of truth) if (r.type === 'file') byIno.set(r.ino, [...(byIno.get(r.ino) ?? []), r]);
    for (const group of byIno.values()) {
      if (group.length < 2) continue;
      const inos = group.map((r) => fs.statSync(r.path!).ino);
      expect(new Set(inos).size).toBe(1);
      expect(fs.statSync(group[0].path!).nlink).toBe(group[0].nlink);
    }
  });
});

describe('ZenFS fs over basic-18.erofs: the other APIs and the errors', () => {
  const truth = readJsonl<Rec>(FIXTURES + 'basic-18.manifest.jsonl');
  const files = truth.filter((r) => r.type === 'file' && r.path !== undefined && r.size > 0);
  const big = files.reduce((a, b) => (b.size > a.size ? b : a));
  const someDir = truth.find((r) => r.type === 'dir' && r.path !== '/')!;
  const someLink = truth.find((r) => r.type === 'symlink')!;
  const fifo = truth.find((r) => r.type === 'fifo')!;
  const chardev = truth.find((r) => r.type === 'chardev' && r.path !== undefined)!;
  let ours: ErofsFS;

  beforeAll(async () => {
    ours = await mountFixture('basic-18.erofs');
  });
  afterAll(() => {
    umount('/');
    ours.close();
  });

  it('promises.readFile, FileHandle.read, readSync at offsets and createReadStream give the same bytes', async () => {
    const whole = fs.readFileSync(big.path!);
    expect(sha256(whole)).toBe(big.sha256);
    expect(sha256(await fs.promises.readFile(big.path!))).toBe(big.sha256);
    const chunks: Buffer[] = [];
    for await (const c of fs.createReadStream(big.path!, { highWaterMark: 4093 })) chunks.push(c as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(big.sha256);
    const fd = fs.openSync(big.path!, 'r');
    try {
      for (const off of [0, 1, 4095, 4096, big.size - 7, big.size - 1, big.size, big.size + 100]) {
        const buf = Buffer.alloc(300);
        const n = fs.readSync(fd, buf, 0, 300, off);
        const want = whole.subarray(Math.min(off, big.size), Math.min(off + 300, big.size));
        expect(n, `offset ${off}`).toBe(want.length);
        expect(buf.subarray(0, n)).toEqual(want);
      }
      expect(fs.fstatSync(fd).size).toBe(big.size);
    } finally {
      fs.closeSync(fd);
    }
    await using h = await fs.promises.open(big.path!, 'r');
    const { bytesRead, buffer } = await h.read(Buffer.alloc(64), 0, 64, 10);
    expect(buffer.subarray(0, bytesRead)).toEqual(whole.subarray(10, 10 + bytesRead));
  });

  it('opendir, existsSync, accessSync and statfsSync', () => {
    const dir = fs.opendirSync(someDir.path!);
    const names: string[] = [];
    for (let e = dir.readSync(); e; e = dir.readSync()) names.push(e.name);
    dir.closeSync();
    expect(names).toEqual(fs.readdirSync(someDir.path!));
    expect(fs.existsSync(big.path!)).toBe(true);
    expect(fs.existsSync(big.path! + '.missing')).toBe(false);
    // Through a file: ENOTDIR, as on Linux, which stat with throwIfNoEntry: false treats as
    // absent. (ZenFS's existsSync lets any error but ENOENT escape, so it throws here.)
    expect(fs.statSync(big.path! + '/x', { throwIfNoEntry: false })).toBeUndefined();
    fs.accessSync(big.path!, fs.constants.R_OK);
    const sfs = fs.statfsSync('/');
    expect(sfs.type).toBe(0xe0f5e1e2);
    expect(sfs.bsize).toBe(4096);
  });

  it('missing paths and wrong types give Node-style errors with our errno', () => {
    const missing = '/no/such/path';
    expect(() => fs.statSync(missing)).toThrow(expect.objectContaining({ code: 'ENOENT', errno: 2 }));
    expect(() => fs.readFileSync(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => fs.readdirSync(big.path!)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => fs.readFileSync(someDir.path!)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(() => fs.readlinkSync(big.path!)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => fs.statSync(big.path! + '/x')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    // A device node has no driver behind it here: reading it is ENXIO, as opening it is on
    // Linux without the driver. (ZenFS reads devices straight from the backend, uncached.)
    const fd = fs.openSync(chardev.path!, 'r');
    expect(() => fs.readSync(fd, Buffer.alloc(16), 0, 16, 0)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    fs.closeSync(fd);
    // A fifo has size 0: ZenFS reads nothing and asks the backend nothing.
    expect(fs.readFileSync(fifo.path!).length).toBe(0);
    expect(fs.statSync(missing, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('every kind of write fails with EROFS (or the error Linux gives first) and changes nothing', async () => {
    const p = big.path!;
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'no error';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(code(() => fs.writeFileSync('/new-file', 'x'))).toBe('EROFS');
    expect(code(() => fs.mkdirSync('/new-dir'))).toBe('EROFS');
    expect(code(() => fs.mkdirSync(someDir.path!))).toBe('EEXIST');
    expect(code(() => fs.mkdirSync('/no/such/parent'))).toBe('ENOENT');
    expect(code(() => fs.unlinkSync(p))).toBe('EROFS');
    expect(code(() => fs.rmdirSync(someDir.path!))).toBe('EROFS');
    expect(code(() => fs.renameSync(p, '/renamed'))).toBe('EROFS');
    expect(code(() => fs.linkSync(p, '/hardlink'))).toBe('EROFS');
    expect(code(() => fs.symlinkSync(p, '/symlink'))).toBe('EROFS');
    expect(code(() => fs.symlinkSync(p, someLink.path!))).toBe('EEXIST');
    expect(code(() => fs.chmodSync(p, 0o600))).toBe('EROFS');
    expect(code(() => fs.chownSync(p, 1, 1))).toBe('EROFS');
    expect(code(() => fs.utimesSync(p, 1, 1))).toBe('EROFS');
    expect(code(() => fs.xattr.setSync(p, 'user.new', 'v'))).toBe('EROFS');
    expect(code(() => fs.xattr.removeSync(p, 'user.new'))).toBe('ENODATA');
    await expect(fs.promises.writeFile('/new-file-2', 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await expect(fs.promises.mkdir('/new-dir-2')).rejects.toMatchObject({ code: 'EROFS' });
    expect(fs.existsSync('/new-file')).toBe(false);
    expect(fs.existsSync('/new-dir')).toBe(false);
    expect(sha256(fs.readFileSync(p))).toBe(big.sha256);
    expect(fs.statSync(p).mode).toBe(big.mode);
  });

  it('writing through a descriptor to an existing file fails with EROFS', () => {
    const p = files[0].path!;
    let code: string | undefined;
    try {
      const fd = fs.openSync(p, 'r+');
      try {
        fs.writeSync(fd, 'overwrite');
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    expect(code).toBe('EROFS');
    // ZenFS kept the written bytes in its cache of the file; the backend dropped them.
    expect(sha256(fs.readFileSync(p))).toBe(files[0].sha256);
    expect(fs.statSync(p).size).toBe(files[0].size);
    const fd = fs.openSync(p, 'r');
    expect(fs.readSync(fd, Buffer.alloc(9), 0, 9, 0)).toBe(Math.min(9, files[0].size));
    fs.closeSync(fd);
  });
});

describe('the Erofs backend options', () => {
  it('opens an image by path (Node file source) and reads it like the bytes', async () => {
    await configure({ mounts: { '/': { backend: Erofs, path: FIXTURES + 'z-zstd-18.erofs' } } });
    const ours = mounts.get('/') as ErofsFS;
    const truth = readJsonl<Rec>(FIXTURES + 'z-zstd-18.manifest.jsonl');
    for (const rec of truth.filter((r) => r.type === 'file' && r.path !== undefined).slice(0, 200)) {
      expect(sha256(fs.readFileSync(rec.path!)), rec.path).toBe(rec.sha256);
    }
    umount('/');
    ours.close();
    expect(() => ours.statSync('/files')).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('mounts beside other ZenFS backends; links leaving the image resolve across mounts as on Linux', async () => {
    const image = buildImage(
      dir({
        data: dir({ f: file('in the image\n') }),
        links: dir({
          'abs-in': symlink('/mnt/img/data'),
          'abs-out': symlink('/outside'),
          up: symlink('../..'),
          rel: symlink('../data/f'),
        }),
      }),
    );
    await configure({ mounts: { '/': InMemory, '/mnt/img': { backend: Erofs, data: image } } });
    fs.mkdirSync('/outside');
    fs.writeFileSync('/outside/f', 'in memory\n');
    // A link through the image to itself, out to the InMemory root, and ".." past the mount root.
    expect(fs.readFileSync('/mnt/img/links/abs-in/f', 'utf8')).toBe('in the image\n');
    expect(fs.readFileSync('/mnt/img/links/abs-out/f', 'utf8')).toBe('in memory\n');
    expect(fs.readFileSync('/mnt/img/links/rel', 'utf8')).toBe('in the image\n');
    expect(fs.readdirSync('/mnt/img/links/up')).toEqual(['img']);
    expect(fs.realpathSync('/mnt/img/links/abs-out/f')).toBe('/outside/f');
    expect(fs.readlinkSync('/mnt/img/links/abs-out')).toBe('/outside');
    expect(fs.lstatSync('/mnt/img/links/abs-out/f').size).toBe(10);
    // ZenFS's readlink does not retry a failed resolution: through a link that leaves the
    // image, our EXDEV is what it reports.
    fs.symlinkSync('f', '/outside/g');
    expect(fs.readlinkSync('/outside/g')).toBe('f');
    expect(() => fs.readlinkSync('/mnt/img/links/abs-out/g')).toThrow(expect.objectContaining({ code: 'EXDEV' }));
    fs.writeFileSync('/scratch.txt', 'writable root');
    expect(fs.readFileSync('/scratch.txt', 'utf8')).toBe('writable root');
    expect(() => fs.writeFileSync('/mnt/img/new', 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    const ours = mounts.get('/mnt/img') as ErofsFS;
    umount('/mnt/img');
    ours.close();
  });

  it('refuses bad input with typed errors, not crashes', async () => {
    await expect(Erofs.create({ data: new Uint8Array(8192) })).rejects.toMatchObject({ code: 'EINVAL', errno: 22 });
    await expect(Erofs.create({})).rejects.toThrow(/exactly one of/);
    await expect(Erofs.create({ path: FIXTURES + 'no-such.erofs' })).rejects.toMatchObject({ code: 'EIO' });
    // A damaged image: the directory data of the root overwritten with noise.
    const bytes = fixtureBytes('basic-18.erofs').slice();
    const ours = await Erofs.create({ data: bytes, imageOptions: { verifyChecksum: false } });
    for (let i = 8192; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
    let codes = new Set<string>();
    for (const p of ['/', '/files', '/bigdir', '/links', '/xattrs']) {
      try {
        ours.readdirSync(p);
        ours.statSync(p);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        codes.add((e as { code: string }).code);
      }
    }
    codes = new Set([...codes].filter((c) => !['EUCLEAN', 'EIO', 'ENOENT', 'ENOTDIR', 'EOPNOTSUPP', 'ENOTSUP', 'ELOOP', 'ENAMETOOLONG'].includes(c)));
    expect([...codes]).toEqual([]);
  });
});
