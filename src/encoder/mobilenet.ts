import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { fileLoader } from '../nn/io.js';
import { readFeaturesWithGrid } from './grid.js';
import type { Encoder } from './types.js';

export const MOBILENET_NAME = 'mobilenet_v2';
export const MOBILENET_FEATURE_LAYER = 'flatten_1'; // 7×7 average pool of out_relu, flattened: 1280-d
/** The feature grid MOBILENET_FEATURE_LAYER averages: [N, 7, 7, 1280], ReLU6 (0..6), one cell per 32×32 px. */
export const MOBILENET_GRID_LAYER = 'out_relu';
/** nsfwjs scales pixels to 0..1 by dividing by this. */
export const MOBILENET_INPUT_DIVISOR = 255;

/**
 * nsfwjs's MobileNetV2 (ImageNet-initialised, fine-tuned on 5 classes), cut at
 * its pooled 1280-d features, and, for encodeWithGrid, also at the 7×7×1280
 * out_relu grid they average (issue 21's region features). Weights were
 * extracted by scripts/extract-nsfwjs.ts.
 */
export async function loadMobileNet(modelsDir: string): Promise<Encoder> {
  const full = await loadMobileNetLayers(modelsDir);
  const featuresOut = full.getLayer(MOBILENET_FEATURE_LAYER).output as tf.SymbolicTensor;
  const gridOut = full.getLayer(MOBILENET_GRID_LAYER).output as tf.SymbolicTensor;
  // Two cuts of the same layers (no second copy of the weights): encode() computes nothing past the features.
  const model = tf.model({ inputs: full.inputs, outputs: featuresOut });
  const withGrid = tf.model({ inputs: full.inputs, outputs: [featuresOut, gridOut] });
  const dim = featuresOut.shape[1] as number;
  const inputSize = full.inputs[0]!.shape[1] as number;
  return {
    name: MOBILENET_NAME,
    dim,
    inputSize,
    encode: (pixels) => tf.tidy(() => model.predict(pixels.div(MOBILENET_INPUT_DIVISOR)) as tf.Tensor2D),
    encodeWithGrid: (pixels) => {
      const [features, grid] = tf.tidy(() => withGrid.predict(pixels.div(MOBILENET_INPUT_DIVISOR)) as [tf.Tensor2D, tf.Tensor4D]);
      return readFeaturesWithGrid(features, grid);
    },
    dispose: () => full.dispose(),
  };
}

/** The whole shipped Layers model (nsfwjs's 5-class head included). */
export function mobileNetWeightsFiles(modelsDir: string): string[] {
  const dir = path.join(modelsDir, 'encoder', MOBILENET_NAME);
  return [path.join(dir, 'model.json'), path.join(dir, 'weights.bin')];
}

export function loadMobileNetLayers(modelsDir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoader(mobileNetWeightsFiles(modelsDir)[0]!));
}
