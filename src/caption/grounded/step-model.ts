import * as tf from '@tensorflow/tfjs';
import { ENTRY_FEATURES } from '../../grounding/entries.js';
import { pickRows, stackRows } from '../../util/rows.js';
import type { StackableStepModel } from '../../search/index.js';
import type { WordTable } from '../../grounding/words.js';
import { PAD_ID, START_ID, UNK_ID, type Vocab } from '../../text/vocab.js';
import type { GroundedImage } from './data.js';
import type { GroundedModel } from './model.js';
import { SLOT_ID, SLOTS_ID, slotId } from './slots.js';

/** The LSTM rows of a search, row-major: h, c [n, H] and each row's entries in the pointer's attention space [n, K, A]. */
export interface GroundedRows {
  n: number;
  h: Float32Array;
  c: Float32Array;
  projected: Float32Array;
}

/** Search state: the LSTM rows and, per row, its image's entries and which it has named. */
export interface GroundedState extends GroundedRows {
  images: readonly GroundedImage[];
  used: readonly (readonly boolean[])[];
}

/**
 * The grounded decoder's tensor work on one runtime (tfjs here, onnxruntime in
 * src/caption/grounded/onnx.ts); everything else (slots, masks, the pointer's
 * softmax, the searches) is shared plain JS over its arrays.
 */
export interface GroundedNet {
  /** Which runtime computes it (reported by /health). */
  readonly runtime: 'tfjs' | 'onnx';
  /** First rows from inputs [n, D + 80] ([v; d]) and entry descriptors [n, K·F]. */
  initial(inputs: Float32Array, entries: Float32Array, n: number): GroundedRows;
  /** One step: token ids (slot tokens as SLOT_ID / SLOTS_ID), filled slots' descriptors [n, F] → log-probabilities [n, V], pointer scores [n, K] (unmasked), next rows. */
  step(
    rows: GroundedRows,
    ids: Int32Array,
    slotInputs: Float32Array,
  ): { logProbs: Float32Array; pointer: Float32Array; rows: GroundedRows };
  /** Fine-word logits [n, V] from h [n, H]. */
  fine(h: Float32Array, n: number): Float32Array;
  /** Frees what the net holds beyond the model's weights. */
  dispose(): void;
}

/** The grounded model's tensors as a GroundedNet (tfjs). */
export function tfjsGroundedNet(model: GroundedModel): GroundedNet {
  const H = model.config.hiddenDim;
  const F = ENTRY_FEATURES;
  const A = model.config.attendDim;
  const read = (t: tf.Tensor): Float32Array => {
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  };
  return {
    runtime: 'tfjs',
    initial(inputs, entries, n) {
      const { h, c, projected } = tf.tidy(() => {
        const s = model.initialState(tf.tensor2d(inputs, [n, inputs.length / n]));
        return { ...s, projected: model.projectEntries(tf.tensor2d(entries, [n, entries.length / n])) };
      });
      return { n, h: read(h), c: read(c), projected: read(projected) };
    },
    step(rows, ids, slotInputs) {
      const { n } = rows;
      const out = tf.tidy(() => {
        const state = { h: tf.tensor2d(rows.h, [n, H]), c: tf.tensor2d(rows.c, [n, H]) };
        const next = model.step(state, tf.tensor1d(ids, 'int32'), tf.tensor2d(slotInputs, [n, F]));
        const projected = tf.tensor3d(rows.projected, [n, rows.projected.length / (n * A), A]);
        return { logProbs: next.logProbs, pointer: model.pointerScores(next.state.h, projected), h: next.state.h, c: next.state.c };
      });
      return {
        logProbs: read(out.logProbs),
        pointer: read(out.pointer),
        rows: { n, h: read(out.h), c: read(out.c), projected: rows.projected },
      };
    },
    fine(h, n) {
      return read(tf.tidy(() => model.fineLogits(tf.tensor2d(h, [n, H]))));
    },
    dispose: () => undefined,
  };
}

/** The rows of several row sets, in order (same widths: one model, entries padded to maxEntries). */
export function stackGroundedRows(sets: readonly GroundedRows[]): GroundedRows {
  const cat = (pick: (r: GroundedRows) => Float32Array) => stackRows(sets.map(pick));
  return { n: sets.reduce((n, r) => n + r.n, 0), h: cat((r) => r.h), c: cat((r) => r.c), projected: cat((r) => r.projected) };
}

/** Rows picked (and possibly repeated) by index, for gather. */
export function gatherRows(rows: GroundedRows, picked: readonly number[]): GroundedRows {
  const pick = (a: Float32Array) => pickRows(a, rows.n, picked);
  return { n: picked.length, h: pick(rows.h), c: pick(rows.c), projected: pick(rows.projected) };
}

/**
 * The searches see one flat token space: the V vocabulary ids, then for each
 * entry j a singular and a plural slot filled by j (V + 2j, V + 2j + 1). So
 * greedy, beam and sampling run unchanged, and the log-probability of a filled
 * slot is log p(slot token) + log p(entry | pointer).
 */
export interface SlotChoice {
  entry: number;
  plural: boolean;
}

export function slotChoice(token: number, vocabSize: number): SlotChoice | undefined {
  if (token < vocabSize) return undefined;
  const k = token - vocabSize;
  return { entry: Math.floor(k / 2), plural: k % 2 === 1 };
}

/** Tokens a caption never writes: padding, start, unknown, and an unfilled slot. */
const NEVER_WRITTEN = [PAD_ID, START_ID, UNK_ID, SLOT_ID, SLOTS_ID];

/** The first state for rows of `images` (one row per image). */
export function groundedInitialState(net: GroundedNet, images: readonly GroundedImage[]): GroundedState {
  const D = images[0]!.input.length;
  const inputs = new Float32Array(images.length * D);
  images.forEach((img, i) => inputs.set(img.input, i * D));
  const KF = images[0]!.entryFeatures.length;
  const entries = new Float32Array(images.length * KF);
  images.forEach((img, i) => entries.set(img.entryFeatures, i * KF));
  return { ...net.initial(inputs, entries, images.length), images, used: images.map((img) => img.entries.map(() => false)) };
}

function logSoftmaxMasked(scores: Float32Array, allowed: readonly boolean[]): Float32Array {
  let max = -Infinity;
  scores.forEach((s, j) => allowed[j] && (max = Math.max(max, s)));
  let sum = 0;
  scores.forEach((s, j) => allowed[j] && (sum += Math.exp(s - max)));
  const lse = max + Math.log(sum);
  return scores.map((s, j) => (allowed[j] ? s - lse : -Infinity));
}

/**
 * Vocabulary ids of words that name a COCO class (not ambiguous ones): with
 * these banned, a class is named only through a slot, that is only when the
 * detector found it. Flickr8k's captions say "dog" where the detector missed
 * the dog, which otherwise teaches the decoder to see dogs in zebras.
 */
export function classWordIds(table: WordTable, vocab: Vocab): number[] {
  return [...table.senses]
    .filter(([word, sense]) => !sense.ambiguous && !word.includes(' ') && vocab.has(word))
    .map(([word]) => vocab.id(word));
}

/** Decoding rules on top of the model's probabilities (config.json holds the shipped choice). */
export interface DecodeRules {
  /** Word ids never written (class words, when they may come only from slots). */
  banned: readonly number[];
  /** × log(detection score) added to the pointer's scores. */
  pointerScorePrior: number;
}

export const NO_RULES: DecodeRules = { banned: [], pointerScorePrior: 0 };

export function groundedStepModel(
  net: GroundedNet,
  V: number,
  maxEntries: number,
  rules: DecodeRules = NO_RULES,
): StackableStepModel<GroundedState> {
  const { banned, pointerScorePrior: prior } = rules;
  const never = [...NEVER_WRITTEN, ...banned];
  const F = ENTRY_FEATURES;
  const K = maxEntries;
  return {
    vocabSize: V + 2 * K,
    step(state, tokens) {
      const N = tokens.length;
      const slotInputs = new Float32Array(N * F);
      const used = state.used.map((u) => [...u]);
      const ids = tokens.map((t, r) => {
        const slot = slotChoice(t, V);
        if (!slot) return t;
        slotInputs.set(state.images[r]!.entryFeatures.subarray(slot.entry * F, (slot.entry + 1) * F), r * F);
        used[r]![slot.entry] = true;
        return slotId(slot.plural);
      });
      const { logProbs: lp, pointer: ptr, rows } = net.step(state, Int32Array.from(ids), slotInputs);
      const W = V + 2 * K;
      const out = new Float32Array(N * W).fill(-Infinity);
      for (let r = 0; r < N; r++) {
        out.set(lp.subarray(r * V, (r + 1) * V), r * W);
        for (const id of never) out[r * W + id] = -Infinity;
        const entries = state.images[r]!.entries.length;
        const allowed = Array.from({ length: K }, (_, j) => j < entries && !used[r]![j]);
        const scores = ptr
          .subarray(r * K, (r + 1) * K)
          .map((p, j) => (j < entries ? p + prior * Math.log(state.images[r]!.entries[j]!.score) : p));
        const pointerLp = logSoftmaxMasked(scores, allowed);
        for (let j = 0; j < K; j++) {
          out[r * W + V + 2 * j] = lp[r * V + SLOT_ID]! + pointerLp[j]!;
          out[r * W + V + 2 * j + 1] = lp[r * V + SLOTS_ID]! + pointerLp[j]!;
        }
      }
      return { logProbs: out, state: { ...rows, images: state.images, used } };
    },
    gather(state, rows) {
      return { ...gatherRows(state, rows), images: rows.map((r) => state.images[r]!), used: rows.map((r) => [...state.used[r]!]) };
    },
    stack(states) {
      return { ...stackGroundedRows(states), images: states.flatMap((s) => s.images), used: states.flatMap((s) => s.used) };
    },
    // States are plain arrays, never changed in place: nothing to free.
    dispose: () => undefined,
  };
}
