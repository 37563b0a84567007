import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { VqaService } from '../../src/vqa/service.js';

/** A 64×64 easy-VQA-like picture drawn here (not a training image): one shape on a pale background. */
function draw(shape: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="rgb(235,240,250)"/>${shape}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

let service: VqaService;
let redCircle: Buffer;
let blueRectangle: Buffer;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = await VqaService.load('models', { preferred: 'easy-vqa' });
  redCircle = await draw('<circle cx="30" cy="34" r="16" fill="rgb(255,0,0)"/>');
  blueRectangle = await draw('<rect x="12" y="20" width="36" height="24" fill="rgb(0,0,255)"/>');
}, 120_000);

afterAll(() => service?.dispose());

async function top(image: Buffer, question: string): Promise<string> {
  const { answers } = await service.answer(image, question, { topK: 1, model: 'easy-vqa' });
  return answers[0]!.answer;
}

describe('the shipped easy-VQA model on freshly drawn shapes', () => {
  it('names colour and shape', async () => {
    expect(await top(redCircle, 'what color is the shape?')).toBe('red');
    expect(await top(blueRectangle, 'what color is the shape?')).toBe('blue');
    expect(await top(redCircle, 'what shape is in the image?')).toBe('circle');
    expect(await top(blueRectangle, 'what shape is in the image?')).toBe('rectangle');
  }, 60_000);

  it('answers yes/no questions that need both the image and the question', async () => {
    expect(await top(redCircle, 'is there a red shape?')).toBe('yes');
    expect(await top(blueRectangle, 'is there a red shape?')).toBe('no');
    expect(await top(redCircle, 'does the image not contain a circle?')).toBe('no');
    expect(await top(blueRectangle, 'does the image not contain a circle?')).toBe('yes');
  }, 60_000);
});

describe('the shipped region VQA model on COCO photos (not its training data)', () => {
  it('counts the horses and shows a horse as its evidence; names the bus among its answers with the bus as evidence', async () => {
    const regions = await VqaService.load('models', { preferred: 'flickr8k-qa-regions' });
    try {
      const ask = async (photo: string, question: string) => {
        const image = await readFile(`test/fixtures/photos/${photo}.jpg`);
        return (await regions.answer(image, question, { topK: 3, model: 'flickr8k-qa-regions' })).answers;
      };
      const horses = await ask('horses', 'how many horses are there ?');
      expect(['two', 'three', 'four']).toContain(horses[0]!.answer);
      expect(horses[0]!.evidence?.label).toBe('horse');
      const bus = await ask('bus', 'what vehicle is in the picture ?');
      const named = bus.find((a) => a.answer === 'bus');
      expect(named).toBeDefined();
      expect(named!.evidence?.label).toBe('bus'); // a pointer answer rests on its own region
    } finally {
      regions.dispose();
    }
  }, 60_000);
});
