import * as tf from '@tensorflow/tfjs';
import { COLOUR_DIM } from '../../encoder/colour.js';
import { CLASS_DIM } from '../../encoder/regions.js';
import { MASKED } from '../../nn/attention.js';
import { dense, type InputStats } from '../../nn/blocks.js';
import { inputStats } from '../../nn/feature-norm.js';
import { lstmBias } from '../../nn/lstm.js';
import { glorotUniform } from '../../nn/ops.js';
import { tfOps, type Ops } from '../../nn/tensor-ops.js';
import { loadWeightsModel, trainable, WeightsModel } from '../../nn/weights-model.js';
import { tokenizeWords } from '../../text/tokenize.js';
import { UNK_ID, Vocab } from '../../text/vocab.js';
import { readVqaConfig, type VqaConfig } from '../config.js';
import { questionState, type Drop } from '../model.js';
import { COUNT_DIM, SIDE_DIM } from './inputs.js';

/**
 * Region VQA (issue 22), after Anderson et al. 2018's VQA model: the question's
 * LSTM state attends over the image's regions, a gated fusion of the question
 * and the attended regions feeds an answer classifier, and a pointer over the
 * regions can answer with a region's class word. P: projection width, A:
 * attention width, H: LSTM width, E: embedding, R: region width, V/Ans: sizes.
 */
export const REGION_VQA_WEIGHTS = [
  'embed', // [V, E] question words
  'w', // [E, 4H] question LSTM
  'u', // [H, 4H]
  'b', // [4H]
  'wq', // [H + COUNT_DIM, P]   question (and count) → question vector, gated tanh
  'wqg', // [H + COUNT_DIM, P]
  'wr', // [R, P]   region → region vector, ReLU
  'wrs', // [SIDE_DIM, P] region side inputs (named, super-category) → region vector
  'br', // [P]
  'wg', // [G, P] the image's global vector → added to the attended regions, ReLU
  'bg', // [P]
  'wimg', // [G, E] the global vector as the question LSTM's first "word" (VIS+LSTM)
  'bimg', // [E]
  'wqo', // [H, Ans] the question state's own answer logits (VIS+LSTM's output layer)
  'wk', // [P, A] region vector → attention key
  'wqa', // [P, A] question vector → attention query
  'wa', // [A, 1] attention score
  'wv', // [P, P] attended regions → fused, gated tanh
  'wvg', // [P, P]
  'wout', // [P, Ans] fused → answer logits
  'bout', // [Ans]
  'wpk', // [P, A] region vector → pointer key
  'wph', // [P, A] fused → pointer query
  'wp', // [A, 1] pointer score
] as const;

export type RegionVqaWeightName = (typeof REGION_VQA_WEIGHTS)[number];
export type RegionVqaParams = Record<RegionVqaWeightName, tf.Variable>;

/** One batch of inputs, any runtime. K: regions per image (padded), T: question steps. */
export interface RegionVqaInputs<T> {
  /** [N, K, R] region descriptors, padded. */
  regions: T;
  /** [N, K] 1 for a real region. */
  regionMask: T;
  /** [N, K] 1 for a region the pointer may answer with (a real detection, not the whole image). */
  pointMask: T;
  /** [N, K, SIDE_DIM] inputs.ts regionSide. */
  side: T;
  /** [N, T] int32 question ids, right-padded, and [N, T] their mask. */
  tokens: T;
  mask: T;
  /** [N, COUNT_DIM] inputs.ts countFeature. */
  count: T;
  /** [N, G] the image's global vector (the encoder's features). */
  global: T;
}

/** What the forward pass reads of a model. */
export interface RegionVqaNet<T> {
  config: Pick<VqaConfig, 'hiddenDim' | 'featureDim' | 'region'>;
  stats: InputStats | undefined;
  w: (name: RegionVqaWeightName) => T;
}

/** Gated tanh (Anderson et al. 2018): tanh(x·W) ⊙ σ(x·W'). */
function gatedTanh<T>(o: Ops<T>, x: T, w: T, wg: T): T {
  return o.mul(o.tanh(o.matMul(x, w)), o.sigmoid(o.matMul(x, wg)));
}

/** 1 on every column but the colour descriptor's, which a model without colour zeroes. */
function colourMask(R: number): Float32Array {
  const keep = new Float32Array(R).fill(1);
  keep.fill(0, R - CLASS_DIM - COLOUR_DIM, R - CLASS_DIM);
  return keep;
}

/**
 * x̂·W for the standardised region x̂ = (x − μ)/σ ⊙ keep, folded into the weights: x·W' + b' with
 * W' = diag(keep/σ)·W and b' = −(μ ⊙ keep/σ)·W. The same numbers as standardising x first, but an
 * [R, P] product instead of elementwise work on every [N, K, R] region (5× the model's time on wasm).
 * `keep` zeroes columns (the colour descriptor, for the ablation); without statistics x is read as is.
 */
function standardizedProjection<T>(o: Ops<T>, w: T, stats: InputStats | undefined, keep?: Float32Array): { weight: T; bias: T } {
  const R = stats?.mean.length ?? keep?.length;
  if (R === undefined) return { weight: w, bias: o.constant([0], [1]) };
  const scale = Float32Array.from({ length: R }, (_, c) => (keep ? keep[c]! : 1) / (stats ? stats.std[c]! : 1));
  const shift = Float32Array.from({ length: R }, (_, c) => -(stats ? stats.mean[c]! : 0) * scale[c]!);
  return { weight: o.mul(w, o.constant(scale, [R, 1])), bias: o.squeeze(o.matMul(o.constant(shift, [1, R]), w), 0) };
}

/** Masked softmax scores: wa · tanh(keys + query), keys [N, K, A], query [N, A]; padding at −1e9. */
function maskedScores<T>(o: Ops<T>, keys: T, query: T, wa: T, mask: T): T {
  const raw = o.squeeze(o.matMul(o.tanh(o.add(keys, o.expandDims(query, 1))), wa), 2);
  return o.add(raw, o.mul(o.sub(o.constant([1], [1]), mask), o.constant([MASKED], [1])));
}

/**
 * The forward pass, written once (tfjs for training, the ONNX graph for serving):
 *
 *   q   = LSTM([ĝ·Wimg + bimg; question words])          VIS+LSTM: the global image vector ĝ is the first "word"
 *   q̃   = gatedTanh(q ‖ count; Wq, Wqg)                  [N, P]   (count zeros when config.region.count is off)
 *   v_k = relu(x_k·Wr + side_k·Wrs + br)                 [N, K, P], x_k the standardised region
 *   α   = softmax_k(wa · tanh(v_k·Wk + q̃·Wqa))           padded regions get 0
 *   u   = relu(ĝ·Wg + bg)                                 ĝ the standardised global image vector
 *   h   = q̃ ⊙ gatedTanh(Σ α_k v_k + u; Wv, Wvg)          [N, P]
 *   logits = [h·Wout + bout + q·Wqo ; wp · tanh(v_k·Wpk + h·Wph)]   [N, Ans + K], the pointer only over pointMask
 *
 * Returns the logits and α [N, K]. The pointer columns are at −1e9 without config.region.pointer.
 */
export function regionVqaForward<T>(
  o: Ops<T>,
  net: RegionVqaNet<T>,
  x: RegionVqaInputs<T>,
  steps: number,
  drop: Drop<T> = (v) => v,
): { logits: T; alpha: T } {
  const { w } = net;
  const r = net.config.region!;
  const R = net.config.featureDim;
  // No dropout on the regions themselves: drawing a mask for every [N, K, R] value costs more than the model.
  const regions = x.regions;
  const gi = standardizedProjection(o, w('wimg'), { mean: r.global.mean, std: r.global.std });
  const imageWord = drop(o.add(o.matMul(x.global, gi.weight), o.add(w('bimg'), gi.bias)), 6);
  const q = questionState(
    o,
    { hiddenDim: net.config.hiddenDim, w: (n) => w(n as RegionVqaWeightName) },
    x.tokens,
    x.mask,
    steps,
    drop,
    10,
    imageWord,
  );
  const count = r.count ? x.count : o.mul(x.count, o.constant([0], [1]));
  const qv = gatedTanh(o, drop(o.concat([q, count], 1), 2), w('wq'), w('wqg'));
  // One ReLU layer, not a gated tanh: the [N·K, R] × [R, P] product is most of the model's cost.
  const { weight, bias } = standardizedProjection(o, w('wr'), net.stats, r.colour ? undefined : colourMask(R));
  const zero = o.constant([0], [1]);
  const v = drop(o.max(o.add(o.add(o.matMul(regions, weight), o.matMul(x.side, w('wrs'))), o.add(w('br'), bias)), zero), 4);
  const alpha = o.softmax(maskedScores(o, o.matMul(v, w('wk')), o.matMul(qv, w('wqa')), w('wa'), x.regionMask));
  const g = standardizedProjection(o, w('wg'), { mean: r.global.mean, std: r.global.std });
  const image = drop(o.max(o.add(o.matMul(x.global, g.weight), o.add(w('bg'), g.bias)), zero), 5);
  const attended = o.add(o.squeeze(o.sumKeep(o.mul(o.expandDims(alpha, 2), v), 1), 1), image);
  const h = drop(o.mul(qv, gatedTanh(o, attended, w('wv'), w('wvg'))), 3);
  // VIS+LSTM's answer logits from the question state, plus the fused regions'.
  const answers = o.add(dense(o, h, w('wout'), w('bout')), o.matMul(drop(q, 7), w('wqo')));
  const pointMask = r.pointer ? x.pointMask : o.mul(x.pointMask, o.constant([0], [1]));
  const pointer = maskedScores(o, o.matMul(v, w('wpk')), o.matMul(h, w('wph')), w('wp'), pointMask);
  return { logits: o.concat([answers, pointer], 1), alpha };
}

/** Training targets of a batch: per question up to J answers, each a 0/1 row over [Ans + K] and a weight. */
export interface AnswerTargets {
  /** [N, J, Ans + K] 1 where an output gives that answer (its class, or a region whose word it is). */
  hits: tf.Tensor3D;
  /** [N, J] each answer's weight (its soft score; 0 for padding), rows summing to 1. */
  weights: tf.Tensor2D;
}

/** The region VQA model on tfjs: the maths above, its loss and its answer probabilities. */
export class RegionVqaModel extends WeightsModel<VqaConfig, RegionVqaParams> {
  readonly vocab: Vocab;
  readonly stats?: InputStats;
  private readonly answerIds: Map<string, number>;

  constructor(config: VqaConfig, params: RegionVqaParams) {
    super(config, params);
    if (config.arch !== 'region-att' || !config.region)
      throw new Error(`RegionVqaModel needs arch region-att with region settings; got ${config.arch}`);
    this.vocab = new Vocab(config.questionVocab);
    this.answerIds = new Map(config.answers.map((a, i) => [a, i]));
    this.stats = inputStats(config);
  }

  static init(config: VqaConfig, seed: number): RegionVqaModel {
    const { featureDim: R, embedDim: E, hiddenDim: H } = config;
    const { projDim: P, attendDim: A } = config.region!;
    const V = config.questionVocab.length;
    const Ans = config.answers.length;
    const shapes: Record<RegionVqaWeightName, () => tf.Tensor> = {
      embed: () => tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed),
      w: () => glorotUniform([E, 4 * H], seed + 1),
      u: () => glorotUniform([H, 4 * H], seed + 2),
      b: () => lstmBias(H),
      wq: () => glorotUniform([H + COUNT_DIM, P], seed + 3),
      wqg: () => glorotUniform([H + COUNT_DIM, P], seed + 4),
      wr: () => glorotUniform([R, P], seed + 5),
      wrs: () => glorotUniform([SIDE_DIM, P], seed + 6),
      br: () => tf.zeros([P]),
      wg: () => glorotUniform([config.region!.global.dim, P], seed + 18),
      bg: () => tf.zeros([P]),
      wimg: () => glorotUniform([config.region!.global.dim, E], seed + 19),
      bimg: () => tf.zeros([E]),
      wqo: () => glorotUniform([H, Ans], seed + 20),
      wk: () => glorotUniform([P, A], seed + 9),
      wqa: () => glorotUniform([P, A], seed + 10),
      wa: () => glorotUniform([A, 1], seed + 11),
      wv: () => glorotUniform([P, P], seed + 12),
      wvg: () => glorotUniform([P, P], seed + 13),
      wout: () => glorotUniform([P, Ans], seed + 14),
      bout: () => tf.zeros([Ans]),
      wpk: () => glorotUniform([P, A], seed + 15),
      wph: () => glorotUniform([P, A], seed + 16),
      wp: () => glorotUniform([A, 1], seed + 17),
    };
    const params = Object.fromEntries(REGION_VQA_WEIGHTS.map((n) => [n, trainable(shapes[n]())])) as RegionVqaParams;
    return new RegionVqaModel(config, params);
  }

  get net(): RegionVqaNet<tf.Tensor> {
    return { config: this.config, stats: this.stats, w: (name) => this.params[name] };
  }

  /** Word ids of a question: our tokenizer, unknown words → <unk>, cut to maxQuestionWords. */
  encodeQuestion(question: string): number[] {
    const ids = tokenizeWords(question)
      .slice(0, this.config.maxQuestionWords)
      .map((word) => this.vocab.id(word));
    return ids.length > 0 ? ids : [UNK_ID];
  }

  answerId(answer: string): number | undefined {
    return this.answerIds.get(answer);
  }

  forward(x: RegionVqaInputs<tf.Tensor>, dropoutSeed?: number): { logits: tf.Tensor2D; alpha: tf.Tensor2D } {
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop: Drop<tf.Tensor> = (v, site) => (rate > 0 ? tf.dropout(v, rate, undefined, (dropoutSeed ?? 0) + site) : v);
    const out = regionVqaForward(tfOps, this.net, x, x.tokens.shape[1]!, drop);
    return { logits: out.logits as tf.Tensor2D, alpha: out.alpha as tf.Tensor2D };
  }

  /**
   * Mean over questions of −Σ_j weight_j · log Σ_{outputs giving answer j} p, p the softmax over
   * [answers; pointer]: an answer both a class and a region's word counts both ways, and soft scores
   * (several annotators' answers) weigh their answers.
   */
  loss(x: RegionVqaInputs<tf.Tensor>, targets: AnswerTargets, dropoutSeed?: number): tf.Scalar {
    const { logits } = this.forward(x, dropoutSeed);
    const all = tf.logSumExp(logits, 1, true); // [N, 1]
    const masked = tf.add(tf.expandDims(logits, 1), tf.mul(tf.sub(1, targets.hits), MASKED)); // [N, J, Ans + K]
    const hit = tf.logSumExp(masked, 2); // [N, J]
    const nll = tf.sum(tf.mul(targets.weights, tf.sub(all, hit)), 1);
    return tf.mean(nll) as tf.Scalar;
  }

  /** Probabilities over [answers; pointer] [N, Ans + K] and attention [N, K]. */
  predict(x: RegionVqaInputs<tf.Tensor>): { probs: tf.Tensor2D; alpha: tf.Tensor2D } {
    return tf.tidy(() => {
      const { logits, alpha } = this.forward(x);
      return { probs: tf.softmax(logits) as tf.Tensor2D, alpha };
    });
  }

  static load(dir: string): Promise<RegionVqaModel> {
    return loadWeightsModel(dir, readVqaConfig, (config) => RegionVqaModel.init(config, 0));
  }
}
