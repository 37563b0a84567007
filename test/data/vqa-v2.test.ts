import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cocoImageMap, loadImageMap, patternImageMap } from '../../src/data/image-map.js';
import { loadVqaV2, parseVqaV2 } from '../../src/data/vqa-v2.js';

const QUESTIONS = {
  questions: [
    { image_id: 7, question: ' What is the man riding? ', question_id: 70 },
    { image_id: 8, question: 'How many dogs?', question_id: 80 },
  ],
};
const ANNOTATIONS = {
  annotations: [
    { question_id: 80, answer_type: 'number', multiple_choice_answer: '2', answers: [{ answer: '2' }, { answer: 'Two' }, { answer: '3' }] },
    { question_id: 70, answer_type: 'other', multiple_choice_answer: 'Horse', answers: [{ answer: 'horse' }, { answer: 'pony' }] },
  ],
};

describe('parseVqaV2', () => {
  it('joins questions and annotations on question_id', () => {
    const ex = parseVqaV2(QUESTIONS, ANNOTATIONS, patternImageMap('{id}.png'));
    expect(ex).toEqual([
      {
        imageId: 7,
        imageKey: '7.png',
        question: 'What is the man riding?',
        answer: 'horse',
        answers: ['horse', 'pony'],
        type: 'other',
        questionId: 70,
      },
      {
        imageId: 8,
        imageKey: '8.png',
        question: 'How many dogs?',
        answer: '2',
        answers: ['2', 'two', '3'],
        type: 'number',
        questionId: 80,
      },
    ]);
  });

  it('says which file and field is wrong', () => {
    expect(() => parseVqaV2({ questions: [{ image_id: 1 }] }, ANNOTATIONS, String, { questions: 'q.json', annotations: 'a.json' })).toThrow(
      /q.json is not a VQA v2 questions file: questions.0.question: Required/,
    );
    expect(() =>
      parseVqaV2(QUESTIONS, { annotations: [{ question_id: 70 }] }, String, { questions: 'q.json', annotations: 'a.json' }),
    ).toThrow(/a.json is not a VQA v2 annotations file: annotations.0.multiple_choice_answer: Required/);
    expect(() => parseVqaV2(QUESTIONS, { annotations: [ANNOTATIONS.annotations[0]] }, String)).toThrow(/no annotation for question_id 70/);
  });

  it('reads the two files from disk', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vqa2-'));
    try {
      await writeFile(path.join(dir, 'q.json'), JSON.stringify(QUESTIONS));
      await writeFile(path.join(dir, 'a.json'), JSON.stringify(ANNOTATIONS));
      const ex = await loadVqaV2(path.join(dir, 'q.json'), path.join(dir, 'a.json'), patternImageMap('COCO_val2014_{id:12}.jpg'));
      expect(ex.map((e) => e.imageKey)).toEqual(['COCO_val2014_000000000007.jpg', 'COCO_val2014_000000000008.jpg']);
      await expect(loadVqaV2(path.join(dir, 'none.json'), path.join(dir, 'a.json'), String)).rejects.toThrow(/cannot read .*none.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('image maps', () => {
  it('pattern: {id} and zero-padded {id:N}; a pattern without {id} is refused', () => {
    expect(patternImageMap('{id}.png')(12)).toBe('12.png');
    expect(patternImageMap('img_{id:5}.jpg')('42')).toBe('img_00042.jpg');
    expect(() => patternImageMap('image.png')).toThrow(/no \{id\} placeholder/);
  });

  it('COCO images list: ids to file names; unknown ids are an error', async () => {
    const map = cocoImageMap(
      {
        images: [
          { id: 1, file_name: 'a.jpg' },
          { id: '2', file_name: 'b.jpg' },
        ],
      },
      'caps.json',
    );
    expect(map(1)).toBe('a.jpg');
    expect(map('1')).toBe('a.jpg');
    expect(map(2)).toBe('b.jpg');
    expect(() => map(3)).toThrow(/caps.json has no image with id 3/);
    expect(() => cocoImageMap({ annotations: [] }, 'x.json')).toThrow(/x.json has no COCO "images"/);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imap-'));
    try {
      await writeFile(path.join(dir, 'c.json'), JSON.stringify({ images: [{ id: 5, file_name: 'e.jpg' }] }));
      expect((await loadImageMap(path.join(dir, 'c.json')))(5)).toBe('e.jpg');
      expect((await loadImageMap('{id}.png'))(5)).toBe('5.png');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
