// The plain caption decoder as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../train/spec.js';
import type { CaptionConfig } from './config.js';
import { CaptionModel } from './model.js';

/** Mean loss per target token of a shard packed by captionRows (batches.ts). */
export const spec: TrainerSpec<CaptionConfig, CaptionModel> = {
  module: import.meta.url,
  replica: (config) => CaptionModel.init(config, 0),
  loss: (model, b, seed) => model.loss(b.feats as tf.Tensor2D, b.tokens as tf.Tensor2D, b.mask as tf.Tensor2D, seed),
};
