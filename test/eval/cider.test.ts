import { describe, it, expect } from 'vitest';
import { CiderDScorer, ciderD } from '../../src/eval/cider.js';

const tok = (s: string): string[] => s.split(' ');

describe('ciderD', () => {
  it('gives 5 to candidates identical to the refs in a 2-image corpus of 2-word captions', () => {
    // N = 2 images, ref_len = log 2. df: "a" = 2, "cat" = "dog" = "a cat" = "a dog" = 1.
    // weight = tf * (log 2 - log df): "a" -> 0, every other n-gram -> log 2.
    // image 1, n=1: hyp = ref = {a: 0, cat: L} -> cos = L^2 / (L * L) = 1; n=2: {"a cat": L} -> 1;
    // n=3, n=4: no n-grams, norms 0 -> 0. Same length -> penalty 1.
    // score = mean([1, 1, 0, 0]) / 1 ref * 10 = 5; image 2 is symmetric.
    const r = ciderD([tok('a cat'), tok('a dog')], [[tok('a cat')], [tok('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(5, 12);
    expect(r.perImage[1]).toBeCloseTo(5, 12);
    expect(r.score).toBeCloseTo(5, 12);
  });

  it('gives 10 when every n-gram order has non-zero idf weight', () => {
    // 4-word captions: only "a" and "on" are shared (weight 0); each order 1..4 has
    // cosine 1, so mean([1,1,1,1]) * 10 = 10.
    const r = ciderD([tok('a cat on mat'), tok('a dog on rug')], [[tok('a cat on mat')], [tok('a dog on rug')]]);
    expect(r.score).toBeCloseTo(10, 12);
  });

  it('uses the evaluated corpus for idf: a 1-image corpus (log 1 = 0) scores 0', () => {
    expect(ciderD([tok('a cat')], [[tok('a cat')]]).score).toBe(0);
  });

  it('averages over several references, with the gaussian length penalty (hand-worked)', () => {
    // image 1 refs ["a cat", "a black cat"], hyp "a cat"; image 2 ref ["a dog"], hyp "a dog".
    // N = 2, L = log 2; df("a") = 2 (weight 0), every other n-gram df 1 (weight L).
    // vs "a cat": [1, 1, 0, 0] as above.
    // vs "a black cat": n=1 ref {a:0, black:L, cat:L}, |ref| = L*sqrt2; dot = L^2 -> 1/sqrt2.
    //   n=2 "a cat" not in ref -> 0; n=3, n=4: hyp has none -> 0.
    //   lengths (bigram counts) 1 vs 2 -> delta = -1 -> penalty exp(-1/72).
    // image 1 = 10 * mean([1 + exp(-1/72)/sqrt2, 1, 0, 0]) / 2 = 1.25 * (2 + exp(-1/72)/sqrt2) = 3.3716922
    // image 2 = 5 -> corpus = (3.3716922 + 5) / 2 = 4.1858461
    const r = ciderD([tok('a cat'), tok('a dog')], [[tok('a cat'), tok('a black cat')], [tok('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(3.3716922, 6);
    expect(r.perImage[1]).toBeCloseTo(5, 12);
    expect(r.score).toBeCloseTo(4.1858461, 6);
  });

  it('clips candidate weights to the reference weights (a repeated word earns no more)', () => {
    // hyp "cat cat" vs ref "a cat" (other image "a dog"), L = log 2.
    // n=1: hyp {cat: 2L}, ref {a: 0, cat: L}; clipped dot = min(2L, L) * L = L^2,
    //   / (|hyp| 2L * |ref| L) = 0.5  (unclipped cosine would be 1).
    // n=2: "cat cat" not in ref -> 0. Both have 1 bigram -> no penalty.
    // image 1 = 10 * mean([0.5, 0, 0, 0]) = 1.25 (without clipping: 2.5).
    const r = ciderD([tok('cat cat'), tok('a dog')], [[tok('a cat')], [tok('a dog')]]);
    expect(r.perImage[0]).toBeCloseTo(1.25, 12);
  });

  it('lowers the score of a longer candidate by exp(-delta^2 / (2 * 6^2))', () => {
    // image 1 ref "a black cat sits" (3 bigrams); hyp adds "on a red mat" (7 bigrams): delta = 4.
    // Cosines (all non-"a" n-grams weigh L): n=1: 3/sqrt(6*3), n=2: 3/sqrt(7*3),
    // n=3: 2/sqrt(6*2), n=4: 1/sqrt(5*1); penalty exp(-16/72) = exp(-2/9) = 0.8007374.
    const refs = [[tok('a black cat sits')], [tok('a dog runs')]];
    const longHyp = [tok('a black cat sits on a red mat'), tok('a dog runs')];
    const cosMean = (1 / Math.sqrt(2) + 3 / Math.sqrt(21) + 2 / Math.sqrt(12) + 1 / Math.sqrt(5)) / 4;
    const penalised = ciderD(longHyp, refs);
    expect(penalised.perImage[0]).toBeCloseTo(10 * cosMean * Math.exp(-2 / 9), 10);
    // With the penalty switched off (huge sigma) only the cosine part is left.
    const unpenalised = ciderD(longHyp, refs, { sigma: 1e9 });
    expect(unpenalised.perImage[0]).toBeCloseTo(10 * cosMean, 10);
    // And the exact caption does better than the longer one.
    const exact = ciderD([tok('a black cat sits'), tok('a dog runs')], refs);
    expect(exact.perImage[0]).toBeCloseTo(10, 12);
    expect(penalised.perImage[0]!).toBeLessThan(exact.perImage[0]!);
  });

  it('rejects images without references and mismatched inputs', () => {
    expect(() => ciderD([tok('a')], [[]])).toThrow();
    expect(() => ciderD([tok('a'), tok('b')], [[tok('a')]])).toThrow();
  });
});

describe('CiderDScorer', () => {
  const corpus = [
    [tok('a cat on a mat'), tok('a black cat sits')],
    [tok('a dog runs on grass'), tok('the dog runs')],
    [tok('two men play football'), tok('men on a field')],
  ];

  it('scores each candidate exactly as ciderD over the same corpus, refs prepared once', () => {
    const hyps = [tok('a cat sits on a mat'), tok('a dog runs'), tok('men play')];
    const scorer = CiderDScorer.fromReferences(corpus);
    const expected = ciderD(hyps, corpus).perImage;
    hyps.forEach((h, i) => {
      expect(scorer.score(h, scorer.references(corpus[i]!))).toBe(expected[i]);
      expect(scorer.score(h, corpus[i]!)).toBe(expected[i]);
    });
  });

  it('takes idf and log N from the corpus it was built on, not from the candidates scored', () => {
    // Built on 4 images where "a" and "cat" are in every one: both weigh 0, so only the bigram
    // "a cat" (df 1, weight log 4) counts. Candidate "a cat" vs ref "a cat": n=1 hyp norm 0 -> 0,
    // n=2 cosine 1, n=3,4 empty -> score = 10 * mean([0, 1, 0, 0]) = 2.5.
    const train = [[tok('a cat')], [tok('cat a')], [tok('a big cat')], [tok('cat on a')]];
    const scorer = CiderDScorer.fromReferences(train);
    expect(scorer.score(tok('a cat'), [tok('a cat')])).toBeCloseTo(2.5, 12);
    // The same pair scored as its own 1-image corpus gets 0 (log 1 = 0): the df really differ.
    expect(ciderD([tok('a cat')], [[tok('a cat')]]).score).toBe(0);
  });

  it('rejects an empty df corpus and empty reference lists', () => {
    expect(() => CiderDScorer.fromReferences([])).toThrow();
    expect(() => CiderDScorer.fromReferences(corpus).references([])).toThrow();
  });
});
