/**
 * What the workloads run on both sides: a mounted image with a guest task, the guest's
 * walk through the Task syscall surface, and the same walk as a Node program over a host
 * directory. Shared by tools/bench/workloads.ts and its child process (walk-child.ts).
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { Image, type Codec, type PageCache } from '../../packages/erofs/src/index.js';
import { FileSource } from '../../packages/erofs/src/node.js';
import { Filesystem, O_DIRECTORY, O_RDONLY } from '../../packages/vfs/src/index.js';
import { MountNamespace } from '../../packages/mount/src/namespace.js';
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, Task } from '../../packages/mount/src/task.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export interface Mounted {
  task: Task;
  fs: Filesystem;
  close(): void;
}

/** `cache`: a host page cache to take a share of (default: the image's own, of its default size). */
export function mountImage(path: string, codecs?: Partial<Record<number, Codec>>, cache?: PageCache): Mounted {
  const source = new FileSource(path);
  const fs = new Filesystem(new Image(source, { codecs, pageCache: cache }));
  const ns = new MountNamespace({ fs, fstype: 'erofs', source: path, onRelease: () => source.close() });
  const task = new Task(ns);
  return {
    task,
    fs,
    close() {
      task.exit();
      ns.shutdown();
    },
  };
}

export interface WalkCount {
  entries: number;
  files: number;
  bytes: number;
}

/**
 * A guest's `find -type f -exec cat` in one process: directory descriptors and names
 * straight from the getdents64 buffer (no path strings), one buffer per depth.
 */
export function guestWalk(task: Task, read: boolean): WalkCount {
  const bufs: Uint8Array[] = [];
  const data = new Uint8Array(1 << 16);
  const c: WalkCount = { entries: 0, files: 0, bytes: 0 };
  const walkDir = (dirfd: number, depth: number) => {
    const buf = (bufs[depth] ??= new Uint8Array(1 << 15));
    for (let n; (n = task.getdents64(dirfd, buf)) > 0; ) {
      for (let p = 0; p < n; ) {
        const reclen = buf[p + 16] | (buf[p + 17] << 8);
        let end = p + 19;
        while (buf[end] !== 0) end++;
        const name = buf.subarray(p + 19, end);
        p += reclen;
        if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) continue;
        const st = task.newfstatat(dirfd, name, AT_SYMLINK_NOFOLLOW);
        c.entries++;
        const type = st.mode & S_IFMT;
        if (type === S_IFDIR) {
          const fd = task.openat(dirfd, name, O_RDONLY | O_DIRECTORY);
          try {
            walkDir(fd, depth + 1);
          } finally {
            task.close(fd);
          }
        } else if (type === S_IFREG && read) {
          const fd = task.openat(dirfd, name, O_RDONLY);
          try {
            task.fstat(fd);
            c.files++;
            for (let k; (k = task.read(fd, data)) > 0; ) c.bytes += k;
          } finally {
            task.close(fd);
          }
        }
      }
    }
  };
  const root = task.openat(AT_FDCWD, '/', O_RDONLY | O_DIRECTORY);
  try {
    walkDir(root, 0);
  } finally {
    task.close(root);
  }
  return c;
}

/**
 * The walk as most programs make it (find, tar, a shell's globbing): every name by its
 * absolute path from the root: newfstatat(AT_FDCWD, "/usr/share/doc/x/y"), and openat of
 * the same path for directories (to list them) and regular files (to read them), so each
 * call resolves the whole path again. Paths are built as bytes, as a guest's libc does.
 */
export function guestWalkAbs(task: Task, read: boolean): WalkCount {
  const bufs: Uint8Array[] = [];
  const data = new Uint8Array(1 << 16);
  const c: WalkCount = { entries: 0, files: 0, bytes: 0 };
  const path = new Uint8Array(4096);
  const walkDir = (len: number, depth: number) => {
    const buf = (bufs[depth] ??= new Uint8Array(1 << 15));
    const dirfd = task.openat(AT_FDCWD, path.subarray(0, Math.max(len, 1)), O_RDONLY | O_DIRECTORY);
    try {
      for (let n; (n = task.getdents64(dirfd, buf)) > 0; ) {
        for (let p = 0; p < n; ) {
          const reclen = buf[p + 16] | (buf[p + 17] << 8);
          let end = p + 19;
          while (buf[end] !== 0) end++;
          const name = buf.subarray(p + 19, end);
          p += reclen;
          if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) continue;
          path[len] = 0x2f;
          path.set(name, len + 1);
          const plen = len + 1 + name.length;
          const full = path.subarray(0, plen);
          const st = task.newfstatat(AT_FDCWD, full, AT_SYMLINK_NOFOLLOW);
          c.entries++;
          const type = st.mode & S_IFMT;
          if (type === S_IFDIR) walkDir(plen, depth + 1);
          else if (type === S_IFREG && read) {
            const fd = task.openat(AT_FDCWD, full, O_RDONLY);
            try {
              task.fstat(fd);
              c.files++;
              for (let k; (k = task.read(fd, data)) > 0; ) c.bytes += k;
            } finally {
              task.close(fd);
            }
          }
        }
      }
    } finally {
      task.close(dirfd);
    }
  };
  path[0] = 0x2f;
  walkDir(0, 0);
  return c;
}

/** The same walk as a Node program over a host directory (unpacked tree or kernel mount). */
export function hostWalk(dir: string, read: boolean): WalkCount {
  const data = new Uint8Array(1 << 16);
  const c: WalkCount = { entries: 0, files: 0, bytes: 0 };
  const walkDir = (p: string) => {
    for (const name of readdirSync(p)) {
      const q = p + '/' + name;
      const st = lstatSync(q);
      c.entries++;
      if (st.isDirectory()) walkDir(q);
      else if (st.isFile() && read) {
        const fd = openSync(q, 'r');
        try {
          fstatSync(fd);
          c.files++;
          for (let k; (k = readSync(fd, data, 0, data.length, null)) > 0; ) c.bytes += k;
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  walkDir(dir);
  return c;
}


/**
 * Lookups as a guest makes them: newfstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW) on each
 * byte path; returns how many existed (misses are ENOENT/ENOTDIR).
 */
export function guestLookups(task: Task, list: Uint8Array[]): number {
  let ok = 0;
  for (const p of list) {
    try {
      task.newfstatat(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW);
      ok++;
    } catch {
      // ENOENT / ENOTDIR
    }
  }
  return ok;
}

/**
 * Peak RSS in KiB: VmHWM of this process's memory map. process.resourceUsage().maxRSS would
 * not do: Linux carries ru_maxrss across fork and exec, so a child reports at least its
 * parent's peak.
 */
export function peakKiB(): number {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}
