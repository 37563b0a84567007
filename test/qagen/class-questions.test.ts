import { describe, expect, it } from 'vitest';
import { defaultWordTable } from '../../src/grounding/words.js';
import {
  captionClassCounts,
  captionClassQuestions,
  classAnswer,
  classQuestion,
  classQuestions,
  detectedOnly,
} from '../../src/qagen/class-questions.js';

const table = defaultWordTable();
const photo = (id: number) => ({ id, file: `${id}.jpg` });
const rows = (classes: Map<number, Set<string>>, ids = [...classes.keys()]): string[] =>
  classQuestions(ids.map(photo), classes, table).examples.map(
    (e) => `${e.imageId} | ${e.imageKey} | ${e.type} | ${e.question} | ${e.answer}`,
  );

describe('classQuestions', () => {
  it('asks about a super-category only when the photo has exactly one of its classes', () => {
    const classes = new Map([
      [1, new Set(['zebra', 'person'])],
      [2, new Set(['dog', 'cat'])],
      [3, new Set(['horse', 'car', 'truck', 'pizza'])],
    ]);
    expect(rows(classes)).toEqual([
      '1 | 1.jpg | object | what animal is in the picture ? | zebra',
      '3 | 3.jpg | object | what animal is in the picture ? | horse',
      '3 | 3.jpg | object | what food is in the picture ? | pizza',
    ]);
    const report = classQuestions([1, 2, 3].map(photo), classes, table);
    expect(report.perSupercategory).toEqual({
      animal: {
        questions: 2,
        severalClasses: 1,
        answers: [
          ['horse', 1],
          ['zebra', 1],
        ],
      },
      vehicle: { questions: 0, severalClasses: 1, answers: [] },
      food: { questions: 1, severalClasses: 0, answers: [['pizza', 1]] },
    });
    expect(report.examples[0]).toMatchObject({ answers: ['zebra'] });
  });

  it('never asks an animal question about people', () => {
    const classes = new Map([
      [1, new Set(['person'])],
      [2, new Set(['person', 'bicycle'])],
    ]);
    expect(rows(classes)).toEqual(['2 | 2.jpg | object | what vehicle is in the picture ? | bicycle']);
  });

  it('skips photos the annotations do not list, and asks about the super-categories given', () => {
    const classes = new Map([[1, new Set(['dog', 'car'])]]);
    const report = classQuestions([photo(1), photo(9)], classes, table, ['vehicle']);
    expect(report.examples.map((e) => e.answer)).toEqual(['car']);
    expect(report.unannotated).toBe(1);
    expect(Object.keys(report.perSupercategory)).toEqual(['vehicle']);
  });
});

describe('classAnswer', () => {
  it("writes the table's singular word, one word", () => {
    expect(classAnswer(table, 'zebra')).toBe('zebra');
    expect(classAnswer(table, 'bicycle')).toBe('bicycle');
    expect(classAnswer(table, 'hot dog')).toBe('hotdog');
    expect(classQuestion('food')).toBe('what food is in the picture ?');
  });
});

describe('detectedOnly', () => {
  const q = (imageKey: string, answer: string) => ({
    imageId: imageKey,
    imageKey,
    question: 'what animal is in the picture ?',
    answer,
    answers: [answer],
    type: 'object',
  });
  it('keeps the questions whose answer class the detector found at the score given', () => {
    const detections = new Map([
      ['a.jpg', [{ label: 'zebra', score: 0.6 }]],
      ['b.jpg', [{ label: 'horse', score: 0.9 }]],
      [
        'c.jpg',
        [
          { label: 'hot dog', score: 0.3 },
          { label: 'dog', score: 0.15 },
        ],
      ],
    ]);
    const examples = [q('a.jpg', 'zebra'), q('b.jpg', 'zebra'), q('c.jpg', 'hotdog'), q('c.jpg', 'dog'), q('d.jpg', 'cat')];
    expect(detectedOnly(examples, detections, table, 0.2).map((e) => `${e.imageKey} ${e.answer}`)).toEqual(['a.jpg zebra', 'c.jpg hotdog']);
    expect(detectedOnly(examples, detections, table, 0.1)).toHaveLength(3);
  });
});

describe('captionClassQuestions', () => {
  const captioned = (id: number, captions: string[]) => ({ id, file: `${id}.jpg`, captions });

  it('counts each class once per caption that names it, by the word table', () => {
    const counts = captionClassCounts([captioned(1, ['two dogs and a dog toy', 'a puppy runs', 'a man on a bike'])], table);
    expect(Object.fromEntries(counts.get(1)!)).toEqual({ dog: 2, person: 1, bicycle: 1 });
  });

  it('asks where the captions name one class of a super-category, at least twice', () => {
    const report = captionClassQuestions(
      [
        captioned(1, ['a dog runs on the grass', 'a brown dog runs', 'a puppy plays']),
        captioned(2, ['a dog chases a cat', 'a dog runs', 'two dogs play']),
        captioned(3, ['a horse in a field', 'a man rides a bike', 'a cyclist on a bicycle']),
      ],
      table,
    );
    expect(report.examples.map((e) => `${e.imageId} ${e.question} ${e.answer}`)).toEqual([
      '1 what animal is in the picture ? dog',
      '3 what vehicle is in the picture ? bicycle',
    ]);
    expect(report.perSupercategory.animal).toEqual({ questions: 1, severalClasses: 1, answers: [['dog', 1]] });
  });

  it('needs minCaptions captions to agree', () => {
    const images = [captioned(1, ['a horse in a field', 'a brown animal'])];
    expect(captionClassQuestions(images, table, 2).examples).toEqual([]);
    expect(captionClassQuestions(images, table, 1).examples.map((e) => e.answer)).toEqual(['horse']);
  });
});
