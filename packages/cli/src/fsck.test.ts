/**
 * fsck: clean on every committed fixture (with the inode count the kernel's manifest
 * implies), and on corrupted variants it either reports errors — each one line naming an
 * errno code — or the image fails to open with an ErofsError; never another exception,
 * never an endless walk.
 */
import { describe, expect, it } from 'vitest';
import {
  COMPAT,
  CountingSource,
  ERRNO,
  ErofsError,
  ExtentKind,
  Image,
  MemorySource,
  isDir,
  readSuperblock,
  superblockChecksum,
  walk,
  type ByteSource,
  type Inode,
} from '@erofs-js/erofs';
import { fsck, type FsckReport } from './fsck.js';
import { FIXTURES, deviceSources, fixtureBytes, fixtureIndex, nodeAt, openFixture, readJsonl } from '../../../tests/fixtures.js';

const ERRNO_NAMES = new Set(Object.keys(ERRNO));
const LINE = /^(\/[^\n]*): (E[A-Z]+): [^\n]+$/;

/** Every error is one line, "PATH: CODE: message", with CODE an errno name. */
function expectWellFormed(errors: string[]): void {
  for (const e of errors) {
    const m = LINE.exec(e);
    expect(m, JSON.stringify(e)).not.toBeNull();
    expect(ERRNO_NAMES.has(m![2]), e).toBe(true);
  }
}

type Outcome = { open: string } | { report: FsckReport; reads: number };

/** Opens the bytes and runs fsck with a read cap; anything but an ErofsError escapes. */
function check(bytes: Uint8Array, options: { verifyChecksum?: boolean; maxReads?: number; maxErrors?: number; devices?: ByteSource[] } = {}): Outcome {
  const src = new CountingSource(new MemorySource(bytes), options.maxReads ?? 200_000);
  let image: Image;
  try {
    image = new Image(src, { verifyChecksum: options.verifyChecksum, devices: options.devices });
  } catch (e) {
    if (!(e instanceof ErofsError)) throw e;
    expect(ERRNO_NAMES.has(e.code)).toBe(true);
    return { open: e.code };
  }
  const report = fsck(image, { maxErrors: options.maxErrors });
  expectWellFormed(report.errors);
  return { report, reads: src.reads };
}

function errorsOf(o: Outcome): string[] {
  if ('open' in o) throw new Error(`image did not open: ${o.open}`);
  return o.report.errors;
}

/** Recomputes the superblock checksum so that a corruption elsewhere gets past it. */
function fixChecksum(bytes: Uint8Array): Uint8Array {
  const src = new MemorySource(bytes);
  const sb = readSuperblock(src, { verifyChecksum: false });
  if (sb.featureCompat & COMPAT.SB_CHKSUM) new DataView(bytes.buffer, bytes.byteOffset).setUint32(1028, superblockChecksum(src, sb.blockSize), true);
  return bytes;
}

/** Physical position in the image of byte `offset` of a file or directory (not a hole). */
function physical(image: Image, inode: Inode, offset: number): number {
  const x = image.map(inode, offset);
  expect(x.kind === ExtentKind.Data || x.kind === ExtentKind.Inline).toBe(true);
  expect(inode.inMetabox).toBe(false);
  return x.physical + (offset - x.logical);
}

/** A fixture copy, the decoder opened on the clean bytes (to find structures), and the copy to corrupt. */
function corruptible(name: string) {
  const clean = fixtureBytes(name);
  const image = new Image(new MemorySource(clean));
  return { image, bytes: clean.slice() };
}

function direntPos(image: Image, dirPath: string, name: string): number {
  const dir = nodeAt(image, dirPath);
  const d = [...image.readdir(dir)].find((e) => Buffer.from(e.name).toString() === name);
  expect(d, `${dirPath} ${name}`).toBeDefined();
  return physical(image, dir, d!.offset);
}

// ---------------------------------------------------------------------------------------

describe('fsck on every fixture', () => {
  const index = fixtureIndex();
  it('covers the fixture set', () => {
    expect(index.length).toBeGreaterThanOrEqual(20);
  });

  for (const fx of index) {
    it(`${fx.image}: clean, and counts every distinct inode of the kernel's manifest`, () => {
      const truth = readJsonl<Record<string, unknown>>(FIXTURES + fx.image.replace(/\.erofs$/, '.manifest.jsonl'));
      expect(truth.every((t) => 'ino' in t)).toBe(true);
      let r: FsckReport;
      let openError: ErofsError | undefined;
      try {
        r = fsck(openFixture(fx.image), { maxErrors: 1_000_000 });
      } catch (e) {
        if (!(e instanceof ErofsError)) throw e;
        openError = e;
        r = { errors: [`(open): ${e.code}: ${e.message}`] } as FsckReport;
      }
      // Every codec the fixtures use is built in: a missing decoder is a failure like any other.
      expect(openError).toBeUndefined();
      expect(r.errors).toEqual([]);
      expect(r.truncated).toBe(false);
      const inos = new Map<number, string>();
      for (const t of truth) inos.set(t.ino as number, t.type as string);
      expect(r.inodes).toBe(inos.size);
      const byType = (ty: string) => [...inos.values()].filter((t) => t === ty).length;
      expect(r.directories).toBe(byType('dir'));
      expect(r.files).toBe(byType('file'));
      expect(r.symlinks).toBe(byType('symlink'));
      expect(r.special).toBe(inos.size - byType('dir') - byType('file') - byType('symlink'));
      // Every xattr of every distinct inode, once.
      const xattrsPerIno = new Map<number, number>();
      for (const t of truth) xattrsPerIno.set(t.ino as number, Object.keys((t.xattrs as object | undefined) ?? {}).length);
      expect(r.xattrs).toBe([...xattrsPerIno.values()].reduce((a, b) => a + b, 0));
    });
  }
});

describe('fsck on corrupted images', () => {
  it('superblock: a bad magic and a bad checksum stop the open; without the checksum a bad root nid does too', () => {
    let { bytes } = corruptible('rootfs-18.erofs');
    bytes[1024] ^= 0xff;
    expect(check(bytes)).toEqual({ open: 'EINVAL' });

    ({ bytes } = corruptible('rootfs-18.erofs'));
    bytes[1024 + 0x40] ^= 0x20; // volume name
    expect(check(bytes)).toEqual({ open: 'EUCLEAN' });
    expect(errorsOf(check(bytes, { verifyChecksum: false }))).toEqual([]); // the label is not structure

    const c = corruptible('rootfs-18.erofs');
    const file = nodeAt(c.image, '/bin/busybox');
    new DataView(c.bytes.buffer).setUint16(1024 + 0x0e, file.nid, true); // root nid -> a regular file
    expect(check(c.bytes, { verifyChecksum: false })).toEqual({ open: 'EUCLEAN' });
    new DataView(c.bytes.buffer).setUint16(1024 + 0x0e, 0xffff, true); // root nid past the end
    expect(check(c.bytes, { verifyChecksum: false })).toEqual({ open: 'EUCLEAN' });
  });

  it('superblock: meta_blkaddr moved, so that every NID lands elsewhere', () => {
    for (const blk of [1, 2, 27, 0xffffffff]) {
      const { bytes } = corruptible('rootfs-18.erofs');
      new DataView(bytes.buffer).setUint32(1024 + 0x28, blk, true);
      const o = check(fixChecksum(bytes));
      if ('report' in o) expect(o.report.errors.length).toBeGreaterThan(0);
    }
  });

  it('inode: a bogus file type in i_mode is reported at its path', () => {
    const { image, bytes } = corruptible('rootfs-18.erofs');
    const busybox = nodeAt(image, '/bin/busybox');
    bytes[busybox.pos + 5] &= 0x0f; // mode type 0
    const errors = errorsOf(check(fixChecksum(bytes)));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\/bin\/busybox: EUCLEAN: .*bogus i_mode/);
  });

  it('inode: an unknown data layout, and a size past the end of the image', () => {
    const { image, bytes } = corruptible('rootfs-18.erofs');
    const a = nodeAt(image, '/etc/passwd');
    const b = nodeAt(image, '/bin/busybox');
    bytes[a.pos] = (bytes[a.pos] & 1) | (7 << 1); // layout 7
    new DataView(bytes.buffer).setUint32(b.pos + 8, 0x7fffffff, true); // i_size (compact)
    expect(b.extended).toBe(false);
    const errors = errorsOf(check(fixChecksum(bytes)));
    expect(errors.some((e) => /^\/etc\/passwd: EOPNOTSUPP: /.test(e))).toBe(true);
    expect(errors.some((e) => /^\/bin\/busybox: EUCLEAN: /.test(e))).toBe(true);
  });

  it('inode: a directory that claims to be a file disagrees with its dirent', () => {
    const { image, bytes } = corruptible('rootfs-18.erofs');
    const usr = nodeAt(image, '/usr');
    bytes[usr.pos + 5] = (bytes[usr.pos + 5] & 0x0f) | 0x80; // S_IFREG
    const errors = errorsOf(check(fixChecksum(bytes)));
    expect(errors.some((e) => /^\/usr: EUCLEAN: .*file type 2 disagrees/.test(e))).toBe(true);
  });

  it('dirent: a wrong file type, a broken first nameoff, names out of order, "." and ".." elsewhere', () => {
    {
      const { image, bytes } = corruptible('rootfs-18.erofs');
      bytes[direntPos(image, '/etc', 'fstab') + 10] = 7; // FT_SYMLINK for a regular file
      expect(errorsOf(check(fixChecksum(bytes)))).toEqual([expect.stringMatching(/^\/etc\/fstab: EUCLEAN: .*file type 7 disagrees/)]);
    }
    {
      const { image, bytes } = corruptible('rootfs-18.erofs');
      const bin = nodeAt(image, '/bin');
      const at = physical(image, bin, 0);
      new DataView(bytes.buffer).setUint16(at + 8, 0, true); // first nameoff
      expect(errorsOf(check(fixChecksum(bytes)))).toEqual([expect.stringMatching(/^\/bin: EUCLEAN: .*first nameoff 0/)]);
    }
    {
      const { image, bytes } = corruptible('rootfs-18.erofs');
      const etc = nodeAt(image, '/etc');
      const ents = [...image.readdir(etc)];
      const group = ents.find((e) => Buffer.from(e.name).toString() === 'group')!;
      const dv = new DataView(bytes.buffer);
      const nameAt = physical(image, etc, Math.floor(group.offset / image.blockSize) * image.blockSize) + dv.getUint16(physical(image, etc, group.offset) + 8, true);
      expect(String.fromCharCode(bytes[nameAt])).toBe('g');
      bytes[nameAt] = 'z'.charCodeAt(0); // "zroup" sorts after "hostname"
      const errors = errorsOf(check(fixChecksum(bytes)));
      expect(errors.some((e) => /^\/etc: EUCLEAN: .*is not after/.test(e))).toBe(true);
    }
    for (const [name, code] of [
      ['.', /"\." points at nid/],
      ['..', /"\.\." points at nid/],
    ] as const) {
      const { image, bytes } = corruptible('rootfs-18.erofs');
      const at = direntPos(image, '/usr/share', name);
      new DataView(bytes.buffer).setUint32(at, nodeAt(image, '/etc').nid, true);
      expect(errorsOf(check(fixChecksum(bytes))).some((e) => e.startsWith('/usr/share: EUCLEAN: ') && code.test(e))).toBe(true);
    }
  });

  it('xattr area: a shared count that overflows the ibody, an entry that overflows its area, a shared id past the end', () => {
    const name = 'basic-18.erofs';
    const pick = (image: Image, path: string) => {
      const i = nodeAt(image, path);
      expect(i.xattrIcount).toBeGreaterThan(0);
      return i.pos + i.inodeSize;
    };
    {
      const { image, bytes } = corruptible(name);
      bytes[pick(image, '/xattrs/mixed') + 4] = 0xff; // h_shared_count
      expect(errorsOf(check(fixChecksum(bytes)))).toEqual([expect.stringMatching(/^\/xattrs\/mixed: EUCLEAN: .*shared xattr ids do not fit/)]);
    }
    {
      const { image, bytes } = corruptible(name);
      const at = pick(image, '/xattrs/many');
      const inlineStart = at + 12 + 4 * bytes[at + 4];
      bytes[inlineStart] = 0xff; // e_name_len
      bytes[inlineStart + 2] = bytes[inlineStart + 3] = 0xff; // e_value_size
      expect(errorsOf(check(fixChecksum(bytes)))).toEqual([expect.stringMatching(/^\/xattrs\/many: EUCLEAN: .*runs past the end of its area/)]);
    }
    {
      const { image, bytes } = corruptible(name);
      const at = pick(image, '/xattrs/shared-00');
      expect(bytes[at + 4]).toBeGreaterThan(0);
      new DataView(bytes.buffer).setUint32(at + 12, 0xfffffff0, true); // first shared xattr id
      expect(errorsOf(check(fixChecksum(bytes)))).toEqual([expect.stringMatching(/^\/xattrs\/shared-00: EUCLEAN: /)]);
    }
  });

  it('an error at a path with a newline in it is still one line (the newline is escaped)', () => {
    const { image, bytes } = corruptible('basic-18.erofs');
    const victim = nodeAt(image, '/names/new\nline');
    bytes[victim.pos + 5] &= 0x0f;
    const errors = errorsOf(check(fixChecksum(bytes)));
    expect(errors).toEqual(['/names/new\\x0aline: EUCLEAN: ' + `inode ${victim.nid} at byte ${victim.pos + 4}: bogus i_mode 0${(victim.mode & 0o7777).toString(8)}`]);
  });

  it('truncations: every cut that removes reachable bytes is caught, at open or by fsck', () => {
    const clean = fixtureBytes('rootfs-18.erofs');
    const image = new Image(new MemorySource(clean));
    // The end of the last byte anything reachable uses.
    let needed = 1024 + image.sb.sbSize;
    walk(image, (e) => {
      const i = e.inode;
      needed = Math.max(needed, i.ibase);
      for (let off = 0; off < i.size; ) {
        const x = image.map(i, off);
        if (x.kind !== ExtentKind.Hole) needed = Math.max(needed, x.physical + x.length);
        off = x.logical + x.length;
      }
    });
    expect(needed).toBeGreaterThan(clean.length - 4096);
    const cuts = [0, 1, 1024, 1151, 1152, 2048, 4095, 4096, 8192, 50_000, 100_000, needed - 1];
    for (const len of cuts) {
      const o = check(clean.slice(0, len));
      if ('report' in o) expect(o.report.errors.length, `cut at ${len}`).toBeGreaterThan(0);
      if (len < 1152) expect(o).toEqual({ open: 'EINVAL' });
    }
    expect(errorsOf(check(clean.slice(0, needed)))).toEqual([]);
  });

  it('a directory cycle is reported once and the check ends', () => {
    const { image, bytes } = corruptible('rootfs-18.erofs');
    const at = direntPos(image, '/usr/share', 'doc');
    new DataView(bytes.buffer).setUint32(at, nodeAt(image, '/usr').nid, true);
    const o = check(fixChecksum(bytes), { maxReads: 5000 });
    expect(errorsOf(o)).toEqual([expect.stringMatching(/^\/usr\/share\/doc: EUCLEAN: .*reachable twice/)]);
  });

  it('caps the error list and says so', () => {
    const { image, bytes } = corruptible('rootfs-18.erofs');
    const bin = nodeAt(image, '/bin');
    let n = 0;
    for (const d of image.readdir(bin)) {
      if (d.name[0] === 0x2e) continue;
      bytes[image.inode(d.nid).pos + 5] &= 0x0f;
      n++;
    }
    expect(n).toBeGreaterThan(3);
    const o = check(fixChecksum(bytes), { maxErrors: 3 });
    expect(errorsOf(o)).toHaveLength(3);
    expect((o as { report: FsckReport }).report.truncated).toBe(true);
    expect(errorsOf(check(bytes))).toHaveLength(n);
  });

  it('never swallows an exception that is not an ErofsError, even past the error cap', () => {
    const clean = fixtureBytes('rootfs-18.erofs');
    const inner = new MemorySource(clean);
    const busybox = nodeAt(new Image(inner), '/bin/busybox');
    const x = new Image(inner).map(busybox, 0);
    expect(x.kind).toBe(ExtentKind.Data);
    // A source that fails (not with an ErofsError) on busybox's data, and only there.
    const boom = (off: number, len: number) => {
      if (off < x.physical + x.length && off + len > x.physical) throw new TypeError('source exploded');
    };
    const exploding: ByteSource = {
      size: inner.size,
      readInto: (d, o, off, len) => {
        boom(off, len);
        inner.readInto(d, o, off, len);
      },
      view: (off, len) => {
        boom(off, len);
        return inner.view(off, len);
      },
    };
    expect(() => fsck(new Image(exploding))).toThrow('source exploded');
    expect(() => fsck(new Image(exploding), { maxErrors: 0 })).toThrow('source exploded');
  });
});

describe('fsck on 200 single-byte corruptions of rootfs-18.erofs', () => {
  it('each one finishes with a report or an open error, within a read and time budget', () => {
    const clean = fixtureBytes('rootfs-18.erofs');
    const image = new Image(new MemorySource(clean));
    // Metadata positions: every inode (with its inline tail) and every directory block.
    const meta: [number, number][] = [[1024, 1024 + 128]];
    walk(image, (e) => {
      const i = e.inode;
      meta.push([i.pos, i.ibase]);
      if (isDir(i)) for (let off = 0; off < i.size; off += image.blockSize) meta.push([physical(image, i, off), physical(image, i, off) + Math.min(image.blockSize, i.size - off)]);
    });
    let x = 0x2545f491;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const values = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0f, 0x10, 0xfe];
    let withErrors = 0;
    let openFailed = 0;
    let slowest = 0;
    const t0 = performance.now();
    for (let k = 0; k < 200; k++) {
      // Three quarters on metadata, the rest anywhere.
      let at: number;
      if (k % 4 !== 3) {
        const [a, b] = meta[rnd(meta.length)];
        at = a + rnd(b - a);
      } else at = rnd(clean.length);
      const bytes = clean.slice();
      const v = k % 2 ? values[rnd(values.length)] : rnd(256);
      bytes[at] = bytes[at] === v ? v ^ 0xff : v;
      const t = performance.now();
      let o: Outcome;
      try {
        o = check(fixChecksum(bytes), { maxReads: 20_000 });
      } catch (e) {
        throw new Error(`corruption ${k}: byte ${at} = ${v}: ${(e as Error).stack}`);
      }
      const ms = performance.now() - t;
      slowest = Math.max(slowest, ms);
      expect(ms, `byte ${at} = ${v}`).toBeLessThan(2000);
      if ('open' in o) openFailed++;
      else if (o.report.errors.length) withErrors++;
    }
    const total = performance.now() - t0;
    console.log(`200 corruptions: ${withErrors} with errors, ${openFailed} failed to open, slowest ${slowest.toFixed(1)} ms, total ${total.toFixed(0)} ms`);
    expect(withErrors).toBeGreaterThan(30);
    expect(total).toBeLessThan(30_000);
  });
});

describe('fsck with an extra device', () => {
  it('is clean with its blob, and reports EIO per file without it', () => {
    const name = 'basic-18-blobdev.erofs';
    const bytes = fixtureBytes(name);
    expect(errorsOf(check(bytes, { devices: deviceSources(name) }))).toEqual([]);
    const errors = errorsOf(check(bytes, { devices: [], maxErrors: 1000 }));
    expect(errors.length).toBeGreaterThan(10);
    for (const e of errors) expect(e).toMatch(/: EIO: .*extra device 1 was not supplied/);
  });
});
