import { describe, expect, it } from 'vitest';
import { Image, MemorySource, type Inode } from '@erofs-js/erofs';
import { buildImage } from './builder.js';
import { MemoryStore, maybeGunzip, tarSource, type TarOptions } from './fromtar.js';
import { TarError } from './tar.js';
import { tar, type TarSpec } from './testutil.js';

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function open(archive: Uint8Array, options: TarOptions = {}): Promise<{ img: Image; at: (p: string) => Inode | undefined; warnings: string[] }> {
  const warnings: string[] = [];
  const src = await tarSource(archive, { root: { mtime: 1000 }, onWarning: (m) => warnings.push(m), ...options });
  const img = new Image(new MemorySource(buildImage(src)));
  src.close();
  const at = (p: string) => {
    let ino = img.root();
    for (const name of p.split('/').filter(Boolean)) {
      const e = img.lookup(ino, name);
      if (!e) return undefined;
      ino = img.inode(e.nid);
    }
    return ino;
  };
  return { img, at, warnings };
}

const str = (b: string | Uint8Array) => (typeof b === 'string' ? b : text(b));
const xattrs = (img: Image, ino: Inode) => Object.fromEntries(img.listXattrs(ino).map((x) => [str(x.name), str(x.value)]));
const f = (path: string, data = '', more: Partial<TarSpec> = {}): TarSpec => ({ path, data, ...more });
const d = (path: string, more: Partial<TarSpec> = {}): TarSpec => ({ path, type: '5', mode: 0o755, ...more });

describe('tar entries applied as mkfs.erofs applies them', () => {
  it('the root: 0777 with the given owner and mtime when absent; its own metadata from "./"', async () => {
    const a = await open(tar(f('x')), { root: { uid: 5, gid: 6, mtime: 77 } });
    expect(a.img.root()).toMatchObject({ mode: 0o40777, uid: 5, gid: 6, mtime: 77 });
    const b = await open(tar(d('./', { mode: 0o700, uid: 1, mtime: 99, pax: [['SCHILY.xattr.user.r', 'root']] }), f('x')));
    expect(b.img.root()).toMatchObject({ mode: 0o40700, uid: 1, mtime: 99 });
    expect(xattrs(b.img, b.img.root())).toEqual({ 'user.r': 'root' });
    await expect(open(tar(f('.')))).rejects.toThrow(/entry "\." \(header at byte 0\): names the root directory but is not a directory/);
  });

  it('missing parents are made from their parent (0755 + its group/other write bits, owner, mtime) and updated by their own entry later', async () => {
    const { at } = await open(tar(d('./', { mode: 0o777, uid: 3, gid: 4, mtime: 50 }), f('a/b/file', 'x'), d('a', { mode: 0o711, uid: 9, mtime: 60 })));
    expect(at('a')).toMatchObject({ mode: 0o40711, uid: 9, gid: 0, mtime: 60 });
    expect(at('a/b')).toMatchObject({ mode: 0o40777, uid: 3, gid: 4, mtime: 50 });
  });

  it('replacement: a later entry wins, a directory over a directory keeps its children and first xattr values', async () => {
    const { img, at } = await open(
      tar(
        f('dup', 'one'),
        f('dup', 'two'),
        d('dir', { pax: [['SCHILY.xattr.user.a', '1']] }),
        f('dir/kid', 'k'),
        d('dir', { mode: 0o700, pax: [['SCHILY.xattr.user.a', '2'], ['SCHILY.xattr.user.b', '3']] }),
        f('gone/kid'),
        f('gone', 'a file now'),
      ),
    );
    expect(text(img.readFile(at('dup')!))).toBe('two');
    expect(at('dir')!.mode).toBe(0o40700);
    expect(at('dir/kid')).toBeTruthy();
    expect(xattrs(img, at('dir')!)).toEqual({ 'user.a': '1', 'user.b': '3' });
    expect(text(img.readFile(at('gone')!))).toBe('a file now');
  });

  it('hard links share an inode; a replaced target leaves the link on the old one; bad targets are errors', async () => {
    const { img, at } = await open(tar(f('h1', 'first'), { path: 'h2', type: '1', link: 'h1' }, { path: 'sub/h3', type: '1', link: './h1' }, f('h1', 'second')));
    expect(at('h2')!.nid).toBe(at('sub/h3')!.nid);
    expect(at('h2')!.nlink).toBe(2);
    expect(at('h1')!.nlink).toBe(1);
    expect(text(img.readFile(at('h2')!))).toBe('first');
    await expect(open(tar({ path: 'l', type: '1', link: 'nowhere' }))).rejects.toThrow(/entry "l" \(header at byte 0\): hard link target "nowhere" does not exist/);
    await expect(open(tar(d('d'), { path: 'l', type: '1', link: 'd' }))).rejects.toThrow(/hard link target "d" is a directory/);
    await expect(open(tar(f('file'), f('file/x')))).rejects.toThrow(/entry "file\/x" \(header at byte 512\): "file" in the path is not a directory/);
  });

  it('with aufs: .wh.NAME becomes a 0:0 character device of mode 0 and marks its directory; .wh..wh..opq makes it opaque', async () => {
    const archive = tar(d('./'), f('etc/.wh.motd', '', { uid: 7, mtime: 5 }), f('etc/apt/.wh..wh..opq'), f('etc/apt/new', 'n'), f('w/x'), f('w/.wh.x'), f('.wh..wh..opq'));
    const { img, at } = await open(archive, { aufs: true });
    expect(at('etc/motd')).toMatchObject({ mode: 0o20000, rdev: 0, uid: 7, mtime: 5 });
    expect(at('etc/.wh.motd')).toBeUndefined();
    expect(xattrs(img, at('etc')!)).toEqual({ 'trusted.overlay.origin': '' });
    expect(xattrs(img, at('etc/apt')!)).toEqual({ 'trusted.overlay.opaque': 'y' });
    expect(at('w/x')!.mode).toBe(0o20000);
    expect(xattrs(img, img.root())).toEqual({ 'trusted.overlay.opaque': 'y' });
    // Without aufs they are files of those names.
    const plain = await open(archive);
    expect(plain.at('etc/.wh.motd')!.mode).toBe(0o100644);
    expect(plain.at('etc/apt/.wh..wh..opq')).toBeTruthy();
    await expect(open(tar(f('a/.wh.')), { aufs: true })).rejects.toThrow(/whiteout of an empty name/);
  });

  it('files, symlinks, devices, fifos; sparse files read back with their holes', async () => {
    const map = [100, 3, 5000, 4];
    const { img, at } = await open(
      tar(
        f('file', 'content', { mode: 0o4751, uid: 70_000, gid: 80_000 }),
        { path: 'sym', type: '2', link: 'file' },
        { path: 'c', type: '3', devmajor: 4095, devminor: 1_048_575 },
        { path: 'b', type: '4', devmajor: 8, devminor: 1 },
        { path: 'p', type: '6' },
        { path: 's', type: 'S', format: 'gnu', data: 'abcDEFG', sparse: { map, realSize: 9000 } },
      ),
    );
    expect(at('file')).toMatchObject({ mode: 0o104751, uid: 70_000, gid: 80_000 });
    expect(text(img.readlink(at('sym')!))).toBe('file');
    expect(at('c')!.mode & 0o170000).toBe(0o20000);
    expect(at('b')!.mode & 0o170000).toBe(0o60000);
    expect(at('p')!.mode & 0o170000).toBe(0o10000);
    const want = new Uint8Array(9000);
    want.set(enc.encode('abc'), 100);
    want.set(enc.encode('DEFG'), 5000);
    expect(img.readFile(at('s')!)).toEqual(want);
  });

  it('refuses what EROFS cannot hold, naming the entry; skips unknown types and xattr prefixes with a warning', async () => {
    await expect(open(tar(f('n'.repeat(256), '', { longName: true, format: 'gnu' })))).rejects.toThrow(/name of 256 bytes/);
    await expect(open(tar({ path: 'c', type: '3', devmajor: 4096 }))).rejects.toThrow(/entry "c" .*does not fit/);
    await expect(open(tar({ path: 'l', type: '2', link: '' }))).rejects.toThrow(/entry "l" .*symlink target of 0 bytes/);
    const { at, warnings } = await open(tar({ path: 'dd', type: 'D' }, f('x', '', { pax: [['SCHILY.xattr.os2.x', 'v']] })));
    expect(at('dd')).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/type "D" skipped[\s\S]*xattr "os2\.x" has no prefix EROFS stores/);
  });
});

describe('index-only sources (--tar=i)', () => {
  it('files point into the archive as device 1: a device table, chunk indexes, no data in the image', async () => {
    const archive = tar(f('a', 'x'.repeat(3000)), f('b', 'small'), f('empty'), { path: 'l', type: '1', link: 'a' });
    const src = await tarSource(archive, { index: true, deviceTag: 'layer' });
    expect(src.devices).toEqual([{ size: archive.length, tag: 'layer' }]);
    const bytes = buildImage(src, { blockSize: 512 });
    src.close();
    const img = new Image(new MemorySource(bytes), { devices: [new MemorySource(archive)] });
    expect(img.sb.devices.map((d) => [d.blocks, text(d.tag), d.uniaddr])).toEqual([[archive.length / 512, 'layer', bytes.length / 512]]);
    const a = img.inode(img.lookup(img.root(), 'a')!.nid);
    expect(a.nlink).toBe(2);
    expect(text(img.readFile(a))).toBe('x'.repeat(3000));
    expect(text(img.readFile(img.inode(img.lookup(img.root(), 'b')!.nid)))).toBe('small');
    expect(bytes.length).toBeLessThan(3000);
    // 4 KiB blocks cannot address 512-byte aligned tar data.
    await expect(tarSource(archive, { index: true }).then((s) => buildImage(s))).rejects.toThrow(/file "\/a": its data at byte 512 of the device is not 4096-byte aligned/);
    await expect(tarSource(tar({ path: 's', type: 'S', format: 'gnu', data: 'ab', sparse: { map: [4, 2], realSize: 9 } }), { index: true })).rejects.toThrow(/entry "s" .*sparse entry cannot be indexed/);
  });
});

describe('stores and inputs', () => {
  it('MemoryStore keeps bytes across its pages', () => {
    const s = new MemoryStore();
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff);
    expect(s.append(new Uint8Array([1, 2, 3]))).toBe(0);
    expect(s.append(big)).toBe(3);
    const out = new Uint8Array(2 << 20);
    s.read(3 + 500_000, out);
    expect(Buffer.compare(out, big.subarray(500_000, 500_000 + out.length))).toBe(0);
    expect(() => s.read((3 << 20) + 1, new Uint8Array(4))).toThrow(/beyond/);
  });

  it('maybeGunzip passes plain input through and sends gzip (magic split over chunks) to the decoder', async () => {
    async function* chunks(...c: number[][]) {
      for (const x of c) yield new Uint8Array(x);
    }
    const seen: string[] = [];
    const fake = async function* (input: AsyncIterable<Uint8Array>) {
      for await (const c of input) seen.push([...c].join(','));
      yield new Uint8Array([9]);
    };
    const all = async (it: AsyncIterable<Uint8Array>) => {
      const out: number[] = [];
      for await (const c of it) out.push(...c);
      return out;
    };
    expect(await all(maybeGunzip(chunks([1], [2, 3]), fake))).toEqual([1, 2, 3]);
    expect(await all(maybeGunzip(chunks([0x1f], [0x8b, 8], [0]), fake))).toEqual([9]);
    expect(seen).toEqual(['31', '139,8', '0']);
    expect(await all(maybeGunzip(chunks(), fake))).toEqual([]);
  });

  it('a malformed archive is a TarError and the store is closed', async () => {
    let closed = false;
    const store = { append: () => 0, read: () => {}, close: () => (closed = true) };
    const cut = tar(f('a', 'x'.repeat(1000))).subarray(0, 900);
    await expect(tarSource(cut, { store })).rejects.toBeInstanceOf(TarError);
    expect(closed).toBe(true);
  });
});
