import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCenterNet } from '../../src/encoder/centernet.js';
import { encodeImage, encodeImageWithDetections, rgbBatch } from '../../src/encoder/pixels.js';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { initBackend } from '../../src/nn/backend.js';
import { patternImage } from './pattern.js';

/** Written by make-golden.ts with the encoder code before it returned detections. */
const golden = JSON.parse(readFileSync(new URL('../fixtures/encoder/shipped-features.json', import.meta.url), 'utf8')) as {
  encoder: string;
  features: number[];
};

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  expect(worst).toBeLessThan(tolerance);
}

describe('the shipped encoder with detections', () => {
  let encoder: Encoder;
  let pixels: tf.Tensor4D;

  beforeAll(async () => {
    await initBackend();
    encoder = await loadEncoder(golden.encoder, 'models');
    pixels = patternImage(encoder.inputSize);
  }, 60_000);
  afterAll(() => {
    pixels?.dispose();
    encoder?.dispose();
  });

  it('gives the features it gave before detections were added', async () => {
    const f = encoder.encode(pixels);
    expectClose(await f.data(), golden.features, 1e-4);
    f.dispose();
  }, 60_000);

  it('returns the same features with its detections, from one call, without leaking tensors', async () => {
    expect(encoder.encodeAndDetect).toBeDefined();
    await encoder.encodeAndDetect!(pixels); // warm-up allocations
    const before = tf.memory().numTensors;
    const { features, objects } = await encoder.encodeAndDetect!(pixels, 0.05);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(features, golden.features, 1e-4);
    for (const o of objects) {
      expect(o.score).toBeGreaterThanOrEqual(0.05);
      for (const v of o.box) expect(v).toBeGreaterThanOrEqual(0);
      expect(o.box[0] + o.box[2]).toBeLessThanOrEqual(1);
      expect(o.box[1] + o.box[3]).toBeLessThanOrEqual(1);
    }
  }, 60_000);

  it('encodeImageWithDetections gives encodeImage’s features, the objects and per-class counts', async () => {
    const size = encoder.inputSize;
    const png = await sharp(Buffer.from(await pixels.data()), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer();
    const plain = await encodeImage(encoder, png);
    const withDetections = await encodeImageWithDetections(encoder, png, undefined, 0.05);
    expectClose(await withDetections.features.data(), await plain.features.data(), 1e-5);
    tf.dispose([plain.features, withDetections.features]);
    const { objects, classes } = withDetections.detections!;
    expect(classes.reduce((n, c) => n + c.count, 0)).toBe(objects.length);
    for (const c of classes) expect(c.score).toBe(Math.max(...objects.filter((o) => o.label === c.label).map((o) => o.score)));
  }, 60_000);

  it('with regions asked for, gives encodeWithRegions’ features, objects and regions (tfjs), and none unasked', async () => {
    const size = encoder.inputSize;
    const png = await sharp(Buffer.from(await pixels.data()), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer();
    await encodeImageWithDetections(encoder, png, undefined, 0.05, { regions: true }).then((o) => o.features.dispose()); // warm-up
    const before = tf.memory().numTensors;
    const asked = await encodeImageWithDetections(encoder, png, undefined, 0.05, { regions: true });
    const unasked = await encodeImageWithDetections(encoder, png, undefined, 0.05);
    const x = rgbBatch(await decodeToRgb(png, size));
    const want = await encoder.encodeWithRegions!(x, 0.05);
    x.dispose();
    expect(unasked.regions).toBeUndefined();
    expect(asked.detections!.objects).toEqual(want.objects);
    expect(asked.detections!.objects.length).toBeGreaterThan(0);
    expect(Array.from(asked.regions!)).toEqual(Array.from(want.regions));
    expect(Array.from(await asked.features.data())).toEqual(Array.from(want.features));
    expectClose(await asked.features.data(), await unasked.features.data(), 1e-6); // encodeAndDetect's features
    tf.dispose([asked.features, unasked.features]);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});

describe('centernet detection size', () => {
  beforeAll(() => initBackend(), 60_000);

  it('runs the head at 224 in the features’ own pass, leaving the features as they were', async () => {
    const onePass = await loadCenterNet(undefined, 224, 224);
    const graphSize = await loadCenterNet(undefined, 224, 512);
    const x = patternImage(224);
    const a = onePass.encode(x);
    const b = graphSize.encode(x);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    const { features, objects } = await onePass.encodeAndDetect(x, 0.01);
    expect(Array.from(features)).toEqual(Array.from(await a.data()));
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) for (const v of o.box) expect(v).toBeGreaterThanOrEqual(0);
    tf.dispose([a, b, x]);
    onePass.dispose();
    graphSize.dispose();
  }, 60_000);

  it('runs the head at 320 on upsampled pixels', async () => {
    const detector = await loadCenterNet(undefined, 224, 320);
    expect(detector.detectSize).toBe(320);
    const x = patternImage(224);
    const [objects] = await detector.detect(x, 0.01);
    expect(objects!.length).toBeGreaterThan(0);
    x.dispose();
    detector.dispose();
  }, 60_000);

  it('refuses a side the head cannot take', async () => {
    await expect(loadCenterNet(undefined, 224, 300)).rejects.toThrow(/multiple of 32/);
  });
});
