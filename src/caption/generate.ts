import type * as tf from '@tensorflow/tfjs';
import { beamSearch, greedySearch, sampleSequences, type Hypothesis, type StepModel } from '../search/index.js';
import { END_ID, START_ID, type Vocab } from '../text/vocab.js';
import type { CaptionModel } from './model.js';
import type { CaptionSearchOptions } from './options.js';
import { captionStepModel } from './step-model.js';

export interface Caption {
  text: string;
  logprob: number;
}

/** The caption decoders' start and end tokens, for the searches. */
export const TOKENS = { start: START_ID, end: END_ID };

/**
 * The hypotheses the caption options ask for, from one state row: greedy, beam
 * (through `beam`, so a decoder can re-rank) or sampling. The caller disposes `init`.
 */
export function searchCaptions<S>(
  lm: StepModel<S>,
  init: S,
  opts: CaptionSearchOptions,
  beam: (lm: StepModel<S>, init: S) => Hypothesis[] = (m, s) => beamSearch(m, s, TOKENS, opts),
): Hypothesis[] {
  switch (opts.mode) {
    case 'greedy':
      return greedySearch(lm, init, 1, TOKENS, opts.maxLength);
    case 'beam':
      return beam(lm, init);
    case 'sample':
      return sampleSequences(lm, init, TOKENS, opts);
  }
}

/** Captions from one state row of any runtime's step model (the caller disposes `init`). */
export function captionsFrom<S>(lm: StepModel<S>, init: S, vocab: Vocab, opts: CaptionSearchOptions): Caption[] {
  return searchCaptions(lm, init, opts).map((h) => ({ text: vocab.decode(h.ids).join(' '), logprob: h.logprob }));
}

/** Captions for one image's feature vector ([1, D]). */
export function generateCaptions(model: CaptionModel, features: tf.Tensor2D, opts: CaptionSearchOptions): Caption[] {
  const lm = captionStepModel(model);
  const init = model.initialState(features);
  try {
    return captionsFrom(lm, init, model.vocab, opts);
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
