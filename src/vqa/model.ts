import * as tf from '@tensorflow/tfjs';
import { featureNorm, standardize, type FeatureNorm } from '../nn/feature-norm.js';
import { loadWeightsModel, trainable, WeightsModel } from '../nn/weights-model.js';
import { lstmBias, lstmStep, type LstmState } from '../nn/lstm.js';
import { glorotUniform, matMul } from '../nn/ops.js';
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

/** One LSTM input step: [B, E] rows and, for word steps, the [B, 1] mask of real words. */
interface LstmInput {
  x: tf.Tensor2D;
  mask?: tf.Tensor2D;
}

/** Parameter names per architecture (also the on-disk weight names). */
const PARAMS = {
  'vis-lstm': ['embed', 'wimg', 'bimg', 'w', 'u', 'b', 'wout', 'bout'],
  'blind-lstm': ['embed', 'w', 'u', 'b', 'wout', 'bout'],
  'img-bow': ['embed', 'wimgOut', 'wbowOut', 'bout'],
  '2vis-blstm': ['embed', 'wimg', 'bimg', 'wimg2', 'bimg2', 'w', 'u', 'b', 'wb', 'ub', 'bb', 'wout', 'bout'],
} as const;

export type VqaParams = Record<string, tf.Variable>;

/**
 * VIS+LSTM, IMG+BOW and the blind LSTM of Ren et al. 2015 over cached image
 * vectors. forward() gives answer logits; the caller picks the top answers.
 */
export class VqaModel extends WeightsModel<VqaConfig, VqaParams> {
  readonly vocab: Vocab;
  private readonly answerIds: Map<string, number>;
  private readonly featureNorm?: FeatureNorm;

  constructor(config: VqaConfig, params: VqaParams) {
    super(config, params);
    this.vocab = new Vocab(config.questionVocab);
    this.answerIds = new Map(config.answers.map((a, i) => [a, i]));
    this.featureNorm = featureNorm(config);
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
    const params: VqaParams = {};
    for (const name of PARAMS[config.arch]) params[name] = trainable(all[name]!());
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

  /**
   * Answer logits [B, A]. features [B, D]; tokens/mask [B, T] (right-padded).
   * With `dropoutSeed` dropout is on (training).
   */
  forward(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = (x: tf.Tensor2D, s: number): tf.Tensor2D =>
      rate > 0 ? (tf.dropout(x, rate, undefined, (dropoutSeed ?? 0) + s) as tf.Tensor2D) : x;
    const [B, T] = tokens.shape;
    if (this.config.arch === 'img-bow') {
      const emb = tf.gather(this.p('embed'), tokens.reshape([B * T])).reshape([B, T, this.config.embedDim]);
      // Mean of the question's word vectors (pads masked out).
      const bow = tf.div(tf.sum(tf.mul(emb, mask.expandDims(2)), 1), tf.maximum(tf.sum(mask, 1, true), 1)) as tf.Tensor2D;
      const img = drop(standardize(features, this.featureNorm), 1);
      return tf.add(tf.add(matMul(img, this.p('wimgOut')), matMul(drop(bow, 2), this.p('wbowOut'))), this.p('bout')) as tf.Tensor2D;
    }
    // Time-major so each step's rows are one contiguous slice.
    const ids = tf.transpose(tokens).reshape([T * B]) as tf.Tensor1D;
    const words = tf.split(drop(tf.gather(this.p('embed'), ids) as tf.Tensor2D, 1), T, 0) as tf.Tensor2D[];
    const masks = tf.split(tf.transpose(mask).reshape([T * B, 1]), T, 0) as tf.Tensor2D[];
    const steps: LstmInput[] = words.map((x, t) => ({ x, mask: masks[t] }));
    const arch = this.config.arch;
    if (arch === 'vis-lstm' || arch === '2vis-blstm') {
      // The image as a "word": v·Wimg + b, in the word-embedding space.
      const image = drop(standardize(features, this.featureNorm), 3);
      const imageWord = (w: string, b: string): LstmInput => ({ x: tf.add(matMul(image, this.p(w)), this.p(b)) as tf.Tensor2D });
      steps.unshift(imageWord('wimg', 'bimg'));
      if (arch === '2vis-blstm') steps.push(imageWord('wimg2', 'bimg2'));
    }
    let h = this.runLstm(steps, B, ['w', 'u', 'b']);
    // Backward: the end image, the words last to first (padding first, a no-op), the first image.
    if (arch === '2vis-blstm') h = tf.concat([h, this.runLstm([...steps].reverse(), B, ['wb', 'ub', 'bb'])], 1);
    return tf.add(matMul(drop(h, 4), this.p('wout')), this.p('bout')) as tf.Tensor2D;
  }

  /** The LSTM's last hidden state over `steps`; a masked-out step keeps the state as it was. */
  private runLstm(steps: LstmInput[], batch: number, [w, u, b]: [string, string, string]): tf.Tensor2D {
    const xw = tf.split(
      matMul(
        tf.concat(
          steps.map((s) => s.x),
          0,
        ),
        this.p(w),
      ),
      steps.length,
      0,
    ) as tf.Tensor2D[];
    const H = this.config.hiddenDim;
    let state: LstmState = { h: tf.zeros([batch, H]), c: tf.zeros([batch, H]) };
    xw.forEach((x, t) => {
      const next = lstmStep(x, state, this.p(u), this.p<tf.Tensor1D>(b));
      const m = steps[t]!.mask;
      // Padding keeps the previous state, so the last state is that of the question's last word.
      state = m ? { h: tf.add(state.h, tf.mul(m, tf.sub(next.h, state.h))), c: tf.add(state.c, tf.mul(m, tf.sub(next.c, state.c))) } : next;
    });
    return state.h;
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

  override dispose(): void {
    super.dispose();
    if (this.featureNorm) tf.dispose([this.featureNorm.mean, this.featureNorm.std]);
  }
}
