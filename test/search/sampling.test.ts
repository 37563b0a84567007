import { describe, expect, it } from 'vitest';
import { drawTokens, greedySearch, sampleSequences } from '../../src/search/index.js';
import { bigramModel, END, randomTable, TOKENS, TrackedModel } from './helpers.js';

describe('greedy search', () => {
  it('follows the most likely word at each step', () => {
    // start → a (0.6) → b (0.7) → end (1)
    const table = [
      [0, 0.1, 0.6, 0.3],
      [0, 1, 0, 0],
      [0, 0.2, 0.1, 0.7],
      [0, 1, 0, 0],
    ];
    const [h] = greedySearch(bigramModel(table), [0], 1, TOKENS, 10);
    expect(h!.ids).toEqual([2, 3, END]);
    expect(h!.logprob).toBeCloseTo(Math.log(0.6 * 0.7), 5);
  });

  it('runs every row of the state at once; rows stop at the end token or maxLength', () => {
    const lm = new TrackedModel(bigramModel(randomTable(6, 4)));
    const hyps = greedySearch(lm, lm.initial([0, 0, 0]), 3, TOKENS, 5);
    const [one] = greedySearch(bigramModel(randomTable(6, 4)), [0], 1, TOKENS, 5);
    for (const h of hyps) expect(h).toEqual(one);
    expect(lm.steps).toBe(Math.min(5, one!.ids.length));
    expect(lm.alive).toBe(0);
  });
});

describe('sampling', () => {
  it('is deterministic for a seed and varies across seeds', () => {
    const lm = bigramModel(randomTable(8, 5));
    const opts = { n: 3, maxLength: 10, temperature: 1, seed: 42 };
    const a = sampleSequences(lm, [0], TOKENS, opts).map((h) => h.ids.join(','));
    const b = sampleSequences(lm, [0], TOKENS, opts).map((h) => h.ids.join(','));
    const c = sampleSequences(lm, [0], TOKENS, { ...opts, seed: 43 }).map((h) => h.ids.join(','));
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('at temperature 0 is greedy', () => {
    const lm = bigramModel(randomTable(8, 6));
    const [g] = greedySearch(lm, [0], 1, TOKENS, 10);
    const [s] = sampleSequences(lm, [0], TOKENS, { n: 1, maxLength: 10, temperature: 0, seed: 1 });
    expect(s!.ids).toEqual(g!.ids);
  });

  it('with top-k 1 is greedy whatever the temperature', () => {
    const lm = bigramModel(randomTable(8, 7));
    const [g] = greedySearch(lm, [0], 1, TOKENS, 10);
    const [s] = sampleSequences(lm, [0], TOKENS, { n: 1, maxLength: 10, temperature: 3, topK: 1, seed: 1 });
    expect(s!.ids).toEqual(g!.ids);
  });

  it('sums the log-probabilities of the drawn tokens and disposes its states', () => {
    const table = randomTable(6, 8);
    const lm = new TrackedModel(bigramModel(table));
    for (const h of sampleSequences(lm, lm.initial([0]), TOKENS, { n: 4, maxLength: 6, temperature: 1, seed: 3 })) {
      const expected = h.ids.reduce((lp, id, t) => lp + Math.log(table[t === 0 ? TOKENS.start : h.ids[t - 1]!]![id]!), 0);
      expect(h.logprob).toBeCloseTo(expected, 4);
    }
    expect(lm.alive).toBe(0);
  });
});

describe('drawTokens', () => {
  it('computes no step beyond the last one taken, and frees its state when stopped', () => {
    const lm = new TrackedModel(bigramModel(randomTable(5, 9)));
    let taken = 0;
    for (const _ of drawTokens(lm, lm.initial([0]), [TOKENS.start], { temperature: 1, topK: 0, seed: 1 })) {
      if (++taken === 7) break;
    }
    expect(lm.steps).toBe(7);
    expect(lm.alive).toBe(0);
  });

  it('without an end token never ends; with one, a row draws nothing after it', () => {
    // Every token predicts the end token with probability 0.99.
    const table = Array.from({ length: 4 }, () => [0, 0.99, 0.005, 0.005]);
    const endless = drawTokens(bigramModel(table), [0], [TOKENS.start], { temperature: 1, topK: 0, seed: 2 });
    const steps = Array.from({ length: 30 }, () => endless.next());
    expect(steps.every((s) => !s.done)).toBe(true);
    const ending = [...drawTokens(bigramModel(table), [0, 0], [0, 0], { temperature: 1, topK: 0, seed: 2, end: END })];
    for (let r = 0; r < 2; r++) {
      const drawn = ending.map((s) => s.tokens[r]);
      const at = drawn.indexOf(END);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(drawn.slice(at + 1).every((t) => t === undefined)).toBe(true);
    }
  });
});
