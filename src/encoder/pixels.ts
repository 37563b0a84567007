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
 *
 * With `regions: true` and an encoder that gives regions (encodeWithRegions), the
 * same pass also gives `regions` (regionDescriptors of `detections.objects` in
 * their order, then the whole image); the objects are then encodeWithRegions'
 * (at most REGION_MAX_OBJECTS). Otherwise there are no regions.
 */
export async function encodeImageWithDetections(
  encoder: Encoder,
  image: Buffer,
  limits?: ImageLimits,
  minScore?: number,
  opts: { regions?: boolean } = {},
): Promise<{ features: tf.Tensor2D; detections?: ImageDetections; regions?: Float32Array; decodeMs: number; encodeMs: number }> {
  const encodeWithRegions = opts.regions ? encoder.encodeWithRegions : undefined;
  if (!encoder.encodeAndDetect && !encodeWithRegions) return encodeImage(encoder, image, limits);
  const t0 = performance.now();
  const rgb = await decodeToRgb(image, encoder.inputSize, limits);
  const t1 = performance.now();
  const x = rgbBatch(rgb);
  try {
    const out: { features: Float32Array; objects: DetectedObject[]; regions?: Float32Array } = encodeWithRegions
      ? await encodeWithRegions(x, minScore)
      : await encoder.encodeAndDetect!(x, minScore);
    return {
      features: tf.tensor2d(out.features, [1, out.features.length]),
      detections: { objects: out.objects, classes: labelsOf(out.objects) },
      ...(out.regions ? { regions: out.regions } : {}),
      decodeMs: t1 - t0,
      encodeMs: performance.now() - t1,
    };
  } finally {
    x.dispose();
  }
}
