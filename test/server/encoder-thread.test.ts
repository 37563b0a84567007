import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { setDefaultEncoderRuntime } from '../../src/encoder/registry.js';
import { initBackend } from '../../src/nn/backend.js';
import { chooseRuntime } from '../../src/onnx/runtime.js';
import { loadConfig } from '../../src/server/config.js';
import { disposeServices, loadServices, type ServiceSet } from '../../src/server/models.js';

// The server's models with the encoder in a worker thread (the default on onnx) and without:
// the same captions, objects and answers, through the batcher as the server serves them.
let threaded: ServiceSet;
let inline: ServiceSet;
beforeAll(async () => {
  await initBackend();
  setDefaultEncoderRuntime(await chooseRuntime('onnx'));
  threaded = await loadServices(loadConfig({}));
  inline = await loadServices(loadConfig({ ENCODER_THREAD: 'off' }));
}, 120_000);
afterAll(() => {
  for (const set of [threaded, inline]) if (set) disposeServices(set);
  setDefaultEncoderRuntime({ runtime: 'tfjs' });
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
