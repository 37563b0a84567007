import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCaptions, parseCoco, parseKarpathy } from '../../src/data/captions.js';

const coco = {
  info: {},
  images: [
    { id: 1, file_name: 'a.jpg', width: 10, height: 10 },
    { id: 2, file_name: 'b.jpg' },
    { id: 3, file_name: 'no-captions.jpg' },
  ],
  annotations: [
    { id: 10, image_id: 1, caption: 'A dog runs. ' },
    { id: 11, image_id: 2, caption: 'A cat.' },
    { id: 12, image_id: 1, caption: 'The dog is running' },
  ],
};

const karpathy = {
  images: [
    { filename: 'x.jpg', filepath: 'val2014', split: 'train', imgid: 0, sentences: [{ tokens: ['a', 'man'], raw: 'A man.' }] },
    { filename: 'y.jpg', split: 'val', imgid: 1, sentences: [{ tokens: ['a', 'boat'], raw: 'A boat' }] },
    { filename: 'z.jpg', split: 'restval', imgid: 2, sentences: [{ tokens: ['sky'], raw: 'Sky' }] },
  ],
};

describe('COCO captions format', () => {
  it('groups annotations by image and drops images without captions', () => {
    const images = parseCoco(coco);
    expect(images).toEqual([
      { id: 1, file: 'a.jpg', captions: ['A dog runs.', 'The dog is running'] },
      { id: 2, file: 'b.jpg', captions: ['A cat.'] },
    ]);
  });

  it('names the broken field', () => {
    expect(() => parseCoco({ images: [{ id: 1 }], annotations: [] }, 'c.json')).toThrow(/c\.json.*images\.0\.file_name/);
    expect(() => parseCoco({ images: [], annotations: [{ image_id: 9, caption: 'x' }] })).toThrow(/unknown image_id 9/);
  });
});

describe('Karpathy split format', () => {
  it('keeps tokens and splits', () => {
    const images = parseKarpathy(karpathy);
    expect(images[0]).toEqual({ id: 0, file: 'x.jpg', captions: ['A man.'], tokens: [['a', 'man']], split: 'train' });
    expect(images.map((i) => i.split)).toEqual(['train', 'val', 'restval']);
  });

  it('loadCaptions detects the format and filters Karpathy splits', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'caps-'));
    await writeFile(path.join(dir, 'k.json'), JSON.stringify(karpathy));
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(coco));
    expect((await loadCaptions(path.join(dir, 'k.json'), ['train', 'restval'])).map((i) => i.file)).toEqual(['x.jpg', 'z.jpg']);
    expect((await loadCaptions(path.join(dir, 'c.json'), ['train'])).length).toBe(2);
    await expect(loadCaptions(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read captions file/);
  });

  it('rejects a file that is neither format', () => {
    expect(() => parseKarpathy({ images: [{ filename: 'x.jpg' }] }, 'bad.json')).toThrow(/bad\.json is not valid Karpathy split JSON/);
  });
});
