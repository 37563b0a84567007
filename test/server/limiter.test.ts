import { describe, expect, it } from 'vitest';
import { ClientGoneError, QueueFullError } from '../../src/batching/errors.js';
import { Limiter } from '../../src/server/limiter.js';

/** A job that finishes when told to. */
function gate() {
  let open = () => {};
  const done = new Promise<void>((resolve) => (open = resolve));
  return { open: () => open(), job: () => done };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('runs at most maxConcurrent jobs, queues the rest in order', async () => {
    const limiter = new Limiter(2, 5);
    const gates = [gate(), gate(), gate(), gate()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        order.push(i);
        await g.job();
      }),
    );
    await tick();
    expect(limiter.running).toBe(2);
    expect(limiter.waiting).toBe(2);
    expect(order).toEqual([0, 1]);
    gates[1]!.open();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    gates.forEach((g) => g.open());
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(limiter.running).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('rejects with QueueFullError and a Retry-After when the queue is full', async () => {
    const limiter = new Limiter(1, 1);
    const g = gate();
    const first = limiter.run(g.job);
    const second = limiter.run(async () => 'ok');
    const err = await limiter.run(async () => 'never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).retryAfterS).toBeGreaterThanOrEqual(1);
    g.open();
    await first;
    expect(await second).toBe('ok');
  });

  it('frees the slot when a job throws', async () => {
    const limiter = new Limiter(1, 0);
    await expect(
      limiter.run(async () => {
        throw new Error('bad');
      }),
    ).rejects.toThrow('bad');
    expect(limiter.running).toBe(0);
    expect(await limiter.run(async () => 7)).toBe(7);
  });

  it('drops a waiting job whose signal aborts: it never runs, and the next one moves up', async () => {
    const limiter = new Limiter(1, 2);
    const g = gate();
    const first = limiter.run(g.job);
    const gone = new AbortController();
    let ran = false;
    const dropped = limiter.run(async () => (ran = true), gone.signal).catch((e: unknown) => e);
    const next = limiter.run(async () => 'next');
    expect(limiter.waiting).toBe(2);
    gone.abort();
    expect(await dropped).toBeInstanceOf(ClientGoneError);
    expect(limiter.waiting).toBe(1);
    g.open();
    await first;
    expect(await next).toBe('next');
    expect(ran).toBe(false);
    expect(limiter.running).toBe(0);
    await expect(limiter.run(async () => 1, gone.signal)).rejects.toBeInstanceOf(ClientGoneError);
    expect(limiter.running).toBe(0);
  });
});
