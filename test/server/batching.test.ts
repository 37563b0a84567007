import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { captionBatching, decoderBatching } from '../../src/app/services.js';
import { scene } from './images.js';
import { ONE_CLIENT, tinyServices, type TinyServices } from './tiny-services.js';

// Dynamic batching through the HTTP layer: concurrent /caption and /vqa
// requests share encoder runs, concurrent captions share decoder steps, and
// each reply is what it would be alone.

const config = loadConfig({ ...ONE_CLIENT, BATCH_MAX_SIZE: '4', BATCH_MAX_DELAY_MS: '50' });
let plain: TinyServices;
let batched: TinyServices;
let plainApp: FastifyInstance;
let batchedApp: FastifyInstance;
const images: Buffer[] = [];

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  plain = await tinyServices();
  batched = await tinyServices({ ...captionBatching(config), vqaBatch: decoderBatching(config)! });
  plainApp = await buildApp({ config: loadConfig({ ...ONE_CLIENT, BATCH_MAX_SIZE: '1' }), backend: currentBackend(), ...plain });
  batchedApp = await buildApp({ config, backend: currentBackend(), ...batched });
  for (const w of [96, 128, 160, 200, 240]) images.push(await scene(w, 120).jpeg().toBuffer());
}, 120_000);

afterAll(async () => {
  await plainApp?.close();
  await batchedApp?.close();
  await plain?.dispose();
  await batched?.dispose();
});

const caption = (app: FastifyInstance, img: Buffer) =>
  app.inject({ method: 'POST', url: '/caption?mode=greedy', headers: { 'content-type': 'image/jpeg' }, payload: img });
const vqa = (app: FastifyInstance, img: Buffer, question = 'what is the man riding') =>
  app.inject({
    method: 'POST',
    url: `/vqa?question=${encodeURIComponent(question)}`,
    headers: { 'content-type': 'image/jpeg' },
    payload: img,
  });

/** The reply without its timings, which differ run to run. */
function content(body: string): unknown {
  const { timings_ms: _t, ...rest } = JSON.parse(body) as Record<string, unknown>;
  return rest;
}

async function batchSizes(
  app: FastifyInstance,
  task: string,
  metric = 'captioner_inference_batch_size',
): Promise<{ count: number; sum: number }> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const read = (name: string) => Number(new RegExp(`^${name}\\{task="${task}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read(`${metric}_count`), sum: read(`${metric}_sum`) };
}

describe('dynamic batching over HTTP', () => {
  it('groups concurrent /caption and /vqa requests (batches of up to BATCH_MAX_SIZE) and answers each as if alone', async () => {
    const alone: unknown[] = [];
    for (const img of images) alone.push(content((await caption(plainApp, img)).body));
    const aloneVqa = content((await vqa(plainApp, images[0]!)).body);

    const before = tf.memory().numTensors;
    const replies = await Promise.all([...images.map((img) => caption(batchedApp, img)), vqa(batchedApp, images[0]!)]);
    expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 200));
    expect(replies.slice(0, images.length).map((r) => content(r.body))).toEqual(alone);
    expect(content(replies[images.length]!.body)).toEqual(aloneVqa);
    expect(tf.memory().numTensors).toBe(before);

    // 6 requests, at most 4 per batch: every request ran in a batch of more than one, none above 4.
    const c = await batchSizes(batchedApp, 'caption');
    const v = await batchSizes(batchedApp, 'vqa');
    expect(c.count + v.count).toBe(6);
    expect(c.sum + v.sum).toBeGreaterThan(6);
    const text = (await batchedApp.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/captioner_inference_batch_size_bucket\{le="4",task="caption"\} 5\b/);

    // The five captions' decoders stepped together too (lockstep searches), whatever batches the encoder made.
    const d = await batchSizes(batchedApp, 'caption', 'captioner_decoder_batch_size');
    expect(d.count).toBe(5);
    expect(d.sum).toBeGreaterThan(5);

    // Unbatched: every request is a batch of one.
    const p = await batchSizes(plainApp, 'caption');
    expect(p.sum).toBe(p.count);
  });

  it('runs concurrent /vqa questions of different lengths through the question model together, each answered as alone', async () => {
    const questions = ['what color', 'what is the man riding', 'is the man riding the dog', 'what'];
    const alone: unknown[] = [];
    for (const [i, q] of questions.entries()) alone.push(content((await vqa(plainApp, images[i]!, q)).body));
    const before = await batchSizes(batchedApp, 'vqa', 'captioner_decoder_batch_size');
    const replies = await Promise.all(questions.map((q, i) => vqa(batchedApp, images[i]!, q)));
    expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 200));
    expect(replies.map((r) => content(r.body))).toEqual(alone);
    const after = await batchSizes(batchedApp, 'vqa', 'captioner_decoder_batch_size');
    expect(after.count - before.count).toBe(4);
    expect(after.sum - before.sum).toBeGreaterThan(4);
  });
});
