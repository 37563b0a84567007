import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rgbBatch } from '../../src/encoder/pixels.js';
import { loadEncoder, type EncoderRuntime } from '../../src/encoder/registry.js';
import {
  CLOSE_GRACE_MS,
  closeEncoderThreads,
  EncoderUnavailableError,
  loadThreadedEncoder,
  type ThreadedEncoder,
} from '../../src/encoder/thread.js';
import type { DetectedObject, Encoder } from '../../src/encoder/types.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { initBackend } from '../../src/nn/backend.js';
import { chooseRuntime } from '../../src/onnx/runtime.js';
import { agreement } from '../onnx/parity.js';
import { regionDim } from '../../src/encoder/regions.js';

const NAME = 'mobilenet_v2+centernet'; // the shipped caption model's encoder
const PHOTOS = ['bus', 'horses', 'zebra'] as const;
const MIN_SCORE = 0.1;
// The same ORT graphs on the same CPU in both threads: measured bitwise equal; the bound leaves room for nothing more.
const MAX_ABS = 1e-6;
const CRASH_WORKER = new URL('./crash-worker.js', import.meta.url);

let rt: EncoderRuntime;
let local: Encoder;
let threaded: ThreadedEncoder;
const photos = new Map<string, tf.Tensor4D>();
beforeAll(async () => {
  await initBackend();
  rt = await chooseRuntime('onnx');
  [local, threaded] = await Promise.all([loadEncoder(NAME, 'models', rt), loadThreadedEncoder(NAME, 'models', { runtime: rt })]);
  for (const p of PHOTOS)
    photos.set(p, rgbBatch(await decodeToRgb(readFileSync(new URL(`../fixtures/photos/${p}.jpg`, import.meta.url)), 224)));
}, 120_000);
afterAll(() => {
  local?.dispose();
  threaded?.dispose();
  tf.dispose([...photos.values()]);
});

const photo = (p: string) => photos.get(p)!;

function expectSame(got: { features: Float32Array; objects: DetectedObject[] }, want: typeof got, what: string) {
  expect(got.features.length, what).toBe(want.features.length);
  expect(agreement(got.features, want.features).maxAbs, what).toBeLessThanOrEqual(MAX_ABS);
  expect(
    got.objects.map((o) => o.label),
    what,
  ).toEqual(want.objects.map((o) => o.label));
  got.objects.forEach((o, i) => {
    const w = want.objects[i]!;
    expect(Math.abs(o.score - w.score), what).toBeLessThanOrEqual(MAX_ABS);
    o.box.forEach((v, k) => expect(Math.abs(v - w.box[k]!), what).toBeLessThanOrEqual(MAX_ABS));
  });
}

describe('the encoder in a worker thread', () => {
  it('is the encoder it wraps: name, size, runtime', () => {
    expect([threaded.name, threaded.dim, threaded.inputSize, threaded.runtime]).toEqual([local.name, local.dim, local.inputSize, 'onnx']);
    expect(() => threaded.encode(photo('bus'))).toThrow(/worker thread, which is asynchronous/);
  });

  it('gives the in-process encoder’s features and detections on the fixture photos, without leaking tensors', async () => {
    await threaded.encodeAndDetect!(photo('bus'), MIN_SCORE); // warm-up allocations
    const [before, beforeWorker] = [tf.memory().numTensors, await threaded.workerTensors()];
    for (const p of PHOTOS) {
      const want = await local.encodeAndDetect!(photo(p), MIN_SCORE);
      expect(want.objects.length, p).toBeGreaterThan(0);
      expectSame(await threaded.encodeAndDetect!(photo(p), MIN_SCORE), want, p);
      expect(agreement(await threaded.encodeAsync(photo(p)), await local.encodeAsync!(photo(p))).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
    }
    // A batch: one message, each image's rows and objects in order.
    const batch = tf.concat([photo('horses'), photo('zebra')]);
    const [want, got] = [await local.encodeAndDetectBatch!(batch, MIN_SCORE), await threaded.encodeAndDetectBatch!(batch, MIN_SCORE)];
    const wantFeatures = await local.encodeAsync!(batch);
    const gotFeatures = await threaded.encodeAsync(batch);
    batch.dispose();
    expect(got.objects).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const rows = (r: Float32Array) => r.subarray(i * local.dim, (i + 1) * local.dim);
      expectSame(
        { features: rows(got.features), objects: got.objects[i]! },
        { features: rows(want.features), objects: want.objects[i]! },
        `batch ${i}`,
      );
    }
    expect(agreement(gotFeatures, wantFeatures).maxAbs).toBeLessThanOrEqual(MAX_ABS);
    expect(tf.memory().numTensors).toBe(before);
    expect(await threaded.workerTensors()).toBe(beforeWorker);
  });

  it('transports the in-process encoder’s regions intact, one image or a batch, without leaking tensors', async () => {
    expect(threaded.encodeWithRegions).toBeDefined();
    await threaded.encodeWithRegions!(photo('bus'), MIN_SCORE); // warm-up allocations
    const [before, beforeWorker] = [tf.memory().numTensors, await threaded.workerTensors()];
    for (const p of PHOTOS) {
      const want = await local.encodeWithRegions!(photo(p), MIN_SCORE);
      const got = await threaded.encodeWithRegions!(photo(p), MIN_SCORE);
      expectSame(got, want, p);
      expect(got.regions.length, p).toBe((want.objects.length + 1) * regionDim(1280));
      expect(agreement(got.regions, want.regions).maxAbs, p).toBeLessThanOrEqual(MAX_ABS);
    }
    const batch = tf.concat([photo('zebra'), photo('horses')]);
    const [want, got] = [await local.encodeWithRegionsBatch!(batch, MIN_SCORE), await threaded.encodeWithRegionsBatch!(batch, MIN_SCORE)];
    batch.dispose();
    expect(got.regions).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const rows = (r: Float32Array) => r.subarray(i * local.dim, (i + 1) * local.dim);
      expectSame(
        { features: rows(got.features), objects: got.objects[i]! },
        { features: rows(want.features), objects: want.objects[i]! },
        `batch ${i}`,
      );
      expect(agreement(got.regions[i]!, want.regions[i]!).maxAbs, `batch ${i}`).toBeLessThanOrEqual(MAX_ABS);
    }
    // The two images' regions are told apart (a reply that swapped or repeated them would fail above).
    expect(got.regions[0]!.length === got.regions[1]!.length && agreement(got.regions[0]!, got.regions[1]!).maxAbs === 0).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    expect(await threaded.workerTensors()).toBe(beforeWorker);
  });

  it('answers concurrent calls each with its own image’s result', async () => {
    const want = new Map<string, { features: Float32Array; objects: DetectedObject[] }>();
    for (const p of PHOTOS) want.set(p, await local.encodeAndDetect!(photo(p), MIN_SCORE));
    // The photos differ, so a swapped answer cannot pass.
    expect(agreement(want.get('bus')!.features, want.get('horses')!.features).maxAbs).toBeGreaterThan(0.1);
    const order = ['bus', 'horses', 'zebra', 'horses', 'bus', 'zebra', 'bus'];
    const got = await Promise.all(order.map((p) => threaded.encodeAndDetect!(photo(p), MIN_SCORE)));
    got.forEach((g, i) => expectSame(g, want.get(order[i]!)!, `call ${i} (${order[i]})`));
  });

  it('rejects a bad call with the encoder’s error and keeps serving', async () => {
    const wrong = tf.zeros([1, 224, 224, 4]) as tf.Tensor4D;
    await expect(threaded.encodeAsync(wrong)).rejects.toThrow(/takes \[N, 224, 224, 3\] pixels; got \[1, 224, 224, 4\]/);
    wrong.dispose();
    const want = await local.encodeAsync!(photo('bus'));
    expect(agreement(await threaded.encodeAsync(photo('bus')), want).maxAbs).toBeLessThanOrEqual(MAX_ABS);
  });
});

describe('the encoder thread’s life', () => {
  it('dispose() rejects the pending calls and every later one', async () => {
    const one = await loadThreadedEncoder('mobilenet_v2', 'models', { runtime: rt });
    const batch = tf.concat(Array.from({ length: 8 }, () => photo('bus')));
    const pending = one.encodeAsync(batch);
    // The pixels are read before they are posted: let the call reach the thread, which takes tens of ms over 8 images.
    await new Promise((r) => setTimeout(r, 0));
    one.dispose();
    batch.dispose();
    await expect(pending).rejects.toThrow('encoder "mobilenet_v2" was disposed while this call was pending');
    await expect(one.encodeAsync(photo('bus'))).rejects.toThrow('encoder "mobilenet_v2" is disposed');
    await one.close(); // the thread ends (after the run it was in)
  });

  // This closes every thread, the shared one of the first describe included: it runs after those tests.
  it('closeEncoderThreads() waits for a thread in the middle of a run to finish and end', async () => {
    const one = await loadThreadedEncoder('mobilenet_v2', 'models', { runtime: rt });
    const batch = tf.concat(Array.from({ length: 8 }, () => photo('bus')));
    const pending = one.encodeAsync(batch).catch((e: unknown) => e as Error);
    await new Promise((r) => setTimeout(r, 0));
    await closeEncoderThreads();
    batch.dispose();
    expect((await pending) as Error).toBeInstanceOf(Error);
    await expect(one.workerTensors()).rejects.toThrow(/is disposed|exited/);
  });

  it('a load error rejects load with one line', async () => {
    const err = await loadThreadedEncoder('mobilenet_v2', 'no-such-models-dir', { runtime: rt }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^could not load encoder "mobilenet_v2" in its worker thread: .*no-such-models-dir/);
    expect(err?.message).not.toContain('\n');
    await expect(loadThreadedEncoder('resnet', 'models', { runtime: rt })).rejects.toThrow(
      /^could not load encoder "resnet" in its worker thread: unknown encoder "resnet"/,
    );
    await expect(loadThreadedEncoder('mobilenet_v2', 'models', { runtime: { runtime: 'tfjs' } })).rejects.toThrow(
      /ONNX Runtime encoders only/,
    );
  });

  it.each([
    ['throws', /^the worker thread of encoder "fake" crashed: boom/],
    ['exits', /^the worker thread of encoder "fake" exited \(code 3\)/],
  ])('a thread that %s rejects its pending calls, then every call while it is down', async (mode, message) => {
    const restart = { firstDelayMs: 60_000, maxDelayMs: 60_000, stableMs: 60_000 };
    const fake = await loadThreadedEncoder('fake', mode, { runtime: rt, workerUrl: CRASH_WORKER, restart });
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    await expect(fake.encodeAsync(x)).rejects.toThrow(message);
    const later = await fake.encodeAsync(x).then(
      () => new Error('resolved'),
      (e: unknown) => e as Error,
    );
    expect(later).toBeInstanceOf(EncoderUnavailableError);
    expect(later.message).toMatch(
      /^encoder "fake" is restarting after the thread of encoder "fake" (crashed: boom|exited \(code 3\)); try again shortly$/,
    );
    expect(fake.status()).toEqual({ restarts: 0, down: later.message });
    x.dispose();
    await fake.close();
    expect(fake.status()).toEqual({ restarts: 0 }); // closed, not down: no restart is pending
  });

  it('a thread that dies is restarted after the backoff, which doubles while restarts keep dying', async () => {
    const restart = { firstDelayMs: 50, maxDelayMs: 200, stableMs: 60_000 };
    const fake = await loadThreadedEncoder('fake', 'exits', { runtime: rt, workerUrl: CRASH_WORKER, restart });
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const upAfter = async () => {
      const t0 = performance.now();
      await vi.waitFor(() => expect(fake.status().down).toBeUndefined(), { timeout: 20_000, interval: 5 });
      return performance.now() - t0;
    };
    await expect(fake.encodeAsync(x)).rejects.toThrow(/exited/);
    expect(fake.status().down).toBeDefined();
    const first = await upAfter();
    expect(fake.status().restarts).toBe(1);
    await expect(fake.encodeAsync(x)).rejects.toThrow(/exited/); // the new thread serves (and dies) again
    const second = await upAfter();
    expect(fake.status().restarts).toBe(2);
    // 50 ms then 100 ms of backoff, each plus a thread's start.
    expect(first).toBeGreaterThanOrEqual(45);
    expect(second).toBeGreaterThanOrEqual(95);
    x.dispose();
    await fake.close();
  }, 60_000);

  it('kill() ends the real thread as a crash would; it comes back and encodes as before', async () => {
    const restart = { firstDelayMs: 10, maxDelayMs: 10, stableMs: 60_000 };
    const one = await loadThreadedEncoder('mobilenet_v2', 'models', { runtime: rt, restart });
    const want = await one.encodeAsync(photo('bus'));
    await one.kill();
    await expect(one.encodeAsync(photo('bus'))).rejects.toBeInstanceOf(EncoderUnavailableError);
    await vi.waitFor(() => expect(one.status()).toEqual({ restarts: 1 }), { timeout: 30_000, interval: 10 });
    expect(agreement(await one.encodeAsync(photo('bus')), want).maxAbs).toBe(0);
    // The thread ends as soon as it is idle, not after the close grace (it took 10 s when it waited for it).
    const t0 = performance.now();
    await one.close();
    expect(performance.now() - t0).toBeLessThan(CLOSE_GRACE_MS / 2);
  }, 60_000);
});
