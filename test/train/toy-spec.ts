// A trainer spec for the pool's tests: y = x·w (+ x·v on flagged rows), mean squared error per row,
// carrying x·w. A shard with no flagged row leaves v without a gradient, as a grounded batch
// without slots leaves the pointer.
import * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../../src/train/spec.js';

export class Toy {
  readonly w: tf.Variable;
  readonly v: tf.Variable;
  constructor(
    readonly dim: number,
    seed: number,
  ) {
    this.w = tf.variable(tf.randomNormal([dim, 1], 0, 1, 'float32', seed));
    this.v = tf.variable(tf.randomNormal([dim, 1], 0, 1, 'float32', seed + 1));
  }
  variables(): Record<string, tf.Variable> {
    return { w: this.w, v: this.v };
  }
  dispose(): void {
    tf.dispose([this.w, this.v]);
  }
}

export const spec: TrainerSpec<{ dim: number }, Toy> = {
  module: import.meta.url,
  replica: (config) => new Toy(config.dim, 0),
  loss(model, b) {
    const x = b.x as tf.Tensor2D;
    const flagged = b.flagged as tf.Tensor1D;
    let y = tf.matMul(x, model.w);
    // Data-dependent graph, as in the grounded loss: v only enters when some row is flagged.
    if (flagged.dataSync().some((f) => f > 0)) y = tf.add(y, tf.mul(tf.matMul(x, model.v), flagged.toFloat().expandDims(1)));
    const loss = tf.mean(tf.square(tf.sub(y, b.target as tf.Tensor2D))) as tf.Scalar;
    return { loss, carry: { y } };
  },
};
