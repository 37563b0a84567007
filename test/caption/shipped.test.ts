import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { CaptionService } from '../../src/caption/service.js';
import { initBackend } from '../../src/nn/backend.js';

/**
 * The shipped caption model on real photos unlike Flickr8k (COCO, see
 * test/fixtures/photos/README.md): with the API's default options, the best
 * caption names the object the detector is surest of. Before grounding the
 * model wrote "dogs in the snow" for horses and zebras.
 */
const PHOTOS = ['horses', 'zebra', 'bus'];

let service: CaptionService;
beforeAll(async () => {
  await initBackend();
  service = await CaptionService.load('models');
}, 60_000);
afterAll(() => service?.dispose());

describe('shipped caption model on real photos', () => {
  it.each(PHOTOS)('%s: the best caption names the most confident detected object', async (name) => {
    const reply = await service.caption(await readFile(`test/fixtures/photos/${name}.jpg`), DEFAULT_CAPTION_SEARCH);
    const [top] = reply.objects;
    expect(top, 'the detector found nothing').toBeDefined();
    const best = reply.captions[0]!;
    const index = reply.objects.indexOf(top!);
    expect(
      best.words.some((w) => w.object === index),
      `"${best.text}" does not name ${top!.label}`,
    ).toBe(true);
  });
});
