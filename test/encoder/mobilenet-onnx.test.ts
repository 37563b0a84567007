import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptionService } from '../../src/caption/service.js';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { encodeFeatures } from '../../src/encoder/pixels.js';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { exportEncoder, mobileNetOnnx } from '../../src/encoder/onnx.js';
import { VqaService } from '../../src/vqa/service.js';
import { agreement } from '../onnx/parity.js';

// Measured here: the shipped MobileNetV2 gives features (max ≈ 1.8) within 1e-5
// of tfjs-wasm's on ORT's CPU provider; the bounds leave room for other CPUs'
// kernels and still catch a drift (a BN epsilon ×2 moves them by ~1e-2).
const MAX_ABS = 1e-4;
const MIN_COSINE = 1 - 1e-6;

/** Three test images, 224×224 RGB 0..255: seeded noise, a gradient, flat blocks of colour. */
function images(): tf.Tensor4D {
  return tf.tidy(() => {
    const noise = tf.randomUniform([1, 224, 224, 3], 0, 255, 'float32', 3);
    const ramp = tf.linspace(0, 255, 224);
    const gradient = tf
      .stack([ramp.reshape([1, 224]).tile([224, 1]), ramp.reshape([224, 1]).tile([1, 224]), tf.fill([224, 224], 90)], 2)
      .expandDims(0);
    const blocks = tf.concat([tf.fill([1, 112, 224, 3], 30), tf.fill([1, 112, 224, 3], 220)], 1);
    return tf.concat([noise, gradient, blocks], 0) as tf.Tensor4D;
  });
}

async function jpeg(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(160 * 120 * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i += 3) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const x = (i / 3) % 160;
    raw[i] = x < 80 ? 200 : (s >> 8) & 255;
    raw[i + 1] = (x * 3) & 255;
    raw[i + 2] = (s >> 16) & 255;
  }
  return sharp(raw, { raw: { width: 160, height: 120, channels: 3 } })
    .jpeg()
    .toBuffer();
}

let tfjs: Encoder;
let onnx: Encoder;
beforeAll(async () => {
  await initBackend();
  tfjs = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'tfjs' });
  onnx = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'onnx', device: 'cpu' });
});
afterAll(() => {
  tfjs.dispose();
  onnx.dispose();
});

describe('MobileNetV2 on onnxruntime against tfjs', () => {
  it('the shipped model.onnx is what the exporter writes from the shipped weights', async () => {
    const { bytes, from, reason } = await mobileNetOnnx('models');
    expect(reason).toBeUndefined(); // else the server would re-export at every start
    expect(from).toBe('file');
    const fresh = await exportEncoder('mobilenet_v2', 'models');
    expect(Buffer.compare(Buffer.from(fresh), Buffer.from(bytes))).toBe(0);
  });

  it('gives the same features in mobilenet_v2+centernet, without leaking tensors', async () => {
    expect(onnx.runtime).toBe('onnx');
    expect([onnx.dim, onnx.inputSize]).toEqual([tfjs.dim, tfjs.inputSize]);
    const x = images();
    await encodeFeatures(onnx, x); // warm-up allocations
    const before = tf.memory().numTensors;
    const got = await encodeFeatures(onnx, x);
    const want = await encodeFeatures(tfjs, x);
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < 3; i++) {
      const mobile = (f: Float32Array) => f.subarray(i * tfjs.dim, i * tfjs.dim + 1280);
      const { maxAbs, cosine } = agreement(mobile(want), mobile(got));
      expect(maxAbs, `image ${i}`).toBeLessThan(MAX_ABS);
      expect(cosine, `image ${i}`).toBeGreaterThan(MIN_COSINE);
    }
    // The centernet part (ORT against tfjs too; test/encoder/centernet-onnx.test.ts compares it on photos).
    expect(agreement(want, got).maxAbs).toBeLessThan(MAX_ABS);
    x.dispose();
  });

  it('says to use encodeFeatures when asked for synchronous features', () => {
    const x = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
    expect(() => onnx.encode(x)).toThrow(/asynchronous: call encodeFeatures/);
    x.dispose();
  });

  it('gives the same beam and greedy captions and VQA answers', async () => {
    const services = async (rt: 'tfjs' | 'onnx') => {
      // The encoder on `rt`; the decoders stay on tfjs.
      const caption = await CaptionService.load('models', undefined, {
        loadEncoder: (name, dir) => loadEncoder(name, dir, { runtime: rt, device: 'cpu' }),
      });
      const vqa = await VqaService.load('models', { shared: [caption.encoder] });
      return { caption, vqa };
    };
    const runs = [await services('tfjs'), await services('onnx')];
    expect(runs[1]!.caption.encoder.runtime).toBe('onnx');
    const outputs = await Promise.all(
      runs.map(async ({ caption, vqa }) => {
        const out: unknown[] = [];
        for (const seed of [1, 2, 3]) {
          const image = await jpeg(seed);
          out.push((await caption.caption(image, { ...DEFAULT_CAPTION_SEARCH, beamSize: 3, n: 3 })).captions);
          out.push((await caption.caption(image, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy', beamSize: 1 })).captions.map((c) => c.text));
          out.push((await vqa.answer(image, 'what color is the dog?', { topK: 3 })).answers.map((a) => a.answer));
        }
        caption.dispose();
        vqa.dispose();
        return out;
      }),
    );
    // Log-probabilities differ in the last digits; the words and their ranking must not.
    const words = (o: unknown[]) => JSON.stringify(o, (k, v: unknown) => (k === 'logprob' || k === 'score' ? undefined : v));
    expect(words(outputs[1]!)).toBe(words(outputs[0]!));
  });
});
