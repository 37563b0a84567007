import type { Hypothesis, StackableStepModel, StepModel } from '../../src/search/index.js';
import { rng } from '../../src/util/random.js';

export const START = 0;
export const END = 1;
export const TOKENS = { start: START, end: END };

/** A bigram model: log P(next | prev) from a table. The state is unused (one row per hypothesis). */
export function bigramModel(table: number[][]): StackableStepModel<number[]> {
  const V = table[0]!.length;
  return {
    vocabSize: V,
    step: (_state, tokens) => {
      const out = new Float32Array(tokens.length * V);
      tokens.forEach((t, r) => out.set(table[t]!.map(Math.log), r * V));
      return { logProbs: out, state: tokens.map(() => 0) };
    },
    gather: (_state, rows) => rows.map(() => 0),
    stack: (states) => states.flat(),
    dispose: () => {},
  };
}

export interface Tracked<S> {
  inner: S;
}

/**
 * Wraps a model to count steps and check state ownership: a search must
 * dispose every state it made (by step or gather) exactly once, never use it
 * after, and never dispose the state it was given.
 */
export class TrackedModel<S> implements StackableStepModel<Tracked<S>> {
  steps = 0;
  /** Rows of each step, in order. */
  readonly rows: number[] = [];
  private readonly live = new Set<Tracked<S>>();
  private readonly given = new Set<Tracked<S>>();

  constructor(private readonly model: StepModel<S> & Partial<Pick<StackableStepModel<S>, 'stack'>>) {}

  get vocabSize(): number {
    return this.model.vocabSize;
  }

  /** States made by the search and not yet disposed. */
  get alive(): number {
    return this.live.size;
  }

  /** A state that belongs to the caller. */
  initial(inner: S): Tracked<S> {
    const s = { inner };
    this.given.add(s);
    return s;
  }

  step(state: Tracked<S>, tokens: readonly number[]): { logProbs: Float32Array; state: Tracked<S> } {
    this.check(state);
    this.steps++;
    this.rows.push(tokens.length);
    const out = this.model.step(state.inner, tokens);
    return { logProbs: out.logProbs, state: this.make(out.state) };
  }

  gather(state: Tracked<S>, rows: readonly number[]): Tracked<S> {
    this.check(state);
    return this.make(this.model.gather(state.inner, rows));
  }

  stack(states: readonly Tracked<S>[]): Tracked<S> {
    states.forEach((s) => this.check(s));
    if (!this.model.stack) throw new Error('the wrapped model cannot stack states');
    return this.make(this.model.stack(states.map((s) => s.inner)));
  }

  dispose(state: Tracked<S>): void {
    if (!this.live.delete(state)) throw new Error('disposed a state twice, or one it does not own');
  }

  private make(inner: S): Tracked<S> {
    const s = { inner };
    this.live.add(s);
    return s;
  }

  private check(state: Tracked<S>): void {
    if (!this.live.has(state) && !this.given.has(state)) throw new Error('state used after dispose');
  }
}

/** A random bigram table over V tokens; no token ever predicts <start>. */
export function randomTable(V: number, seed: number): number[][] {
  const random = rng(seed);
  return Array.from({ length: V }, () => {
    const row = Array.from({ length: V }, (_, j) => (j === START ? 0 : random() + 0.05));
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((x) => x / total);
  });
}

/** Every sequence of at most maxLength tokens, scored exactly. */
export function bruteForce(table: number[][], maxLength: number): Hypothesis[] {
  const out: Hypothesis[] = [];
  const walk = (ids: number[], lp: number) => {
    const prev = ids[ids.length - 1] ?? START;
    for (let w = 1; w < table.length; w++) {
      const next = { ids: [...ids, w], logprob: lp + Math.log(table[prev]![w]!) };
      if (w === END || next.ids.length === maxLength) out.push(next);
      else walk(next.ids, next.logprob);
    }
  };
  walk([], 0);
  return out;
}
