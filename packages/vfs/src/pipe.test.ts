/**
 * Pipes and fifos. The expected answers are Linux 6.18.44's, observed with python3 as
 * root on a tmpfs (os.mkfifo, os.open with and without O_NONBLOCK, os.read / os.write /
 * os.lseek / os.pread, select.poll, fcntl F_GETPIPE_SZ, os.pipe2 with O_DIRECT; blocking
 * opens from a second thread).
 */
import { describe, expect, it } from 'vitest';
import { S_IFIFO, splitDev } from '@erofs-js/erofs';
import type { FilesystemImpl, FsNode } from './contract.js';
import { ROOT, credentials } from './credentials.js';
import { SysError } from './errno.js';
import { O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR } from './file.js';
import type { Stat } from './inode.js';
import {
  BrokenPipe, PIPEFS_MAGIC, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, PipeTable, WouldBlock, isSigpipe, isWouldBlock,
  type PipeFile,
} from './pipe.js';

/** Fifo nodes of a stand-in filesystem: stat gives the mode and inode number; references counted. */
function fifoFs() {
  const fs = {
    stat: (n: FsNode & { ino: number }): Stat => ({
      dev: 42, ino: n.ino, mode: n.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0,
      atime: 0, atimeNsec: 0, mtime: 0, mtimeNsec: 0, ctime: 0, ctimeNsec: 0,
    }),
  } as unknown as FilesystemImpl;
  const node = (ino: number) => {
    const n = { fs, parent: null, key: `f${ino}`, mode: S_IFIFO | 0o644, ino, refs: 0, incRef() { n.refs++; }, decRef() { n.refs--; } };
    return n as FsNode & { refs: number; ino: number };
  };
  return { fs, node };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
  return 'ok';
};
/** The WouldBlock a call throws (fails the test if it does not). */
const blocked = (fn: () => unknown): WouldBlock<unknown> => {
  try {
    fn();
  } catch (e) {
    if (isWouldBlock(e)) return e;
    throw e;
  }
  throw new Error('did not block');
};
const bytes = (n: number, v = 0x61) => new Uint8Array(n).fill(v);
const text = (s: string) => new TextEncoder().encode(s);
const str = (f: PipeFile, n = 100) => {
  const b = new Uint8Array(n);
  return new TextDecoder().decode(b.subarray(0, f.read(b)));
};
/** Resolves to true if the promise settles within a few macrotasks. */
const settles = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  return done;
};

function setup() {
  const table = new PipeTable();
  const { node } = fifoFs();
  const f = node(1);
  const open = (flags: number, waiter: object = {}) => table.openFifo(f, flags, waiter);
  /** A reader and a writer that do not block on each other. */
  const pair = () => {
    const r = open(O_RDONLY | O_NONBLOCK);
    const w = open(O_WRONLY | O_NONBLOCK);
    return { r, w };
  };
  return { table, f, node, open, pair };
}

describe('fifo open (fifo_open)', () => {
  it('O_WRONLY|O_NONBLOCK without a reader: ENXIO; O_RDONLY|O_NONBLOCK without a writer: opens, reads EOF', () => {
    const { open, table } = setup();
    expect(code(() => open(O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
    expect(table.size).toBe(0);
    const r = open(O_RDONLY | O_NONBLOCK);
    expect(r.read(new Uint8Array(10))).toBe(0);
    expect(open(O_WRONLY | O_NONBLOCK).isClosed).toBe(false);
  });

  it('access mode 3 and O_DIRECT: EINVAL; O_RDWR never waits and is its own partner', () => {
    const { open } = setup();
    expect(code(() => open(3))).toBe('EINVAL');
    expect(code(() => open(3 | O_NONBLOCK))).toBe('EINVAL');
    expect(code(() => open(O_RDWR | O_DIRECT))).toBe('EINVAL');
    const rw = open(O_RDWR);
    expect(rw.write(text('ab'))).toBe(2);
    expect(str(rw)).toBe('ab');
    rw.flags |= O_NONBLOCK;
    expect(code(() => rw.read(new Uint8Array(10)))).toBe('EAGAIN');
  });

  it('a blocking O_RDONLY waits for a writer; the wait resolves when one opens; retry() returns the description', async () => {
    const { open } = setup();
    const e = blocked(() => open(O_RDONLY));
    expect(e.code).toBe('EAGAIN');
    expect(e.errno).toBe(11);
    expect(await settles(e.wait)).toBe(false);
    const w = open(O_WRONLY); // a reader is waiting: the writer does not block
    expect(await settles(e.wait)).toBe(true);
    const r = e.retry() as PipeFile;
    w.write(text('hi'));
    expect(str(r)).toBe('hi');
  });

  it('a waiting reader already counts: an O_NONBLOCK writer gets in, writes and leaves; the reader then reads the data and EOF', () => {
    const { open } = setup();
    const e = blocked(() => open(O_RDONLY));
    const w = open(O_WRONLY | O_NONBLOCK);
    expect(w.write(text('early'))).toBe(5);
    w.close();
    const r = e.retry() as PipeFile;
    expect(str(r)).toBe('early');
    expect(str(r)).toBe('');
    expect(r.poll()).toBe(POLLHUP);
  });

  it('a blocking O_WRONLY waits for a reader; one that came and went is enough, and the write then gets EPIPE', () => {
    const { open } = setup();
    const e = blocked(() => open(O_WRONLY));
    open(O_RDONLY | O_NONBLOCK).close();
    const w = e.retry() as PipeFile;
    expect(code(() => w.write(text('x')))).toBe('EPIPE');
  });

  it('re-issuing the open with the same waiter takes up the waiting place (no second reader); another waiter gets its own', () => {
    const { open, table } = setup();
    const task = {};
    const e1 = blocked(() => open(O_RDONLY, task));
    const e2 = blocked(() => open(O_RDONLY, task)); // a spurious retry: still waiting
    expect(e2.code).toBe('EAGAIN');
    const other = {};
    blocked(() => open(O_RDONLY, other));
    const w = open(O_WRONLY | O_NONBLOCK);
    const r1 = open(O_RDONLY, task);
    const r2 = open(O_RDONLY, other);
    // Two readers, not three: closing both leaves the writer with no reader.
    r1.close();
    expect(w.write(text('a'))).toBe(1);
    r2.close();
    expect(code(() => w.write(text('a')))).toBe('EPIPE');
    expect(code(() => e1.retry())).toBe('EBADF'); // the place was taken up by the re-issued call
    w.close();
    expect(table.size).toBe(0);
  });

  it('cancel() gives the waiting place up (a signal): a writer then finds no reader; any other open by the waiter does too', () => {
    const { open, table, node } = setup();
    const task = {};
    const e = blocked(() => open(O_RDONLY, task));
    expect(table.size).toBe(1);
    e.cancel();
    expect(table.size).toBe(0);
    expect(code(() => open(O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
    blocked(() => open(O_RDONLY, task));
    // The same task opening another fifo has left the first wait.
    const other = table.openFifo(node(2), O_RDWR, task);
    expect(code(() => open(O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
    other.close();
    expect(table.size).toBe(0);
  });

  it('hard links share the pipe (same filesystem and inode number); a caller key picks the pipe explicitly', () => {
    const table = new PipeTable();
    const { node } = fifoFs();
    const a = node(7);
    const b = node(7); // another name of inode 7
    const w = table.openFifo(a, O_RDWR, {});
    w.write(text('shared'));
    expect(str(table.openFifo(b, O_RDONLY, {}))).toBe('shared');
    expect(code(() => table.openFifo(fifoFs().node(7), O_WRONLY | O_NONBLOCK, {}))).toBe('ENXIO'); // another filesystem
    const key = {};
    const k1 = table.openFifo(node(8), O_RDWR, {}, key);
    k1.write(text('by key'));
    expect(str(table.openFifo(node(9), O_RDONLY, {}, key))).toBe('by key');
  });
});

describe('pipe I/O (pipe_read, pipe_write)', () => {
  it('read of an empty pipe: EAGAIN with O_NONBLOCK; blocking: WouldBlock whose wait resolves on a write', async () => {
    const { pair, open } = setup();
    const { r, w } = pair();
    expect(code(() => r.read(new Uint8Array(10)))).toBe('EAGAIN');
    expect(isWouldBlock((() => { try { r.read(new Uint8Array(1)); } catch (e) { return e; } })())).toBe(false);
    const br = open(O_RDONLY);
    const e = blocked(() => br.read(new Uint8Array(10)));
    expect(e.done).toBe(0);
    expect(await settles(e.wait)).toBe(false);
    w.write(text('hello'));
    expect(await settles(e.wait)).toBe(true);
    const dest = new Uint8Array(3);
    expect(br.read(dest)).toBe(3); // a read takes what is there, up to the request
    expect(e.retry()).toBe(2);
  });

  it('read and write of 0 bytes return 0 at once, even with no reader (no SIGPIPE)', () => {
    const { open } = setup();
    const r = open(O_RDONLY | O_NONBLOCK);
    const w = open(O_WRONLY | O_NONBLOCK);
    expect(r.read(new Uint8Array(0))).toBe(0);
    r.close();
    expect(w.write(new Uint8Array(0))).toBe(0);
    expect(w.writev([])).toBe(0);
  });

  it('EOF after the last writer closes, once the data is read; the data goes when every opener has closed', () => {
    const { pair, open, table } = setup();
    const { r, w } = pair();
    const w2 = open(O_WRONLY | O_NONBLOCK);
    w.write(text('tail'));
    w.close();
    expect(str(r, 1)).toBe('t'); // one writer is left
    w2.close();
    expect(str(r)).toBe('ail');
    expect(str(r)).toBe('');
    expect(r.poll()).toBe(POLLHUP);
    const w3 = open(O_WRONLY | O_NONBLOCK);
    w3.write(text('lost'));
    w3.close();
    r.close();
    expect(table.size).toBe(0);
    expect(str(open(O_RDONLY | O_NONBLOCK))).toBe('');
  });

  it('write with no reader: EPIPE, a BrokenPipe flagged for SIGPIPE', () => {
    const { pair } = setup();
    const { r, w } = pair();
    r.close();
    let err: unknown;
    try {
      w.write(text('x'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BrokenPipe);
    expect(isSigpipe(err)).toBe(true);
    expect(err).toMatchObject({ code: 'EPIPE', errno: 32, sigpipe: true, done: 0 });
    expect(w.poll()).toBe(POLLOUT | POLLWRNORM | POLLERR);
  });

  it('capacity: 65536 one-byte writes; one byte read frees no slot (EAGAIN); a slot freed takes 4096', () => {
    const { pair } = setup();
    const { r, w } = pair();
    expect(w.pipeSize()).toBe(65536);
    let n = 0;
    while (code(() => (n += w.write(bytes(1)))) === 'ok');
    expect(n).toBe(65536);
    expect(w.poll() & POLLOUT).toBe(0);
    expect(r.read(new Uint8Array(1))).toBe(1);
    expect(code(() => w.write(bytes(1)))).toBe('EAGAIN');
    expect(r.read(new Uint8Array(4095))).toBe(4095);
    expect(w.poll() & POLLOUT).toBe(POLLOUT);
    expect(w.write(bytes(4096))).toBe(4096);
    expect(r.bytesAvailable()).toBe(65536);
    expect(r.read(new Uint8Array(1 << 20))).toBe(65536);
  });

  it('slots, not bytes: alternating 1- and 4096-byte writes fill the pipe at 32776 bytes', () => {
    const { pair } = setup();
    const { w } = pair();
    let total = 0;
    for (;;) {
      if (code(() => (total += w.write(bytes(1)))) !== 'ok') break;
      if (code(() => (total += w.write(bytes(4096)))) !== 'ok') break;
    }
    expect(total).toBe(32776);
  });

  it('partial writes of more than PIPE_BUF with O_NONBLOCK, byte counts as Linux gives them', () => {
    const { pair } = setup();
    const { r, w } = pair();
    const drain = () => r.read(new Uint8Array(1 << 20));
    w.write(bytes(4096 * 14 + 10)); // 15 slots, the last holding 10 bytes
    expect(w.write(bytes(4096))).toBe(4096);
    expect(code(() => w.write(bytes(10)))).toBe('EAGAIN');
    expect(drain()).toBe(61450);
    w.write(bytes(4096 * 14 + 10));
    expect(w.write(bytes(5000))).toBe(5000); // 904 merged into the last slot, 4096 in the free one
    expect(drain()).toBe(62354);
    w.write(bytes(4096 * 15));
    expect(w.write(bytes(4097))).toBe(4096); // one free slot
    expect(drain()).toBe(65536);
    w.write(bytes(4096 * 15 + 10)); // 16 slots, room in the last
    expect(w.write(bytes(100))).toBe(100);
    expect(w.write(bytes(3986))).toBe(3986);
    expect(code(() => w.write(bytes(1)))).toBe('EAGAIN');
    expect(drain()).toBe(65536);
    w.write(bytes(4096 * 15 + 10));
    expect(w.write(bytes(8197))).toBe(5); // only the tail's 5 bytes fit
    expect(drain()).toBe(61455);
  });

  it('PIPE_BUF atomicity: a write of at most 4096 bytes goes in whole or not at all', () => {
    const { pair, open } = setup();
    const { r, w } = pair();
    w.write(bytes(4096 * 15 + 4000)); // 16 slots; 96 bytes of room in the last
    expect(code(() => w.write(bytes(97)))).toBe('EAGAIN');
    expect(code(() => w.write(bytes(4096)))).toBe('EAGAIN');
    expect(w.write(bytes(96))).toBe(96);
    const bw = open(O_WRONLY);
    const e = blocked(() => bw.write(bytes(4096, 0x62)));
    expect(e.done).toBe(0); // nothing went in
    expect(r.bytesAvailable()).toBe(65536);
    r.read(new Uint8Array(4096));
    expect(e.retry()).toBe(4096);
    r.read(new Uint8Array(65536 - 4096));
    const last = new Uint8Array(8192);
    expect(r.read(last)).toBe(4096);
    expect(last.subarray(0, 4096).every((b) => b === 0x62)).toBe(true);
  });

  it('a blocking write larger than the room moves what fits, waits, and retry() goes on to the end', async () => {
    const { open } = setup();
    const r = open(O_RDONLY | O_NONBLOCK);
    const w = open(O_WRONLY);
    const src = new Uint8Array(100_000);
    for (let i = 0; i < src.length; i++) src[i] = i * 7;
    let e = blocked(() => w.write(src));
    expect(e.done).toBe(65536);
    const out: number[] = [];
    const take = () => {
      const b = new Uint8Array(50_000);
      out.push(...b.subarray(0, r.read(b)));
    };
    take();
    expect(await settles(e.wait)).toBe(true);
    let result: unknown;
    try {
      result = e.retry();
    } catch (again) {
      e = again as WouldBlock<unknown>;
      expect(e.done).toBeGreaterThan(65536);
      take();
      result = e.retry();
    }
    expect(result).toBe(100_000);
    while (out.length < 100_000) take();
    expect(out.every((b, i) => b === ((i * 7) & 0xff))).toBe(true);
  });

  it('a continued write whose readers left: BrokenPipe carrying the bytes moved (the write returns them, SIGPIPE raised)', () => {
    const { open } = setup();
    const r = open(O_RDONLY | O_NONBLOCK);
    const w = open(O_WRONLY);
    const e = blocked(() => w.write(bytes(70_000)));
    r.close();
    let err: unknown;
    try {
      e.retry();
    } catch (x) {
      err = x;
    }
    expect(err).toMatchObject({ code: 'EPIPE', sigpipe: true, done: 65536 });
  });

  it('two readers and two writers: every 4096-byte record arrives whole and once', async () => {
    const { open } = setup();
    const readers = [open(O_RDONLY | O_NONBLOCK), open(O_RDONLY | O_NONBLOCK)];
    const writers = [open(O_WRONLY), open(O_WRONLY)];
    const got: Uint8Array[] = [];
    const record = (writer: number, seq: number) => bytes(4096, writer * 100 + seq);
    // Each writer writes 30 records of one slot each; each reader reads 4096 bytes at a
    // time, so a record torn apart by another writer would show as a mixed buffer.
    const writing = writers.map(async (w, wi) => {
      for (let seq = 0; seq < 30; seq++) {
        for (;;) {
          try {
            expect(w.write(record(wi, seq))).toBe(4096);
            break;
          } catch (e) {
            if (!isWouldBlock(e)) throw e;
            await e.wait;
          }
        }
      }
      w.close();
    });
    const reading = readers.map(async (r) => {
      for (;;) {
        const b = new Uint8Array(4096);
        let n: number;
        try {
          n = r.read(b);
        } catch (e) {
          if ((e as SysError).code !== 'EAGAIN') throw e;
          await r.ready(POLLIN);
          continue;
        }
        if (n === 0) return;
        expect(n).toBe(4096);
        got.push(b);
      }
    });
    await Promise.all([...writing, ...reading]);
    expect(got.length).toBe(60);
    const seen = new Set<number>();
    for (const g of got) {
      expect(g.every((x) => x === g[0])).toBe(true);
      seen.add(g[0]);
    }
    expect(seen.size).toBe(60);
  });

  it('readv and writev: one request across the buffers', () => {
    const { pair } = setup();
    const { r, w } = pair();
    expect(w.writev([text('ab'), new Uint8Array(0), text('cde')])).toBe(5);
    const a = new Uint8Array(1);
    const b = new Uint8Array(3);
    expect(r.readv([a, b])).toBe(4);
    expect(new TextDecoder().decode(b)).toBe('bcd');
    expect(str(r)).toBe('e');
  });

  it('no positions and no directory: lseek ESPIPE (EINVAL for whence 99), pread/pwrite ESPIPE (EINVAL if negative), ftruncate and fsync EINVAL, fallocate ESPIPE, getdents64 ENOTDIR, wrong end EBADF', () => {
    const { pair } = setup();
    const { r, w } = pair();
    expect(code(() => r.lseek(0, SEEK_CUR))).toBe('ESPIPE');
    expect(code(() => r.lseek(0, 3))).toBe('ESPIPE');
    expect(code(() => r.lseek(0, 99))).toBe('EINVAL');
    expect(code(() => r.pread(new Uint8Array(1), 0))).toBe('ESPIPE');
    expect(code(() => r.pread(new Uint8Array(1), -1))).toBe('EINVAL');
    expect(code(() => w.pwrite(new Uint8Array(1), 0))).toBe('ESPIPE');
    expect(code(() => w.pread(new Uint8Array(1), 0))).toBe('ESPIPE');
    expect(code(() => w.truncate(0))).toBe('EINVAL');
    expect(code(() => w.fsync())).toBe('EINVAL');
    expect(code(() => w.fdatasync())).toBe('EINVAL');
    expect(code(() => w.fallocate(0, 0, 1))).toBe('ESPIPE');
    expect(code(() => r.getdents64(new Uint8Array(100)))).toBe('ENOTDIR');
    expect(code(() => w.read(new Uint8Array(1)))).toBe('EBADF');
    expect(code(() => r.write(text('x')))).toBe('EBADF');
  });

  it('stat is the fifo inode\'s; the description holds the node until close; a second close is EBADF', () => {
    const { f, pair } = setup();
    const { r, w } = pair();
    expect(f.refs).toBe(2);
    w.write(text('12345'));
    expect(r.stat()).toMatchObject({ mode: S_IFIFO | 0o644, size: 0, ino: 1 });
    r.close();
    w.close();
    expect(f.refs).toBe(0);
    expect(code(() => r.close())).toBe('EBADF');
  });

  it('poll: nothing for a reader that never had a writer; POLLHUP only after a writer came and went', () => {
    const { open } = setup();
    const r = open(O_RDONLY | O_NONBLOCK);
    expect(r.poll()).toBe(0);
    const w = open(O_WRONLY | O_NONBLOCK);
    expect(r.poll()).toBe(0);
    expect(w.poll()).toBe(POLLOUT | POLLWRNORM);
    w.write(text('x'));
    expect(r.poll()).toBe(POLLIN | POLLRDNORM);
    w.close();
    expect(r.poll()).toBe(POLLIN | POLLRDNORM | POLLHUP);
    const r2 = open(O_RDONLY | O_NONBLOCK); // opened after the writer left
    expect(r2.poll() & POLLHUP).toBe(0);
  });

  it('ready() resolves when the other side acts', async () => {
    const { pair } = setup();
    const { r, w } = pair();
    const readable = r.ready(POLLIN);
    expect(await settles(readable)).toBe(false);
    w.write(bytes(65536));
    expect(await settles(readable)).toBe(true);
    const writable = w.ready(POLLOUT);
    expect(await settles(writable)).toBe(false);
    r.read(new Uint8Array(4096));
    expect(await settles(writable)).toBe(true);
    expect(await settles(w.ready(POLLOUT))).toBe(true);
  });

  it('F_SETPIPE_SZ: rounds up to power-of-two pages; EBUSY if the data does not fit; EPERM past 1 MiB without CAP_SYS_RESOURCE', () => {
    const { pair } = setup();
    const { r, w } = pair();
    expect(w.setPipeSize(0, ROOT)).toBe(4096);
    expect(w.setPipeSize(5000, ROOT)).toBe(8192);
    w.write(bytes(8192));
    expect(code(() => w.write(bytes(1)))).toBe('EAGAIN');
    expect(code(() => w.setPipeSize(4096, ROOT))).toBe('EBUSY');
    const user = credentials(1000, 1000);
    expect(w.setPipeSize(1 << 20, user)).toBe(1 << 20);
    expect(code(() => w.setPipeSize((1 << 20) + 1, user))).toBe('EPERM');
    expect(code(() => w.setPipeSize(2 ** 31 + 1, ROOT))).toBe('EINVAL');
    expect(r.pipeSize()).toBe(1 << 20);
  });

  it('the touch hook hears of fifo reads (atime) and writes (mtime)', () => {
    const heard: string[] = [];
    const table = new PipeTable({ touch: (n, what) => heard.push(`${n.key}:${what}`) });
    const rw = table.openFifo(fifoFs().node(3), O_RDWR | O_NONBLOCK, {});
    rw.write(text('x'));
    rw.read(new Uint8Array(4));
    expect(code(() => rw.read(new Uint8Array(4)))).toBe('EAGAIN');
    expect(heard).toEqual(['f3:write', 'f3:read']);
  });
});

describe('the README\'s blocking() loop', () => {
  async function blocking<T>(call: () => T): Promise<T> {
    for (;;) {
      try {
        return call();
      } catch (e) {
        if (!isWouldBlock(e)) throw e;
        await e.wait;
        call = e.retry as () => T;
      }
    }
  }

  it('a fifo between two tasks: blocking opens meet, a 200 KiB write and the reads finish, EOF at the end', async () => {
    const { open, table } = setup();
    const writerTask = {};
    const readerTask = {};
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    const writer = (async () => {
      const w = await blocking(() => open(O_WRONLY, writerTask));
      expect(await blocking(() => w.write(data))).toBe(data.length);
      w.close();
    })();
    const reader = (async () => {
      const r = await blocking(() => open(O_RDONLY, readerTask));
      const got: number[] = [];
      for (;;) {
        const b = new Uint8Array(30_000);
        const n = await blocking(() => r.read(b));
        if (n === 0) break;
        got.push(...b.subarray(0, n));
      }
      r.close();
      return got;
    })();
    await writer;
    const got = await reader;
    expect(got.length).toBe(data.length);
    expect(got.every((b, i) => b === data[i])).toBe(true);
    expect(table.size).toBe(0);
  });
});

describe('anonymous pipes (pipe2)', () => {
  it('never block on open; flags O_NONBLOCK / O_DIRECT / O_CLOEXEC, anything else EINVAL', () => {
    const table = new PipeTable();
    const [r, w] = table.createPipe(O_CLOEXEC, ROOT);
    expect(r.flags).toBe(O_RDONLY);
    expect(w.flags).toBe(O_WRONLY);
    expect(w.write(text('abc'))).toBe(3);
    expect(str(r)).toBe('abc');
    expect(blocked(() => r.read(new Uint8Array(1))).code).toBe('EAGAIN');
    w.close();
    expect(str(r)).toBe('');
    expect(code(() => table.createPipe(0o1, ROOT))).toBe('EINVAL');
    const [nr] = table.createPipe(O_NONBLOCK, ROOT);
    expect(code(() => nr.read(new Uint8Array(1)))).toBe('EAGAIN');
    expect(table.size).toBe(0);
  });

  it('stat: a pipefs inode, S_IFIFO|0600, the creator\'s ids, nlink 1, size 0 even with data; statfs PIPEFS_MAGIC', () => {
    const table = new PipeTable();
    const [r, w] = table.createPipe(0, credentials(1000, 100));
    w.write(text('abc'));
    const s = r.stat();
    expect(s).toMatchObject({ mode: S_IFIFO | 0o600, uid: 1000, gid: 100, nlink: 1, size: 0, blksize: 4096, blocks: 0 });
    expect(splitDev(s.dev)).toEqual({ major: 0, minor: 15 });
    expect(w.stat().ino).toBe(s.ino);
    expect(table.anonName(r.node)).toBe(`pipe:[${s.ino}]`);
    expect(table.anonName(fifoFs().node(1))).toBeNull();
    expect(r.node.fs.statfs()).toMatchObject({ type: PIPEFS_MAGIC, bsize: 4096, blocks: 0, files: 0n, namelen: 255 });
    expect(r.statx()).toMatchObject({ mode: S_IFIFO | 0o600, uid: 1000, devMinor: 15 });
  });

  it('packet mode (O_DIRECT): a read takes one packet and drops its rest; 16 packets fill the pipe', () => {
    const table = new PipeTable();
    const [r, w] = table.createPipe(O_DIRECT | O_NONBLOCK, ROOT);
    w.write(text('one'));
    w.write(text('two2'));
    expect(str(r)).toBe('one');
    expect(str(r, 2)).toBe('tw');
    expect(code(() => r.read(new Uint8Array(2)))).toBe('EAGAIN');
    w.write(bytes(5000));
    expect(r.read(new Uint8Array(10000))).toBe(4096);
    expect(r.read(new Uint8Array(10000))).toBe(904);
    let n = 0;
    while (code(() => (n += w.write(bytes(1)))) === 'ok');
    expect(n).toBe(16);
  });

  it('/proc/self/fd/N reopens the same pipe through openFifo, never blocking', () => {
    const table = new PipeTable();
    const [r, w] = table.createPipe(0, ROOT);
    const again = table.openFifo(w.node, O_WRONLY, {});
    r.close();
    const r2 = table.openFifo(w.node, O_RDONLY, {});
    again.write(text('via proc'));
    expect(str(r2)).toBe('via proc');
  });

  it('fchmod / fchown on the pipe inode: the owner may chmod; chown needs CAP_CHOWN', () => {
    const table = new PipeTable();
    const user = credentials(1000, 1000);
    const [r] = table.createPipe(0, user);
    r.node.fs.chmod(r.node, 0o640, user);
    expect(r.stat().mode).toBe(S_IFIFO | 0o640);
    expect(code(() => r.node.fs.chmod(r.node, 0o600, credentials(1001, 1001)))).toBe('EPERM');
    expect(code(() => r.node.fs.chown(r.node, 0, -1, user))).toBe('EPERM');
    r.node.fs.chown(r.node, 0, 0, ROOT);
    expect(r.stat()).toMatchObject({ uid: 0, gid: 0 });
  });
});
