import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { InputStats } from './blocks.js';

/**
 * Config fields of a model that reads image vectors: the encoder and its
 * width, and the per-dimension mean and std of the training features. The
 * models standardise v before using it, so the part that differs between
 * images is not swamped by what all images share.
 */
export const imageInputFields = {
  encoder: z.string().min(1),
  featureDim: z.number().int().positive(),
  featureMean: z.array(z.number()).optional(),
  featureStd: z.array(z.number().positive()).optional(),
};

export interface ImageInputConfig {
  featureDim: number;
  featureMean?: number[];
  featureStd?: number[];
}

export interface FeatureNorm {
  mean: tf.Tensor1D;
  std: tf.Tensor1D;
}

/** The standardisation tensors a config describes, or undefined when it has no statistics. */
export function featureNorm(config: ImageInputConfig): FeatureNorm | undefined {
  const { featureMean, featureStd, featureDim } = config;
  if (!featureMean || !featureStd) return undefined;
  if (featureMean.length !== featureDim || featureStd.length !== featureDim) {
    throw new Error(`feature statistics have ${featureMean.length}/${featureStd.length} values; featureDim is ${featureDim}`);
  }
  return { mean: tf.tensor1d(featureMean), std: tf.tensor1d(featureStd) };
}

/** The statistics a config describes, checked against its width, or undefined when it has none. */
export function inputStats(config: ImageInputConfig): InputStats | undefined {
  const { featureMean, featureStd, featureDim } = config;
  if (!featureMean || !featureStd) return undefined;
  if (featureMean.length !== featureDim || featureStd.length !== featureDim) {
    throw new Error(`feature statistics have ${featureMean.length}/${featureStd.length} values; featureDim is ${featureDim}`);
  }
  return { mean: featureMean, std: featureStd };
}

/** (v - mean) / std, or v itself without statistics. */
export function standardize(features: tf.Tensor2D, norm: FeatureNorm | undefined): tf.Tensor2D {
  return norm ? (tf.div(tf.sub(features, norm.mean), norm.std) as tf.Tensor2D) : features;
}

/** Per-dimension mean and std of the given feature rows (std floored so dead units stay finite). */
export function featureStats(data: Float32Array, dim: number, rows: Iterable<number>): { mean: number[]; std: number[] } {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const r of rows) {
    for (let k = 0; k < dim; k++) {
      const x = data[r * dim + k]!;
      sum[k] = sum[k]! + x;
      sq[k] = sq[k]! + x * x;
    }
    n++;
  }
  const mean = Array.from(sum, (s) => s / Math.max(n, 1));
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / Math.max(n, 1) - mean[k]! ** 2, 0)));
  return { mean, std: std.map((s) => (s > 1e-3 ? s : 1)) };
}
