/**
 * The Linux kernel as the oracle of the overlay: every step tools/oracle/record-overlay.py
 * ran on the kernel's overlayfs (three EROFS layers made by mkfs.erofs --tar=f --aufs
 * under a fresh tmpfs upper per scenario; fixtures/oracle/overlay.jsonl) is replayed here
 * through `Task` on our Overlay over the same three images and a fresh Tmpfs upper. Each
 * answer must be the kernel's (return value or errno, bytes read, getdents64 records with
 * their d_off, stat fields with inodes and devices numbered by first appearance, which
 * times changed), and after each scenario the manifest and directory order of the merged
 * tree and of the upper directory (whiteouts, trusted.overlay.* xattrs) must be too.
 *
 * Re-record (root, Linux with overlayfs, EROFS and tmpfs):
 *   npx tsx tools/oracle/overlay-battery.ts && python3 tools/oracle/record-overlay.py
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Image, MemorySource, S_IFCHR, S_IFBLK, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '@erofs-js/erofs';
import { Filesystem, O_DIRECTORY, O_RDONLY, ROOT, capMask, nameKey, parseDirents, type AnyFilesystem, type FsNode } from '@erofs-js/vfs';
import { Tmpfs } from '@erofs-js/tmpfs';
import { Overlay, erofsLayer } from '@erofs-js/overlay';
import { HostController } from '@erofs-js/mount/node';
import { FIXTURES, readJsonl } from './fixtures.js';
import { OVERLAY_BATTERY_JSON_PATH, overlayBatteryJson, overlayBatterySha256 } from '../tools/oracle/overlay-battery.js';
import { CAP_SYS_CHROOT, Replayer, TYPES, canon, describeStep, manifestOf, sleepMs, tclass, textOrB64, utf8, type StepLine } from './oracle-replay.js';

interface Header {
  oracle: string;
  kernel: string;
  target: string;
  battery_sha256: string;
  scenarios: string[];
  layers: { file: string; sha256: string; uuid: string }[];
  mountinfo: { options: string; super_options: string };
}

type Rec = Record<string, unknown>;

interface Scenario {
  steps: StepLine[];
  manifest: Rec[];
  readdir: Rec[];
  upper_manifest: Rec[];
  upper_readdir: Rec[];
}

function loadOracle(): { header: Header; scenarios: Map<number, Scenario> } {
  const lines = readJsonl<Rec>(FIXTURES + 'oracle/overlay.jsonl');
  const header = lines[0] as unknown as Header;
  const scenarios = new Map<number, Scenario>();
  for (const l of lines.slice(1)) {
    const i = l.scenario as number;
    if (!scenarios.has(i)) scenarios.set(i, { steps: [], manifest: [], readdir: [], upper_manifest: [], upper_readdir: [] });
    const s = scenarios.get(i)!;
    if ('step' in l) s.steps.push(l as unknown as StepLine);
    else for (const k of ['manifest', 'readdir', 'upper_manifest', 'upper_readdir'] as const) if (k in l) s[k].push(l[k] as Rec);
  }
  return { header, scenarios };
}

const images = () => [1, 2, 3].map((i) => new Uint8Array(readFileSync(`${FIXTURES}oracle/overlay-L${i}.erofs`)));

/** Our overlay of the three recorded layers (lowerdir=L3:L2:L1) on a fresh 16 MiB tmpfs, at /t, and a root task chrooted there. */
async function mountOverlay() {
  const c = await HostController.create({ mkdirs: ['/t'] });
  const lowers = images()
    .map((b, i) => erofsLayer(new Filesystem(new Image(new MemorySource(b))), `L${i + 1}`))
    .reverse();
  const upper = new Tmpfs({ size: 16 << 20, nr_inodes: 16384 });
  const ov = new Overlay({ lowers, upper, dev: c.ns.allocDev(), upperName: 'U' });
  await c.mount({ fs: ov, target: '/t', superOptions: ov.superOptions() });
  const task = c.task({ creds: { ...ROOT, caps: ROOT.caps | capMask(CAP_SYS_CHROOT) } });
  task.chroot('/t');
  task.chdir('/');
  return {
    c,
    ov,
    task,
    close() {
      task.exit();
      c.close();
    },
  };
}

// ---- the upper directory's manifest, through the filesystem contract ----------------------

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function entries(fs: AnyFilesystem, dir: FsNode): string[] {
  const f = fs.open(dir, O_RDONLY | O_DIRECTORY, ROOT);
  const out: string[] = [];
  try {
    const buf = new Uint8Array(1 << 16);
    let n: number;
    while ((n = f.getdents64(buf)) > 0) for (const d of parseDirents(buf, n)) if (!(d.name.length <= 2 && d.name.every((c) => c === 0x2e))) out.push(nameKey(d.name));
  } finally {
    f.close();
  }
  return out;
}

/** manifest.py's records of the tree under `root`, inodes numbered in path order, masked as record-overlay.py masks them. */
function treeManifest(fs: AnyFilesystem, root: FsNode): { manifest: Rec[]; readdir: Rec[] } {
  const recs: [Buffer, Rec, number][] = [];
  const dirs: [Buffer, string[]][] = [];
  const record = (n: FsNode, rel: Buffer): Rec => {
    const st = fs.stat(n);
    const type = TYPES[st.mode & S_IFMT] ?? 'unknown';
    const r: Rec = {};
    textOrB64(r, 'path', rel);
    Object.assign(r, { type, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtime, mtime_nsec: st.mtimeNsec, ino: 0 });
    const t = st.mode & S_IFMT;
    if (t === S_IFCHR || t === S_IFBLK) r.rdev = st.rdev;
    if (t === S_IFLNK) textOrB64(r, 'target', fs.readlink(n));
    if (t === S_IFREG) {
      const f = fs.open(n, O_RDONLY, ROOT);
      const h = createHash('sha256');
      const buf = new Uint8Array(1 << 16);
      let k: number;
      while ((k = f.read(buf)) > 0) h.update(buf.subarray(0, k));
      f.close();
      r.sha256 = h.digest('hex');
    }
    const lsize = fs.listxattr(n, null, ROOT);
    if (lsize) {
      const lb = new Uint8Array(lsize);
      fs.listxattr(n, lb, ROOT);
      const names = Buffer.from(lb).toString('latin1').split('\0').filter(Boolean).sort((x, y) => Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1')));
      const xattrs: Record<string, string> = {};
      for (const name of names) {
        const key = Buffer.from(name, 'latin1');
        const v = new Uint8Array(fs.getxattr(n, key, null, ROOT));
        if (v.length) fs.getxattr(n, key, v, ROOT);
        xattrs[name] = name === 'trusted.overlay.uuid' ? '<uuid>' : Buffer.from(v).toString('base64');
      }
      r.xattrs = xattrs;
    }
    recs.push([rel, r, st.ino]);
    return r;
  };
  const walk = (n: FsNode, rel: Buffer) => {
    const names = entries(fs, n);
    dirs.push([rel, names]);
    for (const name of names) {
      const child = fs.lookup(n, Buffer.from(name, 'latin1'), ROOT);
      try {
        const crel = Buffer.concat([rel.length === 1 ? Buffer.alloc(0) : rel, Buffer.from('/'), Buffer.from(name, 'latin1')]);
        record(child, crel);
        if ((child.mode & S_IFMT) === S_IFDIR) walk(child, crel);
      } finally {
        child.decRef();
      }
    }
  };
  record(root, Buffer.from('/'));
  walk(root, Buffer.from('/'));
  recs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const inos = new Map<number, number>();
  const manifest = recs.map(([, r, ino]) => {
    if (!inos.has(ino)) inos.set(ino, inos.size);
    r.ino = inos.get(ino);
    if (tclass(r.mtime as number, r.mtime_nsec as number) === 'now') {
      r.mtime = 'now';
      delete r.mtime_nsec;
    }
    return r;
  });
  dirs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const readdir = dirs.map(([p, names]) => {
    const d: Rec = {};
    textOrB64(d, 'path', p);
    const raw = names.map((x) => Buffer.from(x, 'latin1'));
    if (raw.every((x) => utf8(x) !== null)) d.entries = raw.map((x) => x.toString());
    else d.entries_b64 = raw.map((x) => x.toString('base64'));
    return d;
  });
  return { manifest, readdir };
}

function compareTree(what: string, want: Rec[], got: Rec[], wantDirs: Rec[], gotDirs: Rec[], diffs: string[]): void {
  const key = (x: Rec) => (x.path ?? 'b64:' + x.path_b64) as string;
  const w = new Map(want.map((x) => [key(x), x]));
  const g = new Map(got.map((x) => [key(x), x]));
  for (const [p, x] of w) {
    const y = g.get(p);
    if (!y) diffs.push(`${what} ${p}: missing (kernel ${canon(x)})`);
    else if (canon(x) !== canon(y)) diffs.push(`${what} ${p}: kernel ${canon(x)}, ours ${canon(y)}`);
  }
  for (const [p, y] of g) if (!w.has(p)) diffs.push(`${what} ${p}: not in the kernel's tree (ours ${canon(y)})`);
  const wd = new Map(wantDirs.map((x) => [key(x), x]));
  for (const d of gotDirs) {
    const x = wd.get(key(d));
    if (x && canon(x) !== canon(d)) diffs.push(`${what} readdir ${key(d)}: kernel ${canon(x)}, ours ${canon(d)}`);
  }
}

async function replay(rec: Scenario): Promise<string[]> {
  const { ov, task, close } = await mountOverlay();
  const r = new Replayer(task, { identity: 'dev-ino' });
  const diffs: string[] = [];
  try {
    for (const s of rec.steps) {
      const t0 = Date.now();
      while (Date.now() === t0) sleepMs(1);
      const ours = r.run(s);
      if (canon(ours) !== canon(s.result)) diffs.push(`${describeStep(s)}: kernel ${canon(s.result)}, ours ${canon(ours)}`);
    }
    r.closeAll();
    try {
      const m = manifestOf(r);
      compareTree('manifest', rec.manifest, m.manifest, rec.readdir, m.readdir, diffs);
      const u = treeManifest(ov.upper, ov.upperDir);
      compareTree('upper', rec.upper_manifest, u.manifest, rec.upper_readdir, u.readdir, diffs);
    } catch (e) {
      diffs.push(`manifest: ${String(e)}`);
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

const { header, scenarios } = loadOracle();

describe('overlay oracle: the battery and its recording', () => {
  it('tools/oracle/overlay-battery.json is what overlay-battery.ts generates', () => {
    expect(readFileSync(OVERLAY_BATTERY_JSON_PATH, 'utf8') === overlayBatteryJson(), 'run: npx tsx tools/oracle/overlay-battery.ts').toBe(true);
  });
  it('overlay.jsonl was recorded from this battery on Linux, over these layer images', () => {
    expect(header.oracle).toBe('linux');
    expect(header.target).toBe('overlay');
    expect(header.battery_sha256, 'stale recording: re-run python3 tools/oracle/record-overlay.py as root').toBe(overlayBatterySha256(readFileSync(OVERLAY_BATTERY_JSON_PATH, 'utf8')));
    images().forEach((b, i) => expect(sha256(b), header.layers[i].file).toBe(header.layers[i].sha256));
  });
  it("mountinfo shows the kernel's options for the same stack", async () => {
    const { c, close } = await mountOverlay();
    try {
      const line = c.mountinfo().split('\n').find((l) => l.includes(' /t '))!;
      const [left, right] = line.split(' - ');
      expect(left.split(' ')[5]).toBe(header.mountinfo.options);
      expect(right.split(' ').slice(0, 2)).toEqual(['overlay', 'overlay']);
      expect(right.split(' ')[2]).toBe(header.mountinfo.super_options);
    } finally {
      close();
    }
  });
});

describe(`overlay oracle: our overlay answers as Linux ${header.kernel}'s overlayfs did`, () => {
  for (const [i, rec] of scenarios) {
    it(`${i}: ${header.scenarios[i]}`, async () => {
      const diffs = await replay(rec);
      expect(diffs, `${diffs.length} differences in ${rec.steps.length} steps`).toEqual([]);
    });
  }
});
