/**
 * Replays every fuzz finding saved under fixtures/regressions/ (by tools/fuzz.ts): each
 * must now end in a result or a clean ErofsError, within a bounded time.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErofsError } from '@erofs-js/erofs';
import { TARGETS, runTarget, type Target } from '../tools/fuzz-targets.js';

const DIR = fileURLToPath(new URL('../fixtures/regressions/', import.meta.url));
const saved = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];

interface Meta {
  target: Target;
  kind: 'image' | 'codec';
  nid: number;
  algorithm?: number;
  llen?: number;
  partial?: boolean;
  error: string;
}

describe('fuzz regressions', () => {
  it('the regression folder holds only well-formed findings', () => {
    for (const f of saved) {
      const m = JSON.parse(readFileSync(DIR + f, 'utf8')) as Meta;
      expect(TARGETS, f).toContain(m.target);
      expect(existsSync(DIR + f.replace(/\.json$/, '.bin')), f).toBe(true);
    }
  });

  for (const f of saved) {
    it(`${f}: returns or throws ErofsError`, () => {
      const m = JSON.parse(readFileSync(DIR + f, 'utf8')) as Meta;
      const bytes = new Uint8Array(readFileSync(DIR + f.replace(/\.json$/, '.bin')));
      const input =
        m.kind === 'codec'
          ? { kind: 'codec' as const, name: f, algorithm: m.algorithm!, bytes, llen: m.llen!, partial: m.partial === true }
          : { kind: 'image' as const, name: f, bytes, nid: m.nid };
      const t0 = performance.now();
      try {
        runTarget(m.target, input);
      } catch (e) {
        if (!(e instanceof ErofsError)) throw e;
      }
      expect(performance.now() - t0).toBeLessThan(10_000);
    });
  }
});
