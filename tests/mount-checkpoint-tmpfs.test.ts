/**
 * Checkpoint / restore of tmpfs mounts across processes: a guest session writes a tree
 * on tmpfs (see mount-checkpoint-tmpfs-session.ts), is saved, and a new Node.js process
 * restores it from JSON. The restored tree must be the saved one (names, types, modes,
 * owners, sizes, content hashes, nlink, inode numbers, times, xattrs), each tmpfs must
 * account for the same pages and inodes, and the session's second half (reading on in
 * an unlinked open file, writing through kept descriptors) must print what the same
 * session prints without interruption. Then hostile tmpfs sections are refused.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, SysError, type Stat } from '@erofs-js/vfs';
import { CHECKPOINT_LIMITS, CheckpointError, HostController, allowImages, parseCheckpoint, type BytesCheckpoint, type Checkpoint, type RestoreHost } from '@erofs-js/mount/node';
import { ROOTFS } from './mount-checkpoint-session.js';
import { firstHalf, manifest, secondHalf, tmpfsStats, type TmpfsGuestState } from './mount-checkpoint-tmpfs-session.js';
import { fcRuns } from './fc-runs.js';

const { runs } = fcRuns('tmpfs checkpoint histories');

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'erofs-ckpt-tmpfs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = () => HostController.create({ rootfs: ROOTFS, tmpfs: [{ target: '/tmp', options: { size: '4m', nr_inodes: 200 } }] });

interface Child {
  code: number;
  out: { manifest: string[]; stats: string[]; lines: string[] } | null;
  text: string;
}

async function restoreInChild(checkpoint: unknown, guest: TmpfsGuestState): Promise<Child> {
  const file = join(dir, `ckpt-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ checkpoint, guest }));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/mount-checkpoint-tmpfs-child.ts', file], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tests/mount-checkpoint.tsconfig.json' },
      timeout: 60_000,
      maxBuffer: 64 << 20,
    });
    return { code: 0, out: JSON.parse(stdout), text: stdout };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, out: null, text: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

let expected: string[];
let saved: { lines: string[]; checkpoint: Checkpoint; guest: TmpfsGuestState; manifest: string[]; stats: string[] };

beforeAll(async () => {
  // The same session without interruption.
  let c = await start();
  expected = [];
  let half = firstHalf(c, (l) => expected.push(l));
  secondHalf(c, half.tasks, half.guest, (l) => expected.push(l));
  c.close();
  // Saved after its first half.
  c = await start();
  const lines: string[] = [];
  half = firstHalf(c, (l) => lines.push(l));
  const stats = tmpfsStats(c);
  const tree = manifest(c, '/tmp');
  const checkpoint = JSON.parse(JSON.stringify(c.save())) as Checkpoint;
  for (const t of half.tasks) t.exit();
  c.close();
  saved = { lines, checkpoint, guest: half.guest, manifest: tree, stats };
});

describe('tmpfs checkpoint and restore in a new process', () => {
  it('the restored tree and accounting equal the saved ones, and the session goes on as if never interrupted', async () => {
    const r = await restoreInChild(saved.checkpoint, saved.guest);
    expect(r.code, r.text).toBe(0);
    const out = r.out!;
    expect(out.manifest).toEqual(saved.manifest);
    expect(out.stats).toEqual(saved.stats);
    expect([...saved.lines, ...out.lines]).toEqual(expected);
    // The session exercised what the checkpoint must carry.
    const all = expected.join('\n');
    expect(all).toContain('u: victim unlinked at offset 5000, nlink 0');
    expect(all).toContain('u: victim read 1000 (bytes 5000..6000), offset 6000, size 20000, nlink 0');
    expect(all).toContain('u: victim after write: size 20004, tail');
    expect(all).toContain('file1 from 100');
    expect(all).toContain('u: O_TMPFILE holds "anonymous", nlink 0');
    expect(all).toContain('u: log = "one\\ntwo\\n"');
    expect(all).toContain("u: write through the 0444 file's descriptor -> ok 3; open it again for writing -> EACCES");
    expect(all).toMatch(/rest of \/tmp\/a\/many: \d+ names/);
    expect(all).toContain('t2: stat . nlink 0; create in it -> ENOENT');
    expect(all).toContain('u: create on the read-only /run -> EROFS');
    expect(all).toMatch(/mountinfo: .* \/tmp\/home rw,nosuid,relatime - tmpfs tmpfs rw,size=1024k,nr_inodes=64,mode=750,uid=1000,gid=1000,inode64/);
    // What the manifest covers.
    const m = saved.manifest.join('\n');
    expect(m).toMatch(/\/tmp\/a\/file1 f 644 1000:1000 size=10000 nlink=2 .* xattrs=security\.label=7330,user\.color=626c7565/);
    expect(m).toMatch(/\/tmp\/a\/b\/hard f 644 1000:1000 size=10000 nlink=2/);
    expect(m).toMatch(/\/tmp\/a\/sym l 777 .* -> 66696c6531 xattrs=trusted\.t=78/);
    expect(m).toMatch(/\/tmp\/a\/dangling l .* -> 2f6e6fff/);
    expect(m).toMatch(/\/tmp\/a\/sparse f 600 .* size=1048676 /);
    expect(m).toMatch(/\/tmp\/a\/null c 644 0:0 .* rdev=259/);
    expect(m).toMatch(/\/tmp\/a\/fifo p 640 /);
    expect(m).toMatch(/\/tmp\/a d 755 1000:1000 .* xattrs=user\.dir=00ff01/);
    expect(m).toMatch(/\/tmp\/home\/notes f 600 1000:1000 size=5000/);
  });

  it('the checkpoint holds the content as the snapshot, byte strings in base64 cut at their last non-zero byte', () => {
    const cp = saved.checkpoint;
    expect(parseCheckpoint(cp)).toEqual(cp);
    const tmp = cp.mounts.find((m) => m.target === '/tmp')!;
    expect(tmp.fstype).toBe('tmpfs');
    expect(tmp.flags).toEqual({ readOnly: false, nosuid: false, nodev: false, noexec: false });
    expect(tmp.tmpfs!.options).toEqual({ size: 4 << 20, nr_inodes: 200, atime: 'relatime', protectedHardlinks: true });
    const run = cp.mounts.find((m) => m.target === '/run')!;
    expect(run.flags.readOnly).toBe(true);
    expect(run.source).toBe('runfs');
    const content = tmp.tmpfs!.content;
    // The victim, the O_TMPFILE file and the removed cwd are unlinked; descriptions and the cwd name them by inode.
    expect(content.unlinked).toHaveLength(3);
    const byIno = [...cp.descriptions, ...cp.tasks.flatMap((t) => [t.root, t.cwd])].filter((d) => d.ino !== undefined);
    expect(byIno.map((d) => d.ino).sort()).toEqual([...content.unlinked].sort());
    expect(byIno.every((d) => d.path.length === 0)).toBe(true);
    expect(cp.tasks[1].cwd).toEqual({ mount: cp.mounts.find((m) => m.target === '/tmp')!.id, path: [], ino: expect.any(Number) });
    // The descriptor whose name was removed while file1 lives is saved under another name.
    expect(cp.descriptions.some((d) => ['a,file1', 'a,b,hard'].includes(d.path.join(',')))).toBe(true);
    // The sparse file: one written page (cut after its 100 bytes), two fallocated ones (null).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const inodes = content.inodes as any[];
    const sparse = inodes.find((i) => i.size === (1 << 20) + 100);
    expect(sparse.pages.map(([k, v]: [number, BytesCheckpoint | null]) => [k, v && v.b64.length, v && v.len])).toEqual([
      [256, 136, 4096],
      [512, null, null],
      [513, null, null],
    ]);
    // Names are bytes too.
    const root = inodes.find((i) => i.ino === content.root);
    expect(root.entries.map((e: { name: BytesCheckpoint }) => Buffer.from(e.name.b64, 'base64').toString())).toEqual(['a', 'home']);
    // The whole checkpoint stays near the bytes it holds.
    expect(JSON.stringify(cp).length).toBeLessThan(200_000);
  });

  it('restores in process too, and a second save equals the first', async () => {
    const { controller, tasks } = await HostController.restore(saved.checkpoint, allowImages([ROOTFS]));
    try {
      expect(JSON.parse(JSON.stringify(controller.save()))).toEqual(saved.checkpoint);
    } finally {
      for (const t of tasks) t.exit();
      controller.close();
    }
  });
});

describe('hostile tmpfs sections are refused with a CheckpointError naming the field', () => {
  async function refusal(checkpoint: unknown, host: RestoreHost = allowImages([ROOTFS])): Promise<CheckpointError> {
    const e = await HostController.restore(checkpoint, host).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  const tmpIndex = () => saved.checkpoint.mounts.findIndex((m) => m.target === '/tmp');

  it('cases', async () => {
    const i = tmpIndex();
    const at = `mounts[${i}].tmpfs`;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const b64 = (t: string) => ({ b64: Buffer.from(t, 'latin1').toString('base64') });
    const cases: [string, (cp: any) => unknown, string, RegExp][] = [
      ['truncated: half the inodes gone', (cp) => (content(cp).inodes.length >>= 1, cp), 'EINVAL', /is not in the list|no name/],
      ['truncated: content missing', (cp) => (delete cp.mounts[i].tmpfs.content, cp), 'EINVAL', /tmpfs: field content is missing/],
      ['truncated: the unlinked list missing', (cp) => (delete content(cp).unlinked, cp), 'EINVAL', /tmpfs\.content: field unlinked is missing/],
      ['a size limit the content does not fit', (cp) => (cp.mounts[i].tmpfs.options.size = 8192, cp), 'EINVAL', /zero bytes put back in mounts\[1\]\.tmpfs\.content to \d+, more than its size limit of 8192/],
      ['a size limit past 1 TiB', (cp) => (cp.mounts[i].tmpfs.options.size = 2 ** 41, cp), 'EINVAL', /options\.size: 2199023255552 is outside/],
      ['a size that is not whole pages', (cp) => (cp.mounts[i].tmpfs.options.size = 5000, cp), 'EINVAL', /not a multiple of 4096/],
      ['more inodes than nr_inodes', (cp) => (cp.mounts[i].tmpfs.options.nr_inodes = 3, cp), 'EINVAL|ENOSPC', /content(\.inodes)?: (\d+ items, at most 3|snapshot has \d+ inodes, nr_inodes allows 3)/],
      ['an oversized page', (cp) => (firstPage(cp).pages[0][1] = { b64: 'A'.repeat(5468) }, cp), 'EINVAL', /pages\[0\]\[1\]: expected 4096\.\.4096 bytes, got 4101/],
      ['a byte string over 64 KiB', (cp) => (withXattr(cp).xattrs[0][1] = { b64: 'A'.repeat(90_000) }, cp), 'EINVAL', /xattrs\[0\]\[1\]\.b64: is 90000 characters of base64 \(at most 87384/],
      ['a length over 64 KiB', (cp) => (withXattr(cp).xattrs[0][1] = { b64: '', len: 65537 }, cp), 'EINVAL', /xattrs\[0\]\[1\]\.len: 65537 is outside 0\.\.65536/],
      ['a length below what the base64 holds', (cp) => (firstPage(cp).pages[0][1].len = 2, cp), 'EINVAL', /pages\[0\]\[1\]\.len: 2 is outside \d+\.\.65536/],
      ['a page that is not base64', (cp) => (firstPage(cp).pages[0][1] = { b64: 'ab$=' }, cp), 'EINVAL', /pages\[0\]\[1\]\.b64: a character "\$" at 2 that is not base64/],
      ['base64 with stray padding bits', (cp) => (firstPage(cp).pages[0][1] = { b64: 'AB==', len: 4096 }, cp), 'EINVAL', /pages\[0\]\[1\]\.b64: base64 with non-zero padding bits/],
      ['bytes with another field', (cp) => (firstPage(cp).pages[0][1].x = 1, cp), 'EINVAL', /pages\[0\]\[1\]: unknown field "x"/],
      ['nesting too deep', (cp) => (content(cp).extra = [[[[[[[[[1]]]]]]]]], cp), 'EINVAL', /content\.extra\[0\](\[0\])+: nested deeper than 8 levels/],
      ['a page past the file size', (cp) => (firstPage(cp).size = 0, cp), 'EINVAL', /pages\[0\]: a written page at 0 is past the size 0/],
      ['an entry naming a missing inode', (cp) => (dirWith(cp).entries[0].ino = 999_999, cp), 'EINVAL', /entries\[0\]\.ino: inode 999999 is not in the list/],
      ['a directory named twice', (cp) => (twiceNamedDir(cp), cp), 'EINVAL', /has more than one name|reached twice/],
      ['an unlinked inode that has a name', (cp) => (content(cp).unlinked.push(dirWith(cp).entries[0].ino), cp), 'EINVAL', /unlinked\[3\]: inode \d+ has a name/],
      ['a name that is not bytes', (cp) => (dirWith(cp).entries[0].name = 'plain', cp), 'EINVAL', /entries\[0\]\.name: expected bytes/],
      ['a name holding "/"', (cp) => (dirWith(cp).entries[0].name = b64('a/b'), cp), 'EINVAL', /holds "\/" or NUL/],
      ['an unknown field in the options', (cp) => (cp.mounts[i].tmpfs.options.huge = true, cp), 'EINVAL', /tmpfs\.options: unknown field "huge"/],
      ['a wrong snapshot format', (cp) => (content(cp).format = 'x', cp), 'EINVAL', /content\.format: is not "erofs-js\/tmpfs"/],
      ['an xattr outside the known namespaces', (cp) => (withXattr(cp).xattrs[0][0] = b64('os2.x'), cp), 'EINVAL', /is not a user\., trusted\. or security\. name/],
      ['a description on an inode that is not unlinked', (cp) => (cp.descriptions.find((d: { ino?: number }) => d.ino !== undefined).ino = 1, cp), 'EINVAL', /\.ino: inode 1 is not in mount \d+'s tmpfs\.content\.unlinked/],
      ['a description by inode with a path', (cp) => (cp.descriptions.find((d: { ino?: number }) => d.ino !== undefined).path = ['a'], cp), 'EINVAL', /path: must be empty when ino names an unlinked inode/],
      ['a tmpfs posing as another type', (cp) => (cp.mounts[i].fstype = 'ext4', cp), 'EINVAL', /fstype: a tmpfs mount is "tmpfs" or "devtmpfs", not "ext4"/],
      ['a tmpfs that is also an image', (cp) => (cp.mounts[i].image = cp.mounts[0].image, cp), 'EINVAL', /a mount is one of image, tmpfs or provided/],
      ['a writable description on a read-only mount', (cp) => (cp.mounts[i].flags.readOnly = true, cp), 'EROFS', /open for writing .* which is read-only/],
      ['a path gone from the tmpfs', (cp) => (cp.descriptions.find((d: { path: string[] }) => d.path.join('/') === 'a/log').path = ['a', 'gone'], cp), 'ENOENT', /descriptions\[\d+\]: \/a\/gone in mount \d+: ENOENT/],
      ['users that do not add up (failing after everything was built)', (cp) => (cp.mounts[i].users++, cp), 'EINVAL', /after restore, the checkpoint recorded/],
    ];
    for (const [what, mutate, code, message] of cases) {
      const e = await refusal(mutate(structuredClone(saved.checkpoint)));
      expect(e.message, what).toMatch(message);
      expect(e.code, what).toMatch(new RegExp(`^(${code})$`));
      if (code.startsWith('EINVAL')) expect(e.at, what).toMatch(/^mounts\[\d+\]|^descriptions\[\d+\]/);
    }
    // The host's cap on what tmpfs content a restore may allocate.
    let e = await refusal(saved.checkpoint, { ...allowImages([ROOTFS]), maxTmpfsBytes: 1 << 20 });
    expect([e.reason, e.code, e.at]).toEqual(['refused', 'ENOSPC', `${at}.options.size`]);
    expect(e.message).toMatch(/size limits add up to 4194304 bytes, over the host's 1048576/);
    expect(CHECKPOINT_LIMITS.restoreTmpfsBytes).toBe(1 << 30);
    // A page that decodes but lies past the size Tmpfs.restore checks: the field is named.
    // It is refused before the host is asked to open any image.
    let asked = 0;
    const counting: RestoreHost = { openImage: () => (asked++, ROOTFS) };
    e = await refusal(((cp) => ((firstPage(cp).size = 0), cp))(structuredClone(saved.checkpoint) as any), counting);
    expect(asked).toBe(0);
    expect(e.at).toMatch(new RegExp(`^${at.replace(/[[\]]/g, '\\$&')}\\.content\\.inodes\\[\\d+\\]\\.pages\\[0\\]$`));
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const content = (cp: any) => cp.mounts[tmpIndex()].tmpfs.content;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const firstPage = (cp: any) => content(cp).inodes.find((x: any) => x.pages?.length && x.pages[0][1] && x.pages[0][0] === 0);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dirWith = (cp: any) => content(cp).inodes.find((x: any) => x.entries?.length);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const withXattr = (cp: any) => content(cp).inodes.find((x: any) => x.xattrs.length);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function twiceNamedDir(cp: any): void {
    // The entry of a file points at a directory instead: the directory then has two names.
    const c = content(cp);
    const name = (e: { name: BytesCheckpoint }) => Buffer.from(e.name.b64, 'base64').toString();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const a = c.inodes.find((x: any) => x.entries?.some((e: any) => name(e) === 'log'));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    a.entries.find((e: any) => name(e) === 'log').ino = a.entries.find((e: any) => name(e) === 'b').ino;
  }
});

describe('random tmpfs histories survive save and restore', () => {
  type Op =
    | { op: 'mkdir' | 'create' | 'unlink' | 'rmdir' | 'open' | 'close'; a: number }
    | { op: 'write'; a: number; at: number; len: number; seed: number }
    | { op: 'truncate'; a: number; len: number }
    | { op: 'link' | 'rename' | 'symlink'; a: number; b: number }
    | { op: 'xattr'; a: number; len: number; seed: number }
    | { op: 'chmod'; a: number; mode: number };
  const NAMES = ['a', 'b', 'c', 'd', 'd/e', 'd/f', 'g', 'g/h', 'g/h/i', 'caf\u00e9', 'x y'];
  const path = (i: number) => `/tmp/${NAMES[i % NAMES.length]}`;
  const slot = fc.nat(NAMES.length - 1);
  const one = (op: Op['op']) => fc.record({ op: fc.constant(op), a: slot });
  const ops = fc.oneof(
    { arbitrary: one('create'), weight: 6 },
    { arbitrary: one('mkdir'), weight: 3 },
    { arbitrary: one('open'), weight: 4 },
    { arbitrary: one('unlink'), weight: 3 },
    { arbitrary: one('rmdir'), weight: 1 },
    { arbitrary: one('close'), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('write'), a: slot, at: fc.nat(20_000), len: fc.nat(9000), seed: fc.nat() }), weight: 5 },
    { arbitrary: fc.record({ op: fc.constant('truncate'), a: slot, len: fc.nat(30_000) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constantFrom('link', 'rename', 'symlink'), a: slot, b: slot }), weight: 4 },
    { arbitrary: fc.record({ op: fc.constant('xattr'), a: slot, len: fc.nat(300), seed: fc.nat() }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('chmod'), a: slot, mode: fc.nat(0o7777) }), weight: 1 },
  ) as fc.Arbitrary<Op>;

  it('manifest, accounting and every open descriptor (offsets, unlinked files) come back', async () => {
    const seenKinds = { withFds: 0, withOrphans: 0, entries: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { minLength: 10, maxLength: 80 }), async (history) => {
        const c = await HostController.create({ tmpfs: [{ target: '/tmp', options: { size: '256k', nr_inodes: 40 } }] });
        const t = c.task();
        const fds: number[] = [];
        const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff || 1);
        for (const h of history) {
          try {
            switch (h.op) {
              case 'mkdir': t.mkdir(path(h.a), 0o755); break;
              case 'create': t.close(t.open(path(h.a), O_CREAT | O_RDWR, 0o644)); break;
              case 'unlink': t.unlink(path(h.a)); break;
              case 'rmdir': t.unlinkat(-100, path(h.a), 0x200); break;
              case 'open': fds.push(t.open(path(h.a), O_CREAT | O_RDWR, 0o600)); break;
              case 'close': if (fds.length) t.close(fds.splice(h.a % fds.length, 1)[0]); break;
              case 'write': { const fd = t.open(path(h.a), O_RDWR); try { t.pwrite64(fd, bytes(h.len, h.seed), h.at); } finally { t.close(fd); } break; }
              case 'truncate': t.truncate(path(h.a), h.len); break;
              case 'link': t.link(path(h.a), path(h.b)); break;
              case 'rename': t.rename(path(h.a), path(h.b)); break;
              case 'symlink': t.symlink(NAMES[h.b % NAMES.length], path(h.a)); break;
              case 'xattr': t.setxattr(path(h.a), 'user.k', bytes(h.len, h.seed)); break;
              case 'chmod': t.chmod(path(h.a), h.mode); break;
            }
          } catch (e) {
            if (!(e instanceof SysError)) throw e;
          }
          // Move each open descriptor somewhere, so offsets matter.
          if (fds.length) t.lseek(fds[fds.length - 1], (h as { at?: number }).at ?? 7, 0);
        }
        const before = { tree: manifest(c, '/tmp'), stats: tmpfsStats(c) };
        if (fds.length) seenKinds.withFds++;
        if (!/orphans 0 /.test(before.stats[0])) seenKinds.withOrphans++;
        seenKinds.entries += before.tree.length - 1;
        const pos = fds.map((fd) => t.lseek(fd, 0, 1));
        // Reading may move atime (relatime, at the clock's millisecond): the rest must match.
        const content = (task: typeof t, fd: number): [Omit<Stat, 'atime' | 'atimeNsec'>, string] => {
          const { atime: _a, atimeNsec: _n, ...st } = task.fstat(fd);
          const buf = new Uint8Array(st.size);
          const n = st.size ? task.pread64(fd, buf, 0) : 0;
          return [st, Buffer.from(buf.subarray(0, n)).toString('base64')];
        };
        const seen = fds.map((fd) => content(t, fd));
        const cp = JSON.parse(JSON.stringify(c.save()));
        t.exit();
        c.close();
        const { controller: r, tasks } = await HostController.restore(cp, allowImages([]));
        try {
          expect(manifest(r, '/tmp')).toEqual(before.tree);
          expect(tmpfsStats(r)).toEqual(before.stats);
          const [t2] = tasks;
          expect(fds.map((fd) => t2.lseek(fd, 0, 1))).toEqual(pos);
          expect(fds.map((fd) => content(t2, fd))).toEqual(seen);
          for (const fd of fds) t2.close(fd);
          t2.exit();
          // Every unlinked file went with its last descriptor.
          expect(tmpfsStats(r)[0]).toMatch(/orphans 0 .* held 0$/);
        } finally {
          r.close();
        }
      }),
      runs(100),
    );
    // The histories reached what they are for.
    console.log(`random tmpfs histories: ${JSON.stringify(seenKinds)} over ${runs(100).numRuns} runs`);
    expect(seenKinds.withFds).toBeGreaterThan(10);
    expect(seenKinds.withOrphans).toBeGreaterThan(2);
    expect(seenKinds.entries).toBeGreaterThan(100);
  });
});
