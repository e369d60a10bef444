/**
 * A directory of fetched blocks that outlives the process: a RangeSource's second tier
 * (RangeSourceOptions.blockStore), under its byte-bounded memory cache. Node-only.
 *
 * Layout: one folder per object version, named by a SHA-256 of the URL as printed
 * (displayUrl: no query, no credentials, so presigned URLs of one object share it), the
 * pinned identity (ETag or Last-Modified, size) and the block size; in it `meta.json`
 * (those same fields, checked on open) and one file per block, `<index>.blk`, written to a
 * temporary name and renamed, so a reader never sees half a block.
 *
 * - Identity: a source only ever looks in the folder of the identity it pinned when it
 *   opened (the object's ETag, else Last-Modified, and size), so a changed object finds
 *   nothing of its old version; a folder whose meta.json names another URL or identity
 *   than its name says is refused and removed. A source with no validator at all
 *   (allowUnpinned) gets no disk cache: nothing would tell versions apart.
 * - Bound: at most `maxBytes` of block files in the directory, least recently used
 *   evicted first (the order is rebuilt from the files' times when the cache is opened,
 *   and kept in memory after). One process per directory.
 * - A block file of the wrong length is dropped as corrupt and fetched again; a folder
 *   that cannot be written leaves the source without a disk tier (it still reads).
 * - Access: a source opens by asking the server (its probe request carries the caller's
 *   headers) before it reads anything, so a caller the server refuses never reads blocks
 *   another caller's session left here.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rename, renameSync, rmSync, statSync, unlink, unlinkSync, writeFile, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayUrl, type BlockStore } from './range-source.js';
import type { RemoteIdentity } from './range-protocol.js';

export interface DiskCacheOptions {
  /** Most bytes of block files kept (default 1 GiB). */
  maxBytes?: number;
}

export interface DiskCacheStats {
  /** Bytes and block files in the directory now. */
  bytes: number;
  files: number;
  hits: number;
  misses: number;
  writes: number;
  evictions: number;
  /** Folders refused (meta.json naming another object) and block files of the wrong length. */
  refused: number;
}

interface Entry {
  path: string;
  size: number;
}

let tmpSeq = 0;

export class DiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly stats: DiskCacheStats = { bytes: 0, files: 0, hits: 0, misses: 0, writes: 0, evictions: 0, refused: 0 };
  /** Every block file, least recently used first (Map order: re-inserted on use). */
  private readonly lru = new Map<string, Entry>();

  constructor(dir: string, options: DiskCacheOptions = {}) {
    this.dir = dir;
    this.maxBytes = options.maxBytes ?? 1 << 30;
    mkdirSync(dir, { recursive: true });
    const found: (Entry & { time: number })[] = [];
    for (const key of readdirSync(dir)) {
      const folder = join(dir, key);
      let names: string[];
      try {
        names = readdirSync(folder);
      } catch {
        continue;
      }
      for (const n of names) {
        const path = join(folder, n);
        if (n.includes('.tmp')) {
          rmSync(path, { force: true }); // a write cut short by the process ending
          continue;
        }
        if (!n.endsWith('.blk')) continue;
        const st = statSync(path);
        found.push({ path, size: st.size, time: st.mtimeMs });
      }
    }
    found.sort((a, b) => a.time - b.time);
    for (const e of found) this.add({ path: e.path, size: e.size });
    this.evict();
  }

  /**
   * The blocks of one version of the object at `url`; undefined when `identity` has no
   * validator. Refuses (removes) a folder whose meta.json names anything else.
   */
  open(url: string, identity: RemoteIdentity, blockSize: number): BlockStore | undefined {
    const validator = identity.etag !== undefined ? `etag ${identity.etag}` : identity.lastModified !== undefined ? `last-modified ${identity.lastModified}` : undefined;
    if (validator === undefined) return undefined;
    const meta = { url: displayUrl(url), validator, size: identity.size, blockSize };
    const text = JSON.stringify(meta);
    const folder = join(this.dir, createHash('sha256').update(text).digest('hex').slice(0, 32));
    const metaPath = join(folder, 'meta.json');
    let recorded: string | undefined;
    try {
      recorded = readFileSync(metaPath, 'utf8');
    } catch {
      /* a new folder */
    }
    if (recorded !== undefined && recorded !== text) {
      this.stats.refused++;
      this.drop(folder);
      recorded = undefined;
    }
    if (recorded === undefined) {
      // Small, once per object version, and before any block: synchronous. A directory
      // that cannot be written means no disk tier, not a failed open.
      try {
        mkdirSync(folder, { recursive: true });
        const tmp = `${metaPath}.${process.pid}.${++tmpSeq}.tmp`;
        writeFileSync(tmp, text);
        renameSync(tmp, metaPath);
      } catch {
        return undefined;
      }
    }
    const blocks = Math.ceil(identity.size / blockSize);
    const lengthOf = (b: number) => Math.min(blockSize, identity.size - b * blockSize);
    const pathOf = (b: number) => join(folder, `${b}.blk`);
    return {
      has: (b) => this.lru.has(pathOf(b)),
      get: (b) => {
        const path = pathOf(b);
        const e = this.lru.get(path);
        if (!e || !(b >= 0 && b < blocks)) {
          this.stats.misses++;
          return undefined;
        }
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(readFileSync(path));
        } catch {
          this.forget(path);
          this.stats.misses++;
          return undefined;
        }
        if (bytes.length !== lengthOf(b)) {
          this.stats.refused++;
          this.remove(path);
          return undefined;
        }
        this.lru.delete(path);
        this.lru.set(path, e);
        this.stats.hits++;
        return bytes;
      },
      put: (b, bytes) => {
        const path = pathOf(b);
        if (this.lru.has(path) || bytes.length !== lengthOf(b) || bytes.length > this.maxBytes) return;
        // Written off the reader's thread; the entry counts once the file is in place.
        const copy = new Uint8Array(bytes);
        const tmp = `${path}.${process.pid}.${++tmpSeq}.tmp`;
        writeFile(tmp, copy, (err) => {
          if (err) return void unlink(tmp, () => {});
          rename(tmp, path, (err2) => {
            if (err2) return void unlink(tmp, () => {});
            if (this.lru.has(path)) return;
            this.stats.writes++;
            this.add({ path, size: copy.length });
            this.evict();
          });
        });
      },
    };
  }

  private add(e: Entry): void {
    this.lru.set(e.path, e);
    this.stats.bytes += e.size;
    this.stats.files++;
  }

  private forget(path: string): void {
    const e = this.lru.get(path);
    if (!e) return;
    this.lru.delete(path);
    this.stats.bytes -= e.size;
    this.stats.files--;
  }

  private remove(path: string): void {
    this.forget(path);
    try {
      unlinkSync(path);
    } catch {
      /* gone already */
    }
  }

  /** Removes a folder and forgets its blocks. */
  private drop(folder: string): void {
    for (const path of [...this.lru.keys()]) if (path.startsWith(folder + '/')) this.forget(path);
    rmSync(folder, { recursive: true, force: true });
  }

  private evict(): void {
    for (const [path] of this.lru) {
      if (this.stats.bytes <= this.maxBytes) break;
      this.remove(path);
      this.stats.evictions++;
    }
  }
}
