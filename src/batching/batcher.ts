import { AsyncLocalStorage } from 'node:async_hooks';
import { ClientGoneError, QueueFullError } from './errors.js';

/** What a request's inference job carries down to the batcher: its client's hang-up signal and a batch-size probe. */
export interface RequestScope {
  signal?: AbortSignal;
  /** Called once the request's item runs, with the size of the batch it ran in and which batcher ran it. */
  onBatch?: (size: number, stage: BatchStage) => void;
}

/**
 * Set by runInference around each job, so code deep in a service (the encoder)
 * can batch the request without every signature carrying its signal.
 */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** Which model part a batcher batches: the CNN encoder, or the decoder's steps. */
export type BatchStage = 'encoder' | 'decoder';

export interface BatcherOptions {
  /** Most items per batch; a full batch runs at once. */
  maxBatchSize: number;
  /** How long the first item of a batch waits for company before the batch runs anyway (0: to the end of this event-loop turn). */
  maxDelayMs: number;
  /** Most items waiting for a batch; beyond it, submit rejects with QueueFullError. */
  maxQueue: number;
  /** Reported to onBatch (the metrics tell encoder and decoder batches apart); encoder when absent. */
  stage?: BatchStage;
}

interface Item<I, O> {
  input: I;
  scope?: RequestScope;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
  leave?: () => void;
}

/**
 * Dynamic batching: items submitted while a batch runs, or within maxDelayMs
 * of the first, are computed together by one call of `run` (at most
 * maxBatchSize per call, one call at a time), and each caller gets its own
 * output. Items whose client left before their batch ran are dropped.
 */
export class Batcher<I, O> {
  private readonly queue: Item<I, O>[] = [];
  private running = false;
  private timer: { cancel(): void } | undefined;
  /** Moving average of batch duration, to suggest a Retry-After. */
  private avgBatchMs = 100;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    readonly opts: BatcherOptions,
  ) {
    const { maxBatchSize, maxDelayMs, maxQueue } = opts;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError('maxBatchSize must be ≥ 1');
    if (!(maxDelayMs >= 0)) throw new RangeError('maxDelayMs must be ≥ 0');
    if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new RangeError('maxQueue must be ≥ 1');
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Compute `input` in the next batch. The caller's RequestScope (if any) supplies its hang-up signal. */
  submit(input: I): Promise<O> {
    const scope = requestScope.getStore();
    const signal = scope?.signal;
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.retryAfterS()));
    return new Promise<O>((resolve, reject) => {
      const item: Item<I, O> = { input, scope, resolve, reject };
      if (signal) {
        item.leave = () => {
          const i = this.queue.indexOf(item);
          if (i < 0) return; // already in a running batch: it finishes
          this.queue.splice(i, 1);
          reject(new ClientGoneError());
        };
        signal.addEventListener('abort', item.leave, { once: true });
      }
      this.queue.push(item);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the running batch's end schedules the next
    if (this.queue.length >= this.opts.maxBatchSize) {
      this.flush();
      return;
    }
    if (this.timer) return;
    // Delay 0 still waits for the end of this event-loop turn: requests that one batch upstream (the
    // encoder's) resolved together all reach this queue within the turn, and a synchronous `run`
    // (the decoder's) would otherwise take the first of them alone.
    if (this.opts.maxDelayMs === 0) {
      const t = setImmediate(() => this.flush());
      this.timer = { cancel: () => clearImmediate(t) };
    } else {
      const t = setTimeout(() => this.flush(), this.opts.maxDelayMs);
      this.timer = { cancel: () => clearTimeout(t) };
    }
  }

  private flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.maxBatchSize);
    for (const item of batch) if (item.leave) item.scope?.signal?.removeEventListener('abort', item.leave);
    this.running = true;
    void this.runBatch(batch).finally(() => {
      this.running = false;
      // Whatever queued meanwhile waited at least one batch: run it now, full or not.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async runBatch(batch: Item<I, O>[]): Promise<void> {
    const t0 = performance.now();
    try {
      const outs = await this.run(batch.map((b) => b.input));
      if (outs.length !== batch.length) throw new Error(`batch function returned ${outs.length} results for ${batch.length} inputs`);
      batch.forEach((b, i) => {
        b.scope?.onBatch?.(batch.length, this.opts.stage ?? 'encoder');
        b.resolve(outs[i]!);
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.avgBatchMs = 0.8 * this.avgBatchMs + 0.2 * (performance.now() - t0);
    }
  }

  /** Seconds until the queue ahead has likely drained at the observed batch rate. */
  private retryAfterS(): number {
    const s = ((Math.ceil(this.queue.length / this.opts.maxBatchSize) + 1) * this.avgBatchMs) / 1000;
    return Math.min(60, Math.max(1, Math.ceil(s)));
  }
}
