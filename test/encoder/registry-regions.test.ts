import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rgbBatch } from '../../src/encoder/pixels.js';
import { REGION_MAX_OBJECTS, regionDescriptors, regionDim } from '../../src/encoder/regions.js';
import { combineEncoders, loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { initBackend } from '../../src/nn/backend.js';
import { chooseRuntime } from '../../src/onnx/runtime.js';
import { agreement } from '../onnx/parity.js';

// The served combination on ORT, built from its parts so the test can run the mobilenet_v2 part alone.
const PHOTOS = ['bus', 'horses', 'pizza'] as const;
const MIN_SCORE = 0.1;
// The same ORT sessions on the same CPU: measured bitwise equal; the bound leaves room for nothing more.
const MAX_ABS = 1e-6;

let mobile: Encoder;
let combined: Encoder;
const photos = new Map<string, tf.Tensor4D>();
beforeAll(async () => {
  await initBackend();
  const rt = await chooseRuntime('onnx');
  const [m, c] = await Promise.all([loadEncoder('mobilenet_v2', 'models', rt), loadEncoder('centernet', 'models', rt)]);
  [mobile, combined] = [m, combineEncoders([m, c])];
  for (const p of PHOTOS)
    photos.set(p, rgbBatch(await decodeToRgb(readFileSync(new URL(`../fixtures/photos/${p}.jpg`, import.meta.url)), 224)));
}, 120_000);
afterAll(() => {
  combined?.dispose();
  tf.dispose([...photos.values()]);
});

const photo = (p: string) => photos.get(p)!;

describe('mobilenet_v2+centernet: encodeWithRegions', () => {
  it('gives encodeAndDetect’s features and objects, and regionDescriptors of the grid over them, without leaking tensors', async () => {
    expect(combined.name).toBe('mobilenet_v2+centernet');
    await combined.encodeWithRegions!(photo('bus'), MIN_SCORE); // warm-up allocations
    const before = tf.memory().numTensors;
    for (const p of PHOTOS) {
      const got = await combined.encodeWithRegions!(photo(p), MIN_SCORE);
      const want = await combined.encodeAndDetect!(photo(p), MIN_SCORE);
      expect(want.objects.length, p).toBeGreaterThan(0);
      expect(got.features.length, p).toBe(combined.dim);
      expect(agreement(got.features, want.features).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
      expect(got.objects, p).toEqual(want.objects.slice(0, REGION_MAX_OBJECTS));
      const { grid, gridShape } = await mobile.encodeWithGrid!(photo(p));
      expect(gridShape).toEqual([7, 7, 1280]);
      const image = { data: photo(p).dataSync() as Float32Array, height: photo(p).shape[1], width: photo(p).shape[2] };
      const rows = regionDescriptors(grid, ...gridShape, got.objects, image);
      expect(got.regions.length, p).toBe((got.objects.length + 1) * regionDim(1280));
      expect(agreement(got.regions, rows).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps at most REGION_MAX_OBJECTS objects, the best first, and regions for all of them', async () => {
    const want = await combined.encodeAndDetect!(photo('pizza'), 0);
    expect(want.objects.length).toBeGreaterThan(REGION_MAX_OBJECTS); // else this photo cannot show the cap
    const got = await combined.encodeWithRegions!(photo('pizza'), 0);
    expect(got.objects).toEqual(want.objects.slice(0, REGION_MAX_OBJECTS));
    expect(got.regions.length).toBe((REGION_MAX_OBJECTS + 1) * regionDim(1280));
  });

  it('batched: each image’s features, objects and regions are encodeWithRegions’ alone', async () => {
    const batch = tf.concat([photo('horses'), photo('bus')]);
    const before = tf.memory().numTensors;
    const got = await combined.encodeWithRegionsBatch!(batch, MIN_SCORE);
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose();
    expect(got.objects).toHaveLength(2);
    expect(got.regions).toHaveLength(2);
    for (const [i, p] of ['horses', 'bus'].entries()) {
      const alone = await combined.encodeWithRegions!(photo(p), MIN_SCORE);
      const row = got.features.subarray(i * combined.dim, (i + 1) * combined.dim);
      expect(agreement(row, alone.features).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
      expect(got.objects[i], p).toEqual(alone.objects);
      expect(agreement(got.regions[i]!, alone.regions).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
    }
  });
});
