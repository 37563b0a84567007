import { describe, expect, it } from 'vitest';
import { rng, shuffle } from '../../src/util/random.js';

describe('rng and shuffle', () => {
  it('the same seed gives the same stream, another seed another; values lie in [0, 1)', () => {
    const a = rng(7);
    const b = rng(7);
    const c = rng(8);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it('shuffle permutes in place, reproducibly', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const once = shuffle([...items], rng(1));
    expect(once).not.toEqual(items);
    expect([...once].sort((x, y) => x - y)).toEqual(items);
    expect(shuffle([...items], rng(1))).toEqual(once);
  });
});
