import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exactMatch, formatVqaTable, normalizeAnswer, processPunctuation, scoreVqa, vqaAccuracy } from '../../src/eval/vqa-metrics.js';
import { Wups } from '../../src/eval/wups.js';
import type { QaExample } from '../../src/data/qa.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'wordnet');

describe('normalizeAnswer (vqaEval.py processPunctuation + processDigitArticle)', () => {
  it.each([
    ['Two', '2'],
    ['a dog.', 'dog'],
    ['The Two dogs', '2 dogs'],
    ['none', '0'],
    ['ten', '10'],
    ['eleven', 'eleven'],
    ['dont', "don't"],
    ['Dont', "don't"],
    ['youre', "you're"],
    ["don't", "don't"], // the apostrophe is not in vqaEval.py's punct list
    ['  Yes\n', 'yes'],
    ['yes!', 'yes'],
    ['1,000', '1000'], // a digit comma: every listed punctuation mark is deleted
    ['3.5', '3.5'], // a period before a digit stays
    ['Mr. Smith', 'mr smith'],
    ['red, white and blue', 'red white and blue'], // ", " deletes the comma
    ['left/right', 'left right'], // otherwise punctuation becomes a space
    ['T-shirt', 't shirt'],
    ['(cat)', 'cat'],
    ['an apple', 'apple'],
    ['10:30', '10:30'], // ':' is not in the list
  ])('%j → %j', (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });

  it('removes at most 32 periods (re.UNICODE passed as the count of re.sub)', () => {
    expect(processPunctuation('.'.repeat(40))).toBe('.'.repeat(8));
  });
});

describe('vqaAccuracy (leave-one-out over annotators)', () => {
  const ten = (k: number, match = 'red', other = 'blue'): string[] => [
    ...Array<string>(k).fill(match),
    ...Array<string>(10 - k).fill(other),
  ];

  it('gives 0, 0.3, 0.6, 0.9, 1, 1 for 0..5 matching answers out of 10', () => {
    // k matching: the k matching annotators see k-1 others, the 10-k others see k:
    // k=1: (1·0 + 9·1/3)/10 = 0.3; k=2: (2·1/3 + 8·2/3)/10 = 0.6; k=3: (3·2/3 + 7·1)/10 = 0.9;
    // k=4: (4·1 + 6·1)/10 = 1.
    const expected = [0, 0.3, 0.6, 0.9, 1, 1];
    expected.forEach((acc, k) => expect(vqaAccuracy('red', ten(k))).toBeCloseTo(acc, 12));
  });

  it('normalises prediction and annotator answers', () => {
    // "Two", "two", "2 " and "the two" all become "2": k = 3 → 0.9
    const answers = ['2 ', 'two', 'the two', ...Array<string>(7).fill('3')];
    expect(vqaAccuracy('Two.', answers)).toBeCloseTo(0.9, 12);
  });

  it('uses min(#matching / 3, 1) for fewer than 10 answers (easy-VQA 3, COCO-QA 1)', () => {
    expect(vqaAccuracy('cat', ['dog', 'dog', 'bird'])).toBe(0);
    expect(vqaAccuracy('cat', ['cat', 'dog', 'bird'])).toBeCloseTo(1 / 3, 12);
    expect(vqaAccuracy('cat', ['cat', 'cat', 'bird'])).toBeCloseTo(2 / 3, 12);
    expect(vqaAccuracy('cat', ['cat', 'cat', 'cat'])).toBe(1);
    expect(vqaAccuracy('cat', ['cat'])).toBeCloseTo(1 / 3, 12);
  });

  it('rejects an empty answer list', () => {
    expect(() => vqaAccuracy('cat', [])).toThrow(/no annotator answers/);
  });
});

describe('exactMatch', () => {
  it('compares normalised answers', () => {
    expect(exactMatch('Two', '2')).toBe(1);
    expect(exactMatch('a dog.', 'dog')).toBe(1);
    expect(exactMatch('dogs', 'dog')).toBe(0);
  });
});

function ex(type: string, answer: string, answers: string[]): QaExample {
  return { imageId: 1, imageKey: '1.jpg', question: `what ${type}?`, answer, answers, type };
}

const EXAMPLES: QaExample[] = [
  ex('color', 'red', [...Array<string>(4).fill('red'), ...Array<string>(6).fill('blue')]),
  ex('number', '2', ['2', '2', ...Array<string>(8).fill('3')]),
  ex('number', '3', ['3', '3', '4']),
  ex('object', 'dog', ['dog']),
];
const PREDICTIONS = ['Red', 'two', 'four', 'cat'];

describe('scoreVqa', () => {
  it('scores overall and per type', () => {
    const s = scoreVqa(PREDICTIONS, EXAMPLES);
    // exact match: 1, 1, 0, 0; VQA accuracy: 1 (k=4 of 10), 0.6 (k=2 of 10), 1/3 (k=1 of 3), 0
    expect(s.count).toBe(4);
    expect(s.accuracy).toBeCloseTo(0.5, 12);
    expect(s.vqaAccuracy).toBeCloseTo((1 + 0.6 + 1 / 3 + 0) / 4, 12);
    expect(s.wups0_9).toBeUndefined();
    expect(Object.keys(s.byType)).toEqual(['color', 'number', 'object']);
    expect(s.byType.color).toEqual({ count: 1, accuracy: 1, vqaAccuracy: 1 });
    expect(s.byType.number!.count).toBe(2);
    expect(s.byType.number!.accuracy).toBeCloseTo(0.5, 12);
    expect(s.byType.number!.vqaAccuracy).toBeCloseTo((0.6 + 1 / 3) / 2, 12);
    expect(s.byType.object).toEqual({ count: 1, accuracy: 0, vqaAccuracy: 0 });
  });

  it('adds WUPS@0.9 and WUPS@0.0 against example.answer when given a Wups', async () => {
    const wups = await Wups.load(FIXTURE);
    const s = scoreVqa(PREDICTIONS, EXAMPLES, { wups });
    // red/Red: 1; two/2, four/3: not in the fixture WordNet, 0; cat/dog: wup 0.8 → 0.08 @0.9
    expect(s.wups0_9).toBeCloseTo((1 + 0 + 0 + 0.08) / 4, 12);
    expect(s.wups0_0).toBeCloseTo((1 + 0 + 0 + 0.8) / 4, 12);
    expect(s.byType.object!.wups0_9).toBeCloseTo(0.08, 12);
    expect(s.byType.object!.wups0_0).toBeCloseTo(0.8, 12);
    expect(s.byType.number!.wups0_0).toBe(0);
  });

  it('rejects mismatched or empty inputs', () => {
    expect(() => scoreVqa(['a'], EXAMPLES)).toThrow(/1 predictions for 4 examples/);
    expect(() => scoreVqa([], [])).toThrow(/no examples/);
    expect(() => scoreVqa(['a'], [ex('object', 'a', [])])).toThrow(/no answers/);
  });
});

describe('formatVqaTable', () => {
  it('writes one row per type and an overall row, in percent', () => {
    const table = formatVqaTable(scoreVqa(PREDICTIONS, EXAMPLES));
    expect(table).toBe(
      [
        '| type | n | accuracy | VQA accuracy |',
        '| --- | ---: | ---: | ---: |',
        '| color | 1 | 100.00 | 100.00 |',
        '| number | 2 | 50.00 | 46.67 |',
        '| object | 1 | 0.00 | 0.00 |',
        '| **overall** | 4 | 50.00 | 48.33 |',
        '',
      ].join('\n'),
    );
  });

  it('adds WUPS columns when present', async () => {
    const wups = await Wups.load(FIXTURE);
    const lines = formatVqaTable(scoreVqa(PREDICTIONS, EXAMPLES, { wups })).split('\n');
    expect(lines[0]).toBe('| type | n | accuracy | VQA accuracy | WUPS@0.9 | WUPS@0.0 |');
    expect(lines[5]).toBe('| **overall** | 4 | 50.00 | 48.33 | 27.00 | 45.00 |');
  });
});
