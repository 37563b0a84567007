import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCocoQa, writeCocoQa } from '../../src/data/cocoqa.js';
import { cocoImageMap, patternImageMap } from '../../src/data/image-map.js';
import type { QaExample } from '../../src/data/qa.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cocoqa-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const examples: QaExample[] = [
  { imageId: 12, imageKey: '12.png', question: 'what is the man riding ?', answer: 'horse', answers: ['horse'], type: 'object' },
  { imageId: 12, imageKey: '12.png', question: 'how many dogs play in the snow ?', answer: 'two', answers: ['two'], type: 'number' },
  { imageId: 3, imageKey: '3.png', question: 'what is the color of the dog ?', answer: 'black', answers: ['black'], type: 'color' },
  { imageId: 3, imageKey: '3.png', question: 'where is the dog running ?', answer: 'park', answers: ['park'], type: 'location' },
];

async function writeSplit(files: Partial<Record<'questions' | 'answers' | 'img_ids' | 'types', string>>): Promise<void> {
  const all = {
    questions: 'what is the man riding ?\nwhere is the dog ?\n',
    answers: 'horse\npark\n',
    img_ids: '1\n2\n',
    types: '0\n3\n',
    ...files,
  };
  for (const [name, text] of Object.entries(all)) await writeFile(path.join(dir, `${name}.txt`), text);
}

describe('COCO-QA layout', () => {
  it('round-trips write → read', async () => {
    await writeCocoQa(dir, examples);
    expect(await readFile(path.join(dir, 'types.txt'), 'utf8')).toBe('0\n1\n2\n3\n');
    expect(await readFile(path.join(dir, 'img_ids.txt'), 'utf8')).toBe('12\n12\n3\n3\n');
    expect(await readFile(path.join(dir, 'answers.txt'), 'utf8')).toBe('horse\ntwo\nblack\npark\n');
    expect(await readCocoQa(dir, patternImageMap('{id}.png'))).toEqual(examples);
  });

  it('maps ids through a COCO images list and keeps non-numeric ids as strings', async () => {
    await writeSplit({ img_ids: '1\nabc_7\n' });
    const map = cocoImageMap({
      images: [
        { id: 1, file_name: 'one.jpg' },
        { id: 'abc_7', file_name: 'seven.jpg' },
      ],
    });
    const read = await readCocoQa(dir, map);
    expect(read.map((e) => [e.imageId, e.imageKey, e.type])).toEqual([
      [1, 'one.jpg', 'object'],
      ['abc_7', 'seven.jpg', 'location'],
    ]);
  });

  it('reads CRLF files and an empty split', async () => {
    await writeSplit({ questions: 'q1 ?\r\nq2 ?\r\n', answers: 'a\r\nb\r\n' });
    expect((await readCocoQa(dir, patternImageMap('{id}.png'))).map((e) => e.answer)).toEqual(['a', 'b']);
    await writeCocoQa(dir, []);
    expect(await readCocoQa(dir, patternImageMap('{id}.png'))).toEqual([]);
  });

  it('says which file is missing', async () => {
    await writeSplit({});
    await unlink(path.join(dir, 'types.txt'));
    await expect(readCocoQa(dir, patternImageMap('{id}.png'))).rejects.toThrow(
      /types\.txt is missing: a COCO-QA split folder needs questions\.txt, answers\.txt, img_ids\.txt, types\.txt/,
    );
  });

  it('says which line counts differ', async () => {
    await writeSplit({ answers: 'horse\n' });
    await expect(readCocoQa(dir, patternImageMap('{id}.png'))).rejects.toThrow(
      'line counts differ (questions.txt 2, answers.txt 1, img_ids.txt 2, types.txt 2)',
    );
  });

  it('names the line of a bad type code', async () => {
    await writeSplit({ types: '0\n7\n' });
    await expect(readCocoQa(dir, patternImageMap('{id}.png'))).rejects.toThrow(
      'types.txt line 2 "7": is not a COCO-QA type code (0 object, 1 number, 2 color, 3 location)',
    );
    await writeSplit({ types: '0\n\n' });
    await expect(readCocoQa(dir, patternImageMap('{id}.png'))).rejects.toThrow('types.txt line 2 "": is not a COCO-QA type code');
  });

  it('names the line of an empty answer, question or image id', async () => {
    await writeSplit({ answers: '  \npark\n' });
    await expect(readCocoQa(dir, patternImageMap('{id}.png'))).rejects.toThrow(
      'answers.txt line 1: answer is empty: every question needs a one-word answer',
    );
    await writeSplit({ questions: 'q ?\n\n', img_ids: '\n2\n' });
    const err = await readCocoQa(dir, patternImageMap('{id}.png')).catch((e: Error) => e);
    expect(String(err)).toContain('img_ids.txt line 1: image id is empty');
    expect(String(err)).toContain('questions.txt line 2: question is empty');
  });

  it('names the line of an image id the map does not know', async () => {
    await writeSplit({});
    const map = cocoImageMap({ images: [{ id: 1, file_name: 'one.jpg' }] }, 'captions.json');
    await expect(readCocoQa(dir, map)).rejects.toThrow('img_ids.txt line 2: captions.json has no image with id 2');
  });

  it('refuses to write what it could not read back', async () => {
    const bad = (patch: Partial<QaExample>): QaExample[] => [{ ...examples[0]!, ...patch }];
    await expect(writeCocoQa(dir, bad({ type: 'yes/no' }))).rejects.toThrow(/type must be one of object, number, color, location/);
    await expect(writeCocoQa(dir, bad({ answer: ' ' }))).rejects.toThrow(/answer is empty/);
    await expect(writeCocoQa(dir, bad({ question: 'two\nlines ?' }))).rejects.toThrow(/question has a line break/);
  });
});
