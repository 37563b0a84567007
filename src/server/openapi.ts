import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Shared pieces of the route schemas. They document the API; requests are validated with zod. */

export const errorDoc = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable machine-readable code, e.g. invalid_request, unsupported_image' },
        message: { type: 'string', description: 'what was wrong, for people' },
      },
    },
  },
};

export const errorResponses = {
  '4xx': { description: 'the request was refused (400, 404, 413, 415, 422)', ...errorDoc },
  '5xx': { description: '503 with Retry-After when the queue is full; 500 on an internal error', ...errorDoc },
};

/** Request body of an image route: multipart, raw image/* or JSON with base64. */
export function imageBodyDoc(optionDocs: Record<string, unknown>) {
  return {
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['image'],
          properties: { image: { type: 'string', format: 'binary' }, ...optionDocs },
        },
      },
      'image/*': { schema: { type: 'string', format: 'binary' } },
      'application/json': {
        schema: {
          type: 'object',
          required: ['image'],
          properties: {
            image: { type: 'string', format: 'byte', description: 'base64 (a data: URL prefix is allowed); URLs are not fetched' },
            ...optionDocs,
          },
        },
      },
    },
  };
}

/** OpenAPI document at GET /openapi.json, swagger-ui at /docs. Register before the routes. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'captioner',
        version: '0.1.0',
        description: 'Image captioning with models trained by this project. Errors are always {"error": {"code", "message"}}.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
