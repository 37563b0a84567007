import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_DIM } from '../../../src/encoder/colour.js';
import { CLASS_DIM } from '../../../src/encoder/regions.js';
import { initBackend } from '../../../src/nn/backend.js';
import { tfOps } from '../../../src/nn/tensor-ops.js';
import { rng } from '../../../src/util/random.js';
import { inputTensors, regionHostInputs, softAnswers, answerTargets, type VqaImage } from '../../../src/vqa/region/data.js';
import { RegionVqaModel, regionVqaForward } from '../../../src/vqa/region/model.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { selectRegions } from '../../../src/encoder/regions.js';
import { det, TINY_G, tinyRegionConfig } from './tiny.js';

const C = 5;
const R = C + 7 + COLOUR_DIM + CLASS_DIM;
const table = defaultWordTable();

function image(objects: ReturnType<typeof det>[], seed: number): VqaImage {
  const random = rng(seed);
  const rows = Float32Array.from({ length: (objects.length + 1) * R }, () => random() * 2);
  return { selected: selectRegions(rows, objects, 4, 0.2), objects, global: Float32Array.from({ length: TINY_G }, () => random()) };
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('region VQA model', () => {
  const images = [image([det('dog', 0.9), det('zebra', 0.8), det('person', 0.5)], 1), image([det('cat', 0.7)], 2), image([], 3)];
  const model = RegionVqaModel.init(tinyRegionConfig(R, {}, true), 7);
  const q = (imageIndex: number, words: string) => ({
    image: imageIndex,
    ids: model.encodeQuestion(words),
    classes: [],
  });
  const questions = [q(0, 'what animal is this'), q(1, 'how many dogs'), q(2, 'what color is the dog')];

  it('gives padded regions no attention and the real ones weights summing to 1', () => {
    const host = regionHostInputs(table, R, questions, images);
    expect(host.k).toBe(4);
    const alpha = tf.tidy(() => model.predict(inputTensors(host, R)).alpha.arraySync());
    const real = [4, 2, 1];
    alpha.forEach((row, i) => {
      row.slice(real[i]).forEach((a) => expect(a).toBe(0));
      expect(row.reduce((s, a) => s + a, 0)).toBeCloseTo(1, 5);
      row.slice(0, real[i]).forEach((a) => expect(a).toBeGreaterThan(0));
    });
  });

  it('answers each question as it would alone, however much padding its batch adds', () => {
    const together = tf.tidy(() => model.predict(inputTensors(regionHostInputs(table, R, questions, images), R)).probs.arraySync());
    questions.forEach((question, i) => {
      const alone = tf.tidy(() => model.predict(inputTensors(regionHostInputs(table, R, [question], images), R)).probs.arraySync())[0]!;
      // The answer columns, and the pointer columns of the image's own regions.
      alone.forEach((p, j) => expect(together[i]![j]).toBeCloseTo(p, 5));
    });
  });

  it('points only at detections: never at padding or the whole image', () => {
    const probs = tf.tidy(() => model.predict(inputTensors(regionHostInputs(table, R, questions, images), R)).probs.arraySync());
    const A = model.config.answers.length;
    expect(probs[0]!.slice(A, A + 3).every((p) => p > 0)).toBe(true);
    expect(probs[0]![A + 3]).toBe(0); // image 0's whole-image region
    expect(probs[1]!.slice(A + 1)).toEqual([0, 0, 0]); // image 1: the whole image and two pads
    expect(probs[2]!.slice(A)).toEqual([0, 0, 0, 0]);
  });

  it('folds the standardisation into the projection: the same logits as standardising the regions first', () => {
    const x = inputTensors(regionHostInputs(table, R, questions, images), R);
    const folded = tf.tidy(() => model.forward(x).logits.arraySync());
    const mean = tf.tensor1d(model.config.featureMean!);
    const std = tf.tensor1d(model.config.featureStd!);
    const standardised = tf.tidy(() => {
      const pre = { ...x, regions: tf.div(tf.sub(x.regions, mean), std) };
      return (
        regionVqaForward(tfOps, { ...model.net, stats: undefined }, pre, x.tokens.shape[1]!).logits as tf.Tensor
      ).arraySync() as number[][];
    });
    // Padded regions are standardised too in the reference; only the real outputs (not −1e9) must agree.
    folded.forEach((row, i) => row.forEach((v, j) => v > -1e8 && expect(standardised[i]![j]).toBeCloseTo(v, 3)));
    tf.dispose([...Object.values(x), mean, std]);
  });

  it('without colour, the colour columns do not change the answer; with it they do', () => {
    const noColour = RegionVqaModel.init(tinyRegionConfig(R, { colour: false }, true), 7);
    const host = regionHostInputs(table, R, questions, images);
    const recoloured = { ...host, regions: host.regions.slice() };
    for (let row = 0; row < host.n * host.k; row++)
      for (let c = R - CLASS_DIM - COLOUR_DIM; c < R - CLASS_DIM; c++) recoloured.regions[row * R + c] = 9;
    const run = (m: RegionVqaModel, h: typeof host) => tf.tidy(() => m.predict(inputTensors(h, R)).probs.arraySync());
    expect(run(noColour, recoloured)).toEqual(run(noColour, host));
    expect(run(model, recoloured)).not.toEqual(run(model, host));
    noColour.dispose();
  });

  it('loss: −Σ weight · log of the probability of the outputs taught to give each answer (a region that gives it, else its class)', () => {
    const bm = { table, regionDim: R, answers: model.config.answers.length, answerId: (a: string) => model.answerId(a) };
    const batch = [
      { ...questions[0]!, answers: softAnswers({ answer: 'dog', answers: ['dog', 'dog', 'dog', 'zebra'] }) },
      { ...questions[1]!, answers: [{ answer: 'two', weight: 1 }] },
    ];
    const host = regionHostInputs(table, R, batch, images);
    const x = inputTensors(host, R);
    const targets = answerTargets(bm, true, batch, images, host.k);
    const loss = tf.tidy(() => model.loss(x, targets).dataSync()[0]!);
    const probs = tf.tidy(() => model.predict(x).probs.arraySync());
    const A = model.config.answers.length;
    // Question 0: "dog" (weight 1 → 0.75) is class 0 but also region 0 (a dog): taught as pointing;
    // "zebra" (1/3 → 0.25) only region 1.
    const [w1, w2] = [1 / (1 + 1 / 3), 1 / 3 / (1 + 1 / 3)];
    const nll0 = -w1 * Math.log(probs[0]![A]!) - w2 * Math.log(probs[0]![A + 1]!);
    const nll1 = -Math.log(probs[1]![1]!);
    expect(loss).toBeCloseTo((nll0 + nll1) / 2, 4);
    tf.dispose([...Object.values(x), targets.hits, targets.weights]);
  });

  it('leaks no tensors', () => {
    const host = regionHostInputs(table, R, questions, images);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const x = inputTensors(host, R);
      const { probs, alpha } = model.predict(x);
      tf.dispose([probs, alpha, ...Object.values(x)]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
