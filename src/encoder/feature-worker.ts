// Worker thread for scripts/features.ts: encodes its share of the images.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeToRgb } from '../image/decode.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import type { DetectedObject } from './types.js';
import { chooseRuntime, INFERENCE_RUNTIMES } from '../onnx/runtime.js';
import { loadEncoder } from './registry.js';
import { encodeFeatures, rgbBatch } from './pixels.js';

/** Posted once per image; `objects` (detections) only when workerData.labels is set. */
export interface FeatureMessage {
  file: string;
  features: Float32Array;
  objects?: DetectedObject[];
}

const {
  files,
  encoder: name,
  models,
  labels,
  minScore,
} = workerData as {
  files: string[];
  encoder: string;
  models: string;
  labels?: boolean;
  minScore?: number;
};
await initBackend(parseBackendName(process.env.TF_BACKEND));
// The same runtime choice as the server (onnxruntime when it loads; INFERENCE_RUNTIME forces one).
const forced = INFERENCE_RUNTIMES.find((r) => r === process.env.INFERENCE_RUNTIME);
const encoder = await loadEncoder(name, models, await chooseRuntime(forced));
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
