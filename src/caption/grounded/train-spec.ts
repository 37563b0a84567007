// The grounded caption decoder as the gradient pool's threads see it (src/train/spec.ts).
import type { TrainerSpec } from '../../train/spec.js';
import type { GroundedConfig } from './config.js';
import type { GroundedBatchTensors } from './model.js';
import { GroundedModel } from './model.js';

/** Mean loss per target token of a shard packed by groundedRows (train.ts): batchTensors' tensors. */
export const spec: TrainerSpec<GroundedConfig, GroundedModel> = {
  module: import.meta.url,
  replica: (config) => GroundedModel.init(config, 0),
  loss: (model, batch, seed) => model.loss(batch as unknown as GroundedBatchTensors, seed),
};
