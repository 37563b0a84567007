import { describe, it, expect } from 'vitest';
import { closestRefLength, corpusBleu } from '../../src/eval/bleu.js';

const tok = (s: string): string[] => s.split(' ');

describe('closestRefLength', () => {
  it('picks the reference length closest to the hypothesis length', () => {
    expect(closestRefLength([6, 4, 9], 3)).toBe(4);
  });
  it('breaks ties towards the shorter reference, like min((|l-t|, l))', () => {
    expect(closestRefLength([4, 2], 3)).toBe(2);
    expect(closestRefLength([2, 4], 3)).toBe(2);
  });
});

describe('corpusBleu', () => {
  it('gives 1 for a hypothesis identical to its reference (up to the 1e-15/1e-9 smoothing)', () => {
    const scores = corpusBleu([tok('a man rides a horse')], [[tok('a man rides a horse')]]);
    // Each precision is (c + 1e-15) / (c + 1e-9) = 1 - O(1e-10); BP likewise.
    for (const s of scores) expect(s).toBeCloseTo(1, 8);
    expect(scores[0]).toBeLessThan(1);
  });

  it('applies the brevity penalty with the closest reference length (hand-worked)', () => {
    // hyp "the cat sat" (3 words); refs of length 6 and 4 -> closest reflen = 4.
    // 1-grams: the, cat, sat all in refs -> 3/3. 2-grams: "the cat", "cat sat" -> 2/2.
    // 3-gram "the cat sat" in ref 1 -> 1/1. 4-grams: 0 guessed -> (0+1e-15)/(0+1e-9) = 1e-6.
    // BP = exp(1 - 4/3) = exp(-1/3) = 0.716531310...
    // BLEU-1..3 = BP; BLEU-4 = (1*1*1*1e-6)^(1/4) * BP = 0.0316227766 * 0.7165313 = 0.02265871
    const [b1, b2, b3, b4] = corpusBleu([tok('the cat sat')], [[tok('the cat sat on the mat'), tok('the cat is here')]]);
    const bp = Math.exp(-1 / 3);
    expect(b1).toBeCloseTo(bp, 8);
    expect(b2).toBeCloseTo(bp, 8);
    expect(b3).toBeCloseTo(bp, 8);
    expect(b4).toBeCloseTo(0.02265871, 7);
  });

  it('sums clipped counts over the corpus instead of averaging sentence scores', () => {
    // image 1: "a b" vs "a b" -> 1-grams 2/2, 2-grams 1/1
    // image 2: "c d" vs "c e" -> 1-grams 1/2, 2-grams 0/1
    // corpus p1 = 3/4, p2 = 1/2 -> BLEU-1 = 0.75, BLEU-2 = sqrt(0.75 * 0.5) = 0.6123724
    // (averaging per-sentence BLEU-2 would give about (1 + 0.0007)/2 = 0.50).
    // testlen = reflen = 4, so no real brevity penalty.
    const [b1, b2] = corpusBleu([tok('a b'), tok('c d')], [[tok('a b')], [tok('c e')]]);
    expect(b1).toBeCloseTo(0.75, 8);
    expect(b2).toBeCloseTo(Math.sqrt(0.375), 8);
  });

  it('clips a repeated word to its count in the reference', () => {
    // "the" x7 against "the cat is on the mat": "the" occurs twice in the ref, so
    // only 2 of the 7 unigrams count: BLEU-1 = 2/7 (7 >= 6 words: no brevity penalty).
    const [b1] = corpusBleu([tok('the the the the the the the')], [[tok('the cat is on the mat')]]);
    expect(b1).toBeCloseTo(2 / 7, 8);
  });

  it('clips against the max count in any single reference, not the sum over references', () => {
    // refs "a cat" and "a dog" each contain "a" once; hyp "a a" gets 1/2, not 2/2.
    const [b1] = corpusBleu([tok('a a')], [[tok('a cat'), tok('a dog')]]);
    expect(b1).toBeCloseTo(0.5, 8);
  });

  it('scores an empty hypothesis 0 and rejects mismatched inputs', () => {
    expect(corpusBleu([[]], [[tok('a cat')]])[0]).toBe(0);
    expect(() => corpusBleu([tok('a')], [])).toThrow();
    expect(() => corpusBleu([tok('a')], [[]])).toThrow();
  });
});
