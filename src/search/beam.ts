import { runSearch, type Hypothesis, type Search, type SearchTokens, type StepModel } from './step-model.js';

export interface BeamOptions {
  beamSize: number;
  maxLength: number;
  /** Final ranking uses logprob / length^alpha; 0 ranks by raw log-probability. */
  lengthPenalty: number;
  /** How many distinct sequences to return (≤ beamSize). */
  n: number;
}

export interface ScoredHypothesis extends Hypothesis {
  score: number;
}

/** Length-normalised score used to rank hypotheses. */
export function normalizedScore(h: Hypothesis, alpha: number): number {
  return alpha === 0 ? h.logprob : h.logprob / Math.pow(Math.max(h.ids.length, 1), alpha);
}

/**
 * Beam search from one state row. At each step every live hypothesis is
 * extended by every token and the `beamSize` best extensions by total
 * log-probability are kept; those ending in the end token are finished and
 * leave the beam, so it shrinks. With beamSize 1 this is exactly greedy.
 * The kept set is always the true top-k of all extensions (im2txt once kept
 * them in the wrong order).
 *
 * Finished and unfinished hypotheses are ranked apart, finished first, as in
 * im2txt: a hypothesis cut off at maxLength has paid for fewer tokens and no
 * end token, so it would often outrank every complete sequence while being a
 * fragment. Unfinished ones are returned only to make up n (im2txt returns
 * them only when nothing finished; we fill, because the caller was promised n).
 */
export function beamSearch<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: BeamOptions): ScoredHypothesis[] {
  return runSearch(model, beamSteps(model, state, tokens, opts));
}

/** beamSearch as a coroutine (see Search): the same search, its steps yielded. */
export function* beamSteps<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: BeamOptions): Search<S, ScoredHypothesis[]> {
  if (opts.n > opts.beamSize) throw new RangeError(`n (${opts.n}) must be ≤ beamSize (${opts.beamSize})`);
  const V = model.vocabSize;
  let live: Hypothesis[] = [{ ids: [], logprob: 0 }];
  const finished: Hypothesis[] = [];
  let s = state;
  try {
    for (let t = 0; t < opts.maxLength && live.length > 0; t++) {
      const prev = live.map((h) => h.ids[h.ids.length - 1] ?? tokens.start);
      const out = yield { state: s, tokens: prev };
      if (s !== state) model.dispose(s);
      s = out.state;
      const kept: Kept<Hypothesis> = { finished, next: [], parents: [] };
      for (const c of bestExtensions(out.logProbs, live, V, opts.beamSize)) {
        place({ ids: [...live[c.row]!.ids, c.token], logprob: c.logprob }, c.row, tokens.end, kept);
      }
      s = keptRows(model, s, kept.parents);
      live = kept.next;
    }
  } finally {
    if (s !== state) model.dispose(s);
  }
  const best = distinctBest(finished, opts.n, opts.lengthPenalty);
  return best.length >= opts.n ? best : [...best, ...distinctBest(live, opts.n - best.length, opts.lengthPenalty)];
}

/** Where a step's extensions go: finished ones, and the next live ones with their parent rows. */
export interface Kept<H extends Hypothesis> {
  finished: H[];
  next: H[];
  parents: number[];
}

/** File extension `h` of live row `row`: finished when it ends in `end`, else live. */
export function place<H extends Hypothesis>(h: H, row: number, end: number, kept: Kept<H>): void {
  if (h.ids[h.ids.length - 1] === end) kept.finished.push(h);
  else {
    kept.next.push(h);
    kept.parents.push(row);
  }
}

/**
 * The rows of the hypotheses that stay live (their parents in `s`, which is
 * freed once gathered); `s` itself when none stay, for the caller to free.
 */
export function keptRows<S>(model: StepModel<S>, s: S, parents: readonly number[]): S {
  if (parents.length === 0) return s;
  const kept = model.gather(s, parents);
  model.dispose(s);
  return kept;
}

export interface Extension {
  /** Live hypothesis extended. */
  row: number;
  token: number;
  /** Total log-probability of the extended hypothesis. */
  logprob: number;
}

/** The k best (row, token) extensions by total log-probability, best first. */
export function bestExtensions(logProbs: Float32Array, live: readonly Hypothesis[], V: number, k: number): Extension[] {
  const best: Extension[] = [];
  for (let r = 0; r < live.length; r++) {
    const base = live[r]!.logprob;
    for (let w = 0; w < V; w++) keepBest(best, r, w, base + logProbs[r * V + w]!, k);
  }
  return best;
}

/** Insert the extension into `best` (best first) if it is among the k best; allocates only then. */
export function keepBest(best: Extension[], row: number, token: number, logprob: number, k: number): void {
  if (best.length >= k && logprob <= best[best.length - 1]!.logprob) return;
  let i = best.length;
  while (i > 0 && best[i - 1]!.logprob < logprob) i--;
  best.splice(i, 0, { row, token, logprob });
  if (best.length > k) best.pop();
}

function distinctBest(hyps: readonly Hypothesis[], n: number, alpha: number): ScoredHypothesis[] {
  return firstDistinct(
    hyps.map((h) => ({ ...h, score: normalizedScore(h, alpha) })).sort((a, b) => b.score - a.score),
    n,
  );
}

/** The first n hypotheses of `ordered` with distinct token sequences. */
export function firstDistinct<H extends Hypothesis>(ordered: readonly H[], n: number): H[] {
  const seen = new Set<string>();
  const out: H[] = [];
  for (const h of ordered) {
    if (out.length >= n) break;
    const key = h.ids.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out;
}
