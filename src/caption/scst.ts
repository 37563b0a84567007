/**
 * Self-critical sequence training of the plain caption decoder (Rennie et al. 2017): sample K
 * captions per image, reward each with CIDEr-D against the image's references, and take a
 * policy-gradient step with the advantages over a baseline (the greedy caption's reward, or the
 * mean of the other samples'). The sampled captions are teacher-forced through the decoder as
 * if they were targets (CaptionModel.tokenLogProbs), so log p(w_t) is differentiable.
 */
import * as tf from '@tensorflow/tfjs';
import type { CiderDReferences, CiderDScorer } from '../eval/cider.js';
import { normalizeCaption } from '../eval/tokenize.js';
import { drawSteps, greedySearch, runSearch, type Hypothesis } from '../search/index.js';
import { START_ID } from '../text/vocab.js';
import { policyGradientLoss, scstAdvantages } from '../train/scst.js';
import { gradientStep, type StepReport } from '../train/step.js';
import { makeBatch } from './batches.js';
import { TOKENS } from './generate.js';
import type { CaptionModel } from './model.js';
import { captionStepModel } from './step-model.js';

export interface ScstOptions {
  /** Captions sampled per image (K). */
  samples: number;
  /** Longest sampled caption, in tokens (the end token included). */
  maxLength: number;
  baseline: 'greedy' | 'mean';
  /** Sampling temperature (1: the model's distribution, as the policy gradient assumes). */
  temperature?: number;
  seed: number;
}

/** Sampled captions as teacher-forcing input: tokens [B, T+1] = <start> ids… <pad>…, mask [B, T] over the ids. */
export function sampledTargets(hyps: readonly Hypothesis[]): { tokens: tf.Tensor2D; mask: tf.Tensor2D } {
  if (hyps.some((h) => h.ids.length === 0)) throw new Error('SCST: an empty sampled caption');
  const batch = makeBatch(hyps.map((h) => ({ featureRow: 0, ids: [START_ID, ...h.ids] })));
  return {
    tokens: tf.tensor2d(batch.tokens, [batch.size, batch.steps + 1], 'int32'),
    mask: tf.tensor2d(batch.mask, [batch.size, batch.steps]),
  };
}

/**
 * The SCST loss of sampled captions: features [B, D] holds each caption's image vector (an
 * image's row repeated for each of its samples), advantages one per caption.
 */
export function scstLoss(
  model: CaptionModel,
  features: tf.Tensor2D,
  hyps: readonly Hypothesis[],
  advantages: readonly number[],
  dropoutSeed?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const { tokens, mask } = sampledTargets(hyps);
    return policyGradientLoss(model.tokenLogProbs(features, tokens, dropoutSeed), mask, advantages);
  });
}

export interface Rollout {
  /** Per image, its K sampled captions. */
  samples: Hypothesis[][];
  /** CIDEr-D of each sample. */
  rewards: number[][];
  /** CIDEr-D of each image's greedy caption (greedy baseline only). */
  greedyRewards?: number[];
  advantages: number[][];
}

/** The CIDEr-D of a decoded caption, tokenised as the evaluation tokenises it. */
export function captionReward(model: CaptionModel, scorer: CiderDScorer, ids: readonly number[], refs: CiderDReferences): number {
  return scorer.score(normalizeCaption(model.vocab.decode(ids).join(' ')), refs);
}

/** K samples per image of `features` [N, D] (and the greedy captions for that baseline), rewarded against refs[i]. */
export function scstRollout(
  model: CaptionModel,
  features: tf.Tensor2D,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  opts: ScstOptions,
): Rollout {
  const N = features.shape[0];
  const K = opts.samples;
  if (refs.length !== N) throw new Error(`SCST: ${N} images but ${refs.length} reference sets`);
  const lm = captionStepModel(model);
  const init = model.initialState(features);
  let greedy: Hypothesis[] | undefined;
  let flat: Hypothesis[];
  try {
    if (opts.baseline === 'greedy') greedy = greedySearch(lm, init, N, TOKENS, opts.maxLength);
    const rows = Array.from({ length: N * K }, (_, r) => Math.floor(r / K));
    const repeated = lm.gather(init, rows);
    try {
      const pick = { temperature: opts.temperature ?? 1, topK: 0, seed: opts.seed, end: TOKENS.end };
      flat = runSearch(lm, drawSteps(lm, repeated, new Array<number>(N * K).fill(TOKENS.start), pick, opts.maxLength));
    } finally {
      lm.dispose(repeated);
    }
  } finally {
    lm.dispose(init);
  }
  const samples = Array.from({ length: N }, (_, i) => flat.slice(i * K, (i + 1) * K));
  const rewards = samples.map((hs, i) => hs.map((h) => captionReward(model, scorer, h.ids, refs[i]!)));
  const greedyRewards = greedy?.map((h, i) => captionReward(model, scorer, h.ids, refs[i]!));
  const advantages = scstAdvantages(rewards, greedyRewards ? { kind: 'greedy', rewards: greedyRewards } : { kind: 'mean' });
  return { samples, rewards, ...(greedyRewards ? { greedyRewards } : {}), advantages };
}

export interface ScstStepReport extends StepReport {
  /** Mean CIDEr-D of the samples. */
  sampleReward: number;
  /** Mean CIDEr-D of the greedy captions (greedy baseline only). */
  greedyReward?: number;
}

/** One SCST update on a batch of images: roll out, then one clipped optimizer step on the policy-gradient loss. */
export function scstStep(
  model: CaptionModel,
  optimizer: tf.Optimizer,
  clip: number,
  features: tf.Tensor2D,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  opts: ScstOptions,
): ScstStepReport {
  const rollout = scstRollout(model, features, refs, scorer, opts);
  const K = opts.samples;
  const rows = tf.tensor1d(
    Int32Array.from({ length: features.shape[0] * K }, (_, r) => Math.floor(r / K)),
    'int32',
  );
  const repeated = tf.gather(features, rows);
  try {
    const report = gradientStep(model.variables(), optimizer, clip, () =>
      scstLoss(model, repeated, rollout.samples.flat(), rollout.advantages.flat()),
    );
    return {
      ...report,
      sampleReward: mean(rollout.rewards.flat()),
      ...(rollout.greedyRewards ? { greedyReward: mean(rollout.greedyRewards) } : {}),
    };
  } finally {
    tf.dispose([rows, repeated]);
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}
