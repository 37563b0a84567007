import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher, requestScope } from '../../src/batching/batcher.js';
import { ClientGoneError, QueueFullError } from '../../src/batching/errors.js';

/** A batch function that records the batches it saw and doubles each input. */
function recorder(gate?: Promise<void>) {
  const batches: number[][] = [];
  const run = async (xs: number[]) => {
    batches.push([...xs]);
    await gate;
    return xs.map((x) => 2 * x);
  };
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  afterEach(() => vi.useRealTimers());

  it('groups concurrent items into batches of at most maxBatchSize, each caller getting its own output', async () => {
    const { batches, run } = recorder();
    const b = new Batcher(run, { maxBatchSize: 3, maxDelayMs: 50, maxQueue: 10 });
    const outs = await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
    expect(outs).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('runs a lone item after maxDelayMs, not before', async () => {
    vi.useFakeTimers();
    const { batches, run } = recorder();
    const b = new Batcher(run, { maxBatchSize: 4, maxDelayMs: 20, maxQueue: 10 });
    const out = b.submit(7);
    await vi.advanceTimersByTimeAsync(19);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[7]]);
    await expect(out).resolves.toBe(14);
  });

  it('collects what arrives while a batch runs into the next one', async () => {
    let open = () => {};
    const { batches, run } = recorder(new Promise<void>((r) => (open = r)));
    const b = new Batcher(run, { maxBatchSize: 8, maxDelayMs: 0, maxQueue: 10 });
    const first = b.submit(1); // delay 0: runs at the end of this turn, alone
    await tick();
    const rest = [2, 3, 4].map((x) => b.submit(x));
    await tick();
    expect(batches).toEqual([[1]]);
    open();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('with delay 0, batches what is submitted within one event-loop turn (a synchronous run takes them together)', async () => {
    const batches: number[][] = [];
    const b = new Batcher((xs: number[]) => (batches.push(xs), Promise.resolve(xs)), { maxBatchSize: 8, maxDelayMs: 0, maxQueue: 10 });
    // As an upstream batch resolves its requests: each continues in a microtask of the same turn.
    const outs = await Promise.all([1, 2, 3].map((x) => Promise.resolve().then(() => b.submit(x))));
    expect(outs).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('refuses beyond maxQueue with QueueFullError (→ 503 with Retry-After)', async () => {
    let open = () => {};
    const { run } = recorder(new Promise<void>((r) => (open = r)));
    const b = new Batcher(run, { maxBatchSize: 2, maxDelayMs: 0, maxQueue: 2 });
    const running = b.submit(1);
    await tick();
    const queued = [b.submit(2), b.submit(3)];
    const refused = b.submit(4);
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ retryAfterS: expect.any(Number) as number });
    open();
    await expect(Promise.all([running, ...queued])).resolves.toEqual([2, 4, 6]);
  });

  it('drops an item whose client left before its batch ran; the batch runs without it', async () => {
    let open = () => {};
    const { batches, run } = recorder(new Promise<void>((r) => (open = r)));
    const b = new Batcher(run, { maxBatchSize: 4, maxDelayMs: 0, maxQueue: 10 });
    const first = b.submit(1);
    await tick();
    const gone = new AbortController();
    const left = requestScope.run({ signal: gone.signal }, () => b.submit(2));
    const stays = b.submit(3);
    gone.abort();
    await expect(left).rejects.toBeInstanceOf(ClientGoneError);
    expect(b.waiting).toBe(1);
    open();
    await Promise.all([first, stays]);
    expect(batches).toEqual([[1], [3]]);
    // Already gone when submitted: refused at once.
    await expect(requestScope.run({ signal: gone.signal }, () => b.submit(5))).rejects.toBeInstanceOf(ClientGoneError);
  });

  it('tells each request the size of the batch it ran in, and rejects all of a failed batch', async () => {
    const sizes: number[] = [];
    const b = new Batcher(async (xs: number[]) => xs, { maxBatchSize: 4, maxDelayMs: 10, maxQueue: 10 });
    await Promise.all([1, 2, 3].map((x) => requestScope.run({ onBatch: (n) => sizes.push(n) }, () => b.submit(x))));
    expect(sizes).toEqual([3, 3, 3]);
    const bad = new Batcher(async (xs: number[]) => xs.slice(1), { maxBatchSize: 4, maxDelayMs: 10, maxQueue: 10 });
    const outs = await Promise.allSettled([bad.submit(1), bad.submit(2)]);
    expect(outs.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
