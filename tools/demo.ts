/**
 * npm run demo: the main job of erofs-js in one scripted session.
 *
 * The host starts a controller whose root is a fixture rootfs image and serves its
 * JSON-RPC socket; an RPC client (what erofsctl does) mounts a second, zstd-compressed
 * image at /tmp; then a guest (uid 1000) makes syscalls through the Task surface: ls,
 * cat, stat, readlink, getdents64 across the mount point, a ".." climb out of the mount,
 * a refused mount(2), a file read through a memory mapping, a checkpoint taken with a
 * file half read and a directory half listed and restored into a fresh controller (and
 * refused against another image), writes in a tmpfs beside the images (/dev/null, a fifo
 * between two tasks, mkdir -p of an image directory answering EEXIST), a busy unmount and
 * a lazy one.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, CheckpointError, HostController, ProcFs, RpcClient, RpcError, RpcServer, Syscalls, allowImages, devString, type Checkpoint, type Task } from '@erofs-js/mount/node';
import { MAP_PRIVATE, MAP_SHARED, O_CREAT, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY, PAGE_SIZE, PROT_READ, STATX_ATTR_MOUNT_ROOT, SysError, credentials, pageCache, parseDirents, type FileDescription } from '@erofs-js/vfs';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const ROOTFS = join(FIXTURES, 'rootfs-18.erofs');
const DATA = join(FIXTURES, 'z-zstd-18.erofs');

const text = new TextDecoder();
const DT: Record<number, string> = { 1: 'p', 2: 'c', 4: 'd', 6: 'b', 8: '-', 10: 'l', 12: 's' };

function modeString(mode: number): string {
  const t = { 0o040000: 'd', 0o120000: 'l', 0o100000: '-', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' }[mode & 0o170000] ?? '?';
  let s = t;
  for (let i = 8; i >= 0; i--) s += mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return s;
}

export async function runDemo(print: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const say = (s = '') => print(s);
  const host = (s: string) => say(`host$  ${s}`);
  const guest = (s: string) => say(`guest$ ${s}`);
  const out = (s: string) => {
    for (const l of s.replace(/\n$/, '').split('\n')) say(`       ${l}`);
  };
  const errno = (fn: () => unknown) => {
    try {
      fn();
      return 'ok';
    } catch (e) {
      if (e instanceof SysError) return `-1 ${e.code} (${e.message.replace(/^E\w+: /, '')})`;
      throw e;
    }
  };

  const dir = await mkdtemp(join(tmpdir(), 'erofs-demo-'));
  const socketPath = join(dir, 'ctl.sock');
  const controller = await HostController.create({ rootfs: ROOTFS });
  const server = await RpcServer.listen(controller, { socketPath });
  const client = await RpcClient.connect(socketPath);
  try {
    say('== host: start a controller with a rootfs image, serve JSON-RPC on a Unix socket');
    host(`erofs-host --rootfs fixtures/rootfs-18.erofs --socket ${socketPath}`);
    const sm = (await stat(socketPath)).mode & 0o777;
    const dm = (await stat(dir)).mode & 0o777;
    out(`socket mode 0${sm.toString(8)}, its directory 0${dm.toString(8)}: no other user can connect`);
    host('erofsctl mount fixtures/z-zstd-18.erofs /tmp');
    const rec = await client.mount(DATA, '/tmp');
    out(`mounted ${rec.source.replace(FIXTURES, 'fixtures/')} at ${rec.target}: mount ${rec.id}, dev ${rec.dev}, ${rec.options} (superblock and checksum checked first)`);

    const task: Task = controller.task({ creds: credentials(1000, 1000), reservedFds: [0, 1, 2] });
    const sys = new Syscalls(task);
    const ls = (path: string, long = false) => {
      const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
      const buf = new Uint8Array(2048);
      const rows: string[] = [];
      let n: number;
      while ((n = task.getdents64(fd, buf)) > 0) {
        for (const d of parseDirents(buf, n)) rows.push(long ? `${DT[d.type] ?? '?'} ino=${String(d.ino).padEnd(5)} ${text.decode(d.name)}` : text.decode(d.name));
      }
      task.close(fd);
      return rows;
    };
    const cat = (path: string, max = 4096) => {
      const fd = task.open(path, O_RDONLY);
      const buf = new Uint8Array(max);
      const n = task.read(fd, buf);
      task.close(fd);
      return text.decode(buf.subarray(0, n));
    };
    const readlink = (path: string) => {
      const buf = new Uint8Array(4096);
      return text.decode(buf.subarray(0, task.readlinkat(AT_FDCWD, path, buf)));
    };

    say();
    say('== guest (uid 1000): everyday calls on the rootfs');
    guest('cat /proc/self/mountinfo');
    out(task.mountinfo().replaceAll(FIXTURES, 'fixtures/'));
    guest('ls /                                  # openat + getdents64');
    out(ls('/').filter((n) => n !== '.' && n !== '..').join('  '));
    guest('cat /etc/hostname');
    out(cat('/etc/hostname'));
    guest('stat /etc/passwd');
    const st = task.stat('/etc/passwd');
    out(`${modeString(st.mode)} uid=${st.uid} gid=${st.gid} size=${st.size} dev=${devString(st.dev)} ino=${st.ino}`);
    guest('readlink /etc/os-release');
    out(readlink('/etc/os-release'));
    guest('cat /etc/os-release                   # follows the relative link');
    out(cat('/etc/os-release'));

    say();
    say('== guest: across the mount point');
    guest('stat / /tmp                            # /tmp is another filesystem');
    for (const p of ['/', '/tmp']) {
      const sx = task.statx(AT_FDCWD, p, 0, 0);
      out(`${p.padEnd(5)} dev=${sx.devMajor}:${sx.devMinor} ino=${sx.ino} mnt_id=${sx.mntId} mount_root=${(sx.attributes & STATX_ATTR_MOUNT_ROOT) !== 0}`);
    }
    guest('ls -l /tmp                             # getdents64 of the mounted image\'s root');
    out(ls('/tmp', true).join('\n'));
    guest('cat /tmp/text/size-100                 # a zstd-compressed file, decoded on read');
    out(cat('/tmp/text/size-100').trimEnd());
    guest('readlink /tmp/links/rel; cat /tmp/links/rel | wc -c');
    out(`${readlink('/tmp/links/rel')}  (${cat('/tmp/links/rel').length} bytes: relative links stay in the image)`);
    guest('readlink /tmp/links/abs; cat /tmp/links/abs');
    out(`${readlink('/tmp/links/abs')}  -> open: ${errno(() => task.open('/tmp/links/abs'))}`);
    out('absolute links start at the guest\'s root (the rootfs has no /big), never at the image root or the host');
    guest('cd /tmp/text; pwd; cd ../..; pwd; ls . # ".." at the mount root climbs to the mount point\'s parent');
    task.chdir('/tmp/text');
    out(text.decode(task.cwdPath()));
    task.chdir('../..');
    out(text.decode(task.cwdPath()));
    out(ls('.').filter((n) => n !== '.' && n !== '..').join('  '));
    guest('stat -L /tmp/.. vs lstat /              # same inode');
    const a = task.stat('/tmp/..');
    const b = task.newfstatat(AT_FDCWD, '/', AT_SYMLINK_NOFOLLOW);
    out(`/tmp/..: dev=${devString(a.dev)} ino=${a.ino};  /: dev=${devString(b.dev)} ino=${b.ino}`);

    say();
    say('== guest: the trust boundary');
    guest('mount("/tmp/evil.erofs", "/mnt", "erofs", MS_RDONLY, NULL)');
    out(`= ${sys.mount('/tmp/evil.erofs', '/mnt', 'erofs', 1, null)}  (-EPERM: only the host mounts images)`);
    guest('umount2("/tmp", 0)');
    out(`= ${sys.umount2('/tmp', 0)}  (-EPERM: the host's policy keeps guest unmounts off)`);

    say();
    say('== guest: a file mapped into memory');
    guest('fd = open("/tmp/big/log-192k"); p = mmap(NULL, 16384, PROT_READ, MAP_PRIVATE, fd, 8192)');
    {
      const mfd = task.open('/tmp/big/log-192k', O_RDONLY);
      const pages = task.mmap(mfd, 8192, 16384, PROT_READ, MAP_PRIVATE);
      const mapped = new Uint8Array(16384);
      pages.forEach((p, i) => mapped.set(p, i * PAGE_SIZE));
      const viaRead = new Uint8Array(16384);
      task.pread64(mfd, viaRead, 8192);
      out(`${pages.length} pages of ${PAGE_SIZE} bytes; p[0..40]: ${JSON.stringify(text.decode(mapped.subarray(0, 40)))}`);
      const same = mapped.every((b, i) => b === viaRead[i]);
      const cache = pageCache((task.description(mfd).file as FileDescription).fs).stats();
      out(`the 16384 mapped bytes equal pread(fd, 16384, 8192): ${same} (zstd data: pages decoded into the page cache, ${cache.pages} of ${cache.budget / PAGE_SIZE} pages used)`);
      guest('mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 200704)            # a page wholly past end of file');
      out(errno(() => task.mmap(mfd, 196608 + 4096, 4096, PROT_READ, MAP_SHARED)));
      task.close(mfd);
    }

    say();
    say('== host: checkpoint mid-session, restore in a fresh controller, finish the session there');
    guest('exec 4< /tmp/text/size-4097; head -c 100 <&4 | wc -c; ls -f /tmp/text | head -4   # small getdents64 buffer');
    const cfd = task.open('/tmp/text/size-4097', O_RDONLY);
    const first = new Uint8Array(100);
    const dfd = task.openat(AT_FDCWD, '/tmp/text', O_RDONLY | O_DIRECTORY);
    const dbuf = new Uint8Array(120);
    const listed = parseDirents(dbuf, task.getdents64(dfd, dbuf)).map((d) => text.decode(d.name));
    out(`${task.read(cfd, first)} bytes read; listed ${listed.join(' ')}; the rest waits`);
    host('json = JSON.stringify(controller.save())');
    const json = JSON.stringify(controller.save());
    const cp = JSON.parse(json) as Checkpoint;
    out(`${json.length} bytes: ${cp.mounts.length} mounts, ${cp.tasks.length} task, ${cp.descriptions.length} open descriptions, no image bytes`);
    for (const m of cp.mounts) out(`mount ${m.id} ${m.target.padEnd(4)} ${m.image!.name.replace(FIXTURES, 'fixtures/')}: uuid ${m.image!.identity.uuid.slice(0, 12)}... crc 0x${m.image!.identity.superblockCrc.toString(16)}`);
    out('(the fixtures share one fixed UUID: the superblock CRC, counts and sizes are part of the identity)');
    host('HostController.restore(JSON.parse(json), allowImages([rootfs, zstd]))   # the host opens the images; identities checked');
    const { controller: restored, tasks } = await HostController.restore(cp, allowImages([ROOTFS, DATA]));
    try {
      const finish = (t: Task) => {
        const rest = new Uint8Array(8192);
        const n = t.read(cfd, rest);
        const names: string[] = [];
        for (let k: number; (k = t.getdents64(dfd, dbuf)) > 0; ) names.push(...parseDirents(dbuf, k).map((d) => text.decode(d.name)));
        return `${n} more bytes (offset ${t.lseek(cfd, 0, 1)}), ${names.length} more entries (first ${names[0]})`;
      };
      guest('(restored) cat <&4 | wc -c; ls -f /tmp/text | tail   # resumes where the checkpoint was');
      const there = finish(tasks[0]);
      out(there);
      out(`the original process, continuing, sees the same: ${finish(task) === there}`);
      for (const t of tasks) t.exit();
    } finally {
      restored.close();
    }
    task.close(cfd);
    task.close(dfd);
    host('HostController.restore(..., allowImages({ [zstd]: "fixtures/z-lz4-15.erofs", ... }))   # another image');
    const refusal = await HostController.restore(cp, allowImages({ [ROOTFS]: ROOTFS, [DATA]: join(FIXTURES, 'z-lz4-15.erofs') })).then(
      () => 'unexpectedly restored',
      (e: unknown) => {
        if (!(e instanceof CheckpointError)) throw e;
        const [, head, diff] = /^(.*?with) \((.*)\)$/.exec(e.message.replaceAll(FIXTURES, 'fixtures/'))!;
        return `error: ${head}\n(${diff.split('; ').map((d) => d.split(':')[0]).join(', ')} differ)`;
      },
    );
    out(refusal);

    say();
    say('== host: writable places beside the images (a tmpfs, a /dev, a procfs), through the one filesystem contract');
    host('mount -t tmpfs -o size=16m tmpfs /run; mount -t devtmpfs devtmpfs /dev; mount -t proc proc /proc');
    await controller.mount({ type: 'tmpfs', target: '/run', options: { size: '16m', mode: 0o755 } });
    await controller.mount({ type: 'devtmpfs', target: '/dev' });
    await controller.mount({ fs: new ProcFs(controller.ns), target: '/proc' });
    guest('cat /proc/self/mounts');
    out(cat('/proc/self/mounts').replaceAll(FIXTURES, 'fixtures/'));
    guest('mkdir -p /etc                          # an image directory: mkdir answers EEXIST, which -p accepts');
    out(`mkdir("/etc") = ${errno(() => task.mkdir('/etc', 0o755))}`);
    guest('mkdir /etc/new');
    out(`mkdir("/etc/new") = ${errno(() => task.mkdir('/etc/new', 0o755))}  (a new name on an image; an existing one is EEXIST first)`);
    {
      const root = controller.task({ reservedFds: [0, 1, 2] });
      root.mkdir('/run/user', 0o755);
      root.fchownat(AT_FDCWD, '/run/user', 1000, 1000, 0);
      root.exit();
    }
    guest('cd /run/user; echo "hello from the guest" > note; ln -s note link; mkdir d; mv note d/; ls -l . d');
    task.chdir('/run/user');
    const w = task.open('note', O_WRONLY | O_CREAT | O_TRUNC, 0o644);
    task.write(w, new TextEncoder().encode('hello from the guest\n'));
    task.close(w);
    task.symlink('note', 'link');
    task.mkdir('d', 0o755);
    task.rename('note', 'd/note');
    for (const p of ['link', 'd', 'd/note']) {
      const s2 = task.lstat(p);
      out(`${modeString(s2.mode)} uid=${s2.uid} size=${String(s2.size).padStart(3)} ${p}${p === 'link' ? ' -> ' + readlink(p) : ''}`);
    }
    guest('cat d/note; cat link                     # the link now dangles: its target moved');
    out(`${cat('d/note').trimEnd()};  cat link: ${errno(() => task.open('link'))}`);
    guest('echo gone > /dev/null; head -c 8 /dev/zero | od -An -tx1');
    const nul = task.open('/dev/null', O_WRONLY);
    out(`write(/dev/null) = ${task.write(nul, new TextEncoder().encode('gone\n'))}`);
    task.close(nul);
    const z = task.open('/dev/zero', O_RDONLY);
    const zb = new Uint8Array(8).fill(0xff);
    task.read(z, zb);
    task.close(z);
    out([...zb].map((b) => b.toString(16).padStart(2, '0')).join(' '));
    guest('mkfifo /run/user/fifo; (reader) cat fifo & (writer) echo ping > fifo   # two tasks, one pipe');
    task.mknod('fifo', 0o010644, 0);
    const other = controller.task({ creds: credentials(1000, 1000) });
    const r = other.open('/run/user/fifo', O_RDONLY | O_NONBLOCK);
    const wfd = task.open('fifo', O_WRONLY);
    task.write(wfd, new TextEncoder().encode('ping'));
    task.close(wfd);
    const pb = new Uint8Array(16);
    const got = other.read(r, pb);
    out(`reader got ${JSON.stringify(text.decode(pb.subarray(0, got)))}, then EOF: read = ${other.read(r, pb)}`);
    other.close(r);
    other.exit();
    const sfs = task.statfs('/run');
    out(`statfs /run: ${sfs.blocks - sfs.bfree} of ${sfs.blocks} blocks used; free again once removed:`);
    task.unlink('link');
    task.unlink('fifo');
    task.unlinkat(AT_FDCWD, 'd/note', 0);
    task.rmdir('d');
    const sfs2 = task.statfs('/run');
    out(`${sfs2.blocks - sfs2.bfree} blocks used`);
    task.chdir('/');

    say();
    say('== host unmounts while the guest is using the mount');
    guest('exec 3< /tmp/big/log-192k; cd /tmp/text');
    const fd = task.open('/tmp/big/log-192k', O_RDONLY);
    task.chdir('/tmp/text');
    out(`fd ${fd} open, cwd ${text.decode(task.cwdPath())}`);
    host('erofsctl unmount /tmp');
    try {
      await client.unmount('/tmp');
      out('unexpectedly unmounted');
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      out(`error: ${e.message}`);
    }
    host('erofsctl unmount --lazy /tmp');
    const lazy = await client.unmount('/tmp', true);
    out(`detached mount ${lazy.id} from the namespace (released: ${lazy.released})`);
    guest('cat /proc/self/mountinfo');
    out(task.mountinfo().replaceAll(FIXTURES, 'fixtures/'));
    guest('ls /tmp                                # the rootfs\'s own empty /tmp again');
    out(ls('/tmp').join('  '));
    guest('pwd; head -c 60 <&3                    # the open file and the cwd still work');
    out(text.decode(task.cwdPath()));
    const buf = new Uint8Array(60);
    out(text.decode(buf.subarray(0, task.read(fd, buf))).trimEnd());
    guest('exec 3<&-; cd /');
    task.close(fd);
    task.chdir('/');
    out(`last user gone: mount ${lazy.id} released, image file closed (lingering mounts: ${controller.ns.detached().length})`);
    host('erofsctl list');
    const list = await client.list();
    out(list.mounts.map((m) => `${m.id} ${m.target} ${m.fstype} ${m.source.replace(FIXTURES, 'fixtures/')}`).join('\n'));
    task.exit();
    return 0;
  } finally {
    await client.close();
    await server.close();
    controller.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runDemo();
}
