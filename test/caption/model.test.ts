import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCaptions } from '../../src/caption/generate.js';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { CaptionModel } from '../../src/caption/model.js';
import { initBackend } from '../../src/nn/backend.js';
import { clipByGlobalNorm } from '../../src/nn/ops.js';
import { Vocab } from '../../src/text/vocab.js';
import { makeBatch } from '../../src/caption/batches.js';
import { tinyCaptionConfig } from './tiny.js';

const tinyConfig = tinyCaptionConfig;

beforeAll(async () => {
  await initBackend();
});

describe('CaptionModel', () => {
  it('conditions on the image through h0: learns a different caption per image', () => {
    const model = CaptionModel.init(tinyConfig(), 7);
    const vocab = new Vocab(model.config.vocab);
    const feats = tf.tensor2d([
      [1, 0, 0, 1],
      [0, 1, 1, 0],
    ]);
    const batch = makeBatch([
      { featureRow: 0, ids: vocab.encode(['a', 'dog', 'runs']) },
      { featureRow: 1, ids: vocab.encode(['a', 'cat', 'sleeps']) },
    ]);
    const tokens = tf.tensor2d(batch.tokens, [2, batch.steps + 1], 'int32');
    const mask = tf.tensor2d(batch.mask, [2, batch.steps]);
    const opt: tf.Optimizer = tf.train.adam(0.05);
    let first = 0;
    let last = 0;
    for (let i = 0; i < 80; i++) {
      const { value, grads } = tf.variableGrads(() => model.loss(feats, tokens, mask), Object.values(model.params));
      const clipped = clipByGlobalNorm(grads, 5);
      opt.applyGradients(clipped.grads);
      last = value.dataSync()[0]!;
      if (i === 0) first = last;
      tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
    }
    expect(first).toBeGreaterThan(1.5); // ~ln(9) at random init
    expect(last).toBeLessThan(0.05);
    const greedyOf = (row: number) => {
      const v = feats.slice([row, 0], [1, 4]) as tf.Tensor2D;
      const [caption] = generateCaptions(model, v, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' });
      v.dispose();
      return caption!.text;
    };
    expect(greedyOf(0)).toBe('a dog runs');
    expect(greedyOf(1)).toBe('a cat sleeps');
    tf.dispose([feats, tokens, mask]);
    opt.dispose();
    model.dispose();
  });

  it('saves and loads to identical predictions, with no tensor leak per caption', async () => {
    const model = CaptionModel.init(tinyConfig(), 3);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cap-model-'));
    await model.save(dir);
    const loaded = await CaptionModel.load(dir);
    const feats = tf.tensor2d([[0.3, -1, 2, 0.5]]);
    const opts = { ...DEFAULT_CAPTION_SEARCH, beamSize: 4, n: 3 };
    const a = generateCaptions(model, feats, opts);
    const before = tf.memory().numTensors;
    const b = generateCaptions(loaded, feats, opts);
    for (let i = 0; i < 5; i++) generateCaptions(loaded, feats, { ...opts, mode: 'sample', seed: i });
    expect(tf.memory().numTensors).toBe(before);
    expect(b).toEqual(a);
    expect(loaded.config).toEqual(model.config);
    tf.dispose(feats);
    model.dispose();
    loaded.dispose();
  });
});

describe('feature standardisation', () => {
  it('makes h0 depend on (v - mean) / std, and travels with the saved config', async () => {
    const { featureStats } = await import('../../src/nn/feature-norm.js');
    const data = Float32Array.from([1, 10, 3, 10, 5, 10]); // 3 rows × 2 dims; dim 2 is constant
    const stats = featureStats(data, 2, [0, 1, 2]);
    expect(stats.mean).toEqual([3, 10]);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    expect(stats.std[1]).toBe(1); // constant dimension: left unscaled instead of dividing by 0
    const config = { ...tinyConfig(), featureDim: 2, featureMean: stats.mean, featureStd: stats.std };
    const model = CaptionModel.init(config, 5);
    const plain = CaptionModel.init({ ...config, featureMean: undefined, featureStd: undefined }, 5);
    const v = tf.tensor2d([[5, 10]]);
    const standardized = tf.tensor2d([[2 / Math.sqrt(8 / 3), 0]]);
    const a = model.initialState(v);
    const b = plain.initialState(standardized);
    expect(tf.max(tf.abs(tf.sub(a.h, b.h))).dataSync()[0]).toBeLessThan(1e-5);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cap-norm-'));
    await model.save(dir);
    const loaded = await CaptionModel.load(dir);
    expect(loaded.config.featureMean).toEqual(stats.mean);
    tf.dispose([v, standardized, a.h, a.c, b.h, b.c]);
    [model, plain, loaded].forEach((m) => m.dispose());
  });
});
