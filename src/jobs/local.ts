import { spawn, type ChildProcess } from 'node:child_process';
import { open, type FileHandle } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { freePort } from '../util/net.js';
import type { JobsClient } from '../app/jobs/producer.js';
import type { JobStatus } from '../app/jobs/schemas.js';
import type { JobStore } from '../app/jobs/store.js';

const WORKER_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/worker.ts');

/** A worker process that exited while it was not being stopped. */
export interface WorkerDeath {
  /** 1-based, in start order. */
  index: number;
  pid: number;
  /** Its BullMQ worker name (host:pid, the task worker's default), which its held tasks carry as processedBy. */
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its last log lines. */
  lastLog: string;
}

export interface LocalWorkers {
  /** Resolves once every worker has loaded its models and takes tasks. */
  ready: Promise<void>;
  /** Their process ids, in start order. */
  readonly pids: number[];
  /** How many still run. */
  alive(): number;
  /** SIGTERM: each finishes the tasks it holds and exits; SIGKILL for one still running after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * N worker processes on this host (scripts/worker.ts, as `npm run worker`
 * starts them), configured by `env` on top of ours. Their log is kept, and
 * shown only if one exits before it is stopped (`onDeath`, else printed).
 * Each has an IPC channel to this process: when it closes (this process
 * ended, even by SIGKILL) the worker stops, so none outlives its parent.
 */
export function spawnWorkers(n: number, env: Record<string, string>, onDeath?: (death: WorkerDeath) => void): LocalWorkers {
  const children: ChildProcess[] = [];
  let stopping = false;
  const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  const readies = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    children.push(child);
    let log = '';
    return new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
        if (log.includes('worker ready')) resolve();
      });
      child.once('exit', (code, signal) => {
        if (stopping) return;
        const lastLog = log.trim().split('\n').slice(-3).join(' | ');
        const why = new Error(`worker ${i + 1} exited (${signal ?? code}) unexpectedly; its last log: ${lastLog}`);
        reject(why);
        const pid = child.pid ?? 0;
        if (onDeath) onDeath({ index: i + 1, pid, name: `${os.hostname()}:${pid}`, code, signal, lastLog });
        else process.stderr.write(`${why.message}\n`);
      });
    });
  });
  const ready = Promise.all(readies).then(() => undefined);
  // A worker that dies is reported (onDeath); `ready` rejecting as well is not an unhandled error.
  ready.catch(() => {});
  return {
    ready,
    pids: children.map((c) => c.pid ?? 0),
    alive: () => children.filter(running).length,
    async stop(graceMs = 60_000) {
      stopping = true;
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (!running(c)) return resolve();
              const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
              c.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Tasks a worker holds (BullMQ active, its name as processedBy), and when BullMQ's stalled-job check will requeue them. */
export interface HeldTasks {
  tasks: number;
  /** Seconds until the stalled-job check of a live worker puts the last of them back on the queue (about). */
  retryInS: number;
}

/**
 * What a dead worker left: the tasks it held, and when they go back to the
 * queue. A worker renews the lock of each task it holds; the stalled-job check
 * (every `stalledIntervalMs`, in any live worker; the `stalled-check` key
 * gates it) first marks the active tasks, and at its next run moves those
 * whose lock has expired back to the queue. So a task is retried at the
 * first check after its lock expires, and not before the check after the one
 * that marks it.
 */
export async function heldTasks(client: JobsClient, worker: string, stalledIntervalMs: number): Promise<HeldTasks> {
  const held = (await client.queue.getActive()).filter((j) => j.processedBy === worker && j.id !== undefined);
  if (held.length === 0) return { tasks: 0, retryInS: 0 };
  const { redis, queue } = client;
  const nextCheck = Math.max(0, await redis.pttl(queue.toKey('stalled-check')));
  let last = 0;
  for (const job of held) {
    const [lockLeft, marked] = await Promise.all([
      redis.pttl(queue.toKey(`${job.id!}:lock`)),
      redis.sismember(queue.toKey('stalled'), job.id!),
    ]);
    let at = nextCheck + (marked === 1 ? 0 : stalledIntervalMs);
    while (at < lockLeft) at += stalledIntervalMs;
    last = Math.max(last, at);
  }
  return { tasks: held.length, retryInS: Math.ceil(last / 1000) };
}

/** Redis's run id: a new one means it restarted (and, without persistence, forgot every job). Undefined where INFO is refused. */
export async function redisRunId(redis: Redis): Promise<string | undefined> {
  try {
    return /run_id:(\w+)/.exec(await redis.info('server'))?.[1];
  } catch {
    return undefined;
  }
}

/** The job disappeared from Redis while it was being followed. */
export class JobLostError extends Error {
  override name = 'JobLostError';
  constructor(
    readonly id: string,
    /** Redis restarted (a new run id): it came back without its data. Undefined: unknown (INFO refused). */
    readonly restarted: boolean | undefined,
  ) {
    super(
      restarted
        ? `job ${id} was lost with Redis: it restarted without its data (no persistence; appendonly yes keeps jobs across a restart)`
        : restarted === false
          ? `job ${id} is gone (expired or deleted)`
          : `job ${id} is gone from Redis (lost in a restart without persistence, expired, or deleted)`,
    );
  }
}

/**
 * A job's lines in a JSON-lines file, appended as they land in Redis (so
 * whatever was captioned is on disk however the run ends), each image's line
 * once: a line is keyed by its image's index, and one seen before (a task
 * retried after a stall, a failure later rewritten) is not written again.
 */
export class ResultsFile {
  private readonly indices = new Set<number>();
  private next = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** A new (emptied) file. */
  static async create(file: string): Promise<ResultsFile> {
    return new ResultsFile(file, await open(file, 'w'));
  }

  /** Lines in the file. */
  get count(): number {
    return this.indices.size;
  }

  /** Append the lines written since the last call (the job's `done` list, read on from where it was). */
  async follow(store: JobStore, id: string): Promise<void> {
    for (;;) {
      const from = this.next;
      const { lines, next } = await store.linesSince(id, from);
      this.next = next;
      await this.append(lines);
      if (next <= from) return;
    }
  }

  /** Append any line still missing (read from the job's hashes): for lines written without a `done` entry, or lost from it. */
  async complete(store: JobStore, id: string): Promise<void> {
    let batch: string[] = [];
    for await (const line of store.lines(id)) {
      batch.push(line);
      if (batch.length >= 500) {
        await this.append(batch);
        batch = [];
      }
    }
    await this.append(batch);
  }

  private async append(lines: string[]): Promise<void> {
    let text = '';
    for (const line of lines) {
      const { index } = JSON.parse(line) as { index?: unknown };
      if (typeof index !== 'number' || this.indices.has(index)) continue;
      this.indices.add(index);
      text += `${line}\n`;
    }
    if (text) await this.fh.write(text);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/**
 * Poll the job until every image has its line (or it is cancelled), reporting
 * each change and appending new lines to `results`. While Redis is away the
 * poll waits for it (the client's connection retries); a job that is gone
 * when it is back throws JobLostError.
 */
export async function waitForJob(
  client: JobsClient,
  id: string,
  onStatus: (s: JobStatus) => void = () => {},
  everyMs = 250,
  results?: ResultsFile,
): Promise<JobStatus> {
  const runId = await redisRunId(client.redis);
  for (;;) {
    const s = await client.status(id);
    if (!s) {
      const now = await redisRunId(client.redis);
      throw new JobLostError(id, runId === undefined || now === undefined ? undefined : now !== runId);
    }
    if (results) await results.follow(client.store, id);
    onStatus(s);
    if (s.state === 'completed' || s.state === 'cancelled') return s;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface LocalRedis {
  url: string;
  /** Its folder (the append-only file, with `persist`). */
  dir: string;
  /** Stop the server (SIGTERM: with `persist` it writes its append-only file first), keeping its folder and port for `up`. */
  down(): Promise<void>;
  /** Start it again on the same port and folder, after `down`. */
  up(): Promise<void>;
  /** Stop it and delete its folder. */
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** appendonly yes (in its temp folder): jobs survive down() and up(). Default: nothing persisted. */
  persist?: boolean;
}

/** A private redis-server (Debian's, on PATH) on a free loopback port, in a temp folder: for tests and benchmarks. */
export async function startRedis({ persist = false }: LocalRedisOptions = {}): Promise<LocalRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', persist ? 'yes' : 'no', '--dir', dir];
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  };
  const down = async () => {
    const c = child;
    if (!c) return;
    await new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
    child = undefined;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    down,
    up: launch,
    async stop() {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
