/**
 * The browser side of tests/browser.test.ts, bundled with esbuild for the browser and run
 * in headless Chromium. Every image comes over HTTP from the test's server as bytes;
 * everything else (decoder, codecs with the Zstandard and LZ4 WebAssembly, VFS, mount
 * namespace, the browser_wasi_shim adapter) is this bundle. It exposes `window.harness`:
 *
 *  - manifest(image, devices): the image decoded whole with Image + walk, as manifest
 *    records (the fields of `erofs manifest`; SHA-256 by crypto.subtle) and getdents-order
 *    directory records, for the test to compare with the committed kernel manifests;
 *  - mountWalk(image, devices): the image as the root of a (portable) HostController's
 *    namespace, walked by a Task with getdents64, newfstatat, readlinkat, read and the
 *    xattr calls, as records of the same shape;
 *  - guest(image, tool, args): a toybox tool from fixtures/guests under
 *    @bjorn3/browser_wasi_shim with the image preopened as /t by ErofsPreopenDirectory;
 *    stdout and stderr as base64.
 */
import { ConsoleStdout, File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import { Image, MemorySource, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, isCompressed, loadCodecs, walk, type Inode } from '@erofs-js/erofs';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, parseDirents } from '@erofs-js/vfs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, HostController, type Task } from '@erofs-js/mount';
import { ErofsPreopenDirectory } from '@erofs-js/browser-wasi-shim';

type Rec = Record<string, unknown>;

async function fetchBytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

const strict = new TextDecoder('utf-8', { fatal: true });

function b64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function textOrB64(rec: Rec, key: string, raw: Uint8Array): void {
  try {
    rec[key] = strict.decode(raw);
  } catch {
    rec[key + '_b64'] = b64(raw);
  }
}

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
  return Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('');
}

function typeName(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFCHR: return 'chardev';
    case S_IFBLK: return 'blockdev';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function join(parent: Uint8Array, name: Uint8Array): Uint8Array {
  const base = parent.length === 1 ? 0 : parent.length;
  const out = new Uint8Array(base + 1 + name.length);
  out.set(parent.subarray(0, base));
  out[base] = 0x2f;
  out.set(name, base + 1);
  return out;
}

const isDot = (n: Uint8Array) => n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));

function dirRecord(path: Uint8Array, names: Uint8Array[]): Rec {
  const rec: Rec = {};
  textOrB64(rec, 'path', path);
  try {
    rec.entries = names.map((n) => strict.decode(n));
  } catch {
    rec.entries_b64 = names.map(b64);
  }
  return rec;
}

async function open(image: string, devices: string[]): Promise<{ bytes: Uint8Array; devices: Uint8Array[] }> {
  await loadCodecs();
  return { bytes: await fetchBytes(`/fixtures/${image}`), devices: await Promise.all(devices.map((d) => fetchBytes(`/fixtures/${d}`))) };
}

async function manifest(name: string, deviceNames: string[]): Promise<{ recs: Rec[]; dirs: Rec[]; compressed: number }> {
  const { bytes, devices } = await open(name, deviceNames);
  const image = new Image(new MemorySource(bytes), { devices: devices.map((d) => new MemorySource(d)) });
  const all: { path: Uint8Array; inode: Inode; names?: Uint8Array[] }[] = [];
  walk(image, (e) => {
    const names = (e.inode.mode & S_IFMT) === S_IFDIR ? [...image.readdir(e.inode)].map((d) => d.name).filter((n) => !isDot(n)) : undefined;
    all.push({ path: e.path, inode: e.inode, names });
  });
  all.sort((a, b) => compareBytes(a.path, b.path));
  const recs: Rec[] = [];
  let compressed = 0;
  for (const { path, inode } of all) {
    const rec: Rec = {};
    textOrB64(rec, 'path', path);
    Object.assign(rec, { type: typeName(inode.mode), mode: inode.mode, uid: inode.uid, gid: inode.gid, size: inode.size, nlink: inode.nlink, mtime: inode.mtime, mtime_nsec: inode.mtimeNsec, ino: inode.ino });
    const t = inode.mode & S_IFMT;
    if (t === S_IFCHR || t === S_IFBLK) rec.rdev = inode.rdev;
    if (t === S_IFLNK) textOrB64(rec, 'target', image.readlink(inode));
    if (t === S_IFREG) {
      if (isCompressed(inode)) compressed++;
      rec.sha256 = await sha256(image.readFile(inode));
    }
    const xattrs = image.listXattrs(inode);
    if (xattrs.length) {
      xattrs.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
      rec.xattrs = Object.fromEntries(xattrs.map((x) => [x.name, b64(x.value)]));
    }
    recs.push(rec);
  }
  const dirs = all.filter((e) => e.names).map((e) => dirRecord(e.path, e.names!));
  return { recs, dirs, compressed };
}

/** Reads a whole descriptor with read(2). */
function readFd(task: Task, fd: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (;;) {
    const chunk = out.subarray(off, Math.min(size, off + 65536) + (off === size ? 1 : 0));
    if (chunk.length === 0) break;
    const n = task.read(fd, chunk);
    if (n === 0) break;
    off += n;
  }
  if (off !== size) throw new Error(`read ${off} of ${size} bytes`);
  return out;
}

function xattrsOf(task: Task, path: Uint8Array): Record<string, string> | undefined {
  const n = task.llistxattr(path, null);
  if (n === 0) return undefined;
  const list = new Uint8Array(n);
  task.llistxattr(path, list);
  const names: Uint8Array[] = [];
  for (let i = 0; i < n; ) {
    const end = list.indexOf(0, i);
    names.push(list.subarray(i, end));
    i = end + 1;
  }
  names.sort(compareBytes);
  const out: Record<string, string> = {};
  for (const name of names) {
    const size = task.lgetxattr(path, name, null);
    const value = new Uint8Array(size);
    task.lgetxattr(path, name, value);
    out[new TextDecoder().decode(name)] = b64(value);
  }
  return out;
}

async function mountWalk(name: string, deviceNames: string[]): Promise<{ recs: Rec[]; dirs: Rec[]; controller: string }> {
  const { bytes, devices } = await open(name, deviceNames);
  const host = await HostController.create({ rootfs: { bytes, name }, rootfsOptions: { devices: devices.map((d, i) => ({ bytes: d, name: deviceNames[i] })) } });
  const task = host.task();
  const recs: { path: Uint8Array; rec: Rec }[] = [];
  const dirs: Rec[] = [];
  const buf = new Uint8Array(8192);
  const link = new Uint8Array(4096);
  const visit = async (path: Uint8Array): Promise<void> => {
    const st = task.newfstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
    const rec: Rec = {};
    textOrB64(rec, 'path', path);
    Object.assign(rec, { type: typeName(st.mode), mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtime, mtime_nsec: st.mtimeNsec, ino: st.ino });
    const t = st.mode & S_IFMT;
    if (t === S_IFCHR || t === S_IFBLK) rec.rdev = st.rdev;
    if (t === S_IFLNK) textOrB64(rec, 'target', link.slice(0, task.readlinkat(AT_FDCWD, path, link)));
    if (t === S_IFREG) {
      const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW);
      try {
        rec.sha256 = await sha256(readFd(task, fd, st.size));
      } finally {
        task.close(fd);
      }
    }
    const xattrs = xattrsOf(task, path);
    if (xattrs) rec.xattrs = xattrs;
    recs.push({ path, rec });
    if (t !== S_IFDIR) return;
    const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    const names: Uint8Array[] = [];
    try {
      let n: number;
      while ((n = task.getdents64(fd, buf)) > 0) for (const d of parseDirents(buf, n)) if (!isDot(d.name)) names.push(d.name.slice());
    } finally {
      task.close(fd);
    }
    dirs.push(dirRecord(path, names));
    for (const child of names) await visit(join(path, child));
  };
  await visit(new Uint8Array([0x2f]));
  task.exit();
  host.close();
  recs.sort((a, b) => compareBytes(a.path, b.path));
  return { recs: recs.map((r) => r.rec), dirs, controller: Object.getPrototypeOf(host) === HostController.prototype ? 'portable' : 'another' };
}

async function guest(name: string, tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { bytes } = await open(name, []);
  const module = await WebAssembly.compile(await fetchBytes(`/fixtures/guests/${tool}.wasm`));
  const host = await HostController.create({ rootfs: { bytes, name } });
  const preopen = ErofsPreopenDirectory.open(host.ns, '/t', { path: '/' });
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const wasi = new WASI([tool, ...args], [], [new OpenFile(new File([])), new ConsoleStdout((b) => out.push(b.slice())), new ConsoleStdout((b) => err.push(b.slice())), preopen], { debug: false });
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
  let code: number;
  try {
    code = wasi.start(instance as never);
  } finally {
    preopen.dispose();
    host.close();
  }
  const cat = (parts: Uint8Array[]) => {
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return b64(all);
  };
  return { code, stdout: cat(out), stderr: cat(err) };
}

(globalThis as unknown as { harness: unknown }).harness = { manifest, mountWalk, guest, ready: true };
