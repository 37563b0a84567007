/**
 * A worker process for the fault tests: the project's task worker with the
 * stand-in captioner (the model's cost would only slow the tests). Prints
 * "ready" when it takes tasks. Env: REDIS_URL, MS_PER_IMAGE, WORKER_NAME, LOCK_MS, INPUT_ROOT (for jobs of paths).
 */
import { startTaskWorker } from '../../src/jobs/task-worker.js';
import { DEFAULT_LIMITS } from '../../src/image/decode.js';
import { standInCaptioner } from './helpers.js';

const worker = startTaskWorker({
  redisUrl: process.env.REDIS_URL!,
  captionMany: standInCaptioner(Number(process.env.MS_PER_IMAGE ?? '0')),
  limits: DEFAULT_LIMITS,
  batch: 4,
  lockMs: Number(process.env.LOCK_MS ?? '1000'),
  name: process.env.WORKER_NAME!,
  ...(process.env.INPUT_ROOT ? { inputRoot: process.env.INPUT_ROOT } : {}),
});
await worker.worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
