/**
 * Bulk captioning throughput on this machine, in one run: the single-process
 * loop (what scripts/caption.ts does: one CaptionService, one image after the
 * other) against the queue with 1 and 2 worker processes (scripts/worker.ts,
 * as `npm run worker` starts them), and the queue's own cost per task (a worker
 * whose model answers at once). Model loading is excluded from every figure
 * (each side loads first, then the clock starts) and reported apart. Starts its
 * own redis-server unless --redis is given. Not a test.
 *
 *   npx tsx scripts/bench-bulk.ts --images ../../shared/data/flickr8k/images --limit 200
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { cli } from '../src/cli/main.js';
import { spawnWorkers, startRedis, waitForJob } from '../src/jobs/local.js';
import { redisConnection } from '../src/app/jobs/names.js';
import { JobsClient } from '../src/app/jobs/producer.js';
import { startTaskWorker } from '../src/jobs/task-worker.js';
import { loadWorkerService } from '../src/jobs/worker.js';
import { readInput } from '../src/app/jobs/inputs.js';
import { log } from '../src/log.js';
import { imageLimits, loadConfig } from '../src/app/config.js';

const args = cli({
  usage: 'npx tsx scripts/bench-bulk.ts',
  summary: 'Images/s of the single-process loop against the job queue with 1 and 2 worker processes, and the queue overhead per task.',
  example: 'npx tsx scripts/bench-bulk.ts --images ../../shared/data/flickr8k/images --limit 200',
  options: {
    images: { type: 'string', required: true, placeholder: 'dir', description: 'folder of images (its first --limit files, by name)' },
    limit: { type: 'number', int: true, min: 1, default: 200, description: 'images per run' },
    workers: { type: 'string', default: '1,2', description: 'worker-process counts to time, comma-separated' },
    batch: { type: 'number', int: true, min: 1, max: 64, default: 4, description: 'WORKER_BATCH of the workers' },
    overheadTasks: { type: 'number', int: true, min: 1, default: 1000, description: 'tasks of the no-model run that measures the queue' },
    redis: { type: 'string', default: '', placeholder: 'url', description: 'Redis to use (default: a private redis-server)' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});

const root = path.resolve(args.images);
const files = (await readdir(root)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
const names = files.slice(0, args.limit);
if (names.length < args.limit) throw new Error(`--images has ${names.length} images; --limit asks for ${args.limit}`);
const workerCounts = args.workers.split(',').map((w) => Number(w.trim()));
if (workerCounts.some((w) => !Number.isInteger(w) || w < 1)) throw new Error(`--workers: expected counts like 1,2; got "${args.workers}"`);

const redis = args.redis ? undefined : await startRedis();
const url = args.redis || redis!.url;
const config = loadConfig({ ...process.env, MODELS_DIR: args.models });
const limits = imageLimits(config);
const options = CaptionOptionsSchema.parse({});
const n = names.length;
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
const report: Record<string, unknown> = { images: n, options: 'defaults (beam 3)', batch: args.batch };

// 1. Single process: one service, the images one after the other (scripts/caption.ts).
{
  const t0 = performance.now();
  const service = await loadWorkerService(config);
  const loadS = (performance.now() - t0) / 1000;
  await service.caption(await readInput(root, names[0]!, limits.maxBytes), toCaptionSearchOptions(options), limits); // warm-up
  const t1 = performance.now();
  for (const name of names) await service.caption(await readInput(root, name, limits.maxBytes), toCaptionSearchOptions(options), limits);
  const s = (performance.now() - t1) / 1000;
  service.dispose();
  report.single_process = { images_per_s: round(n / s), seconds: round(s, 1), model_load_s: round(loadS, 1) };
  log.info(report.single_process, 'single process');
}

const client = new JobsClient(redisConnection(url), {
  maxImages: Math.max(n, args.overheadTasks),
  maxUploadBytes: 0,
  ttlS: 3600,
  attempts: 3,
  inputRoot: root,
});

// 2. The queue with W worker processes, started and loaded before the clock starts.
for (const w of workerCounts) {
  const t0 = performance.now();
  const workers = spawnWorkers(w, {
    REDIS_URL: url,
    INPUT_ROOT: root,
    MODELS_DIR: path.resolve(args.models),
    WORKER_BATCH: String(args.batch),
    LOG_LEVEL: 'info',
  });
  await workers.ready;
  const loadS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const job = await client.submitPaths(options, names);
  const done = await waitForJob(client, job.id, () => {}, 50);
  const s = (performance.now() - t1) / 1000;
  await workers.stop();
  if (done.succeeded !== n) throw new Error(`the ${w}-worker run captioned ${done.succeeded} of ${n} images (${done.failed} failed)`);
  report[`workers_${w}`] = { images_per_s: round(n / s), seconds: round(s, 1), model_load_s: round(loadS, 1) };
  log.info(report[`workers_${w}`] as object, `${w} worker process(es)`);
}

// 3. The queue alone: the same path (submit, take, read the file, write the line, count) with a model that answers at once.
{
  const instant = {
    captions: [],
    objects: [],
    model: { name: 'none', version: '0' },
    timings_ms: { decode_image: 0, encode: 0, generate: 0 },
  };
  const worker = startTaskWorker({
    redisUrl: url,
    captionMany: async (images) => images.map(() => instant),
    limits,
    inputRoot: root,
    batch: args.batch,
    lockMs: 30_000,
    name: 'no-model',
  });
  await worker.worker.waitUntilReady();
  const paths = Array.from({ length: args.overheadTasks }, (_, i) => names[i % n]!);
  const unique = [...new Set(paths)];
  const rounds = Math.ceil(args.overheadTasks / unique.length);
  const t0 = performance.now();
  let tasks = 0;
  for (let r = 0; r < rounds; r++) {
    const job = await client.submitPaths(options, unique);
    await waitForJob(client, job.id, () => {}, 20);
    tasks += unique.length;
  }
  const s = (performance.now() - t0) / 1000;
  await worker.close();
  report.queue_overhead = { ms_per_task: round((s * 1000) / tasks), tasks, batch: args.batch };
  log.info(report.queue_overhead as object, 'queue overhead');
}

await client.close();
await redis?.stop();
console.log(JSON.stringify(report, null, 2));
