import * as tf from '@tensorflow/tfjs';
import type { FeaturesWithGrid } from './types.js';

/**
 * An encodeWithGrid result from one forward pass's pooled features [N, dim] and the grid [N, S_h, S_w, C]
 * they average: both read back, both disposed (on every path).
 */
export async function readFeaturesWithGrid(features: tf.Tensor, grid: tf.Tensor4D): Promise<FeaturesWithGrid> {
  try {
    const [f, g] = (await Promise.all([features.data(), grid.data()])) as [Float32Array, Float32Array];
    const [, S_h, S_w, C] = grid.shape;
    return { features: f, grid: g, gridShape: [S_h, S_w, C] };
  } finally {
    tf.dispose([features, grid]);
  }
}
