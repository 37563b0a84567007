import * as tf from '@tensorflow/tfjs';
import { decodeToRgb, type ImageLimits, type RgbImage } from '../image/decode.js';
import type { Encoder } from './types.js';

/** One decoded RGB image as the [1, H, W, 3] float batch the encoders take (0..255). */
export function rgbBatch(rgb: RgbImage): tf.Tensor4D {
  return tf.tensor4d(rgb.data, [1, rgb.height, rgb.width, 3], 'float32');
}

/** Features of one decoded image: [1, dim]. Caller disposes. */
export function encodeRgb(encoder: Encoder, rgb: RgbImage): tf.Tensor2D {
  return tf.tidy(() => encoder.encode(rgbBatch(rgb)));
}

/**
 * Image bytes → encoder features [1, dim], with the time spent decoding
 * (sharp) and encoding (the CNN). Caller disposes the features.
 */
export async function encodeImage(
  encoder: Encoder,
  image: Buffer,
  limits?: ImageLimits,
): Promise<{ features: tf.Tensor2D; decodeMs: number; encodeMs: number }> {
  const t0 = performance.now();
  const rgb = await decodeToRgb(image, encoder.inputSize, limits);
  const t1 = performance.now();
  const features = encodeRgb(encoder, rgb);
  await features.data(); // finish the work inside the encode timing
  return { features, decodeMs: t1 - t0, encodeMs: performance.now() - t1 };
}
