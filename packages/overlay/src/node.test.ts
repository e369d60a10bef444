import { describe, expect, it } from 'vitest';
import { dir, file } from '@erofs-js/mkfs';
import { Filesystem, ROOT } from '@erofs-js/vfs';
import { b, code, overlay, walk } from './testutil.js';
import { keyHash, type OvlNode } from './node.js';

function wide(n: number) {
  const entries: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < n; i++) entries[`f${i}`] = file(`${i}`);
  return dir({ d: dir(entries) });
}

describe('overlay nodes', () => {
  it('are cached up to the capacity: a walk of many files keeps memory bounded and gives lower dentries back', () => {
    const ov = overlay([wide(500)], {}, { cacheSize: 16 });
    const d = walk(ov, 'd') as OvlNode;
    for (let i = 0; i < 500; i++) ov.lookup(d, b(`f${i}`), ROOT).decRef();
    expect(ov.stats().parked).toBeLessThanOrEqual(16);
    expect(ov.stats().nodes).toBeLessThanOrEqual(16 + 2);
    expect(ov.stats().evictions).toBeGreaterThan(400);
    const erofs = ov.layers[0].fs as Filesystem;
    expect(erofs.stats().dentriesPinned).toBeLessThanOrEqual(16 + 3);
    d.decRef();
  });

  it('keep names of one hash apart (found by key and by bytes, either one removed)', () => {
    expect(keyHash('g83')).toBe(keyHash('gmia'));
    const ov = overlay([dir({ g83: file('one'), gmia: file('two') })]);
    const one = walk(ov, 'g83') as OvlNode;
    const two = walk(ov, 'gmia') as OvlNode;
    expect(one).not.toBe(two);
    const root = ov.root;
    expect(root.child('g83')).toBe(one);
    expect(root.childBytes(b('xgmiax'), 1, 5)).toBe(two);
    expect(ov.lookupBytes(root, b('g83'), 0, 3, ROOT)).toBe(one);
    one.decRef();
    ov.unlink(root, b('g83'), ROOT);
    expect(root.child('g83')).toBeUndefined();
    expect(root.child('gmia')).toBe(two);
    one.decRef();
    two.decRef();
  });

  it('give the same node for a name while cached, and a held node stays valid after its name is gone', () => {
    const ov = overlay([dir({ a: file('a'), sub: dir({ x: file('x') }) })]);
    const a1 = walk(ov, 'a');
    const a2 = walk(ov, 'a');
    expect(a1).toBe(a2);
    a2.decRef();
    ov.unlink(ov.root, b('a'), ROOT);
    expect(a1.parent).toBeNull();
    expect(ov.stat(a1 as OvlNode).size).toBe(1);
    const again = code(() => walk(ov, 'a'));
    expect(again).toBe('ENOENT');
    a1.decRef();
    expect(() => a1.decRef()).toThrow(/released more times/);
  });

  it('follow renames: a held node reads its new parent and name', () => {
    const ov = overlay([dir({ d1: dir({}) })]);
    ov.mkdir(ov.root, b('up'), 0o755, ROOT);
    const f = ov.create(walk(ov, 'up') as OvlNode, b('f'), 0o644, ROOT);
    const d1 = walk(ov, 'd1') as OvlNode;
    const up = f.parent!;
    ov.rename(up, b('f'), d1, b('g'), 0, ROOT);
    expect(f.parent).toBe(d1);
    expect(f.key).toBe('g');
    expect(walk(ov, 'd1/g')).toBe(f);
    f.decRef();
    f.decRef();
    d1.decRef();
    up.decRef();
  });

  it('make release EBUSY while one is held, and give everything back after', () => {
    const ov = overlay([dir({ a: file('a') })]);
    const a = walk(ov, 'a');
    expect(code(() => ov.release())).toBe('EBUSY');
    a.decRef();
    ov.release();
    expect(ov.upper.isReleased).toBe(true);
    expect((ov.layers[0].fs as Filesystem).isReleased).toBe(true);
    expect(code(() => ov.statfs())).toBe('EIO');
  });
});
