import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { VqaReplySchema, type Evidence } from '../../src/vqa/reply.js';
import { ONE_CLIENT, tinyServices, type TinyServices } from '../server/tiny-services.js';

/**
 * An answer's evidence over the photo, in headless Chromium (as page.test.ts:
 * Debian's chromium, driven by playwright-core): the page is served by the
 * tiny test services, and its POST /vqa answered with the server's real reply
 * plus an evidence region on the first two answers (the tiny model has no
 * attention over regions). Hovering or focusing an answer draws its region
 * where the fractions say; leaving it, or moving the focus on, removes it.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`test/web/evidence.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);

const PHOTO = 'test/fixtures/photos/skateboarder.jpg';
// A screenshot lands here (gitignored) for a person to look at after a run.
const SHOTS = '.cache/web-test';

/** Two regions that differ in every coordinate, for the first two answers. */
const EVIDENCE: [Evidence, Evidence] = [
  { box: [0.3, 0.25, 0.25, 0.6], label: 'person', weight: 0.62 },
  { box: [0.55, 0.7, 0.4, 0.2], label: 'skateboard', weight: 0.41 },
];

describe.skipIf(!hasChromium)('answer evidence in headless Chromium', () => {
  let services: TinyServices;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base: string;
  const problems: string[] = [];

  beforeAll(async () => {
    await initBackend(parseBackendName(process.env.TF_BACKEND));
    services = await tinyServices();
    const { caption, vqa, generate } = services;
    app = await buildApp({ config: loadConfig({ ...ONE_CLIENT }), backend: currentBackend(), caption, vqa, generate });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
    await page.goto(base);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await services?.dispose();
  });

  /** The evidence group drawn over the photo: its answer, rect (in the SVG's pixels, those of the photo) and label. */
  const drawn = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('#boxes g.evidence')].map((g) => {
        const rect = g.querySelector('rect')!;
        const n = (a: string) => Number(rect.getAttribute(a));
        return {
          answer: g.getAttribute('data-answer'),
          rect: { x: n('x'), y: n('y'), width: n('width'), height: n('height') },
          label: g.querySelector('text')?.textContent,
          lit: g.classList.contains('hot') && getComputedStyle(rect).stroke === 'rgb(255, 159, 26)', // --focus
        };
      }),
    );

  /** What the page should draw for answer i: its box times the photo's own pixels, lit, labelled "label weight". */
  async function expected(i: 0 | 1) {
    const { w, h } = await page.evaluate(() => {
      const img = document.getElementById('photo') as HTMLImageElement;
      return { w: img.naturalWidth, h: img.naturalHeight };
    });
    expect([w, h]).toEqual([320, 214]); // the fixture's size: the photo is decoded
    const { box, label, weight } = EVIDENCE[i];
    const [x, y, bw, bh] = box;
    return [
      { answer: String(i), rect: { x: x * w, y: y * h, width: bw * w, height: bh * h }, label: `${label} ${weight.toFixed(2)}`, lit: true },
    ];
  }

  const hotAnswers = () => page.locator('#answers li.hot').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-answer')));

  it('hovering or focusing an answer draws its evidence box over the photo; leaving or blurring it removes the box', async () => {
    await page.setInputFiles('#photo-input', PHOTO);
    const ask = page.locator('#ask-form button[type=submit]');
    await expect.poll(() => ask.isEnabled()).toBe(true);

    // The real reply (route.fetch() loses the multipart body: asked for again, as a raw JPEG body),
    // with evidence on the first two answers, checked against the route's own reply schema.
    const photo = await readFile(PHOTO);
    await page.route('**/vqa', async (route) => {
      const question = encodeURIComponent('what is the man doing?');
      const res = await fetch(`${base}/vqa?question=${question}&top_k=5`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: photo,
      });
      const reply = VqaReplySchema.parse(await res.json());
      const answers = reply.answers.map((a, i) => (i < EVIDENCE.length ? { ...a, evidence: EVIDENCE[i] } : a));
      await route.fulfill({ status: res.status, json: VqaReplySchema.parse({ ...reply, answers }) });
    });
    try {
      await ask.click();
      const bars = page.locator('#answers li');
      await expect.poll(() => bars.count(), { timeout: 20_000 }).toBe(5);
      expect(await drawn()).toEqual([]);

      // Hover: answer 1's box, where its fractions say, lit; its bar lit too.
      await bars.nth(0).hover();
      expect(await drawn()).toEqual(await expected(0));
      expect(await hotAnswers()).toEqual(['0']);
      const img = (await page.locator('#photo').boundingBox())!;
      const shown = (await page.locator('#boxes g.evidence rect').boundingBox())!;
      expect(shown.x - img.x).toBeCloseTo(0.3 * img.width, -1);
      expect(shown.width).toBeCloseTo(0.25 * img.width, -1);
      await page.mouse.move(0, 0);
      expect(await drawn()).toEqual([]);
      expect(await hotAnswers()).toEqual([]);

      // An answer without evidence: no box, and no tab stop.
      await bars.nth(2).hover();
      expect(await drawn()).toEqual([]);
      expect(await bars.nth(2).getAttribute('tabindex')).toBeNull();
      await page.mouse.move(0, 0);

      // Keyboard: Tab from the Ask button reaches answer 1, then answer 2, whose box replaces the first.
      await ask.focus();
      await page.keyboard.press('Tab');
      expect(await drawn()).toEqual(await expected(0));
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-answer'))).toBe('1');
      expect(await drawn()).toEqual(await expected(1));
      expect(await hotAnswers()).toEqual(['1']);
      await mkdir(SHOTS, { recursive: true });
      await page.locator('#photo-section').screenshot({ path: path.join(SHOTS, 'evidence.png') });
      expect(await bars.nth(1).getAttribute('aria-label')).toMatch(/, \d+\.\d%; the model looked most at: skateboard \(weight 0\.41\)$/);
      // Tab on: answer 3 has no evidence (not a tab stop), so the focus leaves the answers and the box goes.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => !!document.activeElement?.closest('#answers'))).toBe(false);
      expect(await drawn()).toEqual([]);
      expect(await hotAnswers()).toEqual([]);
    } finally {
      await page.unroute('**/vqa');
    }
    expect(problems).toEqual([]);
  });
});
