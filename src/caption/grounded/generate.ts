import { wordFor, type WordTable } from '../../grounding/words.js';
import {
  beamSteps,
  constrainedBeamSteps,
  greedySearch,
  normalizedScore,
  runSearch,
  type Hypothesis,
  type Search,
  type StackableStepModel,
  type StepModel,
} from '../../search/index.js';
import { searchCaptionSteps, searchManyInLockstep, TOKENS } from '../generate.js';
import { END_ID, START_ID } from '../../text/vocab.js';
import type { CaptionSearchOptions } from '../options.js';
import { fineCandidates, type GroundedImage } from './data.js';
import type { GroundedModel } from './model.js';
import { DEFAULT_CONSTRAIN_MIN_SCORE, type GroundedConfig } from './config.js';
import {
  classWordIds,
  groundedInitialState,
  type DecodeRules,
  groundedStepModel,
  slotChoice,
  tfjsGroundedNet,
  type GroundedNet,
  type GroundedState,
} from './step-model.js';

/** A caption word; `entry` says which of the image's entries (detected classes) it names. */
export interface CaptionWord {
  text: string;
  entry?: number;
  /** The attention decoder's sentinel share β when it wrote the word (near 1: from the language model; near 0: from a region). */
  beta?: number;
}

export interface GroundedCaption {
  text: string;
  logprob: number;
  words: CaptionWord[];
}

/** A grounded model with what rendering needs: the word table and each class's fine words. */
export interface GroundedDecoder {
  model: GroundedModel;
  /** Where its tensor work runs (tfjs, or onnxruntime: src/caption/grounded/onnx.ts). */
  net: GroundedNet;
  table: WordTable;
  candidates: ReturnType<typeof fineCandidates>;
  rules: DecodeRules;
  /** Beam mode: re-rank finished captions by score + this × the detection scores of the objects named. */
  coverageWeight: number;
  /** Beam mode: name the image's `top` surest detections scoring ≥ minScore (constrained beam search; top 0: off). */
  constrain: { top: number; minScore: number };
}

/** The decoding choices a grounded model can be run with (its config's by default). */
export type DecodeOptions = Pick<GroundedConfig, 'classWordsBySlotOnly' | 'pointerScorePrior' | 'coverageWeight'> &
  Partial<Pick<GroundedConfig, 'constrainTop' | 'constrainMinScore'>>;

export function groundedDecoder(
  model: GroundedModel,
  table: WordTable,
  opts: DecodeOptions = model.config,
  net: GroundedNet = tfjsGroundedNet(model),
): GroundedDecoder {
  const banned = opts.classWordsBySlotOnly ? classWordIds(table, model.vocab) : [];
  return {
    model,
    net,
    table,
    candidates: fineCandidates(table, model.vocab),
    rules: { banned, pointerScorePrior: opts.pointerScorePrior },
    coverageWeight: opts.coverageWeight,
    constrain: { top: opts.constrainTop ?? 0, minScore: opts.constrainMinScore ?? DEFAULT_CONSTRAIN_MIN_SCORE },
  };
}

function stepModel(d: GroundedDecoder): StackableStepModel<GroundedState> {
  return groundedStepModel(d.net, d.model.vocab.size, d.model.config.maxEntries, d.rules);
}

/**
 * Fine words for the slots of `hyps` (row r of `state` is hyps[r]'s image):
 * replay each hypothesis and, where it wrote a slot, take the fine head's best
 * word among the class's words (the table's word when the vocabulary knows none).
 * A coroutine (see Search): the replay's steps are yielded.
 */
function* fillSlots(
  d: GroundedDecoder,
  lm: StepModel<GroundedState>,
  state: GroundedState,
  hyps: readonly Hypothesis[],
): Search<GroundedState, CaptionWord[][]> {
  const V = d.model.vocab.size;
  const words: CaptionWord[][] = hyps.map(() => []);
  const longest = Math.max(0, ...hyps.map((h) => h.ids.length));
  // The replay stops after the last slot: the words after it need no state.
  const lastSlot = Math.max(-1, ...hyps.map((h) => lastIndexOf(h.ids, (id) => slotChoice(id, V) !== undefined)));
  let s = state;
  let prev = hyps.map(() => START_ID);
  try {
    for (let t = 0; t < longest; t++) {
      const slots = hyps.map((h) => slotChoice(h.ids[t] ?? END_ID, V));
      let fine: Float32Array | undefined;
      if (t <= lastSlot) {
        const out = yield { state: s, tokens: prev };
        if (s !== state) lm.dispose(s);
        s = out.state;
        if (slots.some(Boolean)) fine = d.net.fine(s.h, s.n);
      }
      hyps.forEach((h, r) => {
        const id = h.ids[t];
        if (id === undefined || id === END_ID) return;
        const slot = slots[r];
        if (!slot) return void words[r]!.push({ text: d.model.vocab.word(id) });
        const entry = state.images[r]!.entries[slot.entry]!;
        const options = d.candidates[entry.classId]![slot.plural ? 'plural' : 'singular'];
        let best = -1;
        for (const w of options) if (best < 0 || fine![r * V + w]! > fine![r * V + best]!) best = w;
        const text = best >= 0 ? d.model.vocab.word(best) : wordFor(d.table, entry.label, slot.plural);
        for (const part of text.split(' ')) words[r]!.push({ text: part, entry: slot.entry });
      });
      prev = hyps.map((h) => h.ids[t] ?? END_ID);
    }
  } finally {
    if (s !== state) lm.dispose(s);
  }
  return words;
}

/** Index of the last element of `xs` that passes `test`, or -1. */
function lastIndexOf<T>(xs: readonly T[], test: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (test(xs[i]!)) return i;
  return -1;
}

/** The hypotheses as captions, their slots filled (state: one row per hypothesis). */
function* toCaptions(
  d: GroundedDecoder,
  lm: StepModel<GroundedState>,
  state: GroundedState,
  hyps: readonly Hypothesis[],
): Search<GroundedState, GroundedCaption[]> {
  const words = yield* fillSlots(d, lm, state, hyps);
  return hyps.map((h, r) => ({ text: words[r]!.map((w) => w.text).join(' '), logprob: h.logprob, words: words[r]! }));
}

/** Beam results re-ranked by score + coverageWeight × the detection scores of the objects named; the best n. */
function coverageRanked(d: GroundedDecoder, image: GroundedImage, hyps: Hypothesis[], opts: CaptionSearchOptions): Hypothesis[] {
  const w = d.coverageWeight;
  if (w === 0) return hyps;
  const V = d.model.vocab.size;
  const named = (h: Hypothesis) => h.ids.reduce((sum, id) => sum + (image.entries[slotChoice(id, V)?.entry ?? -1]?.score ?? 0), 0);
  const finished = (h: Hypothesis) => (h.ids[h.ids.length - 1] === END_ID ? 1 : 0);
  const key = (h: Hypothesis) => normalizedScore(h, opts.lengthPenalty) + w * named(h);
  // Finished captions still rank before cut-off ones, as in beamSearch.
  return [...hyps].sort((a, b) => finished(b) - finished(a) || key(b) - key(a)).slice(0, opts.n);
}

/**
 * The constraints of constrained beam search: for each of the image's surest
 * entries (up to constrain.top, scoring ≥ constrain.minScore), its two slot
 * tokens (singular, plural). Entries come best first.
 */
export function entryConstraints(d: GroundedDecoder, image: GroundedImage): number[][] {
  const V = d.model.vocab.size;
  const K = Math.min(image.entries.length, d.model.config.maxEntries);
  return image.entries
    .slice(0, K)
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.score >= d.constrain.minScore)
    .slice(0, d.constrain.top)
    .map(({ i }) => [V + 2 * i, V + 2 * i + 1]);
}

/** Beam mode: constrained when the decoder asks for it, else re-ranked by coverage. */
function* groundedBeam<S>(
  d: GroundedDecoder,
  image: GroundedImage,
  lm: StepModel<S>,
  init: S,
  opts: CaptionSearchOptions,
): Search<S, Hypothesis[]> {
  const constraints = d.constrain.top > 0 ? entryConstraints(d, image) : [];
  if (constraints.length > 0) return yield* constrainedBeamSteps(lm, init, TOKENS, { ...opts, constraints });
  const hyps = yield* beamSteps(lm, init, TOKENS, { ...opts, n: d.coverageWeight > 0 ? opts.beamSize : opts.n });
  return coverageRanked(d, image, hyps, opts);
}

/** Captions for one image, from its first state row `init` (not disposed); a coroutine (see Search). */
function* groundedCaptionSteps(
  d: GroundedDecoder,
  lm: StepModel<GroundedState>,
  image: GroundedImage,
  init: GroundedState,
  opts: CaptionSearchOptions,
): Search<GroundedState, GroundedCaption[]> {
  const hyps = yield* searchCaptionSteps(lm, init, opts, (m, s) => groundedBeam(d, image, m, s, opts));
  const rows = lm.gather(
    init,
    hyps.map(() => 0),
  );
  try {
    return yield* toCaptions(d, lm, rows, hyps);
  } finally {
    lm.dispose(rows);
  }
}

/** Captions for one image. */
export function generateGrounded(d: GroundedDecoder, image: GroundedImage, opts: CaptionSearchOptions): GroundedCaption[] {
  const lm = stepModel(d);
  const init = groundedInitialState(d.net, [image]);
  try {
    return runSearch(lm, groundedCaptionSteps(d, lm, image, init, opts));
  } finally {
    lm.dispose(init);
  }
}

/**
 * Captions for several images, each with its own options, as generateGrounded
 * gives them one by one; their searches run in lockstep, so each decoder step
 * is one batch over every image's rows (concurrent requests, src/server).
 * Returns each image's captions or the error its search threw.
 */
export function generateGroundedMany(
  d: GroundedDecoder,
  items: readonly { image: GroundedImage; opts: CaptionSearchOptions }[],
): (GroundedCaption[] | Error)[] {
  if (items.length === 0) return [];
  const lm = stepModel(d);
  const init = groundedInitialState(
    d.net,
    items.map((it) => it.image),
  );
  try {
    return searchManyInLockstep(lm, init, items.length, (i, row) => groundedCaptionSteps(d, lm, items[i]!.image, row, items[i]!.opts));
  } finally {
    lm.dispose(init);
  }
}

/** Greedy captions for many images at once (evaluation). */
export function greedyGrounded(d: GroundedDecoder, images: readonly GroundedImage[], maxLength: number): GroundedCaption[] {
  const lm = stepModel(d);
  const init = groundedInitialState(d.net, images);
  try {
    const hyps = greedySearch(lm, init, images.length, TOKENS, maxLength);
    return runSearch(lm, toCaptions(d, lm, init, hyps));
  } finally {
    lm.dispose(init);
  }
}
