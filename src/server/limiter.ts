import { ClientGoneError, QueueFullError } from '../batching/errors.js';

interface Waiter {
  start: () => void;
}

/**
 * A FIFO semaphore: at most `maxConcurrent` jobs run at once and at most
 * `maxQueue` wait; beyond that `run` rejects at once with QueueFullError, so a
 * burst of requests cannot pile up unbounded image buffers in memory.
 * Inference is CPU-bound, so one limiter is shared by every model route.
 */
export class Limiter {
  private active = 0;
  private readonly queue: Waiter[] = [];
  /** Moving average of job duration, to suggest a Retry-After. */
  private avgJobMs = 1000;

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError('maxConcurrent must be ≥ 1');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be ≥ 0');
  }

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Run `job` when a slot is free. An aborted `signal` (the client hung up)
   * takes a waiting job out of the queue, so it is never computed and its
   * place goes to the next one.
   */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    if (signal?.aborted) {
      this.release(); // granted just as the client left
      throw new ClientGoneError();
    }
    const t0 = performance.now();
    try {
      return await job();
    } finally {
      this.avgJobMs = 0.8 * this.avgJobMs + 0.2 * (performance.now() - t0);
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    if (this.active < this.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.retryAfterS()));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        },
      };
      const leave = () => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        reject(new ClientGoneError());
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.queue.push(waiter);
    });
  }

  // The slot passes straight to the next waiter, so `active` never dips and
  // a newcomer cannot overtake the queue.
  private release(): void {
    const next = this.queue.shift();
    if (next) next.start();
    else this.active--;
  }

  /** Seconds until a slot is likely free: the queue ahead drained at the observed rate. */
  private retryAfterS(): number {
    const s = ((this.queue.length + 1) * this.avgJobMs) / this.maxConcurrent / 1000;
    return Math.min(60, Math.max(1, Math.ceil(s)));
  }
}
