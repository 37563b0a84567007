import * as tf from '@tensorflow/tfjs';

/** A deterministic colour pattern as [1, size, size, 3] pixels in 0..255: no decoder involved. */
export function patternImage(size: number): tf.Tensor4D {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 31)) % 256;
    }
  }
  return tf.tensor4d(data, [1, size, size, 3]);
}
