import type * as tf from '@tensorflow/tfjs';
import type { Ops } from '../nn/tensor-ops.js';
import { GraphBuilder, type Dim, type ElemType } from './graph.js';

/** A weight as the graph stores it: values and dims. */
export interface Weight {
  values: Float32Array;
  dims: number[];
}

/** A tfjs weight copied out (dataSync: the weights are in memory; an export runs once at load). */
export function weightOf(t: tf.Tensor): Weight {
  return { values: Float32Array.from(t.dataSync() as Float32Array), dims: [...t.shape] };
}

export function weightsOf(params: Readonly<Record<string, tf.Tensor>>): Record<string, Weight> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, weightOf(v)]));
}

/**
 * The model operations (src/nn/tensor-ops.ts) recorded as ONNX nodes: a model's maths, run with
 * these ops, writes its serving graph. Tensors are graph names.
 */
export class OnnxOps implements Ops<string> {
  readonly g: GraphBuilder;
  private readonly added = new Map<string, string>();

  constructor(
    name: string,
    private readonly weightValues: Readonly<Record<string, Weight>> = {},
  ) {
    this.g = new GraphBuilder(name);
  }

  /**
   * The weights by name, each added as an initializer when first read (so a graph holds only those
   * its maths uses), as the models' params objects are read on tfjs.
   */
  weights<K extends string>(): Readonly<Record<K, string>> {
    return new Proxy({} as Record<K, string>, {
      get: (_, name) => (typeof name === 'string' ? this.weight(name) : undefined),
    });
  }

  weight(name: string): string {
    const known = this.added.get(name);
    if (known) return known;
    const w = this.weightValues[name];
    if (!w) throw new Error(`ONNX export: no weight "${name}"`);
    const n = this.g.floats(name, w.values, w.dims);
    this.added.set(name, n);
    return n;
  }

  /** A graph input named exactly `name`. */
  input(name: string, dims: Dim[], type: ElemType = 'float32'): string {
    const n = this.g.input(name, dims, type);
    if (n !== name) throw new Error(`ONNX export: the input name "${name}" is taken`);
    return n;
  }

  /** `x` as the graph output `name`. */
  output(x: string, name: string, dims: Dim[]): void {
    this.g.reserve(name);
    this.g.op('Identity', [x], {}, undefined, name);
    this.g.output(name, dims);
  }

  /** The serialised model. */
  encode(): Uint8Array {
    return this.g.encode();
  }

  private op(type: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    return this.g.op(type, inputs, attrs);
  }

  matMul = (a: string, b: string) => this.op('MatMul', [a, b]);
  add = (a: string, b: string) => this.op('Add', [a, b]);
  sub = (a: string, b: string) => this.op('Sub', [a, b]);
  mul = (a: string, b: string) => this.op('Mul', [a, b]);
  div = (a: string, b: string) => this.op('Div', [a, b]);
  max = (a: string, b: string) => this.op('Max', [a, b]);
  sigmoid = (x: string) => this.op('Sigmoid', [x]);
  tanh = (x: string) => this.op('Tanh', [x]);
  softmax = (x: string) => this.op('Softmax', [x], { axis: -1 });
  logSoftmax = (x: string) => this.op('LogSoftmax', [x], { axis: -1 });
  split = (x: string, sizes: number[] | number, axis: number) => {
    // A number: that many equal parts (opset 13's Split without its `split` input).
    const inputs = typeof sizes === 'number' ? [x] : [x, this.g.ints('sizes', sizes)];
    const parts = typeof sizes === 'number' ? sizes : sizes.length;
    return this.g.opMulti(
      'Split',
      inputs,
      { axis },
      Array.from({ length: parts }, (_, i) => `part${i}`),
    );
  };
  concat = (xs: string[], axis: number) => (xs.length === 1 ? xs[0]! : this.op('Concat', xs, { axis }));
  gather = (table: string, ids: string) => this.op('Gather', [table, ids], { axis: 0 });
  column = (x: string, t: number) =>
    this.op('Squeeze', [this.op('Gather', [x, this.g.ints('t', [t])], { axis: 1 }), this.g.ints('axis', [1])]);
  sumKeep = (x: string, axis: number) => this.op('ReduceSum', [x, this.g.ints('axes', [axis])], { keepdims: 1 });
  reshape = (x: string, shape: number[]) => this.op('Reshape', [x, this.g.ints('shape', shape)]);
  expandDims = (x: string, axis: number) => this.op('Unsqueeze', [x, this.g.ints('axes', [axis])]);
  squeeze = (x: string, axis: number) => this.op('Squeeze', [x, this.g.ints('axes', [axis])]);
  constant = (values: Float32Array | readonly number[], dims: number[]) => this.g.floats('const', Float32Array.from(values), dims);
  zerosLike = (x: string) => this.op('ConstantOfShape', [this.op('Shape', [x])]);
}
