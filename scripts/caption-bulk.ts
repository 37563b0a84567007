/**
 * Caption a folder through the bulk-job queue: submits every image under
 * --images as one job to Redis, starts --workers worker processes here (others
 * may join from any host with the same INPUT_ROOT), shows progress, and writes
 * the results as JSON lines. Ctrl-C cancels the job.
 *
 *   npm run caption:bulk -- --images photos/ --out results.jsonl --workers 2
 */
import path from 'node:path';
import { CaptionOptionsObject, CaptionOptionsSchema } from '../src/caption/options.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { pickValues, schemaOptions } from '../src/cli/schema-options.js';
import { heldTasks, JobLostError, ResultsFile, spawnWorkers, waitForJob, type WorkerDeath } from '../src/jobs/local.js';
import { JobsClient } from '../src/app/jobs/producer.js';
import type { JobStatus } from '../src/app/jobs/schemas.js';
import { log } from '../src/log.js';

const search = schemaOptions(CaptionOptionsObject);
const args = cli({
  usage: 'npm run caption:bulk --',
  summary: 'Caption every image in a folder through the Redis job queue, with worker processes on this host; results as JSON lines.',
  example: 'REDIS_URL=redis://localhost:6379 npm run caption:bulk -- --images photos/ --out results.jsonl --workers 2',
  notes:
    'Needs a Redis (--redis or REDIS_URL). Workers started elsewhere (npm run worker) help when their INPUT_ROOT is the same folder. ' +
    'Each line: {"name", "index", "ok", captions, objects, model, timings_ms, worker} or {"name", "index", "ok": false, "error"}, ' +
    'appended as it lands. While Redis is away the command waits for it; a job Redis lost (restarted without persistence) ends it with exit 1.',
  options: {
    images: { type: 'string', required: true, placeholder: 'dir', description: 'folder of images (walked into subfolders)' },
    out: { type: 'string', required: true, output: 'file', description: 'results, one JSON line per image' },
    workers: { type: 'number', int: true, min: 0, max: 64, default: 1, description: 'worker processes to start here (0: rely on others)' },
    batch: { type: 'number', int: true, min: 1, max: 64, default: 4, description: 'tasks each worker captions together (WORKER_BATCH)' },
    'lock-ms': {
      type: 'number',
      int: true,
      min: 500,
      max: 600_000,
      default: Number(process.env.WORKER_LOCK_MS) || 30_000,
      description: "workers' lock on held tasks (WORKER_LOCK_MS): a dead worker's tasks are retried within about twice this",
    },
    redis: { type: 'string', default: process.env.REDIS_URL ?? '', placeholder: 'url', description: 'Redis URL (default: REDIS_URL)' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder of the workers started here' },
    ...search.options,
  },
  defaults: search.defaults,
});
if (!args.redis) throw new Error('no Redis: pass --redis redis://host:6379 or set REDIS_URL (e.g. `redis-server --port 6379` locally)');
const options = CaptionOptionsSchema.parse(pickValues(args, Object.keys(search.options)));
const root = path.resolve(args.images);
const lockMs = args['lock-ms'];

// This command waits out a Redis outage (its connection retries with backoff) rather than failing the job.
const client = JobsClient.connect(
  args.redis,
  {
    maxImages: 1_000_000,
    maxUploadBytes: 0, // paths only: nothing is uploaded
    ttlS: 7 * 86_400,
    attempts: 3,
    inputRoot: root,
  },
  { failFast: false },
);
const results = await ResultsFile.create(args.out);

/** A worker started here died: say what it held and when BullMQ's stalled-job check gives those tasks to another. */
async function reportDeath(d: WorkerDeath): Promise<void> {
  const left = workers.alive();
  const held = await heldTasks(client, d.name, lockMs).catch(() => undefined);
  const what = `worker ${d.index} (pid ${d.pid}) died (${d.signal ?? `exit ${d.code}`})`;
  const tasks =
    held === undefined || held.tasks === 0
      ? 'it held no tasks'
      : `${held.tasks} tasks held by a dead worker, ${left > 0 ? `retried in ~${held.retryInS} s (BullMQ's stalled-job check)` : 'retried once a worker runs'}`;
  log.warn({ worker: d.name, held_tasks: held?.tasks, retry_in_s: held?.retryInS, last_log: d.lastLog }, `${what}: ${tasks}`);
  if (left === 0) log.warn('no worker started here is left: the job waits for workers elsewhere (npm run worker)');
}

const workers = spawnWorkers(
  args.workers,
  {
    REDIS_URL: args.redis,
    INPUT_ROOT: root,
    MODELS_DIR: path.resolve(args.models),
    WORKER_BATCH: String(args.batch),
    WORKER_LOCK_MS: String(lockMs),
  },
  (d) => void reportDeath(d),
);
if (args.workers > 0) log.info({ pids: workers.pids }, `started ${args.workers} worker processes`);
const t0 = performance.now();
const job = await client.submitPaths(options, ['.']);
log.info({ job: job.id, images: job.total, workers: args.workers }, `job ${job.id}: ${job.total} images`);

process.once('SIGINT', () => {
  log.warn({ job: job.id }, 'cancelling the job (Ctrl-C again: quit at once)');
  process.once('SIGINT', () => process.exit(130));
  void client.cancel(job.id).finally(() => void workers.stop().finally(() => process.exit(130)));
});

const bar = progress('caption:bulk', job.total, 10);
let done: JobStatus;
try {
  done = await waitForJob(
    client,
    job.id,
    (s) => {
      const seconds = (performance.now() - t0) / 1000;
      bar.update(s.succeeded + s.failed, { failed: s.failed, 'img/s': (s.succeeded + s.failed) / seconds });
    },
    250,
    results,
  );
} catch (err) {
  bar.stop();
  if (!(err instanceof JobLostError)) throw err;
  await workers.stop(10_000);
  await results.close();
  await client.close();
  throw new Error(`${err.message}; ${results.count} of ${job.total} lines were written to ${args.out}`);
}
bar.stop();
const seconds = (performance.now() - t0) / 1000;
await results.complete(client.store, job.id);
await results.close();
await workers.stop();
await client.close();
log.info(
  {
    job: job.id,
    state: done.state,
    total: done.total,
    succeeded: done.succeeded,
    failed: done.failed,
    lines: results.count,
    seconds: Math.round(seconds * 10) / 10,
  },
  `${done.succeeded} captioned, ${done.failed} failed in ${seconds.toFixed(1)} s → ${args.out}`,
);
