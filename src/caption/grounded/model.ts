import * as tf from '@tensorflow/tfjs';
import { MASKED } from '../../nn/attention.js';
import { COCO_LABELS } from '../../encoder/types.js';
import { ENTRY_FEATURES } from '../../grounding/entries.js';
import { dense, imageState, lstmCell, standardized, type CellState, type InputStats } from '../../nn/blocks.js';
import { inputStats } from '../../nn/feature-norm.js';
import { lstmBias, timeMajor, unroll, weightedNll, type LstmState } from '../../nn/lstm.js';
import { glorotUniform, matMul } from '../../nn/ops.js';
import { tfOps, type Ops } from '../../nn/tensor-ops.js';
import { loadWeightsModel, trainable, WeightsModel } from '../../nn/weights-model.js';
import { Vocab } from '../../text/vocab.js';
import { readGroundedConfig, type GroundedConfig } from './config.js';

/** Trainable tensors, by name (the names are the on-disk keys). */
export type GroundedParams = {
  embed: tf.Variable; // [V, E] word (and slot token) embedding
  wih: tf.Variable; // [D + 80, H] image [v; d] → first hidden state
  bih: tf.Variable; // [H]
  w: tf.Variable; // [E, 4H] input → gates (i, f, o, g)
  u: tf.Variable; // [H, 4H] hidden → gates
  b: tf.Variable; // [4H]
  wd: tf.Variable; // [F, E] a filled slot's entry descriptor → next input
  wout: tf.Variable; // [H, V] hidden → word (and slot) logits
  bout: tf.Variable; // [V]
  we: tf.Variable; // [F, A] pointer: entry descriptor → attention space
  wh: tf.Variable; // [H, A] pointer: hidden → attention space
  wp: tf.Variable; // [A, 1] pointer: attention → score
  wfine: tf.Variable; // [H, V] which word writes a filled slot ("man" or "woman" for person)
  bfine: tf.Variable; // [V]
};

/** One batch for the teacher-forced loss; rows of time-major tensors are t·B + b. */
export interface GroundedBatchTensors {
  /** [B, D + 80] image vector and per-class detection scores. */
  inputs: tf.Tensor2D;
  /** [B, T+1] int32: <start> … <end> <pad>…, slots as SLOT_ID / SLOTS_ID. */
  tokens: tf.Tensor2D;
  /** [B, T] 1 where tokens[:, 1:] is a real target. */
  mask: tf.Tensor2D;
  /** [T·B, F] time-major: the entry descriptor of a slot read as input at that step, else 0. */
  slotInputs: tf.Tensor2D;
  /** [B, K·F] each image's entry descriptors; [B, K] 1 where an entry exists. */
  entries: tf.Tensor2D;
  entryMask: tf.Tensor2D;
  /** Target slots: time-major row, image, entry pointed at ([S] int32 each). */
  slotRows: tf.Tensor1D;
  slotImages: tf.Tensor1D;
  slotEntries: tf.Tensor1D;
  /** [S, V] 1 for the words that may fill each slot; [S] the word used (int32); [S] 1 when that word is known. */
  fineMask: tf.Tensor2D;
  fineTargets: tf.Tensor1D;
  fineWeights: tf.Tensor1D;
}

/** The decoder's weights by name, on any runtime (tfjs tensors, or graph initializers). */
export type GroundedWeights<T> = Readonly<Record<keyof GroundedParams, T>>;

/** h0 = tanh(std([v; d])·Wih + bih), c0 = 0 for inputs [N, D + 80]. */
export function groundedInitial<T>(o: Ops<T>, p: GroundedWeights<T>, inputs: T, stats: InputStats | undefined): CellState<T> {
  return imageState(o, standardized(o, inputs, stats), p.wih, p.bih);
}

/** Entry descriptors [N, K·F] in the pointer's attention space, [N, K, A]: once per image. */
export function projectEntries<T>(o: Ops<T>, p: GroundedWeights<T>, entries: T): T {
  return o.matMul(o.reshape(entries, [0, -1, ENTRY_FEATURES]), p.we);
}

/** Pointer scores [N, K] of hidden states h [N, H] over projected entries [N, K, A] (unmasked): wp · tanh(projected + h·Wh). */
export function pointerScores<T>(o: Ops<T>, p: GroundedWeights<T>, h: T, projected: T): T {
  const query = o.expandDims(o.matMul(h, p.wh), 1);
  return o.squeeze(o.matMul(o.tanh(o.add(projected, query)), p.wp), 2);
}

/** Fine-word logits [N, V] for slots predicted from h [N, H]. */
export function fineLogits<T>(o: Ops<T>, p: GroundedWeights<T>, h: T): T {
  return dense(o, h, p.wfine, p.bfine);
}

/**
 * One decoding step for N rows: the previous token (a word id, or a slot id with its entry's
 * descriptor in `slotInputs` [N, F], zeros otherwise) → word/slot log-probabilities [N, V] and the next state.
 */
export function groundedStep<T>(
  o: Ops<T>,
  p: GroundedWeights<T>,
  tokens: T,
  slotInputs: T,
  state: CellState<T>,
  hidden: number,
): { logProbs: T; state: CellState<T> } {
  const x = o.add(o.gather(p.embed, tokens), o.matMul(slotInputs, p.wd));
  const next = lstmCell(o, o.matMul(x, p.w), state, p.u, p.b, hidden);
  return { logProbs: o.logSoftmax(dense(o, next.h, p.wout, p.bout)), state: next };
}

/**
 * Neural Baby Talk-style decoder (Lu et al. 2018) on the project's LSTM. The
 * image enters the first hidden state, h0 = tanh(Wih·[v; d] + bih) with d the
 * per-class detection scores. At each step the LSTM's output predicts a
 * vocabulary word or a slot token; for a slot, a pointer (additive attention
 * of h over the entries' descriptors) picks the detected class that fills it,
 * and a fine head picks the word among that class's words. A filled slot is
 * read back as the slot token's embedding plus its entry's descriptor.
 */
export class GroundedModel extends WeightsModel<GroundedConfig, GroundedParams> {
  readonly vocab: Vocab;
  /** Standardisation statistics of [v; d], when the config has them. */
  readonly stats?: InputStats;

  constructor(config: GroundedConfig, params: GroundedParams) {
    super(config, params);
    this.vocab = new Vocab(config.vocab);
    this.stats = inputStats({ featureDim: this.inputDim, featureMean: config.inputMean, featureStd: config.inputStd });
  }

  get inputDim(): number {
    return this.config.featureDim + COCO_LABELS.length;
  }

  static init(config: GroundedConfig, seed: number): GroundedModel {
    const { embedDim: E, hiddenDim: H, attendDim: A } = config;
    const D = config.featureDim + COCO_LABELS.length;
    const V = config.vocab.length;
    const F = ENTRY_FEATURES;
    const params: GroundedParams = {
      embed: trainable(tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed)),
      wih: trainable(glorotUniform([D, H], seed + 1)),
      bih: trainable(tf.zeros([H])),
      w: trainable(glorotUniform([E, 4 * H], seed + 2)),
      u: trainable(glorotUniform([H, 4 * H], seed + 3)),
      b: trainable(lstmBias(H)),
      wd: trainable(glorotUniform([F, E], seed + 4)),
      wout: trainable(glorotUniform([H, V], seed + 5)),
      bout: trainable(tf.zeros([V])),
      we: trainable(glorotUniform([F, A], seed + 6)),
      wh: trainable(glorotUniform([H, A], seed + 7)),
      wp: trainable(glorotUniform([A, 1], seed + 8)),
      wfine: trainable(glorotUniform([H, V], seed + 9)),
      bfine: trainable(tf.zeros([V])),
    };
    return new GroundedModel(config, params);
  }

  /** h0 = tanh([v; d]·Wih + bih), c0 = 0; `inputs` is [N, D + 80]. */
  initialState(inputs: tf.Tensor2D): LstmState {
    return tf.tidy(() => groundedInitial(tfOps, this.params, inputs, this.stats) as LstmState);
  }

  /** Entry descriptors [N, K·F] in attention space, [N, K, A]: computed once per image. */
  projectEntries(entries: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => projectEntries(tfOps, this.params, entries) as tf.Tensor3D);
  }

  /** Pointer scores [N, K] of hidden states h [N, H] over projected entries [N, K, A] (unmasked). */
  pointerScores(h: tf.Tensor2D, projected: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => pointerScores(tfOps, this.params, h, projected) as tf.Tensor2D);
  }

  /** Fine-word logits [N, V] for slots predicted from h [N, H]. */
  fineLogits(h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => fineLogits(tfOps, this.params, h) as tf.Tensor2D);
  }

  /**
   * Mean loss per target token (nats) under teacher forcing: the word/slot
   * cross-entropy at every target, plus at each slot the pointer's and the
   * fine word's cross-entropy (summed, then divided by the target count).
   */
  loss(batch: GroundedBatchTensors, dropoutSeed?: number): tf.Scalar {
    const p = this.params;
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = <R extends tf.Rank>(x: tf.Tensor<R>, s: number) => (rate > 0 ? tf.dropout(x, rate, undefined, s) : x);

    const { inputs, targets, weights, T } = timeMajor(batch.tokens, batch.mask);
    const words = tf.gather(p.embed, inputs) as tf.Tensor2D;
    const emb = drop(tf.add(words, matMul(batch.slotInputs, p.wd as tf.Tensor2D)) as tf.Tensor2D, (dropoutSeed ?? 0) + 1) as tf.Tensor2D;
    const xw = matMul(emb, p.w as tf.Tensor2D);
    const state = this.initialState(batch.inputs);
    const hAll = drop(unroll(xw, T, state, p.u as tf.Tensor2D, p.b as tf.Tensor1D), (dropoutSeed ?? 0) + 2) as tf.Tensor2D;
    const logits = dense(tfOps, hAll, p.wout, p.bout) as tf.Tensor2D;
    let total = weightedNll(logits, targets, weights);

    const S = batch.slotRows.shape[0];
    if (S > 0) {
      const hSlot = tf.gather(hAll, batch.slotRows) as tf.Tensor2D;
      const projected = this.projectEntries(tf.gather(batch.entries, batch.slotImages) as tf.Tensor2D);
      const absent = tf.mul(tf.sub(1, tf.gather(batch.entryMask, batch.slotImages)), MASKED);
      const masked = tf.add(this.pointerScores(hSlot, projected), absent) as tf.Tensor2D;
      const fine = tf.add(this.fineLogits(hSlot), tf.mul(tf.sub(1, batch.fineMask), MASKED)) as tf.Tensor2D;
      const pointerNll = weightedNll(masked, batch.slotEntries, tf.onesLike(batch.slotEntries).toFloat() as tf.Tensor1D);
      total = tf.add(total, tf.add(pointerNll, weightedNll(fine, batch.fineTargets, batch.fineWeights))) as tf.Scalar;
    }
    return tf.div(total, tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  }

  /**
   * One decoding step for N rows: the previous token (a word id, or a slot id
   * with its entry's descriptor in `slotInputs` [N, F], zeros otherwise) →
   * the new state and its word/slot log-probabilities [N, V].
   */
  step(state: LstmState, tokens: tf.Tensor1D, slotInputs: tf.Tensor2D): { logProbs: tf.Tensor2D; state: LstmState } {
    return tf.tidy(
      () =>
        groundedStep(tfOps, this.params, tokens, slotInputs, state, this.config.hiddenDim) as { logProbs: tf.Tensor2D; state: LstmState },
    );
  }

  static load(dir: string): Promise<GroundedModel> {
    return loadWeightsModel(dir, readGroundedConfig, (config) => GroundedModel.init(config, 0));
  }
}
