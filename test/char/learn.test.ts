import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamBatcher, splitText } from '../../src/char/data.js';
import { CharModel, disposeState } from '../../src/char/model.js';
import { sampleText } from '../../src/char/sample.js';
import { evaluate } from '../../src/char/evaluate.js';
import { charTrainOptionsSchema, trainCharModel, trainEpoch } from '../../src/char/train.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { CharVocab } from '../../src/char/vocab.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { tinyConfig } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'char-test-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const PHRASE = 'hello world! ';

describe('learning', () => {
  for (const cell of ['lstm', 'rnn'] as const) {
    it(`a tiny ${cell} learns a repeated string to near-zero loss in a few seconds`, async () => {
      const text = PHRASE.repeat(80);
      const model = CharModel.init(tinyConfig({ cell, hiddenDim: 32, layers: 1 }, text), 3);
      const b = new StreamBatcher(model.vocab.encode(text), 8, 16);
      const opt = createOptimizer('adam', 2e-2);
      const t0 = performance.now();
      for (let epoch = 0; epoch < 40; epoch++) {
        const run = await trainEpoch(model, opt, b, { gradClip: 5, seed: epoch });
        disposeState(run.state);
      }
      const seconds = (performance.now() - t0) / 1000;
      const loss = evaluate(model, model.vocab.encode(text), 4, 50);
      expect(loss.nats).toBeLessThan(0.05);
      expect(seconds).toBeLessThan(20);
      // It has learnt the string: greedy continuation of "hello" is the phrase.
      const { text: out } = sampleText(model, { prime: 'hello', length: 20, temperature: 0, topK: 0, seed: 1 });
      expect(out).toBe(' world! hello world!');
      opt.dispose();
      model.dispose();
    });
  }
});

describe('trainCharModel', () => {
  it('writes per-epoch checkpoints named by val loss, the best model with val/test metrics, and resumes', async () => {
    const text = PHRASE.repeat(60) + 'hey world? ' + PHRASE.repeat(10);
    const splits = splitText(text);
    const opts = charTrainOptionsSchema.parse({
      hiddenDim: 16,
      layers: 2,
      batchSize: 4,
      seqLength: 8,
      epochs: 2,
      learningRate: 1e-2,
      sampleEvery: 0,
      dropout: 0.1,
    });
    const dirs = { outDir: path.join(tmp, 'model'), checkpointDir: path.join(tmp, 'ck'), resume: false };
    const first = await trainCharModel(splits, opts, dirs);
    first.model.dispose();
    const names = (await readdir(dirs.checkpointDir)).sort();
    expect(names).toHaveLength(3);
    expect(names[0]).toMatch(/^epoch01_val\d+\.\d{4}$/);
    expect(names[1]).toMatch(/^epoch02_val\d+\.\d{4}$/);
    expect(names[2]).toBe('last');

    const config = JSON.parse(await readFile(path.join(dirs.outDir, 'config.json'), 'utf8'));
    expect(config.vocab).toEqual([...CharVocab.build(text).chars]); // '?' only occurs in val/test
    for (const split of ['val', 'test']) {
      const m = config.metrics[split];
      expect(m.bitsPerChar).toBeCloseTo(m.nats / Math.LN2, 8);
      expect(m.perplexity).toBeCloseTo(Math.exp(m.nats), 6);
    }

    // Resume: epochs 1–2 are not redone, epoch 3 follows.
    const resumed = await trainCharModel(splits, { ...opts, epochs: 3 }, { ...dirs, resume: true });
    expect(resumed.state.epoch).toBe(3);
    expect(resumed.state.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect((await readdir(dirs.checkpointDir)).some((n) => n.startsWith('epoch03_val'))).toBe(true);
    resumed.model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(100);
  });

  it('trains to the same weights with two gradient threads as with one (dropout 0)', async () => {
    const splits = splitText(PHRASE.repeat(60));
    const opts = charTrainOptionsSchema.parse({
      hiddenDim: 16,
      layers: 2,
      batchSize: 5,
      seqLength: 8,
      epochs: 1,
      sampleEvery: 0,
      dropout: 0,
    });
    const run = (workers: number) =>
      trainCharModel(
        splits,
        { ...opts, workers },
        { outDir: path.join(tmp, `w${workers}`), checkpointDir: path.join(tmp, `w${workers}-ck`), resume: false },
      );
    const one = await run(1);
    const two = await run(2);
    expect(two.state.history[0]!.loss).toBeCloseTo(one.state.history[0]!.loss, 4);
    const w2 = two.model.variables();
    for (const [name, v] of Object.entries(one.model.variables())) {
      expect(
        tf.tidy(() => tf.max(tf.abs(tf.sub(v, w2[name]!))).dataSync()[0]!),
        name,
      ).toBeLessThan(1e-4);
    }
    one.model.dispose();
    two.model.dispose();
  });
});
