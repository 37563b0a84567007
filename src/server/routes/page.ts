import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { CaptionService } from '../../caption/service.js';
import type { CharService } from '../../char/service.js';
import { curvesSvg, describeCurves, trainingCurves } from '../../report/curves.js';
import type { VqaService } from '../../vqa/service.js';
import { HttpError } from '../errors.js';
import type { TrainingReply, TrainingSummary } from '../replies.js';

/**
 * The web page at `/` (browser sources in web/). esbuild bundles web/main.ts
 * (and the CSS it imports) in memory when the server starts: a fresh clone
 * serves the page after `npm install && npm start` with no build step, the
 * bundle can never be older than its sources, and nothing is written to disk
 * (the Docker image runs as a user that cannot write to /app). Everything is
 * served from this server (no CDN), so the page works offline.
 */

export const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

export interface PageAssets {
  html: string;
  js: string;
  css: string;
}

/** Bundle the page: index.html as is, main.ts with its imports into one script, its CSS into one sheet. */
export async function buildPage(dir: string = WEB_DIR): Promise<PageAssets> {
  const [html, result] = await Promise.all([
    readFile(path.join(dir, 'index.html'), 'utf8'),
    build({
      entryPoints: { app: path.join(dir, 'main.ts') },
      bundle: true,
      write: false,
      outdir: 'assets',
      format: 'esm',
      target: ['es2022'],
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    }),
  ]);
  const file = (ext: string) => {
    const out = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!out) throw new Error(`the page bundle has no ${ext} file`);
    return out.text;
  };
  return { html, js: file('.js'), css: file('.css') };
}

// One build per process, shared by every app instance (tests build many).
const builds = new Map<string, Promise<PageAssets>>();
function pageAssets(dir: string): Promise<PageAssets> {
  let p = builds.get(dir);
  if (!p) {
    p = buildPage(dir);
    builds.set(dir, p);
    p.catch(() => builds.delete(dir));
  }
  return p;
}

export interface PageRouteOptions {
  caption?: CaptionService;
  vqa?: VqaService;
  generate?: CharService;
  /** Browser sources (tests pass a broken copy). */
  webDir?: string;
}

type Training = { task: TrainingSummary['task']; name: string; training: unknown };

function trainingRecords(opts: PageRouteOptions): Training[] {
  const out: Training[] = [];
  if (opts.caption) out.push({ task: 'caption', name: opts.caption.model.name, training: opts.caption.model.training });
  for (const [name, c] of opts.vqa?.configs() ?? []) out.push({ task: 'vqa', name, training: c.training });
  if (opts.generate) out.push({ task: 'generate', name: opts.generate.model.config.name, training: opts.generate.model.config.training });
  return out;
}

const num = (r: unknown, key: string): number | undefined => {
  const v = typeof r === 'object' && r !== null ? (r as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' ? v : undefined;
};

export const curvesUrl = (task: string, name: string) => `/assets/curves/${task}/${encodeURIComponent(name)}.svg`;

function summarise(t: Training): TrainingSummary {
  const curves = trainingCurves(t.training);
  return {
    task: t.task,
    name: t.name,
    trainingSeconds: num(t.training, 'trainingSeconds'),
    epochsRun: num(t.training, 'epochsRun'),
    examples: num(t.training, 'examples') ?? num(t.training, 'trainChars'),
    ...(curves ? { curves: curvesUrl(t.task, t.name), description: describeCurves(curves) } : {}),
  };
}

// The page loads only what this server sends; camera frames and the chosen photo are blob: URLs.
const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(reply: FastifyReply, type: string, body: string): FastifyReply {
  return reply
    .header('content-type', `${type}; charset=utf-8`)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(body);
}

/** GET /, /assets/app.js, /assets/app.css, /assets/training.json, /assets/curves/:task/:name.svg; left out of the OpenAPI document. */
export const pageRoutes: FastifyPluginAsync<PageRouteOptions> = async (app, opts) => {
  // Awaited here: a page that does not build stops the server at start, not at the first visit.
  const assets = await pageAssets(opts.webDir ?? WEB_DIR);
  const records = trainingRecords(opts);
  const summaries = records.map(summarise);
  const hide = { schema: { hide: true } };

  app.get('/', hide, async (_req, reply) => send(reply, 'text/html', assets.html).header('content-security-policy', CSP));
  app.get('/assets/app.js', hide, async (_req, reply) => send(reply, 'text/javascript', assets.js));
  app.get('/assets/app.css', hide, async (_req, reply) => send(reply, 'text/css', assets.css));
  app.get('/assets/training.json', hide, async (_req, reply) =>
    send(reply, 'application/json', JSON.stringify({ models: summaries } satisfies TrainingReply)),
  );
  app.get<{ Params: { task: string; file: string } }>('/assets/curves/:task/:file', hide, async (req, reply) => {
    const { task, file } = req.params;
    const record = records.find((r) => r.task === task && `${r.name}.svg` === file);
    const curves = record && trainingCurves(record.training);
    if (!record || !curves) throw new HttpError(404, 'not_found', `no training curves for ${task}/${file.slice(0, 100)}`);
    return send(reply, 'image/svg+xml', curvesSvg(curves, `${record.name}: training curves`));
  });
};
