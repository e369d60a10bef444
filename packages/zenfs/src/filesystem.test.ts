import { describe, expect, it } from 'vitest';
import { buildImage, device, dir, fifo, file, symlink } from '@erofs-js/mkfs';
import { Image, MemorySource } from '@erofs-js/erofs';
import { ErofsFS } from './filesystem.js';

const text = (s: string) => new TextEncoder().encode(s);
const big = new Uint8Array(3 * 4096 + 123).map((_, i) => (i * 7) & 0xff);
const shared = file('linked\n', { mode: 0o644 });
// 18 levels of 240-byte names: paths past 4096 bytes, which ZenFS may hand a backend.
const longName = (i: number) => String(i).padStart(3, '0') + 'd'.repeat(237);
let deep = dir({ leaf: file('deep\n') });
for (let i = 17; i >= 0; i--) deep = dir({ [longName(i)]: deep });
const deepPath = '/deep/' + Array.from({ length: 18 }, (_, i) => longName(i)).join('/') + '/leaf';

const tree = dir({
  etc: dir({ hostname: file('box\n', { mode: 0o644, uid: 5, gid: 6 }) }),
  big: file(big),
  a: shared,
  b: shared,
  abs: symlink('/etc/hostname'),
  rel: symlink('etc'),
  dangling: symlink('nowhere'),
  loopA: symlink('loopB/x'),
  loopB: symlink('loopA'),
  dev: dir({ null: device('chardev', 1, 3), fifo: fifo() }),
  deep,
});

function open(): ErofsFS {
  return new ErofsFS(new Image(new MemorySource(buildImage(tree))));
}

function readAll(fs: ErofsFS, path: string, size: number, start = 0): Uint8Array {
  const buf = new Uint8Array(size);
  fs.readSync(path, buf, start, start + size);
  return buf;
}

describe('ErofsFS', () => {
  it('statSync is lstat, and symlinks in the middle of a path are followed', () => {
    const fs = open();
    expect(fs.statSync('/abs').mode & 0o170000).toBe(0o120000);
    expect(fs.statSync('/abs').size).toBe('/etc/hostname'.length);
    const h = fs.statSync('/rel/hostname');
    expect([h.mode, h.uid, h.gid, h.size]).toEqual([0o100644, 5, 6, 4]);
    expect(() => fs.statSync('/dangling/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => fs.statSync('/big/x')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(fs.existsSync('/rel/hostname')).toBe(true);
    expect(fs.existsSync('/nope')).toBe(false);
  });

  it('hard links share ino; the NID is the inode data key', () => {
    const fs = open();
    const [a, b] = [fs.statSync('/a'), fs.statSync('/b')];
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    expect(a.data).toBe(b.data);
  });

  it('readSync gives file bytes at any offset, zeros past the end, and a symlink its target', () => {
    const fs = open();
    expect(readAll(fs, '/big', big.length)).toEqual(big);
    expect(readAll(fs, '/big', 5000, 4000)).toEqual(big.subarray(4000, 9000));
    const tail = readAll(fs, '/big', 200, big.length - 100);
    expect(tail.subarray(0, 100)).toEqual(big.subarray(big.length - 100));
    expect(tail.subarray(100).every((x) => x === 0)).toBe(true);
    expect(readAll(fs, '/abs', 13)).toEqual(text('/etc/hostname'));
    expect(readAll(fs, '/abs', 4, 5)).toEqual(text('hostname').subarray(0, 4));
    expect(() => readAll(fs, '/etc', 1)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(() => readAll(fs, '/dev/null', 1)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(() => readAll(fs, '/dev/fifo', 1)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
  });

  it('a link whose resolution loops: lstat works, reading it (ZenFS following it) is ELOOP', () => {
    const fs = open();
    expect(fs.statSync('/loopA').mode & 0o170000).toBe(0o120000);
    expect(() => readAll(fs, '/loopA', 7)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(() => fs.statSync('/loopB/x')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(readAll(fs, '/dangling', 7)).toEqual(text('nowhere'));
  });

  it('readdirSync lists on-disk order without . and ..', () => {
    const fs = open();
    expect(fs.readdirSync('/')).toEqual(['a', 'abs', 'b', 'big', 'dangling', 'deep', 'dev', 'etc', 'loopA', 'loopB', 'rel']);
    expect(fs.readdirSync('/rel')).toEqual(['hostname']);
    expect(() => fs.readdirSync('/big')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('walks paths longer than PATH_MAX in pieces', () => {
    const fs = open();
    expect(deepPath.length).toBeGreaterThan(4096);
    expect(fs.statSync(deepPath).size).toBe(5);
    expect(readAll(fs, deepPath, 5)).toEqual(text('deep\n'));
    expect(fs.statSync(deepPath.slice(0, -'/leaf'.length) + '/').mode & 0o170000).toBe(0o040000);
    expect(() => fs.statSync(deepPath + '/x')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => fs.statSync('/' + 'x'.repeat(4500))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
  });

  it('writes make Linux checks first, then fail with EROFS', () => {
    const fs = open();
    const opts = { mode: 0o644, uid: 0, gid: 0 };
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code: string }).code;
      }
      return 'none';
    };
    expect(code(() => fs.createFileSync('/new', opts))).toBe('EROFS');
    expect(code(() => fs.createFileSync('/etc/hostname', opts))).toBe('EEXIST');
    expect(code(() => fs.createFileSync('/nodir/new', opts))).toBe('ENOENT');
    expect(code(() => fs.createFileSync('/big/new', opts))).toBe('ENOTDIR');
    expect(code(() => fs.mkdirSync('/etc', opts))).toBe('EEXIST');
    expect(code(() => fs.mkdirSync('/newdir', opts))).toBe('EROFS');
    expect(code(() => fs.unlinkSync('/a'))).toBe('EROFS');
    expect(code(() => fs.rmdirSync('/etc'))).toBe('EROFS');
    expect(code(() => fs.renameSync('/a', '/c'))).toBe('EROFS');
    expect(code(() => fs.linkSync('/a', '/c'))).toBe('EROFS');
    expect(code(() => fs.linkSync('/nope', '/c'))).toBe('ENOENT');
    expect(code(() => fs.touchSync('/a', { mode: 0o600 }))).toBe('EROFS');
    expect(code(() => fs.touchSync('/nope', { mode: 0o600 }))).toBe('ENOENT');
    expect(code(() => fs.writeSync('/a', text('x'), 0))).toBe('EROFS');
    expect(code(() => fs.syncSync())).toBe('none');
  });

  it('usage() reports the image size and no free space; close() ends it with EIO', async () => {
    const fs = open();
    const u = fs.usage();
    expect(u.totalSpace).toBe(fs.image.sb.blocks * 4096);
    expect(u.freeSpace).toBe(0);
    expect(await fs.stat('/etc/hostname')).toMatchObject({ size: 4 });
    await expect(fs.readdir('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
    fs.close();
    expect(() => fs.statSync('/etc')).toThrow(expect.objectContaining({ code: 'EIO' }));
  });
});
