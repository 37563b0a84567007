import { describe, expect, it } from 'vitest';
import { padRegions } from '../../src/data/regions.js';

describe('padRegions', () => {
  const img = (objects: number, width: number) => ({
    rows: Float32Array.from({ length: (objects + 1) * width }, (_, i) => i + 1),
    objects: Array.from({ length: objects }, () => ({
      label: 'dog',
      classId: 16,
      score: 0.9,
      box: [0, 0, 1, 1] as [number, number, number, number],
    })),
  });

  it('pads each image to k regions and masks the padding', () => {
    const { regions, mask } = padRegions([img(1, 3), img(0, 3)], 3, 3);
    expect([...mask]).toEqual([1, 1, 0, 1, 0, 0]);
    expect([...regions.subarray(0, 6)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...regions.subarray(9, 12)]).toEqual([1, 2, 3]);
  });

  it('refuses regions of another width (a model trained on another region layout), saying what to do', () => {
    expect(() => padRegions([img(1, 4)], 3, 4)).toThrow(/8 values are not rows of the 3 the model reads: retrain/);
  });
});
