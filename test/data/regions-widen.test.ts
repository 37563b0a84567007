import { describe, expect, it } from 'vitest';
import {
  decodeRegionSet,
  encodeRegionSet,
  imageRegions,
  regionOffsets,
  widenRegionRows,
  widenRegionSet,
  type RegionSet,
} from '../../src/data/regions.js';
import { roiAveragePool, type Box } from '../../src/encoder/regions.js';
import type { DetectedObject } from '../../src/encoder/types.js';

const object = (box: Box): DetectedObject => ({ label: 'dog', classId: 16, score: 0.9, box: [...box] });

describe('widening a region cache with a second grid (the grid screen)', () => {
  it('puts the second grid after the first one, before the rest of each row', () => {
    // Two rows of [2 pooled | 1 rest], a second grid of 3 channels.
    const rows = Float32Array.from([1, 2, 9, 3, 4, 8]);
    const extra = Float32Array.from([10, 11, 12, 13, 14, 15]);
    expect([...widenRegionRows(rows, 3, 2, extra, 3)]).toEqual([1, 2, 10, 11, 12, 9, 3, 4, 13, 14, 15, 8]);
    expect(() => widenRegionRows(rows, 3, 2, extra.subarray(0, 3), 3)).toThrow(/not 1 rows of 3/);
  });

  it("pools each image's grid in its detection boxes and the whole image, row by row, and keeps everything else", async () => {
    const C = 2;
    const dim = C + 3;
    const detections = [[object([0, 0, 0.5, 0.5]), object([0.25, 0.5, 0.75, 0.5])], [], [object([0.5, 0, 0.5, 1])]];
    const rows = detections.reduce((n, d) => n + d.length + 1, 0);
    const set: RegionSet = {
      encoder: 'a+b',
      dim,
      grid: [2, 2, C],
      minScore: 0.1,
      maxRegions: 16,
      keys: ['x.jpg', 'y.jpg', 'z.jpg'],
      detections,
      data: Float32Array.from({ length: rows * dim }, (_, i) => i),
    };
    // Image i's second grid: 2×2 cells of 3 channels, each value distinct.
    const grids = detections.map((_, i) => Float32Array.from({ length: 2 * 2 * 3 }, (_, j) => 100 * (i + 1) + j * j));
    const wide = await widenRegionSet(set, 'a+b+g', async (i) => ({ grid: grids[i]!, gridShape: [2, 2, 3] }));
    expect(wide).toMatchObject({ encoder: 'a+b+g', dim: dim + 3, grid: [2, 2, C + 3], keys: set.keys, detections });
    const [before, after] = [regionOffsets(set), regionOffsets(wide)];
    detections.forEach((d, i) => {
      const old = imageRegions(set, before, i);
      const got = imageRegions(wide, after, i);
      const pooled = roiAveragePool(
        grids[i]!,
        2,
        2,
        3,
        d.map((o) => o.box),
      );
      for (let r = 0; r <= d.length; r++) {
        const row = got.subarray(r * (dim + 3), (r + 1) * (dim + 3));
        expect([...row.subarray(0, C)]).toEqual([...old.subarray(r * dim, r * dim + C)]);
        expect([...row.subarray(C, C + 3)]).toEqual([...pooled.subarray(r * 3, (r + 1) * 3)]);
        expect([...row.subarray(C + 3)]).toEqual([...old.subarray(r * dim + C, (r + 1) * dim)]);
      }
    });
    // The whole image's row is the grid's mean.
    const mean = (c: number) => [0, 1, 2, 3].reduce((s, k) => s + grids[1]![k * 3 + c]!, 0) / 4;
    expect([...imageRegions(wide, after, 1).subarray(C, C + 3)].map((v) => +v.toFixed(4))).toEqual(
      [0, 1, 2].map((c) => +mean(c).toFixed(4)),
    );
    expect(decodeRegionSet(encodeRegionSet(wide))).toEqual(wide);
  });
});
