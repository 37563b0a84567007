import type * as tf from '@tensorflow/tfjs';
import {
  beamSteps,
  greedySearch,
  greedySteps,
  runLockstep,
  runSearch,
  sampleSteps,
  type Hypothesis,
  type Search,
  type StackableStepModel,
  type StepModel,
} from '../search/index.js';
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
  beam: (lm: StepModel<S>, init: S) => Search<S, Hypothesis[]> = (m, s) => beamSteps(m, s, TOKENS, opts),
): Hypothesis[] {
  return runSearch(lm, searchCaptionSteps(lm, init, opts, beam));
}

/** searchCaptions as a coroutine (see Search), so several requests' searches can run in lockstep. */
export function searchCaptionSteps<S>(
  lm: StepModel<S>,
  init: S,
  opts: CaptionSearchOptions,
  beam: (lm: StepModel<S>, init: S) => Search<S, Hypothesis[]> = (m, s) => beamSteps(m, s, TOKENS, opts),
): Search<S, Hypothesis[]> {
  switch (opts.mode) {
    case 'greedy':
      return greedySteps(lm, init, 1, TOKENS, opts.maxLength);
    case 'beam':
      return beam(lm, init);
    case 'sample':
      return sampleSteps(lm, init, TOKENS, opts);
  }
}

/** Captions from one state row of any runtime's step model (the caller disposes `init`). */
export function captionsFrom<S>(lm: StepModel<S>, init: S, vocab: Vocab, opts: CaptionSearchOptions): Caption[] {
  return searchCaptions(lm, init, opts).map((h) => ({ text: vocab.decode(h.ids).join(' '), logprob: h.logprob }));
}

/**
 * Searches for several images in lockstep (each decoder step one batch over
 * all their rows): image i's search starts from row i of `init`, which the
 * caller disposes. Returns each image's result or the error its search threw.
 */
export function searchManyInLockstep<S, R>(
  lm: StackableStepModel<S>,
  init: S,
  count: number,
  search: (i: number, row: S) => Search<S, R>,
): (R | Error)[] {
  const rows: S[] = [];
  try {
    for (let i = 0; i < count; i++) rows.push(lm.gather(init, [i]));
    return runLockstep(
      lm,
      rows.map((row, i) => search(i, row)),
    );
  } finally {
    rows.forEach((r) => lm.dispose(r));
  }
}

/** captionsFrom for several images at once: row i of `init` (disposed by the caller) with opts[i], in lockstep. */
export function captionsFromMany<S>(
  lm: StackableStepModel<S>,
  init: S,
  vocab: Vocab,
  opts: readonly CaptionSearchOptions[],
): (Caption[] | Error)[] {
  return searchManyInLockstep(lm, init, opts.length, (i, row) => searchCaptionSteps(lm, row, opts[i]!)).map((r) =>
    r instanceof Error ? r : r.map((h) => ({ text: vocab.decode(h.ids).join(' '), logprob: h.logprob })),
  );
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
