/**
 * What the searches need from a language model. Rows are independent
 * sequences; `logProbs` is rows × vocabSize, row-major. Keeping this
 * interface free of tensors lets the searches run over any model (caption
 * decoder, char-rnn, a grounded decoder) and be tested with a hand-made one.
 *
 * Ownership: a search never disposes the state it was given; it disposes
 * every state it made (from step or gather) once it no longer needs it.
 */
export interface StepModel<S> {
  readonly vocabSize: number;
  /** Feed one token per row; returns the next-token log-probabilities and the new state. */
  step(state: S, tokens: readonly number[]): { logProbs: Float32Array; state: S };
  /** State rows picked (and possibly repeated) by index. */
  gather(state: S, rows: readonly number[]): S;
  dispose(state: S): void;
}

export interface Hypothesis {
  /** Token ids, without the start token, ending with the end token when finished. */
  ids: number[];
  /** Sum of log-probabilities of the ids. */
  logprob: number;
}

export interface SearchTokens {
  /** Fed first. */
  start: number;
  /** Ends a sequence. */
  end: number;
}

/** One step a search asks for: feed `tokens` (one per row) to `state`. */
export interface StepCall<S> {
  state: S;
  tokens: readonly number[];
}

/** What model.step returned for a StepCall. */
export interface StepResult<S> {
  logProbs: Float32Array;
  state: S;
}

/**
 * A search written as a coroutine: it yields each step it needs and is resumed
 * with that step's result, so one driver can run it alone (runSearch) and
 * another can run several in lockstep, their steps stacked into one batch
 * (runLockstep). It calls the model's gather and dispose itself, and owns the
 * states it is resumed with exactly as if it had called step.
 */
export type Search<S, R> = Generator<StepCall<S>, R, StepResult<S>>;

/** Run one search to its end, each step on `model`. */
export function runSearch<S, R>(model: StepModel<S>, search: Search<S, R>): R {
  let done = false;
  try {
    let next = search.next();
    while (!next.done) next = search.next(model.step(next.value.state, next.value.tokens));
    done = true;
    return next.value;
  } finally {
    // A step that threw leaves the search suspended: return() runs its finally blocks, which free its states.
    if (!done) search.return(undefined as R);
  }
}
