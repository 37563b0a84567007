import os from 'node:os';
import { Worker } from 'bullmq';
import type { ImageLimits } from '../image/decode.js';
import { log } from '../log.js';
import { redisConnection, TASK_QUEUE } from '../app/jobs/names.js';
import { recordFinalFailure, taskProcessor, type CaptionMany, type TaskOutcome } from './processor.js';
import { JobStore } from '../app/jobs/store.js';

export interface TaskWorkerOptions {
  redisUrl: string;
  captionMany: CaptionMany;
  limits: ImageLimits;
  inputRoot?: string;
  /** Tasks held at once, captioned together. */
  batch: number;
  /** Lock on a held task; a dead worker's tasks go back to the queue within about twice this. */
  lockMs: number;
  /** Who does the work, in each result line; host:pid by default. */
  name?: string;
}

export interface TaskWorker {
  readonly worker: Worker<unknown, TaskOutcome>;
  readonly name: string;
  /** Finish the tasks held (their results are written), take no more, disconnect. */
  close(): Promise<void>;
}

/**
 * A BullMQ worker on the task queue. It holds `batch` tasks at once (BullMQ
 * concurrency) so the processor can caption them together; a task whose
 * worker stops renewing its lock (killed, or a host gone) is moved back to
 * the queue by BullMQ's stalled-job check in any other worker.
 */
export function startTaskWorker(opts: TaskWorkerOptions): TaskWorker {
  const name = opts.name ?? `${os.hostname()}:${process.pid}`;
  const redis = redisConnection(opts.redisUrl);
  const store = new JobStore(redis);
  const processor = taskProcessor({
    store,
    captionMany: opts.captionMany,
    limits: opts.limits,
    ...(opts.inputRoot ? { inputRoot: opts.inputRoot } : {}),
    worker: name,
    batch: opts.batch,
  });
  // BullMQ closes only the connections it made itself: this one is closed in close().
  const connection = redisConnection(opts.redisUrl);
  const worker = new Worker<unknown, TaskOutcome>(TASK_QUEUE, processor, {
    connection,
    concurrency: opts.batch,
    lockDuration: opts.lockMs,
    stalledInterval: opts.lockMs,
    // A task may lose its worker twice before it is recorded as failed (worker_lost).
    maxStalledCount: 2,
    name,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    log.warn({ task: job.id, attempts: job.attemptsMade, err: err.message }, 'task failed');
    recordFinalFailure(store, job, err, name).catch((e: unknown) => log.error({ err: e }, 'could not record a failure'));
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return {
    worker,
    name,
    async close() {
      await worker.close();
      connection.disconnect();
      redis.disconnect();
    },
  };
}
