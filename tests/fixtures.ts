/** Shared access to the committed fixtures for the test files. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Image, MemorySource, decodeName, splitPath, type ImageOptions, type Inode } from '@erofs-js/erofs';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface FixtureInfo {
  image: string;
  tool: string;
  options: string[];
  truth: 'kernel' | 'source';
  blksz: number;
  devices: string[];
  notes?: string;
}

export function fixtureIndex(): FixtureInfo[] {
  return JSON.parse(readFileSync(FIXTURES + 'index.json', 'utf8'));
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.erofs')).sort();
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + name));
}

export function deviceSources(name: string): MemorySource[] {
  const info = fixtureIndex().find((f) => f.image === name);
  return (info?.devices ?? []).map((d) => new MemorySource(fixtureBytes(d)));
}

export function openFixture(name: string, options: ImageOptions = {}): Image {
  return new Image(new MemorySource(fixtureBytes(name)), { devices: deviceSources(name), ...options });
}

export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/**
 * The inode at `path`, found with the decoder's own calls: from the root, each component
 * looked up with Image.lookup and nothing else. No symlink is followed, anywhere in the
 * path, and "." and ".." are whatever entries the directory stores. Enough for tests that
 * name plain paths, the decoder's own among them (which must not load the VFS): resolving
 * a path with Linux's rules is the VFS walker's job (resolve() in @erofs-js/vfs).
 */
export function nodeAt(image: Image, path: string | Uint8Array): Inode {
  const bytes = typeof path === 'string' ? new TextEncoder().encode(path) : path;
  let inode = image.root();
  for (const name of splitPath(bytes)) {
    const entry = image.lookup(inode, name);
    if (!entry) throw new Error(`nodeAt(${JSON.stringify(decodeName(bytes))}): no entry ${JSON.stringify(decodeName(name))}`);
    inode = image.inode(entry.nid);
  }
  return inode;
}

/**
 * The errno name a call throws (a SysError's or an ErofsError's `code`), or 'OK' when it
 * returns. Anything else thrown (a TypeError, a RangeError) is rethrown: a test must not
 * take a bug for an answer.
 */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const jsBug = e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError;
    if (e instanceof Error && !jsBug && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    throw e;
  }
}
