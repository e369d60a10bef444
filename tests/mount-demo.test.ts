/** npm run demo: the scripted session runs to the end and shows each rule it claims (mmap and checkpoint/restore included). */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../tools/demo.js';

describe('the demo', () => {
  it('runs the main job end to end', async () => {
    const lines: string[] = [];
    expect(await runDemo((l) => lines.push(l))).toBe(0);
    const out = lines.join('\n');
    expect(out).toContain('socket mode 0600, its directory 0700');
    expect(out).toMatch(/1 1 0:32 \/ \/ ro,relatime - erofs fixtures\/rootfs-18\.erofs ro,user_xattr,acl,cache_strategy=readaround/);
    expect(out).toMatch(/2 1 0:33 \/ \/tmp ro,relatime - erofs fixtures\/z-zstd-18\.erofs/);
    expect(out).toContain('bin  dev  etc  home  proc  root  run  sbin  sys  tmp  usr  var');
    expect(out).toContain('NAME="erofs-js demo"');
    expect(out).toMatch(/\/tmp\s+dev=0:33 ino=37 mnt_id=2 mount_root=true/);
    expect(out).toContain('Nov 14 22:13:20 alpha DEBUG[110]');
    expect(out).toMatch(/open: -1 ENOENT/);
    expect(out).toMatch(/\/tmp\/\.\.: dev=0:32 ino=36;  \/: dev=0:32 ino=36/);
    expect(out).toMatch(/= -1 {2}\(-EPERM: only the host mounts images\)/);
    expect(out).toContain('error: EBUSY: mount 2 is busy: 1 open file, 1 working or root directory');
    expect(out).toContain('detached mount 2 from the namespace (released: false)');
    expect(out).toContain('(unreachable)/text');
    expect(out).toContain('lingering mounts: 0');
    // A file read through its mapping, and SIGBUS past end of file.
    expect(out).toMatch(/4 pages of 4096 bytes; p\[0\.\.40\]: "[^"]{40}"/);
    expect(out).toContain('the 16384 mapped bytes equal pread(fd, 16384, 8192): true');
    expect(out).toContain('-1 EFAULT (SIGBUS: page past end of file)');
    // A checkpoint mid-session, restored, finished, and refused against another image.
    expect(out).toContain('100 bytes read; listed . .. empty size-1; the rest waits');
    expect(out).toMatch(/\d+ bytes: 2 mounts, 1 task, 2 open descriptions, no image bytes/);
    expect(out).toContain('3997 more bytes (offset 4097), 22 more entries (first size-100)');
    expect(out).toContain('the original process, continuing, sees the same: true');
    expect(out).toContain('error: ENXIO: mount 2 (/tmp): "fixtures/z-zstd-18.erofs" is not the image the checkpoint was taken with');
    expect(out).toMatch(/\(checksum, superblockCrc, blocks, .*bytes differ\)/);
    // Writes beside the images: a tmpfs, /dev, /proc, through the filesystem contract.
    expect(out).toContain('tmpfs /run tmpfs rw,relatime,size=16384k,nr_inodes=16384,mode=755,inode64 0 0');
    expect(out).toContain('mkdir("/etc") = -1 EEXIST');
    expect(out).toContain('mkdir("/etc/new") = -1 EROFS');
    expect(out).toContain('-rw-r--r-- uid=1000 size= 21 d/note');
    expect(out).toContain('hello from the guest;  cat link: -1 ENOENT');
    expect(out).toContain('write(/dev/null) = 5');
    expect(out).toContain('00 00 00 00 00 00 00 00');
    expect(out).toContain('reader got "ping", then EOF: read = 0');
    expect(out).toMatch(/statfs \/run: 1 of 4096 blocks used; free again once removed:\n\s+0 blocks used/);
  });
});
