import { describe, expect, it } from 'vitest';
import { SUPERCATEGORIES } from '../../../src/encoder/types.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import {
  COUNT_BUCKETS,
  COUNT_DIM,
  countFeature,
  kindAnswer,
  pointerWords,
  questionClasses,
  questionKind,
  regionSide,
  SIDE_DIM,
  supportedAnswer,
} from '../../../src/vqa/region/inputs.js';
import { det } from './tiny.js';

const table = defaultWordTable();
const dog = 16; // COCO_LABELS index

/** The bucket set at threshold t (0: no class named, 1 + n: n instances, 6: five or more). */
const bucketAt = (f: Float32Array, t: number) => [...f.subarray(t * COUNT_BUCKETS, (t + 1) * COUNT_BUCKETS)].indexOf(1);

describe('region VQA inputs', () => {
  it('finds the classes a question names, people words included', () => {
    expect(questionClasses(table, 'how many dogs are running ?')).toEqual([dog]);
    expect(questionClasses(table, 'how many people are there')).toEqual([0]);
    expect(questionClasses(table, 'what color is the hot dog')).toEqual([52]);
    expect(questionClasses(table, 'what is in the picture')).toEqual([]);
  });

  it('counts the detections of the named class at each threshold, on crafted detections', () => {
    const objects = [det('dog', 0.9), det('dog', 0.5), det('dog', 0.3), det('cat', 0.95), det('dog', 0.15)];
    const f = countFeature([dog], objects);
    expect(f.length).toBe(COUNT_DIM);
    expect(f.reduce((a, v) => a + v, 0)).toBe(2); // one-hot per threshold
    expect(bucketAt(f, 0)).toBe(1 + 3); // ≥ 0.2: three dogs (the cat and the 0.15 dog are not counted)
    expect(bucketAt(f, 1)).toBe(1 + 2); // ≥ 0.4: two
    expect(bucketAt(countFeature([dog], []), 0)).toBe(1); // named, none seen: zero instances
    expect(bucketAt(countFeature([], objects), 0)).toBe(0); // no class named
    const many = Array.from({ length: 9 }, () => det('dog', 0.8));
    expect(bucketAt(countFeature([dog], many), 1)).toBe(6); // five or more share the last bucket
  });

  it("marks the regions whose class the question names, and each region's super-category; the whole image gets zeros", () => {
    const objects = [det('dog', 0.9), det('zebra', 0.8), det('pizza', 0.7)];
    const side = regionSide(table, [dog], objects);
    expect(side.length).toBe(4 * SIDE_DIM);
    const row = (k: number) => [...side.subarray(k * SIDE_DIM, (k + 1) * SIDE_DIM)];
    expect(row(0)[0]).toBe(1);
    expect(row(1)[0]).toBe(0);
    expect(row(1)[1 + SUPERCATEGORIES.indexOf('animal')]).toBe(1);
    expect(row(2)[1 + SUPERCATEGORIES.indexOf('food')]).toBe(1);
    expect(row(3).every((v) => v === 0)).toBe(true);
  });

  it("gives each region its class's singular word", () => {
    expect(pointerWords(table, [det('zebra', 0.9), det('person', 0.5), det('dining table', 0.4)])).toEqual(['zebra', 'person', 'table']);
  });

  it('the answer rule refuses class words no region supports, people words included, and allows other words', () => {
    const allowed = supportedAnswer(table, [det('zebra', 0.8)]);
    expect(allowed('zebra')).toBe(true);
    expect(allowed('dog')).toBe(false);
    expect(allowed('man')).toBe(false);
    expect(allowed('grass')).toBe(true);
    expect(supportedAnswer(table, [det('person', 0.5)])('woman')).toBe(true);
  });

  it('reads the kind a question asks for only after what / which (or "what kind of")', () => {
    expect(questionKind('what animal is in the picture ?')).toBe('animal');
    expect(questionKind('Which vehicles are parked ?')).toBe('vehicle');
    expect(questionKind('what kind of food is on the plate ?')).toBe('food');
    expect(questionKind('where is the animal running ?')).toBeUndefined();
    expect(questionKind('what is the dog eating ?')).toBeUndefined();
  });

  it("the kind rule lets only the kind's class words answer a question that asks for it", () => {
    const animal = kindAnswer(table, 'animal');
    expect(['zebra', 'dogs', 'dog', 'hotdog', 'man', 'grass'].map(animal)).toEqual([true, true, true, false, false, false]);
    expect(kindAnswer(table, 'food')('hotdog')).toBe(true);
    expect(kindAnswer(table, undefined)('grass')).toBe(true);
    // with the regions: their classes of the kind only, where there are any
    const seen = kindAnswer(table, 'animal', [det('zebra', 0.5), det('person', 0.9)]);
    expect(['zebra', 'zebras', 'dog', 'man'].map(seen)).toEqual([true, true, false, false]);
    expect(kindAnswer(table, 'animal', [det('person', 0.9)])('dog')).toBe(true);
  });
});
