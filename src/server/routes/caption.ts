import { randomInt } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { DEFAULT_GENERATE, type GenerateOptions } from '../../caption/generate.js';
import type { CaptionService } from '../../caption/service.js';
import { imageLimits, runInference, type RouteContext } from '../context.js';
import { enumField, numberField, type NumberRule } from '../fields.js';
import { readImageRequest } from '../image-input.js';
import { BackendSchema, imageRouteSchema, ModelRefSchema } from '../openapi.js';

const MODES = ['beam', 'greedy', 'sample'] as const;

const RULES = {
  beam_size: { min: 1, max: 10, integer: true },
  n: { min: 1, max: 10, integer: true },
  max_length: { min: 1, max: 50, integer: true },
  temperature: { min: 0, max: 5, exclusiveMin: true },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true }, // the sampler's PRNG state is 32-bit
  length_penalty: { min: 0, max: 2 },
} satisfies Record<string, NumberRule>;

/**
 * Caption options, snake_case as on the wire. Unknown fields are refused so a
 * typo ("beamsize") is not silently ignored. n > beam_size in beam mode and
 * n > 1 in greedy mode are refused (400) rather than clamped: the caller would
 * otherwise get fewer captions than asked for without knowing why.
 */
export const CaptionOptionsSchema = z
  .object({
    mode: enumField(MODES, DEFAULT_GENERATE.mode),
    beam_size: numberField(RULES.beam_size, DEFAULT_GENERATE.beamSize),
    n: numberField(RULES.n, DEFAULT_GENERATE.n),
    max_length: numberField(RULES.max_length, DEFAULT_GENERATE.maxLength),
    temperature: numberField(RULES.temperature, DEFAULT_GENERATE.temperature),
    seed: numberField(RULES.seed, undefined),
    length_penalty: numberField(RULES.length_penalty, DEFAULT_GENERATE.lengthPenalty),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.mode === 'beam' && o.n > o.beam_size) {
      ctx.addIssue({ code: 'custom', path: ['n'], message: `must be ≤ beam_size (${o.beam_size}) in beam mode; got ${o.n}` });
    }
    if (o.mode === 'greedy' && o.n !== 1) {
      ctx.addIssue({ code: 'custom', path: ['n'], message: `must be 1 in greedy mode; got ${o.n}` });
    }
  });

export type CaptionOptions = z.output<typeof CaptionOptionsSchema>;

/** Wire options → generator options; an absent seed is drawn at random so samples vary. */
export function toGenerateOptions(o: CaptionOptions): GenerateOptions {
  return {
    mode: o.mode,
    beamSize: o.beam_size,
    n: o.n,
    maxLength: o.max_length,
    temperature: o.temperature,
    seed: o.seed ?? randomInt(2 ** 32),
    lengthPenalty: o.length_penalty,
  };
}

export const CaptionReplySchema = z
  .object({
    captions: z
      .array(z.object({ text: z.string(), logprob: z.number().describe('sum of word log-probabilities') }).strict())
      .describe('best first in beam mode'),
    model: ModelRefSchema,
    backend: BackendSchema,
    seed: z.number().int().optional().describe('sample mode only: the seed used, to reproduce the same captions'),
    timings_ms: z
      .object({
        decode_image: z.number(),
        encode: z.number(),
        generate: z.number(),
        total: z.number().describe('includes reading the body and waiting for a free slot'),
      })
      .strict(),
  })
  .strict()
  .describe('n captions with their log-probabilities');

export type CaptionReply = z.infer<typeof CaptionReplySchema>;

export interface CaptionRouteOptions extends RouteContext {
  service: CaptionService;
}

/** POST /caption: one image in, n captions with their log-probabilities out. */
export const captionRoutes: FastifyPluginAsync<CaptionRouteOptions> = async (app, ctx) => {
  const limits = imageLimits(ctx.config);
  app.post('/caption', { schema: captionSchema }, async (req): Promise<CaptionReply> => {
    const t0 = performance.now();
    const input = await readImageRequest(req, limits);
    const opts = toGenerateOptions(CaptionOptionsSchema.parse(input.fields));
    const result = await runInference(ctx, 'caption', () => ctx.service.caption(input.image, opts, limits));
    return {
      captions: result.captions,
      model: result.model,
      backend: ctx.backend,
      ...(opts.mode === 'sample' ? { seed: opts.seed } : {}),
      timings_ms: { ...result.timings_ms, total: Math.round((performance.now() - t0) * 10) / 10 },
    };
  });
};

const captionSchema = imageRouteSchema(
  {
    summary: 'Caption an image',
    description:
      'Send the image as multipart/form-data (file field `image`, options as form fields), as a raw image/* body ' +
      '(options in the query string), or as JSON `{"image": "<base64>", ...options}`. Options may also be given in ' +
      'the query string with any body kind. Formats: JPEG, PNG, WebP, GIF (first frame), TIFF, HEIF/AVIF.',
    tags: ['caption'],
    reply: CaptionReplySchema,
  },
  CaptionOptionsSchema,
);
