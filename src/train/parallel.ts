import * as tf from '@tensorflow/tfjs';
import type { Worker } from 'node:worker_threads';
import type { CaptionConfig } from '../caption/config.js';
import type { CaptionModel } from '../caption/model.js';
import { tsWorker } from '../util/ts-worker.js';
import type { FeatureSet } from '../data/features.js';
import { batchGradients, type Batch } from '../caption/batches.js';
import type { ParamGrads } from './gradients.js';

/** Flat copies of tensors by name: what crosses between threads. */
export type Arrays = Record<string, Float32Array>;

export interface GradRequest {
  id: number;
  params: Arrays;
  batch: Batch;
  seed: number;
}
export interface GradReply {
  id: number;
  loss: number;
  grads: Arrays;
  error?: string;
}
export interface GradWorkerData {
  config: CaptionConfig;
  features: Omit<FeatureSet, 'data'> & { data: Float32Array };
}

/** Rows [from, to) of a padded batch. */
function sliceBatch(b: Batch, from: number, to: number): Batch {
  const T1 = b.steps + 1;
  const mask = b.mask.slice(from * b.steps, to * b.steps);
  return {
    featureRows: b.featureRows.slice(from, to),
    tokens: b.tokens.slice(from * T1, to * T1),
    mask,
    size: to - from,
    steps: b.steps,
    targets: mask.reduce((n, m) => n + m, 0),
  };
}

/** Split a batch into `parts` row ranges of near-equal size (empty ones dropped). */
export function splitBatch(b: Batch, parts: number): Batch[] {
  const out: Batch[] = [];
  for (let k = 0; k < parts; k++) {
    const from = Math.floor((k * b.size) / parts);
    const to = Math.floor(((k + 1) * b.size) / parts);
    if (to > from) out.push(sliceBatch(b, from, to));
  }
  return out;
}

function snapshot(model: CaptionModel): Arrays {
  return Object.fromEntries(Object.entries(model.params).map(([n, v]) => [n, (v as tf.Variable).dataSync() as Float32Array]));
}

/**
 * Data parallelism over worker threads: the wasm backend uses one core per
 * thread, so each extra thread computes the gradients of its share of the
 * batch on a replica and the main thread averages them (weighted by target
 * tokens, matching the per-token mean loss) before one optimizer step.
 */
export class GradientPool {
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: GradReply) => void; reject: (e: Error) => void }>();

  constructor(extraThreads: number, config: CaptionConfig, features: FeatureSet) {
    // One shared copy of the feature matrix for every thread.
    const shared = new Float32Array(new SharedArrayBuffer(features.data.byteLength));
    shared.set(features.data);
    const workerData: GradWorkerData = { config, features: { ...features, data: shared } };
    this.workers = Array.from({ length: extraThreads }, () => {
      const w = tsWorker(new URL('./grad-worker.js', import.meta.url), { workerData });
      w.on('message', (reply: GradReply) => {
        const p = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.error) p?.reject(new Error(`gradient worker: ${reply.error}`));
        else p?.resolve(reply);
      });
      w.on('error', (err) => this.pending.forEach((p) => p.reject(err)));
      return w;
    });
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  private remote(worker: Worker, params: Arrays, batch: Batch, seed: number): Promise<GradReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: GradRequest = { id, params, batch, seed };
      worker.postMessage(req);
    });
  }

  /** Loss and averaged gradients of the whole batch, computed across all threads. */
  async gradients(model: CaptionModel, batch: Batch, features: FeatureSet, seed: number): Promise<{ loss: number; grads: ParamGrads }> {
    const parts = splitBatch(batch, this.threads);
    const params = snapshot(model);
    const remote = parts.slice(1).map((p, k) => this.remote(this.workers[k]!, params, p, seed + 7919 * (k + 1)));
    const local = batchGradients(model, parts[0]!, features, seed);
    const replies = await Promise.all(remote);
    const total = parts.reduce((n, p) => n + p.targets, 0);
    const w0 = parts[0]!.targets / total;
    const grads: ParamGrads = {};
    for (const [name, g] of Object.entries(local.grads)) {
      grads[name] = tf.tidy(() =>
        replies.reduce(
          (acc, r, k) => tf.add(acc, tf.mul(tf.tensor(r.grads[name]!, g.shape), parts[k + 1]!.targets / total)),
          tf.mul(g, w0),
        ),
      );
    }
    tf.dispose(Object.values(local.grads));
    const loss = replies.reduce((acc, r, k) => acc + r.loss * (parts[k + 1]!.targets / total), local.loss * w0);
    return { loss, grads };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
