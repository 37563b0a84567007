import { describe, expect, it } from 'vitest';
import { KeyedBatcher } from '../../src/batching/keyed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedBatcher', () => {
  it('runs items submitted together as batches of up to maxSize, one at a time, each getting its own result or error', async () => {
    const batches: number[][] = [];
    let running = 0;
    const b = new KeyedBatcher<number, number>(
      async (_key, items) => {
        expect(++running).toBe(1);
        batches.push(items);
        await sleep(5);
        running--;
        return items.map((i) => (i === 3 ? new Error('three') : i * 10));
      },
      4,
      20,
    );
    const out = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => b.submit('job', i)));
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([10, 20, 'three', 40, 50, 60]);
  });

  it('keeps keys apart, runs one batch at a time over all keys, and gathers a key anew while its batch runs', async () => {
    const batches: [string, number[]][] = [];
    let running = 0;
    const b = new KeyedBatcher<number, number>(
      async (key, items) => {
        expect(++running).toBe(1);
        batches.push([key, items]);
        await sleep(20);
        running--;
        return items;
      },
      8,
      5,
    );
    const first = [b.submit('a', 1), b.submit('b', 2), b.submit('a', 3)];
    await sleep(10); // a's batch runs (b's waits its turn); 4 gathers in a fresh batch of a
    const later = b.submit('a', 4);
    expect(await Promise.all([...first, later])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
      ['a', [4]],
    ]);
  });

  it('fails every item of a batch that throws, and an item the batch gave no result for', async () => {
    const b = new KeyedBatcher<number, number>(
      async (_key, items) => {
        if (items.includes(0)) throw new Error('boom');
        return items.slice(1);
      },
      2,
      5,
    );
    const thrown = await Promise.allSettled([b.submit('x', 0), b.submit('x', 1)]);
    expect(thrown.map((o) => o.status === 'rejected' && (o.reason as Error).message)).toEqual(['boom', 'boom']);
    const short = await Promise.allSettled([b.submit('y', 1), b.submit('y', 2)]);
    expect(short.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      2,
      'the batch gave no result for this item',
    ]);
  });
});
