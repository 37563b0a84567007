import * as tf from '@tensorflow/tfjs';
import type { CaptionModel } from '../caption/model.js';
import type { FeatureSet } from '../data/features.js';
import { clipByGlobalNorm } from '../nn/ops.js';
import type { Batch } from './batches.js';

/** Rows of the feature cache as a [rows, dim] tensor. */
export function featureTensor(features: FeatureSet, rows: readonly number[]): tf.Tensor2D {
  const data = new Float32Array(rows.length * features.dim);
  rows.forEach((r, i) => data.set(features.data.subarray(r * features.dim, (r + 1) * features.dim), i * features.dim));
  return tf.tensor2d(data, [rows.length, features.dim]);
}

/** Gradients keyed by parameter name (embed, w, …), so threads agree on them. */
export type ParamGrads = Record<string, tf.Tensor>;

/** Mean-per-token loss and its gradients for one batch. Caller disposes the grads. */
export function batchGradients(model: CaptionModel, batch: Batch, features: FeatureSet, seed: number): { loss: number; grads: ParamGrads } {
  const feats = featureTensor(features, batch.featureRows);
  const tokens = tf.tensor2d(batch.tokens, [batch.size, batch.steps + 1], 'int32');
  const mask = tf.tensor2d(batch.mask, [batch.size, batch.steps]);
  const names = Object.keys(model.params) as (keyof CaptionModel['params'])[];
  const { value, grads } = tf.variableGrads(() => model.loss(feats, tokens, mask, seed), names.map((n) => model.params[n]));
  const loss = value.dataSync()[0]!;
  tf.dispose([feats, tokens, mask, value]);
  return { loss, grads: Object.fromEntries(names.map((n) => [n, grads[model.params[n].name]!])) };
}

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
