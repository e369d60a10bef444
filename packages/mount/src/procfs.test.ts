/**
 * The procfs example: an emulator-side filesystem mounted through the contract. Its
 * /proc/self/mounts lines follow Linux's show_vfsmnt (source, target, type, the mount's
 * options then the superblock's without its ro/rw, "0 0"); mountinfo is the namespace's.
 */
import { describe, expect, it } from 'vitest';
import { errnoOf } from '../../../tests/fixtures.js';
import { O_DIRECTORY, O_RDONLY, O_WRONLY, credentials, parseDirents } from '@erofs-js/vfs';
import { fixture } from '../test/helpers.js';
import { HostController } from './node/controller.js';
import { PROC_SUPER_MAGIC, ProcFs } from './procfs.js';
import { AT_FDCWD } from './task.js';

const code = errnoOf;

const dec = new TextDecoder();

describe('ProcFs, mounted by the host through the filesystem contract', () => {
  it('serves /proc/self/mounts and /proc/self/mountinfo from the namespace at open time', async () => {
    const c = await HostController.create({ mkdirs: ['/proc', '/tmp', '/img'] });
    await c.mount({ image: fixture('basic-18.erofs'), target: '/img' });
    await c.mount({ type: 'tmpfs', target: '/tmp', options: { size: '1m', nosuid: true } });
    const r = await c.mount({ fs: new ProcFs(c.ns), target: '/proc' });
    expect(r).toMatchObject({ fstype: 'proc', source: 'proc', options: 'ro,relatime' });
    const t = c.task({ creds: credentials(1000, 1000) });
    const read = (p: string) => {
      const fd = t.open(p, O_RDONLY);
      const buf = new Uint8Array(8192);
      const n = t.read(fd, buf);
      t.close(fd);
      return dec.decode(buf.subarray(0, n));
    };
    const mounts = read('/proc/self/mounts');
    expect(mounts.split('\n')).toEqual([
      'rootfs / rootfs ro,relatime 0 0',
      `${fixture('basic-18.erofs')} /img erofs ro,relatime,user_xattr,acl,cache_strategy=readaround 0 0`,
      'tmpfs /tmp tmpfs rw,nosuid,relatime,size=1024k,nr_inodes=16384,mode=1777,inode64 0 0',
      'proc /proc proc ro,relatime 0 0',
      '',
    ]);
    expect(read('/proc/mounts')).toBe(mounts);
    expect(read('/proc/self/mountinfo')).toBe(c.mountinfo());
    // A file opened before a mount keeps the table it was opened with (a seq file's snapshot).
    const fd = t.open('/proc/self/mounts', O_RDONLY);
    c.unmount({ target: '/tmp' });
    const buf = new Uint8Array(8192);
    expect(dec.decode(buf.subarray(0, t.read(fd, buf)))).toBe(mounts);
    t.close(fd);
    expect(read('/proc/self/mounts')).not.toMatch(/ \/tmp /);
    t.exit();
    c.close();
  });

  it('lists, stats and refuses writes as a read-only procfs', async () => {
    const c = await HostController.create({ mkdirs: ['/proc'] });
    await c.mount({ fs: new ProcFs(c.ns), target: '/proc' });
    const t = c.task();
    const fd = t.open('/proc', O_RDONLY | O_DIRECTORY);
    const buf = new Uint8Array(4096);
    expect(parseDirents(buf, t.getdents64(fd, buf)).map((d) => dec.decode(d.name))).toEqual(['.', '..', 'self', 'mounts']);
    t.close(fd);
    expect(t.lstat('/proc/mounts').mode).toBe(0o120777);
    expect(t.stat('/proc/self/mounts').mode).toBe(0o100444);
    expect(t.statfs('/proc').type).toBe(PROC_SUPER_MAGIC);
    expect(code(() => t.open('/proc/self/mounts', O_WRONLY))).toBe('EACCES');
    expect(code(() => t.mkdir('/proc/x', 0o755))).toBe('EROFS');
    expect(code(() => t.mkdir('/proc/self', 0o755))).toBe('EEXIST');
    expect(code(() => t.unlink('/proc/mounts'))).toBe('EROFS');
    expect(code(() => t.open('/proc/nothing', O_RDONLY))).toBe('ENOENT');
    expect(code(() => t.open('/proc/self/mounts/', O_RDONLY))).toBe('ENOTDIR');
    expect(code(() => t.readlinkat(AT_FDCWD, '/proc/self', new Uint8Array(8)))).toBe('EINVAL');
    t.exit();
    c.close();
  });
});
