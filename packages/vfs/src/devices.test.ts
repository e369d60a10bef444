/**
 * Device registry and memory devices. Every expected answer was checked against Linux
 * 6.18.44 (python3 as root: os.mknod in a tmpfs, os.open / os.read / os.write / os.lseek
 * on /dev/null, zero, full, random, urandom, and on nodes with unused numbers).
 */
import { describe, expect, it } from 'vitest';
import { S_IFBLK, S_IFCHR, S_IFLNK, S_IFREG, makedev } from '@erofs-js/erofs';
import type { FilesystemImpl, FsNode } from './contract.js';
import { ROOT } from './credentials.js';
import { DeviceFile, DeviceRegistry, type DeviceDriver } from './devices.js';
import { SysError } from './errno.js';
import { O_DIRECT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET } from './file.js';
import type { Stat } from './inode.js';
import { MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from './mmap.js';

/** A node of a stand-in filesystem that only answers stat, counting references. */
function devNode(mode: number, rdev: number) {
  const stat: Stat = {
    dev: 77, ino: 12, mode, nlink: 1, uid: 0, gid: 0, rdev, size: 0, blksize: 4096, blocks: 0,
    atime: 0, atimeNsec: 0, mtime: 0, mtimeNsec: 0, ctime: 0, ctimeNsec: 0,
  };
  const fs = { stat: () => stat, statx: () => ({ mode, rdevMajor: rdev >>> 8, rdevMinor: rdev & 0xff }) } as unknown as FilesystemImpl;
  const node = { fs, parent: null, key: 'dev', mode, refs: 0, incRef() { node.refs++; }, decRef() { node.refs--; } };
  return node as FsNode & { refs: number };
}

const chr = (major: number, minor: number) => devNode(S_IFCHR | 0o666, makedev(major, minor));
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('memory devices (drivers/char/mem.c)', () => {
  const reg = new DeviceRegistry();
  const open = (minor: number, flags = O_RDWR) => reg.open(chr(1, minor), flags, ROOT);

  it('null: read is EOF, writes are taken whole, pread/pwrite anywhere', () => {
    const f = open(3);
    const buf = new Uint8Array(8).fill(9);
    expect(f.read(buf)).toBe(0);
    expect(buf[0]).toBe(9);
    expect(f.write(new TextEncoder().encode('hello'))).toBe(5);
    expect(f.write(new Uint8Array(0))).toBe(0);
    expect(f.pread(buf, 100)).toBe(0);
    expect(f.pwrite(new Uint8Array(4), 100)).toBe(4);
    expect(f.readv([new Uint8Array(3), new Uint8Array(4)])).toBe(0);
    expect(f.writev([new Uint8Array(3), new Uint8Array(4)])).toBe(7);
  });

  it('zero and full read zeros; zero takes writes, full refuses every write (even 0 bytes) with ENOSPC', () => {
    for (const minor of [5, 7]) {
      const f = open(minor);
      const buf = new Uint8Array(8).fill(9);
      expect(f.read(buf)).toBe(8);
      expect([...buf]).toEqual(new Array(8).fill(0));
      expect(f.pread(buf, 100, 0, 4)).toBe(4);
      const v = [new Uint8Array(3).fill(1), new Uint8Array(4).fill(1)];
      expect(f.readv(v)).toBe(7);
      expect(v.every((b) => b.every((x) => x === 0))).toBe(true);
    }
    const zero = open(5);
    expect(zero.write(new Uint8Array(5))).toBe(5);
    expect(zero.write(new Uint8Array(0))).toBe(0);
    expect(zero.pwrite(new Uint8Array(4), 100)).toBe(4);
    const full = open(7);
    expect(code(() => full.write(new Uint8Array(5)))).toBe('ENOSPC');
    expect(code(() => full.write(new Uint8Array(0)))).toBe('ENOSPC');
    expect(code(() => full.pwrite(new Uint8Array(4), 100))).toBe('ENOSPC');
    expect(code(() => full.writev([new Uint8Array(3), new Uint8Array(4)]))).toBe('ENOSPC');
  });

  it('random and urandom read random bytes of any length (1 MiB at once) and ignore writes', () => {
    for (const minor of [8, 9]) {
      const f = open(minor);
      const big = new Uint8Array(1 << 20);
      expect(f.read(big)).toBe(1 << 20);
      // 1 MiB of zeros from a random source: not in this universe.
      expect(big.some((b) => b !== 0)).toBe(true);
      expect(big.subarray(big.length - 65536).some((b) => b !== 0)).toBe(true);
      expect(f.read(new Uint8Array(0))).toBe(0);
      expect(f.write(new Uint8Array(5))).toBe(5);
      expect(f.pread(new Uint8Array(4), 100)).toBe(4);
      expect(f.readv([new Uint8Array(3), new Uint8Array(4)])).toBe(7);
    }
  });

  it('lseek answers 0 for any offset and whence 0..4 (null_lseek, noop_llseek); whence 5+ is EINVAL', () => {
    for (const minor of [3, 5, 7, 8, 9]) {
      const f = open(minor);
      expect(f.lseek(10, SEEK_SET)).toBe(0);
      expect(f.lseek(5, SEEK_CUR)).toBe(0);
      expect(f.lseek(3, SEEK_END)).toBe(0);
      expect(f.lseek(-1, SEEK_SET)).toBe(0);
      expect(f.lseek(0, 3)).toBe(0);
      expect(f.lseek(0, 4)).toBe(0);
      expect(f.lseek(2 ** 52, SEEK_SET)).toBe(0);
      expect(code(() => f.lseek(0, 99))).toBe('EINVAL');
      f.read(new Uint8Array(16));
      expect(f.lseek(0, SEEK_CUR)).toBe(0);
      expect(f.offset).toBe(0);
    }
  });

  it('what a device cannot do: ftruncate EINVAL, fsync EINVAL, fallocate ENODEV, getdents64 ENOTDIR', () => {
    const f = open(3);
    expect(code(() => f.truncate(0))).toBe('EINVAL');
    expect(code(() => f.truncate(10))).toBe('EINVAL');
    expect(code(() => f.fsync())).toBe('EINVAL');
    expect(code(() => f.fdatasync())).toBe('EINVAL');
    expect(code(() => f.fallocate(0, 0, 10))).toBe('ENODEV');
    expect(code(() => f.getdents64(new Uint8Array(100)))).toBe('ENOTDIR');
  });

  it('access mode: read of a write-only description and write of a read-only one are EBADF; a negative pread position EINVAL', () => {
    expect(code(() => open(3, O_WRONLY).read(new Uint8Array(4)))).toBe('EBADF');
    expect(code(() => open(3, O_RDONLY).write(new Uint8Array(1)))).toBe('EBADF');
    expect(code(() => open(5, O_WRONLY).pread(new Uint8Array(1), 0))).toBe('EBADF');
    expect(code(() => open(5, O_RDONLY).pread(new Uint8Array(1), -1))).toBe('EINVAL');
  });

  it('stat is the inode\'s (through the node\'s filesystem, rdev included); O_TRUNC is ignored, O_DIRECT EINVAL', () => {
    const node = chr(1, 3);
    const f = reg.open(node, O_WRONLY | O_TRUNC, ROOT);
    expect(f.stat()).toMatchObject({ mode: S_IFCHR | 0o666, rdev: makedev(1, 3), size: 0, ino: 12, dev: 77 });
    expect(f.flags & O_TRUNC).toBe(0);
    expect(code(() => reg.open(chr(1, 3), O_RDWR | O_DIRECT, ROOT))).toBe('EINVAL');
  });

  it('holds the node until close; a second close is EBADF, as is any call after it', () => {
    const node = chr(1, 5);
    const f = reg.open(node, O_RDWR, ROOT);
    expect(node.refs).toBe(1);
    f.close();
    expect(node.refs).toBe(0);
    expect(f.isClosed).toBe(true);
    expect(code(() => f.close())).toBe('EBADF');
    expect(code(() => f.read(new Uint8Array(1)))).toBe('EBADF');
    expect(code(() => f.stat())).toBe('EBADF');
  });

  it('only /dev/zero maps: fresh zero pages; null ENODEV; offset or map type wrong EINVAL; write-only EACCES', () => {
    const zero = open(5, O_RDONLY);
    const pages = zero.mmap!(0, 5000, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    expect(pages.map((p) => p.length)).toEqual([4096, 4096]);
    expect(pages[1].every((b) => b === 0)).toBe(true);
    expect(code(() => zero.mmap!(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe('EACCES');
    expect(code(() => zero.mmap!(100, 4096, PROT_READ, MAP_PRIVATE))).toBe('EINVAL');
    expect(code(() => zero.mmap!(0, 4096, PROT_READ, 0))).toBe('EINVAL');
    expect(code(() => open(5, O_WRONLY).mmap!(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('EACCES');
    expect(code(() => open(3).mmap!(0, 4096, PROT_READ, MAP_PRIVATE))).toBe('ENODEV');
  });
});

describe('DeviceRegistry', () => {
  it('a number no driver claims is ENXIO, char and block alike (240:7, 1:200, 1:1 without /dev/mem)', () => {
    const reg = new DeviceRegistry();
    for (const flags of [O_RDONLY, O_WRONLY, O_RDWR]) {
      expect(code(() => reg.open(chr(240, 7), flags, ROOT))).toBe('ENXIO');
      expect(code(() => reg.open(chr(1, 200), flags, ROOT))).toBe('ENXIO');
      expect(code(() => reg.open(chr(1, 1), flags, ROOT))).toBe('ENXIO');
      expect(code(() => reg.open(devNode(S_IFBLK | 0o660, makedev(240, 7)), flags, ROOT))).toBe('ENXIO');
    }
    // The same number as a block device is another namespace.
    expect(code(() => reg.open(devNode(S_IFBLK | 0o660, makedev(1, 3)), O_RDONLY, ROOT))).toBe('ENXIO');
    expect(code(() => reg.open(devNode(S_IFREG | 0o644, 0), O_RDONLY, ROOT))).toBe('EINVAL');
  });

  it('without builtins nothing opens; an exact minor wins over "any"; a taken number is EBUSY; unregister frees it', () => {
    const reg = new DeviceRegistry({ builtins: false });
    expect(code(() => reg.open(chr(1, 3), O_RDWR, ROOT))).toBe('ENXIO');
    const opened: string[] = [];
    const driver = (name: string): DeviceDriver => ({
      open: ({ node, flags, minor }) => {
        opened.push(`${name}:${minor}`);
        return new DeviceFile(node, flags);
      },
    });
    reg.register('block', 7, 'any', driver('loop'));
    reg.register('block', 7, 3, driver('loop3'));
    reg.open(devNode(S_IFBLK | 0o660, makedev(7, 0)), O_RDONLY, ROOT).close();
    reg.open(devNode(S_IFBLK | 0o660, makedev(7, 3)), O_RDONLY, ROOT).close();
    expect(opened).toEqual(['loop:0', 'loop3:3']);
    expect(code(() => reg.register('block', 7, 3, driver('again')))).toBe('EBUSY');
    expect(reg.unregister('block', 7, 3)).toBe(true);
    expect(reg.unregister('block', 7, 3)).toBe(false);
    reg.open(devNode(S_IFBLK | 0o660, makedev(7, 3)), O_RDONLY, ROOT).close();
    expect(opened[2]).toBe('loop:3');
    expect(() => reg.register('char', 4096, 0, driver('x'))).toThrow(RangeError);
  });

  it('a driver without methods answers as a bare char device: read/write EINVAL, lseek and pread ESPIPE', () => {
    const reg = new DeviceRegistry({ builtins: false });
    reg.register('char', 10, 'any', { open: ({ node, flags }) => new DeviceFile(node, flags) });
    const f = reg.open(chr(10, 1), O_RDWR, ROOT);
    expect(code(() => f.read(new Uint8Array(1)))).toBe('EINVAL');
    expect(code(() => f.write(new Uint8Array(1)))).toBe('EINVAL');
    expect(code(() => f.lseek(0, SEEK_SET))).toBe('ESPIPE');
    expect(code(() => f.lseek(0, 99))).toBe('EINVAL');
    expect(code(() => f.pread(new Uint8Array(1), 0))).toBe('ESPIPE');
    expect(code(() => f.pread(new Uint8Array(1), -1))).toBe('EINVAL');
    expect(code(() => f.pwrite(new Uint8Array(1), 0))).toBe('ESPIPE');
  });

  it('an emulator adds a tty at 5:0: its own read and write, no seeking, and a /dev entry', () => {
    /** A terminal: input the emulator feeds, output it collects. */
    class Tty extends DeviceFile {
      static input: number[] = [];
      static output: number[] = [];
      protected override readAt(dest: Uint8Array): number {
        const n = Math.min(dest.length, Tty.input.length);
        dest.set(Tty.input.splice(0, n));
        return n;
      }
      protected override writeAt(src: Uint8Array): number {
        Tty.output.push(...src);
        return src.length;
      }
    }
    const reg = new DeviceRegistry();
    reg.register('char', 5, 0, { open: ({ node, flags }) => new Tty(node, flags) }, { name: 'tty', mode: 0o666, gid: 5 });
    const tty = reg.open(chr(5, 0), O_RDWR, ROOT);
    expect(tty.write(new TextEncoder().encode('$ '))).toBe(2);
    expect(String.fromCharCode(...Tty.output)).toBe('$ ');
    Tty.input.push(...new TextEncoder().encode('ls\n'));
    const buf = new Uint8Array(16);
    expect(tty.read(buf)).toBe(3);
    expect(code(() => tty.lseek(0, SEEK_CUR))).toBe('ESPIPE');
    expect(code(() => tty.pread(buf, 0))).toBe('ESPIPE');
    expect(reg.devEntries().find((e) => e.name === 'tty')).toEqual({
      name: 'tty', mode: S_IFCHR | 0o666, uid: 0, gid: 5, rdev: makedev(5, 0), major: 5, minor: 0, target: null,
    });
  });

  it('devEntries: the memory devices crw-rw-rw- and the fd/stdin/stdout/stderr links, sorted; tty only when registered', () => {
    const entries = new DeviceRegistry().devEntries();
    expect(entries.map((e) => e.name)).toEqual(['fd', 'full', 'null', 'random', 'stderr', 'stdin', 'stdout', 'urandom', 'zero']);
    const by = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(by.null).toMatchObject({ mode: S_IFCHR | 0o666, rdev: makedev(1, 3), uid: 0, gid: 0, target: null });
    expect([by.zero.minor, by.full.minor, by.random.minor, by.urandom.minor]).toEqual([5, 7, 8, 9]);
    expect(by.fd).toMatchObject({ mode: S_IFLNK | 0o777, target: '/proc/self/fd' });
    expect([by.stdin.target, by.stdout.target, by.stderr.target]).toEqual(['/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2']);
    expect(new DeviceRegistry({ builtins: false }).devEntries().map((e) => e.name)).toEqual(['fd', 'stderr', 'stdin', 'stdout']);
  });
});
