import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/features.js';
import { PAD_ID } from '../text/vocab.js';
import { lengthBuckets } from '../train/buckets.js';
import { featureTensor } from '../train/features.js';
import type { RowBatch } from '../train/spec.js';

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

/** Length-bucketed batches of caption examples (lengthBuckets). */
export function bucketedBatches(examples: readonly Example[], batchSize: number, random: () => number, window = 50): Batch[] {
  return lengthBuckets(examples, (e) => e.ids.length, batchSize, random, window).map(makeBatch);
}

/** Rows [from, to) of a padded batch (its padded length kept). */
export function sliceBatch(b: Batch, from: number, to: number): Batch {
  const T1 = b.steps + 1;
  const mask = b.mask.slice(from * b.steps, to * b.steps);
  return {
    featureRows: b.featureRows.slice(from, to),
    tokens: b.tokens.slice(from * T1, to * T1),
    mask,
    size: to - from,
    steps: b.steps,
    targets: mask.reduce((n, m) => n + m, 0),
  };
}

/** A batch as the gradient step takes it: captions as rows, each share packed with its image vectors (spec.ts's loss). */
export function captionRows(batch: Batch, features: FeatureSet): RowBatch {
  return {
    rows: batch.size,
    shard(from, to) {
      const b = from === 0 && to === batch.size ? batch : sliceBatch(batch, from, to);
      return {
        items: b.targets,
        tensors: {
          feats: featureTensor(features, b.featureRows),
          tokens: tf.tensor2d(b.tokens, [b.size, b.steps + 1], 'int32'),
          mask: tf.tensor2d(b.mask, [b.size, b.steps]),
        },
      };
    },
  };
}
