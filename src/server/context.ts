import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.js';
import type { ImageLimits } from '../image/decode.js';
import { QueueFullError, type Limiter } from './limiter.js';
import type { InferenceTask, Metrics } from './metrics.js';

/** What every route module gets from buildApp, besides its own service. */
export interface RouteContext {
  config: Config;
  /** The TensorFlow.js backend in use, reported in replies and /health. */
  backend: string;
  limiter: Limiter;
  metrics: Metrics;
}

export function imageLimits(config: Config): ImageLimits {
  return { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, maxAspectRatio: config.MAX_IMAGE_ASPECT_RATIO };
}

const clientSignals = new WeakMap<FastifyRequest, AbortSignal>();

/**
 * onRequest hook: from the start of each request, watch for the client
 * hanging up (the response closing before it was finished). Listening any
 * later could miss the event: it fires once, possibly while the request waits
 * for a slot.
 */
export async function watchClient(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  clientSignals.set(req, gone.signal);
}

/** Aborted when the client of `req` has hung up (never, for a request the hook did not see). */
export function clientSignal(req: FastifyRequest): AbortSignal | undefined {
  return clientSignals.get(req);
}

/**
 * Run one model job under the shared concurrency limit, timed per task.
 * Throws QueueFullError (→ 503) when the queue is full, and ClientGoneError,
 * without running the job, when the client of `req` hung up while it waited.
 */
export async function runInference<T>(ctx: RouteContext, task: InferenceTask, job: () => Promise<T>, req?: FastifyRequest): Promise<T> {
  try {
    return await ctx.limiter.run(() => ctx.metrics.timeInference(task, job), req && clientSignal(req));
  } catch (err) {
    if (err instanceof QueueFullError) ctx.metrics.rejected.inc({ task });
    throw err;
  }
}
