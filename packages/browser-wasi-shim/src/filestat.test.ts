import { describe, expect, it } from 'vitest';
import { wasi } from '@bjorn3/browser_wasi_shim';
import type { Stat } from '@erofs-js/vfs';
import { ErofsFilestat, filestatOf, filetypeOfDtype, filetypeOfMode, timestamp } from './filestat.js';

const stat = (over: Partial<Stat>): Stat => ({
  dev: 7, ino: 36, mode: 0o100644, nlink: 3, uid: 0, gid: 0, rdev: 0, size: 12345, blksize: 4096, blocks: 8,
  atime: 1700000000, atimeNsec: 1, mtime: 1700000001, mtimeNsec: 2, ctime: 1700000002, ctimeNsec: 3, ...over,
});

describe('filestat', () => {
  it('writes WASI filestat at its ABI offsets (64 bytes: dev ino type nlink size atim mtim ctim)', () => {
    const view = new DataView(new ArrayBuffer(80));
    const fs = filestatOf(stat({}));
    expect(fs).toBeInstanceOf(ErofsFilestat);
    fs.write_bytes(view, 8);
    expect(view.getBigUint64(8, true)).toBe(7n);
    expect(view.getBigUint64(16, true)).toBe(36n);
    expect(view.getUint8(24)).toBe(wasi.FILETYPE_REGULAR_FILE);
    expect(view.getBigUint64(32, true)).toBe(3n);
    expect(view.getBigUint64(40, true)).toBe(12345n);
    expect(view.getBigUint64(48, true)).toBe(1700000000_000000001n);
    expect(view.getBigUint64(56, true)).toBe(1700000001_000000002n);
    expect(view.getBigUint64(64, true)).toBe(1700000002_000000003n);
    expect(view.getBigUint64(72, true)).toBe(0n); // nothing past the struct
  });

  it("the shim's own Filestat puts the times elsewhere (why the subclass exists)", () => {
    const view = new DataView(new ArrayBuffer(64));
    const fs = new wasi.Filestat(1n, wasi.FILETYPE_REGULAR_FILE, 0n);
    fs.mtim = 1700000001_000000002n;
    fs.write_bytes(view, 0);
    expect(view.getBigUint64(48, true)).not.toBe(fs.mtim);
  });

  it('timestamps: ns as u64; before 1970 wraps as uvwasi does', () => {
    expect(timestamp(0, 0)).toBe(0n);
    expect(timestamp(4294967296, 5)).toBe(4294967296_000000005n);
    expect(timestamp(-1, 0)).toBe(2n ** 64n - 1_000_000_000n);
    expect(timestamp(-1, 999999999)).toBe(2n ** 64n - 1n);
  });

  it('file types from modes and d_type', () => {
    expect(filetypeOfMode(0o040755)).toBe(wasi.FILETYPE_DIRECTORY);
    expect(filetypeOfMode(0o120777)).toBe(wasi.FILETYPE_SYMBOLIC_LINK);
    expect(filetypeOfMode(0o020666)).toBe(wasi.FILETYPE_CHARACTER_DEVICE);
    expect(filetypeOfMode(0o060660)).toBe(wasi.FILETYPE_BLOCK_DEVICE);
    expect(filetypeOfMode(0o140777)).toBe(wasi.FILETYPE_SOCKET_STREAM);
    expect(filetypeOfMode(0o010644)).toBe(wasi.FILETYPE_SOCKET_STREAM);
    expect(filetypeOfMode(0o170000)).toBe(wasi.FILETYPE_UNKNOWN);
    expect(filetypeOfDtype(8)).toBe(wasi.FILETYPE_REGULAR_FILE);
    expect(filetypeOfDtype(4)).toBe(wasi.FILETYPE_DIRECTORY);
    expect(filetypeOfDtype(10)).toBe(wasi.FILETYPE_SYMBOLIC_LINK);
    expect(filetypeOfDtype(0)).toBe(wasi.FILETYPE_UNKNOWN);
  });
});
