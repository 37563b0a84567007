import { describe, expect, it } from 'vitest';
import { columnStats, consensus, nearest, standardizeRows } from '../../src/eval/retrieval.js';

describe('nearest-neighbour caption retrieval', () => {
  it('standardises columns, so a large-scale column does not drown the others', () => {
    // Column 0 spans thousands, column 1 units: raw cosine would follow column 0 only.
    const train = new Float32Array([1000, 1, 3000, 1, 1000, 5, 3000, 5]);
    const stats = columnStats(train, 2);
    expect(Array.from(stats.mean)).toEqual([2000, 3]);
    const base = standardizeRows(train, 2, stats);
    for (let r = 0; r < 4; r++) expect(Math.hypot(base[2 * r]!, base[2 * r + 1]!)).toBeCloseTo(1, 5);
    const query = standardizeRows(new Float32Array([1000, 5]), 2, stats);
    expect(nearest(base, query, 2, 2)).toEqual([2, 0]);
  });

  it('returns the k best rows, best first', () => {
    const base = new Float32Array([1, 0, 0, 1, Math.SQRT1_2, Math.SQRT1_2, -1, 0]);
    expect(nearest(base, new Float32Array([1, 0]), 2, 3)).toEqual([0, 2, 1]);
    expect(nearest(base, new Float32Array([0, 1]), 2, 1)).toEqual([1]);
  });

  it('picks the caption most like the others', () => {
    const pool = [
      'a cat sleeps on a red sofa',
      'a dog runs through the grass',
      'a brown dog runs on the grass',
      'the dog runs through green grass',
    ].map((s) => s.split(' '));
    expect(consensus(pool)).toBe(1);
    expect(consensus([['alone']])).toBe(0);
  });
});
