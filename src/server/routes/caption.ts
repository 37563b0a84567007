import type { FastifyPluginAsync } from 'fastify';
import { CaptionOptionsSchema, toCaptionSearchOptions } from '../../caption/options.js';
import { CaptionReplySchema, type CaptionReply } from '../../caption/reply.js';
import type { CaptionService } from '../../caption/service.js';
import { imageLimits } from '../../app/config.js';
import { runInference, type RouteContext } from '../context.js';
import type { ModelRegistry } from '../models.js';
import { readImageRequest } from '../image-input.js';
import { imageRouteSchema } from '../openapi.js';

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
