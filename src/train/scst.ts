/**
 * Self-critical sequence training (Rennie et al. 2017), the model-free half: advantages of
 * sampled sequences against a baseline, and the REINFORCE loss over their tokens. The model
 * supplies log p(w_t) of the sampled tokens as a differentiable tensor (e.g. by teacher-forcing
 * the samples through its decoder); the reward (CIDEr-D in the paper) is any number per sample.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * What each sample's reward is compared with:
 * - greedy: the reward of the image's greedy (test-time) caption, one per image (the paper's SCST);
 * - mean: the mean reward of the image's other K−1 samples ("mean of K samples", needs K ≥ 2).
 */
export type ScstBaseline = { kind: 'greedy'; rewards: readonly number[] } | { kind: 'mean' };

/**
 * advantage[i][k] = rewards[i][k] − baseline for the k-th sample of image i. With the mean
 * baseline each sample is compared with the mean of the *other* samples, which keeps the
 * estimate unbiased (the baseline does not depend on the sample it scores).
 */
export function scstAdvantages(rewards: readonly (readonly number[])[], baseline: ScstBaseline): number[][] {
  if (baseline.kind === 'greedy') {
    if (baseline.rewards.length !== rewards.length) {
      throw new Error(`SCST: ${rewards.length} images of samples but ${baseline.rewards.length} greedy rewards`);
    }
    return rewards.map((rs, i) => rs.map((r) => r - baseline.rewards[i]!));
  }
  return rewards.map((rs) => {
    const K = rs.length;
    if (K < 2) throw new Error('SCST: the mean-of-samples baseline needs at least 2 samples per image');
    const sum = rs.reduce((a, b) => a + b, 0);
    return rs.map((r) => r - (sum - r) / (K - 1));
  });
}

/**
 * The policy-gradient loss −(1/B) Σ_b advantage_b Σ_t mask[b, t] · log p(w_bt), for B sampled
 * sequences. logProbs [B, T]: log-probabilities of the sampled tokens (the gradient flows
 * through them); mask [B, T]: 1 for real tokens, 0 for padding after a sequence ended, which
 * contribute nothing. The advantages are constants. A mean over sequences, like the
 * trainers' losses are means over their items.
 */
export function policyGradientLoss(logProbs: tf.Tensor2D, mask: tf.Tensor2D, advantages: readonly number[]): tf.Scalar {
  const [B, T] = logProbs.shape;
  if (mask.shape[0] !== B || mask.shape[1] !== T) {
    throw new Error(`SCST: log-probabilities [${B}, ${T}] but mask [${mask.shape.join(', ')}]`);
  }
  if (advantages.length !== B) throw new Error(`SCST: ${B} sequences but ${advantages.length} advantages`);
  return tf.tidy(() => {
    // Masked positions are zeroed by a select, not a product, so a -Infinity log-probability there cannot make NaN.
    const masked = tf.where(tf.greater(mask, 0), tf.mul(logProbs, mask), tf.zerosLike(logProbs));
    const perSequence = tf.sum(masked, 1);
    const adv = tf.tensor1d(Float32Array.from(advantages));
    return tf.div(tf.neg(tf.sum(tf.mul(adv, perSequence))), Math.max(B, 1)) as tf.Scalar;
  });
}
