import { tokenizeWords } from '../text/tokenize.js';
import { findMentions, type WordTable } from './words.js';

export interface Coverage {
  captions: number;
  /** Captions naming at least one class. */
  withMention: number;
  /** Mentions per class label. */
  byClass: Map<string, number>;
  /** Count of each word (of those `isNoun` accepts) outside every mention. */
  uncovered: Map<string, number>;
}

/**
 * How much of a caption set the table covers: the captions that name some
 * class, mentions per class, and the words left outside any mention (those
 * `isNoun` keeps), to spot missing synonyms.
 */
export function coverage(table: WordTable, captions: readonly string[], isNoun: (caption: string) => ReadonlySet<string>): Coverage {
  const out: Coverage = { captions: captions.length, withMention: 0, byClass: new Map(), uncovered: new Map() };
  for (const caption of captions) {
    const tokens = tokenizeWords(caption);
    const mentions = findMentions(table, tokens);
    if (mentions.length > 0) out.withMention++;
    const inside = new Set<number>();
    for (const m of mentions) {
      out.byClass.set(m.label, (out.byClass.get(m.label) ?? 0) + 1);
      for (let i = m.start; i < m.end; i++) inside.add(i);
    }
    const nouns = isNoun(caption);
    tokens.forEach((t, i) => {
      if (!inside.has(i) && nouns.has(t)) out.uncovered.set(t, (out.uncovered.get(t) ?? 0) + 1);
    });
  }
  return out;
}

/** The n most frequent entries, most first (ties by word). */
export function topCounts(counts: ReadonlyMap<string, number>, n: number): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}
