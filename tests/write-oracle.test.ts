/**
 * The Linux kernel as the oracle of the write surface: every step tools/oracle/record.py
 * ran on a kernel tmpfs and on the kernel's EROFS mount of basic-18 (fixtures/oracle/*.jsonl)
 * is replayed here through `Task` on our tmpfs and our EROFS mount, and each answer must
 * be the kernel's: the return value or errno, what reads returned, stat fields (inode
 * numbers as order of first appearance, "now" times as "now", which times changed), and
 * for tmpfs the tree's manifest and directory order after each scenario.
 *
 * Re-record (root, Linux with tmpfs and EROFS):
 *   npx tsx tools/oracle/battery.ts && python3 tools/oracle/record.py
 * The battery's format is documented in tools/oracle/battery.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, capMask } from '@erofs-js/vfs';
import { HostController, type Task } from '@erofs-js/mount/node';
import { FIXTURES, readJsonl } from './fixtures.js';
import { BATTERY_JSON_PATH, batteryJson, batterySha256, type Target } from '../tools/oracle/battery.js';
import { CAP_SYS_CHROOT, Replayer, canon, describeStep, manifestOf, sleepMs, type Result, type StepLine } from './oracle-replay.js';

// ---- the one place that knows how our mounts and tasks are made ------------------------

/**
 * A task whose root and cwd are the root of a fresh mount of `target`: our tmpfs
 * (size=16m, as the kernel's) or the EROFS image the kernel answers were recorded on.
 */
async function mountTarget(target: Target, image: string): Promise<{ task: Task; close(): void }> {
  const c = await HostController.create({ mkdirs: ['/t'] });
  if (target === 'tmpfs') {
    await c.mount({ type: 'tmpfs', target: '/t', options: { size: 16 << 20 } });
  } else {
    await c.mount({ image: FIXTURES + image, target: '/t' });
  }
  const task = c.task({ creds: { ...ROOT, caps: ROOT.caps | capMask(CAP_SYS_CHROOT) } });
  task.chroot('/t');
  task.chdir('/');
  return {
    task,
    close() {
      task.exit();
      c.close();
    },
  };
}

// ---- the recorded answers ----------------------------------------------------------------

interface Header {
  oracle: string;
  kernel: string;
  date: string;
  target: Target;
  battery_sha256: string;
  scenarios: string[];
  image?: string;
}

interface Recorded {
  header: Header;
  scenarios: Map<number, { steps: StepLine[]; manifest: Record<string, unknown>[]; readdir: { path: string; entries: string[] }[] }>;
}

function loadOracle(file: string): Recorded {
  const lines = readJsonl<Record<string, unknown>>(FIXTURES + 'oracle/' + file);
  const header = lines[0] as unknown as Header;
  const scenarios: Recorded['scenarios'] = new Map();
  for (const l of lines.slice(1)) {
    const i = l.scenario as number;
    if (!scenarios.has(i)) scenarios.set(i, { steps: [], manifest: [], readdir: [] });
    const s = scenarios.get(i)!;
    if ('step' in l) s.steps.push(l as unknown as StepLine);
    else if ('manifest' in l) s.manifest.push(l.manifest as Record<string, unknown>);
    else if ('readdir' in l) s.readdir.push(l.readdir as { path: string; entries: string[] });
  }
  return { header, scenarios };
}

// ---- where we answer otherwise, on purpose -------------------------------------------------

/**
 * Steps whose answer is ours by design, not the kernel's. For these the replay demands the
 * answer written here (`ours`, or the kernel's with `patch` laid over it, objects merged key
 * by key), so a deviation stays asserted and documented; if we ever answer as the kernel
 * does, the step fails and its entry goes.
 */
interface Deviation {
  file: string;
  scenario: number;
  step: number;
  ours?: Result;
  patch?: Result;
  why: string;
}

const FILE_SIZES =
  'file sizes and write offsets stop at 2^53 - 1 (MAX_OFFSET: sizes are JS numbers in the filesystem contract and in stat), ' +
  'where Linux tmpfs allows MAX_LFS_FILESIZE (2^63 - 1): past it we answer EFBIG (packages/tmpfs/README.md)';

const DEVIATIONS: Deviation[] = [
  { file: 'tmpfs.jsonl', scenario: 4, step: 49, ours: { err: 'EFBIG' }, why: `ftruncate to 2^62: ${FILE_SIZES}` },
  // After the refused ftruncate the size is the 2^40 the step before set, and only the atime of the read before it changed.
  { file: 'tmpfs.jsonl', scenario: 4, step: 50, patch: { stat: { size: 2 ** 40, changed: ['atime'] } }, why: `fstat after it: ${FILE_SIZES}` },
  { file: 'tmpfs.jsonl', scenario: 4, step: 51, ours: { err: 'EFBIG' }, why: `pwrite at 2^62: ${FILE_SIZES}` },
  { file: 'tmpfs.jsonl', scenario: 4, step: 58, ours: { err: 'EFBIG' }, why: `truncate to 2^53: ${FILE_SIZES}` },
];

/** `base` with `over` laid on it: objects merged key by key, anything else replaced. */
function overlay(base: unknown, over: unknown): unknown {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(base) || !isObj(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = overlay(base[k], v);
  return out;
}

/** What a step must answer: the kernel's, or our documented deviation from it. */
function expected(file: string, s: StepLine): { want: Result; deviation?: Deviation } {
  const deviation = DEVIATIONS.find((d) => d.file === file && d.scenario === s.scenario && d.step === s.step);
  if (!deviation) return { want: s.result };
  return { want: deviation.ours ?? (overlay(s.result, deviation.patch) as Result), deviation };
}

/** Replays one recorded scenario; returns the differences from the kernel (or from a documented deviation), one line each. */
async function replay(file: string, target: Target, image: string, rec: Recorded['scenarios'] extends Map<number, infer S> ? S : never): Promise<string[]> {
  const { task, close } = await mountTarget(target, image);
  const r = new Replayer(task);
  const diffs: string[] = [];
  try {
    for (const s of rec.steps) {
      if (!s.setup) {
        // Our clocks may tick in milliseconds: let one pass, as record.py waits 5 ms.
        const t0 = Date.now();
        while (Date.now() === t0) sleepMs(1);
      }
      const ours = r.run(s);
      const { want, deviation } = expected(file, s);
      if (canon(ours) !== canon(want)) {
        diffs.push(deviation ? `${describeStep(s)}: documented deviation ${canon(want)} (kernel ${canon(s.result)}; ${deviation.why}), ours ${canon(ours)}` : `${describeStep(s)}: kernel ${canon(s.result)}, ours ${canon(ours)}`);
      }
    }
    r.closeAll();
    if (target === 'tmpfs') {
      let m: ReturnType<typeof manifestOf>;
      try {
        m = manifestOf(r);
      } catch (e) {
        diffs.push(`manifest: ${String(e)}`);
        return diffs;
      }
      const key = (x: Record<string, unknown>) => (x.path ?? 'b64:' + x.path_b64) as string;
      const want = new Map(rec.manifest.map((x) => [key(x), x]));
      const got = new Map(m.manifest.map((x) => [key(x), x]));
      for (const [p, w] of want) {
        const g = got.get(p);
        if (!g) diffs.push(`manifest ${p}: missing (kernel ${canon(w)})`);
        else if (canon(g) !== canon(w)) diffs.push(`manifest ${p}: kernel ${canon(w)}, ours ${canon(g)}`);
      }
      for (const [p, g] of got) if (!want.has(p)) diffs.push(`manifest ${p}: not in the kernel's tree (ours ${canon(g)})`);
      const wantDirs = new Map(rec.readdir.map((x) => [key(x), x]));
      for (const d of m.readdir) {
        const w = wantDirs.get(key(d));
        if (w && canon(w) !== canon(d)) diffs.push(`readdir ${key(d)}: kernel ${canon(w)}, ours ${canon(d)}`);
      }
    }
  } finally {
    try {
      close();
    } catch (e) {
      diffs.push(`teardown: ${String(e)}`);
    }
  }
  return diffs;
}

// ---- the tests ---------------------------------------------------------------------------

describe('write oracle: the replay harness itself', () => {
  it("walks a tree into manifest.py's records: basic-18 through our EROFS mount equals its kernel manifest", async () => {
    const { task, close } = await mountTarget('erofs', 'basic-18.erofs');
    try {
      const r = new Replayer(task);
      const m = manifestOf(r);
      const ordinal = new Map<number, number>();
      const want = readJsonl<Record<string, unknown>>(FIXTURES + 'basic-18.manifest.jsonl').map((x) => {
        const ino = x.ino as number;
        if (!ordinal.has(ino)) ordinal.set(ino, ordinal.size);
        return { ...x, ino: ordinal.get(ino) };
      });
      expect(m.manifest.length).toBe(want.length);
      const bad = m.manifest.filter((x, i) => canon(x) !== canon(want[i])).map((x) => canon(x));
      expect(bad.slice(0, 5)).toEqual([]);
      const dirs = readJsonl<Record<string, unknown>>(FIXTURES + 'basic-18.readdir.jsonl');
      expect(m.readdir.map(canon)).toEqual(dirs.map(canon));
    } finally {
      close();
    }
  });
});

const FILES: { file: string; target: Target }[] = [
  { file: 'tmpfs.jsonl', target: 'tmpfs' },
  { file: 'erofs-basic-18.jsonl', target: 'erofs' },
];

describe('write oracle: the battery and its recordings', () => {
  it('each documented deviation names a recorded step and says why', () => {
    for (const d of DEVIATIONS) {
      const rec = loadOracle(d.file).scenarios.get(d.scenario)?.steps.find((s) => s.step === d.step);
      expect(rec, `${d.file} scenario ${d.scenario} step ${d.step}`).toBeDefined();
      expect((d.ours === undefined) !== (d.patch === undefined), 'ours or patch').toBe(true);
      expect(d.why.length).toBeGreaterThan(0);
    }
  });
  it('tools/oracle/battery.json is what battery.ts generates', () => {
    expect(readFileSync(BATTERY_JSON_PATH, 'utf8') === batteryJson(), 'run: npx tsx tools/oracle/battery.ts').toBe(true);
  });
  for (const { file, target } of FILES) {
    it(`${file} was recorded from this battery on Linux (${target})`, () => {
      const { header, scenarios } = loadOracle(file);
      expect(header.oracle).toBe('linux');
      expect(header.target).toBe(target);
      expect(header.battery_sha256, 'stale recording: re-run python3 tools/oracle/record.py as root').toBe(batterySha256(readFileSync(BATTERY_JSON_PATH, 'utf8')));
      expect(scenarios.size).toBeGreaterThan(0);
    });
  }
});

for (const { file, target } of FILES) {
  const { header, scenarios } = loadOracle(file);
  describe(`write oracle: ${target} answers as Linux ${header.kernel} did (${file})`, () => {
    for (const [i, rec] of scenarios) {
      it(`${i}: ${header.scenarios[i]}`, async () => {
        const diffs = await replay(file, target, header.image ?? '', rec);
        expect(diffs, `${diffs.length} of ${rec.steps.length} steps differ`).toEqual([]);
      });
    }
  });
}
