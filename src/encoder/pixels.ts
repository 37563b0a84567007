import * as tf from '@tensorflow/tfjs';
import { decodeToRgb, type ImageLimits, type RgbImage } from '../image/decode.js';
import { labelsOf, type ObjectLabel } from './centernet.js';
import type { DetectedObject, Encoder } from './types.js';

/** One decoded RGB image as the [1, H, W, 3] float batch the encoders take (0..255). */
export function rgbBatch(rgb: RgbImage): tf.Tensor4D {
  return tf.tensor4d(rgb.data, [1, rgb.height, rgb.width, 3], 'float32');
}

/** Features of one decoded image: [1, dim]. Caller disposes. */
export function encodeRgb(encoder: Encoder, rgb: RgbImage): tf.Tensor2D {
  return tf.tidy(() => encoder.encode(rgbBatch(rgb)));
}

/** [N, dim] features, row-major, from any encoder: ORT's asynchronous run or tfjs's encode(). */
export async function encodeFeatures(encoder: Encoder, pixels: tf.Tensor4D): Promise<Float32Array> {
  if (encoder.encodeAsync) return encoder.encodeAsync(pixels);
  const features = tf.tidy(() => encoder.encode(pixels));
  try {
    return (await features.data()) as Float32Array;
  } finally {
    features.dispose();
  }
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
  const x = rgbBatch(rgb);
  try {
    const row = await encodeFeatures(encoder, x); // the work finishes inside the encode timing
    return { features: tf.tensor2d(row, [1, encoder.dim]), decodeMs: t1 - t0, encodeMs: performance.now() - t1 };
  } finally {
    x.dispose();
  }
}

/** Objects found in one image: each box, and one entry per class (best score, count). */
export interface ImageDetections {
  objects: DetectedObject[];
  classes: ObjectLabel[];
}

/**
 * Image bytes → encoder features [1, dim] and, from the same forward pass,
 * the detected objects (undefined when the encoder does not detect). The
 * features are those encodeImage gives. Caller disposes the features.
 */
export async function encodeImageWithDetections(
  encoder: Encoder,
  image: Buffer,
  limits?: ImageLimits,
  minScore?: number,
): Promise<{ features: tf.Tensor2D; detections?: ImageDetections; decodeMs: number; encodeMs: number }> {
  if (!encoder.encodeAndDetect) return encodeImage(encoder, image, limits);
  const t0 = performance.now();
  const rgb = await decodeToRgb(image, encoder.inputSize, limits);
  const t1 = performance.now();
  const x = rgbBatch(rgb);
  try {
    const { features, objects } = await encoder.encodeAndDetect(x, minScore);
    return {
      features: tf.tensor2d(features, [1, features.length]),
      detections: { objects, classes: labelsOf(objects) },
      decodeMs: t1 - t0,
      encodeMs: performance.now() - t1,
    };
  } finally {
    x.dispose();
  }
}
