import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
}

/** GET /metrics: Prometheus text exposition. */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics }) => {
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['ops'], produces: ['text/plain'] } },
    async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
};
