import * as tf from '@tensorflow/tfjs';
import { regionTensors } from '../../data/regions.js';
import type { SelectedRegions } from '../../encoder/regions.js';
import { objectEntries } from '../../grounding/entries.js';
import type { WordTable } from '../../grounding/words.js';
import { PAD_ID, START_ID, UNK_ID, type Vocab } from '../../text/vocab.js';
import type { RowBatch } from '../../train/spec.js';
import { encodeSlotted } from '../grounded/data.js';
import { slotCaption, slotId } from '../grounded/slots.js';
import type { SlotTargetTensors } from './model.js';
import { decodeSlotToken, readBackId, type SlotRules } from './slot-tokens.js';

/** A slot of a training caption (slots models): ids[pos] is the slot token, filled by a region of class classId. */
export interface RegionSlot {
  pos: number;
  classId: number;
  plural: boolean;
  /** The word the caption used, when the vocabulary knows it as one word; else -1. */
  fine: number;
}

/**
 * One training caption: its image's index and <start> ids… <end>. A slots model's caption has its
 * class mentions as slot tokens in `ids` (the targets), and in `inputs` the words the decoder reads
 * back at those positions (the word written, or the slot token when it is not one known word).
 */
export interface AttentionExample {
  image: number;
  ids: number[];
  inputs?: number[];
  slots?: RegionSlot[];
}

/**
 * A caption of an image with its kept regions, for a slots model: a mention of a class that a kept
 * region has becomes a slot (Neural Baby Talk's rewrite, first mention per class; slotCaption).
 */
export function slottedExample(
  table: WordTable,
  image: number,
  tokens: readonly string[],
  objects: SelectedRegions['objects'],
  vocab: Vocab,
  maxWords: number,
): AttentionExample {
  const entries = objectEntries(objects, objects.length, 0);
  const { ids, slots } = encodeSlotted(slotCaption(table, tokens, entries), entries, vocab, maxWords);
  const inputs = [...ids];
  for (const s of slots) if (s.fine >= 0) inputs[s.pos] = s.fine;
  return { image, ids, inputs, slots: slots.map(({ pos, classId, plural, fine }) => ({ pos, classId, plural, fine })) };
}

/** Teacher-forcing tensors of captions: tokens [B, T+1] (<start> … <end> <pad>…) and mask [B, T] over the targets. */
export function tokenTensors(captions: readonly (readonly number[])[]): { tokens: tf.Tensor2D; mask: tf.Tensor2D } {
  const B = captions.length;
  const T1 = Math.max(...captions.map((c) => c.length));
  const tokens = new Int32Array(B * T1).fill(PAD_ID);
  const mask = new Float32Array(B * (T1 - 1));
  captions.forEach((ids, b) => {
    tokens.set(ids, b * T1);
    mask.fill(1, b * (T1 - 1), b * (T1 - 1) + ids.length - 1);
  });
  return { tokens: tf.tensor2d(tokens, [B, T1], 'int32'), mask: tf.tensor2d(mask, [B, T1 - 1]) };
}

/**
 * A batch's slot targets (slots models), time-major rows t·B + b as the model's teacher forcing:
 * the tokens read (`inputs`, [B, T+1]); per slot, the row that predicts it, which regions have its
 * class (classMask [S, K]) and which are detections at all (objectMask [S, K]: not the whole
 * image, not padding), and its word among the class's words (fineMask [S, V], fineTargets, fineWeights).
 */
export function slotTensors(
  batch: readonly AttentionExample[],
  images: readonly SelectedRegions[],
  K: number,
  { candidates, vocabSize, open = false }: SlotPacking,
): SlotTargetTensors {
  const B = batch.length;
  const inputs = tokenTensors(batch.map((e) => e.inputs ?? e.ids)).tokens;
  const rows: number[] = [];
  const fineTargets: number[] = [];
  const fineWeights: number[] = [];
  const slots = batch.flatMap((e, b) =>
    (e.slots ?? []).map((s, i) => ({
      s,
      b,
      objects: images[e.image]!.objects,
      named: open ? e.slots!.slice(0, i).map((x) => x.classId) : [],
    })),
  );
  const classMask = new Float32Array(slots.length * K);
  const objectMask = new Float32Array(slots.length * K);
  const fineMask = new Float32Array(slots.length * vocabSize);
  slots.forEach(({ s, b, objects, named }, i) => {
    rows.push((s.pos - 1) * B + b);
    objects.forEach((o, j) => {
      if (named.includes(o.classId)) return;
      objectMask[i * K + j] = 1;
      if (o.classId === s.classId) classMask[i * K + j] = 1;
    });
    const words = candidates[s.classId]![s.plural ? 'plural' : 'singular'];
    for (const w of words) fineMask[i * vocabSize + w] = 1;
    const known = s.fine >= 0 && words.includes(s.fine);
    fineTargets.push(known ? s.fine : UNK_ID);
    fineWeights.push(known ? 1 : 0);
  });
  return {
    inputs,
    slotRows: tf.tensor1d(rows, 'int32'),
    classMask: tf.tensor2d(classMask, [slots.length, K]),
    objectMask: tf.tensor2d(objectMask, [slots.length, K]),
    fineMask: tf.tensor2d(fineMask, [slots.length, vocabSize]),
    fineTargets: tf.tensor1d(fineTargets, 'int32'),
    fineWeights: tf.tensor1d(fineWeights),
  };
}

/**
 * What a slots model's batches need beyond the captions: each class's fine words, the vocabulary's
 * size, and whether a slot's pointer ranges over the open classes only (the regions of classes the
 * caption has not named before it, as decoding points: SCST's log-probabilities) or over every
 * detected region (cross-entropy as first trained).
 */
export interface SlotPacking {
  candidates: SlotRules['candidates'];
  vocabSize: number;
  open?: boolean;
}

/** A batch as the gradient step takes it: captions as rows, each share packed with its images' regions (and slot targets, for a slots model). */
export function attentionRows(
  batch: readonly AttentionExample[],
  images: readonly SelectedRegions[],
  R: number,
  slots?: SlotPacking,
): RowBatch {
  return {
    rows: batch.length,
    shard(from, to) {
      const part = batch.slice(from, to);
      const { tokens, mask } = tokenTensors(part.map((e) => e.ids));
      const imgs = part.map((e) => images[e.image]!);
      const { regions, regionMask } = regionTensors(imgs, R);
      const extra = slots ? slotTensors(part, images, regionMask.shape[1], slots) : {};
      return { tensors: { regions, regionMask, tokens, mask, ...extra }, items: part.reduce((n, e) => n + e.ids.length - 1, 0) };
    },
  };
}

/**
 * SCST's sampled captions as a batch for the gradient pool: attentionRows of the samples (each
 * example's image an index into `images`), each row with its advantage.
 */
export function scstRows(
  examples: readonly AttentionExample[],
  images: readonly SelectedRegions[],
  advantages: readonly number[],
  R: number,
  slots?: SlotPacking,
): RowBatch {
  const rows = attentionRows(examples, images, R, slots);
  return {
    rows: rows.rows,
    shard(from, to) {
      const { tensors } = rows.shard(from, to);
      return { tensors: { ...tensors, advantages: tf.tensor1d(Float32Array.from(advantages.slice(from, to))) }, items: to - from };
    },
  };
}

/**
 * A sampled caption of a slots model (flat tokens, slot-tokens.ts) as a training example: its slot
 * tokens become slot targets, read back as the words they wrote.
 */
export function sampledExample(image: number, tokens: readonly number[], V: number, rules: SlotRules): AttentionExample {
  const ids = [START_ID];
  const inputs = [START_ID];
  const slots: RegionSlot[] = [];
  for (const t of tokens) {
    const slot = decodeSlotToken(t, V, rules);
    if (!slot) {
      ids.push(t);
      inputs.push(t);
      continue;
    }
    slots.push({ pos: ids.length, classId: slot.classId, plural: slot.plural, fine: slot.word });
    ids.push(slotId(slot.plural));
    inputs.push(readBackId(slot));
  }
  return { image, ids, inputs, slots };
}
