import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { enumField, numberField, type NumberRule } from '../util/option-fields.js';

/**
 * Caption generation options: one schema (snake_case, as on the wire and in
 * the scripts) with limits, defaults and the rules between fields, used by
 * the /caption route, scripts/caption.ts and scripts/eval-caption.ts.
 */

export const CAPTION_MODES = ['beam', 'greedy', 'sample'] as const;
export type CaptionMode = (typeof CAPTION_MODES)[number];

/** What generateCaptions needs: the options with the seed decided. */
export interface CaptionSearchOptions {
  mode: CaptionMode;
  beamSize: number;
  n: number;
  maxLength: number;
  temperature: number;
  seed: number;
  lengthPenalty: number;
}

export const DEFAULT_CAPTION_SEARCH: CaptionSearchOptions = {
  mode: 'beam',
  beamSize: 3,
  n: 1,
  maxLength: 20,
  temperature: 1,
  seed: 0,
  lengthPenalty: 0,
};

export const CAPTION_RULES = {
  beam_size: { min: 1, max: 10, integer: true },
  n: { min: 1, max: 10, integer: true },
  max_length: { min: 1, max: 50, integer: true },
  temperature: { min: 0.01, max: 5 }, // below, logits/temperature overflows (5e-324 gave "zzzz…")
  seed: { min: 0, max: 2 ** 32 - 1, integer: true }, // the sampler's PRNG state is 32-bit
  length_penalty: { min: 0, max: 2 },
} satisfies Record<string, NumberRule>;

const D = DEFAULT_CAPTION_SEARCH;

/**
 * The fields alone (limits, defaults, docs), as a plain zod object. Unknown
 * fields are refused so a typo ("beamsize") is not silently ignored.
 */
export const CaptionOptionsObject = z
  .object({
    mode: enumField(CAPTION_MODES, D.mode).describe('beam search, greedy decoding or sampling'),
    beam_size: numberField(CAPTION_RULES.beam_size, D.beamSize).describe('beam width (beam mode)'),
    n: numberField(CAPTION_RULES.n, D.n).describe('captions to return; ≤ beam_size in beam mode, 1 in greedy mode'),
    max_length: numberField(CAPTION_RULES.max_length, D.maxLength).describe('most words per caption'),
    temperature: numberField(CAPTION_RULES.temperature, D.temperature).describe('softmax temperature (sample mode)'),
    seed: numberField(CAPTION_RULES.seed, undefined).describe('PRNG seed (sample mode); random when absent, echoed in the reply'),
    length_penalty: numberField(CAPTION_RULES.length_penalty, D.lengthPenalty).describe('rank by logprob / length^alpha (beam mode)'),
  })
  .strict();

/**
 * The rules between fields: n > beam_size in beam mode and n > 1 in greedy
 * mode are refused rather than clamped, since the caller would otherwise get
 * fewer captions than asked for without knowing why. A field already refused
 * holds no number, so its comparisons are false and it is not reported again.
 */
export function checkCaptionRules(o: z.output<typeof CaptionOptionsObject>, ctx: z.RefinementCtx): void {
  if (o.mode === 'beam' && o.n > o.beam_size) {
    ctx.addIssue({ code: 'custom', path: ['n'], message: `must be ≤ beam_size (${o.beam_size}) in beam mode; got ${o.n}` });
  }
  if (o.mode === 'greedy' && o.n !== 1) {
    ctx.addIssue({ code: 'custom', path: ['n'], message: `must be 1 in greedy mode; got ${o.n}` });
  }
}

/** The fields and the rules between them. */
export const CaptionOptionsSchema = CaptionOptionsObject.superRefine(checkCaptionRules);

export type CaptionOptions = z.output<typeof CaptionOptionsSchema>;

/** Checked options → search options; an absent seed is drawn at random so samples vary. */
export function toCaptionSearchOptions(o: CaptionOptions, randomSeed = () => randomInt(2 ** 32)): CaptionSearchOptions {
  return {
    mode: o.mode,
    beamSize: o.beam_size,
    n: o.n,
    maxLength: o.max_length,
    temperature: o.temperature,
    seed: o.seed ?? randomSeed(),
    lengthPenalty: o.length_penalty,
  };
}
