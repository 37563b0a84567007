import { randomInt } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { DEFAULT_GENERATE, type Caption, type GenerateOptions } from '../../caption/generate.js';
import type { CaptionService } from '../../caption/service.js';
import { imageLimits, runInference, type RouteContext } from '../context.js';
import { enumField, numberDoc, numberField, type NumberRule } from '../fields.js';
import { readImageRequest } from '../image-input.js';
import { errorResponses, imageBodyDoc } from '../openapi.js';

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

export interface CaptionReply {
  captions: Caption[];
  model: { name: string; version: string };
  backend: string;
  /** Only in sample mode: the seed used, to reproduce the same captions. */
  seed?: number;
  timings_ms: { decode_image: number; encode: number; generate: number; total: number };
}

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

// ---- OpenAPI documentation (fastify does not validate with these; zod does) ----

const optionDocs: Record<string, unknown> = {
  mode: { type: 'string', enum: MODES, default: DEFAULT_GENERATE.mode, description: 'beam search, greedy decoding or sampling' },
  beam_size: numberDoc(RULES.beam_size, 'beam width (beam mode)', DEFAULT_GENERATE.beamSize),
  n: numberDoc(RULES.n, 'captions to return; ≤ beam_size in beam mode, 1 in greedy mode', DEFAULT_GENERATE.n),
  max_length: numberDoc(RULES.max_length, 'most words per caption', DEFAULT_GENERATE.maxLength),
  temperature: numberDoc(RULES.temperature, 'softmax temperature (sample mode)', DEFAULT_GENERATE.temperature),
  seed: numberDoc(RULES.seed, 'PRNG seed (sample mode); random when absent, echoed in the reply'),
  length_penalty: numberDoc(RULES.length_penalty, 'rank by logprob / length^alpha (beam mode)', DEFAULT_GENERATE.lengthPenalty),
};

const captionReplyDoc = {
  type: 'object',
  required: ['captions', 'model', 'backend', 'timings_ms'],
  properties: {
    captions: {
      type: 'array',
      description: 'best first in beam mode',
      items: {
        type: 'object',
        properties: { text: { type: 'string' }, logprob: { type: 'number', description: 'sum of word log-probabilities' } },
      },
    },
    model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
    backend: { type: 'string' },
    seed: { type: 'integer', description: 'sample mode only' },
    timings_ms: {
      type: 'object',
      properties: {
        decode_image: { type: 'number' },
        encode: { type: 'number' },
        generate: { type: 'number' },
        total: { type: 'number', description: 'includes reading the body and waiting for a free slot' },
      },
    },
  },
};

const captionSchema = {
  summary: 'Caption an image',
  description:
    'Send the image as multipart/form-data (file field `image`, options as form fields), as a raw image/* body ' +
    '(options in the query string), or as JSON `{"image": "<base64>", ...options}`. Options may also be given in ' +
    'the query string with any body kind. Formats: JPEG, PNG, WebP, GIF (first frame), TIFF, HEIF/AVIF.',
  tags: ['caption'],
  querystring: { type: 'object', properties: optionDocs },
  body: imageBodyDoc(optionDocs),
  response: { 200: captionReplyDoc, ...errorResponses },
};
