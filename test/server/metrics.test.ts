import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { Limiter } from '../../src/server/limiter.js';
import { tinyConfig } from '../char/helpers.js';

// GET /metrics holds what an operator watches: tensors alive, the inference
// queue, batch sizes and request latency per route and status.

const VOCAB = CharVocab.build('abcdefghijklmnopqrstuvwxyz .\n');
let service: CharService;
let app: FastifyInstance;
let limiter: Limiter;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = CharService.fromModel(
    CharModel.init(tinyConfig({ name: 'char-metrics', hiddenDim: 8, layers: 1 }, [...VOCAB.chars].join('')), 1),
  );
  limiter = new Limiter(1, 4);
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service, limiter });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

async function scrape(): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body;
}

/** The value of one sample, e.g. value(text, 'x_count', {task: 'vqa'}); undefined when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((l) => have.includes(l))) return Number(m[3]);
  }
  return undefined;
}

const generate = (body: object) => app.inject({ method: 'POST', url: '/generate', payload: body });

describe('GET /metrics', () => {
  it('captioner_tf_tensors is tf.memory().numTensors at scrape time', async () => {
    const before = value(await scrape(), 'captioner_tf_tensors');
    expect(before).toBe(tf.memory().numTensors);
    const extra = tf.zeros([2, 2]);
    try {
      expect(value(await scrape(), 'captioner_tf_tensors')).toBe(before! + 1);
    } finally {
      extra.dispose();
    }
  });

  it('queue depth and running jobs, while requests wait for the only slot', async () => {
    let open = () => {};
    const held = limiter.run(() => new Promise<void>((resolve) => (open = resolve)));
    const queued = [generate({ prime: 'a', length: 3 }), generate({ prime: 'b', length: 3 })];
    try {
      for (let i = 0; i < 250 && limiter.waiting < 2; i++) await new Promise((r) => setTimeout(r, 20));
      const busy = await scrape();
      expect(value(busy, 'captioner_inference_jobs', { state: 'running' })).toBe(1);
      expect(value(busy, 'captioner_inference_jobs', { state: 'waiting' })).toBe(2);
    } finally {
      open(); // a failed check must not leave the slot held for the tests after it
      await held;
    }
    expect((await Promise.all(queued)).map((r) => r.statusCode)).toEqual([200, 200]);
    const idle = await scrape();
    expect(value(idle, 'captioner_inference_jobs', { state: 'running' })).toBe(0);
    expect(value(idle, 'captioner_inference_jobs', { state: 'waiting' })).toBe(0);
  });

  it('batch size: one observation of 1 per inference, by task', async () => {
    const count = async () => value(await scrape(), 'captioner_inference_batch_size_count', { task: 'generate' }) ?? 0;
    const sum = async () => value(await scrape(), 'captioner_inference_batch_size_sum', { task: 'generate' }) ?? 0;
    const [c0, s0] = [await count(), await sum()];
    for (const prime of ['a', 'b', 'c']) expect((await generate({ prime, length: 2 })).statusCode).toBe(200);
    const stream = await generate({ prime: 'a', length: 2, stream: true });
    expect(stream.body).toContain('event: done');
    expect((await generate({ prime: '€' })).statusCode).toBe(400); // refused before inference: not counted
    expect((await count()) - c0).toBe(4);
    expect((await sum()) - s0).toBe(4);
    expect(value(await scrape(), 'captioner_inference_batch_size_bucket', { task: 'generate', le: '1' })).toBe(await count());
  });

  it('request latency histogram per route pattern and status', async () => {
    const labels = (route: string, status: string) => ({ method: 'POST', route, status_code: status });
    const before = await scrape();
    const n = (text: string, route: string, status: string) =>
      value(text, 'captioner_http_request_duration_seconds_count', labels(route, status)) ?? 0;
    expect((await generate({ prime: 'ab', length: 2 })).statusCode).toBe(200);
    expect((await generate({ prime: 'ab', length: -1 })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/nope/123' })).statusCode).toBe(404);
    const after = await scrape();
    expect(n(after, '/generate', '200') - n(before, '/generate', '200')).toBe(1);
    expect(n(after, '/generate', '400') - n(before, '/generate', '400')).toBe(1);
    // Unmatched URLs share one label, so random paths cannot grow the series without bound.
    expect(n(after, 'unmatched', '404') - n(before, 'unmatched', '404')).toBe(1);
    expect(after).not.toContain('/nope/123');
    expect(value(after, 'captioner_http_request_duration_seconds_sum', labels('/generate', '200'))).toBeGreaterThan(0);
  });
});
