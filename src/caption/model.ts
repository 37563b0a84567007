import * as tf from '@tensorflow/tfjs';
import { featureNorm, standardize, type FeatureNorm } from '../nn/feature-norm.js';
import { imageState, lstmBias, lstmStep, timeMajor, unroll, weightedNll, type LstmState } from '../nn/lstm.js';
import { glorotUniform, matMul } from '../nn/ops.js';
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

/**
 * Show-and-Tell style decoder. The image vector v sets the first hidden
 * state, h0 = tanh(Wih·v + bih) (the recurrence h = tanh(Wxh·x + Whh·h + Wih·v)
 * at t = 0 with x = h = 0), c0 = 0; then an LSTM reads <start> w1 … and
 * predicts the next word at each step.
 */
export class CaptionModel extends WeightsModel<CaptionConfig, CaptionParams> {
  readonly vocab: Vocab;
  /** (v - mean) / std applied to image vectors, when the config has the statistics. */
  private readonly featureNorm?: FeatureNorm;

  constructor(config: CaptionConfig, params: CaptionParams) {
    super(config, params);
    this.vocab = new Vocab(config.vocab);
    this.featureNorm = featureNorm(config);
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
    return tf.tidy(() => imageState(standardize(features, this.featureNorm), this.params.wih as tf.Tensor2D, this.params.bih));
  }

  /**
   * Mean cross-entropy per target word (nats) under teacher forcing.
   * tokens: [B, T+1] int32 (<start> … <end> <pad>…); mask: [B, T] 1 where a target is real.
   * Works time-major so each step's rows are one contiguous slice.
   */
  loss(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Scalar {
    const p = this.params;
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = <R extends tf.Rank>(x: tf.Tensor<R>, s: number) => (rate > 0 ? tf.dropout(x, rate, undefined, s) : x);

    const { inputs, targets, weights, T } = timeMajor(tokens, mask);
    const emb = drop(tf.gather(p.embed, inputs) as tf.Tensor2D, (dropoutSeed ?? 0) + 1) as tf.Tensor2D;
    const xw = matMul(emb, p.w as tf.Tensor2D);
    const hAll = drop(
      unroll(xw, T, this.initialState(features), p.u as tf.Tensor2D, p.b as tf.Tensor1D),
      (dropoutSeed ?? 0) + 2,
    ) as tf.Tensor2D;
    const logits = tf.add(matMul(hAll, p.wout as tf.Tensor2D), p.bout) as tf.Tensor2D;
    return tf.div(weightedNll(logits, targets, weights), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  }

  /** One decoding step for N rows: previous tokens → log-probabilities of the next. */
  step(state: LstmState, tokens: tf.Tensor1D): { logProbs: tf.Tensor2D; state: LstmState } {
    return tf.tidy(() => {
      const p = this.params;
      const xw = matMul(tf.gather(p.embed, tokens) as tf.Tensor2D, p.w as tf.Tensor2D);
      const next = lstmStep(xw, state, p.u as tf.Tensor2D, p.b as tf.Tensor1D);
      const logits = tf.add(matMul(next.h, p.wout as tf.Tensor2D), p.bout) as tf.Tensor2D;
      return { logProbs: tf.logSoftmax(logits) as tf.Tensor2D, state: next };
    });
  }

  static load(dir: string): Promise<CaptionModel> {
    return loadWeightsModel(dir, readCaptionConfig, (config) => CaptionModel.init(config, 0));
  }

  override dispose(): void {
    super.dispose();
    if (this.featureNorm) tf.dispose([this.featureNorm.mean, this.featureNorm.std]);
  }
}
