import { UnrecoverableError, type Job } from 'bullmq';
import { toCaptionSearchOptions, type CaptionOptions, type CaptionSearchOptions } from '../caption/options.js';
import type { CaptionResult } from '../caption/reply.js';
import { ImageError, type ImageLimits } from '../image/decode.js';
import { KeyedBatcher } from '../batching/keyed.js';
import { InputPathError, readInput } from '../app/jobs/inputs.js';
import { TaskSchema, type Failure, type JobMeta, type Task } from '../app/jobs/schemas.js';
import type { Captioned, JobStore, ResultLine } from '../app/jobs/store.js';

/** Several images of one job, one options set: each one's result or error (CaptionService.captionMany). */
export type CaptionMany = (images: Buffer[], opts: CaptionSearchOptions) => Promise<(CaptionResult | Error)[]>;

export interface ProcessorDeps {
  store: JobStore;
  captionMany: CaptionMany;
  limits: ImageLimits;
  /** Where path tasks are read from; without it they fail for good. */
  inputRoot?: string;
  /** Who did the work (host:pid), written into each line. */
  worker: string;
  /** Images captioned together; the BullMQ worker should hold at least this many tasks at once. */
  batch: number;
  /** How long the first task of a batch waits for others. */
  batchWaitMs?: number;
}

/** What a task ended as (BullMQ's return value, for logs and tests). */
export type TaskOutcome = 'captioned' | 'failed' | 'already_done' | 'cancelled';

/** An error that retrying will not fix: the image itself, or a path that may not be read. */
function permanentFailure(err: unknown): Failure | undefined {
  if (err instanceof ImageError || err instanceof InputPathError) return { code: err.code, message: err.message.slice(0, 300) };
  return undefined;
}

interface Item {
  image: Buffer;
  options: CaptionOptions;
}

/**
 * The BullMQ processor of one image's task: read the image (uploaded bytes
 * in Redis, or a file under INPUT_ROOT), caption it together with the other
 * tasks the worker holds, and write its line. A result already written (a
 * task retried after its worker died between writing and acknowledging) is
 * not computed again. An image that cannot be captioned (corrupt, too large,
 * a bad path) is recorded as a failure and not retried (UnrecoverableError);
 * anything else is retried with backoff and recorded on the last attempt.
 */
export function taskProcessor(deps: ProcessorDeps): (job: Job) => Promise<TaskOutcome> {
  const batcher = new KeyedBatcher<Item, Captioned>(
    async (_jobId, items) => {
      const opts = toCaptionSearchOptions(items[0]!.options);
      const out = await deps.captionMany(
        items.map((i) => i.image),
        opts,
      );
      return out.map((r) => (r instanceof Error ? r : opts.mode === 'sample' ? { ...r, seed: opts.seed } : r));
    },
    deps.batch,
    deps.batchWaitMs ?? 10,
  );

  const fail = async (task: Task, meta: JobMeta, error: Failure) => {
    const line: ResultLine = { name: task.name, index: task.index, ok: false, error, worker: deps.worker };
    await deps.store.writeFailure(task.job, task.index, line, meta.ttl_s);
  };

  return async (job) => {
    const task = TaskSchema.parse(job.data);
    const meta = await deps.store.meta(task.job);
    if (!meta || meta.state === 'cancelled') return 'cancelled';
    if (await deps.store.hasResult(task.job, task.name)) return 'already_done';
    try {
      const image = await readImage(deps, task);
      const result = await batcher.submit(task.job, { image, options: meta.options });
      // A cancel while the batch ran: the job wants nothing more written.
      if ((await deps.store.meta(task.job))?.state !== 'active') return 'cancelled';
      const line: ResultLine = { name: task.name, index: task.index, ok: true, ...result, worker: deps.worker };
      await deps.store.writeResult(task.job, task.index, line, meta.ttl_s);
      return 'captioned';
    } catch (err) {
      const permanent = permanentFailure(err);
      if (permanent) {
        await fail(task, meta, permanent);
        throw new UnrecoverableError(`${permanent.code}: ${permanent.message}`);
      }
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const message = err instanceof Error ? err.message : String(err);
        await fail(task, meta, { code: 'caption_failed', message: message.slice(0, 300) });
      }
      throw err;
    }
  };
}

async function readImage(deps: ProcessorDeps, task: Task): Promise<Buffer> {
  if (task.path === undefined) {
    const bytes = await deps.store.getImage(task.job, task.index);
    if (!bytes) throw new InputPathError('path_not_found', 'the uploaded image is gone (its job expired or was cancelled)');
    return bytes;
  }
  if (!deps.inputRoot) throw new InputPathError('invalid_path', 'this worker has no INPUT_ROOT to read paths from');
  return readInput(deps.inputRoot, task.path, deps.limits.maxBytes);
}

/**
 * For a task BullMQ failed without the processor's catch: it stalled more
 * often than allowed (its workers kept dying on it). Recorded, so the job
 * still completes; other failures were recorded by the processor.
 */
export async function recordFinalFailure(store: JobStore, job: Job, err: Error, worker: string): Promise<void> {
  const parsed = TaskSchema.safeParse(job.data);
  if (!parsed.success) return;
  const task = parsed.data;
  if (!/stalled/i.test(err.message)) return;
  const meta = await store.meta(task.job);
  if (!meta || meta.state !== 'active') return;
  const line: ResultLine = {
    name: task.name,
    index: task.index,
    ok: false,
    error: { code: 'worker_lost', message: err.message.slice(0, 300) },
    worker,
  };
  await store.writeFailure(task.job, task.index, line, meta.ttl_s);
}
