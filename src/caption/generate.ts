import * as tf from '@tensorflow/tfjs';
import { END_ID, START_ID } from '../text/vocab.js';
import { beamSearch, greedy, sample, type Hypothesis } from './decode.js';
import type { CaptionModel } from './model.js';
import { captionStepModel } from './step-model.js';

export type DecodeMode = 'beam' | 'greedy' | 'sample';

export interface GenerateOptions {
  mode: DecodeMode;
  beamSize: number;
  n: number;
  maxLength: number;
  temperature: number;
  seed: number;
  lengthPenalty: number;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  mode: 'beam',
  beamSize: 3,
  n: 1,
  maxLength: 20,
  temperature: 1,
  seed: 0,
  lengthPenalty: 0,
};

export interface Caption {
  text: string;
  logprob: number;
}

const TOKENS = { start: START_ID, end: END_ID };

/** Captions for one image's feature vector ([1, D]). */
export function generateCaptions(model: CaptionModel, features: tf.Tensor2D, opts: GenerateOptions): Caption[] {
  const lm = captionStepModel(model);
  const init = model.initialState(features);
  try {
    let hyps: Hypothesis[];
    switch (opts.mode) {
      case 'greedy':
        hyps = greedy(lm, init, 1, TOKENS, opts.maxLength);
        break;
      case 'beam':
        hyps = beamSearch(lm, init, TOKENS, {
          beamSize: opts.beamSize,
          maxLength: opts.maxLength,
          lengthPenalty: opts.lengthPenalty,
          n: Math.min(opts.n, opts.beamSize),
        });
        break;
      case 'sample':
        hyps = sample(lm, init, TOKENS, opts);
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
  const hyps = greedy(lm, init, features.shape[0], TOKENS, maxLength);
  lm.dispose(init);
  return hyps.map((h) => model.vocab.decode(h.ids).join(' '));
}
