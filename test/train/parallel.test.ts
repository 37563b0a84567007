import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captionRows, makeBatch } from '../../src/caption/batches.js';
import type { CaptionConfig } from '../../src/caption/config.js';
import { CaptionModel } from '../../src/caption/model.js';
import { spec as captionSpec } from '../../src/caption/train-spec.js';
import { chunkRows } from '../../src/char/train.js';
import { spec as charSpec, stateMap } from '../../src/char/train-spec.js';
import { StreamBatcher } from '../../src/char/data.js';
import type { FeatureSet } from '../../src/data/features.js';
import { initBackend } from '../../src/nn/backend.js';
import { GradientPool, rowRanges } from '../../src/train/parallel.js';
import type { Replica, RowBatch, TrainerSpec } from '../../src/train/spec.js';
import type { Gradients } from '../../src/train/step.js';
import { SPECIALS } from '../../src/text/vocab.js';
import { rng } from '../../src/util/random.js';
import type { VqaConfig } from '../../src/vqa/config.js';
import { VqaModel } from '../../src/vqa/model.js';
import { vqaRows } from '../../src/vqa/train.js';
import { spec as vqaSpec } from '../../src/vqa/train-spec.js';
import { TEXT, tinyConfig as charConfig } from '../char/helpers.js';
import { CharModel } from '../../src/char/model.js';
import { spec as toySpec, Toy } from './toy-spec.js';

const captionConfig: CaptionConfig = {
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
const vqaConfig: VqaConfig = {
  kind: 'vqa',
  arch: '2vis-blstm',
  name: 't',
  version: '0',
  encoder: 'fake',
  featureDim: 6,
  embedDim: 8,
  hiddenDim: 10,
  dropout: 0,
  maxQuestionWords: 10,
  minWordCount: 1,
  questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'what', 'color', 'is', 'the', 'shape'],
  answers: ['yes', 'no', 'red'],
};
const random = rng(4);
const features: FeatureSet = {
  encoder: 'fake',
  dim: 6,
  keys: ['0', '1', '2', '3', '4'],
  data: Float32Array.from({ length: 30 }, () => random()),
};

const pools: GradientPool<never, Replica>[] = [];
/** A pool of two threads, closed after the tests. */
function pool<C, M extends Replica>(spec: TrainerSpec<C, M>, config: C): GradientPool<C, M> {
  const p = new GradientPool(spec, config, 1);
  pools.push(p);
  return p;
}

beforeAll(async () => {
  await initBackend();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** The pool's loss, gradients and carry equal one thread's on the whole batch. */
async function expectSame<C, M extends Replica>(spec: TrainerSpec<C, M>, config: C, model: M, batch: () => RowBatch): Promise<Gradients> {
  const single = await new GradientPool(spec, config, 0).gradients(model, batch(), 1);
  const parallel = await pool(spec, config).gradients(model, batch(), 1);
  expect(parallel.loss).toBeCloseTo(single.loss, 5);
  expect(Object.keys(parallel.grads).sort()).toEqual(Object.keys(single.grads).sort());
  for (const name of Object.keys(single.grads)) expect(maxDiff(single.grads[name]!, parallel.grads[name]!), name).toBeLessThan(1e-5);
  for (const name of Object.keys(single.carry ?? {}))
    expect(maxDiff(single.carry![name]!, parallel.carry![name]!), name).toBeLessThan(1e-5);
  tf.dispose([single.grads, parallel.grads, single.carry ?? {}, parallel.carry ?? {}]);
  return parallel;
}

describe('data-parallel gradients', () => {
  it('cuts rows into near-equal ranges', () => {
    expect(rowRanges(7, 2)).toEqual([
      [0, 3],
      [3, 7],
    ]);
    expect(rowRanges(1, 2)).toEqual([[0, 1]]);
  });

  it('caption decoder: two threads give the same loss and gradients as one', async () => {
    const batch = makeBatch(
      Array.from({ length: 7 }, (_, i) => ({
        featureRow: i % 5,
        ids: [1, ...Array.from({ length: 2 + (i % 4) }, () => 4 + Math.floor(random() * 5)), 2],
      })),
    );
    const model = CaptionModel.init(captionConfig, 11);
    await expectSame(captionSpec, captionConfig, model, () => captionRows(batch, features));
    model.dispose();
  });

  it('VQA (2-VIS+BLSTM): the same with questions of different lengths', async () => {
    const questions = Array.from({ length: 9 }, (_, i) => ({
      featureRow: i % 5,
      ids: Array.from({ length: 1 + (i % 5) }, () => 4 + Math.floor(random() * 5)),
      answer: i % 3,
    }));
    const model = VqaModel.init(vqaConfig, 3);
    await expectSame(vqaSpec, vqaConfig, model, () => vqaRows(questions, features));
    model.dispose();
  });

  it('char model: the same, and the carried state is each stream’s, in order', async () => {
    const config = charConfig();
    const model = CharModel.init(config, 5);
    const b = new StreamBatcher(model.vocab.encode(TEXT.repeat(3)), 5, 6);
    const state = tf.tidy(() => model.forward(tf.tensor1d(b.chunk(0).inputs, 'int32'), b.steps, model.zeroState(5)).state);
    await expectSame(charSpec, config, model, () => chunkRows(b.chunk(1), b.streams, state));
    tf.dispose(stateMap(state));
    model.dispose();
  });

  it('a parameter one share does not reach gets the other share’s weighted gradient; none reached: none', async () => {
    const model = new Toy(3, 9);
    const rows = (flags: number[]): RowBatch => ({
      rows: flags.length,
      shard: (from, to) => ({
        items: to - from,
        tensors: {
          x: tf.tensor2d(
            Array.from({ length: (to - from) * 3 }, (_, i) => Math.sin(from * 3 + i)),
            [to - from, 3],
          ),
          target: tf.tensor2d(
            Array.from({ length: to - from }, (_, i) => from + i),
            [to - from, 1],
          ),
          flagged: tf.tensor1d(flags.slice(from, to), 'int32'),
        },
      }),
    });
    // Only the second share (rows 2–4) has a flagged row.
    await expectSame(toySpec, { dim: 3 }, model, () => rows([0, 0, 0, 1, 0]));
    const none = await expectSame(toySpec, { dim: 3 }, model, () => rows([0, 0, 0, 0, 0]));
    expect(Object.keys(none.grads)).toEqual(['w']);
    model.dispose();
  });
});
