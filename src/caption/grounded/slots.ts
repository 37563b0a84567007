import type { ObjectEntry } from '../../grounding/entries.js';
import { findMentions, type WordTable } from '../../grounding/words.js';
import { SPECIALS, Vocab } from '../../text/vocab.js';

/** Slot tokens: "a class the detector found goes here", singular or plural. */
export const SLOT = '<slot>';
export const SLOTS = '<slots>';
/** They follow the specials, so their ids are fixed in every grounded vocabulary. */
export const SLOT_ID = SPECIALS.length;
export const SLOTS_ID = SPECIALS.length + 1;

export const slotId = (plural: boolean) => (plural ? SLOTS_ID : SLOT_ID);
export const isSlotId = (id: number) => id === SLOT_ID || id === SLOTS_ID;

/** A caption position: a plain word, or a slot tied to an entry. */
export type SlottedToken = string | { entry: number; plural: boolean; words: string[] };

/**
 * Neural Baby Talk's caption rewrite: a mention of a class that the detector
 * found in this image (an entry) becomes a slot tied to that entry. The first
 * mention of each entry only, so a decoder that never points at an entry
 * twice can still write every training caption. Ambiguous words ("orange")
 * stay words.
 */
export function slotCaption(table: WordTable, tokens: readonly string[], entries: readonly ObjectEntry[]): SlottedToken[] {
  const out: SlottedToken[] = [];
  const used = new Set<number>();
  let at = 0;
  for (const m of findMentions(table, tokens)) {
    const entry = entries.findIndex((e) => e.classId === m.classId);
    if (m.ambiguous || entry < 0 || used.has(entry)) continue;
    out.push(...tokens.slice(at, m.start));
    used.add(entry);
    const plural = m.plural ?? entries[entry]!.count > 1;
    out.push({ entry, plural, words: tokens.slice(m.start, m.end) });
    at = m.end;
  }
  out.push(...tokens.slice(at));
  return out;
}

/** The vocabulary of a grounded decoder: specials, the two slot tokens, then words seen ≥ minCount times. */
export function groundedVocab(sentences: Iterable<readonly string[]>, minCount: number): Vocab {
  const words = Vocab.build(sentences, minCount).words.filter((w) => w !== SLOT && w !== SLOTS);
  return new Vocab([...SPECIALS, SLOT, SLOTS, ...words.slice(SPECIALS.length)]);
}
