import { imageLimits, type Config } from '../app/config.js';
import { startInference } from '../app/runtime.js';
import { loadCaptionService } from '../app/services.js';
import type { CaptionService } from '../caption/service.js';
import { startTaskWorker, type TaskWorker } from './task-worker.js';

/** The caption service as the server loads it: same backend ladder, same runtime choice, same models, same batching. */
export async function loadWorkerService(config: Config): Promise<CaptionService> {
  const { runtime } = await startInference(config);
  return loadCaptionService(config, runtime);
}

/** startTaskWorker with the settings of the environment (REDIS_URL, INPUT_ROOT, WORKER_BATCH, WORKER_LOCK_MS, limits). */
export function workerFromConfig(config: Config, service: CaptionService, name?: string): TaskWorker {
  if (!config.REDIS_URL)
    throw new Error('REDIS_URL is not set; a worker takes its tasks from Redis (e.g. REDIS_URL=redis://localhost:6379)');
  const limits = imageLimits(config);
  return startTaskWorker({
    redisUrl: config.REDIS_URL,
    captionMany: (images, opts) => service.captionMany(images, opts, limits),
    limits,
    ...(config.INPUT_ROOT ? { inputRoot: config.INPUT_ROOT } : {}),
    batch: config.WORKER_BATCH,
    lockMs: config.WORKER_LOCK_MS,
    ...(name ? { name } : {}),
  });
}
