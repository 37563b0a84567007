import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { numberField, type NumberRule } from '../util/option-fields.js';

/**
 * Char generation options: one schema (snake_case, as on the wire and in the
 * scripts) with limits and defaults, used by the /generate route and
 * scripts/sample-char.ts.
 */

/** Longest prime, in characters (code points). */
export const MAX_PRIME = 2000;

/** What char/sample.ts's generate needs: the options with the seed decided. */
export interface CharSampleOptions {
  /** Text that sets the state first; its characters must be in the vocabulary. Not repeated in the output. */
  prime: string;
  /** Characters to generate. */
  length: number;
  /** Softmax temperature; 0 picks the most likely character (argmax). */
  temperature: number;
  /** Sample only among the k most likely characters (0: all). */
  topK: number;
  /** Same seed (and options), same text. */
  seed: number;
  /** Report the n most likely next characters at each step (0: none). */
  candidates?: number;
}

export const DEFAULT_CHAR_SAMPLE = { prime: '', length: 200, temperature: 0.8, topK: 0, candidates: 0 } as const;

export const CHAR_RULES = {
  length: { min: 1, max: 2000, integer: true },
  temperature: { min: 0.01, max: 5, orZero: true }, // 0: argmax; between 0 and 0.01 logits/temperature overflows
  top_k: { min: 0, max: 1000, integer: true }, // 0: every character
  seed: { min: 0, max: 2 ** 32 - 1, integer: true }, // the sampler's PRNG state is 32-bit
  candidates: { min: 0, max: 10, integer: true },
} satisfies Record<string, NumberRule>;

const D = DEFAULT_CHAR_SAMPLE;

/** Unknown fields are refused so a typo ("topk") is not silently ignored. */
export const CharOptionsSchema = z
  .object({
    prime: z
      .string({ invalid_type_error: 'must be a string' })
      .refine((s) => [...s].length <= MAX_PRIME, { message: `must be at most ${MAX_PRIME} characters` })
      .default(D.prime)
      .describe("text to continue; every character must be in the model's vocabulary (else 400 unknown_characters)"),
    length: numberField(CHAR_RULES.length, D.length).describe('characters to generate'),
    temperature: numberField(CHAR_RULES.temperature, D.temperature).describe(
      'softmax temperature, 0.01 or more; 0 picks the most likely character',
    ),
    top_k: numberField(CHAR_RULES.top_k, D.topK).describe('sample among the k likeliest characters; 0: all'),
    seed: numberField(CHAR_RULES.seed, undefined).describe(
      'PRNG seed; the same seed and options give the same text; random when absent, echoed in the reply',
    ),
    candidates: numberField(CHAR_RULES.candidates, D.candidates).describe(
      'also return, per generated character, this many likeliest characters with their probabilities',
    ),
  })
  .strict();

export type CharOptions = z.output<typeof CharOptionsSchema>;

/** Checked options → sampler options; an absent seed is drawn at random (callers echo it). */
export function toCharSampleOptions(o: CharOptions, randomSeed = () => randomInt(2 ** 32)): Required<CharSampleOptions> {
  const { prime, length, temperature, candidates } = o;
  return { prime, length, temperature, topK: o.top_k, seed: o.seed ?? randomSeed(), candidates };
}
