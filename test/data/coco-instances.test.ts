import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCocoInstanceCounts, loadCocoInstances, parseCocoInstanceCounts, parseCocoInstances } from '../../src/data/coco-instances.js';

// COCO's ids have gaps (no 12): labels must come from the names, not from id - 1.
const categories = [
  { supercategory: 'person', id: 1, name: 'person' },
  { supercategory: 'animal', id: 18, name: 'dog' },
  { supercategory: 'outdoor', id: 13, name: 'stop sign' },
];

describe('COCO instances', () => {
  it('groups annotated classes by image, mapping category ids to labels by name', () => {
    const raw = {
      images: [{ id: 1, file_name: 'a.jpg' }, { id: 2 }, { id: 3 }],
      categories,
      annotations: [
        { id: 100, image_id: 1, category_id: 18, bbox: [0, 0, 1, 1] },
        { id: 101, image_id: 1, category_id: 18 },
        { id: 102, image_id: 1, category_id: 1, iscrowd: 1 },
        { id: 103, image_id: 2, category_id: 13 },
      ],
    };
    const byImage = parseCocoInstances(raw);
    expect(byImage.get(1)).toEqual(new Set(['dog', 'person']));
    expect(byImage.get(2)).toEqual(new Set(['stop sign']));
    // Listed without annotations: known to hold none of the classes.
    expect(byImage.get(3)).toEqual(new Set());
    expect(byImage.has(4)).toBe(false);
  });

  it('counts instances per image and class; a crowd region marks the count as a lower bound', () => {
    const raw = {
      images: [{ id: 1 }, { id: 2 }],
      categories,
      annotations: [
        { image_id: 1, category_id: 18 },
        { image_id: 1, category_id: 18, iscrowd: 0 },
        { image_id: 1, category_id: 1 },
        { image_id: 1, category_id: 1, iscrowd: 1 },
        { image_id: 5, category_id: 13 },
      ],
    };
    const counts = parseCocoInstanceCounts(raw);
    expect(counts.get(1)).toEqual(
      new Map([
        ['dog', { count: 2, crowd: false }],
        ['person', { count: 1, crowd: true }],
      ]),
    );
    expect(counts.get(2)).toEqual(new Map());
    // Not in `images`, still annotated.
    expect(counts.get(5)).toEqual(new Map([['stop sign', { count: 1, crowd: false }]]));
    expect(() => parseCocoInstanceCounts({ categories, annotations: [{ image_id: 1, category_id: 1, iscrowd: 2 }] }, 'x.json')).toThrow(
      /x\.json is not valid COCO instances JSON: annotations\.0\.iscrowd/,
    );
  });

  it('rejects a category outside the 80 classes and an annotation of an unknown category', () => {
    expect(() => parseCocoInstances({ categories: [{ id: 1, name: 'hoverboard' }], annotations: [] }, 'x.json')).toThrow(
      /x\.json: category 1 "hoverboard"/,
    );
    expect(() => parseCocoInstances({ categories, annotations: [{ image_id: 1, category_id: 99 }] }, 'x.json')).toThrow(
      /unknown category_id 99/,
    );
  });

  it('rejects a file without categories or with malformed annotations, naming the file', () => {
    expect(() => parseCocoInstances({ annotations: [] }, 'x.json')).toThrow(/x\.json is not valid COCO instances JSON: categories/);
    expect(() => parseCocoInstances({ categories, annotations: [{ image_id: 1 }] }, 'x.json')).toThrow(/category_id/);
  });

  it('reads a file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'coco-instances-'));
    const file = path.join(dir, 'instances.json');
    await writeFile(file, JSON.stringify({ categories, annotations: [{ image_id: 7, category_id: 1 }] }));
    expect((await loadCocoInstances(file)).get(7)).toEqual(new Set(['person']));
    expect((await loadCocoInstanceCounts(file)).get(7)).toEqual(new Map([['person', { count: 1, crowd: false }]]));
    await expect(loadCocoInstances(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read COCO instances file/);
  });
});
