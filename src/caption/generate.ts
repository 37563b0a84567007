import type * as tf from '@tensorflow/tfjs';
import { beamSearch, greedySearch, sampleSequences, type Hypothesis } from '../search/index.js';
import { END_ID, START_ID } from '../text/vocab.js';
import type { CaptionModel } from './model.js';
import type { CaptionSearchOptions } from './options.js';
import { captionStepModel } from './step-model.js';

export interface Caption {
  text: string;
  logprob: number;
}

const TOKENS = { start: START_ID, end: END_ID };

/** Captions for one image's feature vector ([1, D]). */
export function generateCaptions(model: CaptionModel, features: tf.Tensor2D, opts: CaptionSearchOptions): Caption[] {
  const lm = captionStepModel(model);
  const init = model.initialState(features);
  try {
    let hyps: Hypothesis[];
    switch (opts.mode) {
      case 'greedy':
        hyps = greedySearch(lm, init, 1, TOKENS, opts.maxLength);
        break;
      case 'beam':
        hyps = beamSearch(lm, init, TOKENS, opts);
        break;
      case 'sample':
        hyps = sampleSequences(lm, init, TOKENS, opts);
        break;
    }
    return hyps.map((h) => ({ text: model.vocab.decode(h.ids).join(' '), logprob: h.logprob }));
  } finally {
    lm.dispose(init);
  }
}

/** Greedy captions for many images at once (evaluation). features: [N, D]. */
export function greedyCaptions(model: CaptionModel, features: tf.Tensor2D, maxLength: number): string[] {
  const lm = captionStepModel(model);
  const init = model.initialState(features);
  try {
    return greedySearch(lm, init, features.shape[0], TOKENS, maxLength).map((h) => model.vocab.decode(h.ids).join(' '));
  } finally {
    lm.dispose(init);
  }
}
