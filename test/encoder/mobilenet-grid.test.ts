import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMobileNet, loadMobileNetWithGrid, type MobileNetWithGrid } from '../../src/encoder/mobilenet.js';
import { mobileNetOnnx, ONNX_INPUT } from '../../src/encoder/onnx.js';
import { loadOrtMobileNetWithGrid, ortEncoder, type OrtMobileNetWithGrid } from '../../src/encoder/ort.js';
import { encodeFeatures } from '../../src/encoder/pixels.js';
import { roiAveragePool } from '../../src/encoder/regions.js';
import type { Encoder } from '../../src/encoder/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { createSession } from '../../src/onnx/runtime.js';
import { agreement } from '../onnx/parity.js';
import { patternImage } from './pattern.js';

const [S, C] = [7, 1280];

/** Two images: the pattern and seeded noise, [2, 224, 224, 3]. */
function images(): tf.Tensor4D {
  return tf.tidy(() => tf.concat([patternImage(224), tf.randomUniform([1, 224, 224, 3], 0, 255, 'float32', 5)], 0) as tf.Tensor4D);
}

/** Each image's whole-image region (the last roiAveragePool row) of an [N, 7, 7, 1280] grid. */
function wholeImagePools(grid: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) out.set(roiAveragePool(grid.subarray(i * S * S * C, (i + 1) * S * S * C), S, S, C, []), i * C);
  return out;
}

let x: tf.Tensor4D;
let tfjs: Encoder;
let tfjsGrid: MobileNetWithGrid;
let ort: Encoder;
let ortGrid: OrtMobileNetWithGrid;
beforeAll(async () => {
  await initBackend();
  x = images();
  tfjs = await loadMobileNet('models');
  tfjsGrid = await loadMobileNetWithGrid('models');
  ort = ortEncoder(await createSession((await mobileNetOnnx('models')).bytes), {
    name: 'mobilenet_v2',
    input: ONNX_INPUT,
    output: 'features',
  });
  ortGrid = await loadOrtMobileNetWithGrid('models');
});
afterAll(() => {
  x?.dispose();
  tfjs?.dispose();
  tfjsGrid?.dispose();
  ort?.dispose();
  ortGrid?.dispose();
});

describe('MobileNetV2 features and feature grid from one forward pass', () => {
  it('tfjs: the features are the served encoder’s, and their grid’s whole-image region, without leaking tensors', async () => {
    expect([tfjsGrid.dim, tfjsGrid.inputSize, ...tfjsGrid.gridSize]).toEqual([C, 224, S, S]);
    tf.dispose(Object.values(tfjsGrid.encodeWithGrid(x))); // warm-up allocations
    const before = tf.memory().numTensors;
    const { features, grid } = tfjsGrid.encodeWithGrid(x);
    expect(features.shape).toEqual([2, C]);
    expect(grid.shape).toEqual([2, S, S, C]);
    const served = await encodeFeatures(tfjs, x);
    const f = (await features.data()) as Float32Array;
    const g = (await grid.data()) as Float32Array;
    tf.dispose([features, grid]);
    expect(tf.memory().numTensors).toBe(before);
    expect(agreement(f, served).maxAbs).toBe(0); // the same layers, the same kernels
    expect(agreement(wholeImagePools(g, 2), f).maxAbs).toBeLessThan(1e-5);
  });

  it('onnxruntime: the grid graph’s features are the shipped graph’s, its grid pools to them and matches tfjs’s grid', async () => {
    expect([ortGrid.dim, ortGrid.inputSize, ...ortGrid.gridSize]).toEqual([C, 224, S, S]);
    const { features, grid } = await ortGrid.encodeWithGrid(x);
    expect(features.length).toBe(2 * C);
    expect(grid.length).toBe(2 * S * S * C);
    // A second output must not move the first (ORT may fuse differently around an output: allow rounding only).
    expect(agreement(features, await encodeFeatures(ort, x)).maxAbs).toBeLessThan(1e-6);
    expect(agreement(wholeImagePools(grid, 2), features).maxAbs).toBeLessThan(1e-5);
    // Layout: NHWC like tfjs's grid (a transposed or NCHW grid fails this), within the runtimes' parity bound.
    const t = tfjsGrid.encodeWithGrid(x);
    const tfjsG = (await t.grid.data()) as Float32Array;
    tf.dispose(Object.values(t));
    const { maxAbs, cosine } = agreement(grid, tfjsG);
    expect(maxAbs).toBeLessThan(3e-4); // ReLU6 values up to 6, 3e-5 apart here (features: 1e-4 at values up to 1.8)
    expect(cosine).toBeGreaterThan(1 - 1e-6);
  });
});
