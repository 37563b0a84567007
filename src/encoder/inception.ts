import * as tf from '@tensorflow/tfjs';
import { loadNsfwjsArtifacts } from './nsfwjs-bundle.js';
import type { Encoder } from './types.js';

/** nsfwjs's InceptionV3, served by its mixed9 block averaged over 8×8 (2048-d). */
export const INCEPTION_NAME = 'inception_v3';
export const INCEPTION_INPUT_SIZE = 299;
export const INCEPTION_FEATURE_LAYER = 'mixed9';
/** The graph takes pixels in 0..1. */
export const INCEPTION_INPUT_DIVISOR = 255;

/**
 * The tfjs fallback (about 1 s per image on wasm; onnxruntime runs it 3× faster,
 * see src/encoder/ort.ts). Needs the nsfwjs package.
 */
export async function loadInception(): Promise<Encoder> {
  const full = await tf.loadLayersModel(tf.io.fromMemory(await loadNsfwjsArtifacts('inception_v3')));
  const model = tf.model({ inputs: full.inputs, outputs: full.getLayer(INCEPTION_FEATURE_LAYER).output });
  return {
    name: INCEPTION_NAME,
    dim: model.outputs[0]!.shape[3]!,
    inputSize: INCEPTION_INPUT_SIZE,
    encode: (pixels) => tf.tidy(() => tf.mean(model.predict(pixels.div(INCEPTION_INPUT_DIVISOR)) as tf.Tensor4D, [1, 2]) as tf.Tensor2D),
    dispose: () => full.dispose(),
  };
}
