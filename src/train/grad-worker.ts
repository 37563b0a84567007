// Worker thread of GradientPool: gradients of a share of each batch on a model replica.
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { CaptionModel } from '../caption/model.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import { batchGradients } from '../caption/batches.js';
import type { GradReply, GradRequest, GradWorkerData } from './parallel.js';

const { config, features } = workerData as GradWorkerData;
await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = CaptionModel.init(config, 0);

parentPort!.on('message', (req: GradRequest) => {
  try {
    for (const [name, v] of Object.entries(model.params)) {
      const values = tf.tensor(req.params[name]!, (v as tf.Variable).shape);
      (v as tf.Variable).assign(values);
      values.dispose();
    }
    const { loss, grads } = batchGradients(model, req.batch, features, req.seed);
    const arrays = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, g.dataSync() as Float32Array]));
    tf.dispose(Object.values(grads));
    const reply: GradReply = { id: req.id, loss, grads: arrays };
    parentPort!.postMessage(
      reply,
      Object.values(arrays).map((a) => a.buffer as ArrayBuffer),
    );
  } catch (err) {
    parentPort!.postMessage({ id: req.id, loss: NaN, grads: {}, error: (err as Error).message } satisfies GradReply);
  }
});
