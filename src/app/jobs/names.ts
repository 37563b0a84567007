import { Redis } from 'ioredis';
import { log } from '../../log.js';

/** The BullMQ queue of caption tasks (one task per image); every worker takes from it. */
export const TASK_QUEUE = 'captioner-tasks';

/** Prefix of this project's own keys (BullMQ keeps its keys under `bull:`). */
const PREFIX = 'captioner:bulk';

/** The Redis keys of one bulk job. All expire JOBS_TTL_S after their last write. */
export function jobKeys(id: string) {
  return {
    /** hash: total, created_at, options, state, ttl_s, finished_at */
    meta: `${PREFIX}:${id}`,
    /** hash: image name → its result line (JSON); HSET makes a rewritten result replace, never add */
    results: `${PREFIX}:${id}:results`,
    /** hash: image name → its failure line (JSON) */
    failures: `${PREFIX}:${id}:failures`,
    /** hash: task index → uploaded image bytes, deleted once the image has its result */
    images: `${PREFIX}:${id}:images`,
    /** list: image names in the order their lines were written (a name again when a line is rewritten), for readers that follow the job */
    done: `${PREFIX}:${id}:done`,
  };
}

/** The BullMQ job id of one image's task: re-adding the same id is a no-op, so a resubmitted job adds nothing twice. */
export function taskId(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}

export interface ConnectionOptions {
  /**
   * The API's request path: a command fails after one reconnection attempt
   * (answered 503), so no client hangs while Redis is away. Otherwise
   * (workers, the CLI) commands wait for Redis to come back, retried with
   * ioredis's backoff (50 ms more each try, at most 2 s apart):
   * maxRetriesPerRequest null, which BullMQ's blocking commands need.
   */
  failFast?: boolean;
}

/**
 * A connection for BullMQ and the results store. It logs once that Redis is
 * unreachable and once that it is back (ioredis reconnects on its own; without
 * a listener each failed try would be printed as an unhandled error).
 */
export function redisConnection(url: string, { failFast = false }: ConnectionOptions = {}): Redis {
  const redis = new Redis(url, failFast ? { maxRetriesPerRequest: 1, connectTimeout: 2000 } : { maxRetriesPerRequest: null });
  let downSince: number | undefined;
  redis.on('error', (err: Error) => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    log.warn(
      { err: err.message },
      failFast ? 'Redis is unreachable: its requests fail (503) until it is back' : 'Redis is unreachable: waiting for it to come back',
    );
  });
  redis.on('ready', () => {
    if (downSince === undefined) return;
    log.info({ down_s: Math.round((Date.now() - downSince) / 100) / 10 }, 'Redis is back');
    downSince = undefined;
  });
  return redis;
}

/** Whether an error means Redis could not be reached (as opposed to a bug or a refused command). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || /ECONNREFUSED|ETIMEDOUT|Connection is closed|connect ETIMEDOUT/.test(err.message);
}
