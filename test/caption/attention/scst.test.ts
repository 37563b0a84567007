import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionConfig } from '../../../src/caption/attention/config.js';
import { scstRows } from '../../../src/caption/attention/data.js';
import { AttentionModel } from '../../../src/caption/attention/model.js';
import { attentionPolicy } from '../../../src/caption/attention/scst.js';
import { spec } from '../../../src/caption/attention/train-spec.js';
import { policyStep } from '../../../src/caption/scst.js';
import type { SelectedRegions } from '../../../src/encoder/regions.js';
import { CiderDScorer } from '../../../src/eval/cider.js';
import { initBackend } from '../../../src/nn/backend.js';
import { START_ID, SPECIALS } from '../../../src/text/vocab.js';
import { SLOT, SLOTS } from '../../../src/caption/grounded/slots.js';
import { TOKENS } from '../../../src/caption/generate.js';
import { drawSteps, runSearch } from '../../../src/search/index.js';
import { detection } from './fake-net.js';
import { rng } from '../../../src/util/random.js';

const R = 5;
const config = (): AttentionConfig => ({
  kind: 'caption-attention',
  name: 'tiny-attention',
  version: 't',
  encoder: 'mobilenet_v2+centernet',
  regionDim: R,
  embedDim: 8,
  hiddenDim: 12,
  attendDim: 6,
  dropout: 0,
  maxWords: 6,
  maxRegions: 3,
  regionMinScore: 0.2,
  vocab: [...SPECIALS, 'a', 'dog', 'runs', 'cat', 'sleeps'],
});

/** Two images with 3 and 1 regions (the whole image last). */
function images(): SelectedRegions[] {
  const random = rng(3);
  return [3, 1].map((count) => ({ rows: Float32Array.from({ length: count * R }, () => random()), objects: [] }));
}

const tok = (s: string) => s.split(' ');

beforeAll(async () => {
  await initBackend('cpu');
});

describe('attention SCST', () => {
  it("packs sampled captions for the gradient pool so that the spec's loss is the policy's loss", () => {
    const model = AttentionModel.init(config(), 5);
    const imgs = images();
    const hyps = [
      { ids: [4, 5, 2], logprob: 0 },
      { ids: [4, 7, 8, 2], logprob: 0 },
      { ids: [6, 2], logprob: 0 },
      { ids: [4, 5, 6, 7, 2], logprob: 0 },
    ];
    const advantages = [0.5, -0.25, 1, -2];
    const policy = attentionPolicy(model, imgs);
    const direct = policy.loss(hyps, 2, advantages);
    const examples = hyps.map((h, r) => ({ image: Math.floor(r / 2), ids: [START_ID, ...h.ids] }));
    const shard = scstRows(examples, imgs, advantages, R).shard(0, hyps.length);
    const pooled = spec.loss(model, shard.tensors, 0) as tf.Scalar;
    expect(pooled.dataSync()[0]).toBeCloseTo(direct.dataSync()[0]!, 5);
    // The second half alone is rows 2..3: images of row 2 and 3 are image 1, so the packing must not restart at image 0.
    const half = scstRows(examples, imgs, advantages, R).shard(2, 4);
    const halfLoss = spec.loss(model, half.tensors, 0) as tf.Scalar;
    const alone = attentionPolicy(model, [imgs[1]!]).loss(hyps.slice(2), 2, advantages.slice(2));
    expect(halfLoss.dataSync()[0]).toBeCloseTo(alone.dataSync()[0]!, 5);
    tf.dispose([direct, pooled, halfLoss, alone, ...Object.values(shard.tensors), ...Object.values(half.tensors)]);
    model.dispose();
  });

  it('takes a policy step that changes the weights without leaking tensors', async () => {
    const model = AttentionModel.init(config(), 9);
    const refs = [[tok('a dog runs')], [tok('a cat sleeps')]];
    const scorer = CiderDScorer.fromReferences(refs);
    const optimizer = tf.train.sgd(0.5);
    const before = tf.memory().numTensors;
    const wout = model.params.wout.arraySync();
    const policy = attentionPolicy(model, images());
    const report = await policyStep(
      policy,
      optimizer,
      5,
      refs.map((r) => scorer.references(r)),
      scorer,
      { samples: 3, maxLength: 6, baseline: 'mean', seed: 2 },
    );
    expect(Number.isFinite(report.loss)).toBe(true);
    expect(model.params.wout.arraySync()).not.toEqual(wout);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    model.dispose();
  });
});

describe('attention SCST of a slots model', () => {
  const slotsConfig = (): AttentionConfig => ({
    ...config(),
    name: 'tiny-slots',
    slots: true,
    vocab: [...SPECIALS, SLOT, SLOTS, 'a', 'dog', 'runs', 'cat', 'sleeps', 'man'],
  });
  /** Two images: a dog, a cat and a man (then the whole image); a cat alone. */
  function slotImages(): SelectedRegions[] {
    const random = rng(4);
    const objects = [[detection('dog', 0.9), detection('cat', 0.6), detection('person', 0.5)], [detection('cat', 0.8)]];
    return objects.map((o) => ({ rows: Float32Array.from({ length: (o.length + 1) * R }, () => random()), objects: o }));
  }

  it("the teacher-forced log-probability of a sampled caption is the sampler's, slots and pointer included", () => {
    const model = AttentionModel.init(slotsConfig(), 7);
    const imgs = slotImages();
    const policy = attentionPolicy(model, imgs);
    const K = 6;
    const repeated = policy.lm.gather(
      policy.init,
      Array.from({ length: 2 * K }, (_, r) => Math.floor(r / K)),
    );
    const pick = { temperature: 1, topK: 0, seed: 3, end: TOKENS.end };
    const hyps = runSearch(policy.lm, drawSteps(policy.lm, repeated, new Array<number>(2 * K).fill(START_ID), pick, 6));
    const V = model.vocab.size;
    expect(hyps.some((h) => h.ids.some((t) => t >= V))).toBe(true); // some samples fill slots
    // With advantage −1 on one sample and 0 on the others, the loss is that sample's log-probability (over the batch size).
    hyps.forEach((h, i) => {
      const advantages = hyps.map((_, j) => (j === i ? -1 : 0));
      const loss = policy.loss(hyps, K, advantages);
      expect(loss.dataSync()[0]! * hyps.length).toBeCloseTo(h.logprob, 3);
      loss.dispose();
    });
    for (const h of hyps) expect(policy.tokens(h.ids).join(' ')).not.toMatch(/<slot/);
    model.dispose();
  });

  it('takes a policy step on slots without leaking tensors, moving the pointer (the attention) too', async () => {
    const model = AttentionModel.init(slotsConfig(), 9);
    const refs = [[tok('a man runs')], [tok('a cat sleeps')]];
    const scorer = CiderDScorer.fromReferences(refs);
    const optimizer = tf.train.sgd(0.5);
    const before = tf.memory().numTensors;
    const wa = model.params.wa.arraySync();
    const report = await policyStep(
      attentionPolicy(model, slotImages()),
      optimizer,
      5,
      refs.map((r) => scorer.references(r)),
      scorer,
      { samples: 4, maxLength: 6, baseline: 'mean', seed: 2 },
    );
    expect(Number.isFinite(report.loss)).toBe(true);
    expect(model.params.wa.arraySync()).not.toEqual(wa);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    model.dispose();
  });
});
