import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { REGION_CLIP, regionInput } from '../../../src/nn/attention.js';
import { tfOps } from '../../../src/nn/tensor-ops.js';
import { initBackend } from '../../../src/nn/backend.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('regionInput', () => {
  it('standardises each value and clips it to ±REGION_CLIP', () => {
    const stats = { mean: [1, 0, 0.5], std: [2, 0.01, 1] };
    // z-scores: (11 − 1)/2 = 5 → 5; 3/0.01 = 300 → clipped; (0.5 − 0.5)/1 = 0; (−9 − 1)/2 = −5; −3/0.01 → clipped.
    const x = tf.tensor3d([11, 3, 0.5, -9, -3, 2.5], [1, 2, 3]);
    const out = (regionInput(tfOps, x, stats) as tf.Tensor).dataSync();
    expect(Array.from(out)).toEqual([5, REGION_CLIP, 0, -5, -REGION_CLIP, 2].map((v) => Math.fround(v)));
    tf.dispose(x);
  });

  it('passes the regions through untouched without statistics', () => {
    const x = tf.tensor3d([100, -100], [1, 1, 2]);
    expect(regionInput(tfOps, x, undefined)).toBe(x);
    x.dispose();
  });
});
