import * as tf from '@tensorflow/tfjs';
import { regionTensors } from '../../data/regions.js';
import type { SelectedRegions } from '../../encoder/regions.js';
import { PAD_ID } from '../../text/vocab.js';
import type { RowBatch } from '../../train/spec.js';

/** One training caption: its image's index and <start> ids… <end>. */
export interface AttentionExample {
  image: number;
  ids: number[];
}

/** Teacher-forcing tensors of captions: tokens [B, T+1] (<start> … <end> <pad>…) and mask [B, T] over the targets. */
export function tokenTensors(captions: readonly (readonly number[])[]): { tokens: tf.Tensor2D; mask: tf.Tensor2D } {
  const B = captions.length;
  const T1 = Math.max(...captions.map((c) => c.length));
  const tokens = new Int32Array(B * T1).fill(PAD_ID);
  const mask = new Float32Array(B * (T1 - 1));
  captions.forEach((ids, b) => {
    tokens.set(ids, b * T1);
    mask.fill(1, b * (T1 - 1), b * (T1 - 1) + ids.length - 1);
  });
  return { tokens: tf.tensor2d(tokens, [B, T1], 'int32'), mask: tf.tensor2d(mask, [B, T1 - 1]) };
}

/** A batch as the gradient step takes it: captions as rows, each share packed with its images' regions. */
export function attentionRows(batch: readonly AttentionExample[], images: readonly SelectedRegions[], R: number): RowBatch {
  return {
    rows: batch.length,
    shard(from, to) {
      const part = batch.slice(from, to);
      const { tokens, mask } = tokenTensors(part.map((e) => e.ids));
      const { regions, regionMask } = regionTensors(
        part.map((e) => images[e.image]!),
        R,
      );
      return { tensors: { regions, regionMask, tokens, mask }, items: part.reduce((n, e) => n + e.ids.length - 1, 0) };
    },
  };
}

/** SCST's sampled captions as a batch for the gradient pool: each row a caption of image images[⌊r / perImage⌋], with its advantage. */
export function scstRows(
  captions: readonly (readonly number[])[],
  images: readonly SelectedRegions[],
  perImage: number,
  advantages: readonly number[],
  R: number,
): RowBatch {
  return {
    rows: captions.length,
    shard(from, to) {
      const { tokens, mask } = tokenTensors(captions.slice(from, to));
      const { regions, regionMask } = regionTensors(
        captions.slice(from, to).map((_, r) => images[Math.floor((from + r) / perImage)]!),
        R,
      );
      const adv = tf.tensor1d(Float32Array.from(advantages.slice(from, to)));
      return { tensors: { regions, regionMask, tokens, mask, advantages: adv }, items: to - from };
    },
  };
}
