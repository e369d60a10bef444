/**
 * Mutation fuzzer: `npm run fuzz -- --seconds N [--target NAME] [--seed S] [--walk-share F] [--log FILE]`.
 *
 * Targets share time, not executions; the whole-image walk, which reaches every parser at
 * once and costs the most per input, is guaranteed a share of the time (--walk-share,
 * default 0.25) and the other targets split the rest equally. The closing table gives each
 * target's executions, outcomes and seconds; --log FILE also writes it, with the command,
 * the commit and the machine, for committing beside a long run (bench-results/fuzz-*.log).
 *
 * Inputs are the fixtures plus images our builder makes, mutated structure-aware (fields
 * of the superblock, inodes, xattr bodies, dirent blocks, chunk tables and compression
 * indexes set to boundary values: 0, 1, max, block size ± 1, offsets past the end, NIDs
 * of other inodes or of the directory itself) and blind (bit flips, random bytes,
 * truncation, splices). Decompressor targets get the fixtures' real compressed streams,
 * mutated blind. Every run must return or throw ErofsError; anything else is a finding.
 *
 * The loop runs in a worker thread with a heap limit; the main thread is the watchdog: a
 * run that makes no progress for --hang-ms (default 10 s) or a worker that dies (heap
 * blow-up) is a finding too. Findings are minimised (mutated bytes reverted while the
 * failure stays) and saved under fixtures/regressions/ as NAME.bin + NAME.json, which
 * tests/regressions.test.ts replays.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const REGRESSIONS = fileURLToPath(new URL('../fixtures/regressions/', import.meta.url));
const MAX_INPUT = 8 << 20;
/** Shared header: [0] execs, [1] input length, [2] target index, [3] nid low 32 bits, [4] codec llen, [5] codec alg/partial, [6] nid high bits. */
const HDR = 8;

interface Finding {
  target: string;
  base: string;
  kind: 'image' | 'codec';
  nid: number;
  algorithm?: number;
  llen?: number;
  partial?: boolean;
  error: string;
  bytes: Uint8Array;
}

function save(f: Finding): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const hash = createHash('sha256').update(f.bytes).digest('hex').slice(0, 12);
  const name = `${f.target}-${hash}`;
  writeFileSync(REGRESSIONS + name + '.bin', f.bytes);
  const { bytes: _b, ...meta } = f;
  writeFileSync(REGRESSIONS + name + '.json', JSON.stringify(meta, null, 2) + '\n');
  return name;
}

// ---------------------------------------------------------------------------------------
// Main thread: options, worker lifecycle, watchdog, summary.
// ---------------------------------------------------------------------------------------
async function mainThread(): Promise<void> {
  const args = process.argv.slice(2);
  const get = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seconds = Number(get('--seconds') ?? 10);
  const target = get('--target');
  const hangMs = Number(get('--hang-ms') ?? 10_000);
  const walkShare = Number(get('--walk-share') ?? 0.25);
  if (!(walkShare >= 0 && walkShare < 1)) {
    console.error(`--walk-share ${get('--walk-share')}: expected a fraction in [0, 1)`);
    process.exit(2);
  }
  const logFile = get('--log');
  const startedAt = new Date();
  const loadAtStart = loadavg();
  let seed = Number(get('--seed') ?? Date.now() % 2 ** 31);
  const { TARGETS } = await import('./fuzz-targets.js');
  if (target && !(TARGETS as readonly string[]).includes(target)) {
    console.error(`unknown target ${target}; targets: ${TARGETS.join(' ')}`);
    process.exit(2);
  }
  const banner = `fuzz: ${seconds} s, target ${target ?? 'all (' + TARGETS.join(' ') + ')'}, seed ${seed}` + (target ? '' : `, walk share ${walkShare}`);
  console.log(banner);
  const sab = new SharedArrayBuffer(HDR * 4 + MAX_INPUT);
  const hdr = new Int32Array(sab, 0, HDR);
  const deadline = Date.now() + seconds * 1000;
  const totals = new Map<string, { execs: number; ok: number; err: number; ms: number }>();
  let findings = 0;
  let setupMs = 0;
  let execs = 0;
  let fuzzMs = 0;

  while (Date.now() < deadline) {
    const remaining = deadline - Date.now();
    const worker = new Worker(fileURLToPath(new URL('./fuzz-worker.mjs', import.meta.url)), {
      workerData: { sab, seconds: remaining / 1000, target, seed, walkShare },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    seed = (seed + 7919) % 2 ** 31;
    let lastExecs = -1;
    let lastChange = Date.now();
    let ready = false;
    let hung = false;
    const done = new Promise<string>((resolve) => {
      worker.on('message', (m) => {
        if (m.type === 'ready') {
          ready = true;
          setupMs += m.ms;
          lastChange = Date.now();
        } else if (m.type === 'finding') {
          findings++;
          console.log(`FINDING ${m.finding.target} on ${m.finding.base}: ${m.finding.error} -> fixtures/regressions/${save(m.finding)}`);
        } else if (m.type === 'stats') {
          for (const [t, s] of Object.entries(m.totals as Record<string, { execs: number; ok: number; err: number; ms: number }>)) {
            const a = totals.get(t) ?? { execs: 0, ok: 0, err: 0, ms: 0 };
            a.execs += s.execs;
            a.ok += s.ok;
            a.err += s.err;
            a.ms += s.ms;
            totals.set(t, a);
          }
          execs += m.execs;
          fuzzMs += m.ms;
        }
      });
      worker.on('error', (e) => resolve(`error: ${e.message}`));
      worker.on('exit', (code) => resolve(`exit ${code}`));
    });
    const watchdog = setInterval(() => {
      const n = Atomics.load(hdr, 0);
      if (n !== lastExecs) {
        lastExecs = n;
        lastChange = Date.now();
      } else if (ready && Date.now() - lastChange > hangMs) {
        hung = true;
        void worker.terminate();
      }
    }, 100);
    const how = await done;
    clearInterval(watchdog);
    if (!ready) {
      console.error(`fuzz: the worker failed during setup: ${how}`);
      process.exit(2);
    }
    if (hung || how.startsWith('error')) {
      // The input in flight is in the shared buffer.
      const len = Atomics.load(hdr, 1);
      const bytes = new Uint8Array(sab, HDR * 4, len).slice();
      const t = TARGETS[Atomics.load(hdr, 2)];
      const isCodec = ['lz4', 'lzma', 'deflate', 'zstd'].includes(t);
      const alg = Atomics.load(hdr, 5);
      const finding: Finding = {
        target: t,
        base: 'unknown (in flight)',
        kind: isCodec ? 'codec' : 'image',
        nid: Atomics.load(hdr, 6) * 2 ** 32 + (Atomics.load(hdr, 3) >>> 0),
        ...(isCodec ? { algorithm: alg & 0xff, llen: Atomics.load(hdr, 4), partial: (alg & 0x100) !== 0 } : {}),
        error: hung ? `hang: no progress for ${hangMs} ms` : `worker died: ${how}`,
        bytes,
      };
      findings++;
      console.log(`FINDING ${t}: ${finding.error} -> fixtures/regressions/${save(finding)}`);
      fuzzMs += hangMs;
    }
  }
  const rate = execs / Math.max(0.001, fuzzMs / 1000);
  const targetMs = [...totals.values()].reduce((a, s) => a + s.ms, 0);
  const table = [
    `${'target'.padEnd(12)} ${'execs'.padStart(10)} ${'ok'.padStart(9)} ${'ErofsError'.padStart(10)} ${'seconds'.padStart(8)} ${'share'.padStart(6)} ${'execs/s'.padStart(8)}`,
    ...[...totals].sort().map(([t, s]) =>
      `${t.padEnd(12)} ${String(s.execs).padStart(10)} ${String(s.ok).padStart(9)} ${String(s.err).padStart(10)} ${(s.ms / 1000).toFixed(1).padStart(8)} ${((100 * s.ms) / Math.max(1, targetMs)).toFixed(1).padStart(5)}% ${(s.execs / Math.max(0.001, s.ms / 1000)).toFixed(0).padStart(8)}`),
  ];
  const closing = `total ${execs} executions in ${(fuzzMs / 1000).toFixed(1)} s of fuzzing (+${(setupMs / 1000).toFixed(1)} s setup): ${rate.toFixed(0)} execs/s; ${findings} findings`;
  console.log(['', ...table, '', closing].join('\n'));
  if (logFile) {
    const git = (a: string[]) => {
      try {
        return execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return '';
      }
    };
    const dirty = git(['status', '--porcelain', '--', 'tools', 'packages']) ? ' (with uncommitted changes under tools/ or packages/)' : '';
    const cpu = cpus();
    writeFileSync(logFile, [
      `# npm run fuzz -- ${args.join(' ')}`,
      `# run ${startedAt.toISOString()} to ${new Date().toISOString()}; code: commit ${git(['rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty}`,
      `# machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`,
      '',
      banner,
      '',
      ...table,
      '',
      closing,
      '',
    ].join('\n'));
  }
  process.exit(findings ? 1 : 0);
}

// ---------------------------------------------------------------------------------------
// Worker: corpus, mutations, the loop, minimisation.
// ---------------------------------------------------------------------------------------
async function workerThread(): Promise<void> {
  const t0 = performance.now();
  const T = await import('./fuzz-targets.js');
  const { loadCodecs, COMPAT, MemorySource, readSuperblock, superblockChecksum, ErofsError } = await import('../packages/erofs/src/index.js');
  await loadCodecs();
  const { sab, seconds, target, seed, walkShare } = workerData as { sab: SharedArrayBuffer; seconds: number; target?: string; seed: number; walkShare: number };
  const hdr = new Int32Array(sab, 0, HDR);
  const inbuf = new Uint8Array(sab, HDR * 4, MAX_INPUT);

  // xorshift32
  let s = seed | 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const ri = (n: number) => Math.floor(rnd() * n);

  const images = [...T.fixtureImages(), ...T.builderImages()];
  const seeds = images.map((i) => T.analyse(i.name, i.bytes));
  const streams = T.codecStreams(images);
  const targets = (target ? [target] : [...T.TARGETS]) as import('./fuzz-targets.js').Target[];
  parentPort!.postMessage({ type: 'ready', ms: performance.now() - t0 });

  const fixChecksum = (bytes: Uint8Array) => {
    try {
      const src = new MemorySource(bytes);
      const sb = readSuperblock(src, { verifyChecksum: false });
      if (!(sb.featureCompat & COMPAT.SB_CHKSUM)) return;
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(1028, superblockChecksum(src, sb.blockSize), true);
    } catch (e) {
      if (!(e instanceof ErofsError)) throw e;
    }
  };

  const put = (b: Uint8Array, at: number, v: number, width: number) => {
    for (let k = 0; k < width && at + k < b.length; k++) b[at + k] = Math.floor(v / 2 ** (8 * k)) & 0xff;
  };

  /** Structure-aware: a boundary value into a field of a range of the target's kind. */
  const poke = (seedImg: import('./fuzz-targets.js').Seed, b: Uint8Array, kinds: readonly string[] | undefined, nid: number) => {
    let pool = seedImg.ranges.filter((r) => (kinds ? kinds.includes(r.kind) : true) && (nid < 0 || r.nid === nid || r.kind === 'superblock'));
    if (!pool.length) pool = seedImg.ranges;
    const r = pool[ri(pool.length)];
    const bs = seedImg.blockSize;
    const otherNid = seedImg.ranges[ri(seedImg.ranges.length)].nid;
    const values = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0xffffffff, bs - 1, bs, bs + 1, b.length / bs, b.length, b.length + 1, otherNid, r.nid, r.nid + 1, 12, 0x7fffffff, 2 ** 32 - 2];
    const width = [1, 2, 4, 8][ri(4)];
    const at = r.start + (ri(4) === 0 ? ri(r.end - r.start) : ri(Math.max(1, (r.end - r.start) >> 1)) * 2) ;
    put(b, Math.min(at, b.length - 1), values[ri(values.length)], width);
  };

  /** Blind: bit flips, random bytes, a splice, or truncation. */
  const blind = (b: Uint8Array, from: number): Uint8Array => {
    const op = ri(10);
    if (op < 5) {
      for (let k = 1 + ri(8); k > 0; k--) {
        const at = from + ri(b.length - from);
        b[at] ^= 1 << ri(8);
      }
    } else if (op < 7) {
      for (let k = 1 + ri(4); k > 0; k--) b[from + ri(b.length - from)] = ri(256);
    } else if (op < 9) {
      const len = 1 + ri(64);
      const src = ri(Math.max(1, b.length - len));
      const dst = from + ri(Math.max(1, b.length - from - len));
      b.copyWithin(dst, src, src + len);
    } else {
      return b.subarray(0, from + ri(b.length - from));
    }
    return b;
  };

  const totals: Record<string, { execs: number; ok: number; err: number; ms: number }> = {};
  for (const t of targets) totals[t] = { execs: 0, ok: 0, err: 0, ms: 0 };
  let execs = 0;
  const start = performance.now();
  let lastReport = start;
  const end = start + seconds * 1000;
  // Targets share time, not executions: a whole-image walk or an LZMA stream costs 10-100x a
  // superblock parse, and a round robin let the slow ones set the pace for all. The walk
  // target is guaranteed `walkShare` of the time spent so far; every other input goes to the
  // target with the least time spent so far.
  const spent = new Float64Array(targets.length);
  const walkIndex = targets.length > 1 ? targets.indexOf('walk') : -1;
  const next = () => T.pickTarget(spent, walkIndex, walkShare);
  let execsTotal = 0;
  const selftestHang = process.env.FUZZ_SELFTEST === 'hang';

  const publish = (target: string, input: import('./fuzz-targets.js').Input) => {
    const n = Math.min(input.bytes.length, MAX_INPUT);
    inbuf.set(input.bytes.subarray(0, n));
    Atomics.store(hdr, 1, n);
    Atomics.store(hdr, 2, T.TARGETS.indexOf(target as never));
    if (input.kind === 'image') {
      Atomics.store(hdr, 3, input.nid % 2 ** 32 | 0);
      Atomics.store(hdr, 6, Math.floor(input.nid / 2 ** 32));
    }
    else {
      Atomics.store(hdr, 4, input.llen);
      Atomics.store(hdr, 5, input.algorithm | (input.partial ? 0x100 : 0));
    }
  };

  /** Greedy minimisation: revert differing bytes (in halving runs) while the failure stays. */
  const minimise = (target: import('./fuzz-targets.js').Target, original: Uint8Array, input: import('./fuzz-targets.js').Input, sig: string) => {
    let cur = input.bytes.slice();
    const fails = (b: Uint8Array) => {
      const r = T.outcome(target, { ...input, bytes: b });
      return !r.clean && r.result.split(':')[0] === sig.split(':')[0];
    };
    for (let run = 1 << 12; run >= 1; run >>= 1) {
      for (let i = 0; i < cur.length && i < original.length; i += run) {
        let differs = false;
        for (let k = i; k < i + run && k < cur.length && k < original.length; k++) if (cur[k] !== original[k]) differs = true;
        if (!differs) continue;
        const trial = cur.slice();
        trial.set(original.subarray(i, Math.min(i + run, cur.length, original.length)), i);
        if (fails(trial)) cur = trial;
      }
    }
    return cur;
  };

  while (performance.now() < end) {
    const ti = next();
    const target = targets[ti];
    const started = performance.now();
    let input: import('./fuzz-targets.js').Input;
    let original: Uint8Array;
    let base: string;
    const algo = ['lz4', 'lzma', 'deflate', 'zstd'].indexOf(target);
    if (algo >= 0) {
      const pool = streams.filter((x) => x.algorithm === algo);
      if (!pool.length) {
        spent[ti] = Infinity;
        continue;
      }
      const st = pool[ri(pool.length)];
      original = st.bytes;
      base = st.name;
      let b = st.bytes.slice();
      for (let k = 1 + ri(3); k > 0; k--) b = blind(b, 0);
      input = { ...st, bytes: b, llen: ri(8) === 0 ? ri(st.llen * 2 + 1) : st.llen, partial: ri(4) === 0 ? !st.partial : st.partial };
    } else {
      const kinds = target === 'walk' ? undefined : T.TARGET_KINDS[target];
      const candidates = target === 'superblock' || target === 'walk' ? seeds : seeds.filter((x) => x.nids[target]?.length);
      if (!candidates.length) {
        spent[ti] = Infinity;
        continue;
      }
      const sd = candidates[ri(candidates.length)];
      const nids = sd.nids[target] ?? [];
      const nid = nids.length ? nids[ri(nids.length)] : -1;
      original = sd.bytes;
      base = sd.name;
      let b = sd.bytes.slice();
      const structured = ri(3) !== 0;
      for (let k = 1 + ri(3); k > 0; k--) {
        if (structured) poke(sd, b, kinds, target === 'walk' ? -1 : nid);
        else b = blind(b, target === 'superblock' ? 1024 : ri(2) ? 1024 : 0);
      }
      if (ri(10) !== 0) fixChecksum(b);
      input = { kind: 'image', name: sd.name, bytes: b, nid: nid < 0 ? 0 : nid };
    }
    publish(target, input);
    // Self-test of the watchdog: FUZZ_SELFTEST=hang spins on the 100th input.
    if (selftestHang && execsTotal === 100) for (;;);
    execsTotal++;
    const r = T.outcome(target, input);
    const took = performance.now() - started;
    spent[ti] += took;
    Atomics.add(hdr, 0, 1);
    execs++;
    const tot = totals[target];
    tot.execs++;
    tot.ms += took;
    if (r.result === 'ok') tot.ok++;
    else if (r.clean) tot.err++;
    else {
      const small = minimise(target, original, input, r.result);
      parentPort!.postMessage({
        type: 'finding',
        finding: {
          target, base, kind: input.kind, nid: input.kind === 'image' ? input.nid : 0,
          ...(input.kind === 'codec' ? { algorithm: input.algorithm, llen: input.llen, partial: input.partial } : {}),
          error: r.result, bytes: small,
        } satisfies Finding,
      });
    }
    const now = performance.now();
    if (now - lastReport > 1000) {
      parentPort!.postMessage({ type: 'stats', totals: { ...totals }, execs, ms: now - lastReport });
      for (const t of targets) totals[t] = { execs: 0, ok: 0, err: 0, ms: 0 };
      execs = 0;
      lastReport = now;
    }
  }
  parentPort!.postMessage({ type: 'stats', totals, execs, ms: performance.now() - lastReport });
}

if (isMainThread) await mainThread();
else await workerThread();
