// The attention caption decoder as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../../train/spec.js';
import type { AttentionConfig } from './config.js';
import { AttentionModel } from './model.js';

/** Mean loss per target token of a shard packed by attentionRows (data.ts). */
export const spec: TrainerSpec<AttentionConfig, AttentionModel> = {
  module: import.meta.url,
  replica: (config) => AttentionModel.init(config, 0),
  loss: (model, b, seed) =>
    model.loss(b.regions as tf.Tensor3D, b.regionMask as tf.Tensor2D, b.tokens as tf.Tensor2D, b.mask as tf.Tensor2D, seed),
};
