import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharService } from '../../src/char/service.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { buildPage, pageRoutes, WEB_DIR } from '../../src/server/routes/page.js';
import Fastify from 'fastify';

// The page's routes without a browser: what a fresh clone serves at / and beside it.
let generate: CharService;
let app: FastifyInstance;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  generate = await CharService.load('models');
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  generate?.dispose();
});

describe('GET / and the page assets', () => {
  it('serves the page, its bundled script and sheet, all from this server', async () => {
    const html = await request(app.server).get('/');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['content-security-policy']).toContain("default-src 'self'");
    expect(html.text).toContain('<script type="module" src="/assets/app.js"></script>');
    // No CDN: every src/href is local.
    expect(
      [...html.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u!.startsWith('/') && !u!.startsWith('#')),
    ).toEqual([]);
    const js = await request(app.server).get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.text).toContain('/caption'); // the bundle holds the page code, not an import of it
    expect(js.text).not.toMatch(/\bimport\s*[{("']/);
    const css = await request(app.server).get('/assets/app.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.text).toContain(':focus-visible');
  });

  it("lists each loaded model's training record and serves its curves as SVG", async () => {
    const res = await request(app.server).get('/assets/training.json');
    const { models } = JSON.parse(res.text) as { models: { task: string; name: string; curves?: string; trainingSeconds?: number }[] };
    const { name } = generate.model.config;
    expect(models).toEqual([expect.objectContaining({ task: 'generate', name, curves: `/assets/curves/generate/${name}.svg` })]);
    expect(models[0]!.trainingSeconds).toBe((generate.model.config.training as { trainingSeconds: number }).trainingSeconds);
    const svg = await request(app.server).get(models[0]!.curves!);
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect((svg.body as Buffer).toString()).toMatch(/^<svg[^>]*>\n<title>char-tinyshakespeare: training curves<\/title>/);
    const missing = await request(app.server).get('/assets/curves/caption/nothing.svg');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'not_found', message: 'no training curves for caption/nothing.svg' } });
  });

  it('is left out of the OpenAPI document', async () => {
    const doc = (await request(app.server).get('/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/assets'))).toEqual([]);
  });
});

describe('buildPage', () => {
  it('a page that does not build stops the server at start, naming the problem', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'web-'));
    try {
      await cp(WEB_DIR, dir, { recursive: true });
      await writeFile(path.join(dir, 'main.ts'), "import './style.css';\nimport { nothing } from './missing';\nnothing();\n");
      await expect(buildPage(dir)).rejects.toThrow(/missing/);
      const bare = Fastify();
      await expect(bare.register(pageRoutes, { webDir: dir }).ready()).rejects.toThrow(/missing/);
      await bare.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
