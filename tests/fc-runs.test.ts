/**
 * FC_SEED and FC_RUNS mean one thing everywhere: the helper's arithmetic, and a scan of every
 * test source that runs a fast-check property for seeds or run counts taken anywhere else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fcRuns } from './fc-runs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const saved = { seed: process.env.FC_SEED, runs: process.env.FC_RUNS };
afterEach(() => {
  for (const [k, v] of [['FC_SEED', saved.seed], ['FC_RUNS', saved.runs]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('fcRuns', () => {
  it('FC_RUNS multiplies each property’s own count, never below one run', () => {
    delete process.env.FC_RUNS;
    expect(fcRuns('t', 1).runs(300).numRuns).toBe(300);
    process.env.FC_RUNS = '2';
    expect(fcRuns('t', 1).runs(300).numRuns).toBe(600);
    expect(fcRuns('t', 1).runs(3000).numRuns).toBe(6000);
    process.env.FC_RUNS = '0.01';
    expect(fcRuns('t', 1).runs(300).numRuns).toBe(3);
    expect(fcRuns('t', 1).runs(10).numRuns).toBe(1);
    for (const bad of ['0', '-1', 'many']) {
      process.env.FC_RUNS = bad;
      expect(() => fcRuns('t')).toThrow(/FC_RUNS/);
    }
  });

  it('FC_SEED wins over a pinned seed; without it the pinned one, else a fresh one', () => {
    process.env.FC_SEED = '77';
    expect(fcRuns('t', 5).runs(1)).toEqual({ seed: 77, numRuns: 1 });
    expect(fcRuns('t').seed).toBe(77);
    delete process.env.FC_SEED;
    expect(fcRuns('t', 5).seed).toBe(5);
    expect(Number.isInteger(fcRuns('t').seed)).toBe(true);
    process.env.FC_SEED = '1.5';
    expect(() => fcRuns('t')).toThrow(/FC_SEED/);
  });
});

/** Source files of tests and test helpers, outside node_modules and build output. */
function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|mts|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The text of each `fc.assert(...)` call, found by matching parentheses. */
function assertCalls(text: string): string[] {
  const calls: string[] = [];
  for (let at = text.indexOf('fc.assert('); at >= 0; at = text.indexOf('fc.assert(', at + 1)) {
    let depth = 0;
    let end = at + 'fc.assert'.length;
    for (; end < text.length; end++) {
      const c = text[end];
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    calls.push(text.slice(at, end + 1));
  }
  return calls;
}

describe('every property takes its seed and run count from fcRuns', () => {
  const files = [...sources(join(ROOT, 'tests')), ...sources(join(ROOT, 'packages'))].filter((f) => !f.endsWith('fc-runs.ts') && !f.endsWith('fc-runs.test.ts'));
  const withProperties = files.filter((f) => /fc\.assert\(/.test(readFileSync(f, 'utf8')));

  it('finds the properties', () => {
    // 16 files held fast-check properties when this check was written.
    expect(withProperties.length).toBeGreaterThanOrEqual(16);
  });

  for (const f of withProperties) {
    it(relative(ROOT, f), () => {
      const text = readFileSync(f, 'utf8');
      expect(text, 'imports the helper').toMatch(/import \{[^}]*\bfcRuns\b[^}]*\} from '[./]*(tests\/)?fc-runs\.js'/);
      expect(text.match(/process\.env\.\w*(SEED|RUNS)\w*/g), 'reads a seed or run count itself').toBeNull();
      expect(text.match(/numRuns\s*:/g), 'sets numRuns itself').toBeNull();
      for (const call of assertCalls(text)) {
        expect(call, 'an fc.assert without runs(n) from fcRuns').toMatch(/\bruns\(\d[\d_]*\)/);
      }
    });
  }
});
