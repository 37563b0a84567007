import { describe, expect, it } from 'vitest';
import { answerPrior, priorPredictions } from '../../src/vqa/baselines.js';
import { answerClasses, countByType, splitByImage } from '../../src/vqa/examples.js';
import type { QaExample } from '../../src/data/qa.js';

const ex = (imageId: number, type: string, answer: string): QaExample => ({
  imageId,
  imageKey: `${imageId}.jpg`,
  question: `q ${type}`,
  answer,
  answers: [answer],
  type,
});

const DATA: QaExample[] = Array.from({ length: 40 }, (_, i) =>
  ex(i % 10, i % 2 ? 'color' : 'object', i % 2 ? (i % 3 ? 'red' : 'blue') : i % 5 ? 'dog' : 'cat'),
);

describe('splitByImage', () => {
  it('holds out whole images, the asked fraction of them, the same way for a seed', () => {
    const { train, val } = splitByImage(DATA, 0.2, 3);
    const trainImages = new Set(train.map((e) => e.imageId));
    const valImages = new Set(val.map((e) => e.imageId));
    expect(valImages.size).toBe(2);
    expect([...valImages].filter((i) => trainImages.has(i))).toEqual([]);
    expect(train.length + val.length).toBe(DATA.length);
    expect(splitByImage(DATA, 0.2, 3).val).toEqual(val);
    expect(new Set(splitByImage(DATA, 0.2, 4).val.map((e) => e.imageId))).not.toEqual(valImages);
  });
});

describe('answer classes and counts', () => {
  it('keeps the top-K answers, most frequent first, ties alphabetical', () => {
    const counts = new Map<string, number>();
    for (const e of DATA) counts.set(e.answer, (counts.get(e.answer) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ dog: 16, cat: 4, red: 13, blue: 7 });
    expect(answerClasses(DATA, 3)).toEqual(['dog', 'red', 'blue']);
    expect(answerClasses([ex(1, 't', 'b'), ex(1, 't', 'a')], 5)).toEqual(['a', 'b']);
    expect(countByType(DATA)).toEqual({ object: 20, color: 20 });
  });
});

describe('answer prior baseline', () => {
  it('answers the most common training answer of the question type', () => {
    expect(Object.fromEntries(answerPrior(DATA))).toEqual({ object: 'dog', color: 'red' });
    expect(priorPredictions(DATA, [ex(99, 'color', 'blue'), ex(99, 'object', 'cat'), ex(99, 'number', 'two')])).toEqual([
      'red',
      'dog',
      'dog',
    ]);
  });
});
