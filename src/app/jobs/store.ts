import type { Redis } from 'ioredis';
import { jobKeys } from './names.js';
import { JobMetaSchema, type Failure, type JobMeta, type JobStatus } from './schemas.js';
import type { CaptionOptions } from '../../caption/options.js';
import type { CaptionResult } from '../../caption/reply.js';

/** An image's captions as a job records them: what POST /caption replies less backend and total time (caption/reply.ts). */
export type Captioned = CaptionResult & { seed?: number };

/** A result line as stored and streamed: one JSON object per image. */
export type ResultLine = { name: string; index: number; worker: string } & (({ ok: true } & Captioned) | { ok: false; error: Failure });

/**
 * A bulk job's state in Redis: its meta hash, the uploaded images, and one
 * hash each for results and failures keyed by image name. Keying by name is
 * what makes a write idempotent: a task retried after a crash overwrites its
 * own entry, so counts are HLENs and every image appears at most once.
 */
export class JobStore {
  constructor(readonly redis: Redis) {}

  /** A new job, not yet visible to workers (state submitting, total 0, default options until activate). */
  async create(id: string, ttlS: number): Promise<void> {
    const k = jobKeys(id);
    await this.redis
      .multi()
      .hset(k.meta, {
        total: 0,
        created_at: new Date().toISOString(),
        options: '{}',
        state: 'submitting',
        ttl_s: ttlS,
      })
      .expire(k.meta, ttlS)
      .exec();
  }

  /** Keep an uploaded image until its task has a result (or the TTL ends). */
  async putImage(id: string, index: number, bytes: Buffer, ttlS: number): Promise<void> {
    const k = jobKeys(id);
    await this.redis.multi().hset(k.images, String(index), bytes).expire(k.images, ttlS).exec();
  }

  async getImage(id: string, index: number): Promise<Buffer | null> {
    return this.redis.hgetBuffer(jobKeys(id).images, String(index));
  }

  /** All images are in: set the total and the options, and open the job to workers. */
  async activate(id: string, total: number, options: CaptionOptions): Promise<void> {
    await this.redis.hset(jobKeys(id).meta, { total, options: JSON.stringify(options), state: 'active' });
  }

  /** The job's meta, or undefined when it does not exist (never made, expired or deleted). */
  async meta(id: string): Promise<JobMeta | undefined> {
    const raw = await this.redis.hgetall(jobKeys(id).meta);
    if (Object.keys(raw).length === 0) return undefined;
    return JobMetaSchema.parse(raw);
  }

  async hasResult(id: string, name: string): Promise<boolean> {
    return (await this.redis.hexists(jobKeys(id).results, name)) === 1;
  }

  /** Record one image's result (replacing any earlier failure of it) and drop its uploaded bytes. */
  async writeResult(id: string, index: number, line: ResultLine, ttlS: number): Promise<void> {
    const k = jobKeys(id);
    await this.redis
      .multi()
      .hset(k.results, line.name, JSON.stringify(line))
      .hdel(k.failures, line.name)
      .hdel(k.images, String(index))
      .rpush(k.done, line.name)
      .expire(k.results, ttlS)
      .expire(k.done, ttlS)
      .expire(k.meta, ttlS)
      .exec();
    await this.finishIfDone(id);
  }

  /** Record one image's failure, unless it already has a result (a retry that came after success). */
  async writeFailure(id: string, index: number, line: ResultLine, ttlS: number): Promise<void> {
    const k = jobKeys(id);
    if (await this.hasResult(id, line.name)) return;
    await this.redis
      .multi()
      .hset(k.failures, line.name, JSON.stringify(line))
      .hdel(k.images, String(index))
      .rpush(k.done, line.name)
      .expire(k.failures, ttlS)
      .expire(k.done, ttlS)
      .expire(k.meta, ttlS)
      .exec();
    await this.finishIfDone(id);
  }

  private async finishIfDone(id: string): Promise<void> {
    const k = jobKeys(id);
    const [total, done] = await Promise.all([this.redis.hget(k.meta, 'total'), this.doneCount(id)]);
    if (total !== null && Number(total) > 0 && done >= Number(total)) await this.stampFinished(id);
  }

  /** Set finished_at once (the first writer wins) and return it. */
  private async stampFinished(id: string): Promise<string | undefined> {
    const k = jobKeys(id);
    await this.redis.hsetnx(k.meta, 'finished_at', new Date().toISOString());
    return (await this.redis.hget(k.meta, 'finished_at')) ?? undefined;
  }

  private async doneCount(id: string): Promise<number> {
    const k = jobKeys(id);
    const [ok, failed] = await Promise.all([this.redis.hlen(k.results), this.redis.hlen(k.failures)]);
    return ok + failed;
  }

  /** State and counts, or undefined for an unknown job. */
  async status(id: string): Promise<JobStatus | undefined> {
    const k = jobKeys(id);
    const [meta, succeeded, failed] = await Promise.all([this.meta(id), this.redis.hlen(k.results), this.redis.hlen(k.failures)]);
    if (!meta) return undefined;
    const done = succeeded + failed;
    const state =
      meta.state === 'cancelled'
        ? 'cancelled'
        : meta.state === 'submitting'
          ? 'submitting'
          : meta.total > 0 && done >= meta.total
            ? 'completed'
            : done > 0
              ? 'running'
              : 'queued';
    // The last result and finished_at are two writes: a reader between them (or after a worker died
    // between them) stamps it here, so a completed job always says when it finished.
    const finishedAt = state === 'completed' ? (meta.finished_at ?? (await this.stampFinished(id))) : meta.finished_at;
    return {
      id,
      state,
      total: meta.total,
      succeeded,
      failed,
      progress: meta.total > 0 ? Math.min(1, done / meta.total) : 0,
      created_at: meta.created_at,
      ...(finishedAt ? { finished_at: finishedAt } : {}),
    };
  }

  /** Mark the job cancelled (workers skip its tasks from now on) and free its uploaded images. */
  async cancel(id: string): Promise<void> {
    const k = jobKeys(id);
    await this.redis.multi().hset(k.meta, 'state', 'cancelled').del(k.images).exec();
  }

  /** Every key of the job, for a submission that failed half-way. */
  async remove(id: string): Promise<void> {
    const k = jobKeys(id);
    await this.redis.del(k.meta, k.results, k.failures, k.images, k.done);
  }

  /**
   * The lines written since the `from`-th (JSON text, the result if the image
   * has one, else its failure), at most `count`, and where the next read
   * starts: a reader that follows a running job reads each line as it lands.
   * An image whose line was rewritten (a failure, then a result) comes again;
   * the reader keeps the first. A list shorter than `from` (Redis lost its
   * last writes) is read again from its start.
   */
  async linesSince(id: string, from: number, count = 1000): Promise<{ lines: string[]; next: number }> {
    const k = jobKeys(id);
    let start = from;
    if (start > 0 && (await this.redis.llen(k.done)) < start) start = 0;
    const names = await this.redis.lrange(k.done, start, start + count - 1);
    if (names.length === 0) return { lines: [], next: start };
    const [ok, failed] = await Promise.all([this.redis.hmget(k.results, ...names), this.redis.hmget(k.failures, ...names)]);
    const lines = names.flatMap((_, i) => ok[i] ?? failed[i] ?? []);
    return { lines, next: start + names.length };
  }

  /**
   * The result lines, then the failure lines, as stored (JSON text), in no
   * particular order. HSCAN may return an entry twice while a hash grows, so
   * names already sent are skipped: each image appears once.
   */
  async *lines(id: string): AsyncGenerator<string> {
    const k = jobKeys(id);
    const seen = new Set<string>();
    for (const key of [k.results, k.failures]) {
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 500);
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const name = flat[i]!;
          if (seen.has(name)) continue;
          seen.add(name);
          yield flat[i + 1]!;
        }
      } while (cursor !== '0');
    }
  }
}
