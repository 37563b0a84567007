import { rng } from '../util/random.js';
import { pickToken, type PickOptions } from './pick.js';
import { runSearch, type Hypothesis, type Search, type SearchTokens, type StepModel } from './step-model.js';

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

/** Per row, the token picked from its log-probabilities; undefined for rows that had ended (marked in `ended` as they end). */
function pickRows(logProbs: Float32Array, V: number, ended: boolean[], opts: DrawOptions, random: () => number): (number | undefined)[] {
  return ended.map((done, r) => {
    if (done) return undefined;
    const id = pickToken(logProbs.subarray(r * V, (r + 1) * V), opts, random);
    if (id === opts.end) ended[r] = true;
    return id;
  });
}

/** Rows that ended are fed the end token; their outputs are never read. */
const fed = (tokens: readonly (number | undefined)[], opts: DrawOptions) => tokens.map((id) => id ?? opts.end ?? 0);

/**
 * Token-by-token generation for every row of `state`: feed `first`, pick a
 * token per row (argmax, or a sample with temperature and top-k), feed it
 * back. The caller decides the length by how far it iterates; the step after
 * the last one taken is never computed. Ends by itself once every row drew
 * `opts.end`. Streamed char generation runs on it; drawSteps is the same loop
 * for a fixed length, as a coroutine.
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
      const tokens = pickRows(out.logProbs, V, ended, opts, random);
      prev = fed(tokens, opts);
      yield { tokens, logProbs: out.logProbs };
    }
  } finally {
    if (s !== state) model.dispose(s);
  }
}

/**
 * Up to maxLength steps of drawing (as drawTokens) for every row of `state`,
 * as one hypothesis per row; a coroutine (see Search). Greedy search and
 * sampling run on it.
 */
export function* drawSteps<S>(
  model: StepModel<S>,
  state: S,
  first: readonly number[],
  opts: DrawOptions,
  maxLength: number,
): Search<S, Hypothesis[]> {
  const V = model.vocabSize;
  const random = rng(opts.seed);
  const ended = new Array<boolean>(first.length).fill(false);
  const hyps: Hypothesis[] = first.map(() => ({ ids: [], logprob: 0 }));
  let prev = [...first];
  let s = state;
  try {
    for (let t = 0; t < maxLength && ended.includes(false); t++) {
      const out = yield { state: s, tokens: prev };
      if (s !== state) model.dispose(s);
      s = out.state;
      const tokens = pickRows(out.logProbs, V, ended, opts, random);
      tokens.forEach((id, r) => {
        if (id === undefined) return;
        hyps[r]!.ids.push(id);
        hyps[r]!.logprob += out.logProbs[r * V + id]!;
      });
      prev = fed(tokens, opts);
    }
  } finally {
    if (s !== state) model.dispose(s);
  }
  return hyps;
}

/** The most likely token at each step, for every row of `state` at once (whole eval sets). */
export function greedySearch<S>(model: StepModel<S>, state: S, rows: number, tokens: SearchTokens, maxLength: number): Hypothesis[] {
  return runSearch(model, greedySteps(model, state, rows, tokens, maxLength));
}

/** greedySearch as a coroutine. */
export function greedySteps<S>(
  model: StepModel<S>,
  state: S,
  rows: number,
  tokens: SearchTokens,
  maxLength: number,
): Search<S, Hypothesis[]> {
  const first = new Array<number>(rows).fill(tokens.start);
  return drawSteps(model, state, first, { temperature: 0, topK: 0, seed: 0, end: tokens.end }, maxLength);
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
  return runSearch(model, sampleSteps(model, state, tokens, opts));
}

/** sampleSequences as a coroutine. */
export function* sampleSteps<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: SamplingOptions): Search<S, Hypothesis[]> {
  const copies = model.gather(state, new Array<number>(opts.n).fill(0));
  try {
    const first = new Array<number>(opts.n).fill(tokens.start);
    const { temperature, topK = 0, seed } = opts;
    return yield* drawSteps(model, copies, first, { temperature, topK, seed, end: tokens.end }, opts.maxLength);
  } finally {
    model.dispose(copies);
  }
}
