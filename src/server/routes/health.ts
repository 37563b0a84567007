import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BackendSchema, routeSchema } from '../openapi.js';

export const ModelInfoSchema = z.object({ name: z.string(), version: z.string(), encoder: z.string().optional() }).strict();

export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const HealthReplySchema = z
  .object({
    status: z.literal('ok'),
    backend: BackendSchema,
    models: z.record(ModelInfoSchema).describe('loaded models by task: caption, generate, vqa/<name>'),
    uptime_s: z.number(),
  })
  .strict()
  .describe('alive, and what is loaded');

export type HealthReply = z.infer<typeof HealthReplySchema>;

export interface HealthRouteOptions {
  backend: string;
  /** Loaded models by task. */
  models: Readonly<Record<string, ModelInfo>>;
}

const healthSchema = routeSchema({ summary: 'Liveness and loaded models', tags: ['ops'], reply: HealthReplySchema, errors: false });

/** GET /health: liveness plus what is loaded; cheap, never touches a model. */
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, opts) => {
  const startedAt = performance.now();
  app.get('/health', { schema: healthSchema }, async (): Promise<HealthReply> => ({
    status: 'ok',
    backend: opts.backend,
    models: opts.models,
    uptime_s: Math.round((performance.now() - startedAt) / 100) / 10,
  }));
};
