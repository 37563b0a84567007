import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/features.js';
import { clipByGlobalNorm } from '../nn/ops.js';

/** Rows of the feature cache as a [rows, dim] tensor. */
export function featureTensor(features: FeatureSet, rows: readonly number[]): tf.Tensor2D {
  const data = new Float32Array(rows.length * features.dim);
  rows.forEach((r, i) => data.set(features.data.subarray(r * features.dim, (r + 1) * features.dim), i * features.dim));
  return tf.tensor2d(data, [rows.length, features.dim]);
}

/** Gradients keyed by parameter name (embed, w, …), so threads agree on them. */
export type ParamGrads = Record<string, tf.Tensor>;

/** Clip by global norm and take one optimizer step on `variables` (keyed like `grads`). Disposes `grads`. */
export function applyGradients(variables: Record<string, tf.Variable>, optimizer: tf.Optimizer, grads: ParamGrads, clip: number): number {
  const clipped = clipByGlobalNorm(grads, clip);
  const byVariable: tf.NamedTensorMap = {};
  for (const [name, g] of Object.entries(clipped.grads)) {
    const v = variables[name];
    if (!v) throw new Error(`gradient for unknown parameter ${name}`);
    byVariable[v.name] = g;
  }
  optimizer.applyGradients(byVariable);
  tf.dispose([...Object.values(grads), ...Object.values(clipped.grads)]);
  return clipped.norm;
}
