import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../errors.js';
import { describeModels, ReloadError, type ModelRegistry } from '../models.js';
import { routeSchema } from '../openapi.js';
import { ModelInfoSchema } from './health.js';

export const ReloadReplySchema = z
  .object({
    status: z.literal('reloaded'),
    generation: z.number().int().describe('how many model sets this process has loaded, the first included'),
    models: z.record(ModelInfoSchema).describe('the models now served, by task'),
    ms: z.number().describe('time to load the new models'),
  })
  .strict()
  .describe('the models were loaded anew from MODELS_DIR and swapped in; requests already running finished on the old ones');

export type ReloadReply = z.infer<typeof ReloadReplySchema>;

export interface AdminRouteOptions {
  /** The bearer token (ADMIN_TOKEN); without one, buildApp does not register these routes at all (404). */
  token: string;
  models: ModelRegistry;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether the request carries `Authorization: Bearer <token>`; compared in constant time (as digests, so lengths match). */
export function hasToken(req: FastifyRequest, token: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' ? /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim())?.[1] : undefined;
  return given !== undefined && timingSafeEqual(sha256(given), sha256(token));
}

const reloadSchema = routeSchema({
  summary: 'Reload the models from disk (Authorization: Bearer ADMIN_TOKEN; absent, 404, when ADMIN_TOKEN is unset)',
  description:
    'Loads every model under MODELS_DIR anew and swaps them in; requests already running finish on the old models, ' +
    'which are disposed after. 401 without the token; 500 `reload_failed` (the old models stay) when a file is ' +
    'corrupt or the set of models differs from the one served (adding or removing a model needs a restart).',
  tags: ['ops'],
  reply: ReloadReplySchema,
});

/** POST /admin/reload, behind the bearer token. */
export const adminRoutes: FastifyPluginAsync<AdminRouteOptions> = async (app, { token, models }) => {
  app.post('/admin/reload', { schema: reloadSchema }, async (req): Promise<ReloadReply> => {
    if (!hasToken(req, token)) {
      throw new HttpError(401, 'unauthorized', 'send the admin token as Authorization: Bearer <ADMIN_TOKEN>', {
        'www-authenticate': 'Bearer realm="captioner-admin"',
      });
    }
    req.log.info('reloading models');
    try {
      const { generation, ms } = await models.reload();
      const now = describeModels(models.services);
      req.log.info({ generation, ms, models: now }, 'models reloaded');
      return { status: 'reloaded', generation, models: now, ms };
    } catch (err) {
      if (err instanceof ReloadError) throw new HttpError(500, 'reload_failed', err.message);
      throw err;
    }
  });
};
