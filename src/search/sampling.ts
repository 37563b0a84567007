import { rng } from '../util/random.js';
import { pickToken, type PickOptions } from './pick.js';
import type { Hypothesis, SearchTokens, StepModel } from './step-model.js';

export interface DrawOptions extends PickOptions {
  /** Same seed (and options), same tokens. */
  seed: number;
  /** A row that draws this token has ended: it draws nothing more. Absent: rows never end. */
  end?: number;
}

export interface DrawStep {
  /** Per row, the token drawn at this step; undefined for a row that had already ended. */
  tokens: (number | undefined)[];
  /** rows × vocabSize log-probabilities the tokens were drawn from (before temperature and top-k). */
  logProbs: Float32Array;
}

/**
 * Token-by-token generation for every row of `state`: feed `first`, pick a
 * token per row (argmax, or a sample with temperature and top-k), feed it
 * back. The caller decides the length by how far it iterates; the step after
 * the last one taken is never computed. Ends by itself once every row drew
 * `opts.end`. Greedy search, sampling and streamed char generation all run
 * on this one loop.
 */
export function* drawTokens<S>(
  model: StepModel<S>,
  state: S,
  first: readonly number[],
  opts: DrawOptions,
): Generator<DrawStep, void, undefined> {
  const V = model.vocabSize;
  const random = rng(opts.seed);
  const ended = new Array<boolean>(first.length).fill(false);
  let prev = [...first];
  let s = state;
  try {
    while (ended.includes(false)) {
      const out = model.step(s, prev);
      if (s !== state) model.dispose(s);
      s = out.state;
      const tokens = prev.map((_, r) => {
        if (ended[r]) return undefined;
        const id = pickToken(out.logProbs.subarray(r * V, (r + 1) * V), opts, random);
        if (id === opts.end) ended[r] = true;
        return id;
      });
      // Rows that ended are fed the end token; their outputs are never read.
      prev = tokens.map((id) => id ?? opts.end ?? 0);
      yield { tokens, logProbs: out.logProbs };
    }
  } finally {
    if (s !== state) model.dispose(s);
  }
}

/** Up to maxLength steps of `draws` as one hypothesis per row. */
function collect(draws: Iterable<DrawStep>, rows: number, vocabSize: number, maxLength: number): Hypothesis[] {
  const hyps: Hypothesis[] = Array.from({ length: rows }, () => ({ ids: [], logprob: 0 }));
  if (maxLength <= 0) return hyps;
  let t = 0;
  for (const { tokens, logProbs } of draws) {
    tokens.forEach((id, r) => {
      if (id === undefined) return;
      hyps[r]!.ids.push(id);
      hyps[r]!.logprob += logProbs[r * vocabSize + id]!;
    });
    if (++t >= maxLength) break;
  }
  return hyps;
}

/** The most likely token at each step, for every row of `state` at once (whole eval sets). */
export function greedySearch<S>(model: StepModel<S>, state: S, rows: number, tokens: SearchTokens, maxLength: number): Hypothesis[] {
  const first = new Array<number>(rows).fill(tokens.start);
  const draws = drawTokens(model, state, first, { temperature: 0, topK: 0, seed: 0, end: tokens.end });
  return collect(draws, rows, model.vocabSize, maxLength);
}

export interface SamplingOptions {
  /** Sequences to draw. */
  n: number;
  maxLength: number;
  /** Softmax temperature; 0 is greedy. */
  temperature: number;
  /** Draw only among the k most likely tokens (0: all). */
  topK?: number;
  seed: number;
}

/** n sequences sampled from one state row; the same seed gives the same sequences. */
export function sampleSequences<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: SamplingOptions): Hypothesis[] {
  const copies = model.gather(state, new Array<number>(opts.n).fill(0));
  try {
    const first = new Array<number>(opts.n).fill(tokens.start);
    const { temperature, topK = 0, seed } = opts;
    const draws = drawTokens(model, copies, first, { temperature, topK, seed, end: tokens.end });
    return collect(draws, opts.n, model.vocabSize, opts.maxLength);
  } finally {
    model.dispose(copies);
  }
}
