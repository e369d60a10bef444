/**
 * Seeds and run counts of every fast-check property in the repository, read in one place so
 * that the two variables mean the same thing everywhere:
 *
 *   FC_SEED=n   every property of the run uses seed n. A failure prints the seed it ran with,
 *               so FC_SEED=<that seed> replays it; CI pins one (`.ci/run`). Unset: the test's
 *               own pinned seed if it names one, else a fresh seed, printed.
 *   FC_RUNS=k   multiplies each property's own run count by k (default 1; FC_RUNS=10 for a
 *               long run). Never fewer than one run. Below 1 a property runs faster but the
 *               floors some tests assert on what their runs met (error codes, kinds of
 *               mutation) are set for k >= 1 and may fail.
 *
 * A property never reads process.env itself: `tests/fc-runs.test.ts` checks every file that
 * calls fc.assert for that.
 */

export interface FcRuns {
  /** The seed every property of this file uses. */
  readonly seed: number;
  /** The multiplier FC_RUNS set (1 when unset). */
  readonly scale: number;
  /** fast-check parameters for a property whose own run count is `n`. */
  runs(n: number): { seed: number; numRuns: number };
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return v;
}

/**
 * The seed and run multiplier for the properties of one test file. `label` names the file in
 * the printed line; `pinned` is the seed used when FC_SEED is unset (omit it for a fresh one).
 */
export function fcRuns(label: string, pinned?: number): FcRuns {
  const fromEnv = envNumber('FC_SEED');
  if (fromEnv !== undefined && !Number.isInteger(fromEnv)) throw new Error(`FC_SEED=${fromEnv}: expected an integer`);
  const seed = fromEnv ?? pinned ?? Date.now() % 2 ** 31;
  const scale = envNumber('FC_RUNS') ?? 1;
  // eslint-disable-next-line no-console
  console.log(`${label}: fast-check seed ${seed} (FC_SEED=${seed} to replay), runs x${scale}`);
  return { seed, scale, runs: (n: number) => ({ seed, numRuns: Math.max(1, Math.round(n * scale)) }) };
}
