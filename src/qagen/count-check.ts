/**
 * Number questions checked against COCO instance annotations: "how many dogs
 * …? two" is kept only when the photo has exactly two annotated dogs. The
 * counted phrase is mapped to a class with the word ↔ class table, so
 * "puppies" counts dogs and "men" counts persons.
 */
import type { CaptionedImage } from '../data/captions.js';
import type { ClassCount, InstanceCounts } from '../data/coco-instances.js';
import { findMentions, type WordTable } from '../grounding/words.js';
import type { GeneratedQa } from './rules.js';

/** Answer words of number questions and the counts they say: "one" … "ten". */
export const COUNT_WORDS: ReadonlyMap<string, number> = new Map(
  ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'].map((word, i) => [word, i + 1]),
);

/**
 * What the annotations say about a number question. Only 'match' is kept.
 * - count-differs: the class has another number of annotated instances (0 included);
 * - crowd: some of the class are annotated as one crowd region, so the count is unknown;
 * - no-class: the counted phrase ends in no class word ("how many dog sleds", "how many trees");
 * - no-annotations: the instances file does not list the photo;
 * - not-a-count: the answer is not "one" … "ten".
 */
export const COUNT_VERDICTS = ['match', 'count-differs', 'crowd', 'no-class', 'no-annotations', 'not-a-count'] as const;
export type CountVerdict = (typeof COUNT_VERDICTS)[number];

/**
 * The class a counted phrase names: the table phrase that ends it ("black
 * dogs" → dog, "hot dogs" → hot dog, "tennis players" → person), undefined
 * when its last word is not part of a class phrase ("dog sleds": a dog
 * mention, but not at the end).
 */
export function countedClass(table: WordTable, counted: string): string | undefined {
  const tokens = counted.toLowerCase().split(/\s+/).filter(Boolean);
  const last = findMentions(table, tokens).at(-1);
  return last && last.end === tokens.length ? last.label : undefined;
}

/**
 * Check one number question against a photo's annotated classes (undefined:
 * the photo is not annotated). The question must carry `counted` (the rules
 * set it on every number question).
 */
export function checkCount(table: WordTable, qa: GeneratedQa, classes: ReadonlyMap<string, ClassCount> | undefined): CountVerdict {
  const n = COUNT_WORDS.get(qa.answer);
  if (n === undefined) return 'not-a-count';
  if (classes === undefined) return 'no-annotations';
  const label = qa.counted === undefined ? undefined : countedClass(table, qa.counted);
  if (label === undefined) return 'no-class';
  const annotated = classes.get(label) ?? { count: 0, crowd: false };
  if (annotated.crowd) return 'crowd';
  return annotated.count === n ? 'match' : 'count-differs';
}

export interface CountCheck {
  /** For `captionsToQa`'s `keep`: other types pass, number questions only on 'match'. */
  keep: (qa: GeneratedQa, image: CaptionedImage) => boolean;
  /** Number questions seen by `keep` (per caption, before the merge), by verdict. */
  verdicts: Record<CountVerdict, number>;
}

/** A `keep` filter for number questions against instance counts (keyed by the captions' image ids), tallying its verdicts. */
export function countCheck(table: WordTable, counts: InstanceCounts): CountCheck {
  const verdicts = Object.fromEntries(COUNT_VERDICTS.map((v) => [v, 0])) as Record<CountVerdict, number>;
  const keep = (qa: GeneratedQa, image: CaptionedImage): boolean => {
    if (qa.type !== 'number') return true;
    const verdict = checkCount(table, qa, counts.get(image.id));
    verdicts[verdict]++;
    return verdict === 'match';
  };
  return { keep, verdicts };
}
