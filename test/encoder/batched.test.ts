import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchEncoder } from '../../src/encoder/batched.js';
import type { DetectedObject, Encoder } from '../../src/encoder/types.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';

/**
 * A tfjs encoder small enough to run many times: features are each image's
 * channel means, and it "detects" one object per image whose score is the red
 * mean / 255, kept when ≥ minScore. Calls are counted by batch size.
 */
function fakeEncoder(calls: { encode: number[]; detect: number[] }): Encoder {
  const features = (pixels: tf.Tensor4D) => tf.tidy(() => tf.mean(pixels, [1, 2]) as tf.Tensor2D);
  return {
    name: 'fake',
    dim: 3,
    inputSize: 4,
    encode: (pixels) => {
      calls.encode.push(pixels.shape[0]);
      return features(pixels);
    },
    encodeAndDetect: async (pixels, minScore = 0) => {
      calls.detect.push(pixels.shape[0]);
      const f = features(pixels);
      const row = (await f.data()) as Float32Array;
      f.dispose();
      const score = row[0]! / 255;
      const objects: DetectedObject[] = score >= minScore ? [{ label: 'person', score, box: [0, 0, 1, 1] } as DetectedObject] : [];
      return { features: row, objects };
    },
    dispose: () => {},
  };
}

const image = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;

describe('batchEncoder', () => {
  beforeAll(async () => {
    await initBackend(parseBackendName(process.env.TF_BACKEND));
  });

  it('stacks concurrent single images into one encoder run; each gets its own features, equal to unbatched ones', async () => {
    const calls = { encode: [] as number[], detect: [] as number[] };
    const inner = fakeEncoder(calls);
    const enc = batchEncoder(inner, { maxBatchSize: 8, maxDelayMs: 10, maxQueue: 16 });
    const xs = [10, 50, 90, 200].map(image);
    const alone = xs.map((x) => {
      const f = inner.encode(x);
      const row = Array.from(f.dataSync());
      f.dispose();
      return row;
    });
    calls.encode.length = 0;
    const before = tf.memory().numTensors;
    const rows = await Promise.all(xs.map((x) => enc.encodeAsync!(x)));
    expect(tf.memory().numTensors).toBe(before); // the stacked input and its features are freed
    expect(calls.encode).toEqual([4]);
    expect(rows.map((r) => Array.from(r))).toEqual(alone);
    xs.forEach((x) => x.dispose());
  });

  it('batches encodeAndDetect, keeping each caller its score floor and its own objects', async () => {
    const calls = { encode: [] as number[], detect: [] as number[] };
    const enc = batchEncoder(fakeEncoder(calls), { maxBatchSize: 8, maxDelayMs: 10, maxQueue: 16 });
    const xs = [100, 200, 150].map(image);
    const before = tf.memory().numTensors;
    const [a, b, c] = await Promise.all([
      enc.encodeAndDetect!(xs[0]!, 0.3),
      enc.encodeAndDetect!(xs[1]!, 0.3),
      enc.encodeAndDetect!(xs[2]!, 0.7),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(a.features)).toEqual([100, 100, 100]);
    expect(Array.from(b.features)).toEqual([200, 200, 200]);
    expect(a.objects.map((o) => o.score)).toEqual([100 / 255]);
    expect(b.objects.map((o) => o.score)).toEqual([200 / 255]);
    expect(c.objects).toEqual([]); // 150/255 < 0.7
    // One per-image detector pass for each image: this detector has no batched form.
    expect(calls.detect).toEqual([1, 1, 1]);
    xs.forEach((x) => x.dispose());
  });

  it('batches encodeWithRegions: one stacked run per score floor, each caller its own features, objects and regions', async () => {
    const runs: number[] = [];
    // Regions: one row per object (its score) and the whole image (its mean), so a swap between callers shows.
    const inner: Encoder = {
      ...fakeEncoder({ encode: [], detect: [] }),
      encodeWithRegions: () => Promise.reject(new Error('the batcher runs encodeWithRegionsBatch')),
      encodeWithRegionsBatch: async (pixels, minScore = 0) => {
        runs.push(pixels.shape[0]);
        const means = tf.tidy(() => tf.mean(pixels, [1, 2]).dataSync());
        const objects = Array.from({ length: pixels.shape[0] }, (_, i): DetectedObject[] => {
          const score = means[i * 3]! / 255;
          return score >= minScore ? [{ label: 'person', classId: 0, score, box: [0, 0, 1, 1] }] : [];
        });
        return {
          features: Float32Array.from(means),
          objects,
          regions: objects.map((o, i) => Float32Array.from([...o.map((d) => d.score), means[i * 3]!])),
        };
      },
    };
    const enc = batchEncoder(inner, { maxBatchSize: 8, maxDelayMs: 10, maxQueue: 16 });
    const xs = [100, 200, 150].map(image);
    const before = tf.memory().numTensors;
    const [a, b, c] = await Promise.all([
      enc.encodeWithRegions!(xs[0]!, 0.3),
      enc.encodeWithRegions!(xs[1]!, 0.3),
      enc.encodeWithRegions!(xs[2]!, 0.7),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(runs).toEqual([2, 1]); // the two at 0.3 stacked, the one at 0.7 alone
    expect(Array.from(a.features)).toEqual([100, 100, 100]);
    expect(Array.from(b.features)).toEqual([200, 200, 200]);
    expect(Array.from(a.regions)).toEqual([Math.fround(100 / 255), 100]);
    expect(Array.from(b.regions)).toEqual([Math.fround(200 / 255), 200]);
    expect(c.objects).toEqual([]);
    expect(Array.from(c.regions)).toEqual([150]); // the whole image only
    xs.forEach((x) => x.dispose());
  });
});
