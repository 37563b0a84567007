import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { sampleText } from '../../src/char/sample.js';
import { charStepModel, CharStepper } from '../../src/char/stepper.js';
import { UnknownCharsError } from '../../src/char/vocab.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { TEXT, tinyModel } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'char-sample-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const opts = { prime: 'the ', length: 60, temperature: 1, topK: 0, seed: 42 };

describe('sampling', () => {
  it('is deterministic for a seed and varies with it', () => {
    const model = tinyModel({}, 11);
    const a = sampleText(model, opts).text;
    expect(a).toHaveLength(60);
    expect(sampleText(model, opts).text).toBe(a);
    expect(sampleText(model, { ...opts, seed: 43 }).text).not.toBe(a);
    model.dispose();
  });

  it('temperature 0 and top_k 1 both pick the most likely character', () => {
    const model = tinyModel({}, 12);
    const greedy = sampleText(model, { ...opts, temperature: 0, candidates: 1 });
    for (const s of greedy.steps) expect(s.char).toBe(s.top![0]!.char);
    expect(sampleText(model, { ...opts, temperature: 0, seed: 99 }).text).toBe(greedy.text); // seed irrelevant
    expect(sampleText(model, { ...opts, topK: 1 }).text).toBe(greedy.text);
    model.dispose();
  });

  it('top_k restricts every draw to the k likeliest characters; candidates are sorted probabilities', () => {
    const model = tinyModel({}, 13);
    const { steps } = sampleText(model, { ...opts, topK: 3, candidates: 3, temperature: 2 });
    for (const s of steps) {
      const top = s.top!;
      expect(top.map((c) => c.char)).toContain(s.char);
      expect(top[0]!.prob).toBeGreaterThanOrEqual(top[1]!.prob);
      expect(top[1]!.prob).toBeGreaterThanOrEqual(top[2]!.prob);
      expect(top.reduce((n, c) => n + c.prob, 0)).toBeLessThanOrEqual(1 + 1e-6);
    }
    model.dispose();
  });

  it('refuses a prime with characters outside the vocabulary, naming them', () => {
    const model = tinyModel();
    expect(() => sampleText(model, { ...opts, prime: 'the Zebra ☃' })).toThrow(UnknownCharsError);
    try {
      sampleText(model, { ...opts, prime: 'the Zebra ☃' });
    } catch (err) {
      expect((err as UnknownCharsError).chars).toEqual(['Z', '☃']);
    }
    expect(sampleText(model, { ...opts, prime: '' }).text).toHaveLength(60); // empty prime: starts as after a newline
    model.dispose();
  });
});

describe('CharStepper', () => {
  const configs = [
    { cell: 'lstm', layers: 2, embedDim: 0 },
    { cell: 'lstm', layers: 3, embedDim: 5 },
    { cell: 'rnn', layers: 2, embedDim: 0 },
    { cell: 'rnn', layers: 1, embedDim: 4 },
  ] as const;
  for (const c of configs) {
    it(`matches the training forward pass and the one step definition, step by step (${c.cell}, ${c.layers} layers, embed ${c.embedDim})`, () => {
      const model = tinyModel({ ...c, dropout: 0.5 }, 21); // dropout must be off at inference
      const ids = model.vocab.encode(TEXT.slice(0, 12));
      const expected = tf.tidy(() =>
        tf.logSoftmax(model.forward(tf.tensor1d(ids, 'int32'), ids.length, model.zeroState(1)).logits).arraySync(),
      );
      const stepper = new CharStepper(model);
      let state = stepper.initialState();
      // The one definition of a step (charStep, which the ONNX graph is exported from), on tfjs.
      let defined = model.zeroState(1);
      ids.forEach((id, t) => {
        const out = stepper.step(state, id);
        out.logProbs.forEach((v, k) => expect(v).toBeCloseTo(expected[t]![k]!, 4));
        const next = model.step(defined, tf.tensor1d([id], 'int32'));
        const want = next.logProbs.dataSync();
        out.logProbs.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 4));
        tf.dispose([next.logProbs, ...defined.h, ...defined.c]);
        defined = next.state;
        state = out.state;
      });
      tf.dispose([...defined.h, ...defined.c]);
      stepper.dispose();
      model.dispose();
    });
  }
});

describe('charStepModel', () => {
  it('steps rows independently, and a gathered row continues like the original (states are never changed)', () => {
    const model = tinyModel({ layers: 2 }, 22);
    const stepper = new CharStepper(model);
    const lm = charStepModel(stepper);
    const [a, b] = model.vocab.encode('th');
    const two = lm.step([stepper.initialState(), stepper.initialState()], [a!, b!]);
    const one = lm.step([stepper.initialState()], [b!]);
    expect(Array.from(two.logProbs.subarray(lm.vocabSize))).toEqual(Array.from(one.logProbs));
    const forked = lm.gather(two.state, [1, 1]);
    const next = lm.step(forked, [a!, a!]);
    const again = lm.step(one.state, [a!]);
    expect(Array.from(next.logProbs.subarray(0, lm.vocabSize))).toEqual(Array.from(again.logProbs));
    expect(Array.from(next.logProbs.subarray(lm.vocabSize))).toEqual(Array.from(again.logProbs));
    stepper.dispose();
    model.dispose();
  });
});

describe('save / load', () => {
  it('round-trips weights and config (vocab included)', async () => {
    const model = tinyModel({ embedDim: 3 }, 5);
    const dir = path.join(tmp, 'm');
    await model.save(dir, { metrics: { val: { nats: 1 } } });
    const loaded = await CharModel.load(dir);
    expect(loaded.config.vocab).toEqual(model.config.vocab);
    expect(loaded.config.metrics).toEqual({ val: { nats: 1 } });
    expect(sampleText(loaded, opts).text).toBe(sampleText(model, opts).text);
    loaded.dispose();
    model.dispose();
  });

  it('explains a config that is not a char model', async () => {
    const dir = path.join(tmp, 'bad');
    await tinyModel().save(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ kind: 'char-rnn', cell: 'gru' }));
    await expect(CharModel.load(dir)).rejects.toThrow(/not a char model config: .*cell/);
  });
});
