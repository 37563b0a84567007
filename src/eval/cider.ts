/**
 * CIDEr-D as computed by pycocoevalcap / vrama91's pyciderevalcap
 * (ciderD/ciderD_scorer.py) with df_mode='corpus'.
 *
 * - Document frequency df(g): number of images of the *evaluated corpus* whose
 *   reference set contains n-gram g (each image counted once).
 * - tf-idf weight of g in a caption: tf(g) * (log(N) - log(max(1, df(g)))), N = number
 *   of images. N-grams absent from all references get df 1 (weight log N); n-grams
 *   present in every image's references get weight 0. With N = 1 every weight is 0,
 *   so a one-image corpus always scores 0 (this is pycocoevalcap's behaviour).
 * - For each order n = 1..4 and each reference: sum over candidate n-grams of
 *   min(hyp_w, ref_w) * ref_w (clipping: repeating a word cannot buy more than the
 *   reference weight), divided by |hyp_n| |ref_n| when both norms are non-zero
 *   (norms are those of the unclipped vectors), times a gaussian length penalty
 *   exp(-delta^2 / (2 sigma^2)), sigma = 6.
 * - Per image: mean over n of the sum over references, divided by the number of
 *   references, times 10. Corpus score: mean over images.
 *
 * Quirk kept on purpose: the "length" used for delta is the number of *bigrams*
 * in the caption (the original code adds term frequencies when the 0-based order
 * index is 1), i.e. max(0, words - 1). For non-empty captions on both sides this is
 * the same delta as a word-count difference; it differs only when a side is empty.
 */
import { ngramCounts, type Tokens } from './bleu.js';

export const CIDER_MAX_N = 4;
export const CIDER_SIGMA = 6;

export interface CiderDOptions {
  /** Highest n-gram order (default 4). */
  n?: number;
  /** Standard deviation of the gaussian length penalty (default 6). */
  sigma?: number;
}

export interface CiderDResult {
  /** Mean of `perImage`. */
  score: number;
  /** CIDEr-D of each hypothesis, in input order. */
  perImage: number[];
}

/** One caption as tf-idf vectors per n-gram order, with their L2 norms. */
interface TfIdfVector {
  weights: Map<string, number>[];
  norms: number[];
  /** Bigram count (see the quirk described at the top of this file). */
  length: number;
}

/** df over the corpus references: each image contributes at most 1 per n-gram. */
export function documentFrequency(refCounts: readonly (readonly Map<string, number>[][])[]): Map<string, number> {
  const df = new Map<string, number>();
  for (const imageRefs of refCounts) {
    const seen = new Set<string>();
    for (const ref of imageRefs) for (const counts of ref) for (const gram of counts.keys()) seen.add(gram);
    for (const gram of seen) df.set(gram, (df.get(gram) ?? 0) + 1);
  }
  return df;
}

/** pycocoevalcap's counts2vec. */
function toTfIdf(counts: readonly Map<string, number>[], df: ReadonlyMap<string, number>, refLen: number): TfIdfVector {
  const weights: Map<string, number>[] = [];
  const norms: number[] = [];
  let length = 0;
  counts.forEach((orderCounts, k) => {
    const w = new Map<string, number>();
    let squared = 0;
    for (const [gram, tf] of orderCounts) {
      const idfLog = Math.log(Math.max(1, df.get(gram) ?? 0));
      const value = tf * (refLen - idfLog);
      w.set(gram, value);
      squared += value ** 2;
      if (k === 1) length += tf;
    }
    weights.push(w);
    norms.push(Math.sqrt(squared));
  });
  return { weights, norms, length };
}

/** pycocoevalcap's sim: clipped cosine similarity per order, times the length penalty. */
function similarity(hyp: TfIdfVector, ref: TfIdfVector, sigma: number): number[] {
  const delta = hyp.length - ref.length;
  // Written as e ** x like the original (np.e ** ...), not Math.exp, to stay bit-close.
  const penalty = Math.E ** (-(delta ** 2) / (2 * sigma ** 2));
  return hyp.weights.map((hypWeights, k) => {
    const refWeights = ref.weights[k] ?? new Map<string, number>();
    let val = 0;
    for (const [gram, h] of hypWeights) {
      const r = refWeights.get(gram) ?? 0;
      val += Math.min(h, r) * r;
    }
    const hn = hyp.norms[k] ?? 0;
    const rn = ref.norms[k] ?? 0;
    if (hn !== 0 && rn !== 0) val /= hn * rn;
    return val * penalty;
  });
}

/** An image's references, as tf-idf vectors under one scorer's document frequencies. */
export interface CiderDReferences {
  readonly vectors: readonly TfIdfVector[];
}

/**
 * CIDEr-D with fixed document frequencies: build it once from a corpus's references (for SCST,
 * the training set's: pycocoevalcap's df_mode other than 'corpus', with log N the number of
 * images the df came from), then score single candidates against an image's references.
 * ciderD is this scorer built from the evaluated corpus itself.
 */
export class CiderDScorer {
  readonly n: number;
  readonly sigma: number;
  /** log of the number of images the document frequencies were counted over. */
  private readonly refLen: number;

  private constructor(
    private readonly df: ReadonlyMap<string, number>,
    images: number,
    options: CiderDOptions,
  ) {
    this.n = options.n ?? CIDER_MAX_N;
    this.sigma = options.sigma ?? CIDER_SIGMA;
    this.refLen = Math.log(images);
  }

  /** Document frequencies over these images' references (each a list of tokenised captions). */
  static fromReferences(refs: readonly (readonly Tokens[])[], options: CiderDOptions = {}): CiderDScorer {
    const n = options.n ?? CIDER_MAX_N;
    return CiderDScorer.fromCounts(
      refs.map((imageRefs) => imageRefs.map((r) => ngramCounts(r, n))),
      options,
    );
  }

  /** As fromReferences, from n-gram counts already taken (ngramCounts with the same n). */
  static fromCounts(refCounts: readonly (readonly Map<string, number>[][])[], options: CiderDOptions = {}): CiderDScorer {
    if (refCounts.length === 0) throw new Error('CIDEr-D: no reference images for document frequencies');
    return new CiderDScorer(documentFrequency(refCounts), refCounts.length, options);
  }

  /** One image's references as vectors, to score many candidates against them. */
  references(refs: readonly Tokens[]): CiderDReferences {
    return this.referencesFromCounts(refs.map((r) => ngramCounts(r, this.n)));
  }

  referencesFromCounts(counts: readonly Map<string, number>[][]): CiderDReferences {
    if (counts.length === 0) throw new Error('CIDEr-D: no references');
    return { vectors: counts.map((c) => toTfIdf(c, this.df, this.refLen)) };
  }

  /** CIDEr-D of one candidate against one image's references (prepared by `references`, or raw). */
  score(hyp: Tokens, refs: CiderDReferences | readonly Tokens[]): number {
    const prepared = isPrepared(refs) ? refs : this.references(refs);
    const hypVec = toTfIdf(ngramCounts(hyp, this.n), this.df, this.refLen);
    const summed = new Array<number>(this.n).fill(0);
    for (const ref of prepared.vectors) {
      similarity(hypVec, ref, this.sigma).forEach((v, k) => {
        summed[k] = (summed[k] ?? 0) + v;
      });
    }
    return (mean(summed) / prepared.vectors.length) * 10;
  }
}

function isPrepared(refs: CiderDReferences | readonly Tokens[]): refs is CiderDReferences {
  return !Array.isArray(refs);
}

/**
 * CIDEr-D of `hyps[i]` against `refs[i]`, with idf taken from the references of
 * exactly this corpus.
 */
export function ciderD(hyps: readonly Tokens[], refs: readonly (readonly Tokens[])[], options: CiderDOptions = {}): CiderDResult {
  const n = options.n ?? CIDER_MAX_N;
  if (hyps.length !== refs.length) {
    throw new Error(`CIDEr-D: ${hyps.length} hypotheses but ${refs.length} reference sets`);
  }
  if (hyps.length === 0) throw new Error('CIDEr-D: empty corpus');

  const refCounts = refs.map((imageRefs, i) => {
    if (imageRefs.length === 0) throw new Error(`CIDEr-D: hypothesis ${i} has no references`);
    return imageRefs.map((r) => ngramCounts(r, n));
  });
  const scorer = CiderDScorer.fromCounts(refCounts, options);
  const perImage = hyps.map((hyp, i) => scorer.score(hyp, scorer.referencesFromCounts(refCounts[i] ?? [])));
  return { score: mean(perImage), perImage };
}

function mean(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}
