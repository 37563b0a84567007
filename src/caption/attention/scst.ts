import * as tf from '@tensorflow/tfjs';
import type { SelectedRegions } from '../../encoder/regions.js';
import { normalizeCaption } from '../../eval/tokenize.js';
import type { Hypothesis } from '../../search/index.js';
import type { ScstPolicy } from '../scst.js';
import { START_ID } from '../../text/vocab.js';
import type { GradientPool } from '../../train/parallel.js';
import type { AttentionConfig } from './config.js';
import { defaultWordTable, type WordTable } from '../../grounding/words.js';
import { sampledExample, scstRows } from './data.js';
import { attentionRules, boundInitialState, captionText } from './generate.js';
import { trainingDecoder } from './train.js';
import type { AttentionModel } from './model.js';
import type { AttentionState } from './step-model.js';
import { spec } from './train-spec.js';

/**
 * The attention decoder as an SCST policy over these images' regions: sampling and the greedy
 * baseline through the searches' step model (tfjs), log p of the samples by teacher forcing
 * them (the trainer spec's policy-gradient loss, no dropout: the probabilities the samples were drawn from).
 */
export function attentionPolicy(
  model: AttentionModel,
  images: readonly SelectedRegions[],
  pool?: GradientPool<AttentionConfig, AttentionModel>,
  seed = 0,
  table: WordTable = defaultWordTable(),
): ScstPolicy<AttentionState> {
  const R = model.config.regionDim;
  const decoder = trainingDecoder(model, table);
  const V = model.vocab.size;
  const packing = decoder.slots ? { candidates: decoder.slots.candidates, vocabSize: V, open: true } : undefined;
  // One packing of the samples for both paths: the loss here and the gradient pool's threads (train-spec.ts).
  const rows = (hyps: readonly Hypothesis[], perImage: number, advantages: readonly number[]) =>
    scstRows(
      hyps.map((h, r) => {
        const image = Math.floor(r / perImage);
        return decoder.slots ? sampledExample(image, h.ids, V, decoder.slots) : { image, ids: [START_ID, ...h.ids] };
      }),
      images,
      advantages,
      R,
      packing,
    );
  return {
    lm: decoder.lm,
    // As decoding samples: a slots model's class words only through its slots.
    init: boundInitialState(decoder, attentionRules(table, model.vocab), images),
    images: images.length,
    loss: (hyps, perImage, advantages) =>
      tf.tidy(() => spec.loss(model, rows(hyps, perImage, advantages).shard(0, hyps.length).tensors, 0) as tf.Scalar),
    ...(pool ? { gradients: (hyps, perImage, advantages) => pool.gradients(model, rows(hyps, perImage, advantages), seed) } : {}),
    variables: () => model.variables(),
    tokens: (ids) => normalizeCaption(captionText(decoder, table, ids)),
  };
}
