/**
 * `erofs mkfs -zlz4`, run in-process through the CLI's main(): a directory whose text
 * file compresses and whose random file does not.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLayout, Image, MemorySource } from '@erofs-js/erofs';
import { buildImage } from '@erofs-js/mkfs';
import { treeFromDirectory } from '@erofs-js/mkfs/node';
import { main } from '../packages/cli/src/main.js';

describe('erofs mkfs -zlz4', () => {
  it('compresses what shrinks, keeps the rest plain; rejects other algorithms', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mkfs-cli-'));
    try {
      const src = join(work, 'src');
      const text = Buffer.from('a line of text that repeats, '.repeat(5000));
      const noise = randomBytes(50_000);
      mkdirSync(src);
      writeFileSync(join(src, 'text'), text);
      writeFileSync(join(src, 'noise'), noise);
      for (const args of [['-zlz4'], ['-z', 'lz4'], []]) {
        const img = join(work, 'out.erofs');
        expect(await main(['mkfs', ...args, src, img])).toBe(0);
        const image = new Image(new MemorySource(new Uint8Array(readFileSync(img))));
        const t = image.inode(image.lookup(image.root(), 'text')!.nid);
        const n = image.inode(image.lookup(image.root(), 'noise')!.nid);
        expect(t.layout).toBe(args.length ? DataLayout.CompressedFull : DataLayout.FlatInline);
        expect(n.layout).not.toBe(DataLayout.CompressedFull);
        expect(Buffer.compare(image.readFile(t), text)).toBe(0);
        expect(Buffer.compare(image.readFile(n), noise)).toBe(0);
      }
      expect(await main(['mkfs', '-zzstd', src, join(work, 'x.erofs')])).toBe(2);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('streams the same bytes as the in-memory builder; a failed build leaves no IMAGE and no temporary file', async () => {
    const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'mkfs-cli-'));
    try {
      const src = join(work, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'sub', 'text'), 'a line of text that repeats, '.repeat(3000));
      writeFileSync(join(src, 'small'), 'tail');
      const img = join(work, 'out.erofs');
      for (const args of [[], ['-zlz4']]) {
        expect(await main(['mkfs', ...args, src, img])).toBe(0);
        const want = buildImage(treeFromDirectory(src), { compression: args.length ? 'lz4' : undefined });
        expect(Buffer.compare(readFileSync(img), want)).toBe(0);
      }
      // A sparse file of 16 TiB: the image would exceed 2^32 blocks, found after the
      // temporary file was made. The previous IMAGE stays; nothing else is left.
      writeFileSync(join(src, 'huge'), '');
      truncateSync(join(src, 'huge'), 2 ** 44);
      const before = readFileSync(img);
      expect(await main(['mkfs', src, img])).toBe(1);
      expect(Buffer.compare(readFileSync(img), before)).toBe(0);
      rmSync(img);
      expect(await main(['mkfs', src, img])).toBe(1);
      expect(readdirSync(work)).toEqual(['src']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
