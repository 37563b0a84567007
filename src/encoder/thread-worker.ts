// Worker thread behind src/encoder/thread.ts: holds one encoder on ONNX Runtime and answers its requests.
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { log } from '../log.js';
import { initBackend } from '../nn/backend.js';
import { setIntraOpThreads } from '../onnx/runtime.js';
import { detectEach, loadEncoder, regionsEach } from './registry.js';
import { encodeFeatures } from './pixels.js';
import type { CallRequest, ThreadReply, ThreadRequest, ThreadWorkerData } from './thread.js';
import type { Encoder } from './types.js';

const port = parentPort!;
log.setBindings({ thread: 'encoder' }); // this thread's lines (its cpu backend, the ORT sessions) say where they come from
const { name, modelsDir, runtime, intraOpThreads } = workerData as ThreadWorkerData;
const post = (m: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** One request's answer; the features' and regions' buffers are transferred back. */
async function answer(encoder: Encoder, req: CallRequest): Promise<void> {
  if (req.op === 'tensors') return post({ type: 'count', id: req.id, count: tf.memory().numTensors });
  const x = tf.tensor4d(req.pixels, req.shape);
  try {
    const out = await run(encoder, req, x);
    // Each array owns its buffer (the encoders return fresh arrays); a Set guards against posting one twice.
    const buffers = new Set([out.features, ...(out.regions ?? [])].map((a) => a.buffer as ArrayBuffer));
    post({ type: 'result', id: req.id, ...out }, [...buffers]);
  } finally {
    x.dispose();
  }
}

type Result = Omit<Extract<ThreadReply, { type: 'result' }>, 'type' | 'id'>;

/** The encoder call a request names. */
async function run(encoder: Encoder, req: Exclude<CallRequest, { op: 'tensors' }>, x: tf.Tensor4D): Promise<Result> {
  switch (req.op) {
    case 'features':
      return { features: await encodeFeatures(encoder, x) };
    case 'detect-one': {
      if (!encoder.encodeAndDetect) throw new Error(`encoder "${name}" does not detect objects`);
      const out = await encoder.encodeAndDetect(x, req.minScore);
      return { features: out.features, objects: [out.objects] };
    }
    case 'detect-batch':
      return detectEach(encoder, x, req.minScore);
    case 'regions-one': {
      if (!encoder.encodeWithRegions) throw new Error(`encoder "${name}" gives no regions`);
      const out = await encoder.encodeWithRegions(x, req.minScore);
      return { features: out.features, objects: [out.objects], regions: [out.regions] };
    }
    case 'regions-batch':
      return regionsEach(encoder, x, req.minScore);
  }
}

/** The encoder, or undefined after posting why it did not load (the main thread then ends this thread). */
async function load(): Promise<Encoder | undefined> {
  try {
    // Tensors here only carry pixels to the ORT sessions (and slice or resize them for a combination's
    // parts): the pure-JS cpu backend does that without a second wasm instance or native binding per thread.
    setIntraOpThreads(intraOpThreads);
    await initBackend('cpu');
    tf.enableProdMode(); // only silences tfjs's warnings (its cpu backend's "install the node backend" banner)
    return await loadEncoder(name, modelsDir, runtime);
  } catch (err) {
    post({ type: 'load-error', message: (err instanceof Error ? err.message : String(err)).split('\n')[0]! });
    return undefined;
  }
}

const encoder = await load();
if (encoder) {
  let running = 0;
  let closing = false;
  // Released once closing and idle, and the thread ends then, never mid-run. It exits explicitly: left to
  // itself it lingered (something in the loaded modules keeps its event loop alive) until the main
  // thread's grace timer terminated it, which made every stop 10 s long.
  const releaseIfDone = () => {
    if (!closing || running > 0) return;
    encoder.dispose();
    process.exit(0);
  };
  port.on('message', (req: ThreadRequest) => {
    if (req.op === 'close') {
      closing = true;
      port.removeAllListeners('message');
      return releaseIfDone();
    }
    running++;
    answer(encoder, req)
      .catch((err: unknown) => post({ type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        running--;
        releaseIfDone();
      });
  });
  const { dim, inputSize, runtime: rt } = encoder;
  post({
    type: 'ready',
    dim,
    inputSize,
    detects: encoder.encodeAndDetect !== undefined,
    regions: encoder.encodeWithRegions !== undefined,
    ...(rt === undefined ? {} : { runtime: rt }),
  });
}
