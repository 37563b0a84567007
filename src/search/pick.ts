/** Choosing one token from one row of log-probabilities. */

/** Index of the largest value (ties: the lower index). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(values: Float32Array, k: number): number[] {
  const idx = Array.from(values, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}

/** Draw one index from softmax(logProbs / temperature); temperature ≤ 0 is argmax. */
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

export interface PickOptions {
  /** Softmax temperature; 0 picks the most likely token (argmax). */
  temperature: number;
  /** Sample only among the k most likely tokens (0: all; 1: argmax). */
  topK: number;
}

/**
 * The next token: argmax at temperature 0 (or top-k 1), else a sample from
 * softmax(logp / T) restricted to the `topK` most likely tokens.
 */
export function pickToken(logProbs: Float32Array, opts: PickOptions, random: () => number): number {
  if (opts.temperature <= 0 || opts.topK === 1) return argmax(logProbs);
  if (opts.topK <= 0 || opts.topK >= logProbs.length) return sampleIndex(logProbs, opts.temperature, random);
  const order = topIndices(logProbs, opts.topK);
  const sub = Float32Array.from(order, (i) => logProbs[i]!);
  return order[sampleIndex(sub, opts.temperature, random)]!;
}
