import type { CaptionService } from '../caption/service.js';
import { loadCaptionService } from '../server/models.js';
import { initBackend } from '../nn/backend.js';
import { chooseRuntime } from '../onnx/runtime.js';
import type { Config } from '../server/config.js';
import { imageLimits } from '../server/context.js';
import { startTaskWorker, type TaskWorker } from './task-worker.js';

/** The caption service as the server loads it: same backend ladder, same runtime choice, same models, same batching. */
export async function loadWorkerService(config: Config): Promise<CaptionService> {
  await initBackend(config.TF_BACKEND);
  return loadCaptionService(config, await chooseRuntime(config.INFERENCE_RUNTIME));
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
