import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wups } from '../../src/eval/wups.js';

/**
 * test/fixtures/wordnet is a hand-written WordNet in the real dict format
 * (index.noun, data.noun with byte offsets, noun.exc). Its noun taxonomy, with
 * NLTK depths (root 0):
 *
 *   entity
 *   ├─ object
 *   │   ├─ animal
 *   │   │   ├─ carnivore
 *   │   │   │   ├─ dog   (also @ pet; instance: Rex)
 *   │   │   │   └─ cat
 *   │   │   ├─ horse
 *   │   │   ├─ mouse (sense 1, rodent)
 *   │   │   └─ pet   (also @ object directly: min_depth 2, max_depth 3)
 *   │   └─ artifact
 *   │       ├─ mouse (sense 2, computer_mouse)
 *   │       ├─ keyboard
 *   │       └─ fire_hydrant (fireplug, hydrant)
 *   └─ abstraction
 *       └─ color
 *           ├─ red
 *           └─ blue
 *
 * wup = 2·D / (len1 + len2 + 2·D), D = max_depth(subsumer) + 1.
 */
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'wordnet');

let w: Wups;
beforeAll(async () => {
  w = await Wups.load(FIXTURE);
});

describe('Wups.similarity (Wu-Palmer, NLTK conventions) on the fixture WordNet', () => {
  it('is 1 for identical words, also ones WordNet does not know', () => {
    expect(w.similarity('dog', 'dog')).toBe(1);
    expect(w.similarity('Zebra', 'zebra ')).toBe(1);
  });

  it('is 1 for two lemmas of the same synset', () => {
    expect(w.similarity('dog', 'domestic_dog')).toBe(1);
    expect(w.similarity('red', 'redness')).toBe(1);
  });

  it('matches hand-computed values', () => {
    // LCS carnivore: D = 3 + 1 = 4, len 1 and 1: 8 / 10
    expect(w.similarity('dog', 'cat')).toBeCloseTo(0.8, 12);
    // LCS animal: D = 3; dog→animal 2 (via carnivore or pet), horse→animal 1: 6 / 9
    expect(w.similarity('dog', 'horse')).toBeCloseTo(6 / 9, 12);
    // LCS color: D = 3, len 1 and 1: 6 / 8
    expect(w.similarity('red', 'blue')).toBeCloseTo(0.75, 12);
    // Only entity in common: D = 1; red→entity 3, dog→entity 3 (via pet): 2 / 8
    expect(w.similarity('red', 'dog')).toBeCloseTo(0.25, 12);
    // Instance hypernym: Rex @i dog. LCS carnivore: D = 4, len 2 and 1: 8 / 11
    expect(w.similarity('rex', 'cat')).toBeCloseTo(8 / 11, 12);
  });

  it('maximises over the noun senses of both words', () => {
    // mouse#1 (rodent) vs keyboard: LCS object, D = 2, len 2 and 2: 4/8 = 0.5
    // mouse#2 (computer mouse) vs keyboard: LCS artifact, D = 3, len 1 and 1: 6/8
    expect(w.similarity('mouse', 'keyboard')).toBeCloseTo(0.75, 12);
    // mouse#1 vs cat: LCS animal, D = 3, len 1 and 2: 6/9 (mouse#2 gives 4/9)
    expect(w.similarity('mouse', 'cat')).toBeCloseTo(6 / 9, 12);
  });

  it("follows NLTK's subsumer choice: greatest min_depth, ties by name, `self` preferred", () => {
    // dog and pet share pet and animal, both with min_depth 2. With dog as `self`
    // the subsumer is the first by name, animal.n.01: D = 3, dog→animal 2,
    // pet→animal 1: 6/9. With pet as `self`, pet itself: D = max_depth 3 + 1 = 4,
    // len 0 and 1: 8/9.
    expect(w.similarity('dog', 'pet')).toBeCloseTo(6 / 9, 12);
    expect(w.similarity('pet', 'dog')).toBeCloseTo(8 / 9, 12);
  });

  it('is 0 when a word has no noun sense', () => {
    expect(w.similarity('zebra', 'dog')).toBe(0);
    expect(w.similarity('dog', 'running')).toBe(0);
    expect(w.similarity('', 'dog')).toBe(0);
  });

  it('lemmatises plurals: suffix rules and noun.exc', () => {
    expect(w.lemmas('dogs')).toEqual(['dog']);
    expect(w.lemmas('Mice')).toEqual(['mouse']);
    expect(w.lemmas('zebras')).toEqual([]);
    expect(w.similarity('dogs', 'cat')).toBeCloseTo(0.8, 12);
    expect(w.similarity('dogs', 'dog')).toBe(1);
    expect(w.similarity('mice', 'keyboard')).toBeCloseTo(0.75, 12);
  });

  it('reads multi-word answers as WordNet collocations', () => {
    expect(w.similarity('Fire  Hydrant', 'fireplug')).toBe(1);
    expect(w.similarity('fire hydrant', 'keyboard')).toBeCloseTo(0.75, 12);
  });
});

describe('Wups.score (WUPS@threshold)', () => {
  it('keeps scores at or above the threshold and scales the others by 0.1', () => {
    expect(w.score('cat', 'dog', 0.9)).toBeCloseTo(0.08, 12);
    expect(w.score('cat', 'dog', 0.0)).toBeCloseTo(0.8, 12);
    expect(w.score('keyboard', 'mouse', 0.75)).toBeCloseTo(0.75, 12);
    expect(w.score('keyboard', 'mouse', 0.76)).toBeCloseTo(0.075, 12);
  });

  it('is 1 for the right answer at any threshold, 0 for unknown words', () => {
    expect(w.score('dog', 'dog', 0.9)).toBe(1);
    expect(w.score('dogs', 'dog', 0.9)).toBe(1);
    expect(w.score('zebra', 'dog', 0.0)).toBe(0);
  });

  it('passes the ground truth as `self`, like calculate_wups.py', () => {
    expect(w.score('pet', 'dog', 0.0)).toBeCloseTo(6 / 9, 12);
    expect(w.score('dog', 'pet', 0.0)).toBeCloseTo(8 / 9, 12);
  });

  it('scores comma-separated answer sets as min of the two products', () => {
    // gt {dog}, pred {cat, dog}: gt side max(0.8, 1) = 1; pred side 0.8 · 1
    expect(w.score('cat, dog', 'dog', 0.0)).toBeCloseTo(0.8, 12);
    expect(w.score('dog,cat', 'cat , dog', 0.9)).toBe(1);
  });
});

describe('Wups.load', () => {
  let bare: string;
  beforeAll(async () => {
    bare = await mkdtemp(path.join(tmpdir(), 'wordnet-noexc-'));
    for (const f of ['index.noun', 'data.noun']) await copyFile(path.join(FIXTURE, f), path.join(bare, f));
  });
  afterAll(async () => {
    await rm(bare, { recursive: true, force: true });
  });

  it('loads a directory once', async () => {
    expect(await Wups.load(FIXTURE)).toBe(w);
  });

  it('falls back to built-in irregular plurals when there is no noun.exc', async () => {
    const b = await Wups.load(bare);
    expect(b).not.toBe(w);
    expect(b.lemmas('mice')).toEqual(['mouse']);
    expect(b.similarity('mice', 'keyboard')).toBeCloseTo(0.75, 12);
  });

  it('rejects a directory without WordNet files', async () => {
    await expect(Wups.load(path.join(FIXTURE, 'missing'))).rejects.toThrow(/index\.noun/);
  });
});
