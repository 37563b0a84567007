import { describe, expect, it } from 'vitest';
import { beamSearch, greedy, normalizedScore, sample, topK, type Hypothesis, type StepModel } from '../../src/caption/decode.js';
import { rng } from '../../src/util/random.js';

const START = 0;
const END = 1;
const TOKENS = { start: START, end: END };

/** A bigram model: log P(next | prev) from a table. The state is unused (one row per hypothesis). */
function bigramModel(table: number[][]): StepModel<number[]> {
  const V = table[0]!.length;
  return {
    vocabSize: V,
    step: (_state, tokens) => {
      const out = new Float32Array(tokens.length * V);
      tokens.forEach((t, r) => out.set(table[t]!.map(Math.log), r * V));
      return { logProbs: out, state: tokens.map(() => 0) };
    },
    gather: (_state, rows) => rows.map(() => 0),
    dispose: () => {},
  };
}

/** A random bigram table over V tokens; no token ever predicts <start>. */
function randomTable(V: number, seed: number): number[][] {
  const random = rng(seed);
  return Array.from({ length: V }, () => {
    const row = Array.from({ length: V }, (_, j) => (j === START ? 0 : random() + 0.05));
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((x) => x / total);
  });
}

/** Every sequence of at most maxLength tokens, scored exactly. */
function bruteForce(table: number[][], maxLength: number): Hypothesis[] {
  const out: Hypothesis[] = [];
  const walk = (ids: number[], lp: number) => {
    const prev = ids[ids.length - 1] ?? START;
    for (let w = 1; w < table.length; w++) {
      const next = { ids: [...ids, w], logprob: lp + Math.log(table[prev]![w]!) };
      if (w === END || next.ids.length === maxLength) out.push(next);
      else walk(next.ids, next.logprob);
    }
  };
  walk([], 0);
  return out;
}

describe('greedy', () => {
  it('follows the most likely word at each step', () => {
    // start → a (0.6) → b (0.7) → end (1)
    const table = [
      [0, 0.1, 0.6, 0.3],
      [0, 1, 0, 0],
      [0, 0.2, 0.1, 0.7],
      [0, 1, 0, 0],
    ];
    const [h] = greedy(bigramModel(table), [0], 1, TOKENS, 10);
    expect(h!.ids).toEqual([2, 3, END]);
    expect(h!.logprob).toBeCloseTo(Math.log(0.6 * 0.7), 5);
  });
});

describe('beam search', () => {
  it('with beam size 1 equals greedy', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const lm = bigramModel(randomTable(6, seed));
      const [g] = greedy(lm, [0], 1, TOKENS, 8);
      const [b] = beamSearch(lm, [0], TOKENS, { beamSize: 1, maxLength: 8, lengthPenalty: 0, n: 1 });
      expect(b!.ids).toEqual(g!.ids);
      expect(b!.logprob).toBeCloseTo(g!.logprob, 5);
    }
  });

  it('finds the better caption that greedy misses', () => {
    // Greedy takes "a" (0.6) but then must pay 0.3 to stop; "b" (0.4) stops at 0.9: 0.36 > 0.18.
    const table = [
      [0, 0, 0.6, 0.4],
      [0, 1, 0, 0],
      [0, 0.3, 0.35, 0.35],
      [0, 0.9, 0.05, 0.05],
    ];
    const lm = bigramModel(table);
    const [g] = greedy(lm, [0], 1, TOKENS, 3);
    const [b] = beamSearch(lm, [0], TOKENS, { beamSize: 2, maxLength: 3, lengthPenalty: 0, n: 1 });
    expect(g!.ids[0]).toBe(2);
    expect(b!.ids).toEqual([3, END]);
    expect(b!.logprob).toBeCloseTo(Math.log(0.36), 5);
  });

  it('with a beam wide enough is exhaustive: returns the exact best sequences', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const table = randomTable(4, seed); // tokens: start, end, a, b
      const exact = bruteForce(table, 4).sort((x, y) => y.logprob - x.logprob);
      const got = beamSearch(bigramModel(table), [0], TOKENS, { beamSize: 40, maxLength: 4, lengthPenalty: 0, n: 5 });
      expect(got.map((h) => h.ids)).toEqual(exact.slice(0, 5).map((h) => h.ids));
      got.forEach((h, i) => expect(h.logprob).toBeCloseTo(exact[i]!.logprob, 4));
    }
  });

  it('returns n distinct captions, best score first', () => {
    const lm = bigramModel(randomTable(7, 3));
    const got = beamSearch(lm, [0], TOKENS, { beamSize: 5, maxLength: 6, lengthPenalty: 0.7, n: 4 });
    expect(got).toHaveLength(4);
    expect(new Set(got.map((h) => h.ids.join(','))).size).toBe(4);
    for (let i = 1; i < got.length; i++) expect(got[i - 1]!.score).toBeGreaterThanOrEqual(got[i]!.score);
    got.forEach((h) => expect(h.score).toBeCloseTo(normalizedScore(h, 0.7), 6));
  });
});

describe('topK', () => {
  it('keeps exactly the k best extensions over all live hypotheses', () => {
    const random = rng(9);
    const V = 11;
    const live = [{ ids: [2], logprob: -0.5 }, { ids: [3], logprob: -0.1 }, { ids: [4], logprob: -2 }];
    const logProbs = Float32Array.from({ length: live.length * V }, () => Math.log(random()));
    const all = live.flatMap((h, r) => Array.from({ length: V }, (_, w) => h.logprob + logProbs[r * V + w]!));
    const expected = [...all].sort((a, b) => b - a).slice(0, 5);
    const got = topK(logProbs, live, V, 5);
    expect(got).toHaveLength(5);
    got.forEach((c, i) => expect(c.logprob).toBeCloseTo(expected[i]!, 6));
    got.forEach((c) => expect(c.logprob).toBeCloseTo(live[c.row]!.logprob + logProbs[c.row * V + c.word]!, 6));
  });
});

describe('sampling', () => {
  it('is deterministic for a seed and varies across seeds', () => {
    const lm = bigramModel(randomTable(8, 5));
    const opts = { n: 3, maxLength: 10, temperature: 1, seed: 42 };
    const a = sample(lm, [0], TOKENS, opts).map((h) => h.ids.join(','));
    const b = sample(lm, [0], TOKENS, opts).map((h) => h.ids.join(','));
    const c = sample(lm, [0], TOKENS, { ...opts, seed: 43 }).map((h) => h.ids.join(','));
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('at temperature 0 is greedy', () => {
    const lm = bigramModel(randomTable(8, 6));
    const [g] = greedy(lm, [0], 1, TOKENS, 10);
    const [s] = sample(lm, [0], TOKENS, { n: 1, maxLength: 10, temperature: 0, seed: 1 });
    expect(s!.ids).toEqual(g!.ids);
  });
});
