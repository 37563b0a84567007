import * as tf from '@tensorflow/tfjs';
import { matMul } from './ops.js';

// A type alias (not an interface) so it fits tf.tidy's TensorContainer.
export type LstmState = {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
};

/**
 * One LSTM step. `xw` is the input already projected by W (x·W, [N, 4H]) so
 * the projection of a whole sequence runs as one large matMul. Gate layout
 * along the last axis: i, f, o, g.
 *   c' = f⊙c + i⊙g,  h' = o⊙tanh(c')
 */
export function lstmStep(xw: tf.Tensor2D, state: LstmState, u: tf.Tensor2D, b: tf.Tensor1D): LstmState {
  const hidden = state.h.shape[1];
  const z = tf.add(tf.add(xw, matMul(state.h, u)), b) as tf.Tensor2D;
  const [zi, zf, zo, zg] = tf.split(z, [hidden, hidden, hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const c = tf.add(tf.mul(tf.sigmoid(zf), state.c), tf.mul(tf.sigmoid(zi), tf.tanh(zg))) as tf.Tensor2D;
  const h = tf.mul(tf.sigmoid(zo), tf.tanh(c)) as tf.Tensor2D;
  return { h, c };
}

/** LSTM bias with the forget gate at 1, so early training keeps memory. */
export function lstmBias(hidden: number): tf.Tensor1D {
  const b = new Float32Array(4 * hidden);
  b.fill(1, hidden, 2 * hidden);
  return tf.tensor1d(b);
}
