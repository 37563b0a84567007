import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { toAnswerOptions, vqaOptionsSchema } from '../../vqa/question.js';
import { VqaReplySchema, type VqaReply } from '../../vqa/reply.js';
import type { VqaService } from '../../vqa/service.js';
import { imageLimits } from '../../app/config.js';
import { runInference, type RouteContext } from '../context.js';
import type { ModelRegistry } from '../models.js';
import { readImageRequest } from '../image-input.js';
import { imageRouteSchema } from '../openapi.js';

export interface VqaRouteOptions extends RouteContext {
  models: ModelRegistry;
  /** The VQA service at start: its model names build the options and docs (a reload keeps the same names). */
  vqa: VqaService;
}

/** POST /vqa: an image and a question in, ranked answers with probabilities out. */
export const vqaRoutes: FastifyPluginAsync<VqaRouteOptions> = async (app, ctx) => {
  const limits = imageLimits(ctx.config);
  const options = vqaOptionsSchema(ctx.vqa.modelNames, ctx.vqa.defaultModel);
  app.post('/vqa', { schema: vqaRouteSchema(ctx.vqa, options) }, async (req): Promise<VqaReply> => {
    const t0 = performance.now();
    const input = await readImageRequest(req, limits);
    const opts = options.parse(input.fields);
    // Held from here to the reply: a reload meanwhile disposes the old models only after this request.
    const lease = ctx.models.acquire('vqa');
    let result: Awaited<ReturnType<VqaService['answer']>>;
    try {
      result = await runInference(ctx, 'vqa', () => lease.service.answer(input.image, opts.question, toAnswerOptions(opts), limits), req);
    } finally {
      lease.release();
    }
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

function vqaRouteSchema(service: VqaService, options: z.ZodType) {
  const models = service.summaries().map((m) => `\`${m.name}\` (${m.arch}, ${m.answers} answers)`);
  return imageRouteSchema(
    {
      summary: 'Answer a question about an image',
      description:
        'Send multipart/form-data (file field `image`, text field `question`, options as fields) or JSON ' +
        '`{"image": "<base64>", "question": "...", ...options}`; a raw image/* body takes the question in the query string. ' +
        `Loaded models: ${models.join(', ')}; default \`${service.defaultModel}\`.`,
      tags: ['vqa'],
      reply: VqaReplySchema,
    },
    options,
  );
}
