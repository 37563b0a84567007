import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { combineEncoders } from '../../src/encoder/registry.js';
import { regionDim } from '../../src/encoder/regions.js';
import type { Encoder } from '../../src/encoder/types.js';

/** A fake encoder whose one feature is the side of the pixels it was given. */
function sideEncoder(name: string, inputSize: number): Encoder {
  return {
    name,
    dim: 1,
    inputSize,
    encode: (pixels) => tf.fill([pixels.shape[0], 1], pixels.shape[1]) as tf.Tensor2D,
    dispose: () => undefined,
  };
}

describe('combineEncoders', () => {
  it('takes the largest input and hands each part its own size', async () => {
    const both = combineEncoders([sideEncoder('big', 299), sideEncoder('small', 224)]);
    expect(both.inputSize).toBe(299);
    expect(both.dim).toBe(2);
    const before = tf.memory().numTensors;
    const pixels = tf.zeros([2, 299, 299, 3]) as tf.Tensor4D;
    const features = both.encode(pixels);
    expect(Array.from(await features.data())).toEqual([299, 224, 299, 224]);
    tf.dispose([pixels, features]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resizes the pixels, keeping their values', async () => {
    const mean: Encoder = { ...sideEncoder('mean', 224), encode: (p) => tf.mean(p, [1, 2, 3]).reshape([-1, 1]) as tf.Tensor2D };
    const both = combineEncoders([sideEncoder('big', 299), mean]);
    const pixels = tf.fill([1, 299, 299, 3], 200) as tf.Tensor4D;
    const features = both.encode(pixels);
    const [, m] = Array.from(await features.data());
    expect(m).toBeCloseTo(200, 3);
    tf.dispose([pixels, features]);
  });
});

/** A fake detector: one feature (the pixel mean) and one whole-image "person" per image. */
function fakeDetector(): Encoder {
  return {
    ...sideEncoder('detector', 4),
    encodeAndDetect: async (pixels) => ({
      features: Float32Array.from(tf.tidy(() => tf.mean(pixels).dataSync())),
      objects: [{ label: 'person', classId: 0, score: 0.9, box: [0, 0, 1, 1] }],
    }),
  };
}

/** A fake grid CNN: a 1×1×1 grid holding the pixel mean, and that as its one feature. */
function fakeGrid(): Encoder {
  return {
    ...sideEncoder('grid', 4),
    encodeWithGrid: async (pixels) => {
      const m = Float32Array.from(tf.tidy(() => tf.mean(pixels, [1, 2, 3]).dataSync()));
      return { features: m, grid: m.slice(), gridShape: [1, 1, 1] };
    },
  };
}

describe('combineEncoders: regions', () => {
  it('gives encodeWithRegions only with both a grid part and a detector', () => {
    expect(combineEncoders([fakeGrid(), fakeDetector()]).encodeWithRegions).toBeDefined();
    expect(combineEncoders([fakeGrid(), fakeDetector()]).encodeWithRegionsBatch).toBeDefined();
    expect(combineEncoders([sideEncoder('plain', 4), fakeDetector()]).encodeWithRegions).toBeUndefined();
    expect(combineEncoders([fakeGrid(), sideEncoder('plain', 4)]).encodeWithRegions).toBeUndefined();
  });

  it('runs each part once: the grid part’s encodeWithGrid and the detector’s encodeAndDetect, nothing else', async () => {
    const calls: string[] = [];
    const count = (e: Encoder): Encoder => {
      const logged =
        <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
        (...a: A) => (calls.push(`${e.name}.${what}`), f(...a));
      return {
        ...e,
        encode: logged('encode', (p: tf.Tensor4D) => e.encode(p)),
        ...(e.encodeWithGrid ? { encodeWithGrid: logged('encodeWithGrid', e.encodeWithGrid) } : {}),
        ...(e.encodeAndDetect ? { encodeAndDetect: logged('encodeAndDetect', e.encodeAndDetect) } : {}),
      };
    };
    const both = combineEncoders([count(fakeGrid()), count(fakeDetector())]);
    const x = tf.fill([1, 4, 4, 3], 6) as tf.Tensor4D;
    const out = await both.encodeWithRegions!(x);
    x.dispose();
    expect(calls).toEqual(['grid.encodeWithGrid', 'detector.encodeAndDetect']);
    expect(Array.from(out.features)).toEqual([6, 6]);
    expect(out.objects).toHaveLength(1);
    expect(out.regions.length).toBe(2 * regionDim(1)); // the person and the whole image: [pooled (1), geometry, colour, classes]
  });

  it('takes one image at a time', async () => {
    const x = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    await expect(combineEncoders([fakeGrid(), fakeDetector()]).encodeWithRegions!(x)).rejects.toThrow(
      'encodeWithRegions takes one image; got a batch of 2',
    );
    x.dispose();
  });
});
