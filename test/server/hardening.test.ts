import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { MAX_MESSAGE_LENGTH } from '../../src/server/errors.js';
import { jsonShapeProblem } from '../../src/server/json-shape.js';
import { tinyConfig } from '../char/helpers.js';

// Bounded work per request, against a real server on loopback: body shape and
// timeouts, and the documented error shape for what the framework refuses.

const VOCAB = CharVocab.build('abcdefghijklmnopqrstuvwxyz .\n');
let service: CharService;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const model = CharModel.init(tinyConfig({ name: 'char-test', hiddenDim: 8, layers: 1 }, [...VOCAB.chars].join('')), 1);
  service = CharService.fromModel(model);
  app = await buildApp({ config: loadConfig({ REQUEST_TIMEOUT_MS: '600' }), backend: currentBackend(), generate: service });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

/**
 * Write `chunks` on a raw connection (`gapMs` apart, stopping once the server
 * answers) and return what comes back before it closes (at most 5 s).
 */
function raw(chunks: string[], gapMs = 0): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      clearTimeout(limit);
      socket.destroy();
      resolve({ text, ms: performance.now() - t0 });
    };
    const limit = setTimeout(done, 5_000);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('close', done);
    socket.on('error', done);
    const send = async () => {
      for (const c of chunks) {
        if (text || socket.destroyed) break;
        socket.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    };
    socket.on('connect', () => void send());
  });
}

/** The status and {error:{code,message}} of a raw HTTP reply, which must carry a request id like every reply. */
function parseReply(text: string): { status: number; code: string; message: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  expect(text).toMatch(/\r\ncontent-type: application\/json/i);
  expect(text).toMatch(/\r\nx-request-id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r\n/i);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  return { status, ...body.error };
}

const post = () => request(app.server).post('/generate');

describe('JSON bodies are limited in shape before they are parsed', () => {
  it('100,000 keys → 400 json_too_complex, with a short reply', async () => {
    const body = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
    const res = await post().set('content-type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('json_too_complex');
    expect(res.text.length).toBeLessThan(500);
  });

  it('deeply nested arrays → 400 json_too_complex', async () => {
    const res = await post()
      .set('content-type', 'application/json')
      .send(`{"prime":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('json_too_complex');
  });

  it('counts only outside strings, escapes included', () => {
    expect(jsonShapeProblem(JSON.stringify({ prime: '[[[[[[[[[[[[{{{{,,,,::::'.repeat(100), image: 'a\\"[[[[[[[[[[' }))).toBeUndefined();
    expect(jsonShapeProblem('[[[[[[[[[]]]]]]]]]')).toMatch(/deeper than 8/);
    expect(jsonShapeProblem(`[${'1,'.repeat(300)}1]`)).toMatch(/more than 256/);
  });

  it('error messages have a length cap (a prime of 1,500 unknown characters)', async () => {
    const prime = Array.from({ length: 1_500 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
    const res = await post().send({ prime });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_characters');
    expect(res.body.error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  });
});

describe('requests are bounded in time', () => {
  it('a body trickled at 1 byte per 100 ms → 408 in the documented shape, within seconds', async () => {
    const head = 'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n';
    const { text, ms } = await raw([head, ...'{"prime":"abcdefghijklmnopqrstuvwxyz"}'.split('')], 100);
    expect(parseReply(text)).toMatchObject({ status: 408, code: 'request_timeout' });
    expect(ms).toBeLessThan(4_000);
  });
});

describe('framework rejections in the documented shape', () => {
  it('bad chunking → 400', async () => {
    const { text } = await raw([
      'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ]);
    expect(parseReply(text)).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('oversized headers → 431', async () => {
    const { text } = await raw([`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(parseReply(text)).toMatchObject({ status: 431, code: 'headers_too_large' });
  });

  it('a malformed URL → 400', async () => {
    const { text } = await raw(['GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(parseReply(text)).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('an unknown method → 4xx', async () => {
    for (const method of ['PROPFIND', 'FOO', 'BREW']) {
      const { text } = await raw([`${method} /generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      const reply = parseReply(text);
      expect([400, 404, 405], method).toContain(reply.status);
    }
  });

  it('a 60 KB query string → 431 saying to shorten it', async () => {
    const { text } = await raw([`GET /health?q=${'a'.repeat(60_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    expect(parseReply(text)).toMatchObject({ status: 431, code: 'headers_too_large', message: expect.stringMatching(/query string/) });
  });

  it('an HTTP/1.1 request without Host → 400 (node said it with an empty body)', async () => {
    const { text } = await raw(['GET /health HTTP/1.1\r\nConnection: close\r\n\r\n']);
    expect(parseReply(text)).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(/Host header/) });
  });

  it('Expect: bogus → 417 in the error shape (node said it with an empty body)', async () => {
    const { text } = await raw([
      'POST /generate HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    ]);
    expect(parseReply(text)).toMatchObject({ status: 417, code: 'expectation_failed' });
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
  });
});

describe('/generate body kinds', () => {
  it('a multipart body → 415, not silently ignored', async () => {
    const res = await post().field('prime', 'abc').attach('file', Buffer.alloc(1000), 'x.bin');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });
});
