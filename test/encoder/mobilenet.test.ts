import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { initBackend } from '../../src/nn/backend.js';

let encoder: Encoder;
beforeAll(async () => {
  await initBackend();
  encoder = await loadEncoder('mobilenet_v2', 'models');
});

describe('MobileNetV2 encoder (shipped weights)', () => {
  it('gives 1280-d features that depend on the image, without leaking tensors', () => {
    expect(encoder.dim).toBe(1280);
    const size = encoder.inputSize;
    const dark = tf.fill([1, size, size, 3], 20) as tf.Tensor4D;
    const noise = tf.randomUniform([1, size, size, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
    encoder.encode(dark).dispose(); // warm-up allocations
    const before = tf.memory().numTensors;
    const a = encoder.encode(dark);
    const b = encoder.encode(noise);
    expect(a.shape).toEqual([1, 1280]);
    const diff = tf.tidy(() => tf.sum(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    expect(diff).toBeGreaterThan(1);
    expect([...a.dataSync()].every(Number.isFinite)).toBe(true);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([dark, noise]);
  });

  it('refuses an unknown encoder name with the known ones', async () => {
    await expect(loadEncoder('resnet', 'models')).rejects.toThrow(/known: mobilenet_v2, centernet/);
  });
});
