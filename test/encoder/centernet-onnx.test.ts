import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCenterNet, type CenterNetEncoder } from '../../src/encoder/centernet.js';
import { loadOrtCenterNet } from '../../src/encoder/centernet-ort.js';
import { encodeFeatures, rgbBatch } from '../../src/encoder/pixels.js';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { DetectedObject } from '../../src/encoder/types.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { initBackend } from '../../src/nn/backend.js';
import { centerNetOnnx, exportCenterNet } from '../../src/encoder/onnx.js';
import { agreement } from '../onnx/parity.js';

// Measured here (ORT CPU provider against tfjs-wasm, the five photos below, 98
// objects scoring ≥ 0.1): features (largest 2.1) within 2.4e-6, scores within
// 6.9e-7, box coordinates (fractions of the image) within 1.6e-6. The bounds leave
// room for other CPUs' kernels; a converter error (SAME padding's odd pixel put
// before instead of after) changes the objects found.
const FEATURES_MAX_ABS = 1e-4;
const SCORE_MAX_ABS = 1e-4;
const BOX_MAX_ABS = 1e-4;
const MIN_SCORE = 0.1;
const PHOTOS = ['horses', 'bus', 'pizza', 'skateboarder', 'zebra'];

let tfjs: CenterNetEncoder;
let onnx: CenterNetEncoder;
let photos: tf.Tensor4D[];
/** A models folder without model.onnx: the encoder exports the graph in memory, so these tests check the converter as it is now. */
const freshDir = mkdtempSync(path.join(os.tmpdir(), 'centernet-onnx-'));
beforeAll(async () => {
  await initBackend();
  tfjs = await loadCenterNet();
  onnx = await loadOrtCenterNet(freshDir);
  photos = await Promise.all(
    PHOTOS.map(async (p) => rgbBatch(await decodeToRgb(readFileSync(new URL(`../fixtures/photos/${p}.jpg`, import.meta.url)), 224))),
  );
}, 60_000);
afterAll(() => {
  tfjs?.dispose();
  onnx?.dispose();
  tf.dispose(photos);
  rmSync(freshDir, { recursive: true, force: true });
});

/** Largest differences of two object lists that must name the same classes in the same order. */
function objectsAgree(want: DetectedObject[], got: DetectedObject[], photo: string): { score: number; box: number } {
  expect(
    got.map((o) => o.label),
    photo,
  ).toEqual(want.map((o) => o.label));
  let score = 0;
  let box = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    score = Math.max(score, Math.abs(w.score - g.score));
    w.box.forEach((v, k) => (box = Math.max(box, Math.abs(v - g.box[k]!))));
  });
  return { score, box };
}

describe('CenterNet on onnxruntime against tfjs', () => {
  it('the shipped model.onnx is what the exporter writes from human’s graph', async () => {
    const { bytes, from, reason } = await centerNetOnnx('models');
    expect(reason).toBeUndefined(); // else the server would re-export at every start
    expect(from).toBe('file');
    expect(Buffer.compare(Buffer.from(await exportCenterNet()), Buffer.from(bytes))).toBe(0);
    // The head's constants depend on the size: a graph for another one is not the shipped file.
    const other = await centerNetOnnx('models', 256);
    expect([other.from, other.reason]).toEqual(['exported', expect.stringMatching(/exported from other weights/)]);
  }, 60_000);

  it('gives the same features and detections on COCO photos, without leaking tensors', async () => {
    await onnx.encodeAndDetect(photos[0]!); // warm-up allocations
    const before = tf.memory().numTensors;
    const worst = { features: 0, largestFeature: 0, score: 0, box: 0, objects: 0 };
    for (const [i, x] of photos.entries()) {
      const want = await tfjs.encodeAndDetect(x, MIN_SCORE);
      const got = await onnx.encodeAndDetect(x, MIN_SCORE);
      const { maxAbs } = agreement(want.features, got.features);
      const { score, box } = objectsAgree(want.objects, got.objects, PHOTOS[i]!);
      worst.features = Math.max(worst.features, maxAbs);
      worst.largestFeature = Math.max(worst.largestFeature, ...want.features.map(Math.abs));
      worst.score = Math.max(worst.score, score);
      worst.box = Math.max(worst.box, box);
      worst.objects += got.objects.length;
    }
    console.log('centernet ORT vs tfjs, worst over the photos:', JSON.stringify(worst));
    expect(worst.objects).toBeGreaterThan(PHOTOS.length); // the comparison covers real detections
    expect(worst.features).toBeLessThan(FEATURES_MAX_ABS);
    expect(worst.score).toBeLessThan(SCORE_MAX_ABS);
    expect(worst.box).toBeLessThan(BOX_MAX_ABS);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('detects image by image and encodes a batch as it encodes each image', async () => {
    const batch = tf.concat(photos.slice(0, 3)) as tf.Tensor4D;
    const [objects, labels] = [await onnx.detect(batch, MIN_SCORE), await onnx.detectLabels(photos[0]!, MIN_SCORE)];
    const rows = await encodeFeatures(onnx, batch);
    for (let i = 0; i < 3; i++) {
      const one = await onnx.encodeAndDetect(photos[i]!, MIN_SCORE);
      expect(objects[i]).toEqual(one.objects);
      expect(agreement(rows.subarray(i * onnx.dim, (i + 1) * onnx.dim), one.features).maxAbs).toBeLessThan(1e-5);
    }
    expect(labels.map((l) => l.label)).toEqual([...new Set(objects[0]!.map((o) => o.label))]);
    batch.dispose();
  }, 60_000);

  it('runs mobilenet_v2+centernet on onnxruntime alone, features and detections from one call', async () => {
    const both = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'onnx', device: 'cpu' });
    expect(both.runtime).toBe('onnx');
    const { features, objects } = await both.encodeAndDetect!(photos[0]!, MIN_SCORE);
    const alone = await onnx.encodeAndDetect(photos[0]!, MIN_SCORE);
    expect(Array.from(features.subarray(1280))).toEqual(Array.from(alone.features));
    expect(objects).toEqual(alone.objects);
    both.dispose();
  }, 60_000);
});
