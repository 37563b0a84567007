import { describe, expect, it } from 'vitest';
import { argmax, pickToken, sampleIndex, topIndices } from '../../src/search/index.js';
import { rng } from '../../src/util/random.js';

const lp = Float32Array.from([0.1, 0.5, 0.2, 0.15, 0.05].map(Math.log));

describe('picking a token', () => {
  it('argmax and topIndices (ties: lower index first)', () => {
    expect(argmax(lp)).toBe(1);
    expect(argmax(Float32Array.of(2, 7, 7))).toBe(1);
    expect(topIndices(lp, 2)).toEqual([1, 2]);
    expect(topIndices(Float32Array.of(1, 3, 3, 0), 3)).toEqual([1, 2, 0]);
  });

  it('pickToken: argmax at T=0, only top-k indices otherwise', () => {
    expect(pickToken(lp, { temperature: 0, topK: 0 }, rng(1))).toBe(1);
    const random = rng(5);
    const seen = new Set(Array.from({ length: 300 }, () => pickToken(lp, { temperature: 1, topK: 2 }, random)));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('sampleIndex draws in proportion to the probabilities at T=1, flatter at higher T', () => {
    const count = (temperature: number) => {
      const random = rng(11);
      const n = new Array<number>(lp.length).fill(0);
      for (let i = 0; i < 20000; i++) n[sampleIndex(lp, temperature, random)]!++;
      return n.map((c) => c / 20000);
    };
    count(1).forEach((f, i) => expect(f).toBeCloseTo(Math.exp(lp[i]!), 1));
    const hot = count(5);
    expect(hot[1]!).toBeLessThan(0.3);
    expect(hot[4]!).toBeGreaterThan(0.1);
  });
});
