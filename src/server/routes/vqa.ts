import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { tokenizeWords } from '../../text/tokenize.js';
import type { Answer, VqaService } from '../../vqa/service.js';
import { imageLimits, runInference, type RouteContext } from '../context.js';
import { numberDoc, numberField, type NumberRule } from '../fields.js';
import { readImageRequest } from '../image-input.js';
import { errorResponses, imageBodyDoc } from '../openapi.js';

/** Longest question, in characters: far more than any training question. */
export const MAX_QUESTION_CHARS = 200;

/** Letters (any script), digits, spaces and ordinary punctuation. */
const QUESTION_CHARS = /^[\p{L}\p{M}\p{N} '",.?!;:()&/-]*$/u;

const RULES = { top_k: { min: 1, max: 20, integer: true } } satisfies Record<string, NumberRule>;
const DEFAULT_TOP_K = 3;

/** A question: bounded length, ordinary characters, at least one word. */
export const questionField = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .transform((s) => s.trim())
  .superRefine((s, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if ([...s].length > MAX_QUESTION_CHARS) return fail(`must be at most ${MAX_QUESTION_CHARS} characters; got ${[...s].length}`);
    if (!QUESTION_CHARS.test(s)) {
      const bad = [...new Set([...s].filter((c) => !QUESTION_CHARS.test(c)))].slice(0, 5);
      return fail(`may hold letters, digits, spaces and . , ? ! ; : ' " ( ) & / - only; got ${bad.map((c) => JSON.stringify(c)).join(' ')}`);
    }
    if (tokenizeWords(s).length === 0) fail('must contain at least one word');
  });

/** VQA options, snake_case as on the wire; `model` must name a loaded model. */
export function vqaOptionsSchema(models: readonly string[]) {
  return z
    .object({
      question: questionField,
      top_k: numberField(RULES.top_k, DEFAULT_TOP_K),
      model: z
        .string({ invalid_type_error: 'must be a string' })
        .refine((m) => models.includes(m), { message: `must be one of ${models.join(', ')}` })
        .optional(),
    })
    .strict();
}

export interface VqaReply {
  question: string;
  answers: Answer[];
  model: { name: string; version: string };
  backend: string;
  unknown_words: string[];
  timings_ms: { decode_image: number; encode: number; answer: number; total: number };
}

export interface VqaRouteOptions extends RouteContext {
  service: VqaService;
}

/** POST /vqa: an image and a question in, ranked answers with probabilities out. */
export const vqaRoutes: FastifyPluginAsync<VqaRouteOptions> = async (app, ctx) => {
  const limits = imageLimits(ctx.config);
  const schema = vqaOptionsSchema(ctx.service.modelNames);
  app.post('/vqa', { schema: vqaSchema(ctx.service.modelNames, ctx.service.defaultModel) }, async (req): Promise<VqaReply> => {
    const t0 = performance.now();
    const input = await readImageRequest(req, limits);
    const opts = schema.parse(input.fields);
    const result = await runInference(ctx, 'vqa', () =>
      ctx.service.answer(input.image, opts.question, { topK: opts.top_k, model: opts.model }, limits),
    );
    return {
      question: opts.question,
      answers: result.answers,
      model: result.model,
      backend: ctx.backend,
      unknown_words: result.unknown_words,
      timings_ms: { ...result.timings_ms, total: Math.round((performance.now() - t0) * 10) / 10 },
    };
  });
};

// ---- OpenAPI documentation (validation is zod's) ----

function vqaSchema(models: readonly string[], defaultModel: string) {
  const optionDocs: Record<string, unknown> = {
    question: { type: 'string', maxLength: MAX_QUESTION_CHARS, description: 'e.g. "what is the man riding?"; unknown words are read as <unk>' },
    top_k: numberDoc(RULES.top_k, 'answers to return, best first', DEFAULT_TOP_K),
    model: { type: 'string', enum: models, default: defaultModel, description: 'which VQA model answers' },
  };
  return {
    summary: 'Answer a question about an image',
    description:
      'Send multipart/form-data (file field `image`, text field `question`, options as fields) or JSON ' +
      '`{"image": "<base64>", "question": "...", ...options}`; a raw image/* body takes the question in the query string.',
    tags: ['vqa'],
    querystring: { type: 'object', properties: optionDocs },
    body: imageBodyDoc(optionDocs),
    response: {
      200: {
        type: 'object',
        required: ['answers', 'model', 'backend', 'timings_ms'],
        properties: {
          question: { type: 'string' },
          answers: {
            type: 'array',
            items: { type: 'object', properties: { answer: { type: 'string' }, score: { type: 'number', description: 'softmax probability' } } },
          },
          model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
          backend: { type: 'string' },
          unknown_words: { type: 'array', items: { type: 'string' }, description: 'question words the model never saw' },
          timings_ms: {
            type: 'object',
            properties: { decode_image: { type: 'number' }, encode: { type: 'number' }, answer: { type: 'number' }, total: { type: 'number' } },
          },
        },
      },
      ...errorResponses,
    },
  };
}
