import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CaptionService } from '../../src/caption/service.js';
import { loadThreadedEncoder, type ThreadedEncoder } from '../../src/encoder/thread.js';
import { buildApp } from '../../src/server/app.js';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { initBackend } from '../../src/nn/backend.js';
import { chooseRuntime, type RuntimeChoice } from '../../src/onnx/runtime.js';
import { loadConfig } from '../../src/app/config.js';
import { disposeServices, loadServices, type ServiceSet } from '../../src/app/services.js';

// The server's models with the encoder in a worker thread (the default on onnx) and without:
// the same captions, objects and answers, through the batcher as the server serves them.
let threaded: ServiceSet;
let inline: ServiceSet;
let onnx: RuntimeChoice;
beforeAll(async () => {
  await initBackend();
  onnx = await chooseRuntime('onnx');
  threaded = await loadServices(loadConfig({}), onnx);
  inline = await loadServices(loadConfig({ ENCODER_THREAD: 'off' }), onnx);
}, 120_000);
afterAll(() => {
  for (const set of [threaded, inline]) if (set) disposeServices(set);
});

describe('ENCODER_THREAD in the server’s models', () => {
  it('puts the caption encoder, under the batcher, in a worker thread only when on', () => {
    const x = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
    // encode() (synchronous) passes through the batcher and says where the encoder runs.
    expect(() => threaded.caption!.encoder.encode(x)).toThrow(/runs in a worker thread/);
    expect(() => inline.caption!.encoder.encode(x)).toThrow(/runs in onnxruntime/);
    x.dispose();
  });

  it('serves the same captions, objects and VQA answers as the encoder on the main thread', async () => {
    for (const photo of ['bus', 'zebra']) {
      const image = await readFile(`test/fixtures/photos/${photo}.jpg`);
      // Concurrent requests share a batch: one message to the thread for both.
      const [a, b] = await Promise.all([
        threaded.caption!.caption(image, DEFAULT_CAPTION_SEARCH),
        threaded.caption!.caption(image, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' }),
      ]);
      const [wantA, wantB] = [
        await inline.caption!.caption(image, DEFAULT_CAPTION_SEARCH),
        await inline.caption!.caption(image, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' }),
      ];
      for (const [got, want] of [
        [a, wantA],
        [b, wantB],
      ] as const) {
        expect(got.captions, photo).toEqual(want.captions);
        expect(got.objects, photo).toEqual(want.objects);
      }
      const question = 'what is in the picture?';
      const answers = (s: ServiceSet) => s.vqa!.answer(image, question, { topK: 3 }).then((r) => r.answers);
      expect(await answers(threaded), photo).toEqual(await answers(inline));
    }
  });
});

describe('a crashed encoder thread in the server', () => {
  it('answers 503 (readiness and captions) while the thread restarts, counts the restart, then serves again', async () => {
    let thread: ThreadedEncoder | undefined;
    const restart = { firstDelayMs: 300, maxDelayMs: 300, stableMs: 60_000 };
    const caption = await CaptionService.load('models', undefined, {
      loadEncoder: async (name, dir) => (thread = await loadThreadedEncoder(name, dir, { runtime: onnx, restart })),
    });
    const app = await buildApp({ config: loadConfig({ RATE_LIMIT_MAX: '0' }), backend: 'cpu', caption });
    await app.ready();
    try {
      const image = await readFile('test/fixtures/photos/bus.jpg');
      const post = () => request(app.server).post('/caption').set('content-type', 'image/jpeg').send(image);
      expect((await post()).status).toBe(200);
      await thread!.kill();

      const ready = await request(app.server).get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.message).toMatch(/^encoder "mobilenet_v2\+centernet" is restarting after the thread of encoder .* exited/);
      const refused = await post();
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('encoder_unavailable');
      expect(refused.headers['retry-after']).toBe('1');

      await vi.waitFor(async () => expect((await request(app.server).get('/health/ready')).status).toBe(200), {
        timeout: 30_000,
        interval: 50,
      });
      expect((await request(app.server).get('/metrics')).text).toMatch(/^captioner_encoder_thread_restarts_total 1$/m);
      expect((await post()).status).toBe(200);
    } finally {
      await app.close();
      caption.dispose();
      await thread?.close();
    }
  }, 120_000);
});
