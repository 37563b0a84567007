/**
 * Corpus BLEU-1..4 as computed by pycocoevalcap (bleu/bleu_scorer.py, called by
 * bleu/bleu.py with option='closest').
 *
 * Differences from "textbook" BLEU that pycocoevalcap has and we keep:
 *  - n-gram matches are clipped against the max count of that n-gram in any
 *    single reference, then summed over the whole corpus (not averaged per sentence);
 *  - the effective reference length of each sentence is the reference length
 *    closest to the hypothesis length, ties going to the shorter reference;
 *  - precisions are (correct + 1e-15) / (guess + 1e-9), so an order with no
 *    candidate n-grams contributes ~1e-6 instead of 0 or a division by zero;
 *  - the brevity-penalty ratio is (testlen + 1e-15) / (reflen + 1e-9), so even a
 *    perfect match is very slightly (~1e-10) below 1.
 */

/** A tokenised caption (what pycocoevalcap gets from `caption.split()`). */
export type Tokens = readonly string[];

/** BLEU-1, BLEU-2, BLEU-3, BLEU-4. */
export type BleuScores = [number, number, number, number];

export const BLEU_MAX_N = 4;
/** Added to numerators "so that if guess is 0 still return 0" (pycocoevalcap's comment). */
export const BLEU_TINY = 1e-15;
/** Added to denominators to avoid division by zero. */
export const BLEU_SMALL = 1e-9;

/** Joins n-gram tokens into a map key; tokens never contain it (they come from a whitespace split). */
const NGRAM_SEPARATOR = '\u0001';

/**
 * Counts of all n-grams of order 1..maxN; element k-1 holds the order-k counts.
 * Insertion order follows pycocoevalcap's precook (by order, then position), which
 * keeps floating-point summation order the same where callers iterate these maps.
 */
export function ngramCounts(tokens: Tokens, maxN: number): Map<string, number>[] {
  const byOrder: Map<string, number>[] = [];
  for (let k = 1; k <= maxN; k++) {
    const counts = new Map<string, number>();
    for (let i = 0; i + k <= tokens.length; i++) {
      const key = tokens.slice(i, i + k).join(NGRAM_SEPARATOR);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    byOrder.push(counts);
  }
  return byOrder;
}

/**
 * pycocoevalcap's 'closest' effective reference length:
 * `min((abs(l - testlen), l) for l in reflens)[1]`, i.e. ties pick the shorter one.
 */
export function closestRefLength(refLengths: readonly number[], testLength: number): number {
  let best: number | undefined;
  for (const len of refLengths) {
    if (best === undefined) {
      best = len;
      continue;
    }
    const d = Math.abs(len - testLength);
    const bestD = Math.abs(best - testLength);
    if (d < bestD || (d === bestD && len < best)) best = len;
  }
  if (best === undefined) throw new Error('closestRefLength: no reference lengths');
  return best;
}

/** Sufficient statistics of one hypothesis, as pycocoevalcap's cook_test produces them. */
export interface BleuSentenceStats {
  testLength: number;
  refLength: number;
  /** Number of candidate n-grams of order k+1: max(0, testlen - k). */
  guess: number[];
  /** Clipped matches of order k+1. */
  correct: number[];
}

/** Per-sentence BLEU statistics with clipping against the per-n-gram max over references. */
export function bleuSentenceStats(hyp: Tokens, refs: readonly Tokens[]): BleuSentenceStats {
  if (refs.length === 0) throw new Error('BLEU: a hypothesis needs at least one reference');
  // Max count of each n-gram in any single reference (cook_refs' maxcounts).
  const maxRefCounts = new Map<string, number>();
  for (const ref of refs) {
    for (const counts of ngramCounts(ref, BLEU_MAX_N)) {
      for (const [gram, c] of counts) maxRefCounts.set(gram, Math.max(maxRefCounts.get(gram) ?? 0, c));
    }
  }
  const guess: number[] = [];
  const correct: number[] = [];
  ngramCounts(hyp, BLEU_MAX_N).forEach((counts, k) => {
    guess.push(Math.max(0, hyp.length - k));
    let matched = 0;
    for (const [gram, c] of counts) matched += Math.min(maxRefCounts.get(gram) ?? 0, c);
    correct.push(matched);
  });
  return {
    testLength: hyp.length,
    refLength: closestRefLength(
      refs.map((r) => r.length),
      hyp.length,
    ),
    guess,
    correct,
  };
}

/**
 * Corpus BLEU-1..4 from summed statistics. BLEU-n is the geometric mean of the
 * first n smoothed precisions, times the corpus brevity penalty.
 */
export function bleuFromStats(stats: readonly BleuSentenceStats[]): BleuScores {
  let testLength = 0;
  let refLength = 0;
  const guess = new Array<number>(BLEU_MAX_N).fill(0);
  const correct = new Array<number>(BLEU_MAX_N).fill(0);
  for (const s of stats) {
    testLength += s.testLength;
    refLength += s.refLength;
    for (let k = 0; k < BLEU_MAX_N; k++) {
      guess[k] = (guess[k] ?? 0) + (s.guess[k] ?? 0);
      correct[k] = (correct[k] ?? 0) + (s.correct[k] ?? 0);
    }
  }

  const scores: number[] = [];
  let precisionProduct = 1;
  for (let k = 0; k < BLEU_MAX_N; k++) {
    precisionProduct *= ((correct[k] ?? 0) + BLEU_TINY) / ((guess[k] ?? 0) + BLEU_SMALL);
    scores.push(precisionProduct ** (1 / (k + 1)));
  }
  const ratio = (testLength + BLEU_TINY) / (refLength + BLEU_SMALL);
  const brevityPenalty = ratio < 1 ? Math.exp(1 - 1 / ratio) : 1;
  const [b1 = 0, b2 = 0, b3 = 0, b4 = 0] = scores.map((s) => s * brevityPenalty);
  return [b1, b2, b3, b4];
}

/**
 * Corpus BLEU-1..4. `hyps[i]` is scored against `refs[i]` (one or more references).
 */
export function corpusBleu(hyps: readonly Tokens[], refs: readonly (readonly Tokens[])[]): BleuScores {
  if (hyps.length !== refs.length) {
    throw new Error(`BLEU: ${hyps.length} hypotheses but ${refs.length} reference sets`);
  }
  return bleuFromStats(hyps.map((hyp, i) => bleuSentenceStats(hyp, refs[i] ?? [])));
}
