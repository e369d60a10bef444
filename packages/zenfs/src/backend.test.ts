import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOptions } from '@zenfs/core';
import { buildImage, dir, file } from '@erofs-js/mkfs';
import { Image, MemorySource } from '@erofs-js/erofs';
import { Erofs } from './backend.js';
import { ErofsFS } from './filesystem.js';

const image = buildImage(dir({ hello: file('hi\n') }), { volumeName: 'demo' });

describe('Erofs backend', () => {
  it('creates from bytes, an ArrayBuffer, a path or an Image', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'erofs-zenfs-'));
    try {
      writeFileSync(join(tmp, 'img'), image);
      const made = [
        await Erofs.create({ data: image }),
        await Erofs.create({ data: image.slice().buffer }),
        await Erofs.create({ path: join(tmp, 'img') }),
        await Erofs.create({ image: new Image(new MemorySource(image)) }),
      ];
      for (const fs of made) {
        expect(fs).toBeInstanceOf(ErofsFS);
        expect(fs.label).toBe('demo');
        expect(fs.statSync('/hello').size).toBe(3);
        fs.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('passes cache sizes to our VFS', async () => {
    const fs = await Erofs.create({ data: image, vfs: { dentryCacheSize: 0 } });
    fs.statSync('/hello');
    expect(fs.vfs.stats().dentriesCached).toBe(0);
  });

  it('ZenFS accepts its options and refuses wrong types', () => {
    expect(() => checkOptions(Erofs, { data: image })).not.toThrow();
    expect(() => checkOptions(Erofs, { path: '/x', devices: ['/y', new Uint8Array(1)] })).not.toThrow();
    expect(() => checkOptions(Erofs, { data: 'not bytes' })).toThrow(/Incorrect type for "data"/);
    expect(() => checkOptions(Erofs, { devices: [1] })).toThrow(/Incorrect type for "devices"/);
  });

  it('refuses no image, two images, and bytes that are not EROFS, with typed errors', async () => {
    await expect(Erofs.create({})).rejects.toThrow(/exactly one of/);
    await expect(Erofs.create({ data: image, path: '/x' })).rejects.toThrow(/exactly one of/);
    await expect(Erofs.create({ data: new Uint8Array(4096) })).rejects.toMatchObject({ code: 'EINVAL', errno: 22 });
    await expect(Erofs.create({ data: image.subarray(0, 1000) })).rejects.toMatchObject({ errno: expect.any(Number) });
  });
});
