import * as tf from '@tensorflow/tfjs';
import type { QaExample } from '../../data/qa.js';
import { scoreVqa, type VqaScores } from '../../eval/vqa-metrics.js';
import { defaultWordTable, type WordTable } from '../../grounding/words.js';
import { inputTensors, regionExamples, regionHostInputs, type RegionQuestion, type RegionVqaHostInputs, type VqaImage } from './data.js';
import type { DetectedObject, Supercategory } from '../../encoder/types.js';
import { kindAnswer, pointerWords, supportedAnswer } from './inputs.js';
import type { RegionVqaModel } from './model.js';

/** An answer with its probability and the region it rests on (index into the image's selected regions; the last is the whole image). */
export interface RegionAnswer {
  answer: string;
  score: number;
  region: number;
  /** That region's attention weight. */
  weight: number;
}

/**
 * Answers from one question's probabilities over [answers; pointer] and its attention α over its
 * `regions` real regions: a word's probability is its class's plus that of every region pointing
 * to it. Its evidence is the region of largest α among those pointing to it, else the largest α.
 * Words `allowed` refuses are left out (their probability is not given to the others), unless it refuses them all.
 */
export function mergeAnswers(
  answers: readonly string[],
  words: readonly string[],
  probs: Float32Array,
  alpha: Float32Array,
  regions: number,
  k: number,
  allowed: (word: string) => boolean = () => true,
): RegionAnswer[] {
  const A = answers.length;
  let top = 0;
  for (let r = 1; r < regions; r++) if (alpha[r]! > alpha[top]!) top = r;
  const byWord = new Map<string, { score: number; region: number }>();
  answers.forEach((a, i) => byWord.set(a, { score: probs[i]!, region: -1 }));
  words.forEach((word, r) => {
    const p = probs[A + r]!;
    const seen = byWord.get(word) ?? { score: 0, region: -1 };
    const region = seen.region < 0 || alpha[r]! > alpha[seen.region]! ? r : seen.region;
    byWord.set(word, { score: seen.score + p, region });
  });
  const ranked = [...byWord].sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1));
  const kept = ranked.filter(([word]) => allowed(word));
  // A rule that would leave no answer ("what appliance …" where no word names one) is not applied.
  return (kept.length > 0 ? kept : ranked).slice(0, k).map(([answer, { score, region }]) => {
    const at = region < 0 ? top : region;
    return { answer, score, region: at, weight: alpha[at]! };
  });
}

/**
 * The model's answer rule for a question (asking for `kind`, questionKind) about an image whose
 * regions are `objects`: supportedAnswer and kindAnswer, each when its config asks for it.
 */
export function answerRule(
  model: RegionVqaModel,
  table: WordTable,
  objects: readonly DetectedObject[],
  kind: Supercategory | undefined,
): ((word: string) => boolean) | undefined {
  const r = model.config.region!;
  const rules = [
    ...(r.supportedOnly ? [supportedAnswer(table, objects)] : []),
    ...(r.kindAnswers && kind !== undefined ? [kindAnswer(table, kind, r.kindAnswers === 'seen' ? objects : undefined)] : []),
  ];
  return rules.length === 0 ? undefined : (word) => rules.every((ok) => ok(word));
}

/** The model's probabilities over [answers; pointer] and attention for a batch's host inputs, on tfjs. */
export function predictHost(model: RegionVqaModel, host: RegionVqaHostInputs): { probs: Float32Array; alpha: Float32Array } {
  return tf.tidy(() => {
    const { probs, alpha } = model.predict(inputTensors(host, model.config.featureDim));
    return { probs: probs.dataSync() as Float32Array, alpha: alpha.dataSync() as Float32Array };
  });
}

/** Top-k answers to questions about images, in chunks. */
export function answerRegionQuestions(
  model: RegionVqaModel,
  questions: readonly RegionQuestion[],
  images: readonly VqaImage[],
  k = 1,
  table: WordTable = defaultWordTable(),
  chunk = 256,
): RegionAnswer[][] {
  const out: RegionAnswer[][] = [];
  const A = model.config.answers.length;
  for (let s = 0; s < questions.length; s += chunk) {
    const part = questions.slice(s, s + chunk);
    const host = regionHostInputs(table, model.config.featureDim, part, images);
    const K = host.k;
    const { probs: p, alpha: a } = predictHost(model, host);
    part.forEach((q, i) => {
      const objects = images[q.image]!.selected.objects;
      out.push(
        mergeAnswers(
          model.config.answers,
          pointerWords(table, objects),
          p.subarray(i * (A + K), (i + 1) * (A + K)),
          a.subarray(i * K, (i + 1) * K),
          objects.length + 1,
          k,
          answerRule(model, table, objects, q.kind),
        ),
      );
    });
  }
  return out;
}

/** The model's best answer to each question; '' (never right) where its image has no regions. */
export function regionPredictions(
  model: RegionVqaModel,
  examples: readonly QaExample[],
  images: readonly VqaImage[],
  index: ReadonlyMap<string, number>,
  table: WordTable = defaultWordTable(),
): string[] {
  const { examples: usable } = regionExamples(table, (q) => model.encodeQuestion(q), examples, index);
  const answers = answerRegionQuestions(model, usable, images, 1, table);
  let at = 0;
  return examples.map((e) => (index.has(e.imageKey) ? answers[at++]![0]!.answer : ''));
}

/** The model's scores on a QA set (eval/vqa-metrics, as eval:vqa reports); a question whose image has no regions is wrong. */
export function evaluateRegionVqa(
  model: RegionVqaModel,
  examples: readonly QaExample[],
  images: readonly VqaImage[],
  index: ReadonlyMap<string, number>,
  table: WordTable = defaultWordTable(),
): VqaScores {
  return scoreVqa(regionPredictions(model, examples, images, index, table), examples);
}
