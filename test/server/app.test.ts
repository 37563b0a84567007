import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptionReply } from '../../src/caption/reply.js';
import { CaptionService } from '../../src/caption/service.js';
import { loadConfig } from '../../src/app/config.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { Limiter } from '../../src/server/limiter.js';
import { formatSamples, jpeg } from './images.js';

const SMALL_BYTES = 64 * 1024;
const SMALL_PIXELS = 100_000;

let service: CaptionService;
let app: FastifyInstance; // default limits
let small: FastifyInstance; // MAX_IMAGE_BYTES 64 KiB, MAX_IMAGE_PIXELS 100k
let photo: Buffer;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = await CaptionService.load('models');
  const backend = currentBackend();
  app = await buildApp({ config: loadConfig({}), backend, caption: service });
  small = await buildApp({
    config: loadConfig({ MAX_IMAGE_BYTES: String(SMALL_BYTES), MAX_IMAGE_PIXELS: String(SMALL_PIXELS) }),
    backend,
    caption: service,
  });
  await Promise.all([app.ready(), small.ready()]);
  photo = await jpeg();
}, 120_000);

afterAll(async () => {
  await Promise.all([app?.close(), small?.close()]);
  service?.dispose();
});

const post = (a: FastifyInstance = app, path = '/caption') => request(a.server).post(path);

function captionBody(res: Response): CaptionReply {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as CaptionReply;
}

function expectCaptionReply(body: CaptionReply, n: number): void {
  expect(body.captions).toHaveLength(n);
  for (const c of body.captions) {
    expect(typeof c.text).toBe('string');
    expect(c.logprob).toBeLessThanOrEqual(0);
  }
  expect(body.model).toEqual({ name: service.model.name, version: service.model.version });
  expect(body.backend).toBe(currentBackend());
  for (const k of ['decode_image', 'encode', 'generate', 'total'] as const) expect(body.timings_ms[k]).toBeGreaterThanOrEqual(0);
  expect(body.timings_ms.total).toBeGreaterThanOrEqual(body.timings_ms.encode);
}

/** The error shape, status and code; returns the message for further checks. */
function expectError(res: Response, status: number, code?: string): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code).toBe('string');
  expect(typeof body.error?.message).toBe('string');
  if (code) expect(body.error?.code).toBe(code);
  return String(body.error?.message);
}

describe('POST /caption: body kinds', () => {
  it('raw image/* body, default options (beam, n=1)', async () => {
    const body = captionBody(await post().set('content-type', 'image/jpeg').send(photo));
    expectCaptionReply(body, 1);
    expect(body.seed).toBeUndefined();
  });

  it('raw body with options in the query string', async () => {
    const res = await post(app, '/caption?mode=greedy&max_length=4').set('content-type', 'image/jpeg').send(photo);
    const body = captionBody(res);
    expectCaptionReply(body, 1);
    expect(body.captions[0]!.text.split(' ').length).toBeLessThanOrEqual(4);
  });

  it('multipart/form-data with options as form fields', async () => {
    const res = await post()
      .field('mode', 'beam')
      .field('beam_size', '4')
      .field('n', '2')
      .attach('image', photo, { filename: 'photo.jpg', contentType: 'image/jpeg' });
    expectCaptionReply(captionBody(res), 2);
  });

  it('JSON with base64 image and options', async () => {
    const res = await post().send({ image: photo.toString('base64'), mode: 'greedy', max_length: 10 });
    expectCaptionReply(captionBody(res), 1);
  });

  it('JSON with a data: URL and numbers given as strings', async () => {
    const res = await post().send({ image: `data:image/jpeg;base64,${photo.toString('base64')}`, beam_size: '2' });
    expectCaptionReply(captionBody(res), 1);
  });
});

describe('POST /caption: decoding modes', () => {
  it('greedy gives one caption', async () => {
    const body = captionBody(await post(app, '/caption?mode=greedy').set('content-type', 'image/jpeg').send(photo));
    expectCaptionReply(body, 1);
  });

  it('beam with n=2 gives 2 distinct captions, best first', async () => {
    const body = captionBody(await post().send({ image: photo.toString('base64'), mode: 'beam', beam_size: 3, n: 2 }));
    expectCaptionReply(body, 2);
    const [a, b] = body.captions;
    expect(a!.text).not.toBe(b!.text);
    expect(a!.logprob).toBeGreaterThanOrEqual(b!.logprob); // length_penalty 0: score = logprob
  });

  it('sample with the same seed gives the same captions, and echoes the seed', async () => {
    const ask = () => post().send({ image: photo.toString('base64'), mode: 'sample', n: 3, seed: 42, temperature: 1.5 });
    const first = captionBody(await ask());
    const second = captionBody(await ask());
    expectCaptionReply(first, 3);
    expect(second.captions).toEqual(first.captions);
    expect(first.seed).toBe(42);
  });

  it('sample without a seed reports the random seed it used', async () => {
    const body = captionBody(await post(app, '/caption?mode=sample').set('content-type', 'image/jpeg').send(photo));
    expect(Number.isInteger(body.seed)).toBe(true);
  });
});

describe('POST /caption: image formats', () => {
  it('PNG with alpha, GIF, WebP, TIFF, AVIF (when sharp writes it), JPEG with EXIF orientation 6', async () => {
    const samples = await formatSamples();
    expect(Object.keys(samples)).toEqual(expect.arrayContaining(['png_alpha', 'gif', 'webp', 'tiff', 'jpeg_exif6']));
    expect((await sharp(samples.jpeg_exif6!.body).metadata()).orientation).toBe(6);
    for (const [name, { body, type }] of Object.entries(samples)) {
      const res = await post(app, '/caption?mode=greedy').set('content-type', type).send(body);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
      expectCaptionReply(res.body as CaptionReply, 1);
    }
  });
});

describe('POST /caption: bad input', () => {
  it('empty raw body → 400 empty_image', async () => {
    expectError(await post().set('content-type', 'image/jpeg').send(Buffer.alloc(0)), 400, 'empty_image');
  });

  it('no body at all → 400 missing_image', async () => {
    expectError(await post(), 400, 'missing_image');
  });

  it('JSON without image, multipart without the image field → 400 missing_image', async () => {
    expectError(await post().send({ mode: 'greedy' }), 400, 'missing_image');
    expectError(await post().field('mode', 'greedy'), 400, 'missing_image');
  });

  it('truncated JPEG → 4xx, not 500', async () => {
    const half = photo.subarray(0, Math.floor(photo.length / 2));
    const res = await post().set('content-type', 'image/jpeg').send(half);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expectError(res, res.status);
  });

  it('random bytes → 415 unsupported_image', async () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
    expectError(await post().set('content-type', 'image/png').send(noise), 415, 'unsupported_image');
  });

  it('a text file uploaded as the image → 415 unsupported_image', async () => {
    const text = Buffer.from('hello, this is not a picture\n'.repeat(20));
    const res = await post().attach('image', text, { filename: 'notes.txt', contentType: 'text/plain' });
    expectError(res, 415, 'unsupported_image');
  });

  it('an SVG (which could reference files) is refused before decoding', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>');
    expectError(await post().set('content-type', 'image/svg+xml').send(svg), 415, 'unsupported_image');
  });

  it('an SVG with "ftyp" at bytes 4-7 (taken for HEIF before) → 415 unsupported_image', async () => {
    const svg = Buffer.from('<!--ftyp--><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>');
    expectError(await post().set('content-type', 'image/svg+xml').send(svg), 415, 'unsupported_image');
    expectError(await post().attach('image', svg, { filename: 'a.heic', contentType: 'image/heic' }), 415, 'unsupported_image');
  });

  it('an image thinner than MAX_IMAGE_ASPECT_RATIO → 422 bad_aspect_ratio, before decoding', async () => {
    const thin = await sharp({ create: { width: 1, height: 50_000, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .png()
      .toBuffer();
    expect(expectError(await post().set('content-type', 'image/png').send(thin), 422, 'bad_aspect_ratio')).toContain('1x50000');
  });

  it('over MAX_IMAGE_BYTES → 413, for every body kind', async () => {
    const big = Buffer.concat([photo, Buffer.alloc(SMALL_BYTES)]);
    expectError(await post(small).set('content-type', 'image/jpeg').send(big), 413);
    expectError(await post(small).attach('image', big, { filename: 'big.jpg', contentType: 'image/jpeg' }), 413);
    expectError(await post(small).send({ image: big.toString('base64') }), 413); // within the JSON limit: decoded size
    const huge = Buffer.alloc(SMALL_BYTES * 2);
    expectError(await post(small).send({ image: huge.toString('base64') }), 413); // over the JSON body limit
  });

  it('over MAX_IMAGE_PIXELS → 413 too_many_pixels', async () => {
    const flat = { width: 400, height: 300, channels: 3, background: { r: 90, g: 140, b: 200 } } as const;
    const wide = await sharp({ create: flat }).png().toBuffer(); // 120k pixels, few bytes
    expect(wide.length).toBeLessThan(SMALL_BYTES);
    expectError(await post(small).set('content-type', 'image/png').send(wide), 413, 'too_many_pixels');
  });

  it('invalid base64, a URL, a non-string image → 400', async () => {
    expectError(await post().send({ image: 'not base64 at all!' }), 400, 'invalid_base64');
    expectError(await post().send({ image: 'https://example.com/cat.jpg' }), 400, 'invalid_base64');
    expectError(await post().send({ image: 12345 }), 400, 'invalid_request');
  });

  it.each([
    ['beam_size=0', 'beam_size', 'from 1 to 10'],
    ['beam_size=11', 'beam_size', 'from 1 to 10'],
    ['mode=x', 'mode', 'beam, greedy, sample'],
    ['temperature=-1', 'temperature', 'from 0.01 to 5'],
    ['temperature=0', 'temperature', 'from 0.01 to 5'],
    ['temperature=5e-324', 'temperature', 'from 0.01 to 5'],
    ['max_length=51', 'max_length', 'from 1 to 50'],
    ['seed=1.5', 'seed', 'integer'],
    ['n=4&beam_size=3', 'n', 'beam_size'],
    ['mode=greedy&n=2', 'n', 'greedy'],
    ['beamsize=3', 'beamsize', 'unknown'],
  ])('option %s → 400 invalid_request naming %s', async (query, field, rule) => {
    const res = await post(app, `/caption?${query}`).set('content-type', 'image/jpeg').send(photo);
    const message = expectError(res, 400, 'invalid_request');
    expect(message).toContain(field);
    expect(message).toContain(rule);
  });

  it('invalid options in JSON and multipart too', async () => {
    expectError(await post().send({ image: photo.toString('base64'), beam_size: 0 }), 400, 'invalid_request');
    const res = await post().field('mode', 'x').attach('image', photo, { filename: 'a.jpg', contentType: 'image/jpeg' });
    expect(expectError(res, 400, 'invalid_request')).toContain('mode');
  });

  it('the same option in query and body → 400', async () => {
    const res = await post(app, '/caption?mode=beam').send({ image: photo.toString('base64'), mode: 'greedy' });
    expect(expectError(res, 400, 'invalid_request')).toContain('mode');
  });

  it('body keys named like Object.prototype members are unknown fields, not "given twice"', async () => {
    for (const key of ['toString', 'hasOwnProperty']) {
      const message = expectError(await post().send({ image: photo.toString('base64'), [key]: 1 }), 400, 'invalid_request');
      expect(message).toContain(`unknown field(s): ${key}`);
    }
  });

  it('wrong content type → 415', async () => {
    expectError(await post().set('content-type', 'text/plain').send('hello'), 415, 'unsupported_media_type');
    expectError(await post().set('content-type', 'application/octet-stream').send(photo), 415, 'unsupported_media_type');
    expectError(await post().set('content-type', 'application/xml').send('<a/>'), 415, 'unsupported_media_type');
  });

  it('malformed JSON and malformed multipart → 400', async () => {
    expectError(await post().set('content-type', 'application/json').send('{"image": '), 400, 'invalid_json');
    const res = await post()
      .set('content-type', 'multipart/form-data; boundary=xyz')
      .send('--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expectError(res, res.status);
  });

  it('an unknown route, or the wrong method → 404 JSON', async () => {
    expectError(await request(app.server).get('/nope'), 404, 'not_found');
    expectError(await request(app.server).get('/caption'), 404, 'not_found');
  });
});

describe('overload and internal errors', () => {
  it('a full queue → 503 with Retry-After', async () => {
    const limiter = new Limiter(1, 0);
    const busy = await buildApp({ config: loadConfig({}), backend: currentBackend(), caption: service, limiter });
    await busy.ready();
    let unblock = () => {};
    const blocker = limiter.run(() => new Promise<void>((resolve) => (unblock = resolve)));
    try {
      const res = await post(busy).set('content-type', 'image/jpeg').send(photo);
      expectError(res, 503, 'overloaded');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      unblock();
      await blocker;
      await busy.close();
    }
  });

  it('an unexpected error → 500 internal_error without internals', async () => {
    const broken = await buildApp({ config: loadConfig({}), backend: currentBackend() });
    broken.get('/boom', async () => {
      throw new Error('secret detail at /srv/app/file.ts');
    });
    await broken.ready();
    try {
      const res = await request(broken.server).get('/boom');
      expect(expectError(res, 500, 'internal_error')).not.toContain('secret');
      expect(res.text).not.toContain('secret');
      expect(res.text).not.toContain('file.ts');
    } finally {
      await broken.close();
    }
  });
});

describe('ops endpoints', () => {
  it('GET /health', async () => {
    const res = await request(app.server).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      backend: currentBackend(),
      models: {
        caption: { name: service.model.name, version: service.model.version, encoder: service.encoder.name },
      },
    });
    expect((res.body as { uptime_s: number }).uptime_s).toBeGreaterThanOrEqual(0);
  });

  it('GET /metrics: Prometheus text with our histograms', async () => {
    const res = await request(app.server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('captioner_http_request_duration_seconds_bucket');
    expect(res.text).toMatch(/captioner_inference_duration_seconds_count\{task="caption",outcome="ok"\} [1-9]/);
    expect(res.text).toContain('route="/caption"');
    expect(res.text).toContain('process_cpu_user_seconds_total');
  });

  it('GET /openapi.json and /docs', async () => {
    const res = await request(app.server).get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/caption']?.post).toBeDefined();
    expect(doc.paths['/health']?.get).toBeDefined();
    const docs = await request(app.server).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
  });
});

describe('tensor memory', () => {
  it('numTensors is unchanged after 20 caption requests', async () => {
    const modes = ['beam', 'greedy', 'sample'] as const;
    const ask = (i: number) =>
      post(app, `/caption?mode=${modes[i % 3]}&max_length=8${i % 3 === 0 ? '&n=2' : ''}`)
        .set('content-type', 'image/jpeg')
        .send(photo);
    captionBody(await ask(0)); // warm-up: kernels and caches allocate once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) captionBody(await ask(i));
    // Failures after decoding must not leak either.
    await post()
      .set('content-type', 'image/jpeg')
      .send(photo.subarray(0, photo.length >> 1));
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});
