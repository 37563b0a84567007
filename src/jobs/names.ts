import { Redis } from 'ioredis';

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
  };
}

/** The BullMQ job id of one image's task: re-adding the same id is a no-op, so a resubmitted job adds nothing twice. */
export function taskId(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}

/**
 * A connection for BullMQ and the results store. maxRetriesPerRequest null is
 * what BullMQ's blocking commands need; commands wait for a reconnect instead
 * of failing while Redis restarts.
 */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}
