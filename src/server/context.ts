import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../app/config.js';
import { requestScope, type BatchStage } from '../batching/batcher.js';
import { ClientGoneError, QueueFullError } from '../batching/errors.js';
import type { Limiter } from './limiter.js';
import type { InferenceTask, Metrics } from './metrics.js';

/** What every route module gets from buildApp, besides its own service. */
export interface RouteContext {
  config: Config;
  /** The TensorFlow.js backend in use, reported in replies and /health. */
  backend: string;
  limiter: Limiter;
  metrics: Metrics;
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
 * Throws QueueFullError (→ 503) when the limiter's or the batcher's queue is
 * full, and ClientGoneError, without running the job (or its share of a batch),
 * when the client of `req` hung up while it waited.
 */
export async function runInference<T>(ctx: RouteContext, task: InferenceTask, job: () => Promise<T>, req?: FastifyRequest): Promise<T> {
  const signal = req && clientSignal(req);
  let batched = false;
  let refused = false;
  // The scope reaches a batching encoder (src/encoder/batched.ts) inside the job.
  const scope = {
    signal,
    onBatch: (size: number, stage: BatchStage) => {
      if (stage === 'decoder') return ctx.metrics.decoderBatchSize.observe({ task }, size);
      batched = true;
      ctx.metrics.batchSize.observe({ task }, size);
    },
  };
  try {
    return await ctx.limiter.run(
      () =>
        requestScope.run(scope, async () => {
          try {
            return await ctx.metrics.timeInference(task, job);
          } catch (err) {
            refused = err instanceof QueueFullError || err instanceof ClientGoneError; // by the batcher: never computed
            throw err;
          } finally {
            if (!batched && !refused) ctx.metrics.batchSize.observe({ task }, 1); // computed alone
          }
        }),
      signal,
    );
  } catch (err) {
    if (err instanceof QueueFullError) ctx.metrics.rejected.inc({ task });
    throw err;
  }
}
