/**
 * Whole images seen through the mount layer: three fixtures mounted side by side under a
 * synthetic root, every path of each kernel manifest looked up through the guest syscall
 * surface (crossing the mount point on every call), compared with what the kernel said.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, ROOT, capMask, credentials, parseDirents } from '@erofs-js/vfs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, HostController, Syscalls, type Task } from '@erofs-js/mount/node';
import { FIXTURES, readJsonl } from './fixtures.js';
import type { ManifestRecord } from '../packages/cli/src/manifest.js';

type Entry = ManifestRecord;

const IMAGES = { '/r': 'rootfs-18.erofs', '/z': 'z-zstd-18.erofs', '/b': 'basic-18.erofs' } as const;

function readFile(task: Task, path: Uint8Array): Uint8Array {
  const fd = task.open(path, 0);
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(1 << 16);
  let n: number;
  while ((n = task.read(fd, buf)) > 0) parts.push(buf.slice(0, n));
  task.close(fd);
  return Buffer.concat(parts);
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('fixtures through the mount layer match the kernel', async () => {
  const c = await HostController.create({ mkdirs: Object.keys(IMAGES) });
  for (const [target, image] of Object.entries(IMAGES)) await c.mount({ image: FIXTURES + image, target, options: { dentryCacheSize: 50 } });
  const task = c.task({ creds: ROOT });
  const sys = new Syscalls(task);

  for (const [target, image] of Object.entries(IMAGES)) {
    it(`${image} at ${target}: stat, content, links, directory order`, () => {
      const entries = readJsonl<Entry>(FIXTURES + image.replace('.erofs', '.manifest.jsonl')).filter((e) => e.path !== undefined || e.path_b64 !== undefined);
      expect(entries.length).toBeGreaterThan(40);
      const mnt = c.list().find((m) => m.target === target)!;
      for (const e of entries) {
        const rel = e.path !== undefined ? enc(e.path) : new Uint8Array(Buffer.from(e.path_b64!, 'base64'));
        const p = Buffer.concat([enc(target), rel.length === 1 ? new Uint8Array(0) : rel]); // names are bytes
        const st = task.newfstatat(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW);
        expect({ mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink, ino: st.ino }, dec(p)).toEqual({ mode: e.mode, uid: e.uid, gid: e.gid, nlink: e.nlink, ino: e.ino });
        if (e.type !== 'dir') expect(st.size, dec(p)).toBe(e.size);
        const sx = task.statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 0);
        expect(sx.mntId).toBe(mnt.id);
        expect(`${sx.devMajor}:${sx.devMinor}`).toBe(mnt.dev);
        if (e.type === 'file') expect(createHash('sha256').update(readFile(task, p)).digest('hex'), dec(p)).toBe(e.sha256);
        if (e.type === 'symlink') {
          const buf = new Uint8Array(4096);
          expect(dec(buf.subarray(0, sys.readlink(p, buf))), dec(p)).toBe(e.target);
          const fd = task.open(p, O_PATH | O_NOFOLLOW);
          expect(dec(buf.subarray(0, task.readlinkat(fd, '', buf)))).toBe(e.target);
          task.close(fd);
        }
      }
      for (const d of readJsonl<{ path: string; entries?: string[]; entries_b64?: string[] }>(FIXTURES + image.replace('.erofs', '.readdir.jsonl'))) {
        const fd = task.open(target + (d.path === '/' ? '' : d.path), O_DIRECTORY);
        const buf = new Uint8Array(8192);
        const names: string[] = [];
        let n: number;
        while ((n = task.getdents64(fd, buf)) > 0) for (const x of parseDirents(buf, n)) names.push(Buffer.from(x.name).toString('base64'));
        task.close(fd);
        const want = d.entries_b64 ?? d.entries!.map((x) => Buffer.from(x).toString('base64'));
        expect(names.filter((x) => x !== 'Lg==' && x !== 'Li4='), d.path).toEqual(want);
      }
    });
  }

  it('every symlink resolves as the kernel would from a guest whose root is the synthetic root', () => {
    // Absolute targets start at the task root: /etc/passwd is absent there (ENOENT),
    // relative ones stay inside their image.
    expect(() => task.stat('/b/links/abs')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(task.stat('/b/links/rel').size).toBe(1);
    expect(() => task.stat('/b/links/loop')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(task.stat('/b/links/todir').mode & 0o170000).toBe(0o040000);
    // After a chroot into the rootfs image, its absolute links work.
    const t = c.task({ creds: credentials(0, 0, [], capMask(18)) });
    t.chroot('/r');
    expect(t.stat('/usr/bin/env').size).toBe(48008); // -> /bin/busybox
    expect(dec(enc(t.mountinfo()))).toBe(`${c.list()[1].id} 1 ${c.list()[1].dev} / / ro,relatime - erofs ${FIXTURES}rootfs-18.erofs ro,user_xattr,acl,cache_strategy=readaround\n`);
    t.exit();
  });
});
