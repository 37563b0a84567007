import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COCO_LABELS, SUPERCATEGORIES } from '../../src/encoder/types.js';
import {
  DEFAULT_TABLE_FILE,
  defaultWordTable,
  findMentions,
  parseWordTable,
  senseOf,
  supercategoryOf,
  wordFor,
} from '../../src/grounding/words.js';
import { tokenizeWords } from '../../src/text/tokenize.js';

const table = defaultWordTable();
const raw = () => JSON.parse(readFileSync(DEFAULT_TABLE_FILE, 'utf8')) as { classes: Record<string, unknown>[]; precedence?: unknown };
const labelOf = (word: string) => senseOf(table, word)?.label;

describe('the shipped word table', () => {
  it('lists each of CenterNet’s 80 classes once, in its order', () => {
    expect(table.classes.map((c) => c.label)).toEqual([...COCO_LABELS]);
    expect(new Set(table.classes.map((c) => c.label)).size).toBe(80);
  });

  it('gives every class one of the 12 super-categories, each used', () => {
    expect(new Set(table.classes.map((c) => c.supercategory))).toEqual(new Set(SUPERCATEGORIES));
    expect(supercategoryOf(table, 'giraffe')).toBe('animal');
    expect(supercategoryOf(table, 'hair drier')).toBe('indoor');
    expect(supercategoryOf(table, 'dining table')).toBe('furniture');
  });

  it('maps the issue’s examples', () => {
    for (const w of ['man', 'woman', 'boy', 'girl', 'child', 'people', 'men', 'children']) expect(labelOf(w)).toBe('person');
    expect(labelOf('bike')).toBe('bicycle');
    expect(labelOf('sofa')).toBe('couch');
    expect(labelOf('television')).toBe('tv');
    expect(labelOf('table')).toBe('dining table');
    expect(labelOf('phone')).toBe('cell phone');
    expect(labelOf('motorbike')).toBe('motorcycle');
    expect(labelOf('jet')).toBe('airplane');
    expect(labelOf('tree')).toBeUndefined();
  });

  it('tells singular from plural, and number-neutral words', () => {
    expect(senseOf(table, 'women')).toMatchObject({ label: 'person', plural: true });
    expect(senseOf(table, 'woman')).toMatchObject({ label: 'person', plural: false });
    expect(senseOf(table, 'sheep')).toMatchObject({ label: 'sheep', plural: null });
    expect(senseOf(table, "dog's")).toMatchObject({ label: 'dog', plural: false });
    expect(senseOf(table, 'Hot Dogs')).toMatchObject({ label: 'hot dog', plural: true });
  });

  it('renders a class singular or plural', () => {
    expect(wordFor(table, 'person', false)).toBe('person');
    expect(wordFor(table, 'person', true)).toBe('people');
    expect(wordFor(table, 'dining table', true)).toBe('tables');
    expect(wordFor(table, 'knife', true)).toBe('knives');
    expect(wordFor(table, 'hot dog', false)).toBe('hot dog');
    expect(() => wordFor(table, 'unicorn', false)).toThrow(/unknown class "unicorn"/);
  });

  it('renders each class’s written words back to that class with their number', () => {
    for (const c of table.classes) {
      expect(senseOf(table, wordFor(table, c.label, false))?.label).toBe(c.label);
      const plural = senseOf(table, wordFor(table, c.label, true));
      expect(plural?.label).toBe(c.label);
      expect(plural?.plural).not.toBe(false);
    }
  });

  it('finds mentions longest first', () => {
    const mentions = (s: string) => findMentions(table, tokenizeWords(s)).map((m) => [m.label, m.start, m.end, m.plural]);
    expect(mentions('A man eats a hot dog next to a dog')).toEqual([
      ['person', 1, 2, false],
      ['hot dog', 4, 6, false],
      ['dog', 9, 10, false],
    ]);
    expect(mentions('two teddy bears and a bear near a fire hydrant')).toEqual([
      ['teddy bear', 1, 3, true],
      ['bear', 5, 6, false],
      ['fire hydrant', 8, 10, false],
    ]);
    expect(mentions('a red stop sign on a dining table')).toEqual([
      ['stop sign', 2, 4, false],
      ['dining table', 6, 8, false],
    ]);
    expect(mentions('an empty street')).toEqual([]);
  });

  it('flags ambiguous words', () => {
    expect(senseOf(table, 'orange')).toMatchObject({ label: 'orange', ambiguous: true });
    expect(senseOf(table, 'oranges')).toMatchObject({ label: 'orange', ambiguous: false });
  });

  it('lists no word under two classes without a precedence entry', () => {
    const owners = new Map<string, Set<string>>();
    for (const c of table.classes) for (const w of [...c.singular, ...c.plural]) owners.set(w, (owners.get(w) ?? new Set()).add(c.label));
    const precedence = (raw().precedence ?? {}) as Record<string, string>;
    for (const [word, labels] of owners) if (labels.size > 1) expect(precedence[word], word).toBeDefined();
  });
});

describe('parseWordTable', () => {
  it('names the file and entry of an invalid class', () => {
    const t = raw();
    t.classes[3] = { ...t.classes[3], supercategory: 'vehicles' };
    expect(() => parseWordTable(t, 'x.json')).toThrow(/^x\.json \(entry 3: motorcycle\): classes\.3\.supercategory: /);
  });

  it('refuses missing, extra or reordered classes', () => {
    const t = raw();
    expect(() => parseWordTable({ ...t, classes: t.classes.slice(0, 79) }, 'x.json')).toThrow(/has 79 classes/);
    expect(() => parseWordTable({ ...t, classes: [...t.classes, t.classes[0]] }, 'x.json')).toThrow(/entry 80: person/);
    expect(() => parseWordTable({ ...t, classes: [t.classes[1], t.classes[0], ...t.classes.slice(2)] }, 'x.json')).toThrow(
      /entry 0: bicycle\): expected "person"/,
    );
  });

  it('refuses a word under two classes unless precedence says which', () => {
    const t = raw();
    const bicycle = t.classes[1] as { singular: string[] };
    t.classes[1] = { ...bicycle, singular: [...bicycle.singular, 'man'] };
    expect(() => parseWordTable(t, 'x.json')).toThrow(/entry 1: bicycle\): "man" is also listed under "person"/);
    expect(parseWordTable({ ...t, precedence: { man: 'bicycle' } }).senses.get('man')?.label).toBe('bicycle');
    expect(parseWordTable({ ...t, precedence: { man: 'person' } }).senses.get('man')?.label).toBe('person');
    expect(() => parseWordTable({ ...t, precedence: { man: 'unicorn' } }, 'x.json')).toThrow(/unknown class "unicorn"/);
  });

  it('refuses words that are not lower-case single-spaced', () => {
    const t = raw();
    t.classes[0] = { ...t.classes[0], plural: ['People'] };
    expect(() => parseWordTable(t, 'x.json')).toThrow(/entry 0: person\).*lower-case words/);
  });
});
