import type { FastifyInstance } from 'fastify';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import type { GenerateReply } from '../../src/char/reply.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { loadConfig } from '../../src/app/config.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { Limiter } from '../../src/server/limiter.js';
import { tinyConfig } from '../char/helpers.js';

// A small untrained model: the route's behaviour does not depend on the weights.
const VOCAB = CharVocab.build("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;!?'\n");
let service: CharService;
let app: FastifyInstance;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const model = CharModel.init(tinyConfig({ name: 'char-test', hiddenDim: 16, layers: 2 }, [...VOCAB.chars].join('')), 1);
  service = CharService.fromModel(model);
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

const post = (a: FastifyInstance = app) => request(a.server).post('/generate');

function ok(res: Response): GenerateReply {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as GenerateReply;
}

function expectError(res: Response, status: number, code: string): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error.message;
}

describe('POST /generate', () => {
  it('continues a prime: text, model, backend, seed, timings', async () => {
    const body = ok(await post().send({ prime: 'ROMEO:', length: 50, temperature: 0.7, top_k: 10, seed: 5 }));
    expect([...body.text]).toHaveLength(50);
    for (const c of body.text) expect(VOCAB.has(c)).toBe(true);
    expect(body.model).toEqual({ name: 'char-test', version: '0' });
    expect(body.backend).toBe(currentBackend());
    expect(body.seed).toBe(5);
    expect(body.timings_ms.total).toBeGreaterThanOrEqual(body.timings_ms.generate);
    expect(body.steps).toBeUndefined();
  });

  it('same seed, same text; the drawn seed is echoed so a reply can be reproduced', async () => {
    const a = ok(await post().send({ prime: 'the', length: 80, seed: 123 }));
    const b = ok(await post().send({ prime: 'the', length: 80, seed: 123 }));
    expect(b.text).toBe(a.text);
    const c = ok(await post().send({ prime: 'the', length: 80, seed: 124 }));
    expect(c.text).not.toBe(a.text);
    const random = ok(await post().send({ prime: 'the', length: 80 }));
    expect(Number.isInteger(random.seed)).toBe(true);
    expect(ok(await post().send({ prime: 'the', length: 80, seed: random.seed })).text).toBe(random.text);
  });

  it('defaults without a body; temperature 0 is greedy whatever the seed', async () => {
    expect([...ok(await post()).text]).toHaveLength(200);
    const g1 = ok(await post().send({ prime: 'a', length: 30, temperature: 0, seed: 1 }));
    const g2 = ok(await post().send({ prime: 'a', length: 30, temperature: 0, seed: 2 }));
    expect(g2.text).toBe(g1.text);
  });

  it('candidates: per-step likeliest characters with probabilities', async () => {
    const body = ok(await post().send({ prime: 'x', length: 5, candidates: 3, temperature: 0 }));
    expect(body.steps).toHaveLength(5);
    body.steps!.forEach((s, i) => {
      expect(s.char).toBe([...body.text][i]);
      expect(s.top).toHaveLength(3);
      expect(s.top![0]!.char).toBe(s.char); // greedy
      expect(s.top![0]!.prob).toBeGreaterThanOrEqual(s.top![2]!.prob);
    });
  });

  it('a prime with characters outside the vocabulary → 400 naming them', async () => {
    const msg = expectError(await post().send({ prime: 'Zoë says ☃ hi' }), 400, 'unknown_characters');
    expect(msg).toContain('"ë"');
    expect(msg).toContain('"☃"');
    expect(msg).not.toContain('"Z"'); // Z is in the vocabulary
  });

  it.each([
    [{ length: 2001 }, /length: must be an integer from 1 to 2000; got 2001/],
    [{ length: 0 }, /length/],
    [{ length: 2.5 }, /length/],
    [{ temperature: -0.1 }, /temperature: must be 0 or a number from 0.01 to 5/],
    [{ temperature: 5e-324 }, /temperature: must be 0 or a number from 0.01 to 5/],
    [{ top_k: 1.5 }, /top_k/],
    [{ seed: -1 }, /seed/],
    [{ prime: 42 }, /prime: must be a string/],
    [{ prime: 'a'.repeat(2001) }, /prime: must be at most 2000 characters/],
    [{ stream: 'yes' }, /stream: must be true or false/],
    [{ topk: 3 }, /unknown field\(s\): topk/],
  ])('invalid options %j → 400 invalid_request', async (body, message) => {
    expect(expectError(await post().send(body), 400, 'invalid_request')).toMatch(message);
  });

  it('options in the query string → 400, not silently ignored', async () => {
    const res = await request(app.server).post('/generate?length=99999&x=1').send({ prime: 'ab', length: 5 });
    expect(expectError(res, 400, 'invalid_request')).toMatch(/JSON body, not the query string; got length, x/);
  });

  it('a body that is not JSON → 415; malformed JSON → 400', async () => {
    expectError(await post().set('content-type', 'image/png').send(Buffer.from('xx')), 415, 'unsupported_media_type');
    expectError(await post().set('content-type', 'application/json').send('{"prime": '), 400, 'invalid_json');
  });

  it('stream: true → server-sent text events, then done', async () => {
    const res = await post()
      .send({ prime: 'the', length: 100, seed: 9, stream: true })
      .buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => (data += chunk));
        r.on('end', () => cb(null, data));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = (res.body as string)
      .trim()
      .split('\n\n')
      .map((block) => {
        const [ev, data] = block.split('\n');
        return { event: ev!.replace('event: ', ''), data: JSON.parse(data!.replace('data: ', '')) as Record<string, unknown> };
      });
    const texts = events.filter((e) => e.event === 'text');
    expect(texts.length).toBeGreaterThan(1);
    const done = events[events.length - 1]!;
    expect(done.event).toBe('done');
    expect(done.data.seed).toBe(9);
    expect(done.data.backend).toBe(currentBackend());
    // Same text as the non-streamed reply for the same seed.
    const whole = ok(await post().send({ prime: 'the', length: 100, seed: 9 }));
    expect(texts.map((e) => e.data.text).join('')).toBe(whole.text);
  });

  it('a full queue → 503 overloaded, for plain and streamed requests', async () => {
    const limiter = new Limiter(1, 0);
    const busy = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service, limiter });
    await busy.ready();
    let unblock!: () => void;
    const blocker = limiter.run(() => new Promise<void>((resolve) => (unblock = resolve)));
    try {
      expectError(await post(busy).send({ length: 5 }), 503, 'overloaded');
      expectError(await post(busy).send({ length: 5, stream: true }), 503, 'overloaded');
    } finally {
      unblock();
      await blocker;
    }
    ok(await post(busy).send({ length: 5 }));
    // A finished stream gives its slot back.
    expect((await post(busy).send({ length: 5, stream: true })).status).toBe(200);
    ok(await post(busy).send({ length: 5 }));
    expect(limiter.running).toBe(0);
    await busy.close();
  });

  it('/health lists the generate model', async () => {
    const res = await request(app.server).get('/health');
    expect(res.body.models.generate).toEqual({ name: 'char-test', version: '0' });
  });
});
