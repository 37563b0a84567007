import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import type { VqaConfig } from '../../src/vqa/config.js';
import { MAX_QUESTION_CHARS } from '../../src/vqa/question.js';
import { VqaModel } from '../../src/vqa/model.js';
import type { VqaReply } from '../../src/vqa/reply.js';
import { VqaService } from '../../src/vqa/service.js';
import { jpeg } from './images.js';

const ANSWERS = ['yes', 'no', 'dog', 'horse', 'red', 'two'];

/** Untrained models with the real encoder's width: the route's plumbing, not answer quality. */
function tinyConfig(name: string, encoder: Encoder): VqaConfig {
  return {
    kind: 'vqa',
    arch: name === 'bow' ? 'img-bow' : 'vis-lstm',
    name,
    version: '0',
    encoder: encoder.name,
    featureDim: encoder.dim,
    embedDim: 8,
    hiddenDim: 8,
    dropout: 0,
    maxQuestionWords: 12,
    minWordCount: 1,
    questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'what', 'is', 'the', 'man', 'riding'],
    answers: ANSWERS,
  };
}

let dir: string;
let encoder: Encoder;
let service: VqaService;
let app: FastifyInstance;
let photo: Buffer;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  encoder = await loadEncoder('mobilenet_v2', 'models');
  dir = await mkdtemp(path.join(os.tmpdir(), 'vqa-route-'));
  for (const name of ['lstm', 'bow']) {
    const m = VqaModel.init(tinyConfig(name, encoder), 5);
    await m.save(path.join(dir, 'vqa', name));
    m.dispose();
  }
  service = await VqaService.load(dir, { shared: [encoder], preferred: 'lstm' });
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), vqa: service });
  await app.ready();
  photo = await jpeg();
}, 120_000);

afterAll(async () => {
  await app?.close();
  service?.dispose();
  encoder?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const post = (url = '/vqa') => request(app.server).post(url);

function vqaBody(res: Response): VqaReply {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as VqaReply;
}

function expectError(res: Response, status: number, code: string): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error?: { code?: unknown; message?: unknown } };
  expect(body.error?.code).toBe(code);
  return String(body.error?.message);
}

describe('POST /vqa', () => {
  it('multipart: image and question fields → ranked answers with probabilities', async () => {
    const body = vqaBody(
      await post()
        .field('question', 'What is the man riding?')
        .field('top_k', '4')
        .attach('image', photo, { filename: 'a.jpg', contentType: 'image/jpeg' }),
    );
    expect(body.question).toBe('What is the man riding?');
    expect(body.answers).toHaveLength(4);
    for (const a of body.answers) expect(ANSWERS).toContain(a.answer);
    const scores = body.answers.map((a) => a.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);
    expect(body.model).toEqual({ name: 'lstm', version: '0' });
    expect(body.backend).toBe(currentBackend());
    expect(body.unknown_words).toEqual([]);
    for (const k of ['decode_image', 'encode', 'answer', 'total'] as const) expect(body.timings_ms[k]).toBeGreaterThanOrEqual(0);
  });

  it('JSON with base64, another model, unknown words reported; top_k capped by the answer count', async () => {
    const body = vqaBody(
      await post().send({ image: photo.toString('base64'), question: 'what is the zebra eating', model: 'bow', top_k: 20 }),
    );
    expect(body.model.name).toBe('bow');
    expect(body.unknown_words).toEqual(['zebra', 'eating']);
    expect(body.answers).toHaveLength(ANSWERS.length);
    expect(body.answers.reduce((s, a) => s + a.score, 0)).toBeCloseTo(1, 3);
  });

  it('raw image body with the question in the query string; same image and question → same answers', async () => {
    const ask = () => post('/vqa?question=what%20is%20the%20man%20riding').set('content-type', 'image/jpeg').send(photo);
    const [a, b] = [vqaBody(await ask()), vqaBody(await ask())];
    expect(a.answers).toHaveLength(3);
    expect(b.answers).toEqual(a.answers);
  });

  it('refuses bad questions and options with 400 and a message saying what to fix', async () => {
    const send = (fields: Record<string, unknown>) => post().send({ image: photo.toString('base64'), ...fields });
    expect(expectError(await send({}), 400, 'invalid_request')).toMatch(/question: is required/);
    expect(expectError(await send({ question: 42 }), 400, 'invalid_request')).toMatch(/question: must be a string/);
    expect(expectError(await send({ question: 'x'.repeat(MAX_QUESTION_CHARS + 1) }), 400, 'invalid_request')).toMatch(
      /at most 200 characters/,
    );
    expect(expectError(await send({ question: 'what is <script>?' }), 400, 'invalid_request')).toMatch(/got "<" ">"/);
    expect(expectError(await send({ question: 'what\u0000 is it' }), 400, 'invalid_request')).toMatch(/letters, digits/);
    expect(expectError(await send({ question: ' ?? ' }), 400, 'invalid_request')).toMatch(/at least one word/);
    expect(expectError(await send({ question: 'what?', model: 'gpt' }), 400, 'invalid_request')).toMatch(/model: must be one of bow, lstm/);
    expect(expectError(await send({ question: 'what?', top_k: 0 }), 400, 'invalid_request')).toMatch(
      /top_k: must be an integer from 1 to 20/,
    );
    expect(expectError(await send({ question: 'what?', topk: 2 }), 400, 'invalid_request')).toMatch(/unknown field\(s\): topk/);
    expectError(await post().send({ question: 'what?' }), 400, 'missing_image');
    expectError(await send({ question: 'what?', image: 'bm90IGFuIGltYWdl' }), 415, 'unsupported_image');
  });

  it('numTensors is unchanged after 15 requests, failures included', async () => {
    const ask = (i: number) =>
      post()
        .field('question', `what is the man riding ${i}`)
        .field('model', i % 2 ? 'bow' : 'lstm')
        .attach('image', photo, { filename: 'a.jpg', contentType: 'image/jpeg' });
    vqaBody(await ask(0));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 15; i++) vqaBody(await ask(i));
    await post()
      .field('question', 'what?')
      .attach('image', photo.subarray(0, photo.length >> 1), { filename: 'a.jpg', contentType: 'image/jpeg' });
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('is documented in the OpenAPI document and listed in /health', async () => {
    const doc = (await request(app.server).get('/openapi.json')).body as { paths: Record<string, { post?: unknown }> };
    expect(doc.paths['/vqa']?.post).toBeDefined();
    const health = (await request(app.server).get('/health')).body as { models: Record<string, { name: string }> };
    expect(Object.keys(health.models).sort()).toEqual(['vqa/bow', 'vqa/lstm']);
  });
});
