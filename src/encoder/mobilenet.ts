import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { fileLoader } from '../nn/io.js';
import type { Encoder } from './types.js';

export const MOBILENET_NAME = 'mobilenet_v2';
const FEATURE_LAYER = 'flatten_1'; // 7×7 average pool of out_relu, flattened: 1280-d

/**
 * nsfwjs's MobileNetV2 (ImageNet-initialised, fine-tuned on 5 classes), cut at
 * its pooled 1280-d features. Weights were extracted by scripts/extract-nsfwjs.ts.
 */
export async function loadMobileNet(modelsDir: string): Promise<Encoder> {
  const full = await tf.loadLayersModel(fileLoader(path.join(modelsDir, 'encoder', MOBILENET_NAME, 'model.json')));
  const model = tf.model({ inputs: full.inputs, outputs: full.getLayer(FEATURE_LAYER).output });
  const dim = model.outputs[0]!.shape[1] as number;
  const inputSize = full.inputs[0]!.shape[1] as number;
  return {
    name: MOBILENET_NAME,
    dim,
    inputSize,
    encode: (pixels) => tf.tidy(() => model.predict(pixels.div(255)) as tf.Tensor2D), // nsfwjs scales to 0..1
    dispose: () => full.dispose(),
  };
}
