import { rng } from '../util/random.js';

/**
 * What the search algorithms need from a language model. Rows are
 * independent hypotheses; `logProbs` is rows × vocabSize, row-major.
 * Keeping this interface free of tensors lets the searches be tested with
 * a hand-made model.
 */
export interface StepModel<S> {
  readonly vocabSize: number;
  step(state: S, tokens: readonly number[]): { logProbs: Float32Array; state: S };
  /** State rows picked (and possibly repeated) by index. */
  gather(state: S, rows: readonly number[]): S;
  dispose(state: S): void;
}

export interface Hypothesis {
  /** Word ids, without <start>, ending with <end> when finished. */
  ids: number[];
  /** Sum of log-probabilities of the ids. */
  logprob: number;
}

export interface SearchTokens {
  start: number;
  end: number;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Greedy decoding of every row of `state` at once (used for whole eval sets). */
export function greedy<S>(model: StepModel<S>, state: S, rows: number, tokens: SearchTokens, maxLength: number): Hypothesis[] {
  const V = model.vocabSize;
  const hyps: Hypothesis[] = Array.from({ length: rows }, () => ({ ids: [], logprob: 0 }));
  const done = new Array<boolean>(rows).fill(false);
  let prev = new Array<number>(rows).fill(tokens.start);
  let s = state;
  for (let t = 0; t < maxLength && done.includes(false); t++) {
    const out = model.step(s, prev);
    if (s !== state) model.dispose(s);
    s = out.state;
    prev = prev.map((_, r) => {
      if (done[r]) return tokens.end;
      const row = out.logProbs.subarray(r * V, (r + 1) * V);
      const id = argmax(row);
      hyps[r]!.ids.push(id);
      hyps[r]!.logprob += row[id]!;
      if (id === tokens.end) done[r] = true;
      return id;
    });
  }
  if (s !== state) model.dispose(s);
  return hyps;
}

export interface BeamOptions {
  beamSize: number;
  maxLength: number;
  /** Final ranking uses logprob / length^alpha; 0 ranks by raw log-probability. */
  lengthPenalty: number;
  /** How many distinct finished captions to return (≤ beamSize). */
  n: number;
}

export interface ScoredHypothesis extends Hypothesis {
  score: number;
}

/** Length-normalised score used to rank finished hypotheses. */
export function normalizedScore(h: Hypothesis, alpha: number): number {
  return alpha === 0 ? h.logprob : h.logprob / Math.pow(Math.max(h.ids.length, 1), alpha);
}

/**
 * Beam search for one image (`state` has one row). At each step every live
 * hypothesis is extended by every word and the `beamSize` best extensions by
 * total log-probability are kept; those ending in <end> are finished and
 * leave the beam, so it shrinks. With beamSize 1 this is exactly greedy.
 * The kept set is always the true top-k of all extensions (im2txt once kept
 * them in the wrong order).
 */
export function beamSearch<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: BeamOptions): ScoredHypothesis[] {
  const V = model.vocabSize;
  let live: Hypothesis[] = [{ ids: [], logprob: 0 }];
  const finished: Hypothesis[] = [];
  let s = state;
  for (let t = 0; t < opts.maxLength && live.length > 0; t++) {
    const prev = live.map((h) => h.ids[h.ids.length - 1] ?? tokens.start);
    const out = model.step(s, prev);
    if (s !== state) model.dispose(s);
    const candidates = topK(out.logProbs, live, V, opts.beamSize);
    const next: Hypothesis[] = [];
    const parents: number[] = [];
    for (const c of candidates) {
      const h = { ids: [...live[c.row]!.ids, c.word], logprob: c.logprob };
      if (c.word === tokens.end) finished.push(h);
      else {
        next.push(h);
        parents.push(c.row);
      }
    }
    s = next.length > 0 ? model.gather(out.state, parents) : out.state;
    if (s !== out.state) model.dispose(out.state);
    live = next;
  }
  if (s !== state) model.dispose(s);
  finished.push(...live); // hit maxLength: keep the unfinished ones too
  return distinctBest(finished, opts.n, opts.lengthPenalty);
}

interface Candidate {
  row: number;
  word: number;
  logprob: number;
}

/** The k best (row, word) extensions by total log-probability, best first. */
export function topK(logProbs: Float32Array, live: readonly Hypothesis[], V: number, k: number): Candidate[] {
  const best: Candidate[] = [];
  for (let r = 0; r < live.length; r++) {
    const base = live[r]!.logprob;
    for (let w = 0; w < V; w++) {
      const lp = base + logProbs[r * V + w]!;
      if (best.length < k || lp > best[best.length - 1]!.logprob) {
        let i = best.length;
        while (i > 0 && best[i - 1]!.logprob < lp) i--;
        best.splice(i, 0, { row: r, word: w, logprob: lp });
        if (best.length > k) best.pop();
      }
    }
  }
  return best;
}

function distinctBest(hyps: Hypothesis[], n: number, alpha: number): ScoredHypothesis[] {
  const scored = hyps
    .map((h) => ({ ...h, score: normalizedScore(h, alpha) }))
    .sort((a, b) => b.score - a.score);
  const seen = new Set<string>();
  const out: ScoredHypothesis[] = [];
  for (const h of scored) {
    const key = h.ids.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
    if (out.length >= n) break;
  }
  return out;
}

export interface SampleOptions {
  n: number;
  maxLength: number;
  temperature: number;
  seed: number;
}

/** Draw one index from log-probabilities scaled by 1/temperature. */
export function sampleIndex(logProbs: Float32Array, temperature: number, random: () => number): number {
  if (temperature <= 0) return argmax(logProbs);
  let max = -Infinity;
  for (const v of logProbs) max = Math.max(max, v / temperature);
  let total = 0;
  const p = new Float64Array(logProbs.length);
  for (let i = 0; i < p.length; i++) total += p[i] = Math.exp(logProbs[i]! / temperature - max);
  let u = random() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u <= 0) return i;
  }
  return p.length - 1;
}

/** n captions sampled with temperature; the same seed gives the same captions. */
export function sample<S>(model: StepModel<S>, state: S, tokens: SearchTokens, opts: SampleOptions): Hypothesis[] {
  const V = model.vocabSize;
  const random = rng(opts.seed);
  const rows = Array.from({ length: opts.n }, () => 0);
  let s = model.gather(state, rows);
  const hyps: Hypothesis[] = rows.map(() => ({ ids: [], logprob: 0 }));
  const done = new Array<boolean>(opts.n).fill(false);
  let prev = new Array<number>(opts.n).fill(tokens.start);
  for (let t = 0; t < opts.maxLength && done.includes(false); t++) {
    const out = model.step(s, prev);
    model.dispose(s);
    s = out.state;
    prev = prev.map((_, r) => {
      if (done[r]) return tokens.end;
      const row = out.logProbs.subarray(r * V, (r + 1) * V);
      const id = sampleIndex(row, opts.temperature, random);
      hyps[r]!.ids.push(id);
      hyps[r]!.logprob += row[id]!;
      if (id === tokens.end) done[r] = true;
      return id;
    });
  }
  model.dispose(s);
  return hyps;
}
