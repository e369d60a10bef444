/**
 * Checkpoint / restore across processes: a scripted guest session (see
 * mount-checkpoint-session.ts) is saved halfway, the checkpoint goes through JSON to a new
 * Node.js process that restores it and finishes the session, and the two transcripts put
 * together must equal the same session run without interruption. Then the ways a restore
 * must refuse: a changed image, an image the host does not allow, hostile checkpoints.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '@erofs-js/erofs';
import { CheckpointError, HostController, allowImages, parseCheckpoint, type Checkpoint } from '@erofs-js/mount/node';
import { ALLOWED, BASIC, LZ4, ROOTFS, ZSTD, firstHalf, secondHalf, type GuestState } from './mount-checkpoint-session.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'erofs-ckpt-'));
const openFds = () => readdirSync('/proc/self/fd').length;

async function restoreInChild(checkpoint: unknown, guest: GuestState): Promise<{ lines: string[]; code: number }> {
  const file = join(dir, `ckpt-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ checkpoint, guest }));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/mount-checkpoint-child.ts', file], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'tests/mount-checkpoint.tsconfig.json' },
      timeout: 60_000,
    });
    return { lines: stdout.trimEnd().split('\n'), code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    if (typeof err.code !== 'number') throw e;
    return { lines: (err.stdout ?? '').trimEnd().split('\n').concat(err.stderr ? [`stderr: ${err.stderr}`] : []), code: err.code };
  }
}

/** The session saved after its first half: transcript so far, checkpoint, guest state. */
async function savedSession(): Promise<{ lines: string[]; checkpoint: Checkpoint; guest: GuestState }> {
  const c = await HostController.create({ rootfs: ROOTFS });
  const lines: string[] = [];
  const { tasks, guest } = await firstHalf(c, (l) => lines.push(l));
  const checkpoint = JSON.parse(JSON.stringify(c.save())) as Checkpoint;
  for (const t of tasks) t.exit();
  c.close();
  return { lines, checkpoint, guest };
}

/** A copy of `src` with one superblock byte changed; `fixChecksum` recomputes the CRC. */
function alteredCopy(src: string, offset: number, fixChecksum: boolean): string {
  const bytes = new Uint8Array(readFileSync(src));
  bytes[offset] ^= 0x5a;
  if (fixChecksum) {
    const blockSize = 1 << bytes[1024 + 0x0c];
    const sb = bytes.slice(1024, blockSize);
    sb.fill(0, 4, 8);
    new DataView(bytes.buffer).setUint32(1024 + 4, crc32c(0xffffffff, sb) >>> 0, true);
  }
  const out = join(dir, `altered-${offset}-${fixChecksum}-${src.split('/').pop()}`);
  writeFileSync(out, bytes);
  return out;
}

const UUID_OFFSET = 1024 + 0x30;

let expected: string[];
let saved: Awaited<ReturnType<typeof savedSession>>;

beforeAll(async () => {
  const c = await HostController.create({ rootfs: ROOTFS });
  expected = [];
  const { tasks, guest } = await firstHalf(c, (l) => expected.push(l));
  await secondHalf(c, tasks, guest, (l) => expected.push(l));
  c.close();
  saved = await savedSession();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoint and restore of a guest session', () => {
  it('a session saved halfway and finished in a new process prints what an uninterrupted run prints', async () => {
    const { lines, code } = await restoreInChild(saved.checkpoint, saved.guest);
    expect(code, lines.join('\n')).toBe(0);
    // The uninterrupted run really exercised what the checkpoint must carry.
    const all = expected.join('\n');
    expect(all).toContain('t1: cwd (unreachable)/text');
    expect(all).toMatch(/detached 2\(4 users\)/);
    expect(all).toContain('t1: stat . -> dev 0:33 ino 145 mnt_id 2');
    expect(all).toContain('t2: cat leaf = "bottom of the deep tree\\n"');
    expect(all).toMatch(/rest of \/tmp\/bigdir: \d+ entries/);
    expect([...saved.lines, ...lines]).toEqual(expected);
  });

  it('the checkpoint is plain data without image bytes, and survives its own validation unchanged', () => {
    const json = JSON.stringify(saved.checkpoint);
    expect(json.length).toBeLessThan(16_384);
    expect(parseCheckpoint(saved.checkpoint)).toEqual(saved.checkpoint);
    const cp = saved.checkpoint;
    expect(cp.mounts.map((m) => [m.id, m.state, m.parent])).toEqual([
      [1, 'attached', null],
      [2, 'detached', null],
      [3, 'attached', 1],
    ]);
    expect(cp.mounts[1].image!.options).toEqual({ dentryCacheSize: 7, negativeCacheSize: 1000, dirCacheEntries: 16384, pageCacheBytes: 65536, extentCacheBytes: 8 << 20 });
    expect(cp.mounts[2].image!.options).toMatchObject({ dirCacheEntries: 100, negativeCacheSize: 3 });
    expect(cp.mounts[1].image!.name).toBe(ZSTD);
    expect(cp.tasks).toHaveLength(2);
    expect(cp.descriptions).toHaveLength(7);
    // dup and fork share descriptions: saved once, referenced by number.
    expect(cp.descriptions.length).toBeLessThan(cp.tasks[0].fds.length + cp.tasks[1].fds.length);
  });

  it('a restored namespace has the saved mount table, users and positions (in process)', async () => {
    const fdsBefore = openFds();
    const { controller, tasks } = await HostController.restore(saved.checkpoint, allowImages(ALLOWED));
    try {
      const again = controller.save();
      expect(JSON.parse(JSON.stringify(again))).toEqual(saved.checkpoint);
      expect(tasks.map((t) => t.openFds())).toEqual(saved.checkpoint.tasks.map((t) => t.fds.map((f) => f.fd)));
    } finally {
      for (const t of tasks) t.exit();
      controller.close();
    }
    expect(openFds()).toBe(fdsBefore);
  });
});

describe('restore refuses cleanly', () => {
  async function refusal(checkpoint: unknown, host = allowImages(ALLOWED)): Promise<CheckpointError> {
    const before = openFds();
    const e = await HostController.restore(checkpoint, host).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CheckpointError);
    // Every image opened before the failure was closed again.
    expect(openFds()).toBe(before);
    return e as CheckpointError;
  }

  it('an image whose superblock UUID changed (checksum made valid again)', async () => {
    const copy = alteredCopy(BASIC, UUID_OFFSET + 3, true);
    const e = await refusal(saved.checkpoint, allowImages({ [ROOTFS]: ROOTFS, [ZSTD]: ZSTD, [BASIC]: copy }));
    expect(e.reason).toBe('image-mismatch');
    expect(e.code).toBe('ENXIO');
    expect(e.message).toMatch(/mount 3 \(\/tmp\): .*basic-18\.erofs" is not the image the checkpoint was taken with \(uuid: recorded "[0-9a-f]{32}", found "[0-9a-f]{32}"; checksum: .*superblockCrc/);
  });

  it('a different image under the recorded name (the detached mount)', async () => {
    const e = await refusal(saved.checkpoint, allowImages({ [ROOTFS]: ROOTFS, [ZSTD]: LZ4, [BASIC]: BASIC }));
    expect(e.reason).toBe('image-mismatch');
    expect(e.message).toMatch(/mount 2 \(\(detached\)\)/);
    expect(e.message).toMatch(/blocks: recorded \d+, found \d+/);
  });

  it('an image corrupted since (its own checksum fails)', async () => {
    const copy = alteredCopy(ZSTD, UUID_OFFSET, false);
    const e = await refusal(saved.checkpoint, allowImages({ [ROOTFS]: ROOTFS, [ZSTD]: copy, [BASIC]: BASIC }));
    expect(e.reason).toBe('image-mismatch');
    expect(e.code).toBe('EUCLEAN');
    expect(e.message).toMatch(/mount 2 .* is not a valid image any more: .*checksum mismatch/);
  });

  it('an image the host does not allow, and one that cannot be opened', async () => {
    let e = await refusal(saved.checkpoint, allowImages([ROOTFS, BASIC]));
    expect(e.reason).toBe('refused');
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain(`does not allow image ${JSON.stringify(ZSTD)}`);
    e = await refusal(saved.checkpoint, allowImages({ [ROOTFS]: ROOTFS, [ZSTD]: join(dir, 'missing.erofs'), [BASIC]: BASIC }));
    expect(e.reason).toBe('open');
    expect(e.code).toBe('ENOENT');
  });

  it('a changed image in the restoring process fails with a clear message', async () => {
    const copy = alteredCopy(BASIC, UUID_OFFSET + 9, true);
    const cp = structuredClone(saved.checkpoint);
    cp.mounts[2].image!.name = copy;
    // The child allows only the fixtures: the renamed image is refused before anything opens.
    let r = await restoreInChild(cp, saved.guest);
    expect(r.code).toBe(3);
    expect(r.lines[0]).toMatch(/^restore failed: refused EACCES: mount 3 \(\/tmp\): the host does not allow image/);
    // The recorded identity no longer matching the fixture: refused after opening.
    const cp2 = structuredClone(saved.checkpoint);
    cp2.mounts[2].image!.identity.uuid = 'f'.repeat(32);
    r = await restoreInChild(cp2, saved.guest);
    expect(r.code).toBe(3);
    expect(r.lines[0]).toMatch(/^restore failed: image-mismatch ENXIO: mount 3 \(\/tmp\): .* \(uuid: recorded "f{32}", found "[0-9a-f]{32}"\)$/);
  });

  it('a checkpoint whose state does not fit the images (a path gone, a permission, a user count)', async () => {
    let cp = structuredClone(saved.checkpoint);
    cp.descriptions[0].path = ['big', 'no-such-file'];
    let e = await refusal(cp);
    expect(e.reason).toBe('state');
    expect(e.code).toBe('ENOENT');
    expect(e.at).toBe('descriptions[0]');
    cp = structuredClone(saved.checkpoint);
    const etc = cp.descriptions.find((d) => d.path.join('/') === 'etc')!;
    Object.assign(etc, { path: ['etc', 'shadow'], kind: 'file', flags: 0, offset: 0 });
    e = await refusal(cp);
    expect(e.code).toBe('EACCES');
    cp = structuredClone(saved.checkpoint);
    cp.mounts[1].users++;
    e = await refusal(cp);
    expect(e.reason).toBe('state');
    expect(e.message).toMatch(/mount 2 .* after restore, the checkpoint recorded/);
    cp = structuredClone(saved.checkpoint);
    cp.mounts[2].mountpoint = ['etc', 'hostname'];
    e = await refusal(cp);
    expect(e.code).toBe('ENOTDIR');
  });

  it('hostile or malformed checkpoints get typed format errors naming the field', async () => {
    const cases: [string, (cp: any) => unknown, RegExp][] = [
      ['not an object', () => 'hello', /root: must be an object/],
      ['future version', (cp) => ({ ...cp, version: 3 }), /version: 3 is not supported/],
      ['unknown field', (cp) => ({ ...cp, extra: 1 }), /unknown field "extra"/],
      ['missing field', (cp) => ({ ...cp, tasks: undefined }), /tasks: must be an array/],
      ['dot-dot in a path', (cp) => (cp.tasks[0].cwd.path = ['..', 'etc'], cp), /tasks\[0\]\.cwd\.path\[0\]: the name "\.\." is not allowed/],
      ['slash in a name', (cp) => (cp.descriptions[0].path = ['big/log-192k'], cp), /holds "\/"/],
      ['non-byte character', (cp) => (cp.descriptions[0].path = ['\u0100'], cp), /byte strings/],
      ['negative offset', (cp) => (cp.descriptions[0].offset = -1, cp), /descriptions\[0\]\.offset: -1 is outside/],
      ['fractional offset', (cp) => (cp.descriptions[0].offset = 1.5, cp), /must be an integer/],
      ['descriptor index out of range', (cp) => (cp.tasks[0].fds[0].desc = 999, cp), /tasks\[0\]\.fds\[0\]\.desc: 999 is outside/],
      ['reserved descriptor', (cp) => (cp.tasks[0].fds[0].fd = 1, cp), /descriptor 1 is reserved/],
      ['unknown mount', (cp) => (cp.tasks[0].root.mount = 77, cp), /no mount 77/],
      ['mounts out of order', (cp) => (cp.mounts.reverse(), cp), /first mount must be|increasing order/],
      ['parent state', (cp) => (cp.mounts[2].parent = 2, cp), /attached but its parent 2 is detached/],
      ['duplicate device', (cp) => (cp.mounts[2].dev = cp.mounts[1].dev, cp), /device \d+ is used twice/],
      ['orphan description', (cp) => (cp.descriptions.push({ ...cp.descriptions[0] }), cp), /no descriptor refers to it/],
      ['bad identity', (cp) => (cp.mounts[1].image.identity.uuid = 'xyz', cp), /uuid: must be 32 lowercase hex digits/],
      ['huge cache', (cp) => (cp.mounts[1].image.options.pageCacheBytes = 2 ** 40, cp), /pageCacheBytes: .* is outside/],
      ['deep path', (cp) => (cp.tasks[0].cwd.path = new Array(5000).fill('a'), cp), /has 5000 items/],
      ['wrong format', (cp) => ({ ...cp, format: 'something' }), /format: is not/],
      ['image mount posing as another type', (cp) => (cp.mounts[2].fstype = 'tmpfs', cp), /mounts\[2\]\.fstype: an image mount is "erofs"/],
      ['root with a parent', (cp) => (cp.mounts[0].parent = 1, cp.mounts[0].mountpoint = [], cp), /first mount must be the attached namespace root/],
    ];
    for (const [what, mutate, message] of cases) {
      const e = await refusal(mutate(structuredClone(saved.checkpoint)));
      expect(e.reason, what).toBe('format');
      expect(e.code, what).toBe('EINVAL');
      expect(e.message, what).toMatch(message);
    }
  });
});
