import { describe, expect, it } from 'vitest';
import { mentionedClasses, scoreDetections } from '../../src/grounding/recall.js';
import { defaultWordTable } from '../../src/grounding/words.js';

describe('mentionedClasses', () => {
  it('keeps classes named by enough captions, counting each caption once', () => {
    const captions = ['A man and a man with a dog', 'Two people near a bus', 'A dog on the street', 'A bus stop', 'A street'];
    expect(mentionedClasses(defaultWordTable(), captions)).toEqual(new Set(['person', 'dog', 'bus']));
    expect(mentionedClasses(defaultWordTable(), captions, 3)).toEqual(new Set());
  });
});

describe('scoreDetections', () => {
  it('micro-averages over images', () => {
    const s = scoreDetections([
      { mentioned: new Set(['dog', 'person']), detected: new Set(['dog', 'car']) },
      { mentioned: new Set(['bus']), detected: new Set(['bus']) },
      { mentioned: new Set(), detected: new Set() },
    ]);
    expect(s).toEqual({ hits: 2, mentioned: 3, detected: 3, recall: 2 / 3, precision: 2 / 3 });
  });
});
