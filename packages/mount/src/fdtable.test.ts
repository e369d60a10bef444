/**
 * The descriptor table's allocator against a naive model (a set of numbers in use and a
 * scan from the floor), with fast-check: seed printed, FC_SEED=<seed> to replay, FC_RUNS=k
 * multiplies the runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SysError } from '@erofs-js/vfs';
import { FD_TABLE_LIMIT, FdTable } from './fdtable.js';
import { fcRuns } from '../../../tests/fc-runs.js';

/** What the table must answer, computed the slow, obvious way. */
class Model {
  readonly open = new Map<number, number>();
  constructor(
    readonly max: number,
    readonly reserved: ReadonlySet<number>,
  ) {}

  lowestFree(from: number): number | 'EMFILE' {
    for (let fd = Math.max(0, from); fd < this.max; fd++) if (!this.open.has(fd) && !this.reserved.has(fd)) return fd;
    return 'EMFILE';
  }
}

function free(t: FdTable<number>, from: number): number | 'EMFILE' {
  try {
    return t.lowestFree(from);
  } catch (e) {
    if (e instanceof SysError && e.code === 'EMFILE') return 'EMFILE';
    throw e;
  }
}

type Op =
  | { op: 'add'; from: number; times: number }
  | { op: 'set'; fd: number }
  | { op: 'delete'; fd: number }
  | { op: 'deleteRun'; fd: number; n: number };

describe('FdTable', () => {
  it('hands out the lowest free number at or above the floor, skipping reserved ones', () => {
    const t = new FdTable<string>(10, [0, 1, 2, 5]);
    expect(t.add('a')).toBe(3);
    expect(t.add('b')).toBe(4);
    expect(t.add('c')).toBe(6);
    expect(t.add('d', 8)).toBe(8);
    expect(t.set(7, 'e')).toBeUndefined();
    expect(t.set(7, 'f')).toBe('e');
    expect(t.fds()).toEqual([3, 4, 6, 7, 8]);
    expect(t.delete(4)).toBe('b');
    expect(t.delete(4)).toBeUndefined();
    expect(t.add('g')).toBe(4);
    expect(t.add('h')).toBe(9);
    expect(() => t.add('i')).toThrow(expect.objectContaining({ code: 'EMFILE' }));
    expect(() => t.lowestFree(10)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
    expect(t.size).toBe(6);
    expect(t.get(5)).toBeUndefined();
    expect(t.get(-1)).toBeUndefined();
    expect(t.get(1.5)).toBeUndefined();
    expect(t.get(Number.NaN)).toBeUndefined();
    expect(() => t.set(5, 'x')).toThrow(RangeError);
    expect(() => t.set(10, 'x')).toThrow(RangeError);
  });

  it('checks its limit', () => {
    expect(() => new FdTable(-1)).toThrow(RangeError);
    expect(() => new FdTable(1.5)).toThrow(RangeError);
    expect(() => new FdTable(FD_TABLE_LIMIT + 1)).toThrow(RangeError);
    expect(() => new FdTable(0).lowestFree()).toThrow(expect.objectContaining({ code: 'EMFILE' }));
    expect(new FdTable(FD_TABLE_LIMIT).lowestFree(FD_TABLE_LIMIT - 1)).toBe(FD_TABLE_LIMIT - 1);
  });

  it('a table with 2^20 - 1 reserved numbers finds the last one at once', () => {
    const max = 2 ** 20;
    const t = new FdTable<number>(max, Array.from({ length: max - 1 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      expect(t.add(i)).toBe(max - 1);
      t.delete(max - 1);
    }
    t.add(0);
    expect(() => t.add(1)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
  });

  it('fills and empties a table across every summary level', () => {
    const max = 40_000;
    const t = new FdTable<number>(max);
    for (let i = 0; i < max; i++) expect(t.add(i)).toBe(i);
    expect(() => t.add(0)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
    // Two holes at a time, at word and summary boundaries: the search must find each.
    for (const [a, b] of [[0, 39_999], [31, 32], [1023, 1024], [1024, 32 * 1024], [5, 39_998], [20_000, 20_001]]) {
      t.delete(b);
      t.delete(a);
      expect(t.lowestFree()).toBe(a);
      expect(t.lowestFree(a + 1)).toBe(b);
      expect(() => t.lowestFree(b + 1)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
      expect(t.add(-1)).toBe(a);
      expect(t.add(-1)).toBe(b);
    }
    for (let i = max - 1; i >= 0; i--) t.delete(i);
    expect(t.size).toBe(0);
    expect(t.lowestFree(12_345)).toBe(12_345);
  });

  const { runs } = fcRuns('fdtable');

  it('agrees with a naive model over random operations', () => {
    // Limits up to a few thousand cross the 1024-number boundary where a third level
    // appears; runs of adds and deletes fill and drain whole words.
    const table = fc
      .record({ max: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 5000 })), reserved: fc.array(fc.integer({ min: -5, max: 5100 }), { maxLength: 60 }), denseReserved: fc.option(fc.tuple(fc.nat(3000), fc.nat(2100))) })
      .chain((cfg) => {
        const bound = Math.max(cfg.max + 8, 8);
        const fd = fc.oneof(fc.integer({ min: -2, max: bound }), fc.constantFrom(0, 31, 32, 1023, 1024, 1025, 2047, 4095));
        const op: fc.Arbitrary<Op> = fc.oneof(
          { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), from: fc.oneof(fc.constant(0), fd), times: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 600 })) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), fd }) },
          { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), fd }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteRun' as const), fd, n: fc.integer({ min: 1, max: 300 }) }) },
        );
        return fc.tuple(fc.constant(cfg), fc.array(op, { maxLength: 40 }), fc.array(fd, { minLength: 1, maxLength: 8 }));
      });
    fc.assert(
      fc.property(table, ([cfg, ops, probes]) => {
        const reserved = new Set(cfg.reserved);
        if (cfg.denseReserved) for (let i = 0; i < cfg.denseReserved[1]; i++) reserved.add(cfg.denseReserved[0] + i);
        const t = new FdTable<number>(cfg.max, reserved);
        const m = new Model(cfg.max, reserved);
        let serial = 0;
        for (const o of ops) {
          if (o.op === 'add') {
            for (let k = 0; k < o.times; k++) {
              const want = m.lowestFree(o.from);
              if (want === 'EMFILE') {
                expect(() => t.add(serial, o.from)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
                break;
              }
              expect(t.add(serial, o.from)).toBe(want);
              m.open.set(want, serial++);
            }
          } else if (o.op === 'set') {
            if (!(o.fd >= 0 && o.fd < cfg.max) || reserved.has(o.fd)) {
              expect(() => t.set(o.fd, serial)).toThrow(RangeError);
              continue;
            }
            expect(t.set(o.fd, serial)).toBe(m.open.get(o.fd));
            m.open.set(o.fd, serial++);
          } else {
            const n = o.op === 'delete' ? 1 : o.n;
            for (let fd = o.fd; fd < o.fd + n; fd++) {
              expect(t.delete(fd)).toBe(m.open.get(fd));
              m.open.delete(fd);
            }
          }
          for (const p of probes) expect(free(t, p), `lowest free from ${p}`).toBe(m.lowestFree(p));
        }
        expect(t.size).toBe(m.open.size);
        expect(t.fds()).toEqual([...m.open.keys()].sort((a, b) => a - b));
        for (const [fd, v] of m.open) expect(t.get(fd)).toBe(v);
      }),
      runs(300),
    );
  });
});
