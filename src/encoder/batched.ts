import * as tf from '@tensorflow/tfjs';
import { Batcher, type BatcherOptions } from '../batching/batcher.js';
import { encodeFeatures } from './pixels.js';
import { detectEach, regionsEach } from './registry.js';
import type { DetectedObject, Encoder, ImageRegions } from './types.js';

interface DetectIn {
  pixels: tf.Tensor4D;
  minScore?: number;
}
interface DetectOut {
  features: Float32Array;
  objects: DetectedObject[];
}

/** Run `fn` on the inputs stacked into one [N, S, S, 3] tensor (disposed after). */
async function stacked<T>(xs: tf.Tensor4D[], fn: (x: tf.Tensor4D) => Promise<T>): Promise<T> {
  if (xs.length === 1) return fn(xs[0]!);
  const x = tf.concat(xs, 0);
  try {
    return await fn(x);
  } finally {
    x.dispose();
  }
}

/**
 * Items asking for different score floors (captioning, VQA) share a batch but not a detector run:
 * each floor's items are stacked and run together, and every item gets its own output back.
 */
async function byMinScore<O>(items: DetectIn[], run: (x: tf.Tensor4D, minScore: number | undefined) => Promise<O[]>): Promise<O[]> {
  const out = new Array<O>(items.length);
  for (const minScore of new Set(items.map((it) => it.minScore))) {
    const at = items.flatMap((it, i) => (it.minScore === minScore ? [i] : []));
    const res = await stacked(
      at.map((i) => items[i]!.pixels),
      (x) => run(x, minScore),
    );
    at.forEach((i, k) => (out[i] = res[k]!));
  }
  return out;
}

/** Row i of a row-major [N, dim] array, copied (the callers own their rows). */
const row = (rows: Float32Array, i: number, dim: number) => rows.slice(i * dim, (i + 1) * dim);

/**
 * The encoder behind a dynamic batcher: concurrent single-image calls of
 * encodeAsync / encodeAndDetect / encodeWithRegions (one request each) are stacked into one
 * [N, S, S, 3] run, on either runtime. encode() (synchronous) is not batched.
 * Calls with several images already are a batch and go straight through.
 */
export function batchEncoder(inner: Encoder, opts: BatcherOptions): Encoder {
  const features = new Batcher<tf.Tensor4D, Float32Array>(async (xs) => {
    const rows = await stacked(xs, (x) => encodeFeatures(inner, x));
    return xs.map((_, i) => row(rows, i, inner.dim));
  }, opts);

  const detect = inner.encodeAndDetect
    ? new Batcher<DetectIn, DetectOut>(
        (items) =>
          byMinScore(items, async (x, minScore) => {
            const res = await detectEach(inner, x, minScore);
            return res.objects.map((objects, k) => ({ features: row(res.features, k, inner.dim), objects }));
          }),
        opts,
      )
    : undefined;
  // Regions batch like detections: the grid part runs once over the stack, the detector image by image.
  const regions = inner.encodeWithRegions
    ? new Batcher<DetectIn, ImageRegions>(
        (items) =>
          byMinScore(items, async (x, minScore) => {
            const res = await regionsEach(inner, x, minScore);
            return res.objects.map((objects, k) => ({ features: row(res.features, k, inner.dim), objects, regions: res.regions[k]! }));
          }),
        opts,
      )
    : undefined;

  return {
    name: inner.name,
    dim: inner.dim,
    inputSize: inner.inputSize,
    ...(inner.runtime === undefined ? {} : { runtime: inner.runtime }),
    encode: (pixels) => inner.encode(pixels),
    encodeAsync: (pixels) => (pixels.shape[0] === 1 ? features.submit(pixels) : encodeFeatures(inner, pixels)),
    ...(detect
      ? {
          encodeAndDetect: (pixels: tf.Tensor4D, minScore?: number) => detect.submit({ pixels, minScore }),
          encodeAndDetectBatch: (pixels: tf.Tensor4D, minScore?: number) => detectEach(inner, pixels, minScore),
        }
      : {}),
    ...(regions
      ? {
          encodeWithRegions: (pixels: tf.Tensor4D, minScore?: number) => regions.submit({ pixels, minScore }),
          encodeWithRegionsBatch: (pixels: tf.Tensor4D, minScore?: number) => regionsEach(inner, pixels, minScore),
        }
      : {}),
    ...(inner.status ? { status: inner.status } : {}),
    dispose: () => inner.dispose(),
  };
}
