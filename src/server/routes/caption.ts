import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { CaptionOptionsSchema, toCaptionSearchOptions } from '../../caption/options.js';
import type { CaptionService } from '../../caption/service.js';
import { imageLimits } from '../../app/config.js';
import { runInference, type RouteContext } from '../context.js';
import type { ModelRegistry } from '../models.js';
import { readImageRequest } from '../image-input.js';
import { BackendSchema, imageRouteSchema, ModelRefSchema } from '../openapi.js';

const BoxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('x, y, width, height as fractions of the image');

export const CaptionReplySchema = z
  .object({
    captions: z
      .array(
        z
          .object({
            text: z.string(),
            logprob: z.number().describe('sum of word log-probabilities'),
            words: z
              .array(
                z
                  .object({
                    text: z.string(),
                    object: z.number().int().optional().describe('index into `objects` of the detected object this word names'),
                  })
                  .strict(),
              )
              .describe('the caption word by word (joined by spaces they give `text`)'),
          })
          .strict(),
      )
      .describe('best first in beam mode'),
    objects: z
      .array(
        z
          .object({
            label: z.string().describe('COCO class'),
            score: z.number().describe("the detector's best score for this class"),
            count: z.number().int().describe('instances found'),
            box: BoxSchema.describe("the best instance's box"),
            boxes: z.array(BoxSchema).describe('the box of each instance counted (score ≥ 0.3), best first'),
          })
          .strict(),
      )
      .describe('objects CenterNet detected (score ≥ 0.3, or named by a caption), one entry per class, best first'),
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
  .describe('n captions with their log-probabilities, and the objects their words name');

export type CaptionReply = z.infer<typeof CaptionReplySchema>;

export interface CaptionRouteOptions extends RouteContext {
  models: ModelRegistry;
}

/** POST /caption: one image in, n captions with their log-probabilities out. */
export const captionRoutes: FastifyPluginAsync<CaptionRouteOptions> = async (app, ctx) => {
  const limits = imageLimits(ctx.config);
  app.post('/caption', { schema: captionSchema }, async (req): Promise<CaptionReply> => {
    const t0 = performance.now();
    const input = await readImageRequest(req, limits);
    const opts = toCaptionSearchOptions(CaptionOptionsSchema.parse(input.fields));
    // Held from here to the reply: a reload meanwhile disposes the old model only after this request.
    const lease = ctx.models.acquire('caption');
    let result: Awaited<ReturnType<CaptionService['caption']>>;
    try {
      result = await runInference(ctx, 'caption', () => lease.service.caption(input.image, opts, limits), req);
    } finally {
      lease.release();
    }
    return {
      captions: result.captions,
      objects: result.objects,
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
