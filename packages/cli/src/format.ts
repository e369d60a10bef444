import { S_IFMT, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } from '@erofs-js/erofs';

/** ls-style mode string, e.g. "drwxr-xr-x" or "-rwsr-sr-t". */
export function modeString(mode: number): string {
  const t = mode & S_IFMT;
  const c = t === S_IFDIR ? 'd' : t === S_IFLNK ? 'l' : t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : t === S_IFSOCK ? 's' : '-';
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return (
    c +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** UTC "YYYY-MM-DD HH:MM:SS" for a seconds value (any sign). */
export function timeString(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return String(seconds);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

export function uuidString(u: Uint8Array): string {
  const h = Buffer.from(u).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** "12.3/40.0 MiB": a Progress count in bytes. */
export function mib(done: number, total: number): string {
  return `${(done / 2 ** 20).toFixed(1)}/${(total / 2 ** 20).toFixed(1)} MiB`;
}

/** Where a Progress writes: a TTY stream, in practice process.stderr. */
export interface ProgressStream {
  write(s: string): unknown;
}

/**
 * A one-line progress bar for a TTY, for work that may take a while: nothing is drawn
 * during the first second (`delayMs`), so a quick run prints nothing; then the line is
 * redrawn at most ten times a second, and end() erases it.
 */
export class Progress {
  private readonly start: number;
  private last = 0;
  private drawn = false;
  constructor(
    private readonly out: ProgressStream,
    private readonly label: string,
    private readonly count: (done: number, total: number) => string = (d, t) => `${d}/${t}`,
    private readonly delayMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  update(done: number, total: number): void {
    const now = this.now();
    if (now - this.start < this.delayMs) return;
    if (now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const fill = Math.round(frac * width);
    this.out.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${this.count(done, total)}\x1b[K`);
    this.drawn = true;
  }

  /** Erases the line, if one was drawn. */
  end(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
