import { describe, expect, it } from 'vitest';
import type { CaptionedImage } from '../../src/data/captions.js';
import { answerCap, capAnswerShare, captionsToQa, captionsWith, parseAnswerShare, qaStats } from '../../src/qagen/dataset.js';
import type { QaExample } from '../../src/data/qa.js';

describe('captionsToQa', () => {
  const images: CaptionedImage[] = [
    {
      id: 7,
      file: '7.jpg',
      captions: [
        'A black dog runs in the park .',
        'A black dog is running in the park .', // same questions again
        'A brown dog runs through the grass .',
        'He is happy .', // no rule fits
      ],
    },
  ];

  it("merges questions repeated by an image's captions and keeps the majority answer", () => {
    const report = captionsToQa(images);
    const rows = report.examples.map((e) => `${e.type} | ${e.question} | ${e.answer}`);
    expect(rows).toEqual([
      // black (2 captions) beats brown (1)
      'color | what is the color of the dog ? | black',
      'object | what is running in the park ? | dog',
      'location | where is the black dog running ? | park',
      'object | what is running through the grass ? | dog',
      'location | where is the brown dog running ? | grass',
    ]);
    expect(report.examples[0]).toEqual({
      imageId: 7,
      imageKey: '7.jpg',
      question: 'what is the color of the dog ?',
      answer: 'black',
      answers: ['black'],
      type: 'color',
    });
    expect(report.captions).toBe(4);
    expect(report.captionsWithoutQuestions).toBe(1);
    expect(report.duplicates).toBe(4);
    expect(report.conflicting).toBe(0);
  });

  it('drops a question whose captions disagree with no majority', () => {
    const report = captionsToQa([{ id: 'a', file: 'a.jpg', captions: ['A black dog sleeps .', 'A brown dog sleeps .'] }]);
    expect(report.examples).toEqual([]);
    expect(report.conflicting).toBe(1);
  });

  it('reports progress per image', () => {
    const seen: number[] = [];
    captionsToQa([...images, { id: 8, file: '8.jpg', captions: [] }], { onProgress: (d) => seen.push(d) });
    expect(seen).toEqual([1, 2]);
  });
});

const ex = (answer: string, type: string, i: number): QaExample => ({
  imageId: i,
  imageKey: `${i}.jpg`,
  question: `q${i}`,
  answer,
  answers: [answer],
  type,
});

/** 60 "dog", 30 "cat", 10 "horse" objects and 8 "two", 2 "three" numbers. */
function skewed(): QaExample[] {
  const out: QaExample[] = [];
  let i = 0;
  for (const [answer, n] of [
    ['dog', 60],
    ['cat', 30],
    ['horse', 10],
  ] as const) {
    for (let k = 0; k < n; k++) out.push(ex(answer, 'object', i++));
  }
  for (const [answer, n] of [
    ['two', 8],
    ['three', 2],
  ] as const)
    for (let k = 0; k < n; k++) out.push(ex(answer, 'number', i++));
  return out;
}

const countBy = (examples: QaExample[], type: string): Record<string, number> => {
  const c: Record<string, number> = {};
  for (const e of examples) if (e.type === type) c[e.answer] = (c[e.answer] ?? 0) + 1;
  return c;
};

describe('answer share cap', () => {
  it('finds the largest per-answer count that keeps every share under the cap', () => {
    // k = 20: 20 / (20 + 20 + 10) = 0.4; k = 21: 21 / 51 > 0.4
    expect(answerCap([60, 30, 10], 0.4)).toBe(20);
    expect(answerCap([60, 30, 10], 1)).toBe(60);
    expect(answerCap([5, 5], 0.5)).toBe(5);
    // two answers can never be under 40 % each
    expect(answerCap([8, 2], 0.4)).toBe(0);
  });

  it('down-samples common answers per type, deterministically with a seed', () => {
    const examples = skewed();
    const a = capAnswerShare(examples, 0.4, 1);
    expect(countBy(a.examples, 'object')).toEqual({ dog: 20, cat: 20, horse: 10 });
    // number: 2 answers cannot be under 40 % each, so it is left whole and reported
    expect(countBy(a.examples, 'number')).toEqual({ two: 8, three: 2 });
    expect(a.uncappable).toEqual(['number']);
    const b = capAnswerShare(examples, 0.4, 1);
    expect(b.examples.map((e) => e.imageId)).toEqual(a.examples.map((e) => e.imageId));
    const c = capAnswerShare(examples, 0.4, 2);
    expect(c.examples.map((e) => e.imageId)).not.toEqual(a.examples.map((e) => e.imageId));
    // kept examples stay in input order
    const ids = a.examples.map((e) => Number(e.imageId));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it('takes per-type shares, "*" as the default', () => {
    const capped = capAnswerShare(skewed(), { number: 0.6 }, 0).examples;
    expect(countBy(capped, 'object')).toEqual({ dog: 60, cat: 30, horse: 10 });
    // k = 3: 3 / 5 = 0.6
    expect(countBy(capped, 'number')).toEqual({ two: 3, three: 2 });
    const both = capAnswerShare(skewed(), { '*': 0.4, number: 0.6 }, 0).examples;
    expect(countBy(both, 'object')).toEqual({ dog: 20, cat: 20, horse: 10 });
  });

  it('is applied by captionsToQa with maxAnswerShare', () => {
    const images: CaptionedImage[] = ['black', 'black', 'black', 'white'].map((c, i) => ({
      id: i,
      file: `${i}.jpg`,
      captions: [`A ${c} dog sleeps .`],
    }));
    const report = captionsToQa(images, { maxAnswerShare: 0.5, seed: 3 });
    expect(report.examples.map((e) => e.answer).sort()).toEqual(['black', 'white']);
    expect(report.capped).toBe(2);
    expect(report.beforeCap).toEqual({ color: 4 });
  });

  it('with minAgree, keeps only the questions whose answer word that many captions hold', () => {
    const photo: CaptionedImage[] = [
      { id: 1, file: '1.jpg', captions: ['A black dog runs in the park .', 'The dog is black .', 'A brown cat sleeps .'] },
    ];
    const all = captionsToQa(photo).examples.map((e) => `${e.question} ${e.answer}`);
    expect(all).toContain('what is the color of the cat ? brown');
    const agreed = captionsToQa(photo, { minAgree: 2 });
    // "black" and "dog" are in two captions; "brown", "park" and "cat" in one
    expect(agreed.examples.map((e) => `${e.question} ${e.answer}`)).toEqual([
      'what is the color of the dog ? black',
      'what is running in the park ? dog',
    ]);
    expect(agreed.unconfirmed).toBe(all.length - 2);
    expect(captionsWith(['Two dogs .', 'two  Dogs', 'twofold'], 'two')).toBe(2);
  });

  it('adds the extra questions before the cap, which counts them', () => {
    const images: CaptionedImage[] = [{ id: 0, file: '0.jpg', captions: ['A black dog sleeps .'] }];
    const extra = ['black', 'black', 'white'].map((answer, i) => ({
      imageId: i + 1,
      imageKey: `${i + 1}.jpg`,
      question: 'what is the color of the cat ?',
      answer,
      answers: [answer],
      type: 'color',
    }));
    const report = captionsToQa(images, { extra, maxAnswerShare: 0.5, seed: 3 });
    expect(report.beforeCap).toEqual({ color: 4 });
    expect(report.examples.map((e) => e.answer).sort()).toEqual(['black', 'white']);
  });

  it('parses --max-answer-share values and rejects bad ones', () => {
    expect(parseAnswerShare('0.2')).toBe(0.2);
    expect(parseAnswerShare('0.12,number=0.5')).toEqual({ '*': 0.12, number: 0.5 });
    expect(parseAnswerShare('color=0.3')).toEqual({ color: 0.3 });
    expect(() => parseAnswerShare('1.5')).toThrow(/in \(0, 1\]/);
    expect(() => parseAnswerShare('0')).toThrow(/in \(0, 1\]/);
    expect(() => parseAnswerShare('size=0.2')).toThrow(/unknown type size/);
    expect(() => capAnswerShare([], 0, 0)).toThrow(/must be in \(0, 1\]/);
  });
});

describe('qaStats', () => {
  it('counts questions, images, distinct and top answers per type', () => {
    const stats = qaStats(skewed(), 2);
    expect(stats.questions).toBe(110);
    expect(stats.images).toBe(110);
    expect(stats.perType).toEqual({
      object: {
        questions: 100,
        distinctAnswers: 3,
        topAnswers: [
          ['dog', 60],
          ['cat', 30],
        ],
      },
      number: {
        questions: 10,
        distinctAnswers: 2,
        topAnswers: [
          ['two', 8],
          ['three', 2],
        ],
      },
    });
  });
});
