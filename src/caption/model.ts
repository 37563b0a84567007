import * as tf from '@tensorflow/tfjs';
import { featureNorm, standardize, type FeatureNorm } from '../nn/feature-norm.js';
import { restoreVariables, saveModelDir } from '../nn/io.js';
import { lstmBias, lstmStep, type LstmState } from '../nn/lstm.js';
import { glorotUniform, matMul } from '../nn/ops.js';
import { Vocab } from '../text/vocab.js';
import { readCaptionConfig, type CaptionConfig } from './config.js';

/** Trainable tensors of the decoder, by name (the names are the on-disk keys). */
export interface CaptionParams {
  embed: tf.Variable; // [V, E] word embedding
  wih: tf.Variable; // [D, H] image → first hidden state
  bih: tf.Variable; // [H]
  w: tf.Variable; // [E, 4H] input → gates (i, f, o, g)
  u: tf.Variable; // [H, 4H] hidden → gates
  b: tf.Variable; // [4H]
  wout: tf.Variable; // [H, V] hidden → word logits
  bout: tf.Variable; // [V]
}

/**
 * Show-and-Tell style decoder. The image vector v sets the first hidden
 * state, h0 = tanh(Wih·v + bih) (the recurrence h = tanh(Wxh·x + Whh·h + Wih·v)
 * at t = 0 with x = h = 0), c0 = 0; then an LSTM reads <start> w1 … and
 * predicts the next word at each step.
 */
export class CaptionModel {
  readonly vocab: Vocab;
  /** (v - mean) / std applied to image vectors, when the config has the statistics. */
  private readonly featureNorm?: FeatureNorm;

  constructor(
    readonly config: CaptionConfig,
    readonly params: CaptionParams,
  ) {
    this.vocab = new Vocab(config.vocab);
    this.featureNorm = featureNorm(config);
  }

  static init(config: CaptionConfig, seed: number): CaptionModel {
    const { featureDim: D, embedDim: E, hiddenDim: H } = config;
    const V = config.vocab.length;
    // Unnamed (tf makes each name unique, so several models can coexist); the params keys name them.
    const v = (t: tf.Tensor) => tf.variable(t, true);
    const params: CaptionParams = {
      embed: v(tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed)),
      wih: v(glorotUniform([D, H], seed + 1)),
      bih: v(tf.zeros([H])),
      w: v(glorotUniform([E, 4 * H], seed + 2)),
      u: v(glorotUniform([H, 4 * H], seed + 3)),
      b: v(lstmBias(H)),
      wout: v(glorotUniform([H, V], seed + 4)),
      bout: v(tf.zeros([V])),
    };
    return new CaptionModel(config, params);
  }

  /** h0 = tanh(v·Wih + bih), c0 = 0 (v standardised when the config says how). */
  initialState(features: tf.Tensor2D): LstmState {
    return tf.tidy(() => {
      const v = standardize(features, this.featureNorm);
      const h = tf.tanh(tf.add(matMul(v, this.params.wih as tf.Tensor2D), this.params.bih)) as tf.Tensor2D;
      return { h, c: tf.zerosLike(h) };
    });
  }

  /**
   * Mean cross-entropy per target word (nats) under teacher forcing.
   * tokens: [B, T+1] int32 (<start> … <end> <pad>…); mask: [B, T] 1 where a target is real.
   * Works time-major so each step's rows are one contiguous slice.
   */
  loss(features: tf.Tensor2D, tokens: tf.Tensor2D, mask: tf.Tensor2D, dropoutSeed?: number): tf.Scalar {
    const p = this.params;
    const [B, T1] = tokens.shape;
    const T = T1 - 1;
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = <R extends tf.Rank>(x: tf.Tensor<R>, s: number) => (rate > 0 ? tf.dropout(x, rate, undefined, s) : x);

    const inputs = tf.transpose(tf.slice(tokens, [0, 0], [B, T])).reshape([T * B]) as tf.Tensor1D;
    const targets = tf.transpose(tf.slice(tokens, [0, 1], [B, T])).reshape([T * B]) as tf.Tensor1D;
    const weights = tf.transpose(mask).reshape([T * B]);

    const emb = drop(tf.gather(p.embed, inputs) as tf.Tensor2D, (dropoutSeed ?? 0) + 1) as tf.Tensor2D;
    const xw = matMul(emb, p.w as tf.Tensor2D);
    const steps = tf.split(xw, T, 0) as tf.Tensor2D[];
    let state = this.initialState(features);
    const hs: tf.Tensor2D[] = [];
    for (const x of steps) {
      state = lstmStep(x, state, p.u as tf.Tensor2D, p.b as tf.Tensor1D);
      hs.push(state.h);
    }
    const hAll = drop(tf.concat(hs, 0), (dropoutSeed ?? 0) + 2) as tf.Tensor2D;
    const logits = tf.add(matMul(hAll, p.wout as tf.Tensor2D), p.bout) as tf.Tensor2D;
    const nll = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, tf.oneHot(targets, this.vocab.size)), 1));
    return tf.div(tf.sum(tf.mul(nll, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
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

  variables(): Record<string, tf.Variable> {
    return { ...this.params };
  }

  async save(dir: string, extra: Partial<CaptionConfig> = {}): Promise<void> {
    await saveModelDir(dir, this.variables(), { ...this.config, ...extra });
  }

  /** Overwrite the weights with those saved in `dir` (e.g. to resume). */
  async restore(dir: string): Promise<void> {
    await restoreVariables(dir, this.variables());
  }


  static async load(dir: string): Promise<CaptionModel> {
    const config = await readCaptionConfig(dir);
    const model = CaptionModel.init(config, 0);
    await model.restore(dir);
    return model;
  }

  dispose(): void {
    tf.dispose(Object.values(this.params));
    if (this.featureNorm) tf.dispose([this.featureNorm.mean, this.featureNorm.std]);
  }
}
