import type { DetectedObject } from '../../encoder/types.js';
import { findMentions, type WordTable } from '../../grounding/words.js';

/**
 * Word → region links from the decoder's own attention (issue 21 items 2 and 6):
 * the region a class word points at is the region of that class the decoder
 * attended to most while writing it, so the link says where the word came from
 * rather than guessing it from the detections afterwards. Pure functions.
 */

/** A caption word: `region` indexes the image's kept regions (SelectedRegions.objects); `beta` is the sentinel's share when it was written. */
export interface AttentionWord {
  text: string;
  region?: number;
  beta: number;
}

/**
 * Each token's region: a token of an unambiguous class mention (findMentions, so "hot dog" is one
 * food mention) links to the region of that class with the most attention summed over the
 * mention's tokens; a class without a kept region, or any other token, links to none.
 * `alpha[t]` is token t's region shares [k] (the whole image and padding after objects.length).
 */
export function regionLinks(
  table: WordTable,
  tokens: readonly string[],
  alpha: readonly Float32Array[],
  objects: readonly DetectedObject[],
): (number | undefined)[] {
  const links = new Array<number | undefined>(tokens.length).fill(undefined);
  for (const m of findMentions(table, tokens)) {
    if (m.ambiguous) continue;
    let best: number | undefined;
    let bestShare = -Infinity;
    objects.forEach((o, j) => {
      if (o.classId !== m.classId) return;
      let share = 0;
      for (let t = m.start; t < m.end; t++) share += alpha[t]![j]!;
      // Ties go to the first (best-scoring) region.
      if (share > bestShare) [best, bestShare] = [j, share];
    });
    for (let t = m.start; t < m.end; t++) links[t] = best;
  }
  return links;
}

export interface ShareSummary {
  words: number;
  /** Mean β over those words (0 when there are none). */
  meanBeta: number;
}

/**
 * Mean sentinel share β on the words that name a COCO class and on all others, over captions
 * whose words carry β (the model card's check that class words lean on the regions: a lower
 * β there than on "a", "is", "the").
 */
export function sentinelShares(
  table: WordTable,
  captions: readonly { words: readonly { text: string; beta?: number }[] }[],
): { classWords: ShareSummary; otherWords: ShareSummary } {
  const sums = { classWords: { words: 0, total: 0 }, otherWords: { words: 0, total: 0 } };
  for (const c of captions) {
    const named = new Set<number>();
    for (const m of findMentions(
      table,
      c.words.map((w) => w.text),
    )) {
      if (!m.ambiguous) for (let t = m.start; t < m.end; t++) named.add(t);
    }
    c.words.forEach((w, t) => {
      if (w.beta === undefined) return;
      const bucket = named.has(t) ? sums.classWords : sums.otherWords;
      bucket.words++;
      bucket.total += w.beta;
    });
  }
  const summary = (s: { words: number; total: number }): ShareSummary => ({ words: s.words, meanBeta: s.words ? s.total / s.words : 0 });
  return { classWords: summary(sums.classWords), otherWords: summary(sums.otherWords) };
}
