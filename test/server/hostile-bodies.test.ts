import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsClient } from '../../src/app/jobs/producer.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { PartHeaderScanner, partHeaderProblem } from '../../src/server/multipart.js';
import { HAVE_REDIS, startRedis, type TestRedis } from '../jobs/helpers.js';
import { ONE_CLIENT, tinyServices, type TinyServices } from './tiny-services.js';

// Issue 19's hostile bodies, 50 of each on keep-alive connections against a
// real server on loopback: each gets its 4xx at once, and no connection is
// left behind holding the rest of a body nobody reads (CLOSE-WAIT for a
// minute, or a keep-alive socket whose next request never parses).

let services: TinyServices;
let redis: TestRedis | undefined;
let jobs: JobsClient | undefined;
let app: FastifyInstance;
let port: number;
let routes: string[];

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  services = await tinyServices();
  // POST /jobs reads its form while it stores the images: it needs a Redis (skipped without one).
  redis = HAVE_REDIS ? await startRedis() : undefined;
  const config = loadConfig({ ...ONE_CLIENT, ...(redis ? { REDIS_URL: redis.url } : {}) });
  jobs = JobsClient.fromConfig(config);
  app = await buildApp({ config, backend: currentBackend(), ...services, ...(jobs ? { jobs } : {}) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
  routes = ['/caption', '/vqa', ...(jobs ? ['/jobs'] : [])];
}, 120_000);

afterAll(async () => {
  await app?.close();
  await jobs?.close();
  await redis?.stop();
  await services?.dispose();
});

const BOUNDARY = 'XyZ';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

function form(parts: { headers: string; body: Buffer | string }[]): Buffer {
  const chunks = parts.flatMap((p) => [Buffer.from(`--${BOUNDARY}\r\n${p.headers}\r\n\r\n`), Buffer.from(p.body), Buffer.from('\r\n')]);
  return Buffer.concat([...chunks, Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

const field = (name: string, value: string) => ({ headers: `Content-Disposition: form-data; name="${name}"`, body: value });
// Far more than node and the kernel buffer: the server refuses with most of it unread.
const bigFile = (name: string) => ({
  headers: `Content-Disposition: form-data; name="${name}"; filename="a.jpg"\r\nContent-Type: image/jpeg`,
  body: Buffer.alloc(1024 * 1024, 0xab),
});
const fields = (n: number) => Array.from({ length: n }, (_, i) => field(`f${i}`, 'x'));

interface Hostile {
  /** Content-Type and any other headers. */
  headers: Record<string, string>;
  body: Buffer;
  /** Write the body and wait for the reply without ending the request (it declares more than it sends). */
  unfinished?: boolean;
}

interface Reply {
  status: number;
  connection: string | undefined;
  code: string;
  message: string;
  ms: number;
}

/** Send `n` requests over keep-alive connections (10 at a time); each reply, or a failure after 5 s. */
async function sendAll(n: number, make: (route: string) => Hostile): Promise<Reply[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  try {
    return await Promise.all(
      Array.from({ length: n }, (_, i) => send(agent, routes[i % routes.length]!, make(routes[i % routes.length]!))),
    );
  } finally {
    agent.destroy();
  }
}

function send(agent: Agent, path: string, h: Hostile): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: h.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        const body = JSON.parse(text) as { error: { code: string; message: string } };
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, ...body.error, ms });
        if (h.unfinished) req.destroy();
      });
    });
    req.setTimeout(5_000, () => {
      req.destroy();
      reject(new Error(`no reply from ${path} in 5 s`));
    });
    // The reply may come while the rest of the body is still being written; a write error after it is expected.
    req.on('error', (err) => reject(err));
    if (h.unfinished) req.write(h.body);
    else req.end(h.body);
  });
}

const STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/**
 * The server's sockets on `port` (its local port) by state, from the kernel's
 * table: LISTEN and TIME_WAIT (the kernel's alone, after a close) left out.
 */
function serverSockets(): Record<string, number> {
  const found: Record<string, number> = {};
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (!local || !st || parseInt(local.split(':')[1] ?? '', 16) !== port) continue;
      const state = STATES[st] ?? st;
      if (state !== 'LISTEN' && state !== 'TIME_WAIT') found[state] = (found[state] ?? 0) + 1;
    }
  }
  return found;
}

/** Sockets still open once the clients have gone (polled up to 2 s: closing takes a few round trips). */
async function socketsLeft(): Promise<Record<string, number>> {
  let left = serverSockets();
  for (let i = 0; i < 40 && Object.keys(left).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = serverSockets();
  }
  return left;
}

function expectRefused(replies: Reply[], status: number, code: string): void {
  for (const r of replies) {
    expect(r.status).toBe(status);
    expect(r.code).toBe(code);
    expect(r.connection).toBe('close');
    expect(r.ms).toBeLessThan(2_000);
  }
}

describe.runIf(process.platform === 'linux')('hostile multipart bodies get a 4xx at once and leave no connection behind', () => {
  it('a part without Content-Disposition (30 KB: busboy skipped it and the body stopped flowing) → 400', async () => {
    const body = form([{ headers: 'Content-Type: text/plain', body: 'x'.repeat(30_000) }]);
    const replies = await sendAll(50, () => ({ headers: { 'content-type': MULTIPART }, body }));
    expectRefused(replies, 400, 'invalid_multipart');
    expect(replies[0]!.message).toMatch(/part 1: no Content-Disposition header; each part needs Content-Disposition: form-data; name=/);
    expect(await socketsLeft()).toEqual({});
  });

  it('17 or 30 fields before the file → 413 naming the limit (not "Premature close"), connection closed', async () => {
    const replies = await sendAll(50, (route) => ({
      headers: { 'content-type': MULTIPART },
      body: form([...fields(17), bigFile(route === '/jobs' ? 'images' : 'image')]),
    }));
    replies.push(...(await sendAll(50, () => ({ headers: { 'content-type': MULTIPART }, body: form([...fields(30), bigFile('image')]) }))));
    expectRefused(replies, 413, 'payload_too_large');
    for (const r of replies) expect(r.message).toBe('too many form fields: at most 16 beside the file');
    expect(await socketsLeft()).toEqual({});
  });

  it('Content-Length: 10000000000 → 413 before reading, for multipart as for raw and JSON bodies', async () => {
    const declared = (type: string, body: Buffer): Hostile => ({
      headers: { 'content-type': type, 'content-length': '10000000000' },
      body,
      unfinished: true,
    });
    const multipart = await sendAll(50, () => declared(MULTIPART, form([field('mode', 'beam')])));
    expectRefused(multipart, 413, 'payload_too_large');
    expect(multipart[0]!.message).toMatch(/^the body is 10000000000 bytes; the limit is \d+ bytes$/);
    const others = await sendAll(20, (route) =>
      route === '/jobs' ? declared('application/json', Buffer.from('{"paths":')) : declared('image/jpeg', Buffer.alloc(1000)),
    );
    expectRefused(others, 413, 'payload_too_large');
    expect(await socketsLeft()).toEqual({});
  });

  it('after them all the server still serves, and closes at once', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(res.status).toBe(200);
    const t0 = performance.now();
    await app.close();
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

describe('PartHeaderScanner', () => {
  const body = form([
    field('mode', 'beam'),
    { headers: 'Content-Type: text/plain', body: 'y'.repeat(100) },
    { ...bigFile('image'), body: 'z'.repeat(2000) },
  ]);
  const expected = [
    'Content-Disposition: form-data; name="mode"',
    'Content-Type: text/plain',
    'Content-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg',
  ];

  it('finds every header block however the body is cut', () => {
    for (const size of [1, 2, 3, 7, 64, 1000, body.length]) {
      const scanner = new PartHeaderScanner(BOUNDARY);
      const blocks: string[] = [];
      for (let i = 0; i < body.length; i += size) blocks.push(...scanner.push(body.subarray(i, i + size)));
      expect(blocks, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('says what is wrong with a header block', () => {
    expect(partHeaderProblem(expected[0]!)).toBeUndefined();
    expect(partHeaderProblem(expected[2]!)).toBeUndefined();
    expect(partHeaderProblem('Content-Type: text/plain')).toBe('no Content-Disposition header');
    expect(partHeaderProblem('Content-Disposition: attachment; name="a"')).toBe('Content-Disposition is not form-data');
    expect(partHeaderProblem('content-disposition: form-data; filename="a.jpg"')).toBe('Content-Disposition has no name');
  });
});
