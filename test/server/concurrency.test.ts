import * as tf from '@tensorflow/tfjs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { ErrorBodySchema } from '../../src/server/errors.js';
import { Limiter } from '../../src/server/limiter.js';
import { scene } from './images.js';
import { ONE_CLIENT, tinyServices, type TinyServices } from './tiny-services.js';

// Many requests at once, of every route and kind, each with its own input:
// every reply must be whole and be exactly the reply the same request gets
// alone (no answer delivered to the wrong request, no state shared between
// concurrent inferences); a full queue answers 503 in the error shape.

interface Call {
  name: string;
  path: string;
  type: string;
  body: Uint8Array<ArrayBuffer> | string;
}

/** The parts of a reply that depend on the request only (timings vary). */
type Outcome = { status: number; body: unknown };

let services: TinyServices;
let app: FastifyInstance;
let base: string;
let calls: Call[];

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  services = await tinyServices();
  app = await buildApp({ config: loadConfig(ONE_CLIENT), backend: currentBackend(), ...services, limiter: new Limiter(2, 200) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Different pictures: sizes and a colour shift change every feature the encoder gives.
  const images = await Promise.all(
    [
      [160, 120],
      [120, 160],
      [96, 96],
      [200, 100],
    ].map(([w, h], i) =>
      scene(w, h)
        .modulate({ hue: i * 50 })
        .jpeg({ quality: 80 + i })
        .toBuffer()
        .then((b) => new Uint8Array(b)),
    ),
  );
  const jsonCall = (name: string, path: string, body: object): Call => ({
    name,
    path,
    type: 'application/json',
    body: JSON.stringify(body),
  });
  calls = [];
  images.forEach((img, i) => {
    const b64 = Buffer.from(img).toString('base64');
    calls.push(
      { name: `caption raw beam ${i}`, path: '/caption?beam_size=3&n=2', type: 'image/jpeg', body: img },
      jsonCall(`caption greedy ${i}`, '/caption', { image: b64, mode: 'greedy' }),
      jsonCall(`caption sample ${i}`, '/caption', { image: b64, mode: 'sample', seed: 100 + i, temperature: 1.5 }),
      jsonCall(`vqa ${i}`, '/vqa', { image: b64, question: ['what is the man riding?', 'what color is the dog?'][i % 2], top_k: 6 }),
      {
        name: `vqa raw ${i}`,
        path: `/vqa?question=${encodeURIComponent(`what is ${'the '.repeat(i)}man`)}&top_k=4`,
        type: 'image/jpeg',
        body: img,
      },
    );
  });
  for (let i = 0; i < 8; i++) {
    const prime = ['the ', 'a dog', 'zz', 'q', 'man.', 'red\n'][i % 6]!;
    calls.push(jsonCall(`generate ${i}`, '/generate', { prime, length: 40 + i * 7, seed: 1000 + i, temperature: 1.2, candidates: i % 3 }));
    calls.push(jsonCall(`generate stream ${i}`, '/generate', { prime, length: 60 + i, seed: 2000 + i, stream: true }));
  }
  // Refused ones mixed in: their errors must not land on another request either.
  calls.push(jsonCall('generate bad prime', '/generate', { prime: 'ABC' }));
  calls.push(jsonCall('vqa bad question', '/vqa', { image: Buffer.from(images[0]!).toString('base64'), question: 'what <is> it' }));
}, 120_000);

afterAll(async () => {
  await app?.close();
  await services?.dispose();
});

/** Server-sent events folded into one outcome: the concatenated text and the done event without timings. */
function foldStream(text: string): unknown {
  let generated = '';
  let done: unknown;
  for (const block of text.split('\n\n').filter(Boolean)) {
    const event = /^event: (\w+)/.exec(block)?.[1];
    const data = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Record<string, unknown>;
    if (event === 'text') generated += String(data.text);
    else if (event === 'done') done = withoutTimings(data);
    else return { event, data };
  }
  return { text: generated, done };
}

function withoutTimings(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { timings_ms: _timings, ...rest } = body as Record<string, unknown>;
  return rest;
}

async function send(call: Call): Promise<Outcome> {
  const res = await fetch(`${base}${call.path}`, { method: 'POST', headers: { 'content-type': call.type }, body: call.body });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const body = type.startsWith('text/event-stream') ? foldStream(text) : withoutTimings(JSON.parse(text));
  return { status: res.status, body };
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('concurrent requests', () => {
  it('each of many concurrent mixed requests gets the reply it gets alone', async () => {
    const alone = new Map<string, Outcome>();
    for (const c of calls) alone.set(c.name, await send(c));
    // The inputs really differ, so an answer given to the wrong request would show.
    const distinct = new Set([...alone.values()].map((o) => JSON.stringify(o.body)));
    expect(distinct.size).toBeGreaterThanOrEqual(calls.length - 4);
    expect([...alone.values()].filter((o) => o.status === 200)).toHaveLength(calls.length - 2);
    const tensors = tf.memory().numTensors;

    for (const round of [1, 2]) {
      const order = shuffled(calls, round);
      const outcomes = await Promise.all(order.map((c) => send(c)));
      order.forEach((c, i) => expect(outcomes[i], `${c.name} (round ${round})`).toEqual(alone.get(c.name)));
    }
    expect(tf.memory().numTensors).toBe(tensors);
  }, 120_000);

  it('a full queue answers 503 overloaded in the error shape; the queued requests still get their own answers', async () => {
    const limiter = new Limiter(1, 3);
    const small = await buildApp({ config: loadConfig(ONE_CLIENT), backend: currentBackend(), ...services, limiter });
    await small.listen({ port: 0, host: '127.0.0.1' });
    const smallBase = `http://127.0.0.1:${(small.server.address() as AddressInfo).port}`;
    try {
      const picks = [
        calls.find((c) => c.name === 'caption greedy 1')!,
        calls.find((c) => c.name === 'vqa 2')!,
        calls.find((c) => c.name === 'generate 3')!,
      ];
      const expected = await Promise.all(picks.map((c) => send(c))); // from the other app: same services
      let open = () => {};
      const held = limiter.run(() => new Promise<void>((resolve) => (open = resolve)));
      const post = (c: Call) => fetch(`${smallBase}${c.path}`, { method: 'POST', headers: { 'content-type': c.type }, body: c.body });
      const queued = picks.map((c) => post(c));
      for (let i = 0; i < 250 && limiter.waiting < 3; i++) await new Promise((r) => setTimeout(r, 20));
      let overflow: Response[];
      try {
        expect(limiter.waiting).toBe(3);
        overflow = await Promise.all([...picks, calls.find((c) => c.name === 'generate stream 0')!].map((c) => post(c)));
      } finally {
        open();
        await held;
      }
      for (const res of overflow) {
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        const body = ErrorBodySchema.parse(await res.json());
        expect(body.error.code).toBe('overloaded');
      }
      const replies = await Promise.all(queued);
      const outcomes = await Promise.all(replies.map(async (r) => ({ status: r.status, body: withoutTimings(await r.json()) })));
      expect(outcomes).toEqual(expected);
    } finally {
      await small.close();
    }
  }, 60_000);
});
