import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildImage } from './builder.js';
import { tarSource } from './fromtar.js';
import { buildImageFileFromTar, nodeGunzip, SpoolStore, TarFileStore, tarFileSource } from './tarnode.js';
import { tar } from './testutil.js';

const archive = tar(
  { path: './', type: '5' },
  { path: 'a', data: 'x'.repeat(10_000) },
  { path: 'sub/b', data: new Uint8Array(70_000).map((_, i) => i % 251) },
  { path: 'sub/.wh.c' },
);

describe('tar files on Node', () => {
  it('a .tar (read back by offset), a .tar.gz (spooled) and memory give the same image; nothing is left beside it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tarnode-'));
    try {
      const mem = await tarSource(archive, { aufs: true });
      const want = buildImage(mem);
      writeFileSync(join(work, 'l.tar'), archive);
      writeFileSync(join(work, 'l.tar.gz'), gzipSync(archive));
      for (const src of ['l.tar', 'l.tar.gz']) {
        const size = await buildImageFileFromTar(join(work, src), join(work, 'out.erofs'), { aufs: true });
        expect(size).toBe(want.length);
        expect(Buffer.compare(readFileSync(join(work, 'out.erofs')), want), src).toBe(0);
      }
      expect(readdirSync(work).sort()).toEqual(['l.tar', 'l.tar.gz', 'out.erofs']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('stores: TarFileStore locates data by archive offset, SpoolStore by its own, unlinked from the start', () => {
    const work = mkdtempSync(join(tmpdir(), 'tarnode-'));
    try {
      writeFileSync(join(work, 't'), 'hello, world');
      const t = new TarFileStore(join(work, 't'));
      expect(t.append(new Uint8Array(5), 7)).toBe(7);
      const out = new Uint8Array(5);
      t.read(7, out);
      expect(Buffer.from(out).toString()).toBe('world');
      expect(() => t.read(10, out)).toThrow(/ended before byte 15/);
      t.close();
      const s = new SpoolStore(work);
      expect(readdirSync(work)).toEqual(['t']);
      expect(s.append(Buffer.from('abc'))).toBe(0);
      expect(s.append(Buffer.from('defg'))).toBe(3);
      const o = new Uint8Array(4);
      s.read(2, o);
      expect(Buffer.from(o).toString()).toBe('cdef');
      s.close();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('corrupt gzip is an error naming gzip', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tarnode-'));
    try {
      const gz = gzipSync(archive);
      gz[gz.length - 6] ^= 0xff; // the CRC
      writeFileSync(join(work, 'bad.tar.gz'), gz);
      await expect(tarFileSource(join(work, 'bad.tar.gz'))).rejects.toThrow(/gzip: /);
      await expect(buildImageFileFromTar(join(work, 'bad.tar.gz'), join(work, 'out.erofs'))).rejects.toThrow(/gzip: /);
      expect(readdirSync(work)).toEqual(['bad.tar.gz']);
      async function* one() {
        yield gz.subarray(0, 40);
      }
      await expect(tarSource(one(), { gunzip: nodeGunzip })).rejects.toThrow(/gzip: |truncated/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
