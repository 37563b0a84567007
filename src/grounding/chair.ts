/**
 * CHAIR (Rohrbach et al. 2018, "Object Hallucination in Image Captioning"):
 * how much of what captions name is not in the photo, measured against
 * annotated instances rather than against other captions.
 *
 * - A caption's object mentions are the words and multi-word names that name
 *   one of the 80 COCO classes through the word ↔ class table (findMentions:
 *   longest phrase first, so "hot dog" is one food mention, not a dog; people
 *   words such as "man", "skier", "children" name person). Every occurrence
 *   counts: "a man and a woman" is two person mentions. Words the table flags
 *   as ambiguous (orange the colour, board, glass) are left out by default, as
 *   they more often name something else.
 * - A mention is hallucinated when the photo has no annotated instance of its
 *   class.
 * - CHAIR-i = hallucinated mentions / all mentions, over all captions.
 * - CHAIR-s = captions with at least one hallucinated mention / all captions
 *   (captions that mention nothing count, as hallucination-free).
 * - Per class: mentions, hallucinated mentions and their ratio (CHAIR-i of the class); the
 *   captions that hallucinate it at least once (its part of CHAIR-s); and its recall, the
 *   captions naming it among those whose photo has it. Classes annotated but never named
 *   are listed too, so what captions miss shows beside what they invent.
 * - Object recall (CHAIR's coverage): per caption, the photo's annotated
 *   classes (those with at least one instance) that the caption mentions,
 *   divided by the photo's annotated classes, micro-averaged: Σ covered /
 *   Σ annotated over all captions. Photos with no annotation add nothing to it.
 *
 * Unlike the original, which also takes objects from the reference captions
 * as ground truth, the ground truth here is the instance annotations alone.
 */
import { tokenizeWords } from '../text/tokenize.js';
import { findMentions, type WordTable } from './words.js';

/** One caption with the classes its photo has at least one instance of. */
export interface ChairItem {
  caption: string;
  truth: ReadonlySet<string>;
}

export interface ChairClassRow {
  label: string;
  mentions: number;
  hallucinated: number;
  /** hallucinated / mentions (0 without mentions). */
  chairI: number;
  /** Captions with at least one hallucinated mention of the class. */
  hallucinatedCaptions: number;
  /** Captions whose photo has the class. */
  annotated: number;
  /** Of those, captions that name it. */
  covered: number;
  /** covered / annotated (0 when never annotated). */
  recall: number;
}

export interface ChairScores {
  captions: number;
  /** Captions with at least one hallucinated mention. */
  hallucinatedCaptions: number;
  mentions: number;
  hallucinated: number;
  chairI: number;
  chairS: number;
  /** Σ over captions of annotated classes the caption mentions. */
  covered: number;
  /** Σ over captions of the photo's annotated classes. */
  annotated: number;
  /** covered / annotated. */
  recall: number;
  /** Classes mentioned or annotated at least once, most hallucinated first (then most mentioned, most annotated). */
  perClass: ChairClassRow[];
}

export interface ChairOptions {
  /** Count words the table flags as ambiguous too (default false). */
  ambiguous?: boolean;
}

/** The class labels a caption mentions, one per mention, left to right. */
export function objectMentions(table: WordTable, caption: string, opts: ChairOptions = {}): string[] {
  return findMentions(table, tokenizeWords(caption))
    .filter((m) => opts.ambiguous || !m.ambiguous)
    .map((m) => m.label);
}

/** CHAIR-i, CHAIR-s, per-class rows and object recall from mentions per caption and the ground-truth class sets. */
export function chairFromMentions(items: readonly { mentions: readonly string[]; truth: ReadonlySet<string> }[]): ChairScores {
  const rows = new Map<string, ChairClassRow>();
  let mentions = 0;
  let hallucinated = 0;
  let hallucinatedCaptions = 0;
  let covered = 0;
  let annotated = 0;
  const rowOf = (label: string): ChairClassRow => {
    let row = rows.get(label);
    if (!row) {
      row = { label, mentions: 0, hallucinated: 0, chairI: 0, hallucinatedCaptions: 0, annotated: 0, covered: 0, recall: 0 };
      rows.set(label, row);
    }
    return row;
  };
  for (const item of items) {
    const wrong = new Set<string>();
    for (const label of item.mentions) {
      const row = rowOf(label);
      row.mentions++;
      mentions++;
      if (!item.truth.has(label)) {
        row.hallucinated++;
        hallucinated++;
        wrong.add(label);
      }
    }
    if (wrong.size > 0) hallucinatedCaptions++;
    for (const label of wrong) rowOf(label).hallucinatedCaptions++;
    const named = new Set(item.mentions);
    annotated += item.truth.size;
    for (const label of item.truth) {
      const row = rowOf(label);
      row.annotated++;
      if (named.has(label)) {
        row.covered++;
        covered++;
      }
    }
  }
  const perClass = [...rows.values()]
    .map((r) => ({ ...r, chairI: r.mentions ? r.hallucinated / r.mentions : 0, recall: r.annotated ? r.covered / r.annotated : 0 }))
    .sort(
      (a, b) =>
        b.hallucinated - a.hallucinated ||
        b.chairI - a.chairI ||
        b.mentions - a.mentions ||
        b.annotated - a.annotated ||
        a.label.localeCompare(b.label),
    );
  const captions = items.length;
  return {
    captions,
    hallucinatedCaptions,
    mentions,
    hallucinated,
    chairI: mentions ? hallucinated / mentions : 0,
    chairS: captions ? hallucinatedCaptions / captions : 0,
    covered,
    annotated,
    recall: annotated ? covered / annotated : 0,
    perClass,
  };
}

/** CHAIR over captions, each scored against its own photo's annotated classes. */
export function chair(table: WordTable, items: readonly ChairItem[], opts: ChairOptions = {}): ChairScores {
  return chairFromMentions(items.map((it) => ({ mentions: objectMentions(table, it.caption, opts), truth: it.truth })));
}

/** One line: "CHAIR-s 0.380 (30/80 captions)  CHAIR-i 0.260 (26/100 mentions)  recall 0.410 (41/100)". */
export function chairSummary(s: ChairScores): string {
  return (
    `CHAIR-s ${s.chairS.toFixed(3)} (${s.hallucinatedCaptions}/${s.captions} captions)  ` +
    `CHAIR-i ${s.chairI.toFixed(3)} (${s.hallucinated}/${s.mentions} mentions)  ` +
    `recall ${s.recall.toFixed(3)} (${s.covered}/${s.annotated} annotated classes)`
  );
}

/**
 * The per-class table as Markdown, most hallucinated first: CHAIR-i of the class, the captions
 * that invent it, and how often it is named when the photo has it.
 */
export function chairTableMarkdown(s: ChairScores): string {
  return [
    '| class | mentions | hallucinated | CHAIR-i | captions inventing it | photos with it | named there | recall |',
    '|---|---|---|---|---|---|---|---|',
    ...s.perClass.map(
      (r) =>
        `| ${r.label} | ${r.mentions} | ${r.hallucinated} | ${r.chairI.toFixed(3)} | ${r.hallucinatedCaptions} | ${r.annotated} | ${r.covered} | ${r.recall.toFixed(3)} |`,
    ),
    `| **all** | ${s.mentions} | ${s.hallucinated} | ${s.chairI.toFixed(3)} | ${s.hallucinatedCaptions} | ${s.annotated} | ${s.covered} | ${s.recall.toFixed(3)} |`,
  ].join('\n');
}
