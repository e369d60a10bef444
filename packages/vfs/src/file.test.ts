import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openFixture } from '../../../tests/fixtures.js';
import { ROOT } from './credentials.js';
import { SysError } from './errno.js';
import {
  O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, direntSize, parseDirents,
  type FileDescription,
} from './file.js';
import { Filesystem } from './filesystem.js';
import { openPath } from './resolve.js';

function code(fn: () => unknown): string | number {
  try {
    const r = fn();
    return typeof r === 'number' ? r : 'OK';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

const open = (fs: Filesystem, p: string, flags = O_RDONLY) => openPath(fs, p, flags, ROOT);

function names(f: FileDescription, bufSize: number): { name: string; off: number; ino: number }[] {
  const buf = new Uint8Array(bufSize);
  const out = [];
  for (let n; (n = f.getdents64(buf)) > 0; ) for (const e of parseDirents(buf, n)) out.push({ name: Buffer.from(e.name).toString('latin1'), off: e.off, ino: e.ino });
  return out;
}

describe('regular file descriptions', () => {
  const fs = new Filesystem(openFixture('basic-18.erofs'));

  it('read, pread, readv and preadv agree with the content', () => {
    const f = open(fs, '/files/size-102407');
    const whole = new Uint8Array(102407);
    expect(f.pread(whole, 0)).toBe(102407);
    expect(createHash('sha256').update(whole).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
    const a = new Uint8Array(1000);
    expect(f.read(a)).toBe(1000);
    expect(f.offset).toBe(1000);
    expect(a).toEqual(whole.subarray(0, 1000));
    const parts = [new Uint8Array(10), new Uint8Array(0), new Uint8Array(5000)];
    expect(f.readv(parts)).toBe(5010);
    expect(f.offset).toBe(6010);
    expect(parts[2]).toEqual(whole.subarray(1010, 6010));
    expect(f.preadv([new Uint8Array(100), new Uint8Array(100)], 102400)).toBe(7);
    const tail = new Uint8Array(50);
    expect(f.pread(tail, 102400, 10, 20)).toBe(7);
    expect(tail.subarray(10, 17)).toEqual(whole.subarray(102400));
    expect(f.pread(tail, 102407)).toBe(0);
    expect(f.pread(tail, 2 ** 40)).toBe(0);
    expect(code(() => f.pread(tail, -1))).toBe('EINVAL');
    f.close();
    expect(code(() => f.read(a))).toBe('EBADF');
    expect(code(() => f.close())).toBe('EBADF');
  });

  it('seeks like Linux: SET, CUR, END, negative results EINVAL, bad whence EINVAL', () => {
    const f = open(fs, '/files/size-1');
    expect(f.lseek(10, SEEK_END)).toBe(11);
    expect(f.lseek(-5, SEEK_CUR)).toBe(6);
    expect(f.lseek(2 ** 40, SEEK_SET)).toBe(2 ** 40);
    expect(code(() => f.lseek(-1, SEEK_SET))).toBe('EINVAL');
    expect(code(() => f.lseek(0, 7))).toBe('EINVAL');
    expect(f.lseek(0, SEEK_HOLE)).toBe(1);
    expect(f.lseek(0, SEEK_DATA)).toBe(0);
    expect(code(() => f.lseek(5, SEEK_DATA))).toBe('ENXIO');
    expect(code(() => f.lseek(1, SEEK_HOLE))).toBe('ENXIO');
    f.close();
  });

  it('SEEK_DATA / SEEK_HOLE see chunk holes exactly where the kernel does', () => {
    // basic-18-chunk /files/sparse on kernel 6.18: data only in [28672, 36864).
    const cfs = new Filesystem(openFixture('basic-18-chunk.erofs'));
    const f = open(cfs, '/files/sparse');
    const seek = (off: number, w: number) => code(() => f.lseek(off, w));
    const table: [number, number | string, number | string][] = [
      [0, 28672, 0], [4095, 28672, 4095], [28672, 28672, 36864], [32768, 32768, 36864], [36864, 'ENXIO', 36864],
      [65535, 'ENXIO', 65535], [65536, 'ENXIO', 'ENXIO'],
    ];
    for (const [off, data, hole] of table) expect([off, seek(off, SEEK_DATA), seek(off, SEEK_HOLE)]).toEqual([off, data, hole]);
    f.close();
    // The same file stored flat (basic-18) has no holes at all.
    const g = open(fs, '/files/sparse');
    expect([g.lseek(100, SEEK_DATA), g.lseek(100, SEEK_HOLE)]).toEqual([100, 65536]);
    g.close();
  });

  it('compressed files report no holes', () => {
    const zfs = new Filesystem(openFixture('z-lz4hc-18.erofs'));
    const f = open(zfs, '/big/sparse-1m');
    expect([f.lseek(4096, SEEK_DATA), f.lseek(4096, SEEK_HOLE)]).toEqual([4096, f.stat().size]);
    f.close();
  });

  it('refuses writes and directory calls', () => {
    const f = open(fs, '/files/size-1');
    expect(code(() => f.write(new Uint8Array(1)))).toBe('EBADF');
    expect(code(() => f.pwrite(new Uint8Array(1), 0))).toBe('EBADF');
    expect(code(() => f.writev([new Uint8Array(1)]))).toBe('EBADF');
    expect(code(() => f.pwritev([new Uint8Array(1)], 0))).toBe('EBADF');
    expect(code(() => f.fallocate(0, 0, 1))).toBe('EBADF');
    expect(code(() => f.truncate(0))).toBe('EINVAL');
    expect(code(() => f.fsync())).toBe('EINVAL');
    expect(code(() => f.fdatasync())).toBe('EINVAL');
    // fchmod / fchown go to the filesystem through the description's node.
    expect(code(() => fs.chmod(f.node, 0o644, ROOT))).toBe('EROFS');
    expect(code(() => fs.chown(f.node, 0, 0, ROOT))).toBe('EROFS');
    expect(code(() => f.getdents64(new Uint8Array(100)))).toBe('ENOTDIR');
    expect(f.stat().size).toBe(1);
    f.close();
  });

  it('O_PATH descriptions only stat and readlink', () => {
    const f = open(fs, '/links/rel', O_PATH | O_NOFOLLOW);
    expect(f.kind).toBe('path');
    expect(new TextDecoder().decode(f.readlink())).toBe('../files/size-1');
    expect(f.stat().mode).toBe(0o120777);
    for (const op of [() => f.read(new Uint8Array(1)), () => f.lseek(0, SEEK_SET), () => f.fsync(), () => f.truncate(0), () => f.write(new Uint8Array(1)), () => f.getdents64(new Uint8Array(64))]) {
      expect(code(op)).toBe('EBADF');
    }
    f.close();
  });
});

describe('directory descriptions', () => {
  const fs = new Filesystem(openFixture('basic-18.erofs'), { dentryCacheSize: 0 });

  it('lists "." and ".." with the kernel d_off values (kernel 6.18, /modes of basic-18)', () => {
    const f = open(fs, '/modes', O_RDONLY | O_DIRECTORY);
    const all = names(f, 32768);
    expect(all.map((e) => [e.name, e.off, e.ino])).toEqual([
      ['.', 12, 164], ['..', 24, 40], ['dir-0000', 36, 16122], ['dir-7777', 48, 16124], ['m0000', 60, 16383], ['m0600', 72, 16255],
      ['m1755', 84, 17023], ['m2755', 96, 16126], ['m4755', 108, 16127], ['m7777', 120, 16499], ['sticky-dir', 191, 16500],
    ]);
    expect(f.offset).toBe(191);
    expect(code(() => f.read(new Uint8Array(8)))).toBe('EISDIR');
    // A position between entries rounds up; a buffer too small for the next record is EINVAL.
    expect(f.lseek(13, SEEK_SET)).toBe(13);
    expect(names(f, 32768)[0]).toEqual({ name: 'dir-0000', off: 36, ino: 16122 });
    f.lseek(0, SEEK_SET);
    expect(code(() => f.getdents64(new Uint8Array(23)))).toBe('EINVAL');
    expect(f.getdents64(new Uint8Array(24))).toBe(24);
    expect(code(() => f.getdents64(new Uint8Array(24)))).toBe(24);
    expect(code(() => f.getdents64(new Uint8Array(24)))).toBe('EINVAL');
    expect(f.offset).toBe(24);
    // Directories take any position, and SEEK_DATA / SEEK_HOLE as generic files do.
    expect(f.lseek(2 ** 40, SEEK_SET)).toBe(2 ** 40);
    expect(f.getdents64(new Uint8Array(100))).toBe(0);
    expect(f.lseek(3, SEEK_DATA)).toBe(3);
    expect(f.lseek(3, SEEK_HOLE)).toBe(191);
    expect(f.lseek(10, SEEK_END)).toBe(201);
    expect(code(() => f.lseek(191, SEEK_DATA))).toBe('ENXIO');
    f.close();
  });

  it('keeps positions valid across descriptions, buffer sizes and dentry eviction', () => {
    const f = open(fs, '/bigdir', O_RDONLY | O_DIRECTORY);
    const whole = names(f, 1 << 16);
    expect(whole.length).toBe(2540 + 2);
    for (const size of [direntSize(255), 300, 1000, 5000]) {
      f.lseek(0, SEEK_SET);
      expect(names(f, size)).toEqual(whole);
    }
    // Resume from any d_off in a fresh description.
    for (const k of [0, 1, 100, 1234, whole.length - 2]) {
      const g = open(fs, '/bigdir', O_RDONLY | O_DIRECTORY);
      g.lseek(whole[k].off, SEEK_SET);
      expect(names(g, 4096)).toEqual(whole.slice(k + 1));
      g.close();
    }
    expect(whole[whole.length - 1].off).toBe(f.stat().size);
    f.close();
    expect(fs.stats().dentriesCached).toBe(0);
  });

  it('synthesizes "." at the end of a DOT_OMITTED directory, as Linux does', () => {
    // Kernel 6.18, basic-19-dotomitted /modes: "." comes last with d_off i_size + 1.
    const dfs = new Filesystem(openFixture('basic-19-dotomitted.erofs'));
    const f = open(dfs, '/modes', O_RDONLY | O_DIRECTORY);
    const all = names(f, 100);
    expect(all[0]).toEqual({ name: '..', off: 12, ino: 40 });
    expect(all.slice(-2)).toEqual([{ name: 'sticky-dir', off: 178, ino: 8574 }, { name: '.', off: 179, ino: 73 }]);
    expect(f.offset).toBe(179);
    for (const [pos, expected] of [[178, ['.']], [170, ['.']], [179, []]] as const) {
      f.lseek(pos, SEEK_SET);
      expect(names(f, 4096).map((e) => e.name)).toEqual(expected);
    }
    f.close();
    const e = open(dfs, '/modes/dir-0000', O_RDONLY | O_DIRECTORY);
    expect(names(e, 4096)).toEqual([{ name: '..', off: 14, ino: 73 }, { name: '.', off: 15, ino: 8566 }]);
    e.close();
  });
});
