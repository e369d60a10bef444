/**
 * What the ZenFS conformance runner adds to ZenFS's own test data, as the README says it:
 * the read-only image holds ZenFS's tests/data tree plus exactly one file,
 * test-readfile-unlink/test.bin, which readFile's read test reads back after a write step
 * that a read-only filesystem skips. Nothing else is planted, so the 54 read tests that
 * pass read ZenFS's data, and that one file.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Image, MemorySource, decodeName, walk } from '@erofs-js/erofs';
import { zenfsDataImage } from '../packages/zenfs/conformance/run.js';

function paths(bytes: Uint8Array): Map<string, number> {
  const image = new Image(new MemorySource(bytes));
  const out = new Map<string, number>();
  walk(image, (e) => void out.set(decodeName(e.path), e.inode.size));
  return out;
}

describe('ZenFS conformance image', () => {
  it('the read-only image is ZenFS\'s test data plus the one file readFile\'s skipped write step would make', () => {
    const cow = paths(zenfsDataImage('cow'));
    const ro = paths(zenfsDataImage('readonly'));
    expect(cow.size).toBeGreaterThan(3);
    const added = [...ro.keys()].filter((p) => !cow.has(p)).sort();
    expect(added).toEqual(['/test-readfile-unlink', '/test-readfile-unlink/test.bin']);
    expect(ro.get('/test-readfile-unlink/test.bin')).toBe(512);
    expect([...cow.keys()].filter((p) => !ro.has(p))).toEqual([]);
  });

  it('the README says so', () => {
    const row = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n').find((l) => l.startsWith('| `@erofs-js/zenfs`'));
    expect(row).toMatch(/54\/54 read tests on the backend alone/);
    expect(row).toContain('`test-readfile-unlink/test.bin`');
  });
});
