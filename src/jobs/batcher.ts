/**
 * Gathers items submitted within `waitMs` of each other under one key (the
 * bulk job: same caption options) into batches of up to `maxSize`, and runs
 * one batch at a time: inference is one compute stream per process anyway,
 * and a batch lets the encoder take several images in one pass.
 */
export class MicroBatcher<I, O> {
  private readonly pending = new Map<string, { items: I[]; settle: { resolve: (o: O) => void; reject: (e: Error) => void }[] }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: (key: string, items: I[]) => Promise<(O | Error)[]>,
    private readonly maxSize: number,
    private readonly waitMs: number,
  ) {}

  submit(key: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let batch = this.pending.get(key);
      if (!batch) {
        batch = { items: [], settle: [] };
        this.pending.set(key, batch);
        this.timers.set(
          key,
          setTimeout(() => this.flush(key), this.waitMs),
        );
      }
      batch.items.push(item);
      batch.settle.push({ resolve, reject });
      if (batch.items.length >= this.maxSize) this.flush(key);
    });
  }

  private flush(key: string): void {
    const batch = this.pending.get(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.pending.delete(key);
    if (!batch) return;
    this.chain = this.chain.then(async () => {
      let out: (O | Error)[];
      try {
        out = await this.run(key, batch.items);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        out = batch.items.map(() => e);
      }
      batch.settle.forEach((s, i) => {
        const o = out[i];
        if (o instanceof Error) s.reject(o);
        else if (o === undefined) s.reject(new Error('the batch gave no result for this item'));
        else s.resolve(o);
      });
    });
  }
}
