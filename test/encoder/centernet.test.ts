import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTERNET_NAME, loadCenterNet, type CenterNetEncoder } from '../../src/encoder/centernet.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';

/** A red rectangle on a grey background, as [1, size, size, 3] pixels in 0..255. */
async function syntheticImage(size: number): Promise<tf.Tensor4D> {
  const w = Math.round(size / 2);
  const h = Math.round(size / 3);
  const rect = await sharp({ create: { width: w, height: h, channels: 3, background: { r: 220, g: 30, b: 40 } } })
    .png()
    .toBuffer();
  const { data, info } = await sharp({
    create: { width: size, height: size, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([{ input: rect, left: Math.round(size / 4), top: Math.round(size / 3) }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return tf.tensor4d(new Uint8Array(data), [1, size, size, 3], 'float32');
}

describe('centernet encoder', () => {
  let encoder: CenterNetEncoder;
  let pixels: tf.Tensor4D;

  beforeAll(async () => {
    await initBackend(parseBackendName(process.env.TF_BACKEND));
    encoder = await loadCenterNet();
    pixels = await syntheticImage(encoder.inputSize);
  }, 60_000);

  afterAll(() => {
    pixels?.dispose();
    encoder?.dispose();
  });

  it('encodes an image to a finite [1, 480] vector without leaking tensors', async () => {
    expect(encoder.name).toBe(CENTERNET_NAME);
    expect(encoder.dim).toBe(480);
    const before = tf.memory().numTensors;
    let first: Float32Array | undefined;
    for (let i = 0; i < 3; i++) {
      const features = encoder.encode(pixels);
      expect(features.shape).toEqual([1, 480]);
      const values = (await features.data()) as Float32Array;
      features.dispose();
      expect(values.every(Number.isFinite)).toBe(true);
      if (first) expect(Array.from(values)).toEqual(Array.from(first));
      else first = values;
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(first!.some((v) => v !== 0)).toBe(true);
  }, 60_000);

  it("encodeAndDetect gives encode()'s features plus detections, without leaking tensors", async () => {
    const before = tf.memory().numTensors;
    const { features, objects } = await encoder.encodeAndDetect(pixels);
    const labels = await encoder.detectLabels(pixels);
    expect(tf.memory().numTensors).toBe(before);
    const alone = encoder.encode(pixels);
    const expected = (await alone.data()) as Float32Array;
    alone.dispose();
    expect(features.length).toBe(480);
    features.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    for (const o of objects) {
      expect(o.score).toBeGreaterThanOrEqual(0.3);
      expect(typeof o.label).toBe('string');
    }
    for (const l of labels) expect(l.score).toBeGreaterThanOrEqual(0.3);
  }, 60_000);

  it("encodeWithGrid gives encode()'s features and the 7×7×480 grid they average, without leaking tensors", async () => {
    const before = tf.memory().numTensors;
    const { features, grid, gridShape } = await encoder.encodeWithGrid!(pixels);
    expect(tf.memory().numTensors).toBe(before);
    expect(gridShape).toEqual([7, 7, 480]);
    const alone = encoder.encode(pixels);
    const expected = (await alone.data()) as Float32Array;
    alone.dispose();
    features.forEach((v, c) => {
      expect(v).toBeCloseTo(expected[c]!, 4);
      let sum = 0;
      for (let k = 0; k < 49; k++) sum += grid[k * 480 + c]!;
      expect(sum / 49).toBeCloseTo(v, 4);
    });
  }, 60_000);
});
