import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { Limiter } from '../../src/server/limiter.js';
import type { ServiceSet } from '../../src/app/services.js';
import { ModelRegistry } from '../../src/server/models.js';
import { ModelsReplySchema } from '../../src/server/replies.js';
import { tinyConfig } from '../char/helpers.js';

// Model reload without dropping requests: POST /admin/reload behind the token,
// a request in flight finishing on the old model, a failed reload keeping the
// old models, and the old models disposed once their last request is done.

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const charService = (version: string) => CharService.fromModel(CharModel.init(tinyConfig({ name: 'char-reload', version }), 1));
const isDisposed = (s: CharService) => Object.values(s.model.params).every((p) => p.isDisposed);

const apps: FastifyInstance[] = [];
const services: CharService[] = [];
beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const s of services) s.dispose();
});

/** An app serving a char model "1"; each reload loads what `next` gives. */
async function reloadable(next: () => Promise<ServiceSet>, env: Record<string, string> = { ADMIN_TOKEN: TOKEN }) {
  const first = charService('1');
  services.push(first);
  const models = new ModelRegistry({ generate: first }, next);
  const limiter = new Limiter(1, 8);
  const app = await buildApp({ config: loadConfig(env), backend: currentBackend(), models, limiter });
  apps.push(app);
  await app.ready();
  return { app, models, limiter, first };
}

const reload = (app: FastifyInstance, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/admin/reload', headers });
const generate = (app: FastifyInstance) =>
  app.inject({ method: 'POST', url: '/generate', payload: { prime: 'the', length: 40, temperature: 0, seed: 1 } });
const version = (res: LightMyRequestResponse) => res.json<{ model: { version: string } }>().model.version;

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  for (const t0 = Date.now(); !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting until ${what}`);
  }
}

function expectError(res: LightMyRequestResponse, status: number, code: string): string {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  return body.error.message;
}

describe('POST /admin/reload', () => {
  it('is absent (404) without ADMIN_TOKEN', async () => {
    const { app } = await reloadable(() => Promise.resolve({ generate: charService('2') }), {});
    expectError(await reload(app), 404, 'not_found');
  });

  it('401 in the error shape without the right bearer token', async () => {
    const { app, models } = await reloadable(() => Promise.resolve({ generate: charService('2') }));
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-but-long-enough' },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ];
    for (const headers of attempts) {
      const res = await reload(app, headers);
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(models.generation).toBe(1);
  });

  it('a request in flight during a reload finishes on the old model, which is disposed after it; later requests get the new one', async () => {
    const { app, limiter, first } = await reloadable(() => {
      const second = charService('2');
      services.push(second);
      return Promise.resolve({ generate: second });
    });
    const expected = await generate(app);
    expect(version(expected)).toBe('1');
    const tensors = tf.memory().numTensors;

    // Hold the one slot, so the next request waits in the queue with the old model leased.
    let open = () => {};
    const held = limiter.run(() => new Promise<void>((resolve) => (open = resolve)));
    const inFlight = generate(app);
    await until('the request is queued', () => limiter.waiting === 1);

    const res = await reload(app);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'reloaded', generation: 2, models: { generate: { name: 'char-reload', version: '2' } } });
    expect(isDisposed(first), 'the old model is still in use').toBe(false);
    const models = ModelsReplySchema.parse((await app.inject({ method: 'GET', url: '/models' })).json());
    expect(models.models.map((m) => m.version)).toEqual(['2']);

    open();
    await held;
    const done = await inFlight;
    expect(done.statusCode, done.body).toBe(200);
    expect(version(done)).toBe('1');
    // Complete and correct: the same text as before the reload (greedy, same seed).
    expect(done.json<{ text: string }>().text).toBe(expected.json<{ text: string }>().text);
    expect(isDisposed(first)).toBe(true);
    // Old model gone, new one (same size) in: no tensor leaked or lost.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(version(await generate(app))).toBe('2');
  });

  it('a stream in flight keeps the old model until its last event', async () => {
    const second = charService('2');
    services.push(second);
    const { app, first } = await reloadable(() => Promise.resolve({ generate: second }));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prime: 'the', length: 2000, stream: true, seed: 3 }),
    });
    const reader = res.body!.getReader();
    const first_chunk = await reader.read();
    expect(first_chunk.done).toBe(false);
    expect((await reload(app)).statusCode).toBe(200);
    let text = new TextDecoder().decode(first_chunk.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const done = /event: done\ndata: (.*)\n/.exec(text)?.[1];
    expect(done, text.slice(-300)).toBeDefined();
    expect((JSON.parse(done ?? '{}') as { model: { version: string } }).model.version).toBe('1');
    expect(text).not.toContain('event: error');
    await until('the old model is disposed', () => isDisposed(first));
  });

  it('a failed reload (corrupt file) keeps the old models and reports the error', async () => {
    const { app, models, first } = await reloadable(() =>
      Promise.reject(new Error('weights file /m/char/weights.bin is truncated: 10 bytes, /m/char/model.json describes 99')),
    );
    const tensors = tf.memory().numTensors;
    const message = expectError(await reload(app), 500, 'reload_failed');
    expect(message).toMatch(/still serving the previous models: weights file \/m\/char\/weights\.bin is truncated/);
    expect(models.generation).toBe(1);
    expect(isDisposed(first)).toBe(false);
    expect(version(await generate(app))).toBe('1');
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('a reload that finds a different set of models is refused: the old stay, what it loaded is disposed', async () => {
    const { app, first } = await reloadable(() => Promise.resolve({}));
    const message = expectError(await reload(app), 500, 'reload_failed');
    expect(message).toMatch(/it found no models, the server serves generate; restart to add or remove models/);
    expect(isDisposed(first)).toBe(false);
    const extra = charService('2');
    const registry = new ModelRegistry({}, () => Promise.resolve({ generate: extra }));
    await expect(registry.reload()).rejects.toThrow(/it found generate, the server serves no models;/);
    expect(isDisposed(extra)).toBe(true);
  });
});

describe('ModelRegistry', () => {
  it('concurrent reloads share one load', async () => {
    let loads = 0;
    const first = charService('1');
    const registry = new ModelRegistry({ generate: first }, () => {
      loads++;
      return Promise.resolve({ generate: charService(String(loads + 1)) });
    });
    const [a, b] = await Promise.all([registry.reload(), registry.reload()]);
    expect(loads).toBe(1);
    expect(a.generation).toBe(2);
    expect(b.generation).toBe(2);
    expect(isDisposed(first)).toBe(true);
    registry.dispose();
    expect(isDisposed(registry.services.generate!)).toBe(true);
  });

  it('without a loader, reload is refused', async () => {
    const s = charService('1');
    services.push(s);
    await expect(new ModelRegistry({ generate: s }).reload()).rejects.toThrow(/cannot reload/);
  });
});
