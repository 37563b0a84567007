/** Thrown when a wait queue (the limiter's or a batcher's) is full; the HTTP layer answers 503 with Retry-After. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly retryAfterS: number) {
    super('the server is busy; try again later');
  }
}

/** Thrown for a job whose client hung up before it started: nothing is computed, nobody waits for it. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
  constructor() {
    super('the client closed the connection');
  }
}
