import { describe, expect, it } from 'vitest';
import { beamSearch, constrainedBeamSearch, type Hypothesis } from '../../src/search/index.js';
import { bigramModel, bruteForce, END, randomTable, TOKENS, TrackedModel } from './helpers.js';

const opts = (beamSize: number, maxLength: number, constraints: number[][], n = 1) => ({
  beamSize,
  maxLength,
  n,
  lengthPenalty: 0,
  constraints,
});
const finished = (h: Hypothesis) => h.ids[h.ids.length - 1] === END;
const meets = (h: Hypothesis, constraints: number[][]) => constraints.every((c) => c.some((t) => h.ids.includes(t)));

describe('constrained beam search', () => {
  it('with no constraints equals beam search', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const lm = bigramModel(randomTable(6, seed));
      const a = beamSearch(lm, [0], TOKENS, { beamSize: 3, maxLength: 6, n: 3, lengthPenalty: 0 });
      const b = constrainedBeamSearch(lm, [0], TOKENS, opts(3, 6, [], 3));
      expect(b.map((h) => h.ids)).toEqual(a.map((h) => h.ids));
    }
  });

  it('with a wide beam finds the exact best caption that meets every constraint', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const table = randomTable(5, seed); // start, end, a, b, c
      const constraints = [[3], [4]];
      const exact = bruteForce(table, 4)
        .filter((h) => finished(h) && meets(h, constraints))
        .sort((x, y) => y.logprob - x.logprob);
      const [got] = constrainedBeamSearch(bigramModel(table), [0], TOKENS, opts(60, 4, constraints));
      expect(got!.ids).toEqual(exact[0]!.ids);
      expect(got!.logprob).toBeCloseTo(exact[0]!.logprob, 4);
    }
  });

  it('forces an unlikely token that plain beam search leaves out', () => {
    // "a" then end is likely; "b" is rare but a constraint.
    const table = [
      [0, 0, 0.95, 0.05],
      [0, 1, 0, 0],
      [0, 0.9, 0.05, 0.05],
      [0, 0.9, 0.05, 0.05],
    ];
    const lm = bigramModel(table);
    const [plain] = beamSearch(lm, [0], TOKENS, { beamSize: 2, maxLength: 4, n: 1, lengthPenalty: 0 });
    expect(plain!.ids).toEqual([2, END]);
    const [forced] = constrainedBeamSearch(lm, [0], TOKENS, opts(2, 4, [[3]]));
    expect(forced!.ids).toContain(3);
    expect(finished(forced!)).toBe(true);
  });

  it('a constraint met by any of its tokens; falls back to the most constraints met', () => {
    const table = randomTable(5, 7);
    const [either] = constrainedBeamSearch(bigramModel(table), [0], TOKENS, opts(4, 5, [[3, 4]]));
    expect(meets(either!, [[3, 4]])).toBe(true);
    // Token 9 does not exist: the constraint cannot be met, and a caption still comes back.
    const [none] = constrainedBeamSearch(bigramModel(table), [0], TOKENS, opts(4, 5, [[9]]));
    expect(finished(none!)).toBe(true);
  });

  it('disposes every state it makes', () => {
    const lm = new TrackedModel(bigramModel(randomTable(6, 3)));
    constrainedBeamSearch(lm, lm.initial([0]), TOKENS, opts(3, 6, [[2], [4]], 2));
    expect(lm.alive).toBe(0);
    expect(() => constrainedBeamSearch(lm, lm.initial([0]), TOKENS, opts(3, 6, [[2], [3], [4], [5]]))).toThrow(/at most 3/);
  });
});
