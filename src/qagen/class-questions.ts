/**
 * "what animal is in the picture ?" questions from COCO instance annotations:
 * for a photo whose annotations hold exactly one class of a super-category,
 * the answer is that class's name. Photos with several classes of the
 * super-category (a dog and a cat) get no question of it: one answer would be
 * wrong, and COCO-QA keeps one answer per question.
 */
import type { CaptionedImage } from '../data/captions.js';
import type { QaExample } from '../data/qa.js';
import type { DetectedObject, Supercategory } from '../encoder/types.js';
import { COCO_LABELS } from '../encoder/types.js';
import { findMentions, supercategoryOf, wordFor, type WordTable } from '../grounding/words.js';
import { tokenizeWords } from '../text/tokenize.js';

/** The super-categories asked about by default: their class names are good one-word answers. */
export const CLASS_QUESTION_SUPERCATEGORIES = ['animal', 'vehicle', 'food'] as const satisfies readonly Supercategory[];

/** "what animal is in the picture ?", written like the caption questions (lower case, " ?"). */
export function classQuestion(supercategory: Supercategory): string {
  return `what ${supercategory} is in the picture ?`;
}

/**
 * A class's one-word answer: the word the table writes for one of it
 * ("zebra", "bicycle"), or, when that is a phrase, the class's first one-word
 * singular ("hot dog" → "hotdog"), else the phrase without spaces.
 */
export function classAnswer(table: WordTable, label: string): string {
  const word = wordFor(table, label, false);
  if (!word.includes(' ')) return word;
  const entry = table.classes.find((c) => c.label === label)!;
  return entry.singular.find((w) => !w.includes(' ')) ?? word.replace(/ /g, '');
}

export interface SupercategoryTally {
  questions: number;
  severalClasses: number;
  /** [answer, questions], most common first (ties alphabetical). */
  answers: [string, number][];
}

export interface ClassQaReport {
  /** In image order, then in the order of the super-categories asked about; type 'object'. */
  examples: QaExample[];
  /** Per super-category: questions written, photos skipped for having several of its classes, and the answers (most common first). */
  perSupercategory: Record<string, SupercategoryTally>;
  /** Captioned images the annotations do not list: no question. */
  unannotated: number;
}

/**
 * One question per photo and super-category whose annotations hold exactly
 * one class of it (crowd regions count as present). `classes` is keyed by the
 * images' ids; `imageKey` is the image's file. `keep` can refuse a photo's one class (no question, not counted).
 */
export function classQuestions(
  images: readonly Pick<CaptionedImage, 'id' | 'file'>[],
  classes: ReadonlyMap<string | number, ReadonlySet<string>>,
  table: WordTable,
  supercategories: readonly Supercategory[] = CLASS_QUESTION_SUPERCATEGORIES,
  keep: (imageId: string | number, label: string) => boolean = () => true,
): ClassQaReport {
  const perSupercategory: Record<string, SupercategoryTally> = Object.fromEntries(
    supercategories.map((s) => [s, { questions: 0, severalClasses: 0, answers: [] }]),
  );
  const examples: QaExample[] = [];
  let unannotated = 0;
  for (const image of images) {
    const labels = classes.get(image.id);
    if (labels === undefined) {
      unannotated++;
      continue;
    }
    for (const supercategory of supercategories) {
      const tally = perSupercategory[supercategory]!;
      const of = [...labels].filter((label) => supercategoryOf(table, label) === supercategory);
      if (of.length > 1) tally.severalClasses++;
      if (of.length !== 1 || !keep(image.id, of[0]!)) continue;
      const answer = classAnswer(table, of[0]!);
      examples.push({
        imageId: image.id,
        imageKey: image.file,
        question: classQuestion(supercategory),
        answer,
        answers: [answer],
        type: 'object',
      });
      tally.questions++;
      const seen = tally.answers.find(([a]) => a === answer);
      if (seen) seen[1]++;
      else tally.answers.push([answer, 1]);
    }
  }
  for (const tally of Object.values(perSupercategory)) tally.answers.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { examples, perSupercategory, unannotated };
}

/**
 * Per image id: how many of its captions name each COCO class (by label), by the word table's
 * unambiguous senses ("a dog", "two dogs" → dog; "glass" names none).
 */
export function captionClassCounts(
  images: readonly Pick<CaptionedImage, 'id' | 'captions'>[],
  table: WordTable,
): Map<string | number, Map<string, number>> {
  const out = new Map<string | number, Map<string, number>>();
  for (const image of images) {
    const counts = new Map<string, number>();
    for (const caption of image.captions) {
      const named = new Set(
        findMentions(table, tokenizeWords(caption))
          .filter((m) => !m.ambiguous)
          .map((m) => COCO_LABELS[m.classId]!),
      );
      for (const label of named) counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    out.set(image.id, counts);
  }
  return out;
}

/**
 * Class questions whose answers come from the captions rather than annotations, for training
 * data without boxes (Flickr8k): a photo is asked "what animal is in the picture ?" when its
 * captions name exactly one animal class, and at least `minCaptions` of them name it. A class
 * any caption names counts as present, so a photo where one caption sees a cat beside the dog
 * gets no animal question.
 */
export function captionClassQuestions(
  images: readonly Pick<CaptionedImage, 'id' | 'file' | 'captions'>[],
  table: WordTable,
  minCaptions = 2,
  supercategories: readonly Supercategory[] = CLASS_QUESTION_SUPERCATEGORIES,
): ClassQaReport {
  const counts = captionClassCounts(images, table);
  const present = new Map([...counts].map(([id, c]) => [id, new Set(c.keys())]));
  return classQuestions(images, present, table, supercategories, (id, label) => counts.get(id)!.get(label)! >= minCaptions);
}

/**
 * The questions whose answer class the detector found in the photo at score ≥ minScore: the
 * ones a model reading detections can answer ("a question about an animal the detector sees").
 * `detections` maps an image key to its detections; a photo without an entry keeps nothing.
 */
export function detectedOnly(
  examples: readonly QaExample[],
  detections: ReadonlyMap<string, readonly Pick<DetectedObject, 'label' | 'score'>[]>,
  table: WordTable,
  minScore: number,
): QaExample[] {
  return examples.filter((e) =>
    (detections.get(e.imageKey) ?? []).some((d) => d.score >= minScore && classAnswer(table, d.label) === e.answer),
  );
}
