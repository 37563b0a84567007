/**
 * The README's screenshot of the page (docs/screenshot.png): the server with
 * the shipped models, a real photo captioned, a question answered and text
 * generated, in headless Chromium (Debian's chromium, driven by playwright-core).
 * The detected objects' boxes appear when the /caption reply carries them.
 *
 *   npx tsx scripts/screenshot.ts [--photo test/fixtures/photos/skateboarder.jpg] [--out docs/screenshot.png]
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CaptionService } from '../src/caption/service.js';
import { CharService } from '../src/char/service.js';
import { cli } from '../src/cli/main.js';
import { currentBackend, initBackend, parseBackendName } from '../src/nn/backend.js';
import { buildApp } from '../src/server/app.js';
import { log } from '../src/log.js';
import { loadConfig } from '../src/app/config.js';
import { VqaService } from '../src/vqa/service.js';

const args = cli({
  usage: 'npx tsx scripts/screenshot.ts',
  summary: "Take the README's screenshot of the page with a real photo, its captions and objects, answers and generated text.",
  example: 'npx tsx scripts/screenshot.ts --photo test/fixtures/photos/skateboarder.jpg --out docs/screenshot.png',
  options: {
    photo: { type: 'string', default: 'test/fixtures/photos/skateboarder.jpg', placeholder: 'file', description: 'the photo to caption' },
    question: { type: 'string', default: 'what is the man riding?', placeholder: 'text', description: 'the question asked about it' },
    prime: { type: 'string', default: 'ROMEO:', placeholder: 'text', description: 'prime text for generation' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
    out: { type: 'string', default: 'docs/screenshot.png', placeholder: 'file', description: 'PNG written' },
    width: { type: 'number', int: true, min: 320, max: 3000, default: 1200, description: 'viewport width in CSS pixels' },
    chromium: {
      type: 'string',
      default: '/usr/bin/chromium',
      placeholder: 'file',
      description: 'Chromium executable (apt-get install -y chromium)',
    },
  },
});

if (!existsSync(args.photo)) throw new Error(`--photo ${args.photo} does not exist`);
if (!existsSync(args.chromium)) throw new Error(`no Chromium at ${args.chromium}: apt-get install -y chromium, or pass --chromium`);

const config = loadConfig({});
log.level = 'warn';
await initBackend(parseBackendName(process.env.TF_BACKEND));
const caption = await CaptionService.load(args.models);
const vqa = await VqaService.load(args.models, { shared: [caption.encoder], preferred: config.VQA_DEFAULT_MODEL });
const generate = await CharService.load(args.models);
const app = await buildApp({ config, backend: currentBackend(), caption, vqa, generate });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const browser = await chromium.launch({ executablePath: args.chromium, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: args.width, height: 1600 } });
  await page.goto(base);
  await page.locator('#models .card').first().waitFor();
  await page.setInputFiles('#photo-input', args.photo);
  await page.locator('#captions li').first().waitFor();
  await page.fill('#ask-form input[name=question]', args.question);
  await page.click('#ask-form button[type=submit]');
  await page.locator('#answers li').first().waitFor();
  await page.fill('#generate-form textarea[name=prime]', args.prime);
  await page.fill('#generate-form input[name=length]', '160');
  await page.fill('#generate-form input[name=seed]', '7');
  await page.click('#generate-form button[type=submit]');
  await page.locator('#generate-status', { hasText: 'Done' }).waitFor();
  // The photo and text sections (the models view below is on the model cards already), from the page's top.
  await page.evaluate(() => window.scrollTo(0, 0));
  const top = (await page.locator('header').boundingBox())!;
  const end = (await page.locator('#generate-section').boundingBox())!;
  await page.screenshot({ path: args.out, clip: { x: 0, y: top.y, width: args.width, height: end.y + end.height + 12 - top.y } });
  console.log(
    `${args.out}: ${await page.locator('#captions li').count()} captions, ${await page.locator('#boxes g').count()} objects drawn`,
  );
} finally {
  await browser.close();
  await app.close();
  caption.dispose();
  vqa.dispose();
  generate.dispose();
}
