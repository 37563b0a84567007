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
import { loadConfig } from '../src/app/config.js';
import { onStopSignals } from '../src/util/stop-signals.js';

cli({
  usage: 'npm run worker',
  summary: 'Caption the images of bulk jobs from the Redis queue until stopped (SIGTERM/SIGINT finish the tasks held).',
  example: 'REDIS_URL=redis://localhost:6379 INPUT_ROOT=/photos WORKER_BATCH=4 npm run worker',
  notes:
    'Configured by the environment, as the server is: REDIS_URL (required), INPUT_ROOT (for jobs of paths), WORKER_BATCH, ' +
    'WORKER_LOCK_MS, MODELS_DIR, TF_BACKEND, INFERENCE_RUNTIME, MAX_IMAGE_BYTES/PIXELS/ASPECT_RATIO.',
  options: {},
});

/** How long a worker whose parent died may take to finish the tasks it holds (longer: Redis is away, say). */
const PARENT_GONE_GRACE_MS = 10_000;

// Started by a parent with an IPC channel (caption:bulk): when the parent ends, however it ends, the channel
// closes and this worker stops too, rather than living on as an orphan. Its stderr was the parent's pipe, so
// the log goes nowhere now (and writing to the closed pipe would fail). Still loading, it holds nothing: it exits.
let parentGone: () => void = () => process.exit(0);
if (process.connected) {
  process.once('disconnect', () => {
    log.level = 'silent';
    parentGone();
  });
}

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

let stopping = false;
/** Finish the tasks held (results written), then exit; past `graceMs`, exit without them (their locks lapse and BullMQ retries them). */
function stop(why: Record<string, unknown>, graceMs?: number): void {
  if (stopping) return;
  stopping = true;
  log.info(why, 'worker stopping: finishing the tasks it holds');
  const closed = worker.close().then(
    () => true,
    (err: unknown) => {
      log.error({ err }, 'worker close failed');
      return false;
    },
  );
  const deadline =
    graceMs === undefined
      ? undefined
      : new Promise<false>((resolve) =>
          setTimeout(() => {
            log.warn({ grace_ms: graceMs }, 'worker stopping: gave up on the tasks it holds');
            resolve(false);
          }, graceMs).unref(),
        );
  void Promise.race(deadline ? [closed, deadline] : [closed]).then(async (ok) => {
    if (ok) service.dispose();
    // Exiting while ORT runs in the encoder thread aborts the process: let the thread end first (at once when idle).
    await closeEncoderThreads();
    process.exit(ok ? 0 : 1);
  });
}

// As the server: a second signal (a process group's, forwarded by npm) is ignored, a third gives up the held tasks.
onStopSignals({
  stop: (signal) => stop({ signal }),
  ignore: (signal) => log.warn({ signal }, `${signal} again while stopping: ignored (a third gives up the tasks held)`),
  force: (signal) => {
    log.warn({ signal }, `third stop signal (${signal}): exiting without the tasks held (BullMQ retries them)`);
    void closeEncoderThreads().then(() => process.exit(1));
  },
});

parentGone = () => stop({ reason: 'parent_gone' }, PARENT_GONE_GRACE_MS);
