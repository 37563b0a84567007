import * as tf from '@tensorflow/tfjs';
import type { SelectedRegions } from '../../encoder/regions.js';
import { normalizeCaption } from '../../eval/tokenize.js';
import { policyGradientLoss } from '../../train/scst.js';
import { sampledTargets, type ScstPolicy } from '../scst.js';
import { START_ID } from '../../text/vocab.js';
import type { GradientPool } from '../../train/parallel.js';
import type { AttentionConfig } from './config.js';
import { regionTensors, scstRows } from './data.js';
import { attentionDecoder, attentionInitialState } from './generate.js';
import type { AttentionModel } from './model.js';
import { tfjsAttentionNet, type AttentionState } from './step-model.js';

/**
 * The attention decoder as an SCST policy over these images' regions: sampling and the greedy
 * baseline through the searches' step model (tfjs), log p of the samples by teacher forcing
 * them (AttentionModel.tokenLogProbs, no dropout: the probabilities the samples were drawn from).
 */
export function attentionPolicy(
  model: AttentionModel,
  images: readonly SelectedRegions[],
  pool?: GradientPool<AttentionConfig, AttentionModel>,
  seed = 0,
): ScstPolicy<AttentionState> {
  const { regionDim: R, maxRegions } = model.config;
  const decoder = attentionDecoder(tfjsAttentionNet(model), model.vocab, R, maxRegions);
  return {
    lm: decoder.lm,
    init: attentionInitialState(decoder, images),
    images: images.length,
    loss: (hyps, perImage, advantages) =>
      tf.tidy(() => {
        const { tokens, mask } = sampledTargets(hyps);
        const { regions, regionMask } = regionTensors(
          hyps.map((_, r) => images[Math.floor(r / perImage)]!),
          R,
        );
        return policyGradientLoss(model.tokenLogProbs(regions, regionMask, tokens), mask, advantages);
      }),
    ...(pool
      ? {
          gradients: (hyps, perImage, advantages) =>
            pool.gradients(
              model,
              scstRows(
                hyps.map((h) => [START_ID, ...h.ids]),
                images,
                perImage,
                advantages,
                R,
              ),
              seed,
            ),
        }
      : {}),
    variables: () => model.variables(),
    tokens: (ids) => normalizeCaption(model.vocab.decode(ids).join(' ')),
  };
}
