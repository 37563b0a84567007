import { drawTokens, topIndices } from '../search/index.js';
import type { CharModel } from './model.js';
import type { CharSampleOptions } from './options.js';
import type { SampleStep } from './reply.js';
import { charStepModel, CharStepper, type CharState, type CharStep } from './stepper.js';

/** Character that primes the state when the prompt is empty (not output). */
export function startId(model: CharModel): number {
  return model.vocab.has('\n') ? model.vocab.id('\n') : 0;
}

/**
 * Generate characters one at a time: the prime sets the state, then each
 * step draws a character (src/search) and feeds it back. Stops early if the
 * caller stops iterating; a stepper made here is freed either way (`given`, one
 * built once with the model, e.g. on onnxruntime, stays the caller's).
 */
export function* generate(model: CharModel, opts: CharSampleOptions, given?: CharStep): Generator<SampleStep, void, undefined> {
  const ids = opts.prime.length > 0 ? model.vocab.encode(opts.prime) : Int32Array.of(startId(model));
  if (opts.length <= 0) return;
  const stepper = given ?? new CharStepper(model);
  try {
    const lm = charStepModel(stepper);
    // All of the prime but its last character sets the state; the search feeds that last one.
    let state: CharState[] = [stepper.initialState()];
    for (const id of ids.subarray(0, -1)) state = lm.step(state, [id]).state;
    let n = 0;
    for (const { tokens, logProbs } of drawTokens(lm, state, [ids[ids.length - 1]!], opts)) {
      const step: SampleStep = { char: model.vocab.char(tokens[0]!) };
      if (opts.candidates && opts.candidates > 0) {
        const top = topIndices(logProbs, Math.min(opts.candidates, lm.vocabSize));
        step.top = top.map((i) => ({ char: model.vocab.char(i), prob: Math.exp(logProbs[i]!) }));
      }
      yield step;
      if (++n >= opts.length) break; // before the next step is computed
    }
  } finally {
    if (!given) stepper.dispose();
  }
}

/** The whole generated text (and candidates per step when asked for). */
export function sampleText(model: CharModel, opts: CharSampleOptions): { text: string; steps: SampleStep[] } {
  const steps = [...generate(model, opts)];
  return { text: steps.map((s) => s.char).join(''), steps };
}
