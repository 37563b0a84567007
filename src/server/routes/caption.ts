import type { FastifyPluginAsync } from 'fastify';
import type { Caption } from '../../caption/generate.js';
import {
  CAPTION_MODES,
  CAPTION_RULES,
  CaptionOptionsSchema,
  DEFAULT_CAPTION_SEARCH as DEFAULTS,
  toCaptionSearchOptions,
} from '../../caption/options.js';
import type { CaptionService } from '../../caption/service.js';
import { imageLimits, runInference, type RouteContext } from '../context.js';
import { numberDoc } from '../fields.js';
import { readImageRequest } from '../image-input.js';
import { errorResponses, imageBodyDoc } from '../openapi.js';

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
    const opts = toCaptionSearchOptions(CaptionOptionsSchema.parse(input.fields));
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
  mode: { type: 'string', enum: CAPTION_MODES, default: DEFAULTS.mode, description: 'beam search, greedy decoding or sampling' },
  beam_size: numberDoc(CAPTION_RULES.beam_size, 'beam width (beam mode)', DEFAULTS.beamSize),
  n: numberDoc(CAPTION_RULES.n, 'captions to return; ≤ beam_size in beam mode, 1 in greedy mode', DEFAULTS.n),
  max_length: numberDoc(CAPTION_RULES.max_length, 'most words per caption', DEFAULTS.maxLength),
  temperature: numberDoc(CAPTION_RULES.temperature, 'softmax temperature (sample mode)', DEFAULTS.temperature),
  seed: numberDoc(CAPTION_RULES.seed, 'PRNG seed (sample mode); random when absent, echoed in the reply'),
  length_penalty: numberDoc(CAPTION_RULES.length_penalty, 'rank by logprob / length^alpha (beam mode)', DEFAULTS.lengthPenalty),
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
