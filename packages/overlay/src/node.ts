/**
 * Overlay nodes (dentries) and the bounded cache of unreferenced ones.
 *
 * An OvlNode is one name of the merged tree: what Linux keeps in an overlay dentry and
 * its ovl_entry. It holds a reference on each real node it stands for: its upper node
 * (a TmpNode of the upper tmpfs) and its lower stack (nodes of the lower layers, top
 * first: for a directory every layer's directory merged under the name, for anything
 * else the one lower object, kept after copy-up too). It also keeps what lookup learnt:
 * whether the upper directory is opaque, and for a copied-up non-directory the layer and
 * inode number its origin handle names (st_ino stays the lower one).
 *
 * Lifetimes, as vfs/dentry.ts: `refs` counts holders outside the tree plus attached
 * children (each child holds one reference on its parent). A node whose count drops to
 * zero is parked in its overlay's LRU list, which keeps at most `capacity` nodes and
 * evicts from the tail: the node leaves its parent's children and gives its real nodes
 * back. A node that is unlinked or renamed over is detached (`parent` reads null) and
 * lives until its last holder lets go. Misused counts throw.
 */
import { S_IFDIR, S_IFMT } from '@erofs-js/erofs';
import type { FsNode } from '@erofs-js/vfs';
import type { TmpNode } from '@erofs-js/tmpfs';
import type { Overlay } from './overlay.js';
import type { DirCache } from './readdir.js';

/** One lower object of a node: the layer (index into Overlay.layers, top first) and the real node, held. */
export interface LowerEntry {
  readonly layer: number;
  readonly node: FsNode;
  /**
   * Directories above the bottom of a merged stack: the names the layer's directory holds,
   * read once when it is small (a layer never changes), so that the lookups that miss in
   * it, most of them, cost a Set lookup (Overlay.lowerLookup).
   */
  names?: Set<string> | null;
}

/** Where a copied-up non-directory came from: st_dev and st_ino stay the origin's. */
export interface OriginRef {
  readonly layer: number;
  readonly ino: number;
}

export class OvlNode implements FsNode {
  refs = 0;
  /**
   * Children looked up so far, by keyHash() of their names, names of one hash chained
   * through `hashNext` (one map serves key lookups and the walker's byte fast path,
   * Overlay.lookupBytes).
   */
  children: Map<number, OvlNode> | null = null;
  /** The next child of the same name hash. */
  hashNext: OvlNode | null = null;
  /** keyHash(key), while attached. */
  hash = 0;
  /** Directories: st_ino, once given (Overlay.dirIno). */
  dirIno = 0;
  /** In its parent's children (false once unlinked or renamed over, and for O_TMPFILE nodes). */
  attached = false;
  /** Holds a reference on `dirNode` (attached, or detached and alive: ".." must stay valid). */
  holdsParent = false;
  /** Given back to the layers (evicted, or released with the filesystem). */
  dead = false;
  /** @internal LRU links, valid while parked. */
  prev: OvlNode | null = null;
  /** @internal */
  next: OvlNode | null = null;
  parked = false;
  /** The upper directory carries trusted.overlay.opaque = "y" (nothing below it shows). */
  opaque = false;
  /** Directories: bumped when an entry is made, removed or renamed through the overlay (readdir caches check it). */
  version = 0;
  /** Directories: the merged listing open descriptions share while the version holds. */
  cache: DirCache | null = null;
  /** The type bits: they never change for a node. */
  readonly type: number;
  /**
   * @internal What the overlay remembers of the top lower object (it never changes), read
   * once: its owner and st_ino (lowerIno 0: not read yet), and for a directory whether it
   * is listed through itself (lowerReal: 0 unknown, 1 yes, 2 no).
   */
  lowerUid = 0;
  lowerGid = 0;
  lowerIno = 0;
  lowerReal = 0;

  constructor(
    readonly fs: Overlay,
    /** The parent directory; kept after detaching, for "..". */
    public dirNode: OvlNode | null,
    public key: string,
    public upper: TmpNode | null,
    public lowers: LowerEntry[],
    public origin: OriginRef | null,
  ) {
    this.type = (upper ? upper.mode : lowers[0].node.mode) & S_IFMT;
  }

  get parent(): OvlNode | null {
    return this.attached ? this.dirNode : null;
  }

  /** st_mode of the object the node shows (the upper one once copied up). */
  get mode(): number {
    return this.upper ? this.upper.mode : this.lowers[0].node.mode;
  }

  get isDir(): boolean {
    return this.type === S_IFDIR;
  }

  /** A directory merged from more than one layer (Linux's OVL_TYPE_MERGE): st_nlink reads 1. */
  get isMerge(): boolean {
    return (this.upper !== null && this.lowers.length > 0) || this.lowers.length > 1;
  }

  incRef(): void {
    if (this.dead) throw new Error(`overlay node "${this.key}" used after it was evicted`);
    if (this.refs++ === 0 && this.parked) this.fs.nodes.unpark(this);
  }

  decRef(): void {
    if (this.refs <= 0 || this.dead) throw new Error(`overlay node "${this.key}" released more times than referenced`);
    if (--this.refs === 0) {
      if (this.attached) this.fs.nodes.park(this);
      else this.fs.nodes.drop(this);
    }
  }

  /** The attached child named `key`, if cached. */
  child(key: string): OvlNode | undefined {
    if (this.children === null) return undefined;
    for (let c: OvlNode | null | undefined = this.children.get(keyHash(key)); c; c = c.hashNext) if (c.key === key) return c;
    return undefined;
  }

  /** The attached child named by the bytes buf[start..end), if cached. */
  childBytes(buf: Uint8Array, start: number, end: number): OvlNode | undefined {
    if (this.children === null) return undefined;
    for (let c: OvlNode | null | undefined = this.children.get(nameHash(buf, start, end)); c; c = c.hashNext) if (keyEquals(c.key, buf, start, end)) return c;
    return undefined;
  }
}

/** A 30-bit FNV-1a hash of the name bytes buf[start..end) (as vfs's dentry cache hashes names). */
export function nameHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h & 0x3fffffff;
}

/** nameHash() of the bytes a latin1 key stands for. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** Whether `key` stands for the bytes buf[start..end). */
export function keyEquals(key: string, buf: Uint8Array, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** Puts `n` into `parent`'s children under `key`. */
function addChild(parent: OvlNode, key: string, n: OvlNode): void {
  n.key = key;
  n.hash = keyHash(key);
  const map = (parent.children ??= new Map());
  const first = map.get(n.hash);
  n.hashNext = first ?? null;
  map.set(n.hash, n);
}

/** Takes `n` out of `parent`'s children. */
function removeChild(parent: OvlNode, n: OvlNode): void {
  const map = parent.children!;
  const first = map.get(n.hash)!;
  if (first === n) {
    if (n.hashNext) map.set(n.hash, n.hashNext);
    else {
      map.delete(n.hash);
      if (map.size === 0) parent.children = null;
    }
  } else {
    let c = first;
    while (c.hashNext !== n) c = c.hashNext!;
    c.hashNext = n.hashNext;
  }
  n.hashNext = null;
}

/** The LRU list of unreferenced overlay nodes and the bookkeeping of attaching and detaching. */
export class NodeCache {
  /** Nodes alive (attached or held). */
  live = 0;
  /** Parked (unreferenced, cached) nodes. */
  size = 0;
  evictions = 0;
  private head: OvlNode | null = null;
  private tail: OvlNode | null = null;
  private trimming = false;

  constructor(
    readonly capacity: number,
    /** Gives a node's real nodes back. */
    private readonly onEvict: (n: OvlNode) => void,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) throw new RangeError(`node cache size ${capacity} is not a non-negative integer`);
  }

  /** Makes `n` the child `key` of `parent` (which gains a reference); `n` is unreferenced and not parked: its holder parks it. */
  attach(parent: OvlNode, key: string, n: OvlNode): void {
    n.dirNode = parent;
    n.attached = true;
    addChild(parent, key, n);
    parent.incRef();
    n.holdsParent = true;
  }

  /** Counts a new node. */
  born(): void {
    this.live++;
  }

  /**
   * Takes `n` out of its parent's children (an unlink, a rename over it): it keeps its
   * parent for ".." and lives while held; unreferenced, it is dropped now.
   */
  detach(n: OvlNode): void {
    if (!n.attached) return;
    const p = n.dirNode!;
    removeChild(p, n);
    n.attached = false;
    if (n.refs === 0) {
      if (n.parked) this.unpark(n);
      this.drop(n);
    }
  }

  /** Moves an attached node to `key` under `parent` (a rename over nothing or over a detached node). */
  move(n: OvlNode, parent: OvlNode, key: string): void {
    const old = n.dirNode!;
    removeChild(old, n);
    n.dirNode = parent;
    addChild(parent, key, n);
    parent.incRef();
    old.decRef();
  }

  /** Two attached nodes trade places (RENAME_EXCHANGE). */
  exchange(a: OvlNode, b: OvlNode): void {
    const pa = a.dirNode!;
    const pb = b.dirNode!;
    const ka = a.key;
    const kb = b.key;
    removeChild(pa, a);
    removeChild(pb, b);
    a.dirNode = pb;
    b.dirNode = pa;
    addChild(pb, kb, a);
    addChild(pa, ka, b);
  }

  /** @internal An unreferenced node: parked at the head, then the tail trimmed. */
  park(n: OvlNode): void {
    n.parked = true;
    n.prev = null;
    n.next = this.head;
    if (this.head) this.head.prev = n;
    this.head = n;
    if (!this.tail) this.tail = n;
    this.size++;
    this.trim(this.capacity);
  }

  /** @internal */
  unpark(n: OvlNode): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = null;
    n.parked = false;
    this.size--;
  }

  /** @internal A detached node nobody holds: its real nodes go back now. */
  drop(n: OvlNode): void {
    if (n.dead) return;
    n.dead = true;
    this.live--;
    this.onEvict(n);
    if (n.holdsParent) {
      n.holdsParent = false;
      n.dirNode!.decRef();
    }
  }

  /** Evicts from the tail until at most `limit` nodes are parked (a child's eviction may park its parent). */
  trim(limit: number): void {
    if (this.trimming) return;
    this.trimming = true;
    try {
      while (this.size > limit && this.tail) {
        const n = this.tail;
        this.unpark(n);
        const p = n.attached ? n.dirNode : null;
        if (p) {
          removeChild(p, n);
          n.attached = false;
        }
        this.evictions++;
        this.drop(n);
      }
    } finally {
      this.trimming = false;
    }
  }
}
