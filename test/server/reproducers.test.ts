import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { Limiter } from '../../src/server/limiter.js';
import { jpeg, pngClaiming } from './images.js';
import { tinyServices, type TinyServices } from './tiny-services.js';

// Issue 11's reproducers 1 and 2 as they were reported, on the image routes
// and with the default two slots. (abandon.test.ts has the hang-up paths on
// /generate alone; reproducer 4, shutdown, is shutdown.test.ts; 5, the body
// trickled at 1 byte/s, is hardening.test.ts.)

let services: TinyServices;
let app: FastifyInstance;
let limiter: Limiter;
let base: string;
let photo: Buffer;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  services = await tinyServices();
  limiter = new Limiter(2, 8); // MAX_CONCURRENCY's default
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), ...services, limiter });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  photo = await jpeg();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await services?.dispose();
});

/** Poll (bounded: 5 s) until `done` holds. */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(done(), what).toBe(true);
}

/**
 * POST on a connection of its own, like curl: aborting `signal` closes it
 * (curl -m). Resolves with the status and body, or 'aborted'.
 */
function post(
  path: string,
  type: string,
  body: Buffer | string,
  signal?: AbortSignal,
): Promise<{ status: number; text: string } | 'aborted'> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', agent: false, headers: { 'content-type': type } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', () => resolve('aborted'));
    });
    req.on('error', (err) => (signal?.aborted ? resolve('aborted') : reject(err)));
    signal?.addEventListener('abort', () => req.destroy(), { once: true });
    req.end(body);
  });
}

describe('issue 11, reproducer 1: abandoned queued requests', () => {
  it('both slots busy, two streams and an image request of each route abandoned while queued: never computed, and /caption answers', async () => {
    const spies = [vi.spyOn(services.caption, 'caption'), vi.spyOn(services.vqa, 'answer'), vi.spyOn(services.generate, 'stream')];
    // Two slow jobs hold both slots (the reproducer used two slow decodes).
    const opens: (() => void)[] = [];
    const held = [0, 1].map(() => limiter.run(() => new Promise<void>((resolve) => opens.push(resolve))));
    const aborts = Array.from({ length: 4 }, () => new AbortController());
    const stream = JSON.stringify({ prime: 'a', stream: true });
    const queued = [
      post('/generate', 'application/json', stream, aborts[0]!.signal),
      post('/generate', 'application/json', stream, aborts[1]!.signal),
      post('/caption', 'image/jpeg', photo, aborts[2]!.signal),
      post('/vqa?question=what%20is%20it', 'image/jpeg', photo, aborts[3]!.signal),
    ];
    try {
      await until('4 requests queued', () => limiter.waiting === 4);
      aborts.forEach((a) => a.abort());
      expect(await Promise.all(queued)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
      await until('the queue empties as its clients leave', () => limiter.waiting === 0);
    } finally {
      opens.forEach((open) => open());
      await Promise.all(held);
    }
    expect(limiter.running).toBe(0);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();

    const caption = await post('/caption', 'image/jpeg', photo, AbortSignal.timeout(20_000));
    expect(caption).toMatchObject({ status: 200 });
    const vqa = await post('/vqa?question=what%20is%20it', 'image/jpeg', photo, AbortSignal.timeout(20_000));
    expect(vqa).toMatchObject({ status: 200 });
    expect(spies.map((s) => s.mock.calls.length)).toEqual([1, 1, 0]);
    spies.forEach((s) => s.mockRestore());
  });
});

describe('issue 11, reproducer 2: images cheap to send and costly to decode', () => {
  it('a PNG of 1 x 39,999,999 pixels (under the 40 MP limit) → 422 bad_aspect_ratio from its header, on both image routes', async () => {
    const thin = pngClaiming(1, 39_999_999);
    for (const path of ['/caption', '/vqa?question=what%20is%20it']) {
      const res = await post(path, 'image/png', thin);
      if (res === 'aborted') throw new Error('no reply');
      expect(res.status, res.text).toBe(422);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'bad_aspect_ratio' } });
    }
  });

  it('a header claiming 2.5 billion pixels → 413 too_many_pixels', async () => {
    const res = await post('/caption', 'image/png', pngClaiming(50_000, 50_000));
    if (res === 'aborted') throw new Error('no reply');
    expect(res.status, res.text).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'too_many_pixels' } });
  });
});
