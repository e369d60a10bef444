/**
 * The builder is held to what the real tools said of its output. fixtures/mkfs-check.jsonl
 * records, for a set of hand-made and generated trees, each image's sha256 and the verdicts
 * of fsck.erofs 1.8 and 1.9 (--extract), the Linux kernel's mount (its manifest and
 * listings equal to the tree) and liblz4 (every LZ4 pcluster in the image decoded to the
 * tree's bytes), as `npx tsx tools/mkfs-check.ts --trees 60 --lz4 --record` wrote them
 * (root, erofs-utils from shared/tools/erofs-utils.sh, gcc, liblz4-dev). Here every
 * recorded verdict must be a pass, and every tree rebuilt from the record must give the very
 * bytes that were judged: a builder change that alters any image fails until the tools have
 * judged the new output (rerun the command above and commit the record).
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildImage } from '@erofs-js/mkfs';
import { FIXTURES, readJsonl } from './fixtures.js';
import { generatedCase, handmadeCases } from './mkfs-cases.js';
import type { TreeSpec } from './mkfs-tree.js';

interface Verdict {
  tool: string;
  pass: boolean;
  skipped?: string;
  detail: string;
}
interface Line {
  name: string;
  lz4: boolean;
  handmade?: true;
  spec?: TreeSpec;
  blockSize: number;
  size: number;
  sha256: string;
  paths: number;
  lz4Files: number;
  compactFiles: number;
  chunkIndexFiles: number;
  pclusters: number;
  verdicts: Verdict[];
}

const all = readJsonl<Line & { what?: string; tools?: string[]; command?: string }>(FIXTURES + 'mkfs-check.jsonl');
const header = all.find((l) => l.what === 'header')!;
const lines = all.filter((l) => l.what !== 'header') as Line[];
const sum = (f: (l: Line) => number) => lines.reduce((a, l) => a + f(l), 0);

describe('builder output judged by fsck.erofs, the kernel and liblz4 (fixtures/mkfs-check.jsonl)', () => {
  it('the record covers what the builder makes', () => {
    expect(header.command).toMatch(/^npx tsx tools\/mkfs-check\.ts .*--record/);
    expect(header.tools!.join(' ')).toMatch(/fsck\.erofs 1\.9.*fsck\.erofs 1\.8.*Linux .*liblz4/);
    expect(lines.length).toBeGreaterThanOrEqual(60);
    expect(new Set(lines.map((l) => l.name)).size).toBe(lines.length);
    expect([...new Set(lines.map((l) => l.blockSize))].sort((a, b) => a - b)).toEqual([512, 1024, 2048, 4096]);
    expect(lines.filter((l) => l.handmade).length).toBe(8);
    expect(sum((l) => l.lz4Files)).toBeGreaterThan(500);
    expect(sum((l) => l.compactFiles)).toBeGreaterThan(100);
    expect(sum((l) => l.chunkIndexFiles)).toBeGreaterThan(20);
    expect(sum((l) => l.pclusters)).toBeGreaterThan(1000);
  });

  it('every verdict is a pass: fsck.erofs 1.9 and 1.8 --extract, the kernel mount, liblz4 on every pcluster', () => {
    for (const l of lines) {
      expect(l.verdicts.map((v) => v.tool.split(' ').slice(0, 2).join(' ')), l.name).toEqual([
        expect.stringMatching(/^fsck\.erofs 1\.9/),
        expect.stringMatching(/^fsck\.erofs 1\.8/),
        expect.stringMatching(/^Linux /),
        expect.stringMatching(/^liblz4 /),
      ]);
      for (const v of l.verdicts) {
        expect({ name: l.name, tool: v.tool, pass: v.pass }, v.detail).toEqual({ name: l.name, tool: v.tool, pass: true });
        // Only fsck.erofs 1.8.6 on 1 KiB blocks is not run (it refuses mkfs.erofs's own such images).
        if (v.skipped) expect([v.tool.startsWith('fsck.erofs 1.8'), l.blockSize], l.name).toEqual([true, 1024]);
      }
      expect(l.verdicts[2].detail, l.name).toMatch(new RegExp(`^${l.paths} paths and \\d+ directory listings equal to the tree's$`));
      if (l.pclusters) expect(l.verdicts[3].detail, l.name).toMatch(new RegExp(`: ${l.pclusters} of ${l.pclusters} pclusters decoded`));
    }
  });

  it('each recorded tree, rebuilt, gives the very bytes that were judged', () => {
    const hand = new Map<boolean, ReturnType<typeof handmadeCases>>();
    let checked = 0;
    for (const l of lines) {
      if (!hand.has(l.lz4)) hand.set(l.lz4, handmadeCases(l.lz4));
      const c = l.handmade ? hand.get(l.lz4)!.find((h) => h.name === l.name) : generatedCase(l.name, l.spec!, false);
      expect(c, l.name).toBeTypeOf('object');
      const bytes = buildImage(c!.tree, c!.options);
      const got = { name: l.name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      expect(got, `${l.name}: the builder's output changed since fsck.erofs, the kernel and liblz4 judged it; rerun ${header.command}`).toEqual({ name: l.name, size: l.size, sha256: l.sha256 });
      checked++;
    }
    expect(checked).toBe(lines.length);
  }, 120_000);

  it("the README quotes the record's numbers", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const para = readme.split(/\n\s*\n/).find((p) => p.includes('tools/mkfs-check.ts'))?.replace(/\s+/g, ' ') ?? '';
    const n = (x: number) => x.toLocaleString('en-US');
    const hand = lines.filter((l) => l.handmade).length;
    for (const claim of [
      header.command!,
      'fixtures/mkfs-check.jsonl',
      `${lines.length} trees (${n(sum((l) => l.paths))} paths`,
      `${n(sum((l) => l.lz4Files))} LZ4 files of which ${n(sum((l) => l.compactFiles))} with compact indexes, ${n(sum((l) => l.chunkIndexFiles))} with 8-byte chunk indexes`,
      `1.9 \`--extract\` ${lines.length}/${lines.length}, 1.8 ${lines.length - lines.filter((l) => l.verdicts[1].skipped).length}/${lines.length - lines.filter((l) => l.verdicts[1].skipped).length}`,
      `equal to its tree (${lines.length}/${lines.length})`,
      `all ${n(sum((l) => l.pclusters))} LZ4 pclusters in the images`,
    ]) expect(para.includes(claim), `the README's mkfs-check paragraph says: ${claim}`).toBe(true);
    expect(hand).toBe(8);
  });
});
