import * as tf from '@tensorflow/tfjs';

/**
 * a·b whose gradient transposes explicitly. The stock gradient calls
 * matMul with transposeA/B, which on the wasm backend leaves the fast
 * XNNPACK path (10–20× slower, most of backprop's time there).
 */
const matMulExplicit = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
});

export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulExplicit(a, b) as tf.Tensor2D;
}

/** Glorot-uniform initial values (the LSTM default, orthogonal, takes minutes on wasm). */
export function glorotUniform(shape: [number, number], seed: number): tf.Tensor2D {
  const limit = Math.sqrt(6 / (shape[0] + shape[1]));
  return tf.randomUniform(shape, -limit, limit, 'float32', seed) as tf.Tensor2D;
}

/** Global L2 norm of a set of gradients. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Scale gradients so their global norm is at most `maxNorm` (Pascanu et al.).
 * Returns new tensors and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const names = Object.keys(grads);
  const normT = globalNorm(names.map((n) => grads[n]!));
  const norm = normT.dataSync()[0]!;
  normT.dispose();
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = tf.tidy(() => tf.mul(grads[n]!, scale));
  return { grads: out, norm };
}
