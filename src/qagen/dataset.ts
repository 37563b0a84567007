import type { CaptionedImage } from '../data/captions.js';
import { rng, shuffle } from '../util/random.js';
import { COCOQA_TYPES, type QaExample } from '../data/qa.js';
import { questionsFromCaption, type GeneratedQa } from './rules.js';
import { tokenizeWords } from '../text/tokenize.js';

/** One share for all types, or per type with '*' as the default. */
export type AnswerShare = number | Readonly<Record<string, number>>;

export interface QaGenOptions {
  /**
   * Largest share (0–1] one answer may have among the questions of its type;
   * more common answers are down-sampled (Ren et al. 2015 reduce the answer
   * prior the same way). A number applies to every type; a record gives shares
   * per type, '*' for the rest (types it does not name are not capped).
   * Undefined: keep everything.
   */
  maxAnswerShare?: AnswerShare;
  /** Seed of the down-sampling; the same input and seed give the same output. */
  seed?: number;
  /** Called after each image with the number of images done. */
  onProgress?: (done: number) => void;
  /** Question generator (tests swap it); default `questionsFromCaption`. */
  generate?: (caption: string) => GeneratedQa[];
  /**
   * Which generated questions to keep, asked per caption before the merge
   * (e.g. `countCheck`: number questions that agree with the image's
   * annotations). Default: all.
   */
  keep?: (qa: GeneratedQa, image: CaptionedImage) => boolean;
  /**
   * Keep a question only when at least this many of the image's captions hold its answer word
   * as a whole word. 2 makes a cleaner held-out set: no answer rests on one caption. Default 1:
   * no check (the question's own caption gave the answer, though not always as a whole word).
   */
  minAgree?: number;
  /** Questions made another way (e.g. `captionClassQuestions`), added before the answer-share cap so that it counts them too. */
  extra?: readonly QaExample[];
}

export interface QaGenReport {
  examples: QaExample[];
  captions: number;
  /** Captions no rule fitted. */
  captionsWithoutQuestions: number;
  /** Generated questions (per caption, before the merge) that `keep` rejected. */
  rejected: number;
  /** Questions asked by several captions of one image, merged into one. */
  duplicates: number;
  /** Questions whose captions gave different answers with no majority: dropped. */
  conflicting: number;
  /** Questions whose answer fewer than `minAgree` captions hold: dropped. */
  unconfirmed: number;
  /** Questions dropped by the answer-share cap. */
  capped: number;
  /** Questions per type before the cap. */
  beforeCap: Record<string, number>;
  /** Types that have fewer than 1 / maxAnswerShare distinct answers: the cap cannot hold, so none is applied. */
  uncappable: string[];
}

/**
 * Questions for a set of captioned images (imageId = image id, imageKey =
 * file name). Each image's captions are questioned one by one; a question
 * asked by several captions of the image is kept once, with the answer most of
 * them give (a tie drops the question: the captions disagree). Then, with
 * `maxAnswerShare`, each type's most common answers are down-sampled.
 */
export function captionsToQa(images: readonly CaptionedImage[], options: QaGenOptions = {}): QaGenReport {
  const generate = options.generate ?? questionsFromCaption;
  const examples: QaExample[] = [];
  let captions = 0;
  let captionsWithoutQuestions = 0;
  let duplicates = 0;
  let conflicting = 0;
  let rejected = 0;
  let unconfirmed = 0;
  const minAgree = options.minAgree ?? 1;
  images.forEach((image, done) => {
    const byQuestion = new Map<string, { type: string; answers: Map<string, number> }>();
    for (const caption of image.captions) {
      captions++;
      const qas = generate(caption);
      if (qas.length === 0) captionsWithoutQuestions++;
      for (const qa of qas) {
        if (options.keep && !options.keep(qa, image)) {
          rejected++;
          continue;
        }
        const key = `${qa.type}\t${qa.question}`;
        const entry = byQuestion.get(key) ?? { type: qa.type, answers: new Map<string, number>() };
        if (byQuestion.has(key)) duplicates++;
        byQuestion.set(key, entry);
        entry.answers.set(qa.answer, (entry.answers.get(qa.answer) ?? 0) + 1);
      }
    }
    for (const [key, { type, answers }] of byQuestion) {
      const ranked = [...answers].sort((a, b) => b[1] - a[1]);
      const [best, second] = ranked;
      if (!best || (second && second[1] === best[1])) {
        conflicting++;
        continue;
      }
      if (minAgree > 1 && captionsWith(image.captions, best[0]) < minAgree) {
        unconfirmed++;
        continue;
      }
      const question = key.slice(key.indexOf('\t') + 1);
      examples.push({ imageId: image.id, imageKey: image.file, question, answer: best[0], answers: [best[0]], type });
    }
    options.onProgress?.(done + 1);
  });
  examples.push(...(options.extra ?? []));
  let kept = examples;
  const uncappable: string[] = [];
  if (options.maxAnswerShare !== undefined) {
    const result = capAnswerShare(examples, options.maxAnswerShare, options.seed ?? 0);
    kept = result.examples;
    uncappable.push(...result.uncappable);
  }
  const beforeCap: Record<string, number> = {};
  for (const type of [...new Set(examples.map((e) => e.type))].sort((a, b) => typeOrder(a) - typeOrder(b))) {
    beforeCap[type] = examples.filter((e) => e.type === type).length;
  }
  return {
    examples: kept,
    beforeCap,
    captions,
    captionsWithoutQuestions,
    rejected,
    duplicates,
    conflicting,
    unconfirmed,
    capped: examples.length - kept.length,
    uncappable,
  };
}

/** How many captions hold `word` as a whole word (case-insensitive). */
export function captionsWith(captions: readonly string[], word: string): number {
  return captions.filter((c) => tokenizeWords(c).includes(word)).length;
}

/**
 * The largest per-answer count k with k ≤ share · Σ min(count, k): keeping at
 * most k of each answer leaves no answer above `share` of the total. 0 when no
 * k works (fewer than 1/share distinct answers).
 */
export function answerCap(counts: readonly number[], share: number): number {
  const total = (k: number): number => counts.reduce((sum, c) => sum + Math.min(c, k), 0);
  const fits = (k: number): boolean => k <= share * total(k) + 1e-9;
  let hi = Math.max(0, ...counts);
  if (fits(hi)) return hi;
  // k - share·total(k) is convex in k and 0 at k = 0, so the ks that fit form [0, k*].
  let lo = 0;
  while (lo < hi - 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Down-sample each type's common answers so that no answer is more than
 * `share` of its type's questions (after the cap). Which examples go is drawn
 * with `seed`; the kept ones stay in input order. A type with fewer than
 * 1 / share distinct answers cannot meet the cap; it is left whole and listed
 * in `uncappable`.
 */
export function capAnswerShare(
  examples: readonly QaExample[],
  share: AnswerShare,
  seed: number,
): { examples: QaExample[]; uncappable: string[] } {
  const shareOf = (type: string): number | undefined => (typeof share === 'number' ? share : (share[type] ?? share['*']));
  for (const s of typeof share === 'number' ? [share] : Object.values(share)) {
    if (!(s > 0 && s <= 1)) throw new Error(`maxAnswerShare must be in (0, 1], got ${s}`);
  }
  const drop = new Set<number>();
  const uncappable: string[] = [];
  const types = [...new Set(examples.map((e) => e.type))].sort((a, b) => typeOrder(a) - typeOrder(b) || a.localeCompare(b));
  for (const type of types) {
    const typeShare = shareOf(type);
    if (typeShare === undefined) continue;
    const byAnswer = new Map<string, number[]>();
    examples.forEach((e, i) => {
      if (e.type !== type) return;
      const list = byAnswer.get(e.answer) ?? [];
      list.push(i);
      byAnswer.set(e.answer, list);
    });
    const k = answerCap(
      [...byAnswer.values()].map((l) => l.length),
      typeShare,
    );
    if (k === 0) {
      uncappable.push(type);
      continue;
    }
    // One generator per type, answers in sorted order: the draw does not depend on Map order.
    const random = rng(seed * 31 + typeOrder(type) + 1);
    for (const answer of [...byAnswer.keys()].sort()) {
      const indices = byAnswer.get(answer)!;
      if (indices.length <= k) continue;
      for (const index of shuffle([...indices], random).slice(k)) drop.add(index);
    }
  }
  return { examples: examples.filter((_, i) => !drop.has(i)), uncappable };
}

function typeOrder(type: string): number {
  const i = (COCOQA_TYPES as readonly string[]).indexOf(type);
  return i < 0 ? COCOQA_TYPES.length : i;
}

export interface TypeStats {
  questions: number;
  distinctAnswers: number;
  /** Most common answers, [answer, count], most common first (ties alphabetical). */
  topAnswers: [string, number][];
}

/**
 * Parse a `--max-answer-share` value: "0.1" (every type) or "0.1,number=0.5"
 * (a default and per-type shares; without a default, only the named types).
 */
export function parseAnswerShare(text: string): AnswerShare {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const out: Record<string, number> = {};
  for (const part of parts) {
    const m = /^(?:([a-z]+)=)?([0-9.]+)$/.exec(part);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !(value > 0 && value <= 1)) {
      throw new Error(`--max-answer-share "${part}": expected a share in (0, 1] or TYPE=SHARE, e.g. "0.1,number=0.5"`);
    }
    const type = m[1] ?? '*';
    if (type !== '*' && !(COCOQA_TYPES as readonly string[]).includes(type)) {
      throw new Error(`--max-answer-share "${part}": unknown type ${type} (types: ${COCOQA_TYPES.join(', ')})`);
    }
    out[type] = value;
  }
  if (parts.length === 0) throw new Error('--max-answer-share is empty');
  return Object.keys(out).length === 1 && out['*'] !== undefined ? out['*'] : out;
}

/** Questions, distinct answers and top answers per type (COCO-QA types first). */
export function qaStats(
  examples: readonly QaExample[],
  top = 10,
): {
  questions: number;
  images: number;
  perType: Record<string, TypeStats>;
} {
  const perType: Record<string, TypeStats> = {};
  const types = [...new Set(examples.map((e) => e.type))].sort((a, b) => typeOrder(a) - typeOrder(b) || a.localeCompare(b));
  for (const type of types) {
    const counts = new Map<string, number>();
    for (const e of examples) if (e.type === type) counts.set(e.answer, (counts.get(e.answer) ?? 0) + 1);
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    perType[type] = {
      questions: ranked.reduce((s, [, c]) => s + c, 0),
      distinctAnswers: ranked.length,
      topAnswers: ranked.slice(0, top),
    };
  }
  return { questions: examples.length, images: new Set(examples.map((e) => String(e.imageId))).size, perType };
}

/** A QA folder's stats.json text: indented JSON with each [answer, count] pair on one line. */
export function statsJson(stats: object): string {
  return `${JSON.stringify(stats, null, 2).replace(/\[\s+("(?:[^"\\]|\\.)*"),\s+(\d+)\s+\]/g, '[$1, $2]')}\n`;
}
