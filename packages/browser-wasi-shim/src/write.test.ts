/**
 * Writes through the adapter into a tmpfs: the Fd methods the shim's WASI calls, and the
 * shim's own imports where it composes them (path_rename as unlink + link, path_link as
 * lookup + link) or answers alone (path_symlink, replaced by installSymlink). Every result
 * is checked twice: the WASI errno the guest gets, and what the namespace holds afterwards
 * as another Task of it sees it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WASI, wasi } from '@bjorn3/browser_wasi_shim';
import { AT_FDCWD, HostController, type Task } from '@erofs-js/mount/node';
import { O_RDONLY, type Stat } from '@erofs-js/vfs';
import { ErofsFd } from './fd.js';
import { ErofsPreopenDirectory } from './preopen.js';
import { installSymlink } from './symlink.js';

const FOLLOW = 1;
const READ = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_SEEK | wasi.RIGHTS_FD_READDIR);
const WRITE = BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_ALLOCATE | wasi.RIGHTS_FD_FILESTAT_SET_SIZE);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let c: HostController;
let pre: ErofsPreopenDirectory;
/** Another task of the namespace: what the guest wrote must be there for everyone. */
let other: Task;

beforeEach(async () => {
  c = await HostController.create({ mkdirs: ['/tmp'] });
  await c.mount({ type: 'tmpfs', target: '/tmp', options: { size: '1m' } });
  pre = ErofsPreopenDirectory.open(c.ns, '/tmp', { path: '/tmp' });
  other = c.task();
});

afterEach(() => {
  other.exit();
  pre.dispose();
  c.close();
});

function open(path: string, oflags = 0, rights = READ, fdflags = 0): ErofsFd {
  const r = pre.path_open(FOLLOW, path, oflags, rights, 0n, fdflags);
  if (!r.fd_obj) throw new Error(`path_open ${path}: errno ${r.ret}`);
  return r.fd_obj;
}

function contents(path: string): string {
  const fd = other.open('/tmp/' + path, O_RDONLY);
  const buf = new Uint8Array(4096);
  const n = other.read(fd, buf);
  other.close(fd);
  return dec(buf.subarray(0, n));
}

const st = (path: string): Stat => other.lstat('/tmp/' + path);

/** A WASI instance over the preopen (fd 3) with guest memory, for the shim's own imports. */
function harness() {
  const w = new WASI([], [], [undefined as never, undefined as never, undefined as never, pre], { debug: false });
  const memory = new WebAssembly.Memory({ initial: 1 });
  (w as unknown as { inst: unknown }).inst = { exports: { memory } };
  const imp = w.wasiImport as unknown as Record<string, (...a: number[]) => number>;
  let at = 0;
  const put = (s: string): [number, number] => {
    const b = enc(s);
    new Uint8Array(memory.buffer, at, b.length).set(b);
    const r: [number, number] = [at, b.length];
    at += b.length + 8;
    return r;
  };
  return { w, imp, put };
}

describe('the adapter writes on a tmpfs', () => {
  it('creates, writes, appends, positions, truncates, allocates and syncs through descriptors', () => {
    const f = open('f', wasi.OFLAGS_CREAT | wasi.OFLAGS_EXCL, WRITE | READ);
    expect(f.fd_write(enc('hello world'))).toEqual({ ret: 0, nwritten: 11 });
    expect(f.fd_pwrite(enc('HELLO'), 0n)).toEqual({ ret: 0, nwritten: 5 });
    expect(f.fd_tell().offset).toBe(11n);
    expect(f.fd_pwrite(enc('!'), 20n).ret).toBe(0); // a hole of 9 zero bytes
    expect(st('f').size).toBe(21);
    expect(f.fd_filestat_set_size(5n)).toBe(0);
    expect(f.fd_allocate(0n, 100n)).toBe(0);
    expect(st('f').size).toBe(100);
    expect(f.fd_filestat_set_size(5n)).toBe(0);
    expect(f.fd_sync()).toBe(0);
    // Reads see the file as it is now, not as it was at open.
    expect(f.fd_seek(0n, wasi.WHENCE_SET).ret).toBe(0);
    expect(dec(f.fd_read(100).data)).toBe('HELLO');
    expect(f.fd_filestat_get().filestat!.size).toBe(5n);
    // Rights show the access mode (wasi-libc's F_GETFL reads it from them).
    expect(f.fd_fdstat_get().fdstat!.fs_rights_base & BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_READ)).toBe(BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_READ));
    expect(f.fd_close()).toBe(0);
    expect(st('f').mode & 0o7777).toBe(0o644); // 0666 less the umask 022
    expect(contents('f')).toBe('HELLO');

    const a = open('f', 0, WRITE, wasi.FDFLAGS_APPEND);
    expect(a.fd_fdstat_get().fdstat!.fs_rights_base & BigInt(wasi.RIGHTS_FD_READ)).toBe(0n);
    expect(a.fd_write(enc('+tail')).ret).toBe(0);
    a.fd_close();
    expect(contents('f')).toBe('HELLO+tail');
    const t = open('f', wasi.OFLAGS_TRUNC, WRITE);
    t.fd_close();
    expect(st('f').size).toBe(0);
    expect(pre.path_open(FOLLOW, 'f', wasi.OFLAGS_CREAT | wasi.OFLAGS_EXCL, WRITE, 0n, 0).ret).toBe(wasi.ERRNO_EXIST);
    expect(pre.path_open(FOLLOW, 'nodir/f', wasi.OFLAGS_CREAT, WRITE, 0n, 0).ret).toBe(wasi.ERRNO_NOENT);
    const r = open('f');
    expect(r.fd_write(enc('x')).ret).toBe(wasi.ERRNO_BADF);
    expect(r.fd_filestat_set_size(1n)).toBe(wasi.ERRNO_INVAL);
    expect(r.fd_allocate(0n, 1n)).toBe(wasi.ERRNO_BADF);
    r.fd_close();
  });

  it('sets times by value, to now, or leaves them (UTIME_OMIT), on paths and descriptors', () => {
    open('f', wasi.OFLAGS_CREAT, WRITE).fd_close();
    const ns = (s: number) => BigInt(s) * 1_000_000_000n;
    expect(pre.path_filestat_set_times(FOLLOW, 'f', ns(1000) + 5n, ns(2000) + 7n, wasi.FSTFLAGS_ATIM | wasi.FSTFLAGS_MTIM)).toBe(0);
    expect([st('f').atime, st('f').atimeNsec, st('f').mtime, st('f').mtimeNsec]).toEqual([1000, 5, 2000, 7]);
    expect(pre.path_filestat_set_times(FOLLOW, 'f', 0n, ns(3000), wasi.FSTFLAGS_MTIM)).toBe(0);
    expect([st('f').atime, st('f').mtime]).toEqual([1000, 3000]);
    // A time before 1970 arrives as WASI's unsigned wrap of a negative count.
    expect(pre.path_filestat_set_times(FOLLOW, 'f', 0n, BigInt.asUintN(64, -1_500_000_000n), wasi.FSTFLAGS_MTIM)).toBe(0);
    expect([st('f').mtime, st('f').mtimeNsec]).toEqual([-2, 500_000_000]);
    const before = Date.now() / 1000 - 5;
    const f = open('f', 0, WRITE);
    expect(f.fd_filestat_set_times(0n, 0n, wasi.FSTFLAGS_ATIM_NOW | wasi.FSTFLAGS_MTIM_NOW)).toBe(0);
    expect(f.fd_filestat_set_times(0n, 0n, wasi.FSTFLAGS_ATIM | wasi.FSTFLAGS_ATIM_NOW)).toBe(wasi.ERRNO_INVAL);
    f.fd_close();
    expect(st('f').mtime).toBeGreaterThan(before);
    // Without FOLLOW the link itself gets the times.
    expect(pre.path_symlink_bytes(enc('f'), 'l')).toBe(0);
    expect(pre.path_filestat_set_times(0, 'l', 0n, ns(42), wasi.FSTFLAGS_MTIM)).toBe(0);
    expect(st('l').mtime).toBe(42);
    expect(pre.path_filestat_set_times(FOLLOW, 'nothing', 0n, 0n, wasi.FSTFLAGS_MTIM)).toBe(wasi.ERRNO_NOENT);
  });

  it('makes and removes directories and files with Linux errnos', () => {
    expect(pre.path_create_directory('d')).toBe(0);
    expect(st('d').mode & 0o7777).toBe(0o755);
    expect(pre.path_create_directory('d')).toBe(wasi.ERRNO_EXIST);
    expect(pre.path_create_directory('d/e/f')).toBe(wasi.ERRNO_NOENT);
    expect(pre.path_create_directory('d/e')).toBe(0);
    open('d/e/x', wasi.OFLAGS_CREAT, WRITE).fd_close();
    expect(pre.path_remove_directory('d/e')).toBe(wasi.ERRNO_NOTEMPTY);
    expect(pre.path_unlink_file('d/e')).toBe(wasi.ERRNO_ISDIR);
    expect(pre.path_remove_directory('d/e/x')).toBe(wasi.ERRNO_NOTDIR);
    expect(pre.path_unlink_file('d/e/x')).toBe(0);
    expect(pre.path_unlink_file('d/e/x')).toBe(wasi.ERRNO_NOENT);
    expect(pre.path_remove_directory('d/e')).toBe(0);
    expect(pre.path_create_directory('../x')).toBe(wasi.ERRNO_NOTCAPABLE);
    // Relative to a directory descriptor below the preopen.
    const d = open('d', wasi.OFLAGS_DIRECTORY);
    expect(d.path_create_directory('sub')).toBe(0);
    expect(st('d/sub').mode & 0o170000).toBe(0o040000);
    d.fd_close();
  });

  it("renames and links through the shim's own path_rename and path_link imports", () => {
    const { imp, put } = harness();
    open('a', wasi.OFLAGS_CREAT, WRITE).fd_close();
    pre.path_create_directory('dir');
    pre.path_create_directory('full');
    open('full/x', wasi.OFLAGS_CREAT, WRITE).fd_close();
    const ino = st('a').ino;
    const [ap, al] = put('a');
    const [bp, bl] = put('dir/b');
    expect(imp.path_rename(3, ap, al, 3, bp, bl)).toBe(0);
    expect(st('dir/b').ino).toBe(ino);
    expect(() => st('a')).toThrow(/ENOENT/);
    // A failed rename leaves both names as they were (the shim's relink is a no-op).
    const [fp, fl] = put('full');
    const [dp, dl] = put('dir');
    expect(imp.path_rename(3, dp, dl, 3, fp, fl)).toBe(wasi.ERRNO_NOTEMPTY);
    expect(st('dir/b').ino).toBe(ino);
    const [mp, ml] = put('missing');
    expect(imp.path_rename(3, mp, ml, 3, ap, al)).toBe(wasi.ERRNO_NOENT);
    expect(imp.path_rename(3, dp, dl, 3, ...put('dir/inside'))).toBe(wasi.ERRNO_INVAL);
    // Hard links: the same inode, two names, nlink 2.
    const [hp, hl] = put('hard');
    expect(imp.path_link(3, 0, bp, bl, 3, hp, hl)).toBe(0);
    expect(st('hard').ino).toBe(ino);
    expect(st('hard').nlink).toBe(2);
    expect(imp.path_link(3, 0, bp, bl, 3, hp, hl)).toBe(wasi.ERRNO_EXIST);
    expect(imp.path_link(3, 0, dp, dl, 3, ...put('dirlink'))).toBe(wasi.ERRNO_PERM);
    expect(imp.path_link(3, 0, mp, ml, 3, ...put('x1'))).toBe(wasi.ERRNO_NOENT);
  });

  it('makes symbolic links once installSymlink replaces the import the shim answers alone', () => {
    const { w, imp, put } = harness();
    const [tp, tl] = put('../some/target');
    const [lp, ll] = put('link');
    expect(imp.path_symlink(tp, tl, 3, lp, ll)).toBe(wasi.ERRNO_NOTSUP); // the shim's own answer
    installSymlink(w);
    const sym = w.wasiImport.path_symlink as unknown as (...a: number[]) => number;
    expect(sym(tp, tl, 3, lp, ll)).toBe(0);
    const buf = new Uint8Array(100);
    expect(dec(buf.subarray(0, other.readlinkat(AT_FDCWD, '/tmp/link', buf)))).toBe('../some/target');
    expect(sym(tp, tl, 3, lp, ll)).toBe(wasi.ERRNO_EXIST);
    const [ep, el] = put('');
    expect(sym(ep, el, 3, ...put('l2'))).toBe(wasi.ERRNO_NOENT);
    const [ap, al] = put('/abs/target');
    expect(sym(ap, al, 3, ...put('l3'))).toBe(0);
    expect(dec(buf.subarray(0, other.readlinkat(AT_FDCWD, '/tmp/l3', buf)))).toBe('/abs/target');
  });
});
