/** Shared helpers for the mount package's tests (not compiled into dist). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Image, MemorySource } from '@erofs-js/erofs';
import { Filesystem, SysError, parseDirents, O_DIRECTORY, O_RDONLY, type Errno } from '@erofs-js/vfs';
import { expect } from 'vitest';
import { FIRST_ANON_DEV, type MountNamespace, type MountSpec } from '../src/namespace.js';
import { AT_FDCWD, type Task } from '../src/task.js';
import type { ManifestRecord } from '../../cli/src/manifest.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export function fixture(name: string): string {
  return FIXTURES + name;
}

const cache = new Map<string, Uint8Array>();
export function fixtureBytes(name: string): Uint8Array {
  let b = cache.get(name);
  if (!b) cache.set(name, (b = new Uint8Array(readFileSync(FIXTURES + name))));
  return b;
}

/** A mount spec over a fixture held in memory, with a device number from the namespace. */
export function spec(ns: MountNamespace | null, name: string, opts: { dentryCacheSize?: number; onRelease?: () => void } = {}): MountSpec {
  const dev = ns ? ns.allocDev() : FIRST_ANON_DEV;
  const fs = new Filesystem(new Image(new MemorySource(fixtureBytes(name))), { dev, dentryCacheSize: opts.dentryCacheSize });
  return { fs, fstype: 'erofs', source: name, superOptions: 'ro', onRelease: opts.onRelease };
}

/** A manifest line with a text path (the helpers skip the non-UTF-8 ones). */
export type ManifestEntry = ManifestRecord & { path: string };

export function manifest(name: string): ManifestEntry[] {
  return readFileSync(FIXTURES + name.replace(/\.erofs$/, '.manifest.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ManifestEntry)
    .filter((e) => typeof e.path === 'string');
}

/** Names in a directory, via openat + getdents64 ("." and ".." left out). */
export function ls(task: Task, path: string, dirfd = AT_FDCWD): string[] {
  const fd = task.openat(dirfd, path, O_RDONLY | O_DIRECTORY);
  try {
    const buf = new Uint8Array(4096);
    const names: string[] = [];
    let n: number;
    while ((n = task.getdents64(fd, buf)) > 0) {
      for (const d of parseDirents(buf, n)) {
        const name = new TextDecoder().decode(d.name);
        if (name !== '.' && name !== '..') names.push(name);
      }
    }
    return names;
  } finally {
    task.close(fd);
  }
}

/** Whole content of a file. */
export function readAll(task: Task, path: string): Uint8Array {
  const fd = task.open(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    let n: number;
    while ((n = task.read(fd, buf)) > 0) chunks.push(buf.slice(0, n));
    const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  } finally {
    task.close(fd);
  }
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Expects fn to throw a SysError with this errno name. */
export function expectErrno(fn: () => unknown, code: Errno): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(SysError);
  expect((thrown as SysError).code).toBe(code);
}
