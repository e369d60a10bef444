/**
 * ErofsFd against the kernel's manifests: every path of three fixture images looked up,
 * opened, read, listed and read as a link through the Fd methods the shim's WASI calls,
 * compared with what Linux reported for the same image; then directory cookies through the
 * shim's own fd_readdir import, the sandbox, and the answers to write-type calls.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WASI, wasi } from '@bjorn3/browser_wasi_shim';
import { HostController } from '@erofs-js/mount/node';
import { SysError, credentials } from '@erofs-js/vfs';
import { ErofsFd } from './fd.js';
import { ErofsPreopenDirectory } from './preopen.js';
import { timestamp } from './filestat.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const IMAGES = ['basic-18.erofs', 'z-lz4hc-18.erofs', 'rootfs-18.erofs'];

interface Rec {
  path?: string;
  path_b64?: string;
  type: string;
  mode: number;
  size: number;
  nlink: number;
  ino: number;
  mtime: number;
  mtime_nsec: number;
  target?: string;
  target_b64?: string;
  sha256?: string;
}

function jsonl<T>(name: string): T[] {
  return readFileSync(FIXTURES + name, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
}

const FOLLOW = 1;
const READ = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_READDIR);
const WRITE = BigInt(wasi.RIGHTS_FD_WRITE);
const FILETYPE: Record<string, number> = {
  file: wasi.FILETYPE_REGULAR_FILE,
  dir: wasi.FILETYPE_DIRECTORY,
  symlink: wasi.FILETYPE_SYMBOLIC_LINK,
  chardev: wasi.FILETYPE_CHARACTER_DEVICE,
  blockdev: wasi.FILETYPE_BLOCK_DEVICE,
  fifo: wasi.FILETYPE_SOCKET_STREAM,
  socket: wasi.FILETYPE_SOCKET_STREAM,
};

/** A path of the manifest relative to the preopen ("/" is "."). */
const rel = (p: string) => (p === '/' ? '.' : p.slice(1));

function open(dir: ErofsFd, path: string, oflags = 0, rights = READ, dirflags = FOLLOW): ErofsFd {
  const r = dir.path_open(dirflags, path, oflags, rights, 0n, 0);
  if (!r.fd_obj) throw new Error(`path_open ${path}: errno ${r.ret}`);
  return r.fd_obj;
}

function readAll(f: ErofsFd, chunk = 65536): Uint8Array {
  const parts: Uint8Array[] = [];
  for (;;) {
    const { ret, data } = f.fd_read(chunk);
    expect(ret).toBe(wasi.ERRNO_SUCCESS);
    if (data.length === 0) break;
    parts.push(data.slice());
  }
  return Buffer.concat(parts);
}

/** Every entry of a directory through fd_readdir_single, from cookie 0. */
function list(f: ErofsFd): wasi.Dirent[] {
  const out: wasi.Dirent[] = [];
  let cookie = 0n;
  for (;;) {
    const { ret, dirent } = f.fd_readdir_single(cookie);
    expect(ret).toBe(wasi.ERRNO_SUCCESS);
    if (!dirent) return out;
    out.push(dirent);
    cookie = dirent.d_next;
  }
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const utf8Name = (p: string) => Buffer.from(p.slice(p.lastIndexOf('/') + 1), 'utf8');

let c: HostController;
const pre = new Map<string, ErofsPreopenDirectory>();

beforeAll(async () => {
  c = await HostController.create({ mkdirs: IMAGES.map((i) => '/' + i) });
  for (const image of IMAGES) {
    await c.mount({ image: FIXTURES + image, target: '/' + image, options: { dentryCacheSize: 64 } });
    pre.set(image, ErofsPreopenDirectory.open(c.ns, '/mnt', { path: '/' + image }));
  }
});
afterAll(() => {
  for (const p of pre.values()) p.dispose();
  c?.close();
});

describe.each(IMAGES)('%s through ErofsFd matches the kernel manifest', (image) => {
  const manifest = jsonl<Rec>(image.replace('.erofs', '.manifest.jsonl'));
  const named = manifest.filter((e) => e.path !== undefined);

  it('path_filestat_get (no follow): type, size, nlink, inode, mtime in ns', () => {
    const root = pre.get(image)!;
    for (const e of named) {
      const { ret, filestat } = root.path_filestat_get(0, rel(e.path!));
      expect(ret, e.path).toBe(wasi.ERRNO_SUCCESS);
      const st = filestat!;
      expect({ type: st.filetype, nlink: st.nlink, ino: st.ino, mtim: st.mtim }, e.path).toEqual({
        type: FILETYPE[e.type],
        nlink: BigInt(e.nlink),
        ino: BigInt(e.ino),
        mtim: timestamp(e.mtime, e.mtime_nsec),
      });
      if (e.type !== 'dir') expect(st.size, e.path).toBe(BigInt(e.size));
    }
  });

  it('path_open + fd_read: every regular file hashes to the manifest sha256; fd_filestat_get agrees', () => {
    const root = pre.get(image)!;
    for (const e of named.filter((x) => x.type === 'file')) {
      const f = open(root, rel(e.path!));
      expect(f.fd_fdstat_get().fdstat!.fs_filetype).toBe(wasi.FILETYPE_REGULAR_FILE);
      expect(f.fd_filestat_get().filestat!.size).toBe(BigInt(e.size));
      // Odd chunk sizes cross every block and pcluster boundary at a different place.
      expect(createHash('sha256').update(readAll(f, 12289)).digest('hex'), e.path).toBe(e.sha256);
      expect(f.fd_close()).toBe(wasi.ERRNO_SUCCESS);
    }
  });

  it('fd_pread, fd_seek and fd_tell agree with a whole read', () => {
    const root = pre.get(image)!;
    const files = named.filter((x) => x.type === 'file' && x.size > 5000).slice(0, 25);
    expect(files.length).toBeGreaterThan(0);
    for (const e of files) {
      const f = open(root, rel(e.path!));
      const whole = readAll(f);
      for (const at of [0, 1, 4095, 4096, Math.floor(e.size / 2), e.size - 7]) {
        const { ret, data } = f.fd_pread(3000, BigInt(at));
        expect(ret).toBe(wasi.ERRNO_SUCCESS);
        expect(Buffer.from(data).equals(Buffer.from(whole.subarray(at, at + 3000))), `${e.path}@${at}`).toBe(true);
      }
      expect(f.fd_pread(10, BigInt(e.size + 10)).data.length).toBe(0);
      expect(f.fd_seek(-100n, wasi.WHENCE_END)).toEqual({ ret: 0, offset: BigInt(e.size - 100) });
      expect(Buffer.from(f.fd_read(1000).data).equals(Buffer.from(whole.subarray(e.size - 100)))).toBe(true);
      expect(f.fd_tell()).toEqual({ ret: 0, offset: BigInt(e.size) });
      expect(f.fd_seek(5n, wasi.WHENCE_SET).offset).toBe(5n);
      expect(f.fd_seek(10n, wasi.WHENCE_CUR).offset).toBe(15n);
      expect(f.fd_seek(-20n, wasi.WHENCE_SET).ret).toBe(wasi.ERRNO_INVAL);
      expect(f.fd_seek(0n, 7).ret).toBe(wasi.ERRNO_INVAL);
      f.fd_close();
    }
  });

  it('path_readlink: every symlink target, as stored', () => {
    const root = pre.get(image)!;
    for (const e of named.filter((x) => x.type === 'symlink')) {
      const want = e.target !== undefined ? Buffer.from(e.target, 'utf8') : Buffer.from(e.target_b64!, 'base64');
      const r = root.path_readlink_bytes(rel(e.path!));
      expect(r.ret, e.path).toBe(wasi.ERRNO_SUCCESS);
      expect(Buffer.from(r.data!).equals(want), e.path).toBe(true);
      if (e.target !== undefined) expect(root.path_readlink(rel(e.path!)).data).toBe(e.target);
    }
    const file = named.find((x) => x.type === 'file')!;
    expect(root.path_readlink(rel(file.path!)).ret).toBe(wasi.ERRNO_INVAL);
  });

  it('fd_readdir_single: every directory in on-disk order, names as raw bytes, "." and ".." first', () => {
    const root = pre.get(image)!;
    const byPath = new Map(manifest.map((e) => [e.path ?? latin1(Buffer.from(e.path_b64!, 'base64')), e]));
    for (const d of jsonl<{ path?: string; entries?: string[]; entries_b64?: string[] }>(image.replace('.erofs', '.readdir.jsonl'))) {
      if (d.path === undefined) continue;
      const f = open(root, rel(d.path), wasi.OFLAGS_DIRECTORY);
      expect(f.fd_fdstat_get().fdstat!.fs_filetype).toBe(wasi.FILETYPE_DIRECTORY);
      const got = list(f);
      const names = got.map((x) => latin1(x.dir_name)).filter((n) => n !== '.' && n !== '..');
      const want = d.entries !== undefined ? d.entries.map((n) => latin1(Buffer.from(n, 'utf8'))) : d.entries_b64!.map((n) => latin1(Buffer.from(n, 'base64')));
      expect(names, d.path).toEqual(want);
      expect(got.filter((x) => latin1(x.dir_name) === '.' || latin1(x.dir_name) === '..').length).toBe(2);
      for (const x of got) {
        expect(x.d_namlen).toBe(x.dir_name.length);
        const name = latin1(x.dir_name);
        if (name === '.' || name === '..') continue;
        const child = byPath.get((d.path === '/' ? '' : latin1(Buffer.from(d.path, 'utf8'))) + '/' + name);
        if (child) expect({ ino: x.d_ino, type: x.d_type }, name).toEqual({ ino: BigInt(child.ino), type: FILETYPE[child.type] });
      }
      // Resuming from any cookie gives the rest of the listing.
      const mid = Math.floor(got.length / 2);
      const rest = got.slice(mid + 1);
      const again: string[] = [];
      let cookie = got[mid].d_next;
      for (let r = f.fd_readdir_single(cookie); r.dirent; r = f.fd_readdir_single(cookie)) {
        again.push(latin1(r.dirent.dir_name));
        cookie = r.dirent.d_next;
      }
      expect(again).toEqual(rest.map((x) => latin1(x.dir_name)));
      f.fd_close();
    }
  });
});

describe('through the shim WASI imports', () => {
  /** A WASI with our preopen at fd 3 and a page of guest memory, without a guest module. */
  function harness(p: ErofsPreopenDirectory) {
    const w = new WASI([], [], [undefined as never, undefined as never, undefined as never, p], { debug: false });
    const memory = new WebAssembly.Memory({ initial: 2 });
    w.inst = { exports: { memory } };
    const mem = () => new Uint8Array(memory.buffer);
    const view = () => new DataView(memory.buffer);
    const put = (s: string, at = 0) => {
      const b = Buffer.from(s, 'utf8');
      mem().set(b, at);
      return [at, b.length] as const;
    };
    const imp = w.wasiImport as Record<string, (...a: unknown[]) => number>;
    return { w, imp, mem, view, put };
  }

  it('fd_readdir with small buffers: cookies resume exactly, every name once (bigdir, 2540 entries)', () => {
    const h = harness(pre.get('basic-18.erofs')!);
    const [pp, pl] = h.put('bigdir');
    expect(h.imp.path_open(3, 1, pp, pl, wasi.OFLAGS_DIRECTORY, READ, 0n, 0, 1024)).toBe(0);
    const fd = h.view().getUint32(1024, true);
    const names: string[] = [];
    let cookie = 0n;
    for (let round = 0; round < 100000; round++) {
      expect(h.imp.fd_readdir(fd, 4096, 700, cookie, 2048)).toBe(0);
      const used = h.view().getUint32(2048, true);
      let at = 4096;
      let last = -1n;
      // Whole records only; a record cut by the end of the buffer is asked for again.
      while (at + 24 <= 4096 + used) {
        const next = h.view().getBigUint64(at, true);
        const len = h.view().getUint32(at + 16, true);
        if (at + 24 + len > 4096 + used) break;
        names.push(latin1(h.mem().slice(at + 24, at + 24 + len)));
        last = next;
        at += 24 + len;
      }
      if (used < 700) break;
      cookie = last;
    }
    const want = jsonl<{ path?: string; entries?: string[] }>('basic-18.readdir.jsonl').find((d) => d.path === '/bigdir')!.entries!;
    expect(names.filter((n) => n !== '.' && n !== '..')).toEqual(want.map((n) => latin1(Buffer.from(n, 'utf8'))));
    expect(want.length).toBe(2540);
  });

  it('path_readlink import truncates like POSIX readlink once installPosixReadlink is in', async () => {
    const { installPosixReadlink } = await import('./readlink.js');
    const h = harness(pre.get('basic-18.erofs')!);
    const [pp, pl] = h.put('links/len-4095');
    expect(h.imp.path_readlink(3, pp, pl, 8192, 100, 2048)).toBe(wasi.ERRNO_BADF); // the shim's own answer
    installPosixReadlink(h.w);
    expect(h.imp.path_readlink(3, pp, pl, 8192, 100, 2048)).toBe(0);
    expect(h.view().getUint32(2048, true)).toBe(100);
    expect(h.imp.path_readlink(3, pp, pl, 8192, 8192, 2048)).toBe(0);
    expect(h.view().getUint32(2048, true)).toBe(4095);
  });

  it('rename, link and symlink come back read-only (or the shim refuses first)', () => {
    const h = harness(pre.get('basic-18.erofs')!);
    const [op, ol] = h.put('files/empty', 0);
    const [np, nl] = h.put('files/new-name', 200);
    const [xp, xl] = h.put('missing/x', 400);
    const [ep, el] = h.put('files', 600);
    expect(h.imp.path_rename(3, op, ol, 3, np, nl)).toBe(wasi.ERRNO_ROFS);
    expect(h.imp.path_rename(3, xp, xl, 3, np, nl)).toBe(wasi.ERRNO_NOENT);
    expect(h.imp.path_link(3, 0, op, ol, 3, np, nl)).toBe(wasi.ERRNO_ROFS);
    expect(h.imp.path_link(3, 0, op, ol, 3, ep, el)).toBe(wasi.ERRNO_EXIST);
    expect(h.imp.path_link(3, 0, xp, xl, 3, np, nl)).toBe(wasi.ERRNO_NOENT);
    expect(h.imp.path_symlink(op, ol, 3, np, nl)).toBe(wasi.ERRNO_NOTSUP);
  });
});

describe('write-type calls answer as Linux does on a read-only mount', () => {
  it('opening for writing, creating, truncating', () => {
    const root = pre.get('basic-18.erofs')!;
    const po = (path: string, oflags: number, rights: bigint) => root.path_open(FOLLOW, path, oflags, rights, 0n, 0).ret;
    expect(po('files/empty', 0, WRITE)).toBe(wasi.ERRNO_ROFS);
    expect(po('files/empty', 0, WRITE | READ)).toBe(wasi.ERRNO_ROFS);
    expect(po('files', 0, WRITE)).toBe(wasi.ERRNO_ISDIR);
    expect(po('files/empty', wasi.OFLAGS_TRUNC, READ)).toBe(wasi.ERRNO_ROFS);
    expect(po('files/new', wasi.OFLAGS_CREAT, WRITE)).toBe(wasi.ERRNO_ROFS);
    expect(po('files/empty', wasi.OFLAGS_CREAT | wasi.OFLAGS_EXCL, WRITE)).toBe(wasi.ERRNO_EXIST);
    expect(po('missing/new', wasi.OFLAGS_CREAT, WRITE)).toBe(wasi.ERRNO_NOENT);
    // O_CREAT of an existing file without O_EXCL opens it (read-only here).
    expect(po('files/empty', wasi.OFLAGS_CREAT, READ)).toBe(wasi.ERRNO_SUCCESS);
  });

  it('directory and name calls: parent errors, then EEXIST / EISDIR / EINVAL, then EROFS', () => {
    const root = pre.get('basic-18.erofs')!;
    expect(root.path_create_directory('files')).toBe(wasi.ERRNO_EXIST);
    expect(root.path_create_directory('newdir')).toBe(wasi.ERRNO_ROFS);
    expect(root.path_create_directory('missing/newdir')).toBe(wasi.ERRNO_NOENT);
    expect(root.path_create_directory('files/empty/x')).toBe(wasi.ERRNO_NOTDIR);
    expect(root.path_create_directory('.')).toBe(wasi.ERRNO_EXIST);
    // unlink: EROFS beats ENOENT for the last component, as in Linux.
    expect(root.path_unlink_file('files/empty')).toBe(wasi.ERRNO_ROFS);
    expect(root.path_unlink_file('files/no-such')).toBe(wasi.ERRNO_ROFS);
    expect(root.path_unlink_file('missing/x')).toBe(wasi.ERRNO_NOENT);
    expect(root.path_unlink_file('files/..')).toBe(wasi.ERRNO_ISDIR);
    expect(root.path_remove_directory('deep')).toBe(wasi.ERRNO_ROFS);
    expect(root.path_remove_directory('deep/.')).toBe(wasi.ERRNO_INVAL);
    expect(root.path_remove_directory('deep/..')).toBe(wasi.ERRNO_NOTEMPTY);
    expect(root.path_filestat_set_times(0, 'files/empty', 0n, 0n, wasi.FSTFLAGS_MTIM_NOW)).toBe(wasi.ERRNO_ROFS);
    expect(root.path_filestat_set_times(0, 'files/empty', 0n, 0n, 0)).toBe(wasi.ERRNO_SUCCESS);
    expect(root.path_filestat_set_times(0, 'nothing', 0n, 0n, wasi.FSTFLAGS_MTIM_NOW)).toBe(wasi.ERRNO_NOENT);
    expect(root.path_filestat_set_times(0, 'files/empty', 0n, 0n, wasi.FSTFLAGS_MTIM | wasi.FSTFLAGS_MTIM_NOW)).toBe(wasi.ERRNO_INVAL);
  });

  it('descriptor calls on a read-only description', () => {
    const f = open(pre.get('basic-18.erofs')!, 'files/empty');
    expect(f.fd_write(new Uint8Array(3))).toEqual({ ret: wasi.ERRNO_BADF, nwritten: 0 });
    expect(f.fd_pwrite(new Uint8Array(3), 0n)).toEqual({ ret: wasi.ERRNO_BADF, nwritten: 0 });
    expect(f.fd_allocate(0n, 10n)).toBe(wasi.ERRNO_BADF);
    expect(f.fd_filestat_set_size(0n)).toBe(wasi.ERRNO_INVAL);
    expect(f.fd_filestat_set_times(0n, 0n, wasi.FSTFLAGS_ATIM_NOW)).toBe(wasi.ERRNO_ROFS);
    expect(f.fd_sync()).toBe(wasi.ERRNO_INVAL);
    expect(f.fd_fdstat_set_flags(wasi.FDFLAGS_NONBLOCK)).toBe(wasi.ERRNO_SUCCESS);
    expect(f.fd_fdstat_get().fdstat!.fs_flags).toBe(wasi.FDFLAGS_NONBLOCK);
    expect(f.fd_close()).toBe(wasi.ERRNO_SUCCESS);
    // A closed Fd stays closed even when its Task descriptor number is handed out again.
    const g = open(pre.get('basic-18.erofs')!, 'files');
    expect(g.fd).toBe(f.fd);
    expect(f.fd_close()).toBe(wasi.ERRNO_BADF);
    expect(f.fd_read(10).ret).toBe(wasi.ERRNO_BADF);
    expect(f.fd_filestat_get().ret).toBe(wasi.ERRNO_BADF);
    expect(f.fd_fdstat_get().ret).toBe(wasi.ERRNO_BADF);
    expect(g.fd_read(10).ret).toBe(wasi.ERRNO_ISDIR);
    expect(g.fd_seek(0n, wasi.WHENCE_SET).ret).toBe(wasi.ERRNO_BADF);
    expect(g.fd_write(new Uint8Array(1)).ret).toBe(wasi.ERRNO_BADF);
    g.fd_close();
  });
});

describe('lookup rules', () => {
  it('the sandbox: absolute paths and ".." above a handle are ENOTCAPABLE; absolute symlinks resolve inside the preopen', () => {
    const root = pre.get('rootfs-18.erofs')!;
    expect(root.path_open(FOLLOW, '/etc/passwd', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(root.path_open(FOLLOW, '../rootfs-18.erofs/etc/passwd', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(root.path_open(FOLLOW, 'etc/../../x', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(root.path_filestat_get(0, 'etc/../etc/passwd').ret).toBe(wasi.ERRNO_SUCCESS);
    const etc = open(root, 'etc', wasi.OFLAGS_DIRECTORY);
    expect(etc.path_open(FOLLOW, '../bin/su', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTCAPABLE);
    expect(etc.path_open(FOLLOW, 'a\0b', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_INVAL);
    etc.fd_close();
    // /usr/bin/env -> /bin/busybox: the absolute target is read inside the preopen.
    const manifest = jsonl<Rec>('rootfs-18.manifest.jsonl');
    const busybox = manifest.find((e) => e.path === '/bin/busybox')!;
    const env = open(root, 'usr/bin/env');
    expect(createHash('sha256').update(readAll(env)).digest('hex')).toBe(busybox.sha256);
    env.fd_close();
    // ../usr/lib/os-release from /etc: a relative target climbing out of its directory.
    const osr = open(root, 'etc/os-release');
    expect(createHash('sha256').update(readAll(osr)).digest('hex')).toBe(manifest.find((e) => e.path === '/usr/lib/os-release')!.sha256);
    osr.fd_close();
    expect(root.path_filestat_get(FOLLOW, 'usr/bin/env').filestat!.ino).toBe(BigInt(busybox.ino));
  });

  it('symlinks: followed with LOOKUPFLAGS_SYMLINK_FOLLOW, ELOOP without it or in a loop, ENOTDIR with O_DIRECTORY', () => {
    const root = pre.get('basic-18.erofs')!;
    expect(root.path_open(0, 'links/rel', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_LOOP);
    expect(root.path_open(FOLLOW, 'links/loop', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_LOOP);
    expect(root.path_open(FOLLOW, 'links/dangling', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOENT);
    expect(root.path_open(0, 'links/todir', wasi.OFLAGS_DIRECTORY, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTDIR);
    const todir = open(root, 'links/todir', wasi.OFLAGS_DIRECTORY);
    expect(todir.filetype).toBe(wasi.FILETYPE_DIRECTORY);
    todir.fd_close();
    expect(root.path_open(FOLLOW, 'files/empty', wasi.OFLAGS_DIRECTORY, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTDIR);
    expect(root.path_open(FOLLOW, 'files/empty/', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_NOTDIR);
    expect(root.path_filestat_get(0, 'links/rel').filestat!.filetype).toBe(wasi.FILETYPE_SYMBOLIC_LINK);
    expect(root.path_filestat_get(FOLLOW, 'links/rel').filestat!.filetype).toBe(wasi.FILETYPE_REGULAR_FILE);
    const inode = root.path_lookup('links/rel', 0).inode_obj!;
    expect(inode.stat().filetype).toBe(wasi.FILETYPE_SYMBOLIC_LINK);
    expect(root.path_lookup('nothing', 0).ret).toBe(wasi.ERRNO_NOENT);
  });

  it('permissions follow the guest credentials', async () => {
    const guest = ErofsPreopenDirectory.open(c.ns, '/', { path: '/rootfs-18.erofs', creds: credentials(1000, 1000) });
    expect(guest.path_open(FOLLOW, 'etc/shadow', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_ACCES);
    expect(guest.path_open(FOLLOW, 'etc/passwd', 0, READ, 0n, 0).ret).toBe(wasi.ERRNO_SUCCESS);
    expect(guest.path_open(FOLLOW, 'root', wasi.OFLAGS_DIRECTORY, READ, 0n, 0).ret).toBe(wasi.ERRNO_ACCES);
    guest.dispose();
  });

  it("the README's set-up: an image as the namespace root, preopened whole", async () => {
    const host = await HostController.create({ rootfs: FIXTURES + 'rootfs-18.erofs' });
    const root = ErofsPreopenDirectory.open(host.ns, '/', { path: '/' });
    const passwd = jsonl<Rec>('rootfs-18.manifest.jsonl').find((e) => e.path === '/etc/passwd')!;
    expect(createHash('sha256').update(readAll(open(root, 'etc/passwd'))).digest('hex')).toBe(passwd.sha256);
    root.dispose();
    host.close();
  });

  it('a preopen names its directory; one that cannot be opened is a SysError', () => {
    const root = pre.get('rootfs-18.erofs')!;
    expect(root.fd_prestat_get().prestat!.inner.pr_name).toEqual(new TextEncoder().encode('/mnt'));
    const st = root.fd_fdstat_get().fdstat!;
    expect(st.fs_filetype).toBe(wasi.FILETYPE_DIRECTORY);
    expect(st.fs_rights_inherited & WRITE).toBe(WRITE);
    expect(() => ErofsPreopenDirectory.open(c.ns, '/x', { path: '/nowhere' })).toThrow(SysError);
    expect(() => ErofsPreopenDirectory.open(c.ns, '/x', { path: '/rootfs-18.erofs/etc/passwd' })).toThrow(/ENOTDIR/);
  });
});
