// Worker thread for scripts/features.ts: encodes its share of the images.
import type * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeToRgb } from '../image/decode.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import type { DetectedObject } from './types.js';
import { chooseRuntime, INFERENCE_RUNTIMES } from '../onnx/runtime.js';
import { REGION_ENCODER, selectRegions } from './regions.js';
import { loadEncoder } from './registry.js';
import { encodeFeatures, rgbBatch } from './pixels.js';

/** Posted once per image; `objects` (detections) only when workerData.labels or .regions is set; `regions` only with .regions. */
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
  /** Region descriptors of at most maxRegions detections per image, from the serving encoder's encodeWithRegions. */
  regions?: { maxRegions: number };
};
await initBackend(parseBackendName(process.env.TF_BACKEND));
// The same runtime choice as the server (onnxruntime when it loads; INFERENCE_RUNTIME forces one).
const forced = INFERENCE_RUNTIMES.find((r) => r === process.env.INFERENCE_RUNTIME);
const runtime = await chooseRuntime(forced);
const encoder = await loadEncoder(name, models, runtime);
if (labels && !encoder.encodeAndDetect)
  throw new Error(`encoder "${name}" does not detect objects; use centernet or a combination with it`);
if (regions && !encoder.encodeWithRegions)
  throw new Error(`encoder "${name}" gives no regions: it needs a grid part and a detector (${REGION_ENCODER})`);
for (const file of files) {
  const rgb = await decodeToRgb(await readFile(file), encoder.inputSize);
  const x = rgbBatch(rgb);
  try {
    parentPort!.postMessage((await encodeOne(file, x)) satisfies FeatureMessage);
  } finally {
    x.dispose();
  }
}
encoder.dispose();

/** One image's message: its regions (the serving encoder's own pass), its features and detections, or its features. */
async function encodeOne(file: string, x: tf.Tensor4D): Promise<FeatureMessage> {
  if (regions && encoder.encodeWithRegions) {
    // What the server computes for a caption model that reads regions, cut to --max-regions: selectRegions
    // recomputes the whole image's class scores from the kept detections, as training and serving select.
    // Every object already scores ≥ minScore (encodeWithRegions' floor), so the selection's floor is 0.
    const out = await encoder.encodeWithRegions(x, minScore);
    const kept = selectRegions(out.regions, out.objects, regions.maxRegions, 0);
    return { file, features: out.features, objects: kept.objects, regions: kept.rows };
  }
  if (labels && encoder.encodeAndDetect) {
    // One forward pass gives both the feature vector and the detections.
    const { features, objects } = await encoder.encodeAndDetect(x, minScore);
    return { file, features, objects };
  }
  // encodeFeatures, not encodeRgb: mobilenet_v2 runs in onnxruntime, which only encodes asynchronously.
  return { file, features: await encodeFeatures(encoder, x) };
}
