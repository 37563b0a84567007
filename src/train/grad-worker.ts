// Worker thread of GradientPool: gradients of a share of each batch on a replica of the model,
// built by the trainer's spec module (workerData.module), so this file knows no task.
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, parseBackendName } from '../nn/backend.js';
import type { GradReply, GradRequest, GradWorkerData } from './parallel.js';
import { fromHost, toHost, type Replica, type TrainerSpec } from './spec.js';
import { lossGradients } from './step.js';

const { module, config } = workerData as GradWorkerData;
await initBackend(parseBackendName(process.env.TF_BACKEND));
const { spec } = (await import(module)) as { spec: TrainerSpec<unknown, Replica> };
const model = spec.replica(config);
const variables = model.variables();

parentPort!.on('message', (req: GradRequest) => {
  try {
    for (const [name, v] of Object.entries(variables)) {
      const values = tf.tensor(req.params[name]!, v.shape);
      v.assign(values);
      values.dispose();
    }
    const batch = fromHost(req.batch);
    const { loss, grads, carry } = lossGradients(variables, () => spec.loss(model, batch, req.seed));
    tf.dispose(Object.values(batch));
    const arrays = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, g.dataSync() as Float32Array]));
    const carried = carry ? toHost(carry) : undefined;
    tf.dispose([...Object.values(grads), ...Object.values(carry ?? {})]);
    const reply: GradReply = { id: req.id, loss, grads: arrays, ...(carried ? { carry: carried } : {}) };
    const buffers = new Set(
      [...Object.values(arrays), ...Object.values(carried ?? {}).map((h) => h.data)].map((a) => a.buffer as ArrayBuffer),
    );
    parentPort!.postMessage(reply, [...buffers]);
  } catch (err) {
    parentPort!.postMessage({ id: req.id, loss: NaN, grads: {}, error: (err as Error).message } satisfies GradReply);
  }
});
