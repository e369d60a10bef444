import { describe, expect, it } from 'vitest';
import { openFixture, FIXTURES, nodeAt, readJsonl } from '../../../tests/fixtures.js';
import { COMPAT, INCOMPAT } from './superblock.js';
import { filterSaysAbsent, parsePrefixTable } from './xattr.js';
import { walk } from './walk.js';
import { ErofsError } from './errors.js';

const enc = new TextEncoder();

describe('xattrs on real images', () => {
  it('getXattr finds every listed name with the listed value, inline and shared', () => {
    const image = openFixture('basic-18.erofs');
    let inline = 0;
    let shared = 0;
    walk(image, (e) => {
      for (const x of image.listXattrs(e.inode)) {
        expect(Buffer.compare(image.getXattr(e.inode, x.name)!, x.value)).toBe(0);
        if (x.shared) shared++;
        else inline++;
      }
      expect(image.getXattr(e.inode, 'user.definitely-not-here')).toBeUndefined();
    });
    expect(inline).toBeGreaterThan(10);
    expect(shared).toBeGreaterThan(10);
  });

  it('the name filter is in use by default in mkfs 1.8 images and never hides a present name', () => {
    const image = openFixture('basic-18.erofs');
    expect(image.sb.featureCompat & COMPAT.XATTR_FILTER).toBeTruthy();
    let ruledOut = 0;
    walk(image, (e) => {
      if (e.inode.xattrIcount === 0) return;
      const h = image.metaView(false, e.inode.pos + e.inode.inodeSize, 4);
      const filter = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
      for (const x of image.listXattrs(e.inode)) expect(filterSaysAbsent(filter, x.nameBytes)).toBe(false);
      for (let k = 0; k < 20; k++) if (filterSaysAbsent(filter, enc.encode(`user.absent-${k}`))) ruledOut++;
    });
    // If the hash were wrong, present names would be reported absent above; if it were
    // ignored, nothing would be ruled out here.
    expect(ruledOut).toBeGreaterThan(100);
  });

  it('expands long prefixes stored in the packed inode and in a plain table', () => {
    for (const [name, plain] of [['basic-18-xprefix.erofs', false], ['basic-19-xprefix-plain.erofs', true]] as const) {
      const image = openFixture(name);
      expect(image.sb.featureIncompat & INCOMPAT.XATTR_PREFIXES).toBeTruthy();
      expect(Boolean(image.sb.featureCompat & COMPAT.PLAIN_XATTR_PFX)).toBe(plain);
      const prefixes = image.longPrefixes().map((p) => new TextDecoder().decode(p.prefix));
      expect(prefixes).toContain('trusted.overlay.');
      const truth = readJsonl<{ path: string; xattrs?: Record<string, string> }>(FIXTURES + name.replace('.erofs', '.manifest.jsonl'));
      const withOverlay = truth.filter((r) => r.xattrs && Object.keys(r.xattrs).some((k) => k.startsWith('trusted.overlay.')));
      expect(withOverlay.length).toBeGreaterThan(0);
      for (const r of withOverlay) {
        const inode = nodeAt(image, r.path);
        for (const [k, v] of Object.entries(r.xattrs!)) expect(Buffer.from(image.getXattr(inode, k)!).toString('base64')).toBe(v);
      }
    }
  });

  it('images without xattrs answer empty lists', () => {
    const image = openFixture('basic-18-noxattr.erofs');
    walk(image, (e) => expect(image.listXattrs(e.inode)).toEqual([]));
  });
});

describe('parsePrefixTable', () => {
  const table = (records: number[][]) => {
    const out: number[] = [];
    for (const r of records) {
      out.push(r.length & 0xff, r.length >> 8, ...r);
      while (out.length % 4) out.push(0);
    }
    return new Uint8Array(out);
  };
  const reader = (b: Uint8Array) => (p: number, l: number) => {
    if (p + l > b.length) throw new ErofsError('EUCLEAN', 't', p, 'past end');
    return b.subarray(p, p + l);
  };

  it('joins the built-in prefix and the infix, records 4-aligned', () => {
    const b = table([[4, ...enc.encode('overlay.')], [1, ...enc.encode('x')]]);
    const p = parsePrefixTable(reader(b), 0, 2, 't');
    expect(p.map((x) => new TextDecoder().decode(x.prefix))).toEqual(['trusted.overlay.', 'user.x']);
  });

  it('refuses zero lengths and unknown base indexes', () => {
    expect(() => parsePrefixTable(reader(new Uint8Array(8)), 0, 1, 't')).toThrow(/length 0/);
    expect(() => parsePrefixTable(reader(table([[9, 65]])), 0, 1, 't')).toThrow(/base index 9/);
    expect(() => parsePrefixTable(reader(table([[1, 65]])), 0, 2, 't')).toThrow(ErofsError);
  });
});
