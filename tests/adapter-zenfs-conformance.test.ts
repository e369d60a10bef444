/**
 * ZenFS's own test suite (the tests/fs/*.test.ts published in @zenfs/core) run against our
 * backend, in child processes, through packages/zenfs/conformance/run.ts:
 *  - readonly: our backend alone at "/" over an EROFS image of ZenFS's test data, the
 *    write-type capability flags off (ZenFS's tests skip themselves by those flags);
 *  - cow: our backend as the read-only lower layer of ZenFS's CopyOnWrite, every file of
 *    the suite, as ZenFS runs its suite over its own read-only store.
 */
import { describe, expect, it } from 'vitest';
import { LOAD_TIME_WRITERS, runSuite, type SuiteRun } from '../packages/zenfs/conformance/run.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);

function failures(run: SuiteRun): string[] {
  return run.results.filter((r) => r.status === 'fail').map((r) => `${r.name}: ${r.detail}`);
}

describe('ZenFS test suite', () => {
  it('readonly: every read test passes over our backend alone, the rest skip by capability flag', { timeout: 300_000 }, () => {
    const run = runSuite('readonly');
    expect(run.files.length).toBe(16);
    expect(run.files).not.toContain('dir');
    expect(run.mounted, run.stderr || run.tap.slice(0, 2000)).toBe(run.files.length);
    expect(failures(run)).toEqual([]);
    expect(run.exitCode).toBe(0);
    const passed = run.results.filter((r) => r.status === 'pass').map((r) => r.name);
    expect(passed.length).toBeGreaterThanOrEqual(54);
    for (const name of [
      'Error messages > mkdirSync',
      'Error messages > rmdir (not a directory)Sync',
      'Error messages > readlinkSync',
      'read > Read a file and check its binary bytes synchronously',
      'Reading > read file and verify its content',
      'Stats > statSync with throwIfNoEntry: false',
      'Stats > stat file',
      'exists > have sync methods that behave the same',
    ]) {
      expect(passed).toContain(name);
    }
    // Skips come only from the flags the setup turns off, never from anything else.
    for (const r of run.results.filter((r) => r.status === 'skip')) expect(r.detail, r.name).toMatch(/ is not supported$/);
    expect(run.results.filter((r) => r.status === 'todo')).toEqual([]);
  });

  it('cow: the whole suite passes with our backend under CopyOnWrite', { timeout: 300_000 }, () => {
    const run = runSuite('cow');
    expect(run.files.length).toBe(16 + LOAD_TIME_WRITERS.length);
    expect(run.mounted, run.stderr || run.tap.slice(0, 2000)).toBe(run.files.length);
    const failed = failures(run);
    // watchFile's tests are cancelled on Node 20 with ZenFS's own InMemory-backed setup as
    // well ("Promise resolution is still pending"): the runtime, not the backend.
    if (nodeMajor < 22) expect(failed.filter((f) => !f.startsWith('Watch > '))).toEqual([]);
    else expect(failed).toEqual([]);
    expect(run.results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(195);
    expect(run.results.filter((r) => r.status === 'skip' || r.status === 'todo')).toEqual([]);
  });
});
