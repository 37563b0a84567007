// A VQA model as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../train/spec.js';
import type { VqaConfig } from './config.js';
import { VqaModel } from './model.js';

/** Mean loss per question of a shard packed by vqaRows (train.ts). */
export const spec: TrainerSpec<VqaConfig, VqaModel> = {
  module: import.meta.url,
  replica: (config) => VqaModel.init(config, 0),
  loss: (model, b, seed) =>
    model.loss(b.feats as tf.Tensor2D, b.tokens as tf.Tensor2D, b.mask as tf.Tensor2D, b.answers as tf.Tensor1D, seed),
};
