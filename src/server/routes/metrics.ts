import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Metrics } from '../metrics.js';
import { routeSchema } from '../openapi.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
}

const metricsSchema = routeSchema({
  summary: 'Prometheus metrics',
  tags: ['ops'],
  reply: { 'text/plain': z.string().describe('Prometheus text exposition format') },
  errors: false,
});

/** GET /metrics: Prometheus text exposition. */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics }) => {
  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
