/**
 * ROUGE-L as computed by pycocoevalcap (rouge/rouge.py).
 *
 * Per image: for every reference compute LCS precision (lcs / |candidate|) and
 * recall (lcs / |reference|); take the max precision and the max recall over the
 * references *independently* (they may come from different references), then
 * F = (1 + beta^2) P R / (R + beta^2 P) with beta = 1.2. The corpus score is the
 * plain mean over images.
 */
import type { Tokens } from './bleu.js';

/** pycocoevalcap's beta ("updated ... based on discussion with Hovey"). */
export const ROUGE_BETA = 1.2;

/** Length of the longest common subsequence of two token sequences (O(|a||b|) time, O(|b|) memory). */
export function lcsLength(a: Tokens, b: Tokens): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let curr = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      curr[j] = a[i - 1] === b[j - 1] ? (prev[j - 1] ?? 0) + 1 : Math.max(prev[j] ?? 0, curr[j - 1] ?? 0);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length] ?? 0;
}

/**
 * pycocoevalcap splits the joined caption with `split(" ")`, so a caption with no
 * tokens becomes [""] (length 1) rather than []: it scores 0 instead of dividing by 0.
 */
function asPythonSpaceSplit(tokens: Tokens): Tokens {
  return tokens.length === 0 ? [''] : tokens;
}

/** ROUGE-L F-score of one candidate against its references. */
export function rougeLSentence(hyp: Tokens, refs: readonly Tokens[], beta = ROUGE_BETA): number {
  if (refs.length === 0) throw new Error('ROUGE-L: a hypothesis needs at least one reference');
  const cand = asPythonSpaceSplit(hyp);
  let precMax = -Infinity;
  let recMax = -Infinity;
  for (const r of refs) {
    const ref = asPythonSpaceSplit(r);
    const lcs = lcsLength(ref, cand);
    precMax = Math.max(precMax, lcs / cand.length);
    recMax = Math.max(recMax, lcs / ref.length);
  }
  if (precMax === 0 || recMax === 0) return 0;
  const b2 = beta ** 2;
  return ((1 + b2) * precMax * recMax) / (recMax + b2 * precMax);
}

/** Corpus ROUGE-L: mean of the per-image scores, which are returned too. */
export function rougeL(
  hyps: readonly Tokens[],
  refs: readonly (readonly Tokens[])[],
  beta = ROUGE_BETA,
): { score: number; perImage: number[] } {
  if (hyps.length !== refs.length) {
    throw new Error(`ROUGE-L: ${hyps.length} hypotheses but ${refs.length} reference sets`);
  }
  const perImage = hyps.map((hyp, i) => rougeLSentence(hyp, refs[i] ?? [], beta));
  return { score: mean(perImage), perImage };
}

function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}
