import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { combineEncoders } from '../../src/encoder/registry.js';
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
