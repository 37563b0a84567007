import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptionConfig } from '../../src/caption/config.js';
import { CaptionModel } from '../../src/caption/model.js';
import type { CaptionedImage } from '../../src/data/captions.js';
import type { FeatureSet } from '../../src/data/features.js';
import { initBackend } from '../../src/nn/backend.js';
import { rng } from '../../src/util/random.js';
import { bucketedBatches, type Example } from '../../src/caption/batches.js';
import { trainCaptionModel, trainOptionsSchema } from '../../src/caption/train.js';

const animals = ['dog', 'cat', 'horse', 'bird'];
const actions = ['runs', 'sleeps', 'jumps', 'sits'];

/** Image i shows animal i%4 doing action ⌊i/4⌋%4; its features say so (one-hot pairs). */
function tinyData(): { train: CaptionedImage[]; val: CaptionedImage[]; features: FeatureSet } {
  const keys: string[] = [];
  const rows: number[] = [];
  const images: CaptionedImage[] = [];
  for (let i = 0; i < 32; i++) {
    const a = i % 4;
    const b = Math.floor(i / 4) % 4;
    const file = `img${i}.jpg`;
    keys.push(file);
    rows.push(...Array.from({ length: 8 }, (_, k) => (k === a || k === 4 + b ? 1 : 0)));
    images.push({ id: i, file, captions: [`a ${animals[a]} ${actions[b]}`, `the ${animals[a]} ${actions[b]} here`] });
  }
  return { train: images.slice(0, 24), val: images.slice(24), features: { encoder: 'fake', dim: 8, keys, data: Float32Array.from(rows) } };
}

/** Largest absolute difference between two models' weights. */
function maxDiff(a: CaptionModel, b: CaptionModel): number {
  const vb = b.variables();
  return Math.max(...Object.entries(a.variables()).map(([n, v]) => tf.tidy(() => tf.max(tf.abs(tf.sub(v, vb[n]!))).dataSync()[0]!)));
}

beforeAll(async () => {
  await initBackend();
});

describe('bucketedBatches', () => {
  it('uses every example exactly once and groups similar lengths', () => {
    const random = rng(1);
    const examples: Example[] = Array.from({ length: 100 }, (_, i) => ({
      featureRow: i,
      ids: Array.from({ length: 3 + Math.floor(random() * 10) }, () => 4),
    }));
    const batches = bucketedBatches(examples, 8, rng(2), 100);
    expect(batches.flatMap((b) => b.featureRows).sort((a, b) => a - b)).toEqual(examples.map((e) => e.featureRow));
    const padded = batches.reduce((n, b) => n + b.size * b.steps, 0);
    const real = batches.reduce((n, b) => n + b.targets, 0);
    expect(real).toBe(examples.reduce((n, e) => n + e.ids.length - 1, 0));
    expect(padded / real).toBeLessThan(1.2); // sorted windows keep padding low
  });
});

describe('trainCaptionModel', () => {
  it('learns a tiny task, saves the best model, and resumes to the weights of an uninterrupted run', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cap-train-'));
    const dirs = { outDir: path.join(dir, 'best'), checkpointDir: path.join(dir, 'ck'), resume: false };
    const opts = trainOptionsSchema.parse({
      embedDim: 16,
      hiddenDim: 32,
      dropout: 0,
      minWordCount: 1,
      batchSize: 8,
      epochs: 6,
      learningRate: 0.02,
      lrDecay: 1,
      patience: 10,
      seed: 3,
    });
    const first = await trainCaptionModel(tinyData(), { ...opts, epochs: 5 }, dirs);
    expect(first.state.epoch).toBe(5);
    const lastModel = (ck: string) => CaptionModel.load(path.join(ck, 'last', 'model'));
    const atFive = await lastModel(dirs.checkpointDir);
    const resumed = await trainCaptionModel(tinyData(), opts, { ...dirs, resume: true });
    expect(resumed.state.epoch).toBe(6);
    expect(resumed.state.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    const losses = resumed.state.history.map((h) => h.loss);
    expect(losses[5]!).toBeLessThan(losses[0]! / 2);
    // An uninterrupted run with the same seed ends with the same weights only if the resume
    // restored the optimizer too: a fresh Adam (no moments, step count 0) takes different steps.
    const straightDirs = { outDir: path.join(dir, 'best2'), checkpointDir: path.join(dir, 'ck2'), resume: false };
    const straight = await trainCaptionModel(tinyData(), opts, straightDirs);
    straight.state.history.forEach((h, i) => expect(losses[i]).toBeCloseTo(h.loss, 5));
    const [a, b] = [await lastModel(dirs.checkpointDir), await lastModel(straightDirs.checkpointDir)];
    expect(maxDiff(a, b)).toBeLessThan(1e-5);
    expect(maxDiff(a, atFive)).toBeGreaterThan(1e-3); // the sixth epoch did move the weights
    [a, b, atFive, straight.model].forEach((m) => m.dispose());
    const config = await readCaptionConfig(dirs.outDir);
    expect(config.encoder).toBe('fake');
    expect(config.vocab).toContain('horse');
    const val = (config.metrics as { val: { bleu1: number; ciderD: number } }).val;
    expect(val.bleu1).toBeGreaterThan(0.5);
    const state = JSON.parse(await readFile(path.join(dirs.checkpointDir, 'last', 'state.json'), 'utf8')) as { epoch: number };
    expect(state.epoch).toBe(6);
    first.model.dispose();
    resumed.model.dispose();
  });
});
