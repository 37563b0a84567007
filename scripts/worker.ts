/**
 * A bulk-job worker: loads the caption models once, then captions tasks from
 * the Redis queue (REDIS_URL) until SIGTERM/SIGINT, when it finishes the tasks
 * it holds and exits 0. Run as many as you like, on any hosts.
 *
 *   REDIS_URL=redis://localhost:6379 INPUT_ROOT=/photos npm run worker
 */
import { cli } from '../src/cli/main.js';
import { closeEncoderThreads } from '../src/encoder/thread.js';
import { workerFromConfig, loadWorkerService } from '../src/jobs/worker.js';
import { log } from '../src/log.js';
import { loadConfig } from '../src/server/config.js';

cli({
  usage: 'npm run worker',
  summary: 'Caption the images of bulk jobs from the Redis queue until stopped (SIGTERM/SIGINT finish the tasks held).',
  example: 'REDIS_URL=redis://localhost:6379 INPUT_ROOT=/photos WORKER_BATCH=4 npm run worker',
  notes:
    'Configured by the environment, as the server is: REDIS_URL (required), INPUT_ROOT (for jobs of paths), WORKER_BATCH, ' +
    'WORKER_LOCK_MS, MODELS_DIR, TF_BACKEND, INFERENCE_RUNTIME, MAX_IMAGE_BYTES/PIXELS/ASPECT_RATIO.',
  options: {},
});

const config = loadConfig();
if (!config.REDIS_URL) throw new Error('REDIS_URL is not set; a worker takes its tasks from Redis (e.g. REDIS_URL=redis://localhost:6379)');
log.level = config.LOG_LEVEL;
const t0 = performance.now();
const service = await loadWorkerService(config);
const worker = workerFromConfig(config, service);
log.info(
  { worker: worker.name, model: service.model.name, batch: config.WORKER_BATCH, load_ms: Math.round(performance.now() - t0) },
  'worker ready',
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'worker stopping: finishing the tasks it holds');
    worker.close().then(
      async () => {
        service.dispose();
        // Exiting while ORT runs in the encoder thread aborts the process: let the thread end first.
        await closeEncoderThreads();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'worker close failed');
        process.exit(1);
      },
    );
  });
}
