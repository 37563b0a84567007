// Worker thread for scripts/features.ts: encodes its share of the images.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeToRgb } from '../image/decode.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import type { DetectedObject } from './types.js';
import { chooseRuntime, INFERENCE_RUNTIMES } from '../onnx/runtime.js';
import { loadOrtCenterNet } from './centernet-ort.js';
import { loadOrtMobileNet } from './ort.js';
import { regionDescriptors } from './regions.js';
import { loadEncoder } from './registry.js';
import { encodeFeatures, rgbBatch } from './pixels.js';

/** Posted once per image; `objects` (detections) only when workerData.labels is set; `regions` only with workerData.regions. */
export interface FeatureMessage {
  file: string;
  features: Float32Array;
  objects?: DetectedObject[];
  /** [objects.length + 1, regionDim] region descriptors (src/encoder/regions.ts), the whole image last. */
  regions?: Float32Array;
}

const {
  files,
  encoder: name,
  models,
  labels,
  minScore,
  regions,
} = workerData as {
  files: string[];
  encoder: string;
  models: string;
  labels?: boolean;
  minScore?: number;
  /** Region descriptors of at most maxRegions detections per image (MobileNetV2's grid, CenterNet's boxes). */
  regions?: { maxRegions: number };
};
await initBackend(parseBackendName(process.env.TF_BACKEND));
// The same runtime choice as the server (onnxruntime when it loads; INFERENCE_RUNTIME forces one).
const forced = INFERENCE_RUNTIMES.find((r) => r === process.env.INFERENCE_RUNTIME);
const runtime = await chooseRuntime(forced);
if (regions) {
  await encodeRegions(regions.maxRegions);
  process.exit(0);
}
const encoder = await loadEncoder(name, models, runtime);
if (labels && !encoder.encodeAndDetect)
  throw new Error(`encoder "${name}" does not detect objects; use centernet or a combination with it`);
for (const file of files) {
  const rgb = await decodeToRgb(await readFile(file), encoder.inputSize);
  if (labels && encoder.encodeAndDetect) {
    // One forward pass gives both the feature vector and the detections.
    const x = rgbBatch(rgb);
    const { features, objects } = await encoder.encodeAndDetect(x, minScore);
    x.dispose();
    parentPort!.postMessage({ file, features, objects } satisfies FeatureMessage);
    continue;
  }
  // encodeFeatures, not encodeRgb: mobilenet_v2 runs in onnxruntime, which only encodes asynchronously.
  const x = rgbBatch(rgb);
  const row = await encodeFeatures(encoder, x);
  x.dispose();
  parentPort!.postMessage({ file, features: row } satisfies FeatureMessage);
}
encoder.dispose();

/**
 * MobileNetV2's pooled features and 7×7 grid and CenterNet's detections, both at 224, each
 * image's regions pooled from that grid: what the serving encoder computes in its one pass.
 */
async function encodeRegions(maxRegions: number): Promise<void> {
  if (runtime.runtime !== 'onnx') throw new Error('--regions needs onnxruntime (the grid graph is an ONNX export)');
  const grid = await loadOrtMobileNet(models, runtime.device);
  const detector = await loadOrtCenterNet(models, runtime.device);
  for (const file of files) {
    const x = rgbBatch(await decodeToRgb(await readFile(file), grid.inputSize));
    try {
      const { features, grid: cells, gridShape } = await grid.encodeWithGrid!(x);
      const objects = (await detector.encodeAndDetect(x, minScore)).objects.slice(0, maxRegions);
      const rows = regionDescriptors(cells, ...gridShape, objects);
      parentPort!.postMessage({ file, features, objects, regions: rows } satisfies FeatureMessage);
    } finally {
      x.dispose();
    }
  }
  grid.dispose();
  detector.dispose();
}
