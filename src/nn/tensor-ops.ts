import * as tf from '@tensorflow/tfjs';
import { matMul } from './ops.js';

/**
 * The tensor operations the models' maths is written in, once: `tfOps` runs them eagerly on tfjs
 * (differentiable: training and the tfjs fallback), `OnnxOps` (src/onnx/ops.ts) records them as
 * ONNX nodes, from which the serving graphs are exported. `T` is a tfjs tensor or a graph tensor's
 * name. Shapes follow ONNX: in `reshape`, 0 keeps that dimension and -1 is inferred, so a graph
 * keeps its batch dimension dynamic.
 */
export interface Ops<T> {
  /** [..., K]·[K, M] → [..., M] (a rank-3 left side is a batch of rows). */
  matMul(a: T, b: T): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  max(a: T, b: T): T;
  sigmoid(x: T): T;
  tanh(x: T): T;
  softmax(x: T): T;
  logSoftmax(x: T): T;
  /** Along `axis`, into parts of `sizes`, or into that many equal parts. */
  split(x: T, sizes: number[] | number, axis: number): T[];
  concat(xs: T[], axis: number): T;
  /** Rows `ids` (int32) of `table`: [..ids, ...table.shape.slice(1)]. */
  gather(table: T, ids: T): T;
  /** Column `t` of [N, T]: [N]. */
  column(x: T, t: number): T;
  /** Σ over `axis`, the axis kept as 1. */
  sumKeep(x: T, axis: number): T;
  reshape(x: T, shape: number[]): T;
  expandDims(x: T, axis: number): T;
  squeeze(x: T, axis: number): T;
  /** A float32 constant. */
  constant(values: Float32Array | readonly number[], dims: number[]): T;
  /** Zeros shaped as `x`. */
  zerosLike(x: T): T;
}

/** tfjs shape of an ONNX-style reshape target (0 keeps the dimension of x). */
function targetShape(x: tf.Tensor, shape: number[]): number[] {
  return shape.map((d, i) => (d === 0 ? x.shape[i]! : d));
}

/** The operations on tfjs, eager and differentiable. Callers own tf.tidy. */
export const tfOps: Ops<tf.Tensor> = {
  matMul(a, b) {
    if (a.rank === 2) return matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    const rows = a.reshape([-1, a.shape[a.rank - 1]!]) as tf.Tensor2D;
    return matMul(rows, b as tf.Tensor2D).reshape([...a.shape.slice(0, -1), b.shape[1]!]);
  },
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  max: (a, b) => tf.maximum(a, b),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softmax: (x) => tf.softmax(x),
  logSoftmax: (x) => tf.logSoftmax(x),
  split: (x, sizes, axis) => tf.split(x, sizes, axis),
  concat: (xs, axis) => (xs.length === 1 ? xs[0]! : tf.concat(xs, axis)),
  gather: (table, ids) => tf.gather(table, ids),
  column: (x, t) => tf.slice(x as tf.Tensor2D, [0, t], [-1, 1]).reshape([-1]),
  sumKeep: (x, axis) => tf.sum(x, axis, true),
  reshape: (x, shape) => x.reshape(targetShape(x, shape)),
  expandDims: (x, axis) => tf.expandDims(x, axis),
  squeeze: (x, axis) => tf.squeeze(x, [axis]),
  constant: (values, dims) => tf.tensor(values, dims, 'float32'),
  zerosLike: (x) => tf.zerosLike(x),
};
