import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/features.js';
import { PAD_ID } from '../text/vocab.js';
import { featureTensor, type ParamGrads } from '../train/gradients.js';
import { shuffle } from '../util/random.js';
import type { CaptionModel } from './model.js';

/** One training example: a row of the feature cache and a token sequence. */
export interface Example {
  featureRow: number;
  /** <start> … <end> */
  ids: number[];
}

export interface Batch {
  featureRows: number[];
  /** [B, T+1] int32, padded with <pad>. */
  tokens: Int32Array;
  /** [B, T] 1 where tokens[:, 1:] is a real target. */
  mask: Float32Array;
  size: number;
  steps: number;
  /** Real target tokens in the batch. */
  targets: number;
}

/** Pad a group of examples into dense arrays. */
export function makeBatch(examples: readonly Example[]): Batch {
  const B = examples.length;
  const T1 = Math.max(...examples.map((e) => e.ids.length));
  const T = T1 - 1;
  const tokens = new Int32Array(B * T1).fill(PAD_ID);
  const mask = new Float32Array(B * T);
  let targets = 0;
  examples.forEach((e, b) => {
    tokens.set(e.ids, b * T1);
    mask.fill(1, b * T, b * T + e.ids.length - 1);
    targets += e.ids.length - 1;
  });
  return { featureRows: examples.map((e) => e.featureRow), tokens, mask, size: B, steps: T, targets };
}

/**
 * Shuffle, then sort within windows of `window` batches by length, so each
 * batch wastes little on padding while batch order stays random.
 */
export function lengthBuckets<T>(
  items: readonly T[],
  length: (item: T) => number,
  batchSize: number,
  random: () => number,
  window = 50,
): T[][] {
  const order = shuffle([...items], random);
  const groups: T[][] = [];
  const span = batchSize * window;
  for (let i = 0; i < order.length; i += span) {
    const chunk = order.slice(i, i + span).sort((a, b) => length(a) - length(b));
    for (let j = 0; j < chunk.length; j += batchSize) groups.push(chunk.slice(j, j + batchSize));
  }
  return shuffle(groups, random);
}

/** Length-bucketed batches of caption examples (lengthBuckets). */
export function bucketedBatches(examples: readonly Example[], batchSize: number, random: () => number, window = 50): Batch[] {
  return lengthBuckets(examples, (e) => e.ids.length, batchSize, random, window).map(makeBatch);
}

/** Mean-per-token loss and its gradients for one batch. Caller disposes the grads. */
export function batchGradients(model: CaptionModel, batch: Batch, features: FeatureSet, seed: number): { loss: number; grads: ParamGrads } {
  const feats = featureTensor(features, batch.featureRows);
  const tokens = tf.tensor2d(batch.tokens, [batch.size, batch.steps + 1], 'int32');
  const mask = tf.tensor2d(batch.mask, [batch.size, batch.steps]);
  const names = Object.keys(model.params) as (keyof CaptionModel['params'])[];
  const { value, grads } = tf.variableGrads(
    () => model.loss(feats, tokens, mask, seed),
    names.map((n) => model.params[n]),
  );
  const loss = value.dataSync()[0]!;
  tf.dispose([feats, tokens, mask, value]);
  return { loss, grads: Object.fromEntries(names.map((n) => [n, grads[model.params[n].name]!])) };
}
