import { describe, expect, it } from 'vitest';
import { dir, file } from '@erofs-js/mkfs';
import { O_APPEND, O_PATH, O_RDONLY, O_WRONLY, PROT_READ, MAP_PRIVATE, ROOT, SEEK_END, SEEK_SET } from '@erofs-js/vfs';
import { at, b, code, dec, overlay } from './testutil.js';

const tree = dir({ f: file('lower data') });

describe('open files of the overlay', () => {
  it('opened on the lower file follow a later copy-up: an old reader sees what a new writer wrote', () => {
    const ov = overlay([tree]);
    at(ov, 'f', (n) => {
      const r = ov.open(n, O_RDONLY, ROOT);
      const buf = new Uint8Array(5);
      expect(r.read(buf)).toBe(5);
      expect(dec.decode(buf)).toBe('lower');
      r.fsync(); // a lower file is not synced, and that is no error
      const w = ov.open(n, O_WRONLY | O_APPEND, ROOT);
      expect(w.write(b('+upper'))).toBe(6);
      w.close();
      const rest = new Uint8Array(64);
      expect(dec.decode(rest.subarray(0, r.read(rest)))).toBe(' data+upper');
      expect(r.lseek(0, SEEK_END)).toBe(16);
      expect(r.stat().size).toBe(16);
      r.close();
      expect(code(() => r.read(buf))).toBe('EBADF');
    });
  });

  it('keep their own offset and flags, and map pages of the real file', () => {
    const ov = overlay([tree]);
    at(ov, 'f', (n) => {
      const f = ov.open(n, O_RDONLY, ROOT);
      expect(f.lseek(6, SEEK_SET)).toBe(6);
      const buf = new Uint8Array(4);
      expect(f.pread(buf, 0)).toBe(4);
      expect(f.offset).toBe(6);
      expect(f.read(buf)).toBe(4);
      expect(dec.decode(buf)).toBe('data');
      const pages = f.mmap!(0, 4096, PROT_READ, MAP_PRIVATE);
      expect(dec.decode(pages[0].subarray(0, 5))).toBe('lower');
      expect(code(() => f.write(b('x')))).toBe('EBADF');
      expect(code(() => f.getdents64(new Uint8Array(64)))).toBe('ENOTDIR');
      f.close();
    });
  });

  it('as O_PATH handles only stat', () => {
    const ov = overlay([tree]);
    at(ov, 'f', (n) => {
      const p = ov.open(n, O_PATH, ROOT);
      expect(p.kind).toBe('path');
      expect(p.stat().size).toBe(10);
      expect(code(() => p.read(new Uint8Array(1)))).toBe('EBADF');
      p.close();
      expect(code(() => p.stat())).toBe('EBADF');
    });
  });
});
