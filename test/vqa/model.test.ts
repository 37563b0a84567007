import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../src/data/features.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { rng } from '../../src/util/random.js';
import { evaluateVqa } from '../../src/vqa/predict.js';
import { trainVqaModel, vqaTrainOptionsSchema } from '../../src/vqa/train.js';
import type { VqaArch, VqaConfig } from '../../src/vqa/config.js';
import { questionBatch, VqaModel } from '../../src/vqa/model.js';
import type { QaExample } from '../../src/data/qa.js';

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
});

const COLORS = ['red', 'green', 'blue'] as const;
const SHAPES = ['circle', 'square'] as const;

/**
 * A synthetic easy-VQA: image i has a colour and a shape, written one-hot
 * into a noisy 8-d feature vector. Questions ask the colour, the shape, or
 * "is there a <colour> shape?", whose yes/no answer depends on the image
 * and the question together (a linear IMG+BOW cannot learn that part).
 */
function synthetic(images: number, seed: number): { features: FeatureSet; examples: QaExample[] } {
  const random = rng(seed);
  const dim = 8;
  const data = new Float32Array(images * dim);
  const keys: string[] = [];
  const examples: QaExample[] = [];
  for (let i = 0; i < images; i++) {
    const color = Math.floor(random() * COLORS.length);
    const shape = Math.floor(random() * SHAPES.length);
    for (let k = 0; k < dim; k++) data[i * dim + k] = 0.1 * (random() - 0.5);
    data[i * dim + color] = data[i * dim + color]! + 1;
    data[i * dim + 3 + shape] = data[i * dim + 3 + shape]! + 1;
    const key = `${seed}-${i}.png`;
    keys.push(key);
    const asked = COLORS[Math.floor(random() * COLORS.length)]!;
    const qa: [string, string, string][] = [
      ['what color is the shape?', COLORS[color]!, 'color'],
      ['what shape is in the image?', SHAPES[shape]!, 'shape'],
      [`is there a ${asked} shape?`, asked === COLORS[color] ? 'yes' : 'no', 'yes/no'],
    ];
    for (const [question, answer, type] of qa)
      examples.push({ imageId: `${seed}-${i}`, imageKey: key, question, answer, answers: [answer], type });
  }
  return { features: { encoder: 'synthetic', dim, keys, data }, examples };
}

function tinyConfig(arch: VqaArch): VqaConfig {
  return {
    kind: 'vqa',
    arch,
    name: `tiny-${arch}`,
    version: '0',
    encoder: 'synthetic',
    featureDim: 8,
    embedDim: 8,
    hiddenDim: 16,
    dropout: 0,
    maxQuestionWords: 10,
    minWordCount: 1,
    questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'what', 'color', 'is', 'the', 'shape'],
    answers: ['yes', 'no', 'red'],
  };
}

describe('questionBatch', () => {
  it('right-pads with 0 and masks the padding', () => {
    const q = questionBatch([[5, 6, 7], [8]]);
    expect(q.steps).toBe(3);
    expect([...q.tokens]).toEqual([5, 6, 7, 8, 0, 0]);
    expect([...q.mask]).toEqual([1, 1, 1, 1, 0, 0]);
  });
});

describe('VqaModel', () => {
  it('maps unknown words to <unk> and cuts long questions', () => {
    const m = VqaModel.init({ ...tinyConfig('vis-lstm'), maxQuestionWords: 3 }, 1);
    expect(m.encodeQuestion('What colour is the shape?')).toEqual([4, 3, 6]);
    expect(m.encodeQuestion('?!')).toEqual([3]);
    m.dispose();
  });

  for (const arch of ['vis-lstm', '2vis-blstm', 'blind-lstm', 'img-bow'] as const) {
    it(`${arch}: padding does not change a question's answer, and predict leaks no tensors`, () => {
      const m = VqaModel.init(tinyConfig(arch), 3);
      const feats = tf.randomNormal([2, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
      const short = m.encodeQuestion('what color');
      const long = m.encodeQuestion('what color is the shape the shape');
      const before = tf.memory().numTensors;
      const alone = m.predict(feats, [short, short]);
      const padded = m.predict(feats, [short, long]);
      const a = alone.arraySync();
      const b = padded.arraySync();
      tf.dispose([alone, padded]);
      expect(tf.memory().numTensors).toBe(before);
      a[0]!.forEach((p, k) => expect(b[0]![k]).toBeCloseTo(p, 5));
      expect(b[1]![0]).not.toBeCloseTo(b[0]![0]!, 6); // the longer question is read
      feats.dispose();
      m.dispose();
    });
  }

  it('saves and loads with the same predictions; refuses weights of the wrong shape', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vqa-model-'));
    try {
      const m = VqaModel.init(tinyConfig('vis-lstm'), 7);
      await m.save(dir);
      const back = await VqaModel.load(dir);
      const feats = tf.ones([1, 8]) as tf.Tensor2D;
      const q = [m.encodeQuestion('what color is the shape')];
      const [p1, p2] = [m.predict(feats, q), back.predict(feats, q)];
      expect(p2.arraySync()).toEqual(p1.arraySync());
      tf.dispose([feats, p1, p2]);
      const wider = VqaModel.init({ ...tinyConfig('vis-lstm'), hiddenDim: 32 }, 7);
      await expect(wider.restore(dir)).rejects.toThrow(/weight "w" has shape \[8,64\], config says \[8,128\]/);
      [m, back, wider].forEach((x) => x.dispose());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('trainVqaModel on a synthetic task', () => {
  const train = synthetic(240, 11);
  const val = synthetic(60, 12);
  const features: FeatureSet = {
    encoder: 'synthetic',
    dim: 8,
    keys: [...train.features.keys, ...val.features.keys],
    data: Float32Array.from([...train.features.data, ...val.features.data]),
  };

  async function fit(arch: VqaArch) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `vqa-train-${arch}-`));
    const opts = vqaTrainOptionsSchema.parse({
      arch,
      embedDim: 16,
      hiddenDim: 32,
      dropout: 0,
      minWordCount: 1,
      batchSize: 32,
      epochs: 12,
      learningRate: 0.02,
      lrDecay: 1,
      patience: 12,
      normalizeFeatures: false,
    });
    try {
      const { model } = await trainVqaModel({ train: train.examples, val: val.examples, features }, opts, {
        outDir: path.join(dir, 'model'),
        checkpointDir: path.join(dir, 'ck'),
        resume: false,
      });
      const scores = evaluateVqa(model, val.examples, features);
      model.dispose();
      return scores;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  for (const arch of ['vis-lstm', '2vis-blstm'] as const) {
    it(`${arch} learns colour, shape and the image × question yes/no`, async () => {
      const s = await fit(arch);
      expect(s.byType.color!.accuracy).toBeGreaterThan(0.95);
      expect(s.byType.shape!.accuracy).toBeGreaterThan(0.95);
      expect(s.byType['yes/no']!.accuracy).toBeGreaterThan(0.9);
    }, 60_000);
  }

  it('the blind LSTM cannot see the image: colour and shape stay near chance', async () => {
    const s = await fit('blind-lstm');
    expect(s.byType.color!.accuracy).toBeLessThan(0.6);
    expect(s.byType.shape!.accuracy).toBeLessThan(0.75);
  }, 60_000);

  it('IMG+BOW learns colour and shape (linear in the image) but not the interaction', async () => {
    const s = await fit('img-bow');
    expect(s.byType.color!.accuracy).toBeGreaterThan(0.95);
    expect(s.byType.shape!.accuracy).toBeGreaterThan(0.95);
    expect(s.byType['yes/no']!.accuracy).toBeLessThan(0.85);
  }, 60_000);
});

describe('trainVqaModel checkpoints', () => {
  it('resumes from the last checkpoint: epochs go on from where the first run stopped', async () => {
    const data = synthetic(40, 21);
    const val = synthetic(10, 22);
    const features: FeatureSet = {
      encoder: 'synthetic',
      dim: 8,
      keys: [...data.features.keys, ...val.features.keys],
      data: Float32Array.from([...data.features.data, ...val.features.data]),
    };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vqa-resume-'));
    const dirs = { outDir: path.join(dir, 'model'), checkpointDir: path.join(dir, 'ck') };
    const opts = (epochs: number) =>
      vqaTrainOptionsSchema.parse({
        embedDim: 8,
        hiddenDim: 8,
        minWordCount: 1,
        batchSize: 16,
        epochs,
        patience: 10,
        normalizeFeatures: false,
      });
    try {
      const first = await trainVqaModel({ train: data.examples, val: val.examples, features }, opts(1), { ...dirs, resume: false });
      first.model.dispose();
      const second = await trainVqaModel({ train: data.examples, val: val.examples, features }, opts(3), { ...dirs, resume: true });
      second.model.dispose();
      expect(first.state.history.map((h) => h.epoch)).toEqual([1]);
      expect(second.state.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      expect(second.state.history[0]).toEqual(first.state.history[0]);
      // Selection uses the eval module's exact match after normalisation, the number eval:vqa reports.
      const accuracies = second.state.history.map((h) => h.val.accuracy);
      expect(second.state.best?.score).toBe(Math.max(...accuracies));
      expect(second.state.history[0]!.val.vqaAccuracy).toBeTypeOf('number');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
