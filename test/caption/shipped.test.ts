import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { CaptionService } from '../../src/caption/service.js';
import { initBackend } from '../../src/nn/backend.js';

/**
 * The shipped caption model on real photos unlike Flickr8k (COCO, see
 * test/fixtures/photos/README.md): with the API's default options, the best
 * caption names the photo's main object (what every COCO reference caption
 * names), through a word tied to its detection. Before grounding the model
 * wrote "two dogs are running through the snow" for the horses.
 */
const PHOTOS: [string, string][] = [
  ['horses', 'horse'],
  ['zebra', 'zebra'],
  ['bus', 'bus'],
  ['skateboarder', 'skateboard'],
];

let service: CaptionService;
beforeAll(async () => {
  await initBackend();
  service = await CaptionService.load('models');
}, 60_000);
afterAll(() => service?.dispose());

describe('shipped caption model on real photos', () => {
  it.each(PHOTOS)('%s: the best caption names the %s the detector found', async (name, label) => {
    const reply = await service.caption(await readFile(`test/fixtures/photos/${name}.jpg`), DEFAULT_CAPTION_SEARCH);
    const index = reply.objects.findIndex((o) => o.label === label);
    expect(index, `the detector found no ${label}`).toBeGreaterThanOrEqual(0);
    const best = reply.captions[0]!;
    expect(
      best.words.some((w) => w.object === index),
      `"${best.text}" does not name the ${label}`,
    ).toBe(true);
  });
});
