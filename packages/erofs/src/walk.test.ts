import { describe, expect, it } from 'vitest';
import { FIXTURES, openFixture, readJsonl } from '../../../tests/fixtures.js';
import { walk } from './walk.js';
import { isDir } from './inode.js';

describe('walk', () => {
  it('visits every path of the kernel manifest exactly once, parents before children', () => {
    const image = openFixture('basic-18.erofs');
    const seen: string[] = [];
    walk(image, (e) => {
      const p = Buffer.from(e.path).toString('latin1');
      if (e.parent) expect(seen).toContain(p.slice(0, p.lastIndexOf('/')) || '/');
      seen.push(p);
    });
    const truth = readJsonl<{ path?: string; path_b64?: string }>(FIXTURES + 'basic-18.manifest.jsonl');
    const want = truth.map((r) => (r.path_b64 ? Buffer.from(r.path_b64, 'base64') : Buffer.from(r.path!)).toString('latin1'));
    expect([...seen].sort()).toEqual([...want].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('skips the children of a directory when the visitor returns false', () => {
    const image = openFixture('basic-18.erofs');
    const seen: string[] = [];
    walk(image, (e) => {
      seen.push(new TextDecoder().decode(e.path));
      return !(isDir(e.inode) && e.depth === 1);
    });
    expect(seen.every((p) => p.split('/').length <= 2)).toBe(true);
  });

  it('descends 40 levels deep without recursion limits', () => {
    const image = openFixture('basic-18.erofs');
    let max = 0;
    walk(image, (e) => void (max = Math.max(max, e.depth)));
    expect(max).toBeGreaterThanOrEqual(40);
  });
});
