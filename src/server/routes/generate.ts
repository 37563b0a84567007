import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  CHAR_RULES,
  CharOptionsSchema,
  DEFAULT_CHAR_SAMPLE as DEFAULTS,
  MAX_PRIME,
  toCharSampleOptions,
  type CharSampleOptions,
} from '../../char/options.js';
import type { SampleStep } from '../../char/sample.js';
import type { CharService } from '../../char/service.js';
import { UnknownCharsError } from '../../char/vocab.js';
import { runInference, type RouteContext } from '../context.js';
import { errorBody, HttpError, toHttpError } from '../errors.js';
import { numberDoc } from '../fields.js';
import { errorResponses } from '../openapi.js';

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

export interface GenerateReply {
  text: string;
  model: { name: string; version: string };
  backend: string;
  /** The seed used: send it back to get the same text. */
  seed: number;
  /** Only with candidates > 0: per generated character, the likeliest next characters. */
  steps?: SampleStep[];
  timings_ms: { generate: number; total: number };
}

export interface GenerateRouteOptions extends RouteContext {
  service: CharService;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The JSON body as an object: an absent body means all defaults; anything but JSON is refused. */
function bodyObject(body: unknown, contentType: string | undefined): unknown {
  if (body === undefined || body === null) return {};
  if (!/^application\/json\b/i.test(contentType ?? '')) {
    throw new HttpError(415, 'unsupported_media_type', 'send the options as application/json');
  }
  return body;
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
 * function that frees it (idempotent), or rejects (QueueFullError → 503) at once.
 */
function holdSlot(ctx: RouteContext): Promise<() => void> {
  return new Promise((resolve, reject) => {
    runInference(ctx, 'generate', () => new Promise<void>((release) => {
      let released = false;
      resolve(() => {
        if (!released) {
          released = true;
          release();
        }
      });
    })).catch(reject);
  });
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Server-sent events: `text` events ({text, steps?}) as characters are
 * generated, then one `done` event ({model, backend, seed, timings_ms}), or an
 * `error` event ({error: {code, message}}) if generation fails midway.
 */
function streamReply(
  reply: FastifyReply,
  ctx: GenerateRouteOptions,
  opts: CharSampleOptions,
  release: () => void,
  t0: number,
): FastifyReply {
  const { service, backend } = ctx;
  async function* events(): AsyncGenerator<string> {
    const tGen = performance.now();
    try {
      for await (const group of service.stream(opts)) {
        const text = group.map((s) => s.char).join('');
        yield sse('text', opts.candidates ? { text, steps: group } : { text });
      }
      const now = performance.now();
      yield sse('done', { model: service.info, backend, seed: opts.seed, timings_ms: { generate: round(now - tGen), total: round(now - t0) } });
    } catch (err) {
      reply.log.error({ err }, 'generation failed mid-stream');
      yield sse('error', errorBody(toHttpError(err)));
    } finally {
      release();
    }
  }
  reply.raw.once('close', release); // client gone before the stream began
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
    const wire = GenerateBodySchema.parse(bodyObject(req.body, req.headers['content-type']));
    const opts = toCharSampleOptions(wire);
    checkPrime(ctx.service, opts.prime);
    if (wire.stream) return streamReply(reply, ctx, opts, await holdSlot(ctx), t0);
    const result = await runInference(ctx, 'generate', () => ctx.service.generate(opts));
    return {
      text: result.text,
      model: result.model,
      backend: ctx.backend,
      seed: opts.seed,
      ...(result.steps ? { steps: result.steps } : {}),
      timings_ms: { generate: result.timings_ms.generate, total: round(performance.now() - t0) },
    };
  });
};

// ---- OpenAPI documentation (fastify does not validate with these; zod does) ----

const optionDocs: Record<string, unknown> = {
  prime: { type: 'string', maxLength: MAX_PRIME, default: '', description: "text to continue; every character must be in the model's vocabulary (else 400 unknown_characters)" },
  length: numberDoc(CHAR_RULES.length, 'characters to generate', DEFAULTS.length),
  temperature: numberDoc(CHAR_RULES.temperature, 'softmax temperature; 0 picks the most likely character', DEFAULTS.temperature),
  top_k: numberDoc(CHAR_RULES.top_k, 'sample among the k likeliest characters; 0: all', DEFAULTS.topK),
  seed: numberDoc(CHAR_RULES.seed, 'PRNG seed; the same seed and options give the same text; random when absent, echoed in the reply'),
  candidates: numberDoc(CHAR_RULES.candidates, 'also return, per generated character, this many likeliest characters with their probabilities', DEFAULTS.candidates),
  stream: { type: 'boolean', default: false, description: 'reply as server-sent events: text events, then done' },
};

const stepDoc = {
  type: 'object',
  properties: {
    char: { type: 'string' },
    top: { type: 'array', items: { type: 'object', properties: { char: { type: 'string' }, prob: { type: 'number', description: 'model probability (temperature 1, before top_k)' } } } },
  },
};

const generateReplyDoc = {
  type: 'object',
  required: ['text', 'model', 'backend', 'seed', 'timings_ms'],
  properties: {
    text: { type: 'string', description: 'the generated characters (the prime is not repeated)' },
    model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
    backend: { type: 'string' },
    seed: { type: 'integer' },
    steps: { type: 'array', items: stepDoc, description: 'only with candidates > 0' },
    timings_ms: {
      type: 'object',
      properties: { generate: { type: 'number' }, total: { type: 'number', description: 'includes waiting for a free slot' } },
    },
  },
};

const generateSchema = {
  summary: 'Generate text with the char-level LSTM',
  description:
    'JSON body with the options below. With `stream: true` the reply is `text/event-stream`: `text` events ' +
    '(`{"text": "..."}`) as characters are generated, then a `done` event with model, backend, seed and timings.',
  tags: ['generate'],
  body: { content: { 'application/json': { schema: { type: 'object', properties: optionDocs, additionalProperties: false } } } },
  response: { 200: generateReplyDoc, ...errorResponses },
};
