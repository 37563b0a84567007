/**
 * Encoder latency, tfjs (the backend ladder) against onnxruntime, in one run so
 * the ratio holds on a noisy machine; also how far their features are apart.
 * CenterNet (224) is timed twice: features alone, and features + detections
 * (encodeAndDetect, one image per call, as /caption runs it).
 *
 *   npx tsx scripts/bench-encoders.ts [--images 20] [--batch 1] [--inception]
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { cli } from '../src/cli/main.js';
import { loadCenterNet } from '../src/encoder/centernet.js';
import { loadOrtCenterNet } from '../src/encoder/centernet-ort.js';
import { loadMobileNet } from '../src/encoder/mobilenet.js';
import { ortEncoder } from '../src/encoder/ort.js';
import { encodeFeatures } from '../src/encoder/pixels.js';
import type { Encoder } from '../src/encoder/types.js';
import { initBackend } from '../src/nn/backend.js';
import { inceptionOnnx, mobileNetOnnx, ONNX_INPUT, type ExportableName } from '../src/encoder/onnx.js';
import { loadInception } from '../src/encoder/inception.js';
import { createSession } from '../src/onnx/runtime.js';

const args = cli({
  usage: 'npx tsx scripts/bench-encoders.ts',
  summary: 'ms/image of each encoder on tfjs and on onnxruntime (CPU, one thread per core), and the max abs / cosine of their features.',
  example: 'npx tsx scripts/bench-encoders.ts --images 20 --inception',
  options: {
    images: { type: 'number', int: true, min: 1, max: 1000, default: 20, description: 'timed batches per runtime' },
    batch: { type: 'number', int: true, min: 1, max: 64, default: 1, description: 'images per call' },
    inception: { type: 'boolean', description: "also nsfwjs's InceptionV3 (exported in memory first; slow on wasm)" },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});

const backend = await initBackend();

async function onnxEncoder(name: ExportableName): Promise<Encoder> {
  const bytes = name === 'mobilenet_v2' ? (await mobileNetOnnx(args.models)).bytes : (await inceptionOnnx(args.models)).bytes;
  return ortEncoder(await createSession(bytes), { name, input: ONNX_INPUT, output: 'features' });
}

async function msPerImage(encoder: Encoder, x: tf.Tensor4D, runs: number, detect = false): Promise<number> {
  const once = () => (detect ? encoder.encodeAndDetect!(x) : encodeFeatures(encoder, x));
  await once(); // warm-up: allocations, kernel selection
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await once();
  return (performance.now() - t0) / runs / x.shape[0];
}

function agreement(a: Float32Array, b: Float32Array): { maxAbs: number; cosine: number } {
  let maxAbs = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((v, i) => {
    maxAbs = Math.max(maxAbs, Math.abs(v - b[i]!));
    dot += v * b[i]!;
    na += v * v;
    nb += b[i]! * b[i]!;
  });
  return { maxAbs, cosine: dot / Math.sqrt(na * nb) };
}

const rows: Record<string, string | number>[] = [];
const pairs: [ExportableName, () => Promise<Encoder>][] = [['mobilenet_v2', () => loadMobileNet(args.models)]];
if (args.inception) pairs.push(['inception_v3', loadInception]);
for (const [name, loadTfjs] of pairs) {
  const tfjs = await loadTfjs();
  const ort = await onnxEncoder(name);
  const x = tf.randomUniform([args.batch, tfjs.inputSize, tfjs.inputSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  // Slow encoders get fewer runs so the script ends in minutes on wasm.
  const runs = name === 'inception_v3' && backend !== 'tfjs-node' ? Math.min(args.images, 5) : args.images;
  const tfjsMs = await msPerImage(tfjs, x, runs);
  const ortMs = await msPerImage(ort, x, runs);
  const { maxAbs, cosine } = agreement(await encodeFeatures(tfjs, x), await encodeFeatures(ort, x));
  rows.push({
    encoder: name,
    batch: args.batch,
    runs,
    [`tfjs-${backend} ms/img`]: +tfjsMs.toFixed(1),
    'ort-cpu ms/img': +ortMs.toFixed(1),
    speedup: +(tfjsMs / ortMs).toFixed(1),
    max_abs_diff: +maxAbs.toExponential(2),
    cosine: +cosine.toFixed(9),
  });
  x.dispose();
  tfjs.dispose();
  ort.dispose();
}
{
  const tfjs = await loadCenterNet();
  const ort = await loadOrtCenterNet(args.models);
  const batch = tf.randomUniform([args.batch, tfjs.inputSize, tfjs.inputSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const one = batch.slice([0, 0, 0, 0], [1, -1, -1, -1]);
  const { maxAbs, cosine } = agreement(await encodeFeatures(tfjs, batch), await encodeFeatures(ort, batch));
  for (const [label, x, detect] of [
    ['centernet', batch, false],
    ['centernet +detect', one, true],
  ] as const) {
    const tfjsMs = await msPerImage(tfjs, x, args.images, detect);
    const ortMs = await msPerImage(ort, x, args.images, detect);
    rows.push({
      encoder: label,
      batch: x.shape[0],
      runs: args.images,
      [`tfjs-${backend} ms/img`]: +tfjsMs.toFixed(1),
      'ort-cpu ms/img': +ortMs.toFixed(1),
      speedup: +(tfjsMs / ortMs).toFixed(1),
      max_abs_diff: +maxAbs.toExponential(2),
      cosine: +cosine.toFixed(9),
    });
  }
  tf.dispose([batch, one]);
  tfjs.dispose();
  ort.dispose();
}
console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), tfjs backend ${backend}`);
console.table(rows);
