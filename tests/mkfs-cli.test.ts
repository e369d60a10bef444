/**
 * `erofs mkfs -zlz4`, run in-process through the CLI's main(): a directory whose text
 * file compresses and whose random file does not.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLayout, Image, MemorySource } from '@erofs-js/erofs';
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
});
