import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptionConfig } from '../../src/caption/config.js';
import { CaptionModel } from '../../src/caption/model.js';
import type { FeatureSet } from '../../src/data/features.js';
import { initBackend } from '../../src/nn/backend.js';
import { rng } from '../../src/util/random.js';
import { SPECIALS } from '../../src/text/vocab.js';
import { batchGradients, makeBatch } from '../../src/caption/batches.js';
import { GradientPool, splitBatch } from '../../src/train/parallel.js';

const config: CaptionConfig = {
  kind: 'caption-lstm',
  name: 't',
  version: '0',
  encoder: 'fake',
  featureDim: 6,
  embedDim: 8,
  hiddenDim: 12,
  dropout: 0,
  maxWords: 8,
  minWordCount: 1,
  vocab: [...SPECIALS, 'a', 'b', 'c', 'd', 'e'],
};
const random = rng(4);
const features: FeatureSet = {
  encoder: 'fake',
  dim: 6,
  keys: ['0', '1', '2', '3', '4'],
  data: Float32Array.from({ length: 30 }, () => random()),
};
const batch = makeBatch(
  Array.from({ length: 7 }, (_, i) => ({
    featureRow: i % 5,
    ids: [1, ...Array.from({ length: 2 + (i % 4) }, () => 4 + Math.floor(random() * 5)), 2],
  })),
);

let pool: GradientPool;
beforeAll(async () => {
  await initBackend();
  pool = new GradientPool(1, config, features);
});
afterAll(async () => {
  await pool.close();
});

describe('data-parallel gradients', () => {
  it('splits a batch into row ranges that keep every target', () => {
    const parts = splitBatch(batch, 2);
    expect(parts.map((p) => p.size)).toEqual([3, 4]);
    expect(parts[0]!.targets + parts[1]!.targets).toBe(batch.targets);
  });

  it('two threads give the same loss and gradients as one', async () => {
    const model = CaptionModel.init(config, 11);
    const single = batchGradients(model, batch, features, 1);
    const parallel = await pool.gradients(model, batch, features, 1);
    expect(parallel.loss).toBeCloseTo(single.loss, 5);
    for (const name of Object.keys(single.grads)) {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(single.grads[name]!, parallel.grads[name]!))).dataSync()[0]!);
      expect(diff, name).toBeLessThan(1e-5);
    }
    tf.dispose([...Object.values(single.grads), ...Object.values(parallel.grads)]);
    model.dispose();
  });
});
