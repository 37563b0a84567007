import type { FastifyPluginAsync } from 'fastify';

export interface ModelInfo {
  name: string;
  version: string;
  encoder?: string;
}

export interface HealthRouteOptions {
  backend: string;
  /** Loaded models by task (caption, later vqa, generate). */
  models: Readonly<Record<string, ModelInfo>>;
}

const modelDoc = {
  type: 'object',
  properties: { name: { type: 'string' }, version: { type: 'string' }, encoder: { type: 'string' } },
};

/** GET /health: liveness plus what is loaded; cheap, never touches a model. */
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, opts) => {
  const startedAt = performance.now();
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and loaded models',
        tags: ['ops'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok'] },
              backend: { type: 'string' },
              models: { type: 'object', additionalProperties: modelDoc },
              uptime_s: { type: 'number' },
            },
          },
        },
      },
    },
    async () => ({
      status: 'ok' as const,
      backend: opts.backend,
      models: opts.models,
      uptime_s: Math.round((performance.now() - startedAt) / 100) / 10,
    }),
  );
};
