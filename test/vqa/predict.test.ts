import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { QaExample } from '../../src/data/qa.js';
import type { FeatureSet } from '../../src/data/features.js';
import { scoreVqa } from '../../src/eval/vqa-metrics.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import type { VqaConfig } from '../../src/vqa/config.js';
import { VqaModel } from '../../src/vqa/model.js';
import { evaluateVqa, predictAnswers, predictTopK } from '../../src/vqa/predict.js';

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
});

/** Every answer class normalises to "2", so whatever the untrained model picks is right after normalisation. */
const config: VqaConfig = {
  kind: 'vqa',
  arch: 'img-bow',
  name: 'tiny',
  version: '0',
  encoder: 'synthetic',
  featureDim: 4,
  embedDim: 4,
  hiddenDim: 4,
  dropout: 0,
  maxQuestionWords: 5,
  minWordCount: 1,
  questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'how', 'many'],
  answers: ['Two.', 'two'],
};
const features: FeatureSet = { encoder: 'synthetic', dim: 4, keys: ['a.png'], data: Float32Array.from([1, 0, 0, 1]) };
const example = (imageKey: string, type: string): QaExample => ({
  imageId: imageKey,
  imageKey,
  question: 'how many?',
  answer: '2',
  answers: ['2'],
  type,
});

describe('VQA prediction and accuracy', () => {
  it('scores with the eval module: answers are normalised, an image without features is wrong', () => {
    const model = VqaModel.init(config, 1);
    const examples = [example('a.png', 'number'), example('missing.png', 'other')];
    const before = tf.memory().numTensors;
    const top = predictTopK(model, examples, features, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(top[0]!.map((p) => p.answer).sort()).toEqual(['Two.', 'two']);
    expect(top[0]![0]!.score).toBeGreaterThanOrEqual(top[0]![1]!.score);
    expect(top[1]).toBeUndefined();
    const scores = evaluateVqa(model, examples, features);
    // A raw string comparison ("Two." vs "2") would say 0 for both.
    expect(scores.accuracy).toBe(0.5);
    expect(scores.byType).toMatchObject({ number: { count: 1, accuracy: 1 }, other: { count: 1, accuracy: 0 } });
    expect(scores).toEqual(scoreVqa(predictAnswers(model, examples, features), examples));
    model.dispose();
  });
});
