import * as tf from '@tensorflow/tfjs';
import { ENTRY_FEATURES } from '../../grounding/entries.js';
import type { StepModel } from '../../search/index.js';
import type { WordTable } from '../../grounding/words.js';
import { PAD_ID, START_ID, UNK_ID, type Vocab } from '../../text/vocab.js';
import type { GroundedImage } from './data.js';
import type { GroundedModel } from './model.js';
import { SLOT_ID, SLOTS_ID, slotId } from './slots.js';

/** Search state: the LSTM rows and, per row, its image's entries and which it has named. */
export interface GroundedState {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
  /** [N, K, A] entries in the pointer's attention space. */
  projected: tf.Tensor3D;
  images: readonly GroundedImage[];
  used: readonly (readonly boolean[])[];
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
export function groundedInitialState(model: GroundedModel, images: readonly GroundedImage[]): GroundedState {
  const D = model.inputDim;
  const inputs = new Float32Array(images.length * D);
  images.forEach((img, i) => inputs.set(img.input, i * D));
  const KF = images[0]!.entryFeatures.length;
  const entries = new Float32Array(images.length * KF);
  images.forEach((img, i) => entries.set(img.entryFeatures, i * KF));
  const tensors = tf.tidy(() => {
    const { h, c } = model.initialState(tf.tensor2d(inputs, [images.length, D]));
    return { h, c, projected: model.projectEntries(tf.tensor2d(entries, [images.length, KF]), images.length) };
  });
  return { ...tensors, images, used: images.map((img) => img.entries.map(() => false)) };
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

export function groundedStepModel(model: GroundedModel, maxEntries: number, rules: DecodeRules = NO_RULES): StepModel<GroundedState> {
  const { banned, pointerScorePrior: prior } = rules;
  const V = model.vocab.size;
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
      const { logProbs, pointer, next } = tf.tidy(() => {
        const out = model.step({ h: state.h, c: state.c }, tf.tensor1d(Int32Array.from(ids), 'int32'), tf.tensor2d(slotInputs, [N, F]));
        return { logProbs: out.logProbs, pointer: model.pointerScores(out.state.h, state.projected), next: out.state };
      });
      const lp = logProbs.dataSync() as Float32Array;
      const ptr = pointer.dataSync() as Float32Array;
      tf.dispose([logProbs, pointer]);
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
      return { logProbs: out, state: { ...next, projected: tf.clone(state.projected), images: state.images, used } };
    },
    gather(state, rows) {
      const tensors = tf.tidy(() => {
        const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
        return { h: tf.gather(state.h, idx), c: tf.gather(state.c, idx), projected: tf.gather(state.projected, idx) };
      });
      return { ...tensors, images: rows.map((r) => state.images[r]!), used: rows.map((r) => [...state.used[r]!]) };
    },
    dispose(state) {
      tf.dispose([state.h, state.c, state.projected]);
    },
  };
}
