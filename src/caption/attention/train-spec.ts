// The attention caption decoder as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../../train/spec.js';
import { policyGradientLoss } from '../../train/scst.js';
import type { AttentionConfig } from './config.js';
import { AttentionModel, type SlotTargetTensors } from './model.js';

/**
 * The loss of a shard packed by attentionRows (data.ts): mean cross-entropy per target token (with
 * the slot terms when it carries slot targets);
 * or, when it carries `advantages` (SCST's sampled captions, scstRows), the policy-gradient loss.
 */
export const spec: TrainerSpec<AttentionConfig, AttentionModel> = {
  module: import.meta.url,
  replica: (config) => AttentionModel.init(config, 0),
  loss: (model, b, seed) => {
    const regions = b.regions as tf.Tensor3D;
    const regionMask = b.regionMask as tf.Tensor2D;
    const tokens = b.tokens as tf.Tensor2D;
    const mask = b.mask as tf.Tensor2D;
    // A slots model's shard carries its slot targets (slotTensors' fields) beside the captions.
    const slots = b.inputs ? (b as unknown as SlotTargetTensors) : undefined;
    if (!b.advantages) return model.loss(regions, regionMask, tokens, mask, seed, slots);
    const advantages = Array.from(b.advantages.dataSync());
    return policyGradientLoss(model.tokenLogProbs(regions, regionMask, tokens, undefined, slots), mask, advantages);
  },
};
