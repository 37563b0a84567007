import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { fileLoader } from '../nn/io.js';
import type { Encoder } from './types.js';

export const MOBILENET_NAME = 'mobilenet_v2';
export const MOBILENET_FEATURE_LAYER = 'flatten_1'; // 7×7 average pool of out_relu, flattened: 1280-d
/** The feature grid MOBILENET_FEATURE_LAYER averages: [N, 7, 7, 1280], ReLU6 (0..6), one cell per 32×32 px. */
export const MOBILENET_GRID_LAYER = 'out_relu';
/** nsfwjs scales pixels to 0..1 by dividing by this. */
export const MOBILENET_INPUT_DIVISOR = 255;

/**
 * nsfwjs's MobileNetV2 (ImageNet-initialised, fine-tuned on 5 classes), cut at
 * its pooled 1280-d features. Weights were extracted by scripts/extract-nsfwjs.ts.
 */
export async function loadMobileNet(modelsDir: string): Promise<Encoder> {
  const full = await loadMobileNetLayers(modelsDir);
  const model = tf.model({ inputs: full.inputs, outputs: full.getLayer(MOBILENET_FEATURE_LAYER).output });
  const dim = model.outputs[0]!.shape[1] as number;
  const inputSize = full.inputs[0]!.shape[1] as number;
  return {
    name: MOBILENET_NAME,
    dim,
    inputSize,
    encode: (pixels) => tf.tidy(() => model.predict(pixels.div(MOBILENET_INPUT_DIVISOR)) as tf.Tensor2D),
    dispose: () => full.dispose(),
  };
}

/** MobileNetV2 with its feature grid: both outputs of one forward pass. */
export interface MobileNetWithGrid {
  readonly dim: number;
  readonly inputSize: number;
  /** [S_h, S_w] of the grid: 7×7 for 224-pixel inputs. */
  readonly gridSize: readonly [number, number];
  /**
   * pixels: [N, S, S, 3] float32 in 0..255 → features [N, dim] (loadMobileNet's encode, the same
   * layers) and grid [N, S_h, S_w, dim] (out_relu, which features is the global average of, NHWC).
   * Caller disposes both.
   */
  encodeWithGrid(pixels: tf.Tensor4D): { features: tf.Tensor2D; grid: tf.Tensor4D };
  dispose(): void;
}

/**
 * The shipped MobileNetV2 cut at both its pooled features and the grid they pool
 * (issue 21's region features: src/encoder/regions.ts pools the grid per box). A
 * separate model from loadMobileNet's, so the served encoder is untouched.
 */
export async function loadMobileNetWithGrid(modelsDir: string): Promise<MobileNetWithGrid> {
  const full = await loadMobileNetLayers(modelsDir);
  const grid = full.getLayer(MOBILENET_GRID_LAYER).output as tf.SymbolicTensor;
  const model = tf.model({ inputs: full.inputs, outputs: [full.getLayer(MOBILENET_FEATURE_LAYER).output as tf.SymbolicTensor, grid] });
  const [, S_h, S_w, dim] = grid.shape as [null, number, number, number];
  return {
    dim,
    inputSize: full.inputs[0]!.shape[1] as number,
    gridSize: [S_h, S_w],
    encodeWithGrid: (pixels) => {
      const [features, g] = tf.tidy(() => model.predict(pixels.div(MOBILENET_INPUT_DIVISOR)) as [tf.Tensor2D, tf.Tensor4D]);
      return { features, grid: g };
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
