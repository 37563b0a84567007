import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../../src/caption/generate.js';
import { CaptionModel } from '../../src/caption/model.js';
import { sampledTargets, scstRollout, scstStep } from '../../src/caption/scst.js';
import { captionStepModel } from '../../src/caption/step-model.js';
import { CiderDScorer } from '../../src/eval/cider.js';
import { initBackend } from '../../src/nn/backend.js';
import { sampleSequences, type StepModel } from '../../src/search/index.js';
import { tinyCaptionConfig } from './tiny.js';

const tinyModel = (): CaptionModel => CaptionModel.init(tinyCaptionConfig(), 11);

/** Wraps a step model to keep every step's log-probabilities, as the search saw them. */
function recording<S>(lm: StepModel<S>): { lm: StepModel<S>; steps: Float32Array[] } {
  const steps: Float32Array[] = [];
  return {
    steps,
    lm: {
      vocabSize: lm.vocabSize,
      step(state, tokens) {
        const out = lm.step(state, tokens);
        steps.push(out.logProbs.slice());
        return out;
      },
      gather: (state, rows) => lm.gather(state, rows),
      dispose: (state) => lm.dispose(state),
    },
  };
}

const tok = (s: string) => s.split(' ');

beforeAll(async () => {
  await initBackend();
});

describe('SCST on the caption decoder', () => {
  it("teacher-forcing a sampled caption gives the search's step-by-step log-probabilities (1e-5)", () => {
    const model = tinyModel();
    const V = model.vocab.size;
    const feats = tf.tensor2d([[0.5, -1, 2, 0.1]]);
    const rec = recording(captionStepModel(model));
    const init = model.initialState(feats);
    const K = 6;
    const hyps = sampleSequences(rec.lm, init, TOKENS, { n: K, maxLength: 8, temperature: 1, seed: 5 });
    tf.dispose([init.h, init.c]);
    // Padding is exercised: the samples have different lengths.
    expect(new Set(hyps.map((h) => h.ids.length)).size).toBeGreaterThan(1);

    const { tokens, mask } = sampledTargets(hyps);
    const repeated = tf.tile(feats, [K, 1]) as tf.Tensor2D;
    const lp = model.tokenLogProbs(repeated, tokens);
    const forced = lp.arraySync();
    const m = mask.arraySync();
    hyps.forEach((h, r) => {
      h.ids.forEach((id, t) => {
        expect(m[r]![t]).toBe(1);
        expect(Math.abs(forced[r]![t]! - rec.steps[t]![r * V + id]!)).toBeLessThan(1e-5);
      });
      for (let t = h.ids.length; t < m[r]!.length; t++) expect(m[r]![t]).toBe(0);
      const total = h.ids.reduce((s, _, t) => s + forced[r]![t]!, 0);
      expect(Math.abs(total - h.logprob)).toBeLessThan(1e-4);
    });
    tf.dispose([feats, tokens, mask, repeated, lp]);
    model.dispose();
  });

  it('rolls out with either baseline and takes a step without leaking tensors', async () => {
    const model = tinyModel();
    const refs = [[tok('a dog runs')], [tok('a cat sleeps')]];
    const scorer = CiderDScorer.fromReferences([...refs, [tok('a dog sleeps')]]);
    const prepared = refs.map((r) => scorer.references(r));
    const feats = tf.tensor2d([
      [1, 0, 0, 1],
      [0, 1, 1, 0],
    ]);
    const opts = { samples: 3, maxLength: 6, seed: 1 };
    const greedy = scstRollout(model, feats, prepared, scorer, { ...opts, baseline: 'greedy' });
    expect(greedy.samples.map((s) => s.length)).toEqual([3, 3]);
    greedy.rewards.forEach((rs, i) =>
      rs.forEach((r, k) => expect(greedy.advantages[i]![k]).toBeCloseTo(r - greedy.greedyRewards![i]!, 12)),
    );
    const mean = scstRollout(model, feats, prepared, scorer, { ...opts, baseline: 'mean' });
    expect(mean.greedyRewards).toBeUndefined();
    mean.advantages.forEach((as) => expect(as.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 9));

    const sgd = tf.train.sgd(0.1);
    const before = tf.memory().numTensors;
    const wout = model.params.wout.arraySync();
    const report = await scstStep(model, sgd, 5, feats, prepared, scorer, { ...opts, baseline: 'mean' });
    expect(Number.isFinite(report.loss)).toBe(true);
    expect(report.sampleReward).toBeGreaterThanOrEqual(0);
    expect(model.params.wout.arraySync()).not.toEqual(wout);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(feats);
    sgd.dispose();
    model.dispose();
  });
});
