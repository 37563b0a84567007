import { sampleIndex } from '../caption/decode.js';
import { rng } from '../util/random.js';
import type { CharModel } from './model.js';
import { CharStepper } from './stepper.js';

export interface SampleOptions {
  /** Text that sets the state first; its characters must be in the vocabulary. Not repeated in the output. */
  prime: string;
  /** Characters to generate. */
  length: number;
  /** Softmax temperature; 0 picks the most likely character (argmax). */
  temperature: number;
  /** Sample only among the k most likely characters (0: all). */
  topK: number;
  /** Same seed (and options), same text. */
  seed: number;
  /** Report the n most likely next characters at each step (0: none). */
  candidates?: number;
}

export interface Candidate {
  char: string;
  /** The model's probability (temperature 1, before top-k). */
  prob: number;
}

export interface SampleStep {
  char: string;
  /** Top candidates for this step, most likely first (when asked for). */
  top?: Candidate[];
}

/** Character that primes the state when the prompt is empty (not output). */
export function startId(model: CharModel): number {
  return model.vocab.has('\n') ? model.vocab.id('\n') : 0;
}

/**
 * Draw the next id from log-probabilities: argmax at temperature 0, else a
 * sample from softmax(logp / T) restricted to the `topK` most likely ids.
 */
export function pickIndex(logProbs: Float32Array, temperature: number, topK: number, random: () => number): number {
  if (temperature <= 0 || topK === 1) return argmax(logProbs);
  if (topK <= 0 || topK >= logProbs.length) return sampleIndex(logProbs, temperature, random);
  const order = topIndices(logProbs, topK);
  const sub = Float32Array.from(order, (i) => logProbs[i]!);
  return order[sampleIndex(sub, temperature, random)]!;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(values: Float32Array, k: number): number[] {
  const idx = Array.from(values, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}

/**
 * Generate characters one at a time: the prime sets the state, then each
 * step samples a character and feeds it back. Stops early if the caller
 * stops iterating; the stepper's tensors are freed either way.
 */
export function* generate(model: CharModel, opts: SampleOptions): Generator<SampleStep, void, undefined> {
  const ids = opts.prime.length > 0 ? model.vocab.encode(opts.prime) : Int32Array.of(startId(model));
  const random = rng(opts.seed);
  const V = model.vocab.size;
  const stepper = new CharStepper(model);
  try {
    let logProbs: Float32Array = new Float32Array(V);
    for (const id of ids) logProbs = stepper.step(id);
    for (let n = 0; n < opts.length; n++) {
      const id = pickIndex(logProbs, opts.temperature, opts.topK, random);
      const step: SampleStep = { char: model.vocab.char(id) };
      if (opts.candidates && opts.candidates > 0) {
        step.top = topIndices(logProbs, Math.min(opts.candidates, V)).map((i) => ({ char: model.vocab.char(i), prob: Math.exp(logProbs[i]!) }));
      }
      yield step;
      if (n < opts.length - 1) logProbs = stepper.step(id);
    }
  } finally {
    stepper.dispose();
  }
}

/** The whole generated text (and candidates per step when asked for). */
export function sampleText(model: CharModel, opts: SampleOptions): { text: string; steps: SampleStep[] } {
  const steps = [...generate(model, opts)];
  return { text: steps.map((s) => s.char).join(''), steps };
}
