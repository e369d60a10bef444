import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers.js';
import { HostController } from '../controller.js';
import { RpcServer } from '../rpc/server.js';
import { ctlMain, formatTable, parseTmpfsOptions } from './ctl.js';

const dir = mkdtempSync(join(tmpdir(), 'erofs-ctl-'));
let server: RpcServer;
beforeAll(async () => {
  server = await RpcServer.listen(await HostController.create({ mkdirs: ['/mnt'] }), { socketPath: join(dir, 'ctl.sock') });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ctl(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await ctlMain(['--socket', server.socketPath, ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('erofsctl', () => {
  it('ping, mount, list, unmount, mkdir', async () => {
    expect(await ctl('ping')).toMatchObject({ code: 0, out: 'pong (erofs-host 0.1.0)' });
    const m = await ctl('mount', '--dentry-cache', '10', '--nodev', fixture('basic-18.erofs'), '/mnt');
    expect(m).toMatchObject({ code: 0, out: `mounted ${fixture('basic-18.erofs')} at /mnt (mount 2, dev 0:33, ro,nodev,relatime)` });
    expect((await ctl('mount', '--mkdir', '--source', 'root', fixture('rootfs-18.erofs'), '/srv/root')).code).toBe(0);
    const l = await ctl('list');
    expect(l.out.split('\n')[0]).toMatch(/^ID\s+PARENT\s+DEV\s+TARGET\s+TYPE\s+SOURCE\s+USERS$/);
    expect(l.out).toMatch(/3\s+1\s+0:34\s+\/srv\/root\s+erofs\s+root\s+0/);
    expect(JSON.parse((await ctl('list', '--json')).out)).toHaveLength(3);
    expect((await ctl('list', '--mountinfo')).out.split('\n')[1]).toMatch(/^2 1 0:33 \/ \/mnt ro,nodev,relatime - erofs /);
    expect(await ctl('unmount', '/srv/root')).toMatchObject({ code: 0, out: 'unmounted /srv/root (mount 3)' });
    server.controller.task().chdir('/mnt');
    expect(await ctl('umount', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/^erofsctl: umount: EBUSY: /) });
    expect(await ctl('unmount', '-l', '/mnt')).toMatchObject({ code: 0, out: 'detached /mnt (mount 2); released when its last user closes' });
    expect(await ctl('mkdir', '-p', '/a/b')).toMatchObject({ code: 0, out: 'created /a/b' });
  });

  it('reports failures with errno names and usage errors with status 2', async () => {
    expect(await ctl('mount', fixture('basic-18.erofs'), '/nope')).toMatchObject({ code: 1, err: expect.stringMatching(/ENOENT/) });
    expect(await ctl('mount', 'relative-image.erofs', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/ENOENT/) });
    expect((await ctl('mount', '/only-one')).code).toBe(2);
    expect((await ctl('mount', '--dentry-cache', 'x', '/a', '/b')).code).toBe(2);
    expect((await ctl('frobnicate')).code).toBe(2);
    expect((await ctl()).code).toBe(2);
    expect((await ctl('--nope')).code).toBe(2);
    expect((await ctl('-h')).out).toMatch(/^usage: erofsctl/);
    const gone = await ctlMain(['--socket', join(dir, 'none.sock'), 'ping'], { out: () => {}, err: () => {} });
    expect(gone).toBe(1);
  });

  it('mount -t tmpfs with -o options, as mount(8) takes them', async () => {
    const m = await ctl('mount', '-t', 'tmpfs', '-o', 'size=16m,nr_inodes=2k,mode=1770', '-o', 'uid=1000,gid=100,nosuid,nodev,noexec', '--mkdir', '/scratch/a');
    expect(m).toMatchObject({ code: 0, out: expect.stringMatching(/^mounted tmpfs at \/scratch\/a \(mount \d+, dev 0:\d+, rw,nosuid,nodev,noexec,relatime; rw,size=16384k,nr_inodes=2048,mode=1770,uid=1000,gid=100,inode64\)$/) });
    // A SOURCE before the TARGET, as mount -t tmpfs SOURCE TARGET; ro.
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'shm', '/scratch')).toMatchObject({ code: 0, out: expect.stringMatching(/^mounted shm at \/scratch \(.*, ro,relatime; ro,size=64k,/) });
    const t = server.controller.task();
    expect(t.stat('/scratch').mode & 0o7777).toBe(0o1777);
    t.exit();
    expect((await ctl('list')).out).toMatch(/\/scratch\s+tmpfs\s+shm/);
    expect(await ctl('unmount', '/scratch')).toMatchObject({ code: 0 });
    expect(await ctl('unmount', '/scratch/a')).toMatchObject({ code: 0 });
  });

  it('mount -t tmpfs: values the host refuses are EINVAL naming the field, unknown options are usage errors', async () => {
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'size=lots', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/^erofsctl: mount: params\.options\.size must be bytes: .*, not "lots"$/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'size=4096g', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/^erofsctl: mount: EINVAL: params\.options\.size: "4096g" is \d+, outside/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'mode=888', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/params\.options\.mode must be permission bits/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'uid=bob', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/params\.options\.uid must be an integer, not string/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'uid=99999999999', '/mnt')).toMatchObject({ code: 1, err: expect.stringMatching(/params\.options\.uid must be between 0 and 4294967294/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'huge', '/mnt')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown tmpfs option "huge"/) });
    expect(await ctl('mount', '-t', 'tmpfs', '-o', 'nosuid=1', '/mnt')).toMatchObject({ code: 2 });
    expect((await ctl('mount', '-t', 'tmpfs', '--device', '/x', '/mnt')).code).toBe(2);
    expect((await ctl('mount', '-t', 'tmpfs')).code).toBe(2);
    expect((await ctl('mount', '-t', 'tmpfs', 'a', '/b', '/c')).code).toBe(2);
    expect(await ctl('mount', '-t', 'ext4', 'a', '/mnt')).toMatchObject({ code: 2, err: expect.stringMatching(/erofsctl mounts erofs images and tmpfs/) });
    // An image takes the flags, not the tmpfs values, and is never rw.
    expect((await ctl('mount', '-o', 'size=1m', fixture('basic-18.erofs'), '/mnt')).code).toBe(2);
    expect((await ctl('mount', '-o', 'rw', fixture('basic-18.erofs'), '/mnt')).code).toBe(2);
    expect(server.controller.list().map((m) => m.target)).not.toContain('/mnt');
    expect(parseTmpfsOptions(['rw,suid,dev,exec,size=1k', 'ro'])).toEqual({ size: '1k', readOnly: true });
  });

  it('formats the table in aligned columns', () => {
    expect(formatTable([{ id: 1, parentId: 1, dev: '0:32', target: '/', fstype: 'rootfs', source: 'rootfs', options: 'ro', superOptions: 'ro', users: 0 }])).toBe(
      'ID  PARENT  DEV   TARGET  TYPE    SOURCE  USERS\n1   1       0:32  /       rootfs  rootfs  0',
    );
  });
});
