import { Batcher } from './batcher.js';

/** A batcher's queue bound here: none in practice (the bulk worker holds WORKER_BATCH tasks at most). */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * The request Batcher, one per key (the bulk job: one caption options set),
 * with one batch at a time over all keys: inference is one compute stream per
 * process anyway, and a batch lets the encoder take several images in one pass.
 * Items submitted under a key within `waitMs` of its first are gathered into
 * batches of up to `maxSize`; `run` gives each item its result or its own
 * Error, which rejects only that item.
 *
 * A key's batcher gathers until it hands its items to `run`; items arriving
 * after that (while the batch waits for or takes its turn) gather in a fresh
 * one, so no key holds a batcher once its items are all handed over.
 */
export class KeyedBatcher<I, O> {
  private readonly gathering = new Map<string, Batcher<I, O | Error>>();
  /** The batch running or last run; the next one starts after it settles. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly run: (key: string, items: I[]) => Promise<(O | Error)[]>,
    private readonly maxSize: number,
    private readonly waitMs: number,
  ) {}

  async submit(key: string, item: I): Promise<O> {
    const out = await this.batcherOf(key).submit(item);
    if (out instanceof Error) throw out;
    return out;
  }

  private batcherOf(key: string): Batcher<I, O | Error> {
    const gathering = this.gathering.get(key);
    if (gathering) return gathering;
    const batcher: Batcher<I, O | Error> = new Batcher(
      (items) => {
        // Called as the batch leaves the queue: what comes later gathers anew.
        if (this.gathering.get(key) === batcher && batcher.waiting === 0) this.gathering.delete(key);
        return this.inTurn(() => this.runKey(key, items));
      },
      { maxBatchSize: this.maxSize, maxDelayMs: this.waitMs, maxQueue: UNBOUNDED },
    );
    this.gathering.set(key, batcher);
    return batcher;
  }

  /** `work` once every batch started before it has settled. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.chain.then(work);
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  /** One result or Error per item: a thrown batch fails each of its items, a missing result fails its own. */
  private async runKey(key: string, items: I[]): Promise<(O | Error)[]> {
    let out: (O | Error)[];
    try {
      out = await this.run(key, items);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return items.map(() => e);
    }
    return items.map((_, i) => (out[i] === undefined ? new Error('the batch gave no result for this item') : out[i]!));
  }
}
