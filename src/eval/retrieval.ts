/**
 * Nearest-neighbour caption retrieval (Devlin et al. 2015), a cheap screen of
 * which image features carry caption meaning: each query image borrows the
 * consensus caption of its k nearest training images.
 */

/** Column mean and std over rows (std floored so constant columns stay finite). */
export function columnStats(data: Float32Array, dim: number): { mean: Float64Array; std: Float64Array } {
  const rows = data.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) {
      const v = data[r * dim + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  const std = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j]! /= rows;
    std[j] = Math.sqrt(Math.max(sq[j]! / rows - mean[j]! * mean[j]!, 0)) + 1e-6;
  }
  return { mean, std };
}

/** Rows standardised by `stats`, then scaled to unit length (so dot products are cosines). */
export function standardizeRows(data: Float32Array, dim: number, stats: { mean: Float64Array; std: Float64Array }): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = (data[r * dim + j]! - stats.mean[j]!) / stats.std[j]!;
      out[r * dim + j] = v;
      norm += v * v;
    }
    const s = 1 / (Math.sqrt(norm) || 1);
    for (let j = 0; j < dim; j++) out[r * dim + j]! *= s;
  }
  return out;
}

/** Indices of the k rows of `base` most cosine-similar to `query` (both unit rows), best first. */
export function nearest(base: Float32Array, query: Float32Array, dim: number, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let r = 0; r < base.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += base[r * dim + j]! * query[j]!;
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ i: r, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

function grams(tokens: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= 2; n++)
    for (let i = 0; i + n <= tokens.length; i++) {
      const g = tokens.slice(i, i + n).join(' ');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
  return m;
}

/** Unigram + bigram F1 of two token lists. */
function overlap(a: Map<string, number>, b: Map<string, number>): number {
  let hit = 0;
  let na = 0;
  let nb = 0;
  for (const v of a.values()) na += v;
  for (const v of b.values()) nb += v;
  for (const [g, v] of a) hit += Math.min(v, b.get(g) ?? 0);
  return na + nb === 0 ? 0 : (2 * hit) / (na + nb);
}

/** The candidate most like the others (mean n-gram F1): the consensus caption. */
export function consensus(candidates: readonly (readonly string[])[]): number {
  const g = candidates.map(grams);
  let best = 0;
  let bestScore = -1;
  g.forEach((a, i) => {
    const score = g.reduce((s, b, j) => (i === j ? s : s + overlap(a, b)), 0);
    if (score > bestScore) [best, bestScore] = [i, score];
  });
  return best;
}
