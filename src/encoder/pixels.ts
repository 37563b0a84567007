import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../image/decode.js';
import type { Encoder } from './types.js';

/** One decoded RGB image as the [1, H, W, 3] float batch the encoders take (0..255). */
export function rgbBatch(rgb: RgbImage): tf.Tensor4D {
  return tf.tensor4d(rgb.data, [1, rgb.height, rgb.width, 3], 'float32');
}

/** Features of one decoded image: [1, dim]. Caller disposes. */
export function encodeRgb(encoder: Encoder, rgb: RgbImage): tf.Tensor2D {
  return tf.tidy(() => encoder.encode(rgbBatch(rgb)));
}
