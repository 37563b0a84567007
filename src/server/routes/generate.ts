import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CharOptionsSchema, toCharSampleOptions, type CharSampleOptions } from '../../char/options.js';
import {
  DoneEventSchema,
  GenerateReplySchema,
  TextEventSchema,
  type DoneEvent,
  type GenerateReply,
  type TextEvent,
} from '../../char/reply.js';
import type { CharService } from '../../char/service.js';
import { UnknownCharsError } from '../../char/vocab.js';
import { clientSignal, runInference, type RouteContext } from '../context.js';
import type { Lease, ModelRegistry } from '../models.js';
import { errorBody, ErrorBodySchema, HttpError, toHttpError } from '../errors.js';
import { jsonRouteSchema } from '../openapi.js';

/**
 * The JSON body: the char generation options, and whether to stream. Unknown
 * fields are refused so a typo ("topk") is not silently ignored.
 */
export const GenerateBodySchema = CharOptionsSchema.extend({
  stream: z
    .boolean({ invalid_type_error: 'must be true or false' })
    .default(false)
    .describe('reply as server-sent events: text events, then done'),
});

/** The stream's events: the char service's text and done events, or an error. */
export const StreamEventSchema = z
  .union([TextEventSchema, DoneEventSchema, ErrorBodySchema.describe('event: error')])
  .describe(
    'A `text` event per group of generated characters, then one `done` event; an `error` event if generation fails ' +
      'midway. Each `data:` line is one of these JSON objects.',
  );

export interface GenerateRouteOptions extends RouteContext {
  models: ModelRegistry;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The JSON body as an object: no body means all defaults; any other content
 * type is refused, multipart included (its parser leaves the body unset, so
 * it would otherwise pass for "no body").
 */
function bodyObject(body: unknown, contentType: string | undefined): unknown {
  if (contentType !== undefined && !/^application\/json\b/i.test(contentType)) {
    throw new HttpError(415, 'unsupported_media_type', 'send the options as application/json');
  }
  return body ?? {};
}

/** Options in the query string would be silently ignored (found by the fuzz test): refused like unknown fields. */
function refuseQuery(query: unknown): void {
  const keys = typeof query === 'object' && query !== null ? Object.keys(query) : [];
  if (keys.length > 0) {
    throw new HttpError(400, 'invalid_request', `options go in the JSON body, not the query string; got ${keys.join(', ')}`);
  }
}

function checkPrime(service: CharService, prime: string): void {
  try {
    service.checkPrime(prime);
  } catch (err) {
    if (err instanceof UnknownCharsError) throw new HttpError(400, 'unknown_characters', `prime: ${err.message}`);
    throw err;
  }
}

/**
 * Take an inference slot for as long as a stream lasts: resolves with the
 * function that frees it (idempotent), or rejects at once (QueueFullError →
 * 503) or when the client leaves the queue (ClientGoneError). The slot is also
 * freed when the client hangs up mid-stream: `signal` was armed when the
 * request arrived, so its abort cannot have been missed while it waited.
 */
function holdSlot(ctx: RouteContext, req: FastifyRequest): Promise<() => void> {
  const signal = clientSignal(req);
  return new Promise((resolve, reject) => {
    runInference(
      ctx,
      'generate',
      () =>
        new Promise<void>((release) => {
          let released = false;
          const free = () => {
            if (!released) {
              released = true;
              signal?.removeEventListener('abort', free);
              release();
            }
          };
          signal?.addEventListener('abort', free, { once: true });
          if (signal?.aborted) free();
          resolve(free);
        }),
      req,
    ).catch(reject);
  });
}

interface StreamEvents {
  text: TextEvent;
  done: DoneEvent;
  error: z.infer<typeof ErrorBodySchema>;
}
const sse = <E extends keyof StreamEvents>(event: E, data: StreamEvents[E]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Server-sent events: `text` events ({text, steps?}) as characters are
 * generated, then one `done` event ({model, backend, seed, timings_ms}), or an
 * `error` event ({error: {code, message}}) if generation fails midway.
 */
function streamReply(
  reply: FastifyReply,
  backend: string,
  lease: Lease<CharService>,
  opts: CharSampleOptions,
  release: () => void,
  t0: number,
): FastifyReply {
  const service = lease.service;
  // The lease ends with the generator (its finally); a stream destroyed before
  // its first read never runs that, so the close of the reply ends it then.
  let started = false;
  reply.raw.once('close', () => {
    if (!started) lease.release();
  });
  async function* events(): AsyncGenerator<string> {
    started = true;
    const tGen = performance.now();
    try {
      for await (const group of service.stream(opts)) {
        const text = group.map((s) => s.char).join('');
        yield sse('text', opts.candidates ? { text, steps: group } : { text });
      }
      const now = performance.now();
      yield sse('done', {
        model: service.info,
        backend,
        seed: opts.seed,
        timings_ms: { generate: round(now - tGen), total: round(now - t0) },
      });
    } catch (err) {
      reply.log.error({ err }, 'generation failed mid-stream');
      yield sse('error', errorBody(toHttpError(err)));
    } finally {
      release();
      lease.release();
    }
  }
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(Readable.from(events()));
}

/** POST /generate: continue a prime with the char-level language model. */
export const generateRoutes: FastifyPluginAsync<GenerateRouteOptions> = async (app, ctx) => {
  app.post('/generate', { schema: generateSchema }, async (req, reply): Promise<GenerateReply | FastifyReply> => {
    const t0 = performance.now();
    refuseQuery(req.query);
    const wire = GenerateBodySchema.parse(bodyObject(req.body, req.headers['content-type']));
    const opts = toCharSampleOptions(wire);
    // Held to the end of the reply (of the stream): a reload meanwhile disposes
    // the old model only after this request, and the prime is checked against
    // the vocabulary of the model that generates.
    const lease = ctx.models.acquire('generate');
    let streaming = false;
    try {
      checkPrime(lease.service, opts.prime);
      if (wire.stream) {
        const release = await holdSlot(ctx, req);
        streaming = true;
        return streamReply(reply, ctx.backend, lease, opts, release, t0);
      }
      const result = await runInference(ctx, 'generate', () => lease.service.generate(opts), req);
      return {
        text: result.text,
        model: result.model,
        backend: ctx.backend,
        seed: opts.seed,
        ...(result.steps ? { steps: result.steps } : {}),
        timings_ms: { generate: result.timings_ms.generate, total: round(performance.now() - t0) },
      };
    } finally {
      if (!streaming) lease.release();
    }
  });
};

const generateSchema = jsonRouteSchema(
  {
    summary: 'Generate text with the char-level LSTM',
    description:
      'JSON body with the options below (an empty body: all defaults). With `stream: true` the reply is ' +
      '`text/event-stream`: `text` events (`{"text": "..."}`) as characters are generated, then a `done` event with ' +
      'model, backend, seed and timings.',
    tags: ['generate'],
    reply: { 'application/json': GenerateReplySchema, 'text/event-stream': StreamEventSchema },
  },
  GenerateBodySchema,
);
