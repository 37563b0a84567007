import type { ObjectEntry } from '../grounding/entries.js';
import { wordFor, type WordTable } from '../grounding/words.js';
import type { CaptionWord } from './grounded/generate.js';

const NUMBERS = ['', 'a', 'two', 'three'];

/** "a" or "an" by the next word's first letter (a rule of thumb: "an umbrella", "a unicorn" is rare in COCO). */
const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** A noun phrase for an entry: "a giraffe", "an elephant", "two horses", "a group of people"; `some` for a second, plural phrase. */
function nounPhrase(table: WordTable, e: ObjectEntry, index: number, second: boolean): CaptionWord[] {
  const plural = e.count > 1;
  const noun = wordFor(table, e.label, plural)
    .split(' ')
    .map((text) => ({ text, entry: index }));
  if (!plural) return [{ text: article(noun[0]!.text) }, ...noun];
  const lead = second ? 'some' : (NUMBERS[e.count] ?? 'a group of');
  return [...lead.split(' ').map((text) => ({ text })), ...noun];
}

/**
 * The detector-template baseline: the two best detected classes in a fixed
 * sentence ("a bus with some cars", "two horses"). It knows nothing the
 * detector does not, so it is the floor a grounded decoder must beat.
 */
export function templateCaption(table: WordTable, entries: readonly ObjectEntry[]): { text: string; words: CaptionWord[] } {
  const [first, second] = entries;
  const words: CaptionWord[] = !first
    ? [{ text: 'a' }, { text: 'picture' }]
    : [...nounPhrase(table, first, 0, false), ...(second ? [{ text: 'with' }, ...nounPhrase(table, second, 1, true)] : [])];
  return { text: words.map((w) => w.text).join(' '), words };
}
