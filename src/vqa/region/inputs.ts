/**
 * What the region VQA model reads besides the regions and the question's words,
 * computed from the question and the detections with the word ↔ class table
 * (src/grounding/words.ts). Pure functions: training and serving call the same.
 *
 * - count: how many detections there are of the class the question names
 *   ("how many dogs …" → dog), one-hot in COUNT_BUCKETS at each COUNT_THRESHOLDS;
 * - side: per region, whether the question names its class, and its COCO
 *   super-category (one-hot), so that "what animal …" can point at any animal,
 *   one never answered in training too;
 * - pointer words: the word a region answers with when the model points at it
 *   (its class's one-word answer, as class questions write it: "zebra", "pizza").
 */
import { COCO_LABELS, SUPERCATEGORIES, type DetectedObject, type Supercategory } from '../../encoder/types.js';
import { findMentions, senseOf, supercategoryOf, type WordTable } from '../../grounding/words.js';
import { classAnswer } from '../../qagen/class-questions.js';
import { tokenizeWords } from '../../text/tokenize.js';

/** Detection scores at which instances are counted: the count at each is one input. */
export const COUNT_THRESHOLDS = [0.2, 0.4] as const;
/** Count buckets: no class named, then 0, 1, 2, 3, 4, 5 or more instances. */
export const COUNT_BUCKETS = 7;
/** Length of the count input. */
export const COUNT_DIM = COUNT_THRESHOLDS.length * COUNT_BUCKETS;
/** Length of a region's side input: named-by-the-question, then its super-category one-hot. */
export const SIDE_DIM = 1 + SUPERCATEGORIES.length;

/** The COCO classes (indices into COCO_LABELS) the question names, in order of mention. */
export function questionClasses(table: WordTable, question: string): number[] {
  return findMentions(table, tokenizeWords(question)).map((m) => m.classId);
}

/**
 * The count input [COUNT_DIM]: for the first class the question names, the number of its
 * detections at score ≥ each threshold, bucketed (5 or more share a bucket); bucket 0 at
 * each threshold when the question names no class.
 */
export function countFeature(classes: readonly number[], objects: readonly DetectedObject[]): Float32Array {
  const out = new Float32Array(COUNT_DIM);
  const named = classes[0];
  COUNT_THRESHOLDS.forEach((threshold, t) => {
    const bucket = named === undefined ? 0 : 1 + Math.min(5, objects.filter((o) => o.classId === named && o.score >= threshold).length);
    out[t * COUNT_BUCKETS + bucket] = 1;
  });
  return out;
}

/**
 * Side inputs [objects.length + 1, SIDE_DIM] for an image's regions (its kept detections,
 * then the whole image): 1 where the question names the region's class, then the region's
 * super-category one-hot. The whole image's row is zeros.
 */
export function regionSide(table: WordTable, classes: readonly number[], objects: readonly DetectedObject[]): Float32Array {
  const out = new Float32Array((objects.length + 1) * SIDE_DIM);
  const named = new Set(classes);
  objects.forEach((o, k) => {
    if (named.has(o.classId)) out[k * SIDE_DIM] = 1;
    out[k * SIDE_DIM + 1 + SUPERCATEGORIES.indexOf(supercategoryOf(table, COCO_LABELS[o.classId]!))] = 1;
  });
  return out;
}

/** The answer each detected region gives when pointed at: its class's one-word answer ("zebra", "table", "hotdog"). */
export function pointerWords(table: WordTable, objects: readonly DetectedObject[]): string[] {
  return objects.map((o) => classAnswer(table, COCO_LABELS[o.classId]!));
}

/** Question words that ask for a class of one super-category: "what animal …", "which vehicles …". */
const KIND_WORDS: ReadonlyMap<string, Supercategory> = new Map([
  ['animal', 'animal'],
  ['animals', 'animal'],
  ['vehicle', 'vehicle'],
  ['vehicles', 'vehicle'],
  ['food', 'food'],
  ['foods', 'food'],
  ['furniture', 'furniture'],
  ['appliance', 'appliance'],
  ['appliances', 'appliance'],
]);

/**
 * The super-category a question asks for, if it asks for one: "what animal is …", "which vehicles
 * …", "what kind of food …" → animal, vehicle, food. A kind word elsewhere ("where is the animal
 * running ?") asks for no class.
 */
export function questionKind(question: string): Supercategory | undefined {
  const w = tokenizeWords(question);
  for (let i = 0; i + 1 < w.length; i++) {
    if (w[i] !== 'what' && w[i] !== 'which') continue;
    const next = ['kind', 'type', 'sort'].includes(w[i + 1]!) && w[i + 2] === 'of' ? w[i + 3] : w[i + 1];
    const kind = next === undefined ? undefined : KIND_WORDS.get(next);
    if (kind) return kind;
  }
  return undefined;
}

/**
 * An answer rule for a question that asks for a kind: only words naming a class of that
 * super-category ("zebra", "dogs" for animal) may answer "what animal …". With `seen` (the image's
 * regions), where some region is of that kind, only their classes may. Any word may answer a
 * question that asks for no kind.
 */
export function kindAnswer(table: WordTable, kind: Supercategory | undefined, seen?: readonly DetectedObject[]): (word: string) => boolean {
  const classOf = (word: string) => senseOf(table, word)?.classId;
  const isKind = (classId: number | undefined) => classId !== undefined && supercategoryOf(table, COCO_LABELS[classId]!) === kind;
  const seenOfKind = new Set((seen ?? []).map((o) => o.classId).filter(isKind));
  return (word) => {
    if (kind === undefined) return true;
    const classId = classOf(word);
    return seenOfKind.size > 0 ? seenOfKind.has(classId!) : isKind(classId);
  };
}

/**
 * The answer rule of issue 21's captions, for VQA: a word that names a COCO class (the word ↔
 * class table; people words name person) is allowed only if one of the regions the model reads is
 * of that class. Other words are always allowed.
 */
export function supportedAnswer(table: WordTable, objects: readonly DetectedObject[]): (word: string) => boolean {
  const seen = new Set(objects.map((o) => o.classId));
  return (word) => {
    const sense = senseOf(table, word);
    return sense === undefined || seen.has(sense.classId);
  };
}
