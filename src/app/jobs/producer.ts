import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CaptionOptions } from '../../caption/options.js';
import type { Config } from '../config.js';
import { InputPathError, listInputs } from './inputs.js';
import { redisConnection, TASK_QUEUE, taskId, type ConnectionOptions } from './names.js';
import type { JobStatus, Task } from './schemas.js';
import { JobStore } from './store.js';

export interface JobsSettings {
  maxImages: number;
  /** Most bytes of images one upload may bring (they are kept in Redis until captioned). */
  maxUploadBytes: number;
  ttlS: number;
  attempts: number;
  /** Where `paths` are resolved; without it only uploads are taken. */
  inputRoot?: string;
}

/** One uploaded image: its name (unique in the job) and bytes. */
export interface Upload {
  name: string;
  bytes: Buffer;
}

/** A submission refused for something the caller can fix. */
export class SubmitError extends Error {
  override name = 'SubmitError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ADD_CHUNK = 1000;

/** BullMQ states of a task no worker has taken yet. */
const QUEUED_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized']);

/**
 * Submits, inspects and cancels bulk jobs: the HTTP routes and the CLI use it.
 * It holds nothing but a Redis connection, so any number of API replicas can
 * serve the same jobs.
 */
export class JobsClient {
  readonly store: JobStore;
  readonly queue: Queue;

  constructor(
    readonly redis: Redis,
    readonly settings: JobsSettings,
  ) {
    this.store = new JobStore(redis);
    this.queue = new Queue(TASK_QUEUE, {
      connection: redis,
      defaultJobOptions: {
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: 1000 },
        // The results live in the job's hashes; BullMQ's copy of a done task is not needed.
        removeOnComplete: true,
        removeOnFail: { age: settings.ttlS },
      },
    });
    // The connection's own listener (names.ts) logs the outage; BullMQ would print each error again.
    this.queue.on('error', () => {});
  }

  /**
   * The API's client fails fast while Redis is away (503, `failFast`); the
   * CLI's (`failFast: false`) waits for it to come back.
   */
  static connect(url: string, settings: JobsSettings, { failFast = true }: ConnectionOptions = {}): JobsClient {
    return new JobsClient(redisConnection(url, { failFast }), settings);
  }

  /** The client the server's configuration asks for; undefined without REDIS_URL. */
  static fromConfig(config: Config): JobsClient | undefined {
    if (!config.REDIS_URL) return undefined;
    return JobsClient.connect(config.REDIS_URL, {
      maxImages: config.JOBS_MAX_IMAGES,
      maxUploadBytes: config.JOBS_MAX_UPLOAD_MIB * 1024 * 1024,
      ttlS: config.JOBS_TTL_S,
      attempts: config.JOBS_ATTEMPTS,
      ...(config.INPUT_ROOT ? { inputRoot: config.INPUT_ROOT } : {}),
    });
  }

  /**
   * A job of uploaded images, stored in Redis (with the job's TTL) one by one
   * as they arrive. `options` is read once the uploads are all in (a form's
   * option fields may come after its files).
   */
  async submitUploads(uploads: AsyncIterable<Upload>, options: () => CaptionOptions): Promise<JobStatus> {
    const id = randomUUID();
    await this.store.create(id, this.settings.ttlS);
    try {
      const names = new Set<string>();
      const tasks: Task[] = [];
      let bytesIn = 0;
      for await (const { name, bytes } of uploads) {
        bytesIn += bytes.length;
        if (bytesIn > this.settings.maxUploadBytes) {
          throw new SubmitError(
            'payload_too_large',
            `the images add up to more than ${this.settings.maxUploadBytes} bytes (JOBS_MAX_UPLOAD_MIB)`,
          );
        }
        if (names.has(name)) throw new SubmitError('duplicate_name', `two images are named "${name.slice(0, 100)}"; names key the results`);
        names.add(name);
        if (tasks.length >= this.settings.maxImages) {
          throw new SubmitError('too_many_images', `more than ${this.settings.maxImages} images (JOBS_MAX_IMAGES)`);
        }
        await this.store.putImage(id, tasks.length, bytes, this.settings.ttlS);
        tasks.push({ job: id, index: tasks.length, name });
      }
      return await this.enqueue(id, tasks, options());
    } catch (err) {
      await this.store.remove(id);
      throw err;
    }
  }

  /** A job of the images under INPUT_ROOT that `paths` name (files, or folders walked for images). */
  async submitPaths(options: CaptionOptions, paths: readonly string[]): Promise<JobStatus> {
    const root = this.settings.inputRoot;
    if (!root) throw new SubmitError('paths_disabled', 'this server takes no paths (INPUT_ROOT is not set); upload the images instead');
    let files: string[];
    try {
      files = await listInputs(root, paths, this.settings.maxImages);
    } catch (err) {
      if (err instanceof InputPathError) throw new SubmitError(err.code, err.message);
      throw err;
    }
    const id = randomUUID();
    await this.store.create(id, this.settings.ttlS);
    try {
      return await this.enqueue(
        id,
        files.map((f, index) => ({ job: id, index, name: f, path: f })),
        options,
      );
    } catch (err) {
      await this.store.remove(id);
      throw err;
    }
  }

  private async enqueue(id: string, tasks: Task[], options: CaptionOptions): Promise<JobStatus> {
    if (tasks.length === 0) throw new SubmitError('no_images', 'the job has no images');
    // Active before the tasks exist: a worker that takes one at once finds its job open.
    await this.store.activate(id, tasks.length, options);
    for (let i = 0; i < tasks.length; i += ADD_CHUNK) {
      const chunk = tasks.slice(i, i + ADD_CHUNK);
      await this.queue.addBulk(chunk.map((t) => ({ name: 'caption', data: t, opts: { jobId: taskId(id, t.index) } })));
    }
    return (await this.store.status(id))!;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return this.store.status(id);
  }

  /**
   * Cancel: workers skip the job's tasks from now on, and those still waiting
   * are removed from the queue. Tasks being captioned finish but write nothing.
   */
  async cancel(id: string): Promise<{ status: JobStatus; removed: number } | undefined> {
    const before = await this.store.status(id);
    if (!before) return undefined;
    // Nothing left to stop: a finished job keeps its state.
    if (before.state === 'completed' || before.state === 'cancelled') return { status: before, removed: 0 };
    await this.store.cancel(id);
    let removed = 0;
    for (let i = 0; i < before.total; i += ADD_CHUNK) {
      const ids = Array.from({ length: Math.min(ADD_CHUNK, before.total - i) }, (_, j) => taskId(id, i + j));
      // Only tasks no worker holds; a held one (active) sees the cancel itself, a done one is gone already.
      const done = await Promise.all(ids.map(async (t) => (QUEUED_STATES.has(await this.queue.getJobState(t)) ? this.queue.remove(t) : 0)));
      removed += done.filter((n) => n === 1).length;
    }
    return { status: (await this.store.status(id))!, removed };
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}
