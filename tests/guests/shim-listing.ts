/**
 * What tests/guests/walk.rb must print for a fixture image, built from the kernel's
 * manifest and getdents listing of that image: the kernel is the truth the guest's output
 * is held to, for trees the reference runtime (Node's WASI) cannot walk.
 *
 * Two facts of the WASI path are part of the expectation, not of the image: a fifo is a
 * "socket" to the guest (WASI has no fifo type; the adapter reports a stream socket as
 * uvwasi does), and a time before 1970 reaches the guest as WASI's u64 nanoseconds taken
 * modulo 2^64, which wasi-libc divides into seconds unsigned.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ManifestRecord } from '../../packages/cli/src/manifest.js';

const FTYPE: Record<string, string> = {
  file: 'file',
  dir: 'directory',
  symlink: 'link',
  chardev: 'characterSpecial',
  blockdev: 'blockSpecial',
  fifo: 'socket',
  socket: 'socket',
};

function jsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
}

/** Seconds as the guest's Time#to_i sees them after the u64 nanosecond round trip. */
function guestSeconds(sec: number, nsec: number): bigint {
  return BigInt.asUintN(64, BigInt(sec) * 1_000_000_000n + BigInt(nsec)) / 1_000_000_000n;
}

/** Ruby sorts strings by their bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The walker's output for `image` (a path under fixtures/), given the directories (relative
 * to the root) it is told to skip. Names must be UTF-8 outside the skipped directories.
 */
export function kernelListing(fixtures: string, image: string, skip: readonly string[]): string {
  const manifest = jsonl<ManifestRecord>(fixtures + image.replace('.erofs', '.manifest.jsonl'));
  const byPath = new Map<string, ManifestRecord>();
  for (const e of manifest) if (e.path !== undefined) byPath.set(e.path, e);
  const children = new Map<string, string[]>();
  for (const d of jsonl<{ path?: string; entries?: string[] }>(fixtures + image.replace('.erofs', '.readdir.jsonl'))) {
    if (d.path !== undefined && d.entries !== undefined) children.set(d.path, d.entries);
  }
  const out: string[] = [];
  const all: string[] = [];
  const stack = ['.'];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const e = byPath.get(rel === '.' ? '/' : '/' + rel);
    if (!e) throw new Error(`${image}: no manifest record for ${rel}`);
    if (rel !== '.') all.push(rel);
    const fields: (string | number | bigint)[] = [rel, FTYPE[e.type], e.type === 'dir' ? '-' : e.size, e.nlink, guestSeconds(e.mtime, e.mtime_nsec)];
    if (e.type === 'file') fields.push(e.sha256!);
    else if (e.type === 'symlink') fields.push(e.target!);
    else if (e.type === 'dir') {
      if (skip.includes(rel)) fields.push('(skipped)');
      else {
        const kids = [...children.get(e.path!)!].sort(byBytes);
        fields.push(kids.length);
        for (const k of [...kids].reverse()) stack.push(rel === '.' ? k : `${rel}/${k}`);
      }
    }
    out.push(fields.join(' '));
  }
  const globbed = all.sort(byBytes);
  out.push(`glob ${globbed.length} ${createHash('sha256').update(globbed.join('\n')).digest('hex')}`);
  return out.join('\n');
}
