import * as tf from '@tensorflow/tfjs';
import { dense, lstmCell, standardized, type CellState, type InputStats } from '../nn/blocks.js';
import { inputStats } from '../nn/feature-norm.js';
import { loadWeightsModel, trainable, WeightsModel } from '../nn/weights-model.js';
import { lstmBias } from '../nn/lstm.js';
import { glorotUniform } from '../nn/ops.js';
import { tfOps, type Ops } from '../nn/tensor-ops.js';
import { tokenizeWords } from '../text/tokenize.js';
import { UNK_ID, Vocab } from '../text/vocab.js';
import { readVqaConfig, type VqaConfig } from './config.js';

/** Questions as a right-padded id matrix with a mask of real words. */
export interface QuestionBatch {
  size: number;
  steps: number;
  /** size × steps word ids, row-major, 0 (<pad>) after the question. */
  tokens: Int32Array;
  /** size × steps, 1 where a word is real. */
  mask: Float32Array;
}

/** Pad id lists to the longest one. Every question has at least one id. */
export function questionBatch(questions: readonly (readonly number[])[]): QuestionBatch {
  const steps = Math.max(1, ...questions.map((q) => q.length));
  const tokens = new Int32Array(questions.length * steps);
  const mask = new Float32Array(questions.length * steps);
  questions.forEach((q, i) => {
    q.forEach((id, t) => {
      tokens[i * steps + t] = id;
      mask[i * steps + t] = 1;
    });
  });
  return { size: questions.length, steps, tokens, mask };
}

/** Parameter names per architecture (also the on-disk weight names). */
const PARAMS = {
  'vis-lstm': ['embed', 'wimg', 'bimg', 'w', 'u', 'b', 'wout', 'bout'],
  'blind-lstm': ['embed', 'w', 'u', 'b', 'wout', 'bout'],
  'img-bow': ['embed', 'wimgOut', 'wbowOut', 'bout'],
  '2vis-blstm': ['embed', 'wimg', 'bimg', 'wimg2', 'bimg2', 'w', 'u', 'b', 'wb', 'ub', 'bb', 'wout', 'bout'],
} as const;

export type VqaParams = Record<string, tf.Variable>;

/** What the forward pass reads of a model: its config and weights (tfjs tensors, or graph initializers). */
export interface VqaNet<T> {
  config: Pick<VqaConfig, 'arch' | 'hiddenDim'>;
  stats: InputStats | undefined;
  /** Weight `name` (PARAMS[arch] lists them). */
  w: (name: string) => T;
}

/** One LSTM input step: [B, E] rows and, for word steps, the [B] mask of real words. */
interface LstmInput<T> {
  x: T;
  mask?: T;
}

/** Dropout hook of the forward pass (training), by site; identity when not training. */
export type Drop<T> = (x: T, site: number) => T;

/**
 * Answer logits [B, A] of the architecture `net.config.arch`, for features [B, D] and questions
 * as tokens [B, steps] (int32) with mask [B, steps] (1 where a word is real, right-padded).
 */
export function vqaLogits<T>(o: Ops<T>, net: VqaNet<T>, features: T, tokens: T, mask: T, steps: number, drop: Drop<T> = (x) => x): T {
  const { w } = net;
  const word = (t: number) => drop(o.gather(w('embed'), o.column(tokens, t)), 10 + t);
  const maskAt = (t: number) => o.expandDims(o.column(mask, t), 1);
  const image = () => standardized(o, features, net.stats);
  if (net.config.arch === 'img-bow') {
    // Mean of the question's word vectors, pads masked out: Σ m_t·e_t / max(Σ m_t, 1).
    let sum = o.mul(word(0), maskAt(0));
    for (let t = 1; t < steps; t++) sum = o.add(sum, o.mul(word(t), maskAt(t)));
    const bow = o.div(sum, o.max(o.sumKeep(mask, 1), o.constant([1], [])));
    return o.add(o.add(o.matMul(drop(image(), 1), w('wimgOut')), o.matMul(drop(bow, 2), w('wbowOut'))), w('bout'));
  }
  const seq: LstmInput<T>[] = Array.from({ length: steps }, (_, t) => ({ x: word(t), mask: maskAt(t) }));
  const arch = net.config.arch;
  if (arch === 'vis-lstm' || arch === '2vis-blstm') {
    // The image as a "word": v·Wimg + b, in the word-embedding space.
    const v = drop(image(), 3);
    seq.unshift({ x: dense(o, v, w('wimg'), w('bimg')) });
    if (arch === '2vis-blstm') seq.push({ x: dense(o, v, w('wimg2'), w('bimg2')) });
  }
  let h = lastState(o, net, seq, ['w', 'u', 'b']);
  // Backward: the end image, the words last to first (padding first, a no-op), the first image.
  if (arch === '2vis-blstm') h = o.concat([h, lastState(o, net, [...seq].reverse(), ['wb', 'ub', 'bb'])], 1);
  return dense(o, drop(h, 4), w('wout'), w('bout'));
}

/**
 * The question LSTM's last hidden state [B, H] over the question's words (weights embed, w, u, b),
 * after `first` [B, E] when given (VIS+LSTM's image "word"): the question encoding of the region
 * model. Dropout on each word at site siteBase + t.
 */
export function questionState<T>(
  o: Ops<T>,
  net: { hiddenDim: number; w: (name: string) => T },
  tokens: T,
  mask: T,
  steps: number,
  drop: Drop<T>,
  siteBase: number,
  first?: T,
): T {
  const seq: LstmInput<T>[] = Array.from({ length: steps }, (_, t) => ({
    x: drop(o.gather(net.w('embed'), o.column(tokens, t)), siteBase + t),
    mask: o.expandDims(o.column(mask, t), 1),
  }));
  if (first !== undefined) seq.unshift({ x: first });
  return lastState(o, { config: { hiddenDim: net.hiddenDim }, w: net.w }, seq, ['w', 'u', 'b']);
}

/** The LSTM's last hidden state over `seq`; a masked-out step keeps the state as it was. */
function lastState<T>(
  o: Ops<T>,
  net: Pick<VqaNet<T>, 'w'> & { config: { hiddenDim: number } },
  seq: LstmInput<T>[],
  [w, u, b]: [string, string, string],
): T {
  const H = net.config.hiddenDim;
  // The whole sequence's input projection as one matMul.
  const xw = o.split(
    o.matMul(
      o.concat(
        seq.map((s) => s.x),
        0,
      ),
      net.w(w),
    ),
    seq.length,
    0,
  );
  let state: CellState<T> | undefined;
  xw.forEach((x, t) => {
    const next = lstmCell(o, x, state, net.w(u), net.w(b), H);
    const m = seq[t]!.mask;
    // Padding keeps the previous state (h + m·(h' − h)), so the last state is that of the question's last word.
    const keep = (old: T | undefined, nw: T) => (!m ? nw : old === undefined ? o.mul(m, nw) : o.add(old, o.mul(m, o.sub(nw, old))));
    state = { h: keep(state?.h, next.h), c: keep(state?.c, next.c) };
  });
  return state!.h;
}

/**
 * VIS+LSTM, IMG+BOW and the blind LSTM of Ren et al. 2015 over cached image
 * vectors. forward() gives answer logits; the caller picks the top answers.
 */
export class VqaModel extends WeightsModel<VqaConfig, VqaParams> {
  readonly vocab: Vocab;
  private readonly answerIds: Map<string, number>;
  readonly stats?: InputStats;

  constructor(config: VqaConfig, params: VqaParams) {
    super(config, params);
    this.vocab = new Vocab(config.questionVocab);
    this.answerIds = new Map(config.answers.map((a, i) => [a, i]));
    this.stats = inputStats(config);
  }

  static init(config: VqaConfig, seed: number): VqaModel {
    const { featureDim: D, embedDim: E, hiddenDim: H } = config;
    const V = config.questionVocab.length;
    const A = config.answers.length;
    const all: Record<string, () => tf.Tensor> = {
      embed: () => tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed),
      wimg: () => glorotUniform([D, E], seed + 1),
      bimg: () => tf.zeros([E]),
      w: () => glorotUniform([E, 4 * H], seed + 2),
      u: () => glorotUniform([H, 4 * H], seed + 3),
      b: () => lstmBias(H),
      wimg2: () => glorotUniform([D, E], seed + 7),
      bimg2: () => tf.zeros([E]),
      wb: () => glorotUniform([E, 4 * H], seed + 8),
      ub: () => glorotUniform([H, 4 * H], seed + 9),
      bb: () => lstmBias(H),
      // The bidirectional model reads both directions' last states side by side.
      wout: () => glorotUniform([config.arch === '2vis-blstm' ? 2 * H : H, A], seed + 4),
      wimgOut: () => glorotUniform([D, A], seed + 5),
      wbowOut: () => glorotUniform([E, A], seed + 6),
      bout: () => tf.zeros([A]),
    };
    const arch = config.arch;
    if (arch === 'region-att') throw new Error('a region-att model is a RegionVqaModel (src/vqa/region/model.ts), not a VqaModel');
    const params: VqaParams = {};
    for (const name of PARAMS[arch]) params[name] = trainable(all[name]!());
    return new VqaModel(config, params);
  }

  /** Word ids of a question: our tokenizer, unknown words → <unk>, cut to maxQuestionWords. */
  encodeQuestion(question: string): number[] {
    const ids = tokenizeWords(question)
      .slice(0, this.config.maxQuestionWords)
      .map((w) => this.vocab.id(w));
    return ids.length > 0 ? ids : [UNK_ID];
  }

  /** Answer class of a string, or undefined when it is not among the model's answers. */
  answerId(answer: string): number | undefined {
    return this.answerIds.get(answer);
  }

  private p<T extends tf.Tensor = tf.Tensor2D>(name: string): T {
    const t = this.params[name];
    if (!t) throw new Error(`${this.config.arch} has no parameter ${name}`);
    return t as tf.Tensor as T;
  }

  /** The forward pass's view of this model on tfjs. */
  get net(): VqaNet<tf.Tensor> {
    return { config: this.config, stats: this.stats, w: (name) => this.p(name) };
  }

  /**
   * Answer logits [B, A]. features [B, D]; tokens/mask [B, T] (right-padded).
   * With `dropoutSeed` dropout is on (training).
   */
  forward(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop: Drop<tf.Tensor> = (x, site) => (rate > 0 ? tf.dropout(x, rate, undefined, (dropoutSeed ?? 0) + site) : x);
    return vqaLogits(tfOps, this.net, features, tokens, mask, tokens.shape[1], drop) as tf.Tensor2D;
  }

  /** Mean softmax cross-entropy (nats) of the answer classes `answers` [B] int32. */
  loss(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, answers: tf.Tensor1D, dropoutSeed?: number): tf.Scalar {
    const logits = this.forward(features, tokens, mask, dropoutSeed);
    const picked = tf.sum(tf.mul(logits, tf.oneHot(answers, this.config.answers.length)), 1);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), picked)) as tf.Scalar;
  }

  /** Answer probabilities [B, A] for questions already encoded. */
  predict(features: tf.Tensor2D, questions: readonly (readonly number[])[]): tf.Tensor2D {
    return tf.tidy(() => {
      const q = questionBatch(questions);
      const tokens = tf.tensor2d(q.tokens, [q.size, q.steps], 'int32');
      const mask = tf.tensor2d(q.mask, [q.size, q.steps]);
      return tf.softmax(this.forward(features, tokens, mask)) as tf.Tensor2D;
    });
  }

  static load(dir: string): Promise<VqaModel> {
    return loadWeightsModel(dir, readVqaConfig, (config) => VqaModel.init(config, 0));
  }
}
