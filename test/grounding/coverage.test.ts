import { describe, expect, it } from 'vitest';
import { coverage, topCounts } from '../../src/grounding/coverage.js';
import { defaultWordTable } from '../../src/grounding/words.js';
import { tokenizeWords } from '../../src/text/tokenize.js';

describe('coverage', () => {
  it('counts captions with a mention, mentions per class, and nouns outside mentions', () => {
    const everyWord = (caption: string) => new Set(tokenizeWords(caption));
    const c = coverage(defaultWordTable(), ['A man eats a hot dog', 'Two dogs on the grass', 'The grass is green'], everyWord);
    expect(c).toMatchObject({ captions: 3, withMention: 2 });
    expect(Object.fromEntries(c.byClass)).toEqual({ person: 1, 'hot dog': 1, dog: 1 });
    expect(c.uncovered.get('grass')).toBe(2);
    expect(c.uncovered.has('dog')).toBe(false);
    expect(c.uncovered.has('hot')).toBe(false);
    expect(topCounts(c.uncovered, 2)).toEqual([
      ['a', 2],
      ['grass', 2],
    ]);
  });
});
