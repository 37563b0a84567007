import { z } from 'zod';
import { numberField, type NumberRule } from '../util/option-fields.js';
import { tokenizeWords } from '../text/tokenize.js';

/**
 * What a VQA model may be asked and how to ask it: the rules shared by
 * POST /vqa and scripts/vqa.ts. Option names are snake_case, as on the wire.
 */

/** Longest question, in characters: far more than any training question. */
export const MAX_QUESTION_CHARS = 200;

/** Letters (any script), digits, spaces and ordinary punctuation. */
const QUESTION_CHAR = String.raw`[\p{L}\p{M}\p{N} '",.?!;:()&/-]`;
const QUESTION_CHARS = new RegExp(`^${QUESTION_CHAR}*$`, 'u');

export const TOP_K: NumberRule = { min: 1, max: 20, integer: true };
export const DEFAULT_TOP_K = 3;

/**
 * A question: bounded length, ordinary characters, at least one word; trimmed.
 * The checks count code points and say what is wrong; the pattern piped after
 * them (both rules in one, for the OpenAPI docs) then always holds.
 */
export const questionField = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .transform((s) => s.trim())
  .superRefine((s, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if ([...s].length > MAX_QUESTION_CHARS) return fail(`must be at most ${MAX_QUESTION_CHARS} characters; got ${[...s].length}`);
    if (!QUESTION_CHARS.test(s)) {
      const bad = [...new Set([...s].filter((c) => !QUESTION_CHARS.test(c)))].slice(0, 5);
      const got = bad.map((c) => JSON.stringify(c)).join(' ');
      return fail(`may hold letters, digits, spaces and . , ? ! ; : ' " ( ) & / - only; got ${got}`);
    }
    if (tokenizeWords(s).length === 0) fail('must contain at least one word');
  })
  .pipe(z.string().regex(new RegExp(`^${QUESTION_CHAR}{1,${MAX_QUESTION_CHARS}}$`, 'u')));

/** The choice among loaded models: `models` (non-empty), `defaultModel` when absent. */
export function modelField(models: readonly string[], defaultModel: string) {
  const [first, ...rest] = models;
  if (first === undefined || !models.includes(defaultModel)) throw new Error(`no VQA model ${defaultModel} among [${models.join(', ')}]`);
  return z
    .string({ invalid_type_error: 'must be a string' })
    .refine((m) => models.includes(m), { message: `must be one of ${models.join(', ')}` })
    .pipe(z.enum([first, ...rest])) // for the docs: the names
    .default(defaultModel);
}

/** VQA request options; `model` must name a loaded model. Unknown fields are refused so a typo is not ignored. */
export function vqaOptionsSchema(models: readonly string[], defaultModel: string) {
  return z
    .object({
      question: questionField.describe(
        `e.g. "what is the man riding?"; at most ${MAX_QUESTION_CHARS} characters: letters, digits, spaces and ` +
          'ordinary punctuation. Words the model never saw are read as <unk> (listed in unknown_words).',
      ),
      top_k: numberField(TOP_K, DEFAULT_TOP_K).describe('answers to return, best first (at most the answers the model knows)'),
      model: modelField(models, defaultModel).describe('which VQA model answers'),
    })
    .strict();
}

export type VqaOptions = z.output<ReturnType<typeof vqaOptionsSchema>>;

/** What a VQA model is asked for besides the image and the question. */
export interface AnswerOptions {
  topK: number;
  /** A loaded model's name; the default model when absent. */
  model?: string;
}

export function toAnswerOptions(o: VqaOptions): AnswerOptions {
  return { topK: o.top_k, model: o.model };
}
