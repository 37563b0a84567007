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
  return { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS };
}

/**
 * Run one model job under the shared concurrency limit, timed per task.
 * Throws QueueFullError (→ 503) when the queue is full.
 */
export async function runInference<T>(ctx: RouteContext, task: InferenceTask, job: () => Promise<T>): Promise<T> {
  try {
    return await ctx.limiter.run(() => ctx.metrics.timeInference(task, job));
  } catch (err) {
    if (err instanceof QueueFullError) ctx.metrics.rejected.inc({ task });
    throw err;
  }
}
