import {
  firstDistinct,
  keepBest,
  keptRows,
  place,
  type Kept,
  normalizedScore,
  type BeamOptions,
  type Extension,
  type ScoredHypothesis,
} from './beam.js';
import { runSearch, type Hypothesis, type Search, type SearchTokens, type StepModel } from './step-model.js';

/** Constraints beyond this many would need 2^C beams per step. */
export const MAX_CONSTRAINTS = 3;

export interface ConstrainedBeamOptions extends BeamOptions {
  /** Each constraint is met by writing any one of its tokens. */
  constraints: readonly (readonly number[])[];
}

interface Live extends Hypothesis {
  /** Bit c set once constraint c is met. */
  met: number;
}

/** Bits of the constraints each token meets. */
function tokenBits(constraints: readonly (readonly number[])[], vocabSize: number): Uint8Array {
  // An array, not a Map: it is read for every token of every row at every step. Tokens past the vocabulary are never written.
  const bits = new Uint8Array(vocabSize);
  constraints.forEach((tokens, c) => tokens.forEach((t) => (bits[t] = (bits[t] ?? 0) | (1 << c))));
  return bits;
}

function countBits(m: number): number {
  let n = 0;
  for (; m; m &= m - 1) n++;
  return n;
}

/**
 * Constrained beam search (Anderson et al. 2017): one beam of `beamSize` per set
 * of constraints met (2^C beams, C ≤ MAX_CONSTRAINTS), all stepped as one batch;
 * an extension that writes a constraint's token moves to the beam of the larger
 * set. The answer comes from the beam that met every constraint; when fewer
 * than n captions finished there, the beams that met most fill in, then
 * unfinished ones (as beamSearch does).
 */
export function constrainedBeamSearch<S>(
  model: StepModel<S>,
  state: S,
  tokens: SearchTokens,
  opts: ConstrainedBeamOptions,
): ScoredHypothesis[] {
  return runSearch(model, constrainedBeamSteps(model, state, tokens, opts));
}

/** constrainedBeamSearch as a coroutine (see Search). */
export function* constrainedBeamSteps<S>(
  model: StepModel<S>,
  state: S,
  tokens: SearchTokens,
  opts: ConstrainedBeamOptions,
): Search<S, ScoredHypothesis[]> {
  const C = opts.constraints.length;
  if (C > MAX_CONSTRAINTS) throw new RangeError(`at most ${MAX_CONSTRAINTS} constraints; got ${C}`);
  if (opts.n > opts.beamSize) throw new RangeError(`n (${opts.n}) must be ≤ beamSize (${opts.beamSize})`);
  const V = model.vocabSize;
  const bits = tokenBits(opts.constraints, V);
  const beams = 1 << C;
  let live: Live[] = [{ ids: [], logprob: 0, met: 0 }];
  const finished: Live[] = [];
  let s = state;
  try {
    for (let t = 0; t < opts.maxLength && live.length > 0; t++) {
      const out = yield { state: s, tokens: live.map((h) => h.ids[h.ids.length - 1] ?? tokens.start) };
      if (s !== state) model.dispose(s);
      s = out.state;
      // The best extensions into each beam, best first.
      const best: Extension[][] = Array.from({ length: beams }, () => []);
      live.forEach((h, r) => {
        for (let w = 0; w < V; w++) {
          const lp = h.logprob + out.logProbs[r * V + w]!;
          if (lp !== -Infinity) keepBest(best[h.met | bits[w]!]!, r, w, lp, opts.beamSize);
        }
      });
      const kept: Kept<Live> = { finished, next: [], parents: [] };
      best.forEach((list, met) => {
        for (const c of list) place({ ids: [...live[c.row]!.ids, c.token], logprob: c.logprob, met }, c.row, tokens.end, kept);
      });
      s = keptRows(model, s, kept.parents);
      live = kept.next;
    }
  } finally {
    if (s !== state) model.dispose(s);
  }
  return ranked(finished, live, opts);
}

/** Finished before unfinished, then more constraints met, then score; n distinct. */
function ranked(finished: readonly Live[], live: readonly Live[], opts: ConstrainedBeamOptions): ScoredHypothesis[] {
  const order = (hs: readonly Live[]) =>
    hs
      .map((h) => ({ ids: h.ids, logprob: h.logprob, met: countBits(h.met), score: normalizedScore(h, opts.lengthPenalty) }))
      .sort((a, b) => b.met - a.met || b.score - a.score);
  return firstDistinct([...order(finished), ...order(live)], opts.n).map(({ ids, logprob, score }) => ({ ids, logprob, score }));
}
