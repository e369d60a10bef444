/** Helpers shared by the tmpfs tests (not exported by the package). */
import { ROOT as VFS_ROOT, SysError, credentials, type Credentials } from '@erofs-js/vfs';
import { expect } from 'vitest';
import type { TmpNode } from './inode.js';
import type { Tmpfs } from './tmpfs.js';

const utf8 = new TextEncoder();
export const b = (s: string): Uint8Array => utf8.encode(s);
export const str = (u: Uint8Array): string => new TextDecoder().decode(u);

/** uid 1000 / gid 1000 without capabilities, and a second user. */
export const USER = credentials(1000, 1000, [1000]);
export const OTHER = credentials(1001, 1001, [1001]);
/** uid 0 with every capability and umask 0, so that setup modes are what the test says. */
export const ROOT: Credentials = { ...VFS_ROOT, umask: 0 };

/** Resolves a relative path from the root (no symlinks), returning the node held. */
export function walk(fs: Tmpfs, path: string, creds: Credentials = ROOT): TmpNode {
  let n = fs.root;
  n.incRef();
  for (const part of path.split('/').filter(Boolean)) {
    try {
      const next = fs.lookup(n, b(part), creds);
      n.decRef();
      n = next;
    } catch (e) {
      n.decRef();
      throw e;
    }
  }
  return n;
}

/** Runs fn with the node at path, released afterwards. */
export function at<T>(fs: Tmpfs, path: string, fn: (n: TmpNode) => T, creds: Credentials = ROOT): T {
  const n = walk(fs, path, creds);
  try {
    return fn(n);
  } finally {
    n.decRef();
  }
}

/** The parent node of path and the last name. */
export function parentOf(fs: Tmpfs, path: string, fn: (dir: TmpNode, name: Uint8Array) => void, creds: Credentials = ROOT): void {
  const i = path.lastIndexOf('/');
  at(fs, i < 0 ? '' : path.slice(0, i), (d) => fn(d, b(path.slice(i + 1))), creds);
}

export function expectErrno(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(SysError);
  expect((err as SysError).code).toBe(code);
}

/** Writes a whole file (created if missing) as `creds`. */
export function writeFile(fs: Tmpfs, path: string, data: Uint8Array | string, creds: Credentials = ROOT, mode = 0o644): void {
  parentOf(
    fs,
    path,
    (dir, name) => {
      let n: TmpNode;
      try {
        n = fs.lookup(dir, name, creds);
      } catch {
        n = fs.create(dir, name, mode, creds);
      }
      try {
        const f = fs.open(n, 0o1 | 0o1000, creds);
        f.write(typeof data === 'string' ? b(data) : data);
        f.close();
      } finally {
        n.decRef();
      }
    },
    creds,
  );
}

export function readFile(fs: Tmpfs, path: string, creds: Credentials = ROOT): Uint8Array {
  return at(
    fs,
    path,
    (n) => {
      const f = fs.open(n, 0, creds);
      const out = new Uint8Array(fs.stat(n).size);
      f.pread(out, 0);
      f.close();
      return out;
    },
    creds,
  );
}

/** A clock tests move by hand. */
export function manualClock(start = 1_700_000_000): { clock: () => { sec: number; nsec: number }; advance: (sec: number) => void } {
  let now = start;
  let tick = 0;
  return {
    clock: () => ({ sec: now, nsec: tick++ }),
    advance: (sec) => {
      now += sec;
    },
  };
}
