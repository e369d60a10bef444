/**
 * TmpFile: reads, writes and listings through open descriptions. Kernel answers recorded
 * from Linux 6.18's tmpfs where noted.
 */
import { O_APPEND, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, parseDirents } from '@erofs-js/vfs';
import { describe, expect, it } from 'vitest';
import { DIR_OFFSET_EOD } from './dir.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from './file.js';
import { Tmpfs } from './tmpfs.js';
import { ROOT, at, b, expectErrno, str, walk, writeFile } from './testutil.js';

function open(fs: Tmpfs, path: string, flags: number) {
  return at(fs, path, (n) => fs.open(n, flags, ROOT));
}

function list(f: ReturnType<typeof open>, size = 4096) {
  const buf = new Uint8Array(size);
  const out: { name: string; off: number; type: number }[] = [];
  for (;;) {
    const n = f.getdents64(buf);
    if (n === 0) return out;
    for (const d of parseDirents(buf, n)) out.push({ name: str(d.name), off: d.off, type: d.type });
  }
}

describe('reading and writing', () => {
  it('write, pwrite, writev, pwritev, read, pread, readv, preadv, past EOF, holes', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', '');
    const f = open(fs, 'f', O_RDWR);
    expect(f.write(b('hello'))).toBe(5);
    expect(f.offset).toBe(5);
    expect(f.pwrite(b('XY'), 1)).toBe(2);
    expect(f.offset).toBe(5);
    expect(f.writev([b(' wor'), b('ld')])).toBe(6);
    expect(f.pwritev([b('!'), b('!')], 20)).toBe(2);
    expect(f.stat().size).toBe(22);
    // An empty buffer in the middle is passed over (observed: ["ab", "", "cd"] writes 4).
    expect(f.pwritev([b(''), b('!'), new Uint8Array(0), b('!')], 20)).toBe(2);
    const all = new Uint8Array(30);
    expect(f.pread(all, 0)).toBe(22);
    expect(str(all.subarray(0, 11))).toBe('hXYlo world');
    expect([...all.subarray(11, 20)].every((x) => x === 0)).toBe(true);
    f.lseek(0, SEEK_SET);
    const a = new Uint8Array(3);
    const c = new Uint8Array(4);
    expect(f.readv([a, c])).toBe(7);
    expect(str(a) + str(c)).toBe('hXYlo w');
    expect(f.preadv([a, c], 19)).toBe(3);
    expect(f.read(new Uint8Array(0))).toBe(0);
    expectErrno(() => f.pread(a, -1), 'EINVAL');
    expectErrno(() => f.pwrite(a, -1), 'EINVAL');
    f.close();
    expectErrno(() => f.read(a), 'EBADF');
    expectErrno(() => f.close(), 'EBADF');
  });

  it('O_APPEND writes at the end, pwrite too (as Linux); access modes give EBADF', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', 'abc');
    const f = open(fs, 'f', O_WRONLY | O_APPEND);
    f.write(b('d'));
    f.pwrite(b('e'), 0);
    expect(f.stat().size).toBe(5);
    expectErrno(() => f.read(new Uint8Array(1)), 'EBADF');
    f.close();
    const r = open(fs, 'f', O_RDONLY);
    expectErrno(() => r.write(b('x')), 'EBADF');
    expectErrno(() => r.truncate(0), 'EINVAL');
    expectErrno(() => r.fallocate(0, 0, 1), 'EBADF');
    const out = new Uint8Array(5);
    r.read(out);
    expect(str(out)).toBe('abcde');
    r.close();
    const p = open(fs, 'f', O_PATH);
    expectErrno(() => p.read(out), 'EBADF');
    expectErrno(() => p.lseek(0, SEEK_SET), 'EBADF');
    expect(p.stat().size).toBe(5);
    p.close();
  });

  it('lseek: SET/CUR/END, SEEK_DATA/SEEK_HOLE over holes, EINVAL before 0, ENXIO at the end', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'f', '');
    const f = open(fs, 'f', O_RDWR);
    f.pwrite(b('x'), 10000);
    expect(f.lseek(0, SEEK_DATA)).toBe(8192);
    expect(f.lseek(0, SEEK_HOLE)).toBe(0);
    expect(f.lseek(8192, SEEK_HOLE)).toBe(10001);
    expectErrno(() => f.lseek(10001, SEEK_DATA), 'ENXIO');
    expect(f.lseek(-1, SEEK_END)).toBe(10000);
    expect(f.lseek(5, SEEK_CUR)).toBe(10005);
    expectErrno(() => f.lseek(-1, SEEK_SET), 'EINVAL');
    expectErrno(() => f.lseek(0, 7), 'EINVAL');
    f.close();
  });

  it('ftruncate and fallocate (observed: EOPNOTSUPP for PUNCH without KEEP_SIZE, COLLAPSE, ZERO, unknown bits; EINVAL for length 0; ENOSPC leaves nothing)', () => {
    const fs = new Tmpfs({ size: '1m' });
    writeFile(fs, 'g', '');
    const f = open(fs, 'g', O_RDWR);
    f.fallocate(0, 8192, 4096);
    expect(f.stat()).toMatchObject({ size: 12288, blocks: 8 });
    f.fallocate(FALLOC_FL_KEEP_SIZE, 40960, 4096);
    expect(f.stat()).toMatchObject({ size: 12288, blocks: 16 });
    expectErrno(() => f.fallocate(FALLOC_FL_PUNCH_HOLE, 0, 10), 'EOPNOTSUPP');
    expectErrno(() => f.fallocate(0x08, 0, 4096), 'EOPNOTSUPP');
    expectErrno(() => f.fallocate(0x10, 0, 4096), 'EOPNOTSUPP');
    expectErrno(() => f.fallocate(0x100, 0, 10), 'EOPNOTSUPP');
    expectErrno(() => f.fallocate(0, 0, 0), 'EINVAL');
    expectErrno(() => f.fallocate(0, -1, 5), 'EINVAL');
    expectErrno(() => f.fallocate(0, 0, 2 << 20), 'ENOSPC');
    expect(f.stat()).toMatchObject({ size: 12288, blocks: 16 });
    f.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20);
    expect(f.stat()).toMatchObject({ size: 12288, blocks: 0 });
    f.truncate(100);
    expect(f.stat().size).toBe(100);
    expectErrno(() => f.truncate(-1), 'EINVAL');
    f.fsync();
    f.fdatasync();
    f.close();
  });

  it('a write crossing the size limit stops short; bytes written are read back (observed short count 1036288)', () => {
    const fs = new Tmpfs({ size: '1m' });
    writeFile(fs, 'a', new Uint8Array(3 * 4096 - 10).fill(1));
    writeFile(fs, 'big', '');
    const f = open(fs, 'big', O_RDWR);
    const src = new Uint8Array(2 << 20).map((_, i) => i & 0xff);
    expect(f.write(src)).toBe(1036288);
    expectErrno(() => f.write(b('z')), 'ENOSPC');
    const back = new Uint8Array(1036288);
    f.pread(back, 0);
    expect(back).toEqual(src.subarray(0, 1036288));
    f.close();
  });
});

describe('getdents64', () => {
  it('"." and ".." first, then the newest entries first (observed), with d_off positions and d_type', () => {
    const fs = new Tmpfs();
    fs.mkdir(fs.root, b('d'), 0o755, ROOT);
    for (const n of ['x', 'y', 'z']) writeFile(fs, `d/${n}`, '');
    at(fs, 'd', (d) => fs.unlink(d, b('y'), ROOT));
    at(fs, 'd', (d) => fs.mkdir(d, b('w'), 0o755, ROOT));
    const f = open(fs, 'd', O_RDONLY);
    const got = list(f);
    expect(got.map((e) => e.name)).toEqual(['.', '..', 'w', 'z', 'x']);
    expect(got.map((e) => e.type)).toEqual([4, 4, 4, 8, 8]);
    // x, y, z took offsets 3, 4, 5 and w 6: each d_off is the next entry's offset, the last EOD.
    expect(got.map((e) => e.off)).toEqual([1, 6, 5, 3, DIR_OFFSET_EOD]);
    expect(f.lseek(0, SEEK_CUR)).toBe(DIR_OFFSET_EOD);
    expect(f.getdents64(new Uint8Array(1024))).toBe(0);
    // Resuming from any d_off continues after that entry.
    for (let i = 0; i < got.length; i++) {
      f.lseek(got[i].off, SEEK_SET);
      expect(list(f).map((e) => e.name)).toEqual(got.slice(i + 1).map((e) => e.name));
    }
    expectErrno(() => f.lseek(0, SEEK_END), 'EINVAL');
    expectErrno(() => f.lseek(-1, SEEK_SET), 'EINVAL');
    expectErrno(() => f.read(new Uint8Array(1)), 'EISDIR');
    f.close();
  });

  it('positions stay valid while entries come and go; entries renamed or made while listing go behind the reader', () => {
    const fs = new Tmpfs();
    fs.mkdir(fs.root, b('d'), 0o755, ROOT);
    for (let i = 0; i < 50; i++) writeFile(fs, `d/f${i}`, '');
    const f = open(fs, 'd', O_RDONLY);
    const buf = new Uint8Array(24 * 10);
    const seen: string[] = [];
    let n: number;
    const d = walk(fs, 'd');
    let made = 0;
    let removed = 0;
    while ((n = f.getdents64(buf)) > 0) {
      for (const e of parseDirents(buf, n)) {
        const name = str(e.name);
        seen.push(name);
        // A batch may hold a name removed since it was packed, as with Linux.
        if (name.startsWith('f') && d.inode.dir?.has(name)) {
          // Rename each entry as it is read (a new offset, the front of the list) and remove
          // one ahead of the reader (older: a lower number).
          fs.rename(d, e.name, d, b(`r${name}`), 0, ROOT);
          made++;
          const ahead = `f${Number(name.slice(1)) - 2}`;
          if (d.inode.dir?.has(ahead) && Number(name.slice(1)) % 10 === 0) {
            fs.unlink(d, b(ahead), ROOT);
            removed++;
          }
        }
      }
    }
    d.decRef();
    expect(seen.filter((s) => s.startsWith('r'))).toEqual([]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(made + removed).toBe(50);
    expect(removed).toBeGreaterThan(0);
    f.lseek(0, SEEK_SET);
    expect(list(f).length).toBe(2 + made);
    f.close();
  });

  it('a buffer too small for the next record is EINVAL when nothing was written', () => {
    const fs = new Tmpfs();
    writeFile(fs, 'a-long-name-here', '');
    const f = open(fs, '', O_RDONLY);
    expectErrno(() => f.getdents64(new Uint8Array(10)), 'EINVAL');
    const buf = new Uint8Array(48);
    const dots = parseDirents(buf, f.getdents64(buf));
    expect(dots.map((e) => str(e.name))).toEqual(['.', '..']);
    // ".." says where the entry that did not fit is, and the description stops there.
    const at = dots[1].off;
    expect(at).toBe(3);
    expect(f.lseek(0, SEEK_CUR)).toBe(at);
    expectErrno(() => f.getdents64(new Uint8Array(24)), 'EINVAL');
    expect(f.lseek(0, SEEK_CUR)).toBe(at);
    expect(list(f).map((e) => e.name)).toEqual(['a-long-name-here']);
    f.close();
  });
});
