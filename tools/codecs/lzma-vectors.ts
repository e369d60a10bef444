/**
 * The deterministic input generator of tools/codecs/lzma-vectors.c, byte for byte, so the
 * LZMA tests and benchmark can rebuild each vector's original instead of committing it.
 * Any change here must be made in the C file too (the tests compare sha256 with its index).
 */

export type Kind = 'zeros' | 'random' | 'runs' | 'text' | 'binary' | 'mixed';
const KINDS: Kind[] = ['zeros', 'random', 'runs', 'text', 'binary', 'mixed'];

const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'as', 'was', 'with', 'be',
  'by', 'on', 'not', 'he', 'this', 'are', 'or', 'his', 'from', 'at', 'which', 'but',
  'have', 'an', 'had', 'they', 'you', 'were', 'their', 'one', 'all', 'we', 'can', 'her',
  'has', 'there', 'been', 'if', 'more', 'when', 'will', 'would', 'who', 'so', 'no',
  'inode', 'block', 'extent', 'cluster', 'superblock', 'directory', 'compressed',
  'filesystem', 'read', 'only', 'kernel', 'mount', 'image', 'xattr', 'symlink', 'device',
].map((w) => new TextEncoder().encode(w));

/** mulberry32, as uint32 arithmetic (Math.imul and `| 0` wrap exactly like C's uint32_t). */
class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

function fill(kind: Kind, rng: Rng, buf: Uint8Array, a: number, b: number): void {
  let i = a;
  switch (kind) {
    case 'zeros':
      buf.fill(0, a, b);
      break;
    case 'random':
      for (; i < b; i++) buf[i] = rng.next() & 0xff;
      break;
    case 'runs':
      while (i < b) {
        const r = rng.next();
        let n = 1 + ((r >>> 8) & 63);
        while (n-- > 0 && i < b) buf[i++] = r & 0xff;
      }
      break;
    case 'text':
      while (i < b) {
        const r = rng.next();
        const w = WORDS[r & 63];
        const start = i;
        for (let k = 0; k < w.length && i < b; k++) buf[i++] = w[k];
        if (((r >>> 9) & 15) === 0 && start < i) buf[start] -= 32;
        if (i < b) buf[i++] = ((r >>> 6) & 7) === 0 ? 0x0a : 0x20;
      }
      break;
    case 'binary': {
      let c = rng.next();
      const rec = new Uint8Array(16);
      while (i < b) {
        const h = Math.imul(c, 2654435761) >>> 0;
        const f = (0x00010000 | (c & 0xff)) >>> 0;
        for (let k = 0; k < 4; k++) {
          rec[k] = c >>> (8 * k);
          rec[4 + k] = h >>> (8 * k);
          rec[8 + k] = rng.next() & 3;
          rec[12 + k] = f >>> (8 * k);
        }
        for (let k = 0; k < 16 && i < b; k++) buf[i++] = rec[k];
        c = (c + 1) >>> 0;
      }
      break;
    }
    case 'mixed':
      while (i < b) {
        const r = rng.next();
        const n = 256 + ((r >>> 8) & 4095);
        const end = Math.min(i + n, b);
        const k = r % 6;
        if (k === 5) {
          if (i === a) {
            fill('text', rng, buf, i, end);
          } else {
            let src = a + (rng.next() % (i - a));
            for (; i < end; i++) buf[i] = buf[src++];
          }
        } else {
          fill(KINDS[k], rng, buf, i, end);
        }
        i = end;
      }
      break;
  }
}

export function generate(kind: Kind, seed: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  fill(kind, new Rng(seed >>> 0), buf, 0, length);
  return buf;
}

/** One entry of fixtures/codecs/lzma/index.json. */
export interface LzmaVector {
  name: string;
  file: string;
  kind: Kind;
  seed: number;
  /** Bytes generated; the stream covers `length` of them starting at `offset`. */
  generatedLength: number;
  offset: number;
  length: number;
  sha256: string;
  compressedLength: number;
  /** Compressed-size limit of an mkfs.erofs-style pcluster fill, 0 for a whole encode. */
  outLimit: number;
  props: number;
  lc: number;
  lp: number;
  pb: number;
  dictSize: number;
  preset: string;
  /** The stream ends with an LZMA end-of-payload marker (made from a .lzma file). */
  endMarker?: boolean;
}
