import * as tf from '@tensorflow/tfjs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMobileNet, MOBILENET_NAME, mobileNetWeightsFiles } from '../../src/encoder/mobilenet.js';
import { MOBILENET_OUTPUTS, mobileNetOnnx, onnxPath } from '../../src/encoder/onnx.js';
import { loadOrtMobileNet } from '../../src/encoder/ort.js';
import { encodeFeatures } from '../../src/encoder/pixels.js';
import { roiAveragePool } from '../../src/encoder/regions.js';
import type { Encoder } from '../../src/encoder/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { pruneToOutputs, readModelInfo } from '../../src/onnx/graph.js';
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
let ort: Encoder;
beforeAll(async () => {
  await initBackend();
  x = images();
  tfjs = await loadMobileNet('models');
  ort = await loadOrtMobileNet('models');
});
afterAll(() => {
  x?.dispose();
  tfjs?.dispose();
  ort?.dispose();
});

describe('MobileNetV2 features and feature grid from one forward pass', () => {
  it('tfjs: encodeWithGrid’s features are encode()’s, and their grid’s whole-image region, without leaking tensors', async () => {
    await tfjs.encodeWithGrid!(x); // warm-up allocations
    const before = tf.memory().numTensors;
    const { features, grid, gridShape } = await tfjs.encodeWithGrid!(x);
    expect(tf.memory().numTensors).toBe(before);
    expect([tfjs.dim, tfjs.inputSize, ...gridShape]).toEqual([C, 224, S, S, C]);
    expect(features.length).toBe(2 * C);
    expect(grid.length).toBe(2 * S * S * C);
    expect(agreement(features, await encodeFeatures(tfjs, x)).maxAbs).toBe(0); // the same layers, the same kernels
    expect(agreement(wholeImagePools(grid, 2), features).maxAbs).toBeLessThan(1e-5);
  });

  it('onnxruntime: the shipped graph’s grid comes with the features it pools to, and matches tfjs’s grid', async () => {
    const { features, grid, gridShape } = await ort.encodeWithGrid!(x);
    expect([ort.dim, ort.inputSize, ...gridShape]).toEqual([C, 224, S, S, C]);
    expect(features.length).toBe(2 * C);
    expect(grid.length).toBe(2 * S * S * C);
    // Fetching the grid too must not move the features (one graph, one run: measured bitwise equal).
    expect(agreement(features, await encodeFeatures(ort, x)).maxAbs).toBeLessThan(1e-6);
    expect(agreement(wholeImagePools(grid, 2), features).maxAbs).toBeLessThan(1e-5);
    // Layout: NHWC like tfjs's grid (a transposed or NCHW grid fails this), within the runtimes' parity bound.
    const { maxAbs, cosine } = agreement(grid, (await tfjs.encodeWithGrid!(x)).grid);
    expect(maxAbs).toBeLessThan(3e-4); // ReLU6 values up to 6, 3e-5 apart here (features: 1e-4 at values up to 1.8)
    expect(cosine).toBeGreaterThan(1 - 1e-6);
  });

  it('a shipped graph from before the grid output (same weights) is exported anew, saying why', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mobilenet-grid-'));
    try {
      const [json, weights] = mobileNetWeightsFiles('models');
      const shipped = await readFile(onnxPath('models', MOBILENET_NAME));
      expect(readModelInfo(shipped).outputs).toEqual([MOBILENET_OUTPUTS.features, MOBILENET_OUTPUTS.grid]);
      const [oldJson, oldWeights] = mobileNetWeightsFiles(dir);
      await mkdir(path.dirname(oldJson!), { recursive: true });
      await copyFile(json!, oldJson!);
      await copyFile(weights!, oldWeights!);
      // The old file: features only, and the source hash of these very weights (so only its outputs make it stale).
      await writeFile(onnxPath(dir, MOBILENET_NAME), pruneToOutputs(shipped, [MOBILENET_OUTPUTS.features]));
      const graph = await mobileNetOnnx(dir);
      expect(graph.from).toBe('exported');
      expect(graph.reason).toMatch(/lacks the output\(s\) grid \(an older export\)$/);
      expect(Buffer.compare(Buffer.from(graph.bytes), shipped)).toBe(0);
      const encoder = await loadOrtMobileNet(dir);
      try {
        expect(encoder.encodeWithGrid).toBeDefined();
      } finally {
        encoder.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
