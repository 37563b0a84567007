/** Thrown when the wait queue is full; the HTTP layer answers 503 with Retry-After. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly retryAfterS: number) {
    super('the server is busy; try again later');
  }
}

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

  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    const t0 = performance.now();
    try {
      return await job();
    } finally {
      this.avgJobMs = 0.8 * this.avgJobMs + 0.2 * (performance.now() - t0);
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.retryAfterS()));
    return new Promise((resolve) => this.queue.push({ start: resolve }));
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
