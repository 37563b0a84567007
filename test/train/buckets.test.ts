import { describe, expect, it } from 'vitest';
import { lengthBuckets } from '../../src/train/buckets.js';
import { rng } from '../../src/util/random.js';

describe('lengthBuckets', () => {
  it('uses every item once, in batches of similar length, in a seeded order', () => {
    const random = rng(1);
    const items = Array.from({ length: 200 }, (_, i) => ({ i, n: 1 + Math.floor(random() * 20) }));
    const groups = lengthBuckets(items, (x) => x.n, 10, rng(2), 4);
    expect(
      groups
        .flat()
        .map((x) => x.i)
        .sort((a, b) => a - b),
    ).toEqual(items.map((x) => x.i));
    expect(groups.every((g) => g.length === 10)).toBe(true);
    const spread = groups.reduce((s, g) => s + Math.max(...g.map((x) => x.n)) - Math.min(...g.map((x) => x.n)), 0) / groups.length;
    expect(spread).toBeLessThan(5); // unsorted batches of 10 would span most of 1–20
    expect(lengthBuckets(items, (x) => x.n, 10, rng(2), 4)).toEqual(groups);
  });
});
