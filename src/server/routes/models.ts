import type { FastifyPluginAsync } from 'fastify';
import type { ServiceSet } from '../../app/services.js';
import type { ModelRegistry } from '../models.js';
import { routeSchema } from '../openapi.js';
import { ModelsReplySchema, type ModelCard, type ModelsReply } from '../replies.js';

export interface ModelsRouteOptions {
  models: ModelRegistry;
}

/** The cards of the loaded models, from the configs the services already hold (no file is read). */
export function modelCards(opts: ServiceSet): ModelCard[] {
  const cards: ModelCard[] = [];
  const metrics = (m: Record<string, unknown> | undefined) => (m ? { metrics: m } : {});
  if (opts.caption) {
    const c = opts.caption.model;
    cards.push({
      task: 'caption',
      name: c.name,
      version: c.version,
      kind: c.kind,
      encoder: c.encoder,
      vocab_size: c.vocabSize,
      ...metrics(c.metrics),
    });
  }
  for (const [name, c] of opts.vqa?.configs() ?? []) {
    cards.push({
      task: 'vqa',
      name,
      version: c.version,
      kind: c.kind,
      encoder: c.encoder,
      vocab_size: c.questionVocab.length,
      answers: c.answers.length,
      ...metrics(c.metrics),
    });
  }
  if (opts.generate) {
    const c = opts.generate.model.config;
    cards.push({ task: 'generate', name: c.name, version: c.version, kind: c.kind, vocab_size: c.vocab.length, ...metrics(c.metrics) });
  }
  return cards;
}

const modelsSchema = routeSchema({
  summary: 'Loaded models and their card scores',
  tags: ['ops'],
  reply: ModelsReplySchema,
  errors: false,
});

/** GET /models: the models served now (a reload changes them). */
export const modelsRoutes: FastifyPluginAsync<ModelsRouteOptions> = async (app, { models }) => {
  app.get('/models', { schema: modelsSchema }, async (): Promise<ModelsReply> => ({ models: modelCards(models.services) }));
};
