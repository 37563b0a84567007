// The region VQA model as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../../train/spec.js';
import type { VqaConfig } from '../config.js';
import { RegionVqaModel, type RegionVqaInputs } from './model.js';

/** Mean loss per question of a shard packed by regionRows (data.ts). */
export const spec: TrainerSpec<VqaConfig, RegionVqaModel> = {
  module: import.meta.url,
  replica: (config) => RegionVqaModel.init(config, 0),
  loss: (model, b, seed) =>
    model.loss(b as unknown as RegionVqaInputs<tf.Tensor>, { hits: b.hits as tf.Tensor3D, weights: b.weights as tf.Tensor2D }, seed),
};
