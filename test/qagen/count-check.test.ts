import { describe, expect, it } from 'vitest';
import type { CaptionedImage } from '../../src/data/captions.js';
import type { ClassCount, InstanceCounts } from '../../src/data/coco-instances.js';
import { defaultWordTable } from '../../src/grounding/words.js';
import { checkCount, countCheck, countedClass, COUNT_WORDS } from '../../src/qagen/count-check.js';
import { captionsToQa } from '../../src/qagen/dataset.js';
import type { GeneratedQa } from '../../src/qagen/rules.js';

const table = defaultWordTable();
const counts = (entries: Record<string, number | 'crowd'>): Map<string, ClassCount> =>
  new Map(Object.entries(entries).map(([label, n]) => [label, n === 'crowd' ? { count: 1, crowd: true } : { count: n, crowd: false }]));
const howMany = (counted: string, answer: string): GeneratedQa => ({
  question: `how many ${counted} play ?`,
  answer,
  type: 'number',
  counted,
});

describe('countedClass', () => {
  it('maps the counted phrase to the class its last words name', () => {
    expect(countedClass(table, 'dogs')).toBe('dog');
    expect(countedClass(table, 'black puppies')).toBe('dog');
    expect(countedClass(table, 'hot dogs')).toBe('hot dog');
    expect(countedClass(table, 'young men')).toBe('person');
    expect(countedClass(table, 'tennis players')).toBe('person');
  });

  it('gives no class when the phrase does not end in a class word', () => {
    expect(countedClass(table, 'dog sleds')).toBeUndefined();
    expect(countedClass(table, 'trees')).toBeUndefined();
    expect(countedClass(table, '')).toBeUndefined();
  });
});

describe('checkCount', () => {
  it('matches only the annotated count of the named class', () => {
    expect(checkCount(table, howMany('dogs', 'two'), counts({ dog: 2, person: 1 }))).toBe('match');
    expect(checkCount(table, howMany('dogs', 'two'), counts({ dog: 3 }))).toBe('count-differs');
    expect(checkCount(table, howMany('dogs', 'two'), counts({ cat: 2 }))).toBe('count-differs');
    expect(checkCount(table, howMany('women', 'three'), counts({ person: 3 }))).toBe('match');
  });

  it('does not trust a crowd region, an unannotated photo, a phrase of no class or an answer that is no count', () => {
    expect(checkCount(table, howMany('people', 'two'), counts({ person: 'crowd' }))).toBe('crowd');
    expect(checkCount(table, howMany('dogs', 'two'), undefined)).toBe('no-annotations');
    expect(checkCount(table, howMany('trees', 'two'), counts({ dog: 2 }))).toBe('no-class');
    expect(checkCount(table, { question: 'how many dogs play ?', answer: 'two', type: 'number' }, counts({ dog: 2 }))).toBe('no-class');
    expect(checkCount(table, howMany('dogs', 'many'), counts({ dog: 2 }))).toBe('not-a-count');
  });

  it('reads "one" to "ten"', () => {
    expect([...COUNT_WORDS.keys()]).toEqual(['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten']);
    expect(COUNT_WORDS.get('ten')).toBe(10);
  });
});

describe('captionsToQa with countCheck', () => {
  const images: CaptionedImage[] = [
    { id: 1, file: '1.jpg', captions: ['Two dogs play in the snow .', 'A black dog runs .'] },
    { id: 2, file: '2.jpg', captions: ['Two dogs play in the snow .', 'A black dog runs .'] },
  ];
  const rows = (keep?: ReturnType<typeof countCheck>['keep']): string[] =>
    captionsToQa(images, { keep }).examples.map((e) => `${e.imageId} | ${e.type} | ${e.question} | ${e.answer}`);

  it('keeps a number question when the count matches, drops it when not, and passes the other types', () => {
    const annotations: InstanceCounts = new Map([
      [1, counts({ dog: 2 })],
      [2, counts({ dog: 3 })],
    ]);
    const check = countCheck(table, annotations);
    const report = captionsToQa(images, { keep: check.keep });
    // Other types pass unchecked, even when they quote the caption's count.
    expect(rows(check.keep)).toEqual([
      '1 | number | how many dogs play in the snow ? | two',
      '1 | location | where are the two dogs playing ? | snow',
      '1 | color | what is the color of the dog ? | black',
      '2 | location | where are the two dogs playing ? | snow',
      '2 | color | what is the color of the dog ? | black',
    ]);
    expect(report.rejected).toBe(1);
    // Two runs of `keep` above: the tally adds up.
    expect(check.verdicts).toMatchObject({ match: 2, 'count-differs': 2, crowd: 0, 'no-class': 0 });
    // Without the check, both number questions stay.
    expect(rows().filter((r) => r.includes('how many'))).toHaveLength(2);
  });

  it('drops number questions of photos the annotations do not list', () => {
    const check = countCheck(table, new Map([[1, counts({ dog: 2 })]]));
    expect(rows(check.keep).filter((r) => r.includes('how many'))).toEqual(['1 | number | how many dogs play in the snow ? | two']);
    expect(check.verdicts['no-annotations']).toBe(1);
  });
});
