import * as tf from '@tensorflow/tfjs';
import { dense, imageState, lstmCell, standardized, type CellState, type InputStats } from '../nn/blocks.js';
import { inputStats } from '../nn/feature-norm.js';
import { lstmBias, targetNll, timeMajor, unroll, weightedNll, type LstmState } from '../nn/lstm.js';
import { glorotUniform, matMul } from '../nn/ops.js';
import { tfOps, type Ops } from '../nn/tensor-ops.js';
import { loadWeightsModel, trainable, WeightsModel } from '../nn/weights-model.js';
import { Vocab } from '../text/vocab.js';
import { readCaptionConfig, type CaptionConfig } from './config.js';

/** Trainable tensors of the decoder, by name (the names are the on-disk keys). */
// A type alias, not an interface, so it fits WeightsModel's Record<string, tf.Variable>.
export type CaptionParams = {
  embed: tf.Variable; // [V, E] word embedding
  wih: tf.Variable; // [D, H] image → first hidden state
  bih: tf.Variable; // [H]
  w: tf.Variable; // [E, 4H] input → gates (i, f, o, g)
  u: tf.Variable; // [H, 4H] hidden → gates
  b: tf.Variable; // [4H]
  wout: tf.Variable; // [H, V] hidden → word logits
  bout: tf.Variable; // [V]
};

/** The decoder's weights by name, on any runtime (tfjs tensors, or graph initializers). */
export type CaptionWeights<T> = Readonly<Record<keyof CaptionParams, T>>;

/** h0 = tanh(std(v)·Wih + bih), c0 = 0 for image vectors v [N, D]. */
export function captionInitial<T>(o: Ops<T>, p: CaptionWeights<T>, v: T, stats: InputStats | undefined): CellState<T> {
  return imageState(o, standardized(o, v, stats), p.wih, p.bih);
}

/** One decoding step for N rows: previous tokens [N] (int32) → log-probabilities of the next [N, V] and the next state. */
export function captionStep<T>(
  o: Ops<T>,
  p: CaptionWeights<T>,
  tokens: T,
  state: CellState<T>,
  hidden: number,
): { logProbs: T; state: CellState<T> } {
  const next = lstmCell(o, o.matMul(o.gather(p.embed, tokens), p.w), state, p.u, p.b, hidden);
  return { logProbs: o.logSoftmax(dense(o, next.h, p.wout, p.bout)), state: next };
}

/**
 * Show-and-Tell style decoder. The image vector v sets the first hidden
 * state, h0 = tanh(Wih·v + bih) (the recurrence h = tanh(Wxh·x + Whh·h + Wih·v)
 * at t = 0 with x = h = 0), c0 = 0; then an LSTM reads <start> w1 … and
 * predicts the next word at each step.
 */
export class CaptionModel extends WeightsModel<CaptionConfig, CaptionParams> {
  readonly vocab: Vocab;
  /** (v - mean) / std applied to image vectors, when the config has the statistics. */
  readonly stats?: InputStats;

  constructor(config: CaptionConfig, params: CaptionParams) {
    super(config, params);
    this.vocab = new Vocab(config.vocab);
    this.stats = inputStats(config);
  }

  static init(config: CaptionConfig, seed: number): CaptionModel {
    const { featureDim: D, embedDim: E, hiddenDim: H } = config;
    const V = config.vocab.length;
    const params: CaptionParams = {
      embed: trainable(tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed)),
      wih: trainable(glorotUniform([D, H], seed + 1)),
      bih: trainable(tf.zeros([H])),
      w: trainable(glorotUniform([E, 4 * H], seed + 2)),
      u: trainable(glorotUniform([H, 4 * H], seed + 3)),
      b: trainable(lstmBias(H)),
      wout: trainable(glorotUniform([H, V], seed + 4)),
      bout: trainable(tf.zeros([V])),
    };
    return new CaptionModel(config, params);
  }

  /** h0 = tanh(v·Wih + bih), c0 = 0 (v standardised when the config says how). */
  initialState(features: tf.Tensor2D): LstmState {
    return tf.tidy(() => captionInitial(tfOps, this.params, features, this.stats) as LstmState);
  }

  /**
   * Mean cross-entropy per target word (nats) under teacher forcing.
   * tokens: [B, T+1] int32 (<start> … <end> <pad>…); mask: [B, T] 1 where a target is real.
   */
  loss(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Scalar {
    const { logits, targets, weights } = this.teacherForced(features, tokens, mask, dropoutSeed);
    return tf.div(weightedNll(logits, targets, weights), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  }

  /**
   * log p(tokens[:, t+1] | image, tokens[:, ≤t]) under teacher forcing, [B, T]: the same forward
   * pass as `loss`, per token and differentiable (SCST scores sampled captions with it).
   * Positions past a caption's end hold the log-probability of whatever pads it; mask them.
   */
  tokenLogProbs(features: tf.Tensor2D, tokens: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
    const [B, T1] = tokens.shape;
    const T = T1 - 1;
    return tf.tidy(() => {
      const { logits, targets } = this.teacherForced(features, tokens, tf.ones([B, T]), dropoutSeed);
      // Time-major rows (t·B + b) back to [B, T].
      return tf.transpose(tf.neg(targetNll(logits, targets)).reshape([T, B])) as tf.Tensor2D;
    });
  }

  /** Next-word logits at every step (time-major, [T·B, V]) with their targets and weights. */
  private teacherForced(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number) {
    const p = this.params;
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = <R extends tf.Rank>(x: tf.Tensor<R>, s: number) => (rate > 0 ? tf.dropout(x, rate, undefined, s) : x);

    // Time-major so each step's rows are one contiguous slice.
    const { inputs, targets, weights, T } = timeMajor(tokens, mask);
    const emb = drop(tf.gather(p.embed, inputs) as tf.Tensor2D, (dropoutSeed ?? 0) + 1) as tf.Tensor2D;
    const xw = matMul(emb, p.w as tf.Tensor2D);
    const hAll = drop(
      unroll(xw, T, this.initialState(features), p.u as tf.Tensor2D, p.b as tf.Tensor1D),
      (dropoutSeed ?? 0) + 2,
    ) as tf.Tensor2D;
    const logits = dense(tfOps, hAll, p.wout, p.bout) as tf.Tensor2D;
    return { logits, targets, weights };
  }

  /** One decoding step for N rows: previous tokens → log-probabilities of the next. */
  step(state: LstmState, tokens: tf.Tensor1D): { logProbs: tf.Tensor2D; state: LstmState } {
    return tf.tidy(
      () => captionStep(tfOps, this.params, tokens, state, this.config.hiddenDim) as { logProbs: tf.Tensor2D; state: LstmState },
    );
  }

  static load(dir: string): Promise<CaptionModel> {
    return loadWeightsModel(dir, readCaptionConfig, (config) => CaptionModel.init(config, 0));
  }
}
