import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarError, TarReader, type TarEntry } from './tar.js';
import { checksum, concat, entry, globalPax, header, tar } from './testutil.js';

const enc = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

interface Read {
  entries: TarEntry[];
  data: Uint8Array[];
  offsets: number[][];
  warnings: string[];
}

/** Reads `archive` pushed in pieces of `step` bytes. */
function read(archive: Uint8Array, step = archive.length): Read {
  const r: Read = { entries: [], data: [], offsets: [], warnings: [] };
  const parts: Uint8Array[] = [];
  const reader = new TarReader(
    {
      entry(e) {
        if (r.entries.length) r.data.push(concat(parts.splice(0)));
        r.entries.push(e);
        r.offsets.push([]);
      },
      data(b, off) {
        parts.push(b.slice());
        r.offsets[r.offsets.length - 1].push(off);
      },
    },
    { onWarning: (m) => r.warnings.push(m) },
  );
  for (let i = 0; i < archive.length; i += step) reader.push(archive.subarray(i, i + step));
  reader.end();
  if (r.entries.length) r.data.push(concat(parts));
  return r;
}

describe('TarReader', () => {
  it('reads ustar fields, the prefix, and data at its stream offsets, in any chunking', () => {
    const long = 'p'.repeat(130) + '/name';
    const a = tar(
      { path: './', type: '5', mode: 0o750, uid: 1, gid: 2, mtime: 1000 },
      { path: 'a/file', data: 'hello', mode: 0o4755, uid: 1000, gid: 100, mtime: 1_700_000_000 },
      { path: long, data: 'x'.repeat(600), usePrefix: true },
      { path: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'sym', type: '2', link: 'a/file' },
    );
    for (const step of [a.length, 512, 100, 1]) {
      const r = read(a, step);
      expect(r.entries.map((e) => [e.type, text(e.path)])).toEqual([['5', '.'], ['0', 'a/file'], ['0', long], ['3', 'dev/null'], ['2', 'sym']]);
      expect(r.entries[1]).toMatchObject({ mode: 0o4755, uid: 1000, gid: 100, mtime: 1_700_000_000, mtimeNsec: 0, size: 5, offset: 512, dataOffset: 1024 });
      expect(r.entries[3]).toMatchObject({ devmajor: 1, devminor: 3 });
      expect(text(r.entries[4].link)).toBe('a/file');
      expect(text(r.data[1])).toBe('hello');
      expect(text(r.data[2])).toBe('x'.repeat(600));
      expect(r.offsets[2][0]).toBe(r.entries[2].dataOffset);
    }
  });

  it('GNU long names and links, base-256 numbers (negative mtime), typeflag NUL as a file, a volume label skipped', () => {
    const name = 'd/' + 'n'.repeat(250);
    const r = read(
      tar(
        { path: 'label', type: 'V', format: 'gnu' },
        { path: name, data: 'long', longName: true, format: 'gnu', uid: 3_000_000, gid: 7, mtime: -86_400 },
        { path: 'l', type: '2', link: 't/'.repeat(100), longLink: true, format: 'gnu' },
        { path: 'nul', type: '\0', data: 'v7 file' },
      ),
    );
    expect(r.entries.map((e) => text(e.path))).toEqual([name, 'l', 'nul']);
    expect(r.entries[0]).toMatchObject({ uid: 3_000_000, mtime: -86_400 });
    expect(text(r.entries[1].link)).toBe('t/'.repeat(100));
    expect(r.entries[2].type).toBe('0');
    // gid 2^40 does not fit a u32: an error naming the entry.
    expect(() => read(tar({ path: 'g', gid: 2 ** 40, format: 'gnu' }))).toThrow(/entry "g" \(header at byte 0\): gid 1099511627776 out of range/);
  });

  it('PAX records: path, linkpath, size, ids, mtime with nanoseconds (negative too), xattrs as raw bytes and base64, global ones merged', () => {
    const bin = new Uint8Array([0, 0xff, 0x80, 0x0a, 0x3d]);
    const latin = new Uint8Array([0x6e, 0xe9, 0xff]);
    const r = read(
      tar(
        {
          path: 'short',
          data: 'abc',
          pax: [
            ['path', latin],
            ['mtime', '1700000000.123456789123'],
            ['uid', '4000000000'],
            ['gid', '5'],
            ['SCHILY.xattr.user.bin', bin],
            ['LIBARCHIVE.xattr.user.%3Dodd%20name', 'AAEC/w=='],
            ['atime', '1.5'],
            ['SCHILY.acl.access', 'user::rw-'],
          ],
        },
        { path: 'x', type: '2', pax: [['linkpath', 'L'.repeat(300)], ['mtime', '-1.25']] },
        globalPax([['SCHILY.xattr.user.g', 'global'], ['mtime', '42'], ['path', 'ignored']]),
        { path: 'after', pax: [['SCHILY.xattr.user.own', 'own']] },
        { path: 'after2', pax: [['SCHILY.xattr.user.g', 'mine'], ['mtime', '']] },
      ),
    );
    const [a, x, after, after2] = r.entries;
    expect([...a.path]).toEqual([...latin]);
    expect(a).toMatchObject({ mtime: 1_700_000_000, mtimeNsec: 123456789, uid: 4_000_000_000, gid: 5 });
    expect([...a.xattrs.get('user.bin')!]).toEqual([...bin]);
    expect([...a.xattrs.get('user.=odd name')!]).toEqual([0, 1, 2, 255]);
    expect(r.warnings.join()).toMatch(/SCHILY\.acl\.access/);
    expect(text(x.link)).toBe('L'.repeat(300));
    expect(x).toMatchObject({ mtime: -2, mtimeNsec: 750_000_000 });
    expect(text(after.path)).toBe('after');
    expect(after.mtime).toBe(42);
    expect(Object.fromEntries([...after.xattrs].map(([k, v]) => [k, text(v)]))).toEqual({ 'user.own': 'own', 'user.g': 'global' });
    expect(text(after2.xattrs.get('user.g')!)).toBe('mine');
    expect(after2.mtime).toBe(42); // an empty record unsets this entry's value: the global one applies
    expect(() => read(tar({ path: 'a', pax: [['size', 'lots']] }))).toThrow(/header at byte 0: PAX size="lots" is not an integer/);
    const broken = entry({ path: 'a', pax: [['path', 'b']] });
    broken[512] = 0x38; // the record's length (9) no longer matches
    expect(() => read(concat([broken, new Uint8Array(1024)]))).toThrow(/malformed PAX record/);
  });

  it('PAX size overrides the header; the data that follows has that length', () => {
    const body = 'y'.repeat(700);
    const r = read(tar({ path: 'big', data: body, size: 0, pax: [['size', '700']] }, { path: 'next', data: 'n' }));
    expect(r.entries[0].size).toBe(700);
    expect(text(r.data[0])).toBe(body);
    expect(text(r.entries[1].path)).toBe('next');
  });

  it('old GNU sparse entries with extension blocks: the map, the real size, the stored bytes', () => {
    const map: number[] = [];
    for (let k = 0; k < 30; k++) map.push(k * 10_000, 100);
    const data = new Uint8Array(3000).map((_, i) => i & 0xff);
    const r = read(tar({ path: 'sparse', type: 'S', format: 'gnu', data, sparse: { map, realSize: 400_000 } }, { path: 'after', data: 'ok' }));
    expect(r.entries[0]).toMatchObject({ type: 'S', size: 3000, realSize: 400_000 });
    expect(r.entries[0].sparse).toEqual(map);
    expect(r.data[0]).toEqual(data);
    expect(text(r.data[1])).toBe('ok');
    expect(() => read(tar({ path: 's', type: 'S', format: 'gnu', data: 'abc', sparse: { map: [0, 5], realSize: 10 } }))).toThrow(/sparse map holds 5 bytes of data but the entry stores 3/);
    expect(() => read(tar({ path: 's', type: 'S', format: 'gnu', data: 'abcd', sparse: { map: [8, 4], realSize: 10 } }))).toThrow(/beyond the file's 10 bytes/);
  });

  it('PAX sparse 0.0, 0.1 and 1.0 (the map at the start of the data)', () => {
    const v00 = read(tar({ path: 'GNUSparseFile.1/s', data: 'abcdef', pax: [['GNU.sparse.size', '100'], ['GNU.sparse.numblocks', '2'], ['GNU.sparse.offset', '10'], ['GNU.sparse.numbytes', '2'], ['GNU.sparse.offset', '50'], ['GNU.sparse.numbytes', '4'], ['GNU.sparse.name', 's']] }));
    expect(v00.entries[0]).toMatchObject({ realSize: 100, size: 6, sparse: [10, 2, 50, 4] });
    expect(text(v00.entries[0].path)).toBe('s');
    const v01 = read(tar({ path: 'GNUSparseFile.1/s', data: 'abcdef', pax: [['GNU.sparse.size', '100'], ['GNU.sparse.map', '10,2,50,4'], ['GNU.sparse.name', 'real']] }));
    expect(v01.entries[0]).toMatchObject({ sparse: [10, 2, 50, 4] });
    expect(text(v01.entries[0].path)).toBe('real');
    const mapText = enc.encode('2\n10\n2\n50\n4\n');
    const body = concat([mapText, new Uint8Array(512 - mapText.length), enc.encode('abcdef')]);
    const v10 = read(tar({ path: 'GNUSparseFile.1/s', data: body, pax: [['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 's'], ['GNU.sparse.realsize', '100']] }, { path: 'after' }), 7);
    expect(v10.entries[0]).toMatchObject({ realSize: 100, size: 6, sparse: [10, 2, 50, 4] });
    expect(text(v10.data[0])).toBe('abcdef');
    expect(v10.entries[0].dataOffset).toBe(512 * 4);
    expect(text(v10.entries[1].path)).toBe('after');
    const garbage = concat([enc.encode('2\nx'), new Uint8Array(509)]);
    expect(() => read(tar({ path: 's', data: garbage, pax: [['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '9']] }))).toThrow(/bad byte 0x78 in the sparse map/);
  });

  it('GNU tar sparse archives (gnu and pax formats) give back the file, holes as zeros', () => {
    if (spawnSync('tar', ['--version']).status !== 0) return;
    const d = mkdtempSync(join(tmpdir(), 'tar-sparse-'));
    try {
      const f = join(d, 'src', 'sparse');
      spawnSync('mkdir', [join(d, 'src')]);
      writeFileSync(f, '');
      truncateSync(f, 3 << 20);
      const fd = openSync(f, 'r+');
      for (const at of [5000, 1 << 20, (3 << 20) - 3]) writeSync(fd, Buffer.from('DATA'.slice(0, at === (3 << 20) - 3 ? 3 : 4)), 0, at === (3 << 20) - 3 ? 3 : 4, at);
      closeSync(fd);
      const want = readFileSync(f);
      for (const format of ['gnu', 'pax']) {
        const t = join(d, `${format}.tar`);
        expect(spawnSync('tar', ['-S', `--format=${format}`, '-C', join(d, 'src'), '-cf', t, 'sparse']).status).toBe(0);
        const r = read(new Uint8Array(readFileSync(t)), 4096);
        const e = r.entries[0];
        expect(text(e.path), format).toBe('sparse');
        expect(e.realSize).toBe(want.length);
        const file = new Uint8Array(e.realSize);
        let at = 0;
        for (let k = 0; k < e.sparse!.length; k += 2) {
          file.set(r.data[0].subarray(at, at + e.sparse![k + 1]), e.sparse![k]);
          at += e.sparse![k + 1];
        }
        expect(Buffer.compare(file, want), format).toBe(0);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('end of archive: two zero blocks (what follows is not read), a lone zero block skipped, no marker accepted', () => {
    const one = entry({ path: 'a', data: 'a' });
    const two = entry({ path: 'b', data: 'b' });
    expect(read(concat([one, new Uint8Array(1024), new Uint8Array([1, 2, 3])])).entries).toHaveLength(1);
    expect(read(concat([one, new Uint8Array(512), two, new Uint8Array(1024)])).entries).toHaveLength(2);
    expect(read(concat([one, two])).entries).toHaveLength(2);
    expect(read(new Uint8Array(0)).entries).toHaveLength(0);
  });

  it('malformed input: TarError with the header offset and the entry when known', () => {
    const a = tar({ path: 'a', data: 'aaaa' }, { path: 'dir/b', data: 'b'.repeat(2000) });
    const cases: [Uint8Array, RegExp][] = [
      [a.subarray(0, 1024 + 1000), /^tar: entry "dir\/b" \(header at byte 1024\): archive truncated in data \(1512 bytes missing\)$/],
      [a.subarray(0, 1024 + 100), /^tar: header at byte 1024: archive truncated in a header block \(100 of 512 bytes\)$/],
      [(() => { const b = a.slice(); b[1024 + 3] ^= 4; return b; })(), /^tar: header at byte 1024: header checksum mismatch/],
      [(() => { const b = a.slice(); b[1024 + 257] = 0x78; return b; })(), /^tar: header at byte 1024: not a ustar, GNU or PAX tar header/],
      [new Uint8Array([0x1f, 0x8b, 8, 0, ...new Uint8Array(600)]), /header at byte 0: .*the input is gzip-compressed/],
      [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, ...new Uint8Array(600)]), /zstd-compressed/],
      [(() => { const h = header({ path: 'n', size: 1 }); h.set(enc.encode('12x'), 124); return concat([checksum(h), new Uint8Array(1536)]); })(), /size field is not an octal number/],
    ];
    for (const [bytes, pattern] of cases) {
      let err: unknown;
      try {
        read(bytes, 333);
      } catch (e) {
        err = e;
      }
      expect(err, String(pattern)).toBeInstanceOf(TarError);
      expect((err as Error).message).toMatch(pattern);
    }
    // A checksum summed over signed bytes (old tars) is accepted.
    const h = header({ path: 'é', size: 0 });
    let signed = 0;
    h.fill(0x20, 148, 156);
    for (const b of h) signed += (b << 24) >> 24;
    h.set(enc.encode(signed.toString(8).padStart(6, '0') + '\0 '), 148);
    expect(read(concat([h, new Uint8Array(1024)])).entries).toHaveLength(1);
  });
});
