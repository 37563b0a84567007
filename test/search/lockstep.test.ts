import { describe, expect, it } from 'vitest';
import {
  beamSteps,
  constrainedBeamSteps,
  greedySteps,
  runLockstep,
  runSearch,
  sampleSteps,
  type Search,
  type StackableStepModel,
} from '../../src/search/index.js';
import { randomTable, TOKENS, TrackedModel, type Tracked } from './helpers.js';

/**
 * A model whose state matters: each row carries a hash of what it was fed
 * (starting from a per-search value), and its next-token distribution is the
 * table row the hash picks. A search handed another search's rows would
 * continue someone else's sequence.
 */
function hashModel(V: number, seed: number): StackableStepModel<number[]> {
  const table = randomTable(V, seed).map((row) => row.map(Math.log));
  return {
    vocabSize: V,
    step: (state, tokens) => {
      const next = state.map((h, r) => (h * 31 + tokens[r]! * 7 + 3) % 9973);
      const out = new Float32Array(tokens.length * V);
      next.forEach((h, r) => out.set(table[h % V]!, r * V));
      return { logProbs: out, state: next };
    },
    gather: (state, rows) => rows.map((r) => state[r]!),
    stack: (states) => states.flat(),
    dispose: () => {},
  };
}

const V = 9;
const beam = { beamSize: 3, maxLength: 7, lengthPenalty: 0, n: 2 };
/** Five different searches, each from its own first state. */
function searches(lm: TrackedModel<number[]>, starts: Tracked<number[]>[]): Search<Tracked<number[]>, unknown>[] {
  return [
    beamSteps(lm, starts[0]!, TOKENS, beam),
    greedySteps(lm, starts[1]!, 1, TOKENS, 6),
    sampleSteps(lm, starts[2]!, TOKENS, { n: 3, maxLength: 5, temperature: 1, seed: 7 }),
    constrainedBeamSteps(lm, starts[3]!, TOKENS, { ...beam, constraints: [[4], [6, 7]] }),
    beamSteps(lm, starts[4]!, TOKENS, { ...beam, beamSize: 5, n: 5, maxLength: 4 }),
  ];
}

describe('runLockstep', () => {
  it('gives each search what it gives alone, stepping all of them in one batch per round', () => {
    const solo = new TrackedModel(hashModel(V, 3));
    const soloStarts = [11, 12, 13, 14, 15].map((h) => solo.initial([h]));
    const alone = searches(solo, soloStarts).map((s) => {
      const before = solo.steps;
      const out = runSearch(solo, s);
      return { out, steps: solo.steps - before };
    });

    const lm = new TrackedModel(hashModel(V, 3));
    const starts = [11, 12, 13, 14, 15].map((h) => lm.initial([h]));
    const together = runLockstep(lm, searches(lm, starts));

    expect(together).toEqual(alone.map((a) => a.out));
    // One step per round, for as many rounds as the longest search; each step holds every live row.
    expect(lm.steps).toBe(Math.max(...alone.map((a) => a.steps)));
    expect(lm.rows.reduce((a, b) => a + b, 0)).toBe(solo.rows.reduce((a, b) => a + b, 0));
    expect(lm.rows[0]).toBe(1 + 1 + 3 + 1 + 1);
    expect(lm.alive).toBe(0);
  });

  it('fails only the search that threw; the others finish and every state is freed', () => {
    const lm = new TrackedModel(hashModel(V, 4));
    const starts = [1, 2, 3].map((h) => lm.initial([h]));
    const out = runLockstep(lm, [
      beamSteps(lm, starts[0]!, TOKENS, beam),
      beamSteps(lm, starts[1]!, TOKENS, { ...beam, n: 4 }), // n > beamSize
      greedySteps(lm, starts[2]!, 1, TOKENS, 5),
    ]);
    expect(out[1]).toBeInstanceOf(RangeError);
    expect(out[0]).toEqual(runSearch(lm, beamSteps(lm, starts[0]!, TOKENS, beam)));
    expect(out[2]).toEqual(runSearch(lm, greedySteps(lm, starts[2]!, 1, TOKENS, 5)));
    expect(lm.alive).toBe(0);
  });

  it('a step that throws fails the searches in it and frees their states', () => {
    const inner = hashModel(V, 5);
    let calls = 0;
    const lm = new TrackedModel<number[]>({
      ...inner,
      step: (s, t) => {
        if (++calls === 3) throw new Error('device lost');
        return inner.step(s, t);
      },
    });
    const starts = [1, 2].map((h) => lm.initial([h]));
    const out = runLockstep(lm, [beamSteps(lm, starts[0]!, TOKENS, beam), beamSteps(lm, starts[1]!, TOKENS, beam)]);
    expect(out.map((r) => (r instanceof Error ? r.message : r))).toEqual(['device lost', 'device lost']);
    expect(lm.alive).toBe(0);
  });
});
