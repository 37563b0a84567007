import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { Readiness } from '../../src/server/routes/health.js';
import { ModelsReplySchema } from '../../src/server/replies.js';
import { tinyConfig } from '../char/helpers.js';

// Operator routes against a real server on loopback: probes, /models, request ids.

const METRICS = { val: { bitsPerChar: 2.5 } };
let service: CharService;
let app: FastifyInstance;
let readiness: Readiness;
let base: string;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = CharService.fromModel(CharModel.init(tinyConfig({ name: 'char-ops', version: '7', metrics: METRICS }), 1));
  readiness = new Readiness();
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service, readiness });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

interface ErrorReply {
  error: { code: string; message: string };
}

describe('health probes', () => {
  it('GET /health/live answers 200 live', async () => {
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'live' });
  });

  it('GET /health/ready: 200 with the loaded models, 503 in the error shape while draining', async () => {
    const ok = await fetch(`${base}/health/ready`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready', models: ['generate'] });
    readiness.draining = true;
    try {
      const res = await fetch(`${base}/health/ready`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = (await res.json()) as ErrorReply;
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toMatch(/shutting down/);
      // Liveness and the plain /health do not change.
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      readiness.draining = false;
    }
  });

  it('app.close() marks the app draining before it stops listening', async () => {
    const r = new Readiness();
    const other = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service, readiness: r });
    await other.ready();
    expect(r.draining).toBe(false);
    await other.close();
    expect(r.draining).toBe(true);
  });

  it('no model loaded: not ready', async () => {
    const bare = await buildApp({ config: loadConfig({}), backend: currentBackend() });
    try {
      const res = await bare.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json<ErrorReply>().error.code).toBe('not_ready');
    } finally {
      await bare.close();
    }
  });
});

describe('GET /models', () => {
  it('lists each loaded model with kind, vocabulary size and its card scores', async () => {
    const res = await fetch(`${base}/models`);
    expect(res.status).toBe(200);
    const body = ModelsReplySchema.parse(await res.json());
    expect(body.models).toEqual([
      { task: 'generate', name: 'char-ops', version: '7', kind: 'char-rnn', vocab_size: service.model.vocab.size, metrics: METRICS },
    ]);
  });
});

describe('request ids', () => {
  it('echoes a valid X-Request-Id, on success and on errors', async () => {
    for (const [path, status] of [
      ['/health', 200],
      ['/nope', 404],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers: { 'x-request-id': 'abc-123.x:y_z' } });
      expect(res.status).toBe(status);
      expect(res.headers.get('x-request-id')).toBe('abc-123.x:y_z');
    }
    const bad = await fetch(`${base}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
      body: '{',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-request-id')).toBe('r1');
  });

  it('replaces a missing, long or unsafe id with a fresh UUID', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const seen = new Set<string>();
    for (const given of [undefined, 'x'.repeat(65), 'a b', 'a"b', '<script>']) {
      const res = await fetch(`${base}/health`, { headers: given === undefined ? {} : { 'x-request-id': given } });
      const id = res.headers.get('x-request-id') ?? '';
      expect(id, String(given)).toMatch(uuid);
      seen.add(id);
    }
    expect(seen.size).toBe(5);
  });
});
