import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { policyGradientLoss, scstAdvantages } from '../../src/train/scst.js';
import { gradientStep } from '../../src/train/step.js';

beforeAll(async () => {
  await initBackend();
});

describe('scstAdvantages', () => {
  it('subtracts the greedy caption reward of each image', () => {
    const adv = scstAdvantages(
      [
        [1, 0.5, 2],
        [0, 3, 1],
      ],
      { kind: 'greedy', rewards: [1, 2] },
    );
    expect(adv).toEqual([
      [0, -0.5, 1],
      [-2, 1, -1],
    ]);
  });

  it('subtracts the mean of the other K−1 samples of the same image', () => {
    // image 1: 1 - (2+6)/2 = -3, 2 - (1+6)/2 = -1.5, 6 - (1+2)/2 = 4.5; image 2: 4 - 0 = 4, 0 - 4 = -4.
    const adv = scstAdvantages(
      [
        [1, 2, 6],
        [4, 0],
      ],
      { kind: 'mean' },
    );
    expect(adv).toEqual([
      [-3, -1.5, 4.5],
      [4, -4],
    ]);
  });

  it('rejects a mean baseline over one sample and greedy rewards that do not match the images', () => {
    expect(() => scstAdvantages([[1]], { kind: 'mean' })).toThrow();
    expect(() => scstAdvantages([[1, 2]], { kind: 'greedy', rewards: [] })).toThrow();
  });
});

/** A toy policy: an independent softmax per position, logits θ [T, V]; log p(w) = Σ_t log softmax(θ_t)[w_t]. */
function toyPolicy(T: number, V: number) {
  const theta = tf.variable(tf.zeros([T, V]), true, `theta${Math.random()}`);
  const tokenLogProbs = (seqs: number[][]) =>
    tf.tidy(() => {
      const lp = tf.logSoftmax(theta);
      // [B, T]: lp[t, seqs[b][t]], picked by a one-hot product (differentiable).
      const picks = tf.oneHot(tf.tensor2d(seqs, [seqs.length, T], 'int32'), V);
      return tf.sum(tf.mul(picks, lp), 2) as tf.Tensor2D;
    });
  const seqProb = (seq: number[]) => tf.tidy(() => Math.exp(tokenLogProbs([seq]).sum().dataSync()[0]!));
  return { theta, tokenLogProbs, seqProb };
}

describe('policyGradientLoss', () => {
  const A = [1, 2, 3];
  const B = [2, 1, 3];
  const mask = () => tf.ones([2, 3]) as tf.Tensor2D;

  function sgdStep(policy: ReturnType<typeof toyPolicy>, rewards: number[]) {
    const adv = scstAdvantages([rewards], { kind: 'mean' })[0]!;
    const m = mask();
    gradientStep({ theta: policy.theta }, tf.train.sgd(0.5), 1e9, () => policyGradientLoss(policy.tokenLogProbs([A, B]), m, adv));
    m.dispose();
  }

  it('raises the probability of the higher-reward sample and lowers the other one after one SGD step', () => {
    const policy = toyPolicy(3, 5);
    const [pA, pB] = [policy.seqProb(A), policy.seqProb(B)];
    sgdStep(policy, [1, 0]);
    expect(policy.seqProb(A)).toBeGreaterThan(pA * 1.05);
    expect(policy.seqProb(B)).toBeLessThan(pB / 1.05);
    policy.theta.dispose();
  });

  it('moves nothing when the rewards are equal', () => {
    const policy = toyPolicy(3, 5);
    const before = policy.theta.arraySync();
    sgdStep(policy, [0.7, 0.7]);
    expect(policy.theta.arraySync()).toEqual(before);
    policy.theta.dispose();
  });

  it('is −(1/B) Σ advantage · Σ_t log p over the real tokens; padding gets neither value nor gradient', () => {
    const lp = tf.tensor2d([
      [-1, -2, -3],
      [-0.5, -4, -100],
    ]);
    const m = tf.tensor2d([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    const adv = [2, -1];
    const loss = policyGradientLoss(lp, m as tf.Tensor2D, adv);
    // -(2 · (-6) + (-1) · (-4.5)) / 2 = 3.75; the padded -100 is not counted.
    expect(loss.dataSync()[0]).toBeCloseTo(3.75, 5);
    const grad = tf.grad((x: tf.Tensor) => policyGradientLoss(x as tf.Tensor2D, m as tf.Tensor2D, adv))(lp);
    // d/d lp[b, t] = -adv_b · mask / B: -1 on row 0, 0.5 on row 1's real tokens, 0 at the padding.
    expect(Array.from(grad.dataSync())).toEqual([-1, -1, -1, 0.5, 0.5, 0]);
    tf.dispose([lp, m, loss, grad]);
  });

  it('checks shapes', () => {
    const lp = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => policyGradientLoss(lp, tf.ones([2, 2]) as tf.Tensor2D, [1, 1])).toThrow();
    expect(() => policyGradientLoss(lp, tf.ones([2, 3]) as tf.Tensor2D, [1])).toThrow();
  });
});
