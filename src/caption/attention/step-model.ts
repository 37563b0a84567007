import * as tf from '@tensorflow/tfjs';
import type { StackableStepModel } from '../../search/index.js';
import { PAD_ID, START_ID, UNK_ID } from '../../text/vocab.js';
import { pickRows, stackRows } from '../../util/rows.js';
import type { AttentionModel } from './model.js';
import { maskUnsupported, type PhraseBans } from './support.js';
import { decodeSlotToken, readBackId, slotTokens, slotVocabSize, type SlotRules } from './slot-tokens.js';

/** Rows of the decoder, flat: each row's region memory (k regions, padded) and both LSTMs' states. */
export interface AttentionRows {
  n: number;
  k: number;
  features: Float32Array;
  keys: Float32Array;
  mean: Float32Array;
  mask: Float32Array;
  h1: Float32Array;
  c1: Float32Array;
  h2: Float32Array;
  c2: Float32Array;
}

export interface AttentionStepResult {
  logProbs: Float32Array;
  /** [n, k] each region's share of the attention (0 for padding); [n] the sentinel's share β. */
  alpha: Float32Array;
  beta: Float32Array;
  rows: AttentionRows;
}

/**
 * The attention decoder's tensor work on one runtime (tfjs below, onnxruntime in onnx.ts);
 * everything else (masks, the searches, links) is plain JS over its arrays.
 */
export interface AttentionNet {
  readonly runtime: 'tfjs' | 'onnx';
  /** regions [n·k·R] and mask [n·k] → the first rows. */
  initial(regions: Float32Array, mask: Float32Array, n: number, k: number): AttentionRows;
  step(rows: AttentionRows, ids: Int32Array): AttentionStepResult;
  dispose(): void;
}

const ROW_FIELDS = ['features', 'keys', 'mean', 'mask', 'h1', 'c1', 'h2', 'c2'] as const;

/** The model's tensors as an AttentionNet (tfjs). */
export function tfjsAttentionNet(model: AttentionModel): AttentionNet {
  const { regionDim: R, hiddenDim: H, attendDim: A } = model.config;
  const read = (t: tf.Tensor): Float32Array => {
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  };
  return {
    runtime: 'tfjs',
    initial(regions, mask, n, k) {
      const out = tf.tidy(() => {
        const r = tf.tensor3d(regions, [n, k, R]);
        const m = tf.tensor2d(mask, [n, k]);
        const memory = model.projectRegions(r, m);
        const s = model.initialState(r, m);
        return { features: memory.features, keys: memory.keys, mean: memory.mean, ...s };
      });
      return {
        n,
        k,
        features: read(out.features),
        keys: read(out.keys),
        mean: read(out.mean),
        mask,
        h1: read(out.h1),
        c1: read(out.c1),
        h2: read(out.h2),
        c2: read(out.c2),
      };
    },
    step(rows, ids) {
      const { n, k } = rows;
      const out = tf.tidy(() => {
        const image = {
          features: tf.tensor3d(rows.features, [n, k, H]),
          keys: tf.tensor3d(rows.keys, [n, k, A]),
          mean: tf.tensor2d(rows.mean, [n, H]),
          mask: tf.tensor2d(rows.mask, [n, k]),
        };
        const state = {
          h1: tf.tensor2d(rows.h1, [n, H]),
          c1: tf.tensor2d(rows.c1, [n, H]),
          h2: tf.tensor2d(rows.h2, [n, H]),
          c2: tf.tensor2d(rows.c2, [n, H]),
        };
        const next = model.step(state, tf.tensor1d(ids, 'int32'), image);
        return { logProbs: next.logProbs, alpha: next.alpha, beta: next.beta, ...next.state };
      });
      return {
        logProbs: read(out.logProbs),
        alpha: read(out.alpha),
        beta: read(out.beta),
        rows: { ...rows, h1: read(out.h1), c1: read(out.c1), h2: read(out.h2), c2: read(out.c2) },
      };
    },
    dispose: () => undefined,
  };
}

/** Rows picked (and possibly repeated) by index. */
export function gatherAttentionRows(rows: AttentionRows, picked: readonly number[]): AttentionRows {
  const out = { n: picked.length, k: rows.k } as AttentionRows;
  for (const f of ROW_FIELDS) out[f] = pickRows(rows[f], rows.n, picked);
  return out;
}

/** The rows of several row sets, in order (one model, and every set padded to the same k). */
export function stackAttentionRows(sets: readonly AttentionRows[]): AttentionRows {
  const k = sets[0]!.k;
  if (sets.some((s) => s.k !== k)) throw new Error('stackAttentionRows: row sets with different region counts');
  const out = { n: sets.reduce((n, s) => n + s.n, 0), k } as AttentionRows;
  for (const f of ROW_FIELDS) out[f] = stackRows(sets.map((s) => s[f]));
  return out;
}

/**
 * Search state: the decoder's rows; per row, the word ids it may not write (unsupported classes,
 * support.ts) and the two-word names that change that after their first word; and, once a step
 * has run, that step's attention per row (what links a written word to a region).
 */
export interface AttentionState extends AttentionRows {
  banned: readonly (readonly number[])[];
  phrases?: readonly PhraseBans[];
  /** [n, k] the last step's region shares, [n] its sentinel shares β. */
  alpha?: Float32Array;
  beta?: Float32Array;
  /** Per row, the tokens fed after <start>: what repeats are checked against, and the prefix the step's attention belongs to. */
  written?: readonly (readonly number[])[];
  /** Slots models: per row, the class of each kept region (what a slot pointing at it names). */
  regionClasses?: readonly (readonly number[])[];
  /** Slots models: per row, the classes its caption has named (a class is named once). */
  named?: readonly (readonly number[])[];
}

/** Decoding rules of the step model beyond the rows' bans. */
export interface StepRules {
  /** Never repeat an n-gram of this many words (0: off): a banned class word can leave the model looping ("a group of a group of"). */
  noRepeatNgram?: number;
  /** A slots model's slot filling (slot-tokens.ts). */
  slots?: SlotRules;
}

/**
 * Set to −∞ each word that would repeat an n-gram of `history` (the words written so far): the
 * words that followed an earlier occurrence of its last n − 1 words.
 */
export function maskRepeats(logProbs: Float32Array, history: readonly number[], n: number): void {
  const m = history.length;
  if (n < 1 || m < n - 1) return;
  for (let i = 0; i + n - 1 < m; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = history[i + j] === history[m - n + 1 + j];
    if (same) logProbs[history[i + n - 1]!] = -Infinity;
  }
}

/** Tokens a caption never writes. */
const NEVER_WRITTEN = [PAD_ID, START_ID, UNK_ID];

const NO_PHRASES: PhraseBans = new Map();

/** `pick` of every state's field, stacked, when each state has it (a first state has no attention yet). */
function stackField(states: readonly AttentionState[], pick: (s: AttentionState) => Float32Array | undefined): Float32Array | undefined {
  const parts = states.map(pick).filter((p) => p !== undefined);
  return parts.length === states.length ? stackRows(parts) : undefined;
}

/**
 * The decoder as the searches' StepModel: padding, start and <unk> never written, nor a row's
 * banned words (maskUnsupported), nor repeats (maskRepeats, when asked); the step's alpha and beta
 * and each row's written words ride along in the state it returns.
 */
export function attentionStepModel(net: AttentionNet, vocabSize: number, rules: StepRules = {}): StackableStepModel<AttentionState> {
  const n = rules.noRepeatNgram ?? 0;
  const { slots } = rules;
  const V = vocabSize;
  const W = slots ? slotVocabSize(V, slots) : V;
  return {
    vocabSize: W,
    step(state, tokens) {
      const slotOf = (t: number) => (slots ? decodeSlotToken(t, V, slots) : undefined);
      const ids = tokens.map((t) => {
        const slot = slotOf(t);
        return slot ? readBackId(slot) : t;
      });
      const named = slots
        ? tokens.map((t, r) => {
            const slot = slotOf(t);
            const before = t === START_ID ? [] : (state.named?.[r] ?? []);
            return slot ? [...before, slot.classId] : before;
          })
        : undefined;
      const { logProbs: lp, alpha, beta, rows } = net.step(state, Int32Array.from(ids));
      const written = tokens.map((t, r) => (t === START_ID ? [] : [...(state.written?.[r] ?? []), t]));
      const logProbs = slots ? new Float32Array(tokens.length * W) : lp;
      for (let r = 0; r < tokens.length; r++) {
        let row = lp.subarray(r * V, (r + 1) * V);
        if (slots) {
          const out = logProbs.subarray(r * W, (r + 1) * W);
          slotTokens(row, alpha.subarray(r * rows.k, (r + 1) * rows.k), state.regionClasses![r]!, named![r]!, slots, out);
          row = out.subarray(0, V);
        }
        for (const id of NEVER_WRITTEN) row[id] = -Infinity;
        maskUnsupported(row, state.banned[r]!, state.phrases?.[r], tokens[r]!);
        if (n > 0) maskRepeats(row, written[r]!, n);
      }
      return {
        logProbs,
        state: {
          ...rows,
          banned: state.banned,
          ...(state.phrases ? { phrases: state.phrases } : {}),
          alpha,
          beta,
          written,
          ...(slots ? { regionClasses: state.regionClasses!, named: named! } : {}),
        },
      };
    },
    gather(state, rows) {
      return {
        ...gatherAttentionRows(state, rows),
        banned: rows.map((r) => state.banned[r]!),
        ...(state.phrases ? { phrases: rows.map((r) => state.phrases![r]!) } : {}),
        ...(state.alpha ? { alpha: pickRows(state.alpha, state.n, rows) } : {}),
        ...(state.beta ? { beta: pickRows(state.beta, state.n, rows) } : {}),
        ...(state.written ? { written: rows.map((r) => state.written![r]!) } : {}),
        ...(state.regionClasses ? { regionClasses: rows.map((r) => state.regionClasses![r]!) } : {}),
        ...(state.named ? { named: rows.map((r) => state.named![r]!) } : {}),
      };
    },
    stack(states) {
      const alpha = stackField(states, (s) => s.alpha);
      const beta = stackField(states, (s) => s.beta);
      const phrased = states.some((s) => s.phrases);
      return {
        ...stackAttentionRows(states),
        banned: states.flatMap((s) => s.banned),
        // A state without phrase rules (a caller that bans nothing) stacks as rows with none.
        ...(phrased ? { phrases: states.flatMap((s) => s.phrases ?? s.banned.map(() => NO_PHRASES)) } : {}),
        ...(alpha ? { alpha } : {}),
        ...(beta ? { beta } : {}),
        // A first state has written nothing: its rows stack as empty histories.
        ...(states.some((s) => s.written) ? { written: states.flatMap((s) => s.written ?? s.banned.map(() => [])) } : {}),
        ...(states.some((s) => s.regionClasses) ? { regionClasses: states.flatMap((s) => s.regionClasses ?? s.banned.map(() => [])) } : {}),
        ...(states.some((s) => s.named) ? { named: states.flatMap((s) => s.named ?? s.banned.map(() => [])) } : {}),
      };
    },
    // States are plain arrays, never changed in place: nothing to free.
    dispose: () => undefined,
  };
}
