import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { tinyConfig } from '../char/helpers.js';

// Rate limiting, load shedding, security headers and CORS, through app.inject
// (remoteAddress stands for distinct clients).

let service: CharService;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = CharService.fromModel(CharModel.init(tinyConfig({ name: 'char-protect', version: '1' }), 1));
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  service?.dispose();
});

async function appWith(env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp({ config: loadConfig(env), backend: currentBackend(), generate: service });
  apps.push(app);
  await app.ready();
  return app;
}

const get = (app: FastifyInstance, url: string, remoteAddress = '10.0.0.1', headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, remoteAddress, headers });

function expectError(res: LightMyRequestResponse, status: number, code: string): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<{ error: { code: string; message: string } }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  return body.error.message;
}

describe('rate limiting', () => {
  it('429 in the error shape with Retry-After once a client passes RATE_LIMIT_MAX; other clients keep theirs', async () => {
    const app = await appWith({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    for (let i = 0; i < 3; i++) expect((await get(app, '/models')).statusCode).toBe(200);
    const res = await get(app, '/models', '10.0.0.1', { 'x-request-id': 'rl-1' });
    const message = expectError(res, 429, 'rate_limited');
    expect(message).toMatch(/at most 3 per 60 s/);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers['x-request-id']).toBe('rl-1');
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    // POST routes count against the same budget.
    expectError(await app.inject({ method: 'POST', url: '/generate', remoteAddress: '10.0.0.1', payload: {} }), 429, 'rate_limited');
    // Another client is not affected.
    expect((await get(app, '/models', '10.0.0.2')).statusCode).toBe(200);
  });

  it('health probes and /metrics are exempt', async () => {
    const app = await appWith({ RATE_LIMIT_MAX: '1' });
    expect((await get(app, '/models')).statusCode).toBe(200);
    expect((await get(app, '/models')).statusCode).toBe(429);
    for (const url of ['/health', '/health/live', '/health/ready', '/metrics']) {
      for (let i = 0; i < 3; i++) expect((await get(app, url)).statusCode, url).toBe(200);
    }
  });

  it('RATE_LIMIT_MAX=0 turns it off', async () => {
    const app = await appWith({ RATE_LIMIT_MAX: '0' });
    for (let i = 0; i < 20; i++) {
      const res = await get(app, '/models');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('with TRUST_PROXY the client is the X-Forwarded-For address, not the proxy', async () => {
    const app = await appWith({ RATE_LIMIT_MAX: '1', TRUST_PROXY: '1' });
    const via = (client: string) => get(app, '/models', '10.9.9.9', { 'x-forwarded-for': client });
    expect((await via('203.0.113.1')).statusCode).toBe(200);
    expect((await via('203.0.113.1')).statusCode).toBe(429);
    expect((await via('203.0.113.2')).statusCode).toBe(200);
  });
});

describe('load shedding', () => {
  it('503 overloaded with Retry-After while over a threshold; probes still answer', async () => {
    // 1 MiB of heap is always exceeded: the first sample (after ~1 s) turns shedding on.
    const app = await appWith({ SHED_HEAP_USED_MIB: '1', RATE_LIMIT_MAX: '0' });
    let res = await get(app, '/models');
    for (let waited = 0; res.statusCode === 200 && waited < 3_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      res = await get(app, '/models');
    }
    expect(expectError(res, 503, 'overloaded')).toMatch(/heap/);
    expect(res.headers['retry-after']).toBe('10');
    expectError(await app.inject({ method: 'POST', url: '/generate', payload: {} }), 503, 'overloaded');
    for (const url of ['/health', '/health/live', '/health/ready', '/metrics']) expect((await get(app, url)).statusCode, url).toBe(200);
  });

  it('thresholds that are not reached let requests through', async () => {
    const app = await appWith({ SHED_HEAP_USED_MIB: '1048576', SHED_RSS_MIB: '1048576' });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await get(app, '/models')).statusCode).toBe(200);
  });
});

describe('security headers', () => {
  it('nosniff and a same-origin CSP on every reply, errors included', async () => {
    const app = await appWith({});
    for (const url of ['/models', '/nope', '/docs']) {
      const res = await get(app, url);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      // It would send the page's scripts to https on a plain-http host.
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('Swagger UI still loads under the CSP: no inline script, every script and stylesheet same-origin and served', async () => {
    const app = await appWith({});
    const page = await get(app, '/docs');
    expect(page.statusCode).toBe(200);
    const html = page.body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    const assets: string[] = [];
    for (const [, attrs = '', inline = ''] of scripts) {
      const src = /\bsrc="([^"]+)"/.exec(attrs)?.[1];
      expect(src, 'an inline <script> is blocked by script-src self').toBeDefined();
      expect(inline.trim()).toBe('');
      assets.push(src ?? '');
    }
    for (const [, href = ''] of html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)) assets.push(href);
    expect(assets.length).toBeGreaterThan(scripts.length);
    for (const src of assets) {
      expect(src, 'same origin').not.toMatch(/^(https?:)?\/\//);
      const url = new URL(src, 'http://x/docs').pathname;
      expect((await get(app, url)).statusCode, url).toBe(200);
    }
    // The UI fetches the spec from the same origin (connect-src 'self').
    expect((await get(app, '/docs/json')).statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
  });
});

describe('CORS', () => {
  const preflight = (app: FastifyInstance, origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/generate',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });

  it('by default no CORS header: browsers allow same-origin calls only', async () => {
    const app = await appWith({});
    const res = await get(app, '/models', '10.0.0.1', { origin: 'https://evil.example' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(app, 'https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CORS_ORIGINS allows the listed origins only, preflight included', async () => {
    const app = await appWith({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    const ok = await get(app, '/models', '10.0.0.1', { origin: 'https://app.example.com' });
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');
    const pre = await preflight(app, 'http://localhost:5173');
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    const other = await get(app, '/models', '10.0.0.1', { origin: 'https://evil.example' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
