import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/features.js';

/** Rows of the feature cache as a [rows, dim] tensor. */
export function featureTensor(features: FeatureSet, rows: readonly number[]): tf.Tensor2D {
  const data = new Float32Array(rows.length * features.dim);
  rows.forEach((r, i) => data.set(features.data.subarray(r * features.dim, (r + 1) * features.dim), i * features.dim));
  return tf.tensor2d(data, [rows.length, features.dim]);
}
