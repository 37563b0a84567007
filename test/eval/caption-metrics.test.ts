import { describe, it, expect } from 'vitest';
import { scoreCaptions } from '../../src/eval/caption-metrics.js';

describe('scoreCaptions', () => {
  it('normalises captions before scoring, so case and punctuation do not matter', () => {
    const refs = new Map<string | number, string[]>([
      [1, ['A cat.']],
      [2, ['a dog']],
    ]);
    const hyps = new Map<string | number, string>([
      [1, 'a cat'],
      [2, 'A DOG!'],
    ]);
    const s = scoreCaptions(refs, hyps);
    // Identical after normalisation: BLEU ~ 1 (2-word captions have no 3/4-grams, but
    // 0 guessed n-grams give (0 + 1e-15)/(0 + 1e-9) = 1e-6 precision:
    // BLEU-3 = (1 * 1 * 1e-6)^(1/3) = 0.01, BLEU-4 = (1 * 1 * 1e-6 * 1e-6)^(1/4) = 0.001).
    expect(s.bleu1).toBeCloseTo(1, 8);
    expect(s.bleu2).toBeCloseTo(1, 8);
    expect(s.bleu3).toBeCloseTo(0.01, 8);
    expect(s.bleu4).toBeCloseTo(0.001, 10);
    expect(s.rougeL).toBeCloseTo(1, 12);
    // Same corpus as the hand-worked CIDEr-D case: 5.
    expect(s.ciderD).toBeCloseTo(5, 12);
  });

  it('only uses references of images that have a hypothesis', () => {
    // The extra image 3 would change df and log(N) if it were included.
    const refs = new Map<string | number, string[]>([
      [1, ['a cat']],
      [2, ['a dog']],
      [3, ['a cat']],
    ]);
    const hyps = new Map<string | number, string>([
      [1, 'a cat'],
      [2, 'a dog'],
    ]);
    expect(scoreCaptions(refs, hyps).ciderD).toBeCloseTo(5, 12);
  });

  it('throws naming the hypothesis id that has no references', () => {
    const refs = new Map<string | number, string[]>([['img-1', ['a cat']]]);
    const hyps = new Map<string | number, string>([
      ['img-1', 'a cat'],
      ['img-2', 'a dog'],
    ]);
    expect(() => scoreCaptions(refs, hyps)).toThrow(/img-2/);
    // Number and string ids are distinct Map keys.
    expect(() => scoreCaptions(new Map([['7', ['a cat']]]), new Map([[7, 'a cat']]))).toThrow(/id 7\b/);
    expect(() => scoreCaptions(new Map([[7, []]]), new Map([[7, 'a cat']]))).toThrow(/7/);
  });

  it('throws when there is nothing to score', () => {
    expect(() => scoreCaptions(new Map([[1, ['a cat']]]), new Map())).toThrow(/no hypotheses/);
  });
});
