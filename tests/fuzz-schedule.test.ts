/**
 * The fuzzer's time-sharing (tools/fuzz-targets.ts pickTarget), as the README states it: the
 * whole-image walk gets its guaranteed share of the time however slow it is per input, and
 * the other targets split the rest equally however fast or slow each is.
 */
import { describe, expect, it } from 'vitest';
import { TARGETS, pickTarget } from '../tools/fuzz-targets.js';

/** Simulated run: per-target cost of one input in ms; returns each target's share of the time. */
function simulate(cost: number[], walkIndex: number, walkShare: number, inputs = 200_000): number[] {
  const spent = new Float64Array(cost.length);
  for (let n = 0; n < inputs; n++) {
    const t = pickTarget(spent, walkIndex, walkShare);
    spent[t] += cost[t];
  }
  const total = spent.reduce((a, b) => a + b, 0);
  return [...spent].map((s) => s / total);
}

describe('fuzz schedule', () => {
  const walk = TARGETS.indexOf('walk');
  // Costs like the hour-long run's: a walk ~25 ms, the parsers and codecs 0.05-1.4 ms.
  const cost = TARGETS.map((t) => (t === 'walk' ? 25 : t === 'lzma' ? 1.4 : t === 'zindex' ? 0.8 : 0.05 + 0.1 * t.length));

  it('the walk gets its share (default a quarter) and the others split the rest equally', () => {
    for (const share of [0.25, 0.5, 0.1]) {
      const got = simulate(cost, walk, share);
      expect(got[walk]).toBeCloseTo(share, 2);
      const rest = (1 - share) / (TARGETS.length - 1);
      got.forEach((g, k) => {
        if (k !== walk) expect(Math.abs(g - rest), TARGETS[k]).toBeLessThan(0.01);
      });
    }
  });

  it('without a walk share, or without the walk target, time is split equally', () => {
    const equal = 1 / TARGETS.length;
    for (const g of simulate(cost, -1, 0.25)) expect(Math.abs(g - equal)).toBeLessThan(0.01);
    // A target with no inputs (Infinity) is never picked.
    const spent = new Float64Array(TARGETS.length);
    spent[2] = Infinity;
    for (let n = 0; n < 100; n++) {
      const t = pickTarget(spent, walk, 0.25);
      expect(t).not.toBe(2);
      spent[t] += cost[t];
    }
  });
});
