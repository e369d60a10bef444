/**
 * The browser side of tests/browser-range.test.ts: images read over HTTP Range requests by
 * RangeSource (openRangeSourceWeb), bundled for the browser and run in headless Chromium.
 * The same bundle is the page's script and its Web Worker's:
 *
 *  - in a page, `window.rangeHarness` offers walk(url, devices) on the page's own thread
 *    and inWorker(url, devices) in a Web Worker started from this script;
 *  - in a worker, it answers { url, devices } messages with walk's result.
 *
 * walk() mounts the image as the root of the portable HostController ({ url }: the
 * portableOpener, hence openRangeSourceWeb: a fetch worker over SharedArrayBuffer with
 * Atomics.wait in a cross-origin isolated context, synchronous XMLHttpRequest without),
 * walks it with a Task (newfstatat, readlinkat, getdents64, read, the xattr calls) and
 * returns manifest records, getdents-order listings, the source's counters and which
 * channel it used, for the test to compare with the kernel's manifest.
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, type RangeSource } from '@erofs-js/erofs';
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, parseDirents } from '@erofs-js/vfs';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, HostController, type Task } from '@erofs-js/mount';

type Rec = Record<string, unknown>;

export interface WalkResult {
  recs: Rec[];
  dirs: Rec[];
  /** 'shared': the Web Worker fetch channel over SharedArrayBuffer; 'xhr': synchronous XMLHttpRequest; 'whole': read whole at open. */
  channel: string;
  stats: Record<string, number>;
  env: { isolated: boolean; sab: boolean; worker: boolean };
}

const TYPES: Record<number, string> = { [S_IFREG]: 'file', [S_IFDIR]: 'dir', [S_IFLNK]: 'symlink', [S_IFCHR]: 'chardev', [S_IFBLK]: 'blockdev', [S_IFIFO]: 'fifo', [S_IFSOCK]: 'socket' };
const strict = new TextDecoder('utf-8', { fatal: true });
const isDot = (n: Uint8Array) => n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));

function b64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** `key` as text when the bytes are UTF-8, else `key_b64`, as the manifests write names. */
function named(rec: Rec, key: string, raw: Uint8Array): void {
  try {
    rec[key] = strict.decode(raw);
  } catch {
    rec[key + '_b64'] = b64(raw);
  }
}

function order(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function child(dir: Uint8Array, name: Uint8Array): Uint8Array {
  const base = dir.length === 1 ? 0 : dir.length;
  const out = new Uint8Array(base + 1 + name.length);
  out.set(dir.subarray(0, base));
  out[base] = 0x2f;
  out.set(name, base + 1);
  return out;
}

async function sha256(b: Uint8Array): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
}

function contents(task: Task, path: Uint8Array, size: number): Uint8Array {
  const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW);
  try {
    const out = new Uint8Array(size + 1);
    let n = 0;
    for (let got; (got = task.read(fd, out.subarray(n, Math.min(out.length, n + 65536)))) > 0; ) n += got;
    if (n !== size) throw new Error(`read ${n} of ${size} bytes`);
    return out.subarray(0, n);
  } finally {
    task.close(fd);
  }
}

function xattrs(task: Task, path: Uint8Array): Record<string, string> | undefined {
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
  const out: Record<string, string> = {};
  for (const name of names.sort(order)) {
    const value = new Uint8Array(task.lgetxattr(path, name, null));
    task.lgetxattr(path, name, value);
    out[strict.decode(name)] = b64(value);
  }
  return out;
}

/** Mounts `url` (devices: URLs of its extra devices) as the root and walks it whole. */
async function walk(url: string, devices: string[]): Promise<WalkResult> {
  const host = await HostController.create({ rootfs: { url }, rootfsOptions: { devices: devices.map((d) => ({ url: d })) } });
  const task = host.task();
  const recs: { path: Uint8Array; rec: Rec }[] = [];
  const dirs: Rec[] = [];
  const buf = new Uint8Array(8192);
  const link = new Uint8Array(4096);
  const visit = async (path: Uint8Array): Promise<void> => {
    const st = task.newfstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
    const t = st.mode & S_IFMT;
    const rec: Rec = {};
    named(rec, 'path', path);
    Object.assign(rec, { type: TYPES[t] ?? 'unknown', mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtime, mtime_nsec: st.mtimeNsec, ino: st.ino });
    if (t === S_IFCHR || t === S_IFBLK) rec.rdev = st.rdev;
    if (t === S_IFLNK) named(rec, 'target', link.slice(0, task.readlinkat(AT_FDCWD, path, link)));
    if (t === S_IFREG) rec.sha256 = await sha256(contents(task, path, st.size));
    const x = xattrs(task, path);
    if (x) rec.xattrs = x;
    recs.push({ path, rec });
    if (t !== S_IFDIR) return;
    const fd = task.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    const names: Uint8Array[] = [];
    try {
      for (let n; (n = task.getdents64(fd, buf)) > 0; ) for (const d of parseDirents(buf, n)) if (!isDot(d.name)) names.push(d.name.slice());
    } finally {
      task.close(fd);
    }
    const dir: Rec = {};
    named(dir, 'path', path);
    try {
      dir.entries = names.map((n) => strict.decode(n));
    } catch {
      dir.entries_b64 = names.map(b64);
    }
    dirs.push(dir);
    for (const name of names) await visit(child(path, name));
  };
  try {
    await visit(new Uint8Array([0x2f]));
    // The root mount's source, for its counters and its channel (test-only poking).
    const src = (host.ns.rootLocation.mount.fs as unknown as { image: { source: RangeSource } }).image.source;
    const ch = (src as unknown as { channel?: object }).channel;
    return {
      recs: recs.sort((a, b) => order(a.path, b.path)).map((r) => r.rec),
      dirs,
      channel: src.isWhole ? 'whole' : ch && 'ctrl' in ch ? 'shared' : 'xhr',
      stats: { ...src.stats, size: src.size },
      env: { isolated: globalThis.crossOriginIsolated === true, sab: typeof SharedArrayBuffer === 'function', worker: typeof document === 'undefined' },
    };
  } finally {
    task.exit();
    host.close();
  }
}

const inWorkerScope = typeof document === 'undefined';

if (inWorkerScope) {
  // A Web Worker started by the page below: one walk per message.
  self.onmessage = async (e: MessageEvent<{ url: string; devices: string[] }>) => {
    try {
      self.postMessage({ ok: await walk(e.data.url, e.data.devices) });
    } catch (err) {
      self.postMessage({ error: String((err as Error)?.stack ?? err) });
    }
  };
} else {
  const script = new URL(import.meta.url);
  const inWorker = (url: string, devices: string[]) =>
    new Promise<WalkResult>((resolve, reject) => {
      const w = new Worker(script, { type: 'module' });
      w.onmessage = (e) => {
        w.terminate();
        if (e.data.error) reject(new Error(e.data.error));
        else resolve(e.data.ok);
      };
      w.onerror = (e) => {
        w.terminate();
        reject(new Error(`worker: ${e.message}`));
      };
      w.postMessage({ url, devices });
    });
  (globalThis as unknown as { rangeHarness: unknown }).rangeHarness = { walk, inWorker, ready: true };
}
