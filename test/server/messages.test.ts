import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { PathJobSchema } from '../../src/app/jobs/schemas.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { ClientGoneError } from '../../src/batching/errors.js';
import { Limiter } from '../../src/server/limiter.js';
import { Metrics } from '../../src/server/metrics.js';
import { formatZodError } from '../../src/util/zod-error.js';
import { tinyConfig } from '../char/helpers.js';
import { jpeg } from './images.js';

// Issue 19's messages: each says once, in one line, what to fix.

const VOCAB = CharVocab.build('abcdefghijklmnopqrstuvwxyz .\n');
let service: CharService;
let app: FastifyInstance;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  service = CharService.fromModel(CharModel.init(tinyConfig({ name: 'char-msg', hiddenDim: 8, layers: 1 }, [...VOCAB.chars].join('')), 1));
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), generate: service });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  service?.dispose();
});

describe('POST /jobs options', () => {
  it('beam_size: 99 is said once, with the value given', () => {
    const parsed = PathJobSchema.safeParse({ paths: ['album'], beam_size: 99 });
    expect(parsed.success).toBe(false);
    expect(formatZodError(parsed.error!)).toBe('beam_size: must be an integer from 1 to 10; got 99');
  });

  it('the rules between options still hold', () => {
    const parsed = PathJobSchema.safeParse({ paths: ['album'], beam_size: 3, n: 5 });
    expect(formatZodError(parsed.error!)).toBe('n: must be ≤ beam_size (3) in beam mode; got 5');
    expect(PathJobSchema.safeParse({ paths: ['album'], mode: 'greedy', n: 1 }).success).toBe(true);
  });
});

describe('a body that is not JSON, sent as application/json', () => {
  const send = (body: Buffer | string) =>
    app.inject({ method: 'POST', url: '/generate', headers: { 'content-type': 'application/json' }, payload: body });

  it('a JPEG → 400 invalid_json saying the body is not JSON (it was json_too_complex, "nests deeper than 8 levels")', async () => {
    const res = await send(await jpeg(320, 240));
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('invalid_json');
    expect(error.message).toMatch(/^the body is not JSON; send a JSON object \(an image goes as a raw image\/\* body/);
  });

  it('text that cannot start a JSON value → invalid_json; JSON itself still parses', async () => {
    expect((await send('hello')).json<{ error: { code: string } }>().error.code).toBe('invalid_json');
    expect((await send(' \r\n{"prime": "ab", "length": 2}')).statusCode).toBe(200);
  });
});

describe('an image that cannot be decoded', () => {
  it('a truncated PNG → 422 corrupt_image naming the format and the fix, in one line', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const err = await decodeToRgb(png.subarray(0, Math.floor(png.length * 0.6)), 32).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'corrupt_image',
      status: 422,
      message: 'the image could not be decoded (a corrupt or truncated PNG); send a complete JPEG, PNG, WebP, GIF, TIFF, HEIF or AVIF file',
    });
  });
});

describe('captioner_inference_duration_seconds outcome', () => {
  it('a job whose client left is cancelled, not an error', async () => {
    const metrics = new Metrics(new Limiter(1, 1));
    await expect(metrics.timeInference('caption', () => Promise.reject(new ClientGoneError()))).rejects.toThrow(ClientGoneError);
    await expect(metrics.timeInference('caption', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/captioner_inference_duration_seconds_count\{task="caption",outcome="cancelled"\} 1\n/);
    expect(text).toMatch(/captioner_inference_duration_seconds_count\{task="caption",outcome="error"\} 1\n/);
    expect(text).toMatch(/# HELP captioner_inference_duration_seconds .*cancelled/);
  });
});
