// SPDX-License-Identifier: LGPL-3.0-or-later
/**
 * Runs ZenFS's own filesystem test suite (the tests/fs/*.test.ts that @zenfs/core
 * publishes) against our backend, the way ZenFS's `zenfs-test` runner does: Node's test
 * runner over the test files, with SETUP naming the setup file that configures the
 * backend. `zenfs-test` itself needs Node 22 (it imports fs.globSync), so this calls Node's
 * runner directly, with tsx for the TypeScript, and reads the TAP it prints.
 *
 * The data the tests read (ZenFS's tests/data) is built into an EROFS image with our
 * builder; the setup files mount it. Two modes:
 *  - readonly: our backend alone at "/", every write-type capability flag off. Test files
 *    that write their own fixtures at load time cannot load on a read-only filesystem and
 *    are left out (LOAD_TIME_WRITERS).
 *  - cow: our backend under ZenFS's CopyOnWrite with an InMemory upper layer, every test
 *    file; how ZenFS itself tests a read-only store.
 *
 *   node --import tsx packages/zenfs/conformance/run.ts [readonly|cow|control]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type DirNode } from '@erofs-js/mkfs';
import { treeFromDirectory } from '@erofs-js/mkfs/node';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** The installed @zenfs/core package directory. */
export const ZENFS_DIR = dirname(dirname(require.resolve('@zenfs/core')));
const TESTS = join(ZENFS_DIR, 'tests/fs');

/**
 * Test files that write at module load (top-level writeFile/mkdir to make their fixtures):
 * on a read-only filesystem they throw before defining a test, so readonly mode leaves them out.
 */
/** What each setup file prints once it has mounted our backend. */
export const MOUNTED = 'erofs-zenfs: mounted';

export const LOAD_TIME_WRITERS = ['dir', 'directory', 'streams', 'tempdir', 'watch'];

export type Mode = 'readonly' | 'cow' | 'control';

export interface TestResult {
  /** "suite > test" as the suite names it. */
  name: string;
  /** A whole suite (only reported when skipped). */
  suite?: boolean;
  status: 'pass' | 'fail' | 'skip' | 'todo';
  /** The skip reason, or the failure message. */
  detail?: string;
}

export interface SuiteRun {
  mode: Mode;
  files: string[];
  results: TestResult[];
  /** The runner's own totals line by line ("tests 120", "pass 80", ...). */
  totals: Record<string, number>;
  exitCode: number | null;
  /** How many test processes reported mounting our backend (one per test file). */
  mounted: number;
  tap: string;
  stderr: string;
}

/** The tree ZenFS's tests expect at "/", as an EROFS image. */
export function zenfsDataImage(mode: Mode): Uint8Array {
  const tree: DirNode = treeFromDirectory(join(ZENFS_DIR, 'tests/data'));
  // readFile.test.ts reads back a file its own write step creates; that step is skipped
  // on a read-only filesystem, so the file is in the image instead.
  if (mode === 'readonly') tree.entries.set('test-readfile-unlink', {
    type: 'dir',
    mode: 0o755,
    entries: new Map([['test.bin', { type: 'file', mode: 0o644, data: new Uint8Array(512).fill(42) }]]),
  } as DirNode);
  return buildImage(tree);
}

export function testFiles(mode: Mode): string[] {
  const all = readdirSync(TESTS)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -'.test.ts'.length))
    .sort();
  return mode === 'readonly' ? all.filter((f) => !LOAD_TIME_WRITERS.includes(f)) : all;
}

/** Parses Node's TAP: nested subtests become "parent > child"; suites themselves are not results. */
export function parseTap(tap: string): { results: TestResult[]; totals: Record<string, number> } {
  const results: TestResult[] = [];
  const totals: Record<string, number> = {};
  const stack: string[] = [];
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const sub = /^( *)# Subtest: (.*)$/.exec(line);
    if (sub) {
      stack.length = sub[1].length / 4;
      stack.push(sub[2]);
      continue;
    }
    const total = /^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
    if (total) {
      totals[total[1]] = Number(total[2]);
      continue;
    }
    const res = /^( *)(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/.exec(line);
    if (!res) continue;
    const depth = res[1].length / 4;
    const path = [...stack.slice(0, depth), res[3]];
    stack.length = depth;
    // A suite's own line follows its children's; its YAML block says type: 'suite'.
    let isSuite = false;
    let error: string | undefined;
    for (let j = i + 1; j < lines.length && !/^ *(ok|not ok) \d+ |^ *# Subtest:/.test(lines[j]); j++) {
      if (/^\s+type: 'suite'/.test(lines[j])) isSuite = true;
      const e = /^\s+error: (.*)$/.exec(lines[j]);
      if (e && !error) error = e[1];
    }
    // A suite skipped as a whole (its capability flag is off) defines no tests: report it.
    if (isSuite && res[4] !== 'SKIP') continue;
    const status = res[4] === 'SKIP' ? 'skip' : res[4] === 'TODO' ? 'todo' : res[2] === 'ok' ? 'pass' : 'fail';
    results.push({ name: path.join(' > '), status, detail: res[5] ?? (status === 'fail' ? error : undefined), ...(isSuite ? { suite: true } : {}) });
  }
  return { results, totals };
}

/** Runs the suite in child processes; `image` is the EROFS image of ZenFS's test data. */
export function runSuite(mode: Mode, image: Uint8Array = zenfsDataImage(mode), timeoutMs = 240_000): SuiteRun {
  const dir = mkdtempSync(join(tmpdir(), 'erofs-zenfs-'));
  try {
    const imagePath = join(dir, 'zenfs-data.erofs');
    writeFileSync(imagePath, image);
    const files = testFiles(mode);
    const setup = mode === 'control' ? join(ZENFS_DIR, 'tests/setup/cow.ts') : join(here, `setup-${mode}.ts`);
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', join(here, 'node20.ts'), '--test', '--test-reporter=tap', ...files.map((f) => join(TESTS, `${f}.test.ts`))],
      {
        cwd: ZENFS_DIR,
        env: { ...process.env, SETUP: setup, EROFS_IMAGE: imagePath, TSX_TSCONFIG_PATH: join(here, 'tsconfig.json'), NODE_OPTIONS: '' },
        encoding: 'utf8',
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      },
    );
    const tap = child.stdout ?? '';
    const stderr = child.stderr ?? '';
    // Node's runner passes a test process's stderr on as TAP comments.
    const mounted = (tap + '\n' + stderr).split('\n').filter((l) => l.replace(/^\s*#\s*/, '').startsWith(MOUNTED)).length;
    return { mode, files, ...parseTap(tap), exitCode: child.status, mounted, tap, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = (process.argv[2] ?? 'readonly') as Mode;
  const run = runSuite(mode);
  for (const r of run.results) console.log(`${r.status.padEnd(4)}  ${r.name}${r.detail ? `  (${r.detail})` : ''}`);
  console.log(`files: ${run.files.join(' ')}`);
  console.log(run.totals);
  console.log(`processes that mounted our backend: ${run.mounted}`);
  const other = run.stderr.split('\n').filter((l) => l.trim() && !l.startsWith(MOUNTED));
  if (other.length) console.error(other.join('\n'));
}
