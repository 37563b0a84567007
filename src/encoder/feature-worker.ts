// Worker thread for scripts/features.ts: encodes its share of the images.
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeToRgb } from '../image/decode.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import { loadEncoder } from './registry.js';

const { files, encoder: name, models } = workerData as { files: string[]; encoder: string; models: string };
await initBackend(parseBackendName(process.env.TF_BACKEND));
const encoder = await loadEncoder(name, models);
for (const file of files) {
  const rgb = await decodeToRgb(await readFile(file), encoder.inputSize);
  const features = tf.tidy(() => {
    const x = tf.tensor4d(rgb.data, [1, encoder.inputSize, encoder.inputSize, 3], 'float32');
    return encoder.encode(x);
  });
  const row = (await features.data()) as Float32Array;
  features.dispose();
  parentPort!.postMessage({ file, features: row });
}
encoder.dispose();
