import { mentionedClasses } from './recall.js';
import type { WordTable } from './words.js';

/** Per class: how often the caption names it when the references do, and when they do not. */
export interface ObjectMentionRow {
  label: string;
  /** Images whose references name the class (≥ minCaptions of them). */
  inRefs: number;
  /** ... of which the caption names it too. */
  namedWhenInRefs: number;
  /** Images whose references do not name it but the caption does (a hallucination, or a detail the references skip). */
  namedWhenNotInRefs: number;
}

export interface ObjectMentionTable {
  rows: ObjectMentionRow[];
  /** Micro-averaged over classes: named when in references / in references. */
  recall: number;
  /** Captioned class mentions that the references share. */
  precision: number;
}

/**
 * The object table nocaps reports, on a word table's classes: an image's
 * references "name" a class when at least `minCaptions` of them do (so one
 * annotator's aside does not count), a caption when it does at all.
 */
export function objectMentionTable(
  table: WordTable,
  images: readonly { refs: readonly string[]; caption: string }[],
  minCaptions = 2,
): ObjectMentionTable {
  const rows = new Map<string, ObjectMentionRow>();
  const row = (label: string) => {
    let r = rows.get(label);
    if (!r) rows.set(label, (r = { label, inRefs: 0, namedWhenInRefs: 0, namedWhenNotInRefs: 0 }));
    return r;
  };
  for (const img of images) {
    const inRefs = mentionedClasses(table, img.refs, minCaptions);
    const named = mentionedClasses(table, [img.caption], 1);
    for (const label of inRefs) {
      const r = row(label);
      r.inRefs++;
      if (named.has(label)) r.namedWhenInRefs++;
    }
    for (const label of named) if (!inRefs.has(label)) row(label).namedWhenNotInRefs++;
  }
  const all = [...rows.values()].sort((a, b) => b.inRefs - a.inRefs || a.label.localeCompare(b.label));
  const inRefs = all.reduce((n, r) => n + r.inRefs, 0);
  const hits = all.reduce((n, r) => n + r.namedWhenInRefs, 0);
  const named = hits + all.reduce((n, r) => n + r.namedWhenNotInRefs, 0);
  return { rows: all, recall: inRefs ? hits / inRefs : 0, precision: named ? hits / named : 0 };
}

/** The table as Markdown, classes the references name most first. */
export function objectTableMarkdown(t: ObjectMentionTable): string {
  const lines = [
    '| class | images whose references name it | caption names it too | caption names it, references do not |',
    '|---|---|---|---|',
    ...t.rows.map((r) => `| ${r.label} | ${r.inRefs} | ${r.namedWhenInRefs} | ${r.namedWhenNotInRefs} |`),
    `| **all** (recall ${t.recall.toFixed(3)}, precision ${t.precision.toFixed(3)}) | ${t.rows.reduce((n, r) => n + r.inRefs, 0)} | ${t.rows.reduce((n, r) => n + r.namedWhenInRefs, 0)} | ${t.rows.reduce((n, r) => n + r.namedWhenNotInRefs, 0)} |`,
  ];
  return lines.join('\n');
}
