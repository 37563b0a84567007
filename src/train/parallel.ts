import * as tf from '@tensorflow/tfjs';
import type { Worker } from 'node:worker_threads';
import { tsWorker } from '../util/ts-worker.js';
import { fromHost, toHost, type HostTensors, type Replica, type RowBatch, type TrainerSpec } from './spec.js';
import { lossGradients, type Gradients, type ParamGrads } from './step.js';

/** Flat copies of tensors by name. */
export type Arrays = Record<string, Float32Array>;

export interface GradRequest {
  id: number;
  params: Arrays;
  batch: HostTensors;
  seed: number;
}
export interface GradReply {
  id: number;
  loss: number;
  /** Only the parameters the shard's loss reaches. */
  grads: Arrays;
  carry?: HostTensors;
  error?: string;
}
export interface GradWorkerData {
  /** The spec module's URL and the config its replica is built from. */
  module: string;
  config: unknown;
}

/** Row ranges [from, to) of `rows` in `parts` of near-equal size (empty ones dropped). */
export function rowRanges(rows: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < parts; k++) {
    const from = Math.floor((k * rows) / parts);
    const to = Math.floor(((k + 1) * rows) / parts);
    if (to > from) out.push([from, to]);
  }
  return out;
}

function snapshot(variables: Record<string, tf.Variable>): Arrays {
  return Object.fromEntries(Object.entries(variables).map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

/** Seed of shard k (shard 0, on this thread, keeps the step's seed). */
const shardSeed = (seed: number, k: number) => seed + 7919 * k;

/**
 * Data parallelism over worker threads for any trainer: the wasm backend uses one core per
 * thread, so each extra thread computes the gradients of a row range of the batch on a replica
 * of the model (built by the trainer's spec module from its config), and this thread averages
 * them, weighted by the items each share's mean loss is over (tokens, questions, characters), so
 * the result is the whole batch's mean loss and its gradients. With no extra threads the batch
 * is one shard on this thread.
 */
export class GradientPool<C, M extends Replica> {
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: GradReply) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly spec: TrainerSpec<C, M>,
    config: C,
    extraThreads: number,
  ) {
    const workerData: GradWorkerData = { module: spec.module, config };
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

  private remote(worker: Worker, req: Omit<GradRequest, 'id'>): Promise<GradReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id } satisfies GradRequest);
    });
  }

  /** Loss, gradients and carried tensors of the whole batch, computed across all threads. */
  async gradients(model: M, batch: RowBatch, seed: number): Promise<Gradients> {
    const variables = model.variables();
    const ranges = rowRanges(batch.rows, this.threads);
    const local = (from: number, to: number, s: number) => {
      const shard = batch.shard(from, to);
      try {
        return { items: shard.items, ...lossGradients(variables, () => this.spec.loss(model, shard.tensors, s)) };
      } finally {
        tf.dispose(Object.values(shard.tensors));
      }
    };
    if (ranges.length === 1) {
      const { loss, grads, carry } = local(0, batch.rows, seed);
      return { loss, grads, ...(carry ? { carry } : {}) };
    }
    // Send the remote shares first, so the workers run while this thread computes its own.
    const params = snapshot(variables);
    const shards = ranges.slice(1).map(([from, to]) => {
      const s = batch.shard(from, to);
      const host = toHost(s.tensors);
      tf.dispose(Object.values(s.tensors));
      return { items: s.items, host };
    });
    const replies = shards.map((s, k) => this.remote(this.workers[k]!, { params, batch: s.host, seed: shardSeed(seed, k + 1) }));
    const mine = local(ranges[0]![0], ranges[0]![1], seed);
    let remote: GradReply[];
    try {
      remote = await Promise.all(replies);
    } catch (err) {
      tf.dispose([...Object.values(mine.grads), ...Object.values(mine.carry ?? {})]);
      throw err;
    }
    const total = shards.reduce((n, s) => n + s.items, mine.items);
    const w = [mine.items / total, ...shards.map((s) => s.items / total)];
    // Every parameter some share reaches; one a share does not reach has a zero gradient there.
    const names = [...new Set([...Object.keys(mine.grads), ...remote.flatMap((r) => Object.keys(r.grads))])];
    const order = Object.keys(variables).filter((n) => names.includes(n));
    const grads: ParamGrads = {};
    for (const name of order) {
      const shape = variables[name]!.shape;
      grads[name] = tf.tidy(() => {
        const g0 = mine.grads[name];
        let acc: tf.Tensor | undefined = g0 ? tf.mul(g0, w[0]!) : undefined;
        remote.forEach((r, k) => {
          const g = r.grads[name];
          if (!g) return;
          const term = tf.mul(tf.tensor(g, shape), w[k + 1]!);
          acc = acc ? tf.add(acc, term) : term;
        });
        return acc!;
      });
    }
    tf.dispose(Object.values(mine.grads));
    const loss = remote.reduce((acc, r, k) => acc + r.loss * w[k + 1]!, mine.loss * w[0]!);
    let carry: tf.NamedTensorMap | undefined;
    if (mine.carry) {
      const parts = remote.map((r) => fromHost(r.carry ?? {}));
      carry = Object.fromEntries(Object.entries(mine.carry).map(([k, t]) => [k, tf.concat([t, ...parts.map((p) => p[k]!)], 0)]));
      tf.dispose([...Object.values(mine.carry), ...parts.flatMap((p) => Object.values(p))]);
    }
    return { loss, grads, ...(carry ? { carry } : {}) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
