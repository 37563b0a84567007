import * as tf from '@tensorflow/tfjs';
import { COCO_LABELS, type DetectedObject } from '../../encoder/types.js';
import { classScores, ENTRY_FEATURES, entryFeatures, objectEntries, type ObjectEntry } from '../../grounding/entries.js';
import type { WordTable } from '../../grounding/words.js';
import { END_ID, PAD_ID, START_ID, UNK_ID, type Vocab } from '../../text/vocab.js';
import type { GroundedBatchTensors } from './model.js';
import { slotCaption, slotId, type SlottedToken } from './slots.js';

/** What the decoder knows about one image besides its words. */
export interface GroundedImage {
  /** [v; d]: encoder features, then each class's best detection score. */
  input: Float32Array;
  entries: ObjectEntry[];
  /** maxEntries × ENTRY_FEATURES descriptors, zero-padded. */
  entryFeatures: Float32Array;
}

export function groundedImage(
  table: WordTable,
  features: Float32Array,
  objects: readonly DetectedObject[],
  maxEntries: number,
  minScore: number,
): GroundedImage {
  const input = new Float32Array(features.length + COCO_LABELS.length);
  input.set(features);
  input.set(classScores(objects), features.length);
  const entries = objectEntries(objects, maxEntries, minScore);
  const padded = new Float32Array(maxEntries * ENTRY_FEATURES);
  padded.set(entryFeatures(table, entries));
  return { input, entries, entryFeatures: padded };
}

/**
 * Words that may fill a slot of each class, singular and plural: the class's
 * single-token words that the vocabulary knows. Empty when it knows none
 * (a giraffe in Flickr8k): the slot is then written with the table's word.
 */
export function fineCandidates(table: WordTable, vocab: Vocab): { singular: number[]; plural: number[] }[] {
  const known = (words: readonly string[]) => [...new Set(words.filter((w) => !w.includes(' ') && vocab.has(w)).map((w) => vocab.id(w)))];
  return table.classes.map((c) => ({ singular: known(c.singular), plural: known(c.plural) }));
}

/** A slot in an encoded caption: ids[pos] is the slot token. */
export interface SlotTarget {
  pos: number;
  entry: number;
  classId: number;
  plural: boolean;
  /** The word the caption used, when it can be a fine target; else -1. */
  fine: number;
}

export interface GroundedExample {
  image: number;
  /** <start> … <end>, slots as slot ids. */
  ids: number[];
  slots: SlotTarget[];
}

/** Encode a slotted caption (at most maxWords positions). */
export function encodeSlotted(
  tokens: readonly SlottedToken[],
  entries: readonly ObjectEntry[],
  vocab: Vocab,
  maxWords: number,
): Omit<GroundedExample, 'image'> {
  const ids = [START_ID];
  const slots: SlotTarget[] = [];
  for (const t of tokens.slice(0, maxWords)) {
    if (typeof t === 'string') ids.push(vocab.id(t));
    else {
      const word = t.words.length === 1 && vocab.has(t.words[0]!) ? vocab.id(t.words[0]!) : -1;
      slots.push({ pos: ids.length, entry: t.entry, classId: entries[t.entry]!.classId, plural: t.plural, fine: word });
      ids.push(slotId(t.plural));
    }
  }
  ids.push(END_ID);
  return { ids, slots };
}

/** Training examples: every caption of every image, slotted against that image's entries. */
export function groundedExamples(
  table: WordTable,
  images: readonly { image: number; captions: readonly (readonly string[])[] }[],
  entriesOf: (image: number) => readonly ObjectEntry[],
  vocab: Vocab,
  maxWords: number,
): GroundedExample[] {
  return images.flatMap(({ image, captions }) =>
    captions.map((tokens) => {
      const entries = entriesOf(image);
      return { image, ...encodeSlotted(slotCaption(table, tokens, entries), entries, vocab, maxWords) };
    }),
  );
}

export interface GroundedBatch {
  examples: readonly GroundedExample[];
  /** Real target tokens. */
  targets: number;
}

/** Dense tensors for one batch (the caller disposes them, e.g. with tf.dispose on the object). */
export function batchTensors(
  batch: readonly GroundedExample[],
  images: readonly GroundedImage[],
  candidates: ReturnType<typeof fineCandidates>,
  vocabSize: number,
): GroundedBatchTensors {
  const B = batch.length;
  const T1 = Math.max(...batch.map((e) => e.ids.length));
  const T = T1 - 1;
  const F = ENTRY_FEATURES;
  const first = images[batch[0]!.image]!;
  const D = first.input.length;
  const KF = first.entryFeatures.length;
  const K = KF / F;

  const inputs = new Float32Array(B * D);
  const tokens = new Int32Array(B * T1).fill(PAD_ID);
  const mask = new Float32Array(B * T);
  const slotInputs = new Float32Array(T * B * F);
  const entries = new Float32Array(B * KF);
  const entryMask = new Float32Array(B * K);
  const slotRows: number[] = [];
  const slotImages: number[] = [];
  const slotEntries: number[] = [];
  const fineTargets: number[] = [];
  const fineWeights: number[] = [];
  const allowed: number[][] = [];

  batch.forEach((e, b) => {
    const img = images[e.image]!;
    inputs.set(img.input, b * D);
    tokens.set(e.ids, b * T1);
    mask.fill(1, b * T, b * T + e.ids.length - 1);
    entries.set(img.entryFeatures, b * KF);
    entryMask.fill(1, b * K, b * K + img.entries.length);
    for (const s of e.slots) {
      // Read as input at step pos (when a step reads it), predicted as target at step pos - 1.
      if (s.pos < T) slotInputs.set(img.entryFeatures.subarray(s.entry * F, (s.entry + 1) * F), (s.pos * B + b) * F);
      slotRows.push((s.pos - 1) * B + b);
      slotImages.push(b);
      slotEntries.push(s.entry);
      const words = s.plural ? candidates[s.classId]!.plural : candidates[s.classId]!.singular;
      allowed.push(words);
      const known = s.fine >= 0 && words.includes(s.fine);
      fineTargets.push(known ? s.fine : UNK_ID);
      fineWeights.push(known ? 1 : 0);
    }
  });
  const fineMask = new Float32Array(allowed.length * vocabSize);
  allowed.forEach((words, i) => words.forEach((w) => (fineMask[i * vocabSize + w] = 1)));
  // An empty candidate list leaves a row of zeros: harmless, its weight is 0.
  return {
    inputs: tf.tensor2d(inputs, [B, D]),
    tokens: tf.tensor2d(tokens, [B, T1], 'int32'),
    mask: tf.tensor2d(mask, [B, T]),
    slotInputs: tf.tensor2d(slotInputs, [T * B, F]),
    entries: tf.tensor2d(entries, [B, KF]),
    entryMask: tf.tensor2d(entryMask, [B, K]),
    slotRows: tf.tensor1d(slotRows, 'int32'),
    slotImages: tf.tensor1d(slotImages, 'int32'),
    slotEntries: tf.tensor1d(slotEntries, 'int32'),
    fineMask: tf.tensor2d(fineMask, [allowed.length, vocabSize]),
    fineTargets: tf.tensor1d(fineTargets, 'int32'),
    fineWeights: tf.tensor1d(fineWeights),
  };
}
