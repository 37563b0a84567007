import * as tf from '@tensorflow/tfjs';
import { lstmCell } from './blocks.js';
import { tfOps } from './tensor-ops.js';

// A type alias (not an interface) so it fits tf.tidy's TensorContainer.
export type LstmState = {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
};

/** One LSTM step on tfjs (lstmCell, src/nn/blocks.ts): `xw` is the input already projected by W. */
export function lstmStep(xw: tf.Tensor2D, state: LstmState, u: tf.Tensor2D, b: tf.Tensor1D): LstmState {
  return lstmCell(tfOps, xw, state, u, b, state.h.shape[1]) as LstmState;
}

/** LSTM bias with the forget gate at 1, so early training keeps memory. */
export function lstmBias(hidden: number): tf.Tensor1D {
  const b = new Float32Array(4 * hidden);
  b.fill(1, hidden, 2 * hidden);
  return tf.tensor1d(b);
}

/** Time-major views of a teacher-forced batch: tokens [B, T+1] → inputs, targets ([T·B], row t·B + b) and mask weights. */
export function timeMajor(
  tokens: tf.Tensor2D,
  mask: tf.Tensor2D,
): { inputs: tf.Tensor1D; targets: tf.Tensor1D; weights: tf.Tensor1D; T: number } {
  const [B, T1] = tokens.shape;
  const T = T1 - 1;
  return {
    inputs: tf.transpose(tf.slice(tokens, [0, 0], [B, T])).reshape([T * B]) as tf.Tensor1D,
    targets: tf.transpose(tf.slice(tokens, [0, 1], [B, T])).reshape([T * B]) as tf.Tensor1D,
    weights: tf.transpose(mask).reshape([T * B]) as tf.Tensor1D,
    T,
  };
}

/** Run the LSTM over T steps of projected inputs xw ([T·B, 4H], time-major) from `state`; every step's h, [T·B, H]. */
export function unroll(xw: tf.Tensor2D, T: number, state: LstmState, u: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const hs: tf.Tensor2D[] = [];
  let s = state;
  for (const x of tf.split(xw, T, 0) as tf.Tensor2D[]) {
    s = lstmStep(x, s, u, b);
    hs.push(s.h);
  }
  return tf.concat(hs, 0);
}

/** Cross-entropy of each row's logits against its target, −log softmax(logits)[target]: [rows]. */
export function targetNll(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, tf.oneHot(targets, logits.shape[1])), 1));
}

/** Σ weight × cross-entropy of each row's logits against its target. */
export function weightedNll(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.mul(targetNll(logits, targets), weights));
}
