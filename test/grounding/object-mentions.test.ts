import { describe, expect, it } from 'vitest';
import { objectMentionTable, objectTableMarkdown } from '../../src/grounding/object-mentions.js';
import { defaultWordTable } from '../../src/grounding/words.js';

describe('objectMentionTable', () => {
  const table = defaultWordTable();
  const refs = ['a giraffe near a tree', 'two giraffes eating', 'a tall giraffe', 'a man looks at an animal', 'a zoo'];

  it('counts a class as named by the references when two or more name it, and by the caption when it does', () => {
    const t = objectMentionTable(table, [
      { refs, caption: 'a giraffe standing' },
      { refs, caption: 'a dog in the snow' },
    ]);
    const giraffe = t.rows.find((r) => r.label === 'giraffe')!;
    expect(giraffe).toEqual({ label: 'giraffe', inRefs: 2, namedWhenInRefs: 1, namedWhenNotInRefs: 0 });
    // "man" is in one reference only: not counted as named by the references.
    expect(t.rows.find((r) => r.label === 'person')).toBeUndefined();
    expect(t.rows.find((r) => r.label === 'dog')).toEqual({ label: 'dog', inRefs: 0, namedWhenInRefs: 0, namedWhenNotInRefs: 1 });
    expect(t.recall).toBeCloseTo(0.5);
    expect(t.precision).toBeCloseTo(0.5);
    expect(objectTableMarkdown(t)).toContain('| giraffe | 2 | 1 | 0 |');
  });
});
