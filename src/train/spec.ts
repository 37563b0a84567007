import * as tf from '@tensorflow/tfjs';
import type { LossOutput } from './step.js';

/** A tensor as plain data: what crosses between threads. */
export interface HostTensor {
  data: Float32Array | Int32Array;
  shape: number[];
}
export type HostTensors = Record<string, HostTensor>;

/** Copies of `tensors`' values (float32 or int32). */
export function toHost(tensors: tf.NamedTensorMap): HostTensors {
  const out: HostTensors = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new Error(`${name}: only float32 and int32 tensors cross threads, not ${t.dtype}`);
    out[name] = { data: t.dataSync() as Float32Array | Int32Array, shape: [...t.shape] };
  }
  return out;
}

export function fromHost(host: HostTensors): tf.NamedTensorMap {
  return Object.fromEntries(
    Object.entries(host).map(([name, h]) => [name, tf.tensor(h.data, h.shape, h.data instanceof Int32Array ? 'int32' : 'float32')]),
  );
}

/** A model the step can train: its variables by parameter name. */
export interface Replica {
  variables(): Record<string, tf.Variable>;
  dispose(): void;
}

/** A share of a batch packed as tensors, and the items its loss is a mean over (its weight in the average). */
export interface Shard {
  tensors: tf.NamedTensorMap;
  items: number;
}

/** A batch that can be cut into row ranges [from, to) of its `rows` (captions, questions, streams), each packed as a shard. */
export interface RowBatch {
  readonly rows: number;
  shard(from: number, to: number): Shard;
}

/**
 * What the gradient pool knows of a trainer, so that train/ knows no task: a module in the task's
 * folder exports one as `spec`, and each worker thread imports that module (`module`, its URL) to
 * build a replica from the model's config and the loss of the shards it is sent.
 */
export interface TrainerSpec<C = never, M extends Replica = Replica> {
  /** URL of the module that exports this spec as `spec` (its import.meta.url). */
  readonly module: string;
  /** A model from its config; the pool overwrites its weights before each shard. */
  replica(config: C): M;
  /** The mean loss of a packed shard (under tf.variableGrads), and what it carries to the next step. */
  loss(model: M, batch: tf.NamedTensorMap, seed: number): tf.Scalar | LossOutput;
}
