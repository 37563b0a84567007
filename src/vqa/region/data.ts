import * as tf from '@tensorflow/tfjs';
import { indexKeys, type FeatureSet } from '../../data/features.js';
import type { QaExample } from '../../data/qa.js';
import { imageRegions, padRegions, regionOffsets, type RegionSet } from '../../data/regions.js';
import { selectRegions, type SelectedRegions } from '../../encoder/regions.js';
import type { DetectedObject, Supercategory } from '../../encoder/types.js';
import type { WordTable } from '../../grounding/words.js';
import type { RowBatch } from '../../train/spec.js';
import { questionBatch } from '../model.js';
import { countFeature, COUNT_DIM, pointerWords, questionClasses, questionKind, regionSide, SIDE_DIM } from './inputs.js';
import type { AnswerTargets, RegionVqaInputs } from './model.js';

/** One image as the region model reads it: the regions it attends over, every detection (for counting), its global vector. */
export interface VqaImage {
  selected: SelectedRegions;
  /** All the image's detections the encoder gave (best first), not only the selected ones. */
  objects: readonly DetectedObject[];
  /** The encoder's features of the whole image (what VIS+LSTM reads), from the same pass. */
  global: Float32Array;
}

/** An image's VqaImage from its region rows (detections, then the whole image), detections and global vector. */
export function vqaImage(
  rows: Float32Array,
  objects: readonly DetectedObject[],
  global: Float32Array,
  maxRegions: number,
  minScore: number,
): VqaImage {
  return { selected: selectRegions(rows, objects, maxRegions, minScore), objects, global };
}

/**
 * Each listed file's VqaImage from the region cache and the feature cache (made by the same encoder);
 * `index` maps file → position. Files missing from either cache are left out.
 */
export function vqaImages(
  set: RegionSet,
  features: FeatureSet,
  files: readonly string[],
  maxRegions: number,
  minScore: number,
): { images: VqaImage[]; index: Map<string, number> } {
  if (features.encoder !== set.encoder)
    throw new Error(`the feature cache is ${features.encoder}, the region cache ${set.encoder}: make both with one encoder`);
  const offsets = regionOffsets(set);
  const rowOf = new Map(set.keys.map((k, i) => [k, i]));
  const featureRow = indexKeys(features);
  const images: VqaImage[] = [];
  const index = new Map<string, number>();
  for (const file of new Set(files)) {
    const i = rowOf.get(file);
    const f = featureRow.get(file);
    if (i === undefined || f === undefined) continue;
    index.set(file, images.length);
    const global = features.data.subarray(f * features.dim, (f + 1) * features.dim);
    images.push(vqaImage(imageRegions(set, offsets, i), set.detections[i]!, global, maxRegions, minScore));
  }
  return { images, index };
}

/** A question ready for the region model. */
export interface RegionQuestion {
  image: number;
  ids: number[];
  /** The COCO classes it names (questionClasses). */
  classes: number[];
  /** The super-category it asks for, if any (questionKind): only the answer rule reads it. */
  kind?: Supercategory;
}

/** An answer to train on and its weight (weights of a question sum to 1). */
export interface WeightedAnswer {
  answer: string;
  weight: number;
}

/**
 * A question's answers as soft scores: each distinct annotator answer weighs min(n / 3, 1)
 * (VQA's accuracy for that answer), normalised to sum to 1. One answer (COCO-QA) weighs 1.
 */
export function softAnswers(e: Pick<QaExample, 'answer' | 'answers'>): WeightedAnswer[] {
  const counts = new Map<string, number>();
  for (const a of e.answers.length > 0 ? e.answers : [e.answer]) counts.set(a, (counts.get(a) ?? 0) + 1);
  const scored = [...counts].map(([answer, n]) => ({ answer, weight: Math.min(n / 3, 1) }));
  const total = scored.reduce((s, a) => s + a.weight, 0);
  return scored.map((a) => ({ answer: a.answer, weight: a.weight / total }));
}

/** What the model's batch inputs need to know of the model. */
export interface RegionBatchModel {
  table: WordTable;
  regionDim: number;
  answers: number;
  answerId(answer: string): number | undefined;
}

/** A batch's inputs as host arrays, padded to k regions per image (question ids unpadded). */
export interface RegionVqaHostInputs {
  n: number;
  k: number;
  /** [n, k, R] */
  regions: Float32Array;
  /** [n, k] */
  regionMask: Float32Array;
  /** [n, k] */
  pointMask: Float32Array;
  /** [n, k, SIDE_DIM] */
  side: Float32Array;
  /** [n, COUNT_DIM] */
  count: Float32Array;
  /** [n, G] */
  global: Float32Array;
  questions: readonly (readonly number[])[];
}

/** The model inputs of questions about images, padded to the most regions among them (any runtime). */
export function regionHostInputs(
  table: WordTable,
  R: number,
  questions: readonly RegionQuestion[],
  images: readonly VqaImage[],
): RegionVqaHostInputs {
  const n = questions.length;
  const selected = questions.map((q) => images[q.image]!.selected);
  const k = Math.max(...selected.map((s) => s.objects.length + 1));
  const { regions, mask } = padRegions(selected, R, k);
  const pointMask = new Float32Array(n * k);
  const side = new Float32Array(n * k * SIDE_DIM);
  const count = new Float32Array(n * COUNT_DIM);
  const G = images[questions[0]!.image]!.global.length;
  const global = new Float32Array(n * G);
  questions.forEach((q, i) => {
    global.set(images[q.image]!.global, i * G);
    const s = selected[i]!;
    pointMask.fill(1, i * k, i * k + s.objects.length);
    side.set(regionSide(table, q.classes, s.objects), i * k * SIDE_DIM);
    count.set(countFeature(q.classes, images[q.image]!.objects), i * COUNT_DIM);
  });
  return { n, k, regions, regionMask: mask, pointMask, side, count, global, questions: questions.map((q) => q.ids) };
}

/** Host inputs as tfjs tensors (the caller disposes them). */
export function inputTensors(x: RegionVqaHostInputs, R: number): RegionVqaInputs<tf.Tensor> {
  const { n, k } = x;
  const qb = questionBatch(x.questions);
  return {
    regions: tf.tensor3d(x.regions, [n, k, R]),
    regionMask: tf.tensor2d(x.regionMask, [n, k]),
    pointMask: tf.tensor2d(x.pointMask, [n, k]),
    side: tf.tensor3d(x.side, [n, k, SIDE_DIM]),
    tokens: tf.tensor2d(qb.tokens, [n, qb.steps], 'int32'),
    mask: tf.tensor2d(qb.mask, [n, qb.steps]),
    count: tf.tensor2d(x.count, [n, COUNT_DIM]),
    global: tf.tensor2d(x.global, [n, x.global.length / n]),
  };
}

/**
 * The outputs trained to give `answer` for a question about `image` with K padded regions: with
 * the pointer, each selected region whose word it is, and only those when there is one (as Neural
 * Baby Talk writes a class word from its region): a class word the detector supports is taught as
 * pointing, so "what animal …" learns to point at the animal, and points at a zebra too, never a
 * training answer. Otherwise its answer class, if it is one.
 */
export function answerHits(model: RegionBatchModel, pointer: boolean, image: VqaImage, answer: string): number[] {
  const hits: number[] = [];
  if (pointer) pointerWords(model.table, image.selected.objects).forEach((word, k) => word === answer && hits.push(model.answers + k));
  const id = model.answerId(answer);
  if (hits.length === 0 && id !== undefined) hits.push(id);
  return hits;
}

/** A training question: the question, and its answers that some output can give (none: not trainable). */
export interface RegionExample extends RegionQuestion {
  answers: WeightedAnswer[];
}

/** Loss targets of a batch: hits [N, J, Ans + K] and weights [N, J] (answers no output gives are dropped, the rest renormalised). */
export function answerTargets(
  model: RegionBatchModel,
  pointer: boolean,
  batch: readonly RegionExample[],
  images: readonly VqaImage[],
  K: number,
): AnswerTargets {
  const N = batch.length;
  const J = Math.max(...batch.map((e) => e.answers.length));
  const width = model.answers + K;
  const hits = new Float32Array(N * J * width);
  const weights = new Float32Array(N * J);
  batch.forEach((e, i) => {
    const reachable = e.answers
      .map((a) => ({ ...a, hits: answerHits(model, pointer, images[e.image]!, a.answer) }))
      .filter((a) => a.hits.length > 0);
    const total = reachable.reduce((s, a) => s + a.weight, 0);
    reachable.forEach((a, j) => {
      weights[i * J + j] = a.weight / total;
      for (const h of a.hits) hits[(i * J + j) * width + h] = 1;
    });
  });
  return { hits: tf.tensor3d(hits, [N, J, width]), weights: tf.tensor2d(weights, [N, J]) };
}

/** A training batch for the gradient pool: each shard packs its questions' inputs and targets (train-spec.ts). */
export function regionRows(
  model: RegionBatchModel,
  pointer: boolean,
  batch: readonly RegionExample[],
  images: readonly VqaImage[],
): RowBatch {
  return {
    rows: batch.length,
    shard(from, to) {
      const part = batch.slice(from, to);
      const host = regionHostInputs(model.table, model.regionDim, part, images);
      const { hits, weights } = answerTargets(model, pointer, part, images, host.k);
      return { items: part.length, tensors: { ...inputTensors(host, model.regionDim), hits, weights } };
    },
  };
}

/** Questions of `examples` whose image is in `index`, as RegionExamples (answers not yet checked for reachability). */
export function regionExamples(
  table: WordTable,
  encode: (question: string) => number[],
  examples: readonly QaExample[],
  index: ReadonlyMap<string, number>,
): { examples: RegionExample[]; noRegions: number } {
  const out: RegionExample[] = [];
  let noRegions = 0;
  for (const e of examples) {
    const image = index.get(e.imageKey);
    if (image === undefined) noRegions++;
    else {
      const kind = questionKind(e.question);
      out.push({
        image,
        ids: encode(e.question),
        classes: questionClasses(table, e.question),
        ...(kind ? { kind } : {}),
        answers: softAnswers(e),
      });
    }
  }
  return { examples: out, noRegions };
}
