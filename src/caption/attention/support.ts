import type { DetectedObject } from '../../encoder/types.js';
import { senseOf, type WordTable } from '../../grounding/words.js';
import type { Vocab } from '../../text/vocab.js';

/**
 * Issue 21's unsupported-class rule: a caption must not name a COCO class
 * (people words included: the word table lists "man", "women", "skier"… under
 * person) that no region the decoder sees supports. The rule works on word ids
 * during the search, so a banned class word is never written, whatever the
 * model's probabilities; pure functions over the word table and the regions.
 */

/** Which vocabulary words name which COCO class. */
export interface ClassWords {
  /** Word id → class id, for every unambiguous one-word class name in the vocabulary ("dog", "dogs", "man", "dog's"). */
  single: ReadonlyMap<number, number>;
  /**
   * First word id → (second word id → class id): the table's unambiguous two-word names whose
   * second word alone names another class or none ("hot" "dog" → hot dog, "motor" "bike" →
   * motorcycle, "stop" "sign" → stop sign). CHAIR reads the longest name first, so after "hot",
   * "dog" names a hot dog, not a dog.
   */
  pairs: ReadonlyMap<number, ReadonlyMap<number, number>>;
}

/** The class words of `vocab` by the word table (ambiguous words, such as "orange" or "glass", are left out). */
export function classWords(table: WordTable, vocab: Vocab): ClassWords {
  const single = new Map<number, number>();
  for (const [id, word] of vocab.words.entries()) {
    const sense = senseOf(table, [word]);
    if (sense && !sense.ambiguous) single.set(id, sense.classId);
  }
  const pairs = new Map<number, Map<number, number>>();
  for (const [phrase, sense] of table.senses) {
    const parts = phrase.split(' ');
    if (parts.length !== 2 || sense.ambiguous || !parts.every((w) => vocab.has(w))) continue;
    const [first, second] = parts.map((w) => vocab.id(w)) as [number, number];
    if (single.get(second) === sense.classId) continue;
    let after = pairs.get(first);
    if (!after) pairs.set(first, (after = new Map<number, number>()));
    after.set(second, sense.classId);
  }
  return { single, pairs };
}

/** The classes that a detection of score ≥ minScore supports. */
export function supportedClasses(objects: readonly DetectedObject[], minScore: number): Set<number> {
  return new Set(objects.filter((o) => o.score >= minScore).map((o) => o.classId));
}

/** After a word id: word ids that complete a two-word class name, written freely (true: its class is supported) or never (false). */
export type PhraseBans = ReadonlyMap<number, ReadonlyMap<number, boolean>>;

/** One image's bans: the word ids it may never write, and the exceptions and additions after a name's first word. */
export interface WordBans {
  banned: number[];
  phrases: PhraseBans;
}

export const NO_BANS: WordBans = { banned: [], phrases: new Map() };

/** The words naming a class that `supported` lacks are banned; a two-word name follows its own class. */
export function unsupportedWords(words: ClassWords, supported: ReadonlySet<number>): WordBans {
  const banned = [...words.single].filter(([, cls]) => !supported.has(cls)).map(([id]) => id);
  const phrases = new Map<number, Map<number, boolean>>();
  for (const [first, after] of words.pairs) {
    phrases.set(first, new Map([...after].map(([second, cls]) => [second, supported.has(cls)])));
  }
  return { banned, phrases };
}

/**
 * Set to −∞ the log-probabilities [V] of one row's words it may not write next, `prev` being the
 * word it was fed: its banned words, unless `prev` makes one part of a supported class's name,
 * and the second words of names of unsupported classes that `prev` starts.
 */
export function maskUnsupported(logProbs: Float32Array, banned: readonly number[], phrases: PhraseBans | undefined, prev: number): void {
  const after = phrases?.get(prev);
  for (const id of banned) if (after?.get(id) !== true) logProbs[id] = -Infinity;
  if (after) for (const [id, allowed] of after) if (!allowed) logProbs[id] = -Infinity;
}
