import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { Limiter } from '../../src/server/limiter.js';
import { tinyConfig } from '../char/helpers.js';

// Clients that hang up, against a real server on loopback: the inference slot
// must come back on every path, and queued work whose client left is never computed.

const VOCAB = CharVocab.build('abcdefghijklmnopqrstuvwxyz .\n');
let service: CharService;
let app: FastifyInstance;
let limiter: Limiter;
let base: string;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const model = CharModel.init(tinyConfig({ name: 'char-test', hiddenDim: 8, layers: 1 }, [...VOCAB.chars].join('')), 1);
  service = CharService.fromModel(model);
  limiter = new Limiter(1, 8);
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service, limiter });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

/** Poll (bounded: 5 s) until `done` holds. */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(done(), what).toBe(true);
}

/** Occupy the only slot until the returned function is called. */
function block(): () => Promise<void> {
  let open = () => {};
  const held = limiter.run(() => new Promise<void>((resolve) => (open = resolve)));
  return async () => {
    open();
    await held;
  };
}

interface Reply {
  status: number;
  text: string;
}

/**
 * POST /generate on a connection of its own (no keep-alive pool, so a hang-up
 * closes the socket); `signal` destroys it, like a client that goes away.
 * Resolves with the whole reply, or 'aborted'.
 */
function generate(body: object, signal?: AbortSignal, onData?: (chunk: string) => void): Promise<Reply | 'aborted'> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}/generate`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          onData?.(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve('aborted'));
      },
    );
    req.on('error', (err) => (signal?.aborted ? resolve('aborted') : reject(err)));
    signal?.addEventListener('abort', () => req.destroy(), { once: true });
    req.end(JSON.stringify(body));
  });
}

function replied(r: Reply | 'aborted'): Reply {
  if (r === 'aborted') throw new Error('no reply');
  return r;
}

describe('clients that hang up', () => {
  it('queued requests (streamed and plain) whose client left are dropped, never computed; the server keeps serving', async () => {
    const streams = vi.spyOn(service, 'stream');
    const plains = vi.spyOn(service, 'generate');
    const unblock = block();
    const aborts = Array.from({ length: 4 }, () => new AbortController());
    const pending = aborts.map((a, i) => generate({ prime: 'a', length: 20, stream: i % 2 === 0 }, a.signal));
    await until('4 requests queued', () => limiter.waiting === 4);
    aborts.forEach((a) => a.abort());
    expect(await Promise.all(pending)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    await until('the queue empties when its clients leave', () => limiter.waiting === 0);
    await unblock();
    expect(limiter.running).toBe(0);

    const plain = replied(await generate({ prime: 'a', length: 10 }, AbortSignal.timeout(10_000)));
    expect(plain.status).toBe(200);
    expect((JSON.parse(plain.text) as { text: string }).text).toHaveLength(10);
    const streamed = replied(await generate({ prime: 'a', length: 10, stream: true }, AbortSignal.timeout(10_000)));
    expect(streamed.text).toContain('event: done');
    expect(plains).toHaveBeenCalledTimes(1);
    expect(streams).toHaveBeenCalledTimes(2); // generate() reads stream() too
    expect(limiter.running).toBe(0);
    streams.mockRestore();
    plains.mockRestore();
  });

  it('a stream abandoned mid-way gives its slot back', async () => {
    const abort = new AbortController();
    const p = generate({ prime: 'a', length: 2000, stream: true }, abort.signal, (chunk) => {
      if (chunk.includes('event: text')) abort.abort();
    });
    expect(await p).toBe('aborted');
    await until('the slot is freed', () => limiter.running === 0);
    expect(replied(await generate({ prime: 'b', length: 5 }, AbortSignal.timeout(10_000))).status).toBe(200);
  });

  it('a plain request whose client left while it ran frees its slot when the job ends', async () => {
    const slow = vi.spyOn(service, 'generate');
    const abort = new AbortController();
    const p = generate({ prime: 'a', length: 2000 }, abort.signal);
    await until('running', () => slow.mock.calls.length === 1);
    abort.abort();
    expect(await p).toBe('aborted');
    await until('the slot is freed', () => limiter.running === 0);
    slow.mockRestore();
    expect(replied(await generate({ prime: 'b', length: 5 }, AbortSignal.timeout(10_000))).status).toBe(200);
  });
});
