import { describe, expect, it } from 'vitest';
import { chair, chairFromMentions, chairSummary, chairTableMarkdown, objectMentions } from '../../src/grounding/chair.js';
import { defaultWordTable } from '../../src/grounding/words.js';

const table = defaultWordTable();
const truth = (...labels: string[]) => new Set(labels);

describe('objectMentions', () => {
  it('maps people words, plurals and synonyms to their class, one label per occurrence', () => {
    expect(objectMentions(table, 'A man and two women with children near a skier')).toEqual(['person', 'person', 'person', 'person']);
    expect(objectMentions(table, 'Two dogs chase a puppy past the bikes')).toEqual(['dog', 'dog', 'bicycle']);
  });

  it('reads a multi-word name as one mention', () => {
    expect(objectMentions(table, 'a hot dog next to a teddy bear')).toEqual(['hot dog', 'teddy bear']);
  });

  it('leaves out words the table flags as ambiguous unless asked', () => {
    expect(objectMentions(table, 'a man in an orange shirt')).toEqual(['person']);
    expect(objectMentions(table, 'a man in an orange shirt', { ambiguous: true })).toEqual(['person', 'orange']);
  });
});

describe('chair', () => {
  it('counts a mention of a class the photo has no instance of as hallucinated', () => {
    const s = chair(table, [{ caption: 'a dog on a couch', truth: truth('dog') }]);
    expect([s.mentions, s.hallucinated, s.hallucinatedCaptions]).toEqual([2, 1, 1]);
    expect(s.perClass.find((r) => r.label === 'couch')).toEqual({
      label: 'couch',
      mentions: 1,
      hallucinated: 1,
      chairI: 1,
      hallucinatedCaptions: 1,
      annotated: 0,
      covered: 0,
      recall: 0,
    });
    expect(s.perClass.find((r) => r.label === 'dog')).toEqual({
      label: 'dog',
      mentions: 1,
      hallucinated: 0,
      chairI: 0,
      hallucinatedCaptions: 0,
      annotated: 1,
      covered: 1,
      recall: 1,
    });
  });

  it('takes people words as person, against the person annotation', () => {
    const withPerson = chair(table, [{ caption: 'a girl and a surfer', truth: truth('person') }]);
    expect([withPerson.mentions, withPerson.hallucinated]).toEqual([2, 0]);
    const without = chair(table, [{ caption: 'the boys', truth: truth('dog') }]);
    expect([without.mentions, without.hallucinated]).toEqual([1, 1]);
  });

  it('scores a photo with no annotation at all: every mention hallucinated, nothing to recall', () => {
    const s = chair(table, [{ caption: 'a cat on a bed', truth: truth() }]);
    expect(s).toMatchObject({ mentions: 2, hallucinated: 2, chairI: 1, chairS: 1, covered: 0, annotated: 0, recall: 0 });
  });

  it('scores plural and synonym mentions against the singular class', () => {
    const s = chair(table, [{ caption: 'motorbikes and cellphones', truth: truth('motorcycle', 'cell phone') }]);
    expect([s.mentions, s.hallucinated, s.recall]).toEqual([2, 0, 1]);
  });
});

describe('chairFromMentions', () => {
  // Five captions: 2 of them hallucinate (one of them twice), 8 mentions in all.
  const items = [
    { mentions: ['person', 'dog', 'dog'], truth: truth('person') },
    { mentions: ['cat'], truth: truth('cat', 'bed', 'person') },
    { mentions: ['bus'], truth: truth('car') },
    { mentions: [], truth: truth('car') },
    { mentions: ['cat', 'cat', 'cat'], truth: truth('cat') },
  ];

  it('divides CHAIR-i by mentions and CHAIR-s by captions', () => {
    const s = chairFromMentions(items);
    expect([s.mentions, s.hallucinated, s.captions, s.hallucinatedCaptions]).toEqual([8, 3, 5, 2]);
    expect(s.chairI).toBeCloseTo(3 / 8, 12);
    expect(s.chairS).toBeCloseTo(2 / 5, 12);
  });

  it('micro-averages recall over captions: annotated classes named / annotated classes', () => {
    const s = chairFromMentions(items);
    // person 1/1; cat 1 of cat, bed, person; bus names no car 0/1; nothing 0/1; cat 1/1.
    expect([s.covered, s.annotated]).toEqual([3, 7]);
    expect(s.recall).toBeCloseTo(3 / 7, 12);
  });

  it('reports per class, most hallucinated first, then the classes annotated but never named', () => {
    const s = chairFromMentions(items);
    expect(s.perClass.map((r) => [r.label, r.mentions, r.hallucinated])).toEqual([
      ['dog', 2, 2],
      ['bus', 1, 1],
      ['cat', 4, 0],
      ['person', 1, 0],
      ['car', 0, 0],
      ['bed', 0, 0],
    ]);
    expect(s.perClass[0]!.chairI).toBe(1);
  });

  it('counts per class the captions inventing it (once per caption) and its recall where the photo has it', () => {
    const s = chairFromMentions(items);
    const row = (label: string) => s.perClass.find((r) => r.label === label)!;
    // Two dog mentions in one caption: one caption inventing dogs.
    expect(row('dog')).toMatchObject({ hallucinatedCaptions: 1, annotated: 0, covered: 0, recall: 0 });
    // Person in two photos, named in the first only.
    expect(row('person')).toMatchObject({ hallucinatedCaptions: 0, annotated: 2, covered: 1, recall: 0.5 });
    expect(row('car')).toMatchObject({ mentions: 0, chairI: 0, annotated: 2, covered: 0, recall: 0 });
    expect(row('cat')).toMatchObject({ annotated: 2, covered: 2, recall: 1 });
    // The rows add up to the totals.
    expect(s.perClass.reduce((n, r) => n + r.covered, 0)).toBe(s.covered);
    expect(s.perClass.reduce((n, r) => n + r.annotated, 0)).toBe(s.annotated);
  });

  it('gives zeros, not NaN, with nothing to score', () => {
    expect(chairFromMentions([])).toMatchObject({ chairI: 0, chairS: 0, recall: 0, perClass: [] });
  });

  it('prints a summary line and a per-class table', () => {
    const s = chairFromMentions(items);
    expect(chairSummary(s)).toBe('CHAIR-s 0.400 (2/5 captions)  CHAIR-i 0.375 (3/8 mentions)  recall 0.429 (3/7 annotated classes)');
    const md = chairTableMarkdown(s).split('\n');
    expect(md[2]).toBe('| dog | 2 | 2 | 1.000 | 1 | 0 | 0 | 0.000 |');
    expect(md.at(-1)).toBe('| **all** | 8 | 3 | 0.375 | 2 | 7 | 3 | 0.429 |');
  });
});
