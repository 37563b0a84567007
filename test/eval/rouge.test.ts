import { describe, it, expect } from 'vitest';
import { lcsLength, rougeL, rougeLSentence } from '../../src/eval/rouge.js';

const tok = (s: string): string[] => s.split(' ');

describe('lcsLength', () => {
  it('finds the longest common subsequence length', () => {
    // Classic CLRS example: ABCBDAB vs BDCABA -> LCS length 4 (e.g. B C B A).
    expect(lcsLength(tok('a b c b d a b'), tok('b d c a b a'))).toBe(4);
    expect(lcsLength(tok('b d c a b a'), tok('a b c b d a b'))).toBe(4);
    expect(lcsLength([], tok('a b'))).toBe(0);
  });
});

describe('rougeLSentence', () => {
  it('matches a hand-worked F with beta = 1.2', () => {
    // cand: a cat on the mat (5)   ref: the cat sat on the red mat (7)
    // LCS = "cat on the mat" = 4 -> P = 4/5, R = 4/7
    // F = (1 + 1.44) P R / (R + 1.44 P) = (2.44*0.8*4/7) / (4/7 + 1.152) = 7.808 / 12.064 = 0.6472149
    expect(rougeLSentence(tok('a cat on the mat'), [tok('the cat sat on the red mat')])).toBeCloseTo(0.6472149, 6);
  });

  it('takes max precision and max recall over references independently', () => {
    // cand "a b c d"; ref1 "a b": LCS 2 -> P 0.5, R 1; ref2 "a b c d e f g h": LCS 4 -> P 1, R 0.5.
    // pycocoevalcap uses max P = 1 and max R = 1 -> F = 1 (best single-ref F would be 0.709).
    expect(rougeLSentence(tok('a b c d'), [tok('a b'), tok('a b c d e f g h')])).toBeCloseTo(1, 12);
  });

  it('is 0 without any common token, and for an empty candidate', () => {
    expect(rougeLSentence(tok('x y'), [tok('a b')])).toBe(0);
    expect(rougeLSentence([], [tok('a b')])).toBe(0);
  });
});

describe('rougeL', () => {
  it('averages per-image scores over the corpus', () => {
    // image 1 identical -> 1; image 2 disjoint -> 0; mean 0.5
    const r = rougeL([tok('a dog'), tok('x y')], [[tok('a dog')], [tok('a b')]]);
    expect(r.perImage).toEqual([1, 0]);
    expect(r.score).toBe(0.5);
  });
});
