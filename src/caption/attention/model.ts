import * as tf from '@tensorflow/tfjs';
import { maskedMean, MASKED, regionInput } from '../../nn/attention.js';
import { dense, imageState, lstmCell, type InputStats } from '../../nn/blocks.js';
import { inputStats } from '../../nn/feature-norm.js';
import { lstmBias, targetNll, timeMajor, weightedNll } from '../../nn/lstm.js';
import { glorotUniform } from '../../nn/ops.js';
import { tfOps, type Ops } from '../../nn/tensor-ops.js';
import { loadWeightsModel, trainable, WeightsModel } from '../../nn/weights-model.js';
import { Vocab } from '../../text/vocab.js';
import { readAttentionConfig, type AttentionConfig } from './config.js';

/**
 * The decoder's weights, by name (the names are the on-disk keys). R: region
 * descriptor width, E: embedding, H: both LSTMs' width, A: attention width.
 */
export const ATTENTION_WEIGHTS = [
  'embed', // [V, E] word embedding
  'wih', // [R, H] mean region → the attention LSTM's first hidden state
  'bih', // [H]
  'wr', // [R, H] region descriptor → region feature (what the context is made of)
  'wv', // [R, A] region descriptor → attention key (V_proj)
  'w1', // [H + H + E, 4H] attention LSTM: input [h2; mean feature; embed(w)] → gates (i, f, o, g)
  'u1', // [H, 4H]
  'b1', // [4H]
  'wh', // [H, A] attention query from h1
  'wa', // [A, 1] attention → score
  'wx', // [H + H + E, H] sentinel gate: attention LSTM input →
  'whs', // [H, H] sentinel gate: previous h1 →
  'ws', // [H, A] sentinel → attention key
  'w2', // [H + H, 4H] language LSTM: input [context; h1] → gates
  'u2', // [H, 4H]
  'b2', // [4H]
  'wout', // [H, V] h2 → word logits
  'bout', // [V]
] as const;

export type AttentionWeightName = (typeof ATTENTION_WEIGHTS)[number];

/** A slots model's targets at its slots (src/caption/attention/data.ts, slotTensors). */
export interface SlotTargetTensors {
  inputs: tf.Tensor2D;
  slotRows: tf.Tensor1D;
  classMask: tf.Tensor2D;
  objectMask: tf.Tensor2D;
  fineMask: tf.Tensor2D;
  fineTargets: tf.Tensor1D;
  fineWeights: tf.Tensor1D;
}

/**
 * The pointer's log-probability at each slot [S]: the attention's share on the regions of the
 * slot's class among the regions it may point at (objectMask), from every step's shares α [T·B, K].
 */
export function slotPointerLogProbs(alpha: tf.Tensor2D, slots: SlotTargetTensors): tf.Tensor1D {
  return tf.tidy(() => {
    const shares = tf.gather(alpha, slots.slotRows);
    const tiny = 1e-8;
    const onClass = tf.log(tf.add(tf.sum(tf.mul(shares, slots.classMask), 1), tiny));
    const onObjects = tf.log(tf.add(tf.sum(tf.mul(shares, slots.objectMask), 1), tiny));
    return tf.sub(onClass, onObjects) as tf.Tensor1D;
  });
}

/** Trainable tensors, by name. */
export type AttentionParams = Record<AttentionWeightName, tf.Variable>;

/** The decoder's weights by name, on any runtime (tfjs tensors, or graph initializers). */
export type AttentionWeights<T> = Readonly<Record<AttentionWeightName, T>>;

/** Both LSTMs' states, each [N, H]: layer 1 (top-down attention), layer 2 (language). */
export interface AttentionState<T> {
  h1: T;
  c1: T;
  h2: T;
  c2: T;
}

/** An image's regions as every step reads them, computed once per image. */
export interface RegionMemory<T> {
  /** [N, K, H] region features (regions·Wr): what the attended context is made of. */
  features: T;
  /** [N, K, A] attention keys, V_proj = regions·Wv. */
  keys: T;
  /** [N, H] mean of the real regions' features. */
  mean: T;
  /** [N, K] 1 for a real region, 0 for padding. */
  mask: T;
}

/**
 * Regions [N, K, R] with mask [N, K] → what each step reads: features, attention keys
 * V_proj = regions·Wv, and the real regions' mean feature. Once per image.
 */
export function projectRegions<T>(o: Ops<T>, p: AttentionWeights<T>, regions: T, mask: T, stats?: InputStats): RegionMemory<T> {
  const x = regionInput(o, regions, stats);
  const features = o.matMul(x, p.wr);
  return { features, keys: o.matMul(x, p.wv), mean: maskedMean(o, features, mask), mask };
}

/**
 * The first state: layer 1's h0 = tanh(mean real region·Wih + bih) (the project's design: the
 * image vector enters the LSTM's first hidden state; here the image vector is the mean region),
 * and c1, h2, c2 zeros.
 */
export function attentionInitial<T>(o: Ops<T>, p: AttentionWeights<T>, regions: T, mask: T, stats?: InputStats): AttentionState<T> {
  const first = imageState(o, maskedMean(o, regionInput(o, regions, stats), mask), p.wih, p.bih);
  return { h1: first.h, c1: first.c, h2: o.zerosLike(first.h), c2: o.zerosLike(first.h) };
}

/** Additive attention scores [N, K] (Bahdanau): wa · tanh(keys + h1·Wh), keys [N, K, A]. */
function scores<T>(o: Ops<T>, p: AttentionWeights<T>, keys: T, query: T): T {
  return o.squeeze(o.matMul(o.tanh(o.add(keys, o.expandDims(query, 1))), p.wa), 2);
}

/**
 * One step of the Up-Down decoder (Anderson et al. 2018) with a visual sentinel (Lu et al. 2017)
 * for N rows, from the previous word ids [N] (int32):
 * - attention LSTM: x = [h2; mean region feature; embed(w)] → (h1, c1);
 * - sentinel s = σ(x·Wx + h1_prev·Whs) ⊙ tanh(c1) (Lu's g_t uses the previous hidden state);
 * - one softmax over [regions (padding at −1e9); sentinel] of wa · tanh(key + h1·Wh), with the
 *   sentinel's key s·Ws: alpha [N, K] the regions' shares (0 for padding, summing to 1 − β), beta
 *   [N, 1] the sentinel's (near 1: a word from the language model, near 0: a word about a region);
 * - context = Σ alpha·feature + beta·s (Lu's ĉ = βs + (1 − β)c);
 * - language LSTM: [context; h1] → (h2, c2); log-probabilities [N, V] = logSoftmax(h2·Wout + bout).
 */
export function attentionStep<T>(
  o: Ops<T>,
  p: AttentionWeights<T>,
  ids: T,
  image: RegionMemory<T>,
  state: AttentionState<T>,
  arch: AttentionArch,
): { logProbs: T; alpha: T; beta: T; state: AttentionState<T> } {
  const { output, ...rest } = attentionRecur(o, p, ids, image, state, arch);
  return { logProbs: o.logSoftmax(dense(o, output, p.wout, p.bout)), ...rest };
}

/** What a step's maths depends on beyond the weights: the state width, and whether the sentinel is on (AttentionConfig). */
export type AttentionArch = Pick<AttentionConfig, 'hiddenDim' | 'sentinel'>;

/** attentionStep without its output layer: `output` is h2, what the word logits are read from. */
export function attentionRecur<T>(
  o: Ops<T>,
  p: AttentionWeights<T>,
  ids: T,
  image: RegionMemory<T>,
  state: AttentionState<T>,
  arch: AttentionArch,
): { output: T; alpha: T; beta: T; state: AttentionState<T> } {
  const x = o.concat([state.h2, image.mean, o.gather(p.embed, ids)], 1);
  const first = lstmCell(o, o.matMul(x, p.w1), { h: state.h1, c: state.c1 }, p.u1, p.b1, arch.hiddenDim);
  const query = o.matMul(first.h, p.wh);
  const padding = o.mul(o.sub(o.constant([1], [1]), image.mask), o.constant([MASKED], [1]));
  const regionScores = o.add(scores(o, p, image.keys, query), padding);
  const { alpha, beta, context } =
    arch.sentinel === false
      ? softAttention(o, image, regionScores)
      : sentinelAttention(o, p, image, regionScores, query, x, state.h1, first.c);
  const second = lstmCell(o, o.matMul(o.concat([context, first.h], 1), p.w2), { h: state.h2, c: state.c2 }, p.u2, p.b2, arch.hiddenDim);
  return {
    output: second.h,
    alpha,
    beta,
    state: { h1: first.h, c1: first.c, h2: second.h, c2: second.c },
  };
}

/** What a step attends to: the regions' shares alpha [N, K], the sentinel's beta [N, 1], and the context [N, H]. */
interface Attended<T> {
  alpha: T;
  beta: T;
  context: T;
}

/** Σ alpha·feature over the regions: [N, H]. */
function attendedFeatures<T>(o: Ops<T>, image: RegionMemory<T>, alpha: T): T {
  return o.squeeze(o.sumKeep(o.mul(o.expandDims(alpha, 2), image.features), 1), 1);
}

/** The ablation without a sentinel (AttentionConfig.sentinel false): Up-Down's plain soft attention, β = 0. */
function softAttention<T>(o: Ops<T>, image: RegionMemory<T>, regionScores: T): Attended<T> {
  const alpha = o.softmax(regionScores);
  return { alpha, beta: o.zerosLike(o.sumKeep(alpha, 1)), context: attendedFeatures(o, image, alpha) };
}

/**
 * The visual sentinel (Lu et al. 2017): s = σ(x·Wx + h1_prev·Whs) ⊙ tanh(c1) competes with the
 * regions in one softmax; context = Σ alpha·feature + β·s.
 */
function sentinelAttention<T>(
  o: Ops<T>,
  p: AttentionWeights<T>,
  image: RegionMemory<T>,
  regionScores: T,
  query: T,
  x: T,
  h1Previous: T,
  c1: T,
): Attended<T> {
  const sentinel = o.mul(o.sigmoid(o.add(o.matMul(x, p.wx), o.matMul(h1Previous, p.whs))), o.tanh(c1));
  const sentinelScore = scores(o, p, o.expandDims(o.matMul(sentinel, p.ws), 1), query);
  // β: the sentinel's share of one softmax over [regions; sentinel], read through a one-hot of the
  // last column (the regions' count is dynamic in a graph, so no static split). The regions' shares
  // of that softmax are softmax(regions)·(1 − β), the same numbers without slicing.
  const one = o.constant([1], [1]);
  const last = o.concat([o.zerosLike(image.mask), o.add(o.zerosLike(sentinelScore), one)], 1);
  const beta = o.sumKeep(o.mul(o.softmax(o.concat([regionScores, sentinelScore], 1)), last), 1);
  const alpha = o.mul(o.softmax(regionScores), o.sub(one, beta));
  return { alpha, beta, context: o.add(attendedFeatures(o, image, alpha), o.mul(beta, sentinel)) };
}

/**
 * The Up-Down caption decoder (Anderson et al. 2018) with a visual sentinel
 * (Lu et al. 2017) over region descriptors (src/encoder/regions.ts): the
 * maths above, on tfjs.
 */
export class AttentionModel extends WeightsModel<AttentionConfig, AttentionParams> {
  readonly vocab: Vocab;
  /** Standardisation statistics of a region descriptor, when the config has them. */
  readonly stats?: InputStats;

  constructor(config: AttentionConfig, params: AttentionParams) {
    super(config, params);
    this.vocab = new Vocab(config.vocab);
    this.stats = inputStats({ featureDim: config.regionDim, featureMean: config.inputMean, featureStd: config.inputStd });
  }

  /**
   * Teacher forcing: regions [B, K, R] with mask [B, K], tokens [B, T+1] (<start> … <end> <pad>…)
   * → every step's word logits, time-major [T·B, V], with their targets [T·B], and every step's
   * region shares α [T·B, K]. The tokens read are `inputs` when given (a slots model reads the
   * word it wrote where the target is a slot token). Dropout (when a seed is given) on h2 before
   * the output layer, the one place the language model reads the state.
   */
  private teacherForced(
    regions: tf.Tensor3D,
    regionMask: tf.Tensor2D,
    tokens: tf.Tensor2D,
    mask: tf.Tensor2D,
    dropoutSeed?: number,
    read?: tf.Tensor2D,
  ) {
    const p = this.params;
    const { inputs, targets, weights, T } = timeMajor(tokens, mask);
    const fed = read ? timeMajor(read, mask).inputs : inputs;
    const B = tokens.shape[0];
    const image = projectRegions(tfOps, p, regions, regionMask, this.stats);
    let state: AttentionState<tf.Tensor> = attentionInitial(tfOps, p, regions, regionMask, this.stats);
    const outputs: tf.Tensor[] = [];
    const alphas: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const out = attentionRecur(tfOps, p, tf.slice(fed, [t * B], [B]), image, state, this.config);
      outputs.push(out.output);
      alphas.push(out.alpha);
      state = out.state;
    }
    let h = tf.concat(outputs, 0);
    if (dropoutSeed !== undefined && this.config.dropout > 0) h = tf.dropout(h, this.config.dropout, undefined, dropoutSeed);
    const alpha = tf.concat(alphas, 0) as tf.Tensor2D;
    return { logits: dense(tfOps, h, p.wout, p.bout) as tf.Tensor2D, alpha, targets, weights, T, B };
  }

  /**
   * Mean loss per target token (nats): the words' cross-entropy; for a slots model, plus at each
   * slot the pointer's (−log of the attention's share on regions of the slot's class among the
   * detected regions) and the fine word's (the output layer's logits over the class's words).
   */
  loss(
    regions: tf.Tensor3D,
    regionMask: tf.Tensor2D,
    tokens: tf.Tensor2D,
    mask: tf.Tensor2D,
    dropoutSeed?: number,
    slots?: SlotTargetTensors,
  ): tf.Scalar {
    return tf.tidy(() => {
      const { logits, alpha, targets, weights } = this.teacherForced(regions, regionMask, tokens, mask, dropoutSeed, slots?.inputs);
      let total: tf.Tensor = tf.sum(tf.mul(targetNll(logits, targets), weights));
      if (slots && slots.slotRows.shape[0] > 0) {
        const fine = tf.add(tf.gather(logits, slots.slotRows), tf.mul(tf.sub(1, slots.fineMask), MASKED)) as tf.Tensor2D;
        total = tf.add(total, tf.sub(weightedNll(fine, slots.fineTargets, slots.fineWeights), tf.sum(slotPointerLogProbs(alpha, slots))));
      }
      return tf.div(total, tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
    });
  }

  /**
   * log p(token_{t+1}) of each given token under teacher forcing, [B, T] (for SCST's policy
   * gradient). For a slots model's slot token, plus its pointer's log-probability (slotPointerLogProbs).
   */
  tokenLogProbs(
    regions: tf.Tensor3D,
    regionMask: tf.Tensor2D,
    tokens: tf.Tensor2D,
    dropoutSeed?: number,
    slots?: SlotTargetTensors,
  ): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T1] = tokens.shape;
      const { logits, alpha, targets, T } = this.teacherForced(
        regions,
        regionMask,
        tokens,
        tf.ones([B, T1 - 1]),
        dropoutSeed,
        slots?.inputs,
      );
      let lp = tf.neg(targetNll(logits, targets));
      if (slots && slots.slotRows.shape[0] > 0) {
        const pointer = slotPointerLogProbs(alpha, slots);
        // Each slot's pointer term added to its row: a one-hot placement [T·B, S] times the terms (scatterND has no gradient in tfjs).
        const placement = tf.transpose(tf.oneHot(slots.slotRows, T * B).toFloat());
        lp = tf.add(lp, tf.reshape(tf.matMul(placement, tf.expandDims(pointer, 1)), [T * B]));
      }
      return tf.transpose(lp.reshape([T, B])) as tf.Tensor2D;
    });
  }

  static init(config: AttentionConfig, seed: number): AttentionModel {
    const { regionDim: R, embedDim: E, hiddenDim: H, attendDim: A } = config;
    const V = config.vocab.length;
    const X = H + H + E;
    const shapes: Record<AttentionWeightName, () => tf.Tensor> = {
      embed: () => tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed),
      wih: () => glorotUniform([R, H], seed + 1),
      bih: () => tf.zeros([H]),
      wr: () => glorotUniform([R, H], seed + 2),
      wv: () => glorotUniform([R, A], seed + 3),
      w1: () => glorotUniform([X, 4 * H], seed + 4),
      u1: () => glorotUniform([H, 4 * H], seed + 5),
      b1: () => lstmBias(H),
      wh: () => glorotUniform([H, A], seed + 6),
      wa: () => glorotUniform([A, 1], seed + 7),
      wx: () => glorotUniform([X, H], seed + 8),
      whs: () => glorotUniform([H, H], seed + 9),
      ws: () => glorotUniform([H, A], seed + 10),
      w2: () => glorotUniform([H + H, 4 * H], seed + 11),
      u2: () => glorotUniform([H, 4 * H], seed + 12),
      b2: () => lstmBias(H),
      wout: () => glorotUniform([H, V], seed + 13),
      bout: () => tf.zeros([V]),
    };
    const params = Object.fromEntries(ATTENTION_WEIGHTS.map((name) => [name, trainable(shapes[name]())])) as AttentionParams;
    return new AttentionModel(config, params);
  }

  /** Regions [N, K, R] and mask [N, K] → the step's region memory (the mask is kept, not copied). */
  projectRegions(regions: tf.Tensor3D, mask: tf.Tensor2D): RegionMemory<tf.Tensor> {
    const { features, keys, mean } = tf.tidy(() => {
      const m = projectRegions(tfOps, this.params, regions, mask, this.stats);
      return { features: m.features, keys: m.keys, mean: m.mean };
    });
    return { features, keys, mean, mask };
  }

  /** h1 = tanh(mean real region·Wih + bih); c1, h2, c2 zeros. */
  initialState(regions: tf.Tensor3D, mask: tf.Tensor2D): AttentionState<tf.Tensor> {
    const { h1, c1, h2, c2 } = tf.tidy(() => ({ ...attentionInitial(tfOps, this.params, regions, mask, this.stats) }));
    return { h1, c1, h2, c2 };
  }

  /** One step for N rows: previous word ids [N] (int32) → log-probs [N, V], alpha [N, K], beta [N, 1], next state. */
  step(
    state: AttentionState<tf.Tensor>,
    ids: tf.Tensor1D,
    image: RegionMemory<tf.Tensor>,
  ): { logProbs: tf.Tensor2D; alpha: tf.Tensor2D; beta: tf.Tensor2D; state: AttentionState<tf.Tensor> } {
    const { logProbs, alpha, beta, h1, c1, h2, c2 } = tf.tidy(() => {
      const out = attentionStep(tfOps, this.params, ids, image, state, this.config);
      return { logProbs: out.logProbs, alpha: out.alpha, beta: out.beta, ...out.state };
    });
    return {
      logProbs: logProbs as tf.Tensor2D,
      alpha: alpha as tf.Tensor2D,
      beta: beta as tf.Tensor2D,
      state: { h1, c1, h2, c2 },
    };
  }

  static load(dir: string): Promise<AttentionModel> {
    return loadWeightsModel(dir, readAttentionConfig, (config) => AttentionModel.init(config, 0));
  }
}
