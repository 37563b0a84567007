import type { Search, StepCall, StepModel } from './step-model.js';

/** A StepModel whose states can be stacked: the rows of several states as one state, in order. */
export interface StackableStepModel<S> extends StepModel<S> {
  stack(states: readonly S[]): S;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * Several searches in lockstep: at each round, the step of every search still
 * running is stacked into one model.step (one batch, so concurrent requests
 * share the decoder's matrix products), and each search is resumed with its own
 * rows. The searches may differ in kind and options and end at different
 * rounds. Returns, in order, each search's result or the error it threw; a
 * step that throws fails the searches in it and frees their states.
 */
export function runLockstep<S, R>(model: StackableStepModel<S>, searches: readonly Search<S, R>[]): (R | Error)[] {
  const results = new Array<R | Error>(searches.length);
  let pending: [number, StepCall<S>][] = [];
  const resume = (i: number, next: () => IteratorResult<StepCall<S>, R>) => {
    try {
      const r = next();
      if (r.done) results[i] = r.value;
      else pending.push([i, r.value]);
    } catch (err) {
      results[i] = asError(err);
    }
  };
  searches.forEach((s, i) => resume(i, () => s.next()));
  while (pending.length > 0) {
    const calls = pending;
    pending = [];
    if (calls.length === 1) {
      // Alone: its own state, no stacking or splitting.
      const [i, call] = calls[0]!;
      let out: ReturnType<StepModel<S>['step']>;
      try {
        out = model.step(call.state, call.tokens);
      } catch (err) {
        fail(searches, [i], results, err);
        continue;
      }
      resume(i, () => searches[i]!.next(out));
      continue;
    }
    const V = model.vocabSize;
    const stacked = model.stack(calls.map(([, c]) => c.state));
    let out: ReturnType<StepModel<S>['step']>;
    try {
      out = model.step(
        stacked,
        calls.flatMap(([, c]) => c.tokens),
      );
    } catch (err) {
      fail(
        searches,
        calls.map(([i]) => i),
        results,
        err,
      );
      continue;
    } finally {
      model.dispose(stacked);
    }
    let row = 0;
    const parts = calls.map(([i, call]) => {
      const n = call.tokens.length;
      const rows = Array.from({ length: n }, (_, k) => row + k);
      const part = { i, logProbs: out.logProbs.subarray(row * V, (row + n) * V), state: model.gather(out.state, rows) };
      row += n;
      return part;
    });
    model.dispose(out.state);
    for (const p of parts) resume(p.i, () => searches[p.i]!.next({ logProbs: p.logProbs, state: p.state }));
  }
  return results;
}

/** Record `err` for searches `at` and end them, so their finally blocks free what they hold. */
function fail<S, R>(searches: readonly Search<S, R>[], at: number[], results: (R | Error)[], err: unknown): void {
  for (const i of at) {
    results[i] = asError(err);
    try {
      searches[i]!.return(undefined as R);
    } catch {
      // its own error is already recorded
    }
  }
}
