/**
 * Test helpers (not part of the build): layers built in memory with @erofs-js/mkfs, an
 * overlay over them, and small readers through the filesystem contract.
 */
import { Image, MemorySource } from '@erofs-js/erofs';
import { buildImage, type DirNode } from '@erofs-js/mkfs';
import { Filesystem, O_DIRECTORY, O_RDONLY, ROOT, nameKey, parseDirents, type AnyFilesystem, type Credentials, type FsNode } from '@erofs-js/vfs';
import { Tmpfs, type TmpfsOptions } from '@erofs-js/tmpfs';
import { erofsLayer, type OverlayLayer } from './layer.js';
import { Overlay, type OverlayOptions } from './overlay.js';
import type { OvlNode } from './node.js';

export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const b = (s: string) => enc.encode(s);

/** An EROFS layer of `tree`, with UUID bytes all `id`. */
export function layer(tree: DirNode, id = 1): OverlayLayer {
  const uuid = new Uint8Array(16).fill(id);
  return erofsLayer(new Filesystem(new Image(new MemorySource(buildImage(tree, { uuid })))), `L${id}`);
}

/** An overlay of `trees` (lowest first) under a fresh tmpfs. */
export function overlay(trees: DirNode[], upper: TmpfsOptions = {}, options: Partial<OverlayOptions> = {}): Overlay {
  const lowers = trees.map((t, i) => layer(t, i + 1)).reverse();
  return new Overlay({ lowers, upper: new Tmpfs(upper), ...options });
}

/** The node at a slash-separated path, held. */
export function walk(fs: AnyFilesystem, path: string, creds: Credentials = ROOT): FsNode {
  let n: FsNode = fs.root;
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

/** Runs `f` on the node at `path` and releases it. */
export function at<T>(ov: Overlay, path: string, f: (n: OvlNode) => T, creds: Credentials = ROOT): T {
  const n = walk(ov, path, creds) as OvlNode;
  try {
    return f(n);
  } finally {
    n.decRef();
  }
}

/** The names of a directory in getdents64 order ("." and ".." left out). */
export function list(fs: AnyFilesystem, n: FsNode): string[] {
  const f = fs.open(n, O_RDONLY | O_DIRECTORY, ROOT);
  const out: string[] = [];
  try {
    const buf = new Uint8Array(1 << 16);
    let k: number;
    while ((k = f.getdents64(buf)) > 0) for (const d of parseDirents(buf, k)) out.push(nameKey(d.name));
  } finally {
    f.close();
  }
  return out.filter((x) => x !== '.' && x !== '..');
}

/** A file's whole content. */
export function read(fs: AnyFilesystem, n: FsNode): string {
  const f = fs.open(n, O_RDONLY, ROOT);
  try {
    const buf = new Uint8Array(1 << 20);
    return dec.decode(buf.subarray(0, f.read(buf)));
  } finally {
    f.close();
  }
}

/** The errno code a call throws. */
export function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return undefined;
}
