import { describe, expect, it } from 'vitest';
import { beamSearch, bestExtensions, greedySearch, normalizedScore, type Hypothesis } from '../../src/search/index.js';
import { rng } from '../../src/util/random.js';
import { bigramModel, bruteForce, END, randomTable, TOKENS, TrackedModel } from './helpers.js';

const beam = (beamSize: number, maxLength: number, n = 1, lengthPenalty = 0) => ({ beamSize, maxLength, n, lengthPenalty });
const finished = (h: Hypothesis) => h.ids[h.ids.length - 1] === END;

describe('beam search', () => {
  it('with beam size 1 equals greedy', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const lm = bigramModel(randomTable(6, seed));
      const [g] = greedySearch(lm, [0], 1, TOKENS, 8);
      const [b] = beamSearch(lm, [0], TOKENS, beam(1, 8));
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
    const [g] = greedySearch(lm, [0], 1, TOKENS, 3);
    const [b] = beamSearch(lm, [0], TOKENS, beam(2, 3));
    expect(g!.ids[0]).toBe(2);
    expect(b!.ids).toEqual([3, END]);
    expect(b!.logprob).toBeCloseTo(Math.log(0.36), 5);
  });

  it('with a beam wide enough is exhaustive: returns the exact best finished sequences', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const table = randomTable(4, seed); // tokens: start, end, a, b
      const byLogprob = (x: Hypothesis, y: Hypothesis) => y.logprob - x.logprob;
      const all = bruteForce(table, 4);
      const exact = [...all.filter(finished).sort(byLogprob), ...all.filter((h) => !finished(h)).sort(byLogprob)];
      for (const n of [5, 15]) {
        // 15 finished sequences of ≤ 4 tokens exist
        const got = beamSearch(bigramModel(table), [0], TOKENS, beam(40, 4, n));
        expect(got.map((h) => h.ids)).toEqual(exact.slice(0, n).map((h) => h.ids));
        got.forEach((h, i) => expect(h.logprob).toBeCloseTo(exact[i]!.logprob, 4));
      }
    }
  });

  // start → a 0.6 | b 0.4;  a → a 0.9 | end 0.1;  b → end 1.
  // With maxLength 2 and beam 2: "b end" (0.4) finishes; "a a" (0.54) is cut off unfinished.
  const cutOff = bigramModel([
    [0, 0, 0.6, 0.4],
    [0, 1, 0, 0],
    [0, 0.1, 0.9, 0],
    [0, 1, 0, 0],
  ]);

  it('ranks a finished caption above a likelier one cut off at maxLength (as im2txt)', () => {
    const [best] = beamSearch(cutOff, [0], TOKENS, beam(2, 2));
    expect(best!.ids).toEqual([3, END]);
    expect(best!.logprob).toBeCloseTo(Math.log(0.4), 5);
    // Asked for two, the unfinished one makes up the number, after the finished one.
    const two = beamSearch(cutOff, [0], TOKENS, beam(2, 2, 2));
    expect(two.map((h) => h.ids)).toEqual([
      [3, END],
      [2, 2],
    ]);
    expect(two[1]!.logprob).toBeCloseTo(Math.log(0.54), 5);
  });

  it('returns the best unfinished hypotheses when nothing finished', () => {
    const got = beamSearch(cutOff, [0], TOKENS, beam(2, 1, 2));
    expect(got.map((h) => h.ids)).toEqual([[2], [3]]);
  });

  it('returns n distinct captions, best score first', () => {
    const lm = bigramModel(randomTable(7, 3));
    const got = beamSearch(lm, [0], TOKENS, beam(5, 6, 4, 0.7));
    expect(got).toHaveLength(4);
    expect(new Set(got.map((h) => h.ids.join(','))).size).toBe(4);
    for (let i = 1; i < got.length; i++) expect(got[i - 1]!.score).toBeGreaterThanOrEqual(got[i]!.score);
    got.forEach((h) => expect(h.score).toBeCloseTo(normalizedScore(h, 0.7), 6));
  });

  it('refuses n > beamSize', () => {
    expect(() => beamSearch(cutOff, [0], TOKENS, beam(2, 5, 3))).toThrow(/n \(3\) must be ≤ beamSize \(2\)/);
  });

  it('disposes every state it made and none it was given', () => {
    for (const maxLength of [1, 3, 8]) {
      const lm = new TrackedModel(bigramModel(randomTable(6, maxLength)));
      const given = lm.initial([0]);
      beamSearch(lm, given, TOKENS, beam(3, maxLength, 2));
      expect(lm.alive).toBe(0);
      expect(lm.steps).toBeGreaterThan(0);
    }
  });
});

describe('bestExtensions', () => {
  it('keeps exactly the k best extensions over all live hypotheses', () => {
    const random = rng(9);
    const V = 11;
    const live = [
      { ids: [2], logprob: -0.5 },
      { ids: [3], logprob: -0.1 },
      { ids: [4], logprob: -2 },
    ];
    const logProbs = Float32Array.from({ length: live.length * V }, () => Math.log(random()));
    const all = live.flatMap((h, r) => Array.from({ length: V }, (_, w) => h.logprob + logProbs[r * V + w]!));
    const expected = [...all].sort((a, b) => b - a).slice(0, 5);
    const got = bestExtensions(logProbs, live, V, 5);
    expect(got).toHaveLength(5);
    got.forEach((c, i) => expect(c.logprob).toBeCloseTo(expected[i]!, 6));
    got.forEach((c) => expect(c.logprob).toBeCloseTo(live[c.row]!.logprob + logProbs[c.row * V + c.token]!, 6));
  });
});
