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
