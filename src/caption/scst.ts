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
import type { LstmState } from '../nn/lstm.js';
import { drawSteps, greedySearch, runSearch, type Hypothesis, type StepModel } from '../search/index.js';
import { START_ID } from '../text/vocab.js';
import { policyGradientLoss, scstAdvantages } from '../train/scst.js';
import { gradientStep, type Gradients, type StepReport } from '../train/step.js';
import { log } from '../log.js';
import { rng } from '../util/random.js';
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

/**
 * What SCST needs of a caption decoder for one batch of N images, whatever its architecture:
 * a step model and its first state (N rows) for the searches, and the loss of sampled captions.
 */
export interface ScstPolicy<S> {
  lm: StepModel<S>;
  /** N rows, one per image; the policy's owner disposes it. */
  init: S;
  images: number;
  /** The policy-gradient loss of captions (image-major, `perImage` each) with their advantages: differentiable in `variables`. */
  loss(hyps: readonly Hypothesis[], perImage: number, advantages: readonly number[]): tf.Scalar;
  /** Present when the loss's gradients can be computed elsewhere (a gradient pool over both cores): what gradientStep takes. */
  gradients?(hyps: readonly Hypothesis[], perImage: number, advantages: readonly number[]): Promise<Gradients>;
  variables(): Record<string, tf.Variable>;
  /** Word ids → the caption's tokens as the evaluation tokenises it. */
  tokens(ids: readonly number[]): string[];
}

/** K samples per image (and the greedy captions for that baseline), rewarded against refs[i]. */
export function rollout<S>(policy: ScstPolicy<S>, refs: readonly CiderDReferences[], scorer: CiderDScorer, opts: ScstOptions): Rollout {
  const { lm, init, images: N } = policy;
  const K = opts.samples;
  if (refs.length !== N) throw new Error(`SCST: ${N} images but ${refs.length} reference sets`);
  const greedy = opts.baseline === 'greedy' ? greedySearch(lm, init, N, TOKENS, opts.maxLength) : undefined;
  const repeated = lm.gather(
    init,
    Array.from({ length: N * K }, (_, r) => Math.floor(r / K)),
  );
  let flat: Hypothesis[];
  try {
    const pick = { temperature: opts.temperature ?? 1, topK: 0, seed: opts.seed, end: TOKENS.end };
    flat = runSearch(lm, drawSteps(lm, repeated, new Array<number>(N * K).fill(TOKENS.start), pick, opts.maxLength));
  } finally {
    lm.dispose(repeated);
  }
  const reward = (ids: readonly number[], i: number) => scorer.score(policy.tokens(ids), refs[i]!);
  const samples = Array.from({ length: N }, (_, i) => flat.slice(i * K, (i + 1) * K));
  const rewards = samples.map((hs, i) => hs.map((h) => reward(h.ids, i)));
  const greedyRewards = greedy?.map((h, i) => reward(h.ids, i));
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
export async function policyStep<S>(
  policy: ScstPolicy<S>,
  optimizer: tf.Optimizer,
  clip: number,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  opts: ScstOptions,
): Promise<ScstStepReport> {
  const out = rollout(policy, refs, scorer, opts);
  const [hyps, advantages] = [out.samples.flat(), out.advantages.flat()];
  const report = gradientStep(
    policy.variables(),
    optimizer,
    clip,
    policy.gradients ? await policy.gradients(hyps, opts.samples, advantages) : () => policy.loss(hyps, opts.samples, advantages),
  );
  return {
    ...report,
    sampleReward: mean(out.rewards.flat()),
    ...(out.greedyRewards ? { greedyReward: mean(out.greedyRewards) } : {}),
  };
}

/** The plain decoder as an SCST policy over features [N, D] (the caller disposes the policy's init). */
export function plainPolicy(model: CaptionModel, features: tf.Tensor2D): ScstPolicy<LstmState> {
  return {
    lm: captionStepModel(model),
    init: model.initialState(features),
    images: features.shape[0],
    loss: (hyps, perImage, advantages) =>
      tf.tidy(() => {
        const rows = tf.tensor1d(
          Int32Array.from(hyps, (_, r) => Math.floor(r / perImage)),
          'int32',
        );
        return scstLoss(model, tf.gather(features, rows), hyps, advantages);
      }),
    variables: () => model.variables(),
    tokens: (ids) => normalizeCaption(model.vocab.decode(ids).join(' ')),
  };
}

/** With the plain decoder: K samples per image of `features` [N, D], rewarded against refs[i]. */
export function scstRollout(
  model: CaptionModel,
  features: tf.Tensor2D,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  opts: ScstOptions,
): Rollout {
  const policy = plainPolicy(model, features);
  try {
    return rollout(policy, refs, scorer, opts);
  } finally {
    policy.lm.dispose(policy.init);
  }
}

/** One SCST update of the plain decoder on images `features` [N, D]. */
export async function scstStep(
  model: CaptionModel,
  optimizer: tf.Optimizer,
  clip: number,
  features: tf.Tensor2D,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  opts: ScstOptions,
): Promise<ScstStepReport> {
  const policy = plainPolicy(model, features);
  try {
    return await policyStep(policy, optimizer, clip, refs, scorer, opts);
  } finally {
    policy.lm.dispose(policy.init);
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

export interface ScstRunOptions extends ScstOptions {
  iterations: number;
  /** Training images per iteration. */
  images: number;
  clip: number;
  /** Validate (and keep the best) every this many iterations. */
  validateEvery: number;
  /** Stop once this many minutes have passed (after a validation). */
  maxMinutes: number;
}

export interface ScstRunReport {
  /** Val score before any update, and the best seen (kept by `save`). */
  before: number;
  best: number;
  bestIteration: number;
  iterations: number;
  secondsPerIteration: number;
  history: { iteration: number; val: number; sampleReward: number }[];
}

/**
 * SCST fine-tuning of any decoder: `policyFor(picks)` makes the policy of those training images
 * (and disposes what it holds with `release`), `refs[i]` is training image i's references, `validate`
 * scores the current model on validation images, `save` keeps it (called at each new best).
 */
export async function scstFineTune<S>(
  trainImages: number,
  refs: readonly CiderDReferences[],
  scorer: CiderDScorer,
  policyFor: (picks: readonly number[]) => { policy: ScstPolicy<S>; release(): void },
  validate: () => number,
  save: () => Promise<void>,
  opts: ScstRunOptions,
  optimizer: tf.Optimizer,
  report: (it: number, step: ScstStepReport) => void = () => undefined,
): Promise<ScstRunReport> {
  const random = rng(opts.seed);
  const before = validate();
  const history: ScstRunReport['history'] = [{ iteration: 0, val: before, sampleReward: 0 }];
  let best = before;
  let bestIteration = 0;
  const started = performance.now();
  let it = 0;
  let rewards: number[] = [];
  while (it < opts.iterations) {
    it++;
    const picks = Array.from({ length: Math.min(opts.images, trainImages) }, () => Math.floor(random() * trainImages));
    const made = policyFor(picks);
    const policy = made.policy;
    try {
      const step = await policyStep(
        policy,
        optimizer,
        opts.clip,
        picks.map((i) => refs[i]!),
        scorer,
        { ...opts, seed: opts.seed * 7919 + it },
      );
      rewards.push(step.sampleReward);
      report(it, step);
    } finally {
      made.release();
    }
    const late = (performance.now() - started) / 60_000 >= opts.maxMinutes;
    if (it % opts.validateEvery === 0 || it === opts.iterations || late) {
      const val = validate();
      history.push({ iteration: it, val, sampleReward: mean(rewards) });
      log.info({ iteration: it, val, best: Math.max(best, val), sampleReward: mean(rewards) }, 'scst validation');
      rewards = [];
      if (val > best) {
        best = val;
        bestIteration = it;
        await save();
      }
      if (late) break;
    }
  }
  return { before, best, bestIteration, iterations: it, secondsPerIteration: (performance.now() - started) / 1000 / it, history };
}
