import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { ErrorBodySchema } from './errors.js';

/**
 * Route schemas for the OpenAPI document, generated from the zod schemas the
 * routes validate with and type their replies by: nothing here restates a field.
 * Fastify does not validate with them (app.ts): image routes read their options
 * from the query string, form fields or JSON alike, so the handlers parse them.
 */

type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema (OpenAPI 3.0 dialect) of a zod schema. Transforms and
 * refinements are documented by their input; pipes by their output: the
 * option fields (fields.ts) pipe a checking transform into their rule.
 */
export function openApiSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...json } = zodToJsonSchema(schema, {
    target: 'openApi3',
    $refStrategy: 'none', // a shared piece (model {name, version}) is inlined, not a $ref swagger-ui cannot follow
    effectStrategy: 'input',
    pipeStrategy: 'output',
  });
  return withoutTuples(json) as JsonSchema;
}

/**
 * OpenAPI 3.0 has no tuples (`items` is one schema, not a list): a tuple of like items (a box's
 * four numbers) becomes an array of that item with its minItems/maxItems, which zod-to-json-schema
 * already writes. A tuple of unlike items keeps the first item's schema, loosened to anyOf.
 */
export function withoutTuples(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutTuples);
  if (typeof node !== 'object' || node === null) return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withoutTuples(v)]));
  if (Array.isArray(out.items)) {
    const items = out.items as unknown[];
    const same = items.every((i) => JSON.stringify(i) === JSON.stringify(items[0]));
    out.items = same ? items[0] : { anyOf: items };
  }
  return out;
}

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: readonly string[];
  /** The 200 reply: one schema (application/json), or one per media type. */
  reply: z.ZodType | Readonly<Record<string, z.ZodType>>;
  /** Whether the route answers with the error shape (4xx, 5xx); true unless said. */
  errors?: boolean;
}

const errorResponses = () => ({
  '4xx': { ...openApiSchema(ErrorBodySchema), description: 'the request was refused (400, 404, 413, 415, 422)' },
  '5xx': { ...openApiSchema(ErrorBodySchema), description: '503 with Retry-After when the queue is full; 500 on an internal error' },
});

function response(reply: RouteDoc['reply']): JsonSchema {
  if (reply instanceof z.ZodType) return { description: 'OK', ...openApiSchema(reply) };
  const content = Object.fromEntries(Object.entries(reply).map(([type, s]) => [type, { schema: openApiSchema(s) }]));
  const description = Object.values(reply).find((s) => s.description)?.description ?? 'OK';
  return { description, content };
}

/** A route without a request body (GET). */
export function routeSchema(doc: RouteDoc): JsonSchema {
  const { reply, errors = true, ...rest } = doc;
  return { ...rest, response: { 200: response(reply), ...(errors ? errorResponses() : {}) } };
}

/** A route whose options are one JSON body. */
export function jsonRouteSchema(doc: RouteDoc, options: z.ZodType): JsonSchema {
  return { ...routeSchema(doc), body: { content: { 'application/json': { schema: openApiSchema(options) } } } };
}

/**
 * An image route: multipart (file field `image`), a raw image/* body, or JSON
 * with the image as base64; options as fields of the body or in the query string.
 * The image itself is read by image-input.ts, not by zod.
 */
export function imageRouteSchema(doc: RouteDoc, options: z.ZodType): JsonSchema {
  const json = openApiSchema(options);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = (json.required ?? []) as string[];
  const withImage = (image: JsonSchema) => ({ ...json, required: ['image', ...required], properties: { image, ...properties } });
  return {
    ...routeSchema(doc),
    // Required fields are not required in the query: they may come in the body instead.
    querystring: { type: 'object', properties },
    body: {
      content: {
        'multipart/form-data': { schema: withImage({ type: 'string', format: 'binary' }) },
        'image/*': { schema: { type: 'string', format: 'binary', description: 'the image bytes; options in the query string' } },
        'application/json': {
          schema: withImage({
            type: 'string',
            format: 'byte',
            description: 'base64 (a data: URL prefix is allowed); URLs are not fetched',
          }),
        },
      },
    },
  };
}

const API_DESCRIPTION = [
  'Three models trained by this project, each behind one route:',
  '',
  '- **POST /caption**: an image in, captions out (CNN features + LSTM decoder; beam search, greedy or sampling).',
  '- **POST /vqa**: an image and a question in, ranked answers out (VQA models such as flickr8k-qa and easy-vqa;',
  '  the `model` option lists those loaded).',
  '- **POST /generate**: text continued by a char-level LSTM, as JSON or streamed as server-sent events.',
  '- **POST /jobs**: a bulk captioning job (uploads or paths under INPUT_ROOT) for the workers; GET /jobs/{id}, its results as',
  '  JSON lines, DELETE to cancel. Needs REDIS_URL.',
  '',
  'Routes of a model that is not loaded answer 404. GET /health lists the loaded models; GET /metrics is for Prometheus.',
  'Errors are always `{"error": {"code", "message"}}`.',
].join('\n');

/** OpenAPI document at GET /openapi.json, swagger-ui at /docs. Register before the routes. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'captioner', version: '0.1.0', description: API_DESCRIPTION },
      tags: [
        { name: 'caption', description: 'image captioning' },
        { name: 'vqa', description: 'visual question answering' },
        { name: 'generate', description: 'char-level text generation' },
        { name: 'jobs', description: 'bulk captioning through the Redis queue (REDIS_URL) and `npm run worker` processes' },
        { name: 'ops', description: 'health and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
