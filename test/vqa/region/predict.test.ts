import { describe, expect, it } from 'vitest';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { RegionVqaModel } from '../../../src/vqa/region/model.js';
import { answerRule, mergeAnswers } from '../../../src/vqa/region/predict.js';
import { det, tinyRegionConfig } from './tiny.js';

describe('mergeAnswers', () => {
  const answers = ['dog', 'two', 'red'];
  // 3 regions: two detections (words "zebra", "dog") and the whole image.
  const words = ['zebra', 'dog'];
  const alpha = Float32Array.of(0.2, 0.3, 0.5);

  it("adds a pointer region's probability to its word, and ranks the merged words", () => {
    const probs = Float32Array.of(0.3, 0.1, 0.05, 0.4, 0.15);
    const got = mergeAnswers(answers, words, probs, alpha, 3, 4);
    expect(got.map((a) => a.answer)).toEqual(['dog', 'zebra', 'two', 'red']);
    expect(got[0]!.score).toBeCloseTo(0.45, 6);
    expect(got[1]!.score).toBeCloseTo(0.4, 6);
  });

  it('gives an answer class the region of largest attention as evidence, and a pointer word its own region', () => {
    const probs = Float32Array.of(0.3, 0.1, 0.05, 0.4, 0.15);
    const got = mergeAnswers(answers, words, probs, alpha, 3, 4);
    const by = Object.fromEntries(got.map((a) => [a.answer, a]));
    expect(by.two!.region).toBe(2); // argmax α: the whole image
    expect(by.two!.weight).toBeCloseTo(0.5, 6);
    expect(by.zebra!.region).toBe(0); // the zebra region, although α is larger elsewhere
    expect(by.dog!.region).toBe(1); // "dog" is also a region's word: that region
  });

  it('looks only at real regions for the argmax', () => {
    const padded = Float32Array.of(0.2, 0.3, 0.1, 0.4); // a 4th, padded entry (0 in practice) is ignored here even if large
    const got = mergeAnswers(['a', 'b'], [], Float32Array.of(0.6, 0.4, 0, 0, 0, 0), padded, 3, 1);
    expect(got[0]!.region).toBe(1);
  });
});

describe('mergeAnswers with a rule', () => {
  it('leaves out the words the rule refuses, and ignores a rule that refuses every word', () => {
    const probs = Float32Array.of(0.5, 0.3, 0.2);
    expect(mergeAnswers(['dog', 'two', 'red'], [], probs, Float32Array.of(1), 1, 3, (w) => w !== 'dog').map((a) => a.answer)).toEqual([
      'two',
      'red',
    ]);
    expect(mergeAnswers(['dog', 'two', 'red'], [], probs, Float32Array.of(1), 1, 2, () => false).map((a) => a.answer)).toEqual([
      'dog',
      'two',
    ]);
  });
});

describe('answerRule', () => {
  const table = defaultWordTable();
  const rule = (over: Parameters<typeof tinyRegionConfig>[1], kind?: 'animal') =>
    answerRule(RegionVqaModel.init(tinyRegionConfig(8, over), 1), table, [det('zebra', 0.8)], kind);

  it('is off unless the config asks for a rule', () => {
    expect(rule({}, 'animal')).toBeUndefined();
  });

  it('applies the kind rule to questions that ask for a kind, and both rules together', () => {
    expect(rule({ kindAnswers: 'kind' })).toBeUndefined();
    const kind = rule({ kindAnswers: 'kind' }, 'animal')!;
    expect(['zebra', 'dog', 'grass'].map(kind)).toEqual([true, true, false]);
    const both = rule({ kindAnswers: 'kind', supportedOnly: true }, 'animal')!;
    expect(['zebra', 'dog', 'grass'].map(both)).toEqual([true, false, false]);
    const seen = rule({ kindAnswers: 'seen' }, 'animal')!;
    expect(['zebra', 'dog', 'grass'].map(seen)).toEqual([true, false, false]);
    const supported = rule({ supportedOnly: true })!;
    expect(['zebra', 'dog', 'grass'].map(supported)).toEqual([true, false, true]);
  });
});
