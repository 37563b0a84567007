import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { createSession, loadOrt } from '../../src/onnx/runtime.js';
import { exportGraphModel, type GraphOutputSpec } from '../../src/onnx/tf-graph.js';
import { agreement } from './parity.js';

beforeAll(async () => {
  await initBackend();
});

// GraphDef attributes as tfjs's model.json spells them.
const str = (v: string) => ({ s: Buffer.from(v).toString('base64') });
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const strs = (v: string[]) => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } });
const float = { type: 'DT_FLOAT' };
const int32 = { type: 'DT_INT32' };

interface Node {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** A graph model in memory: nodes plus constants (stored as weights, as the converter writes them). */
function artifacts(nodes: Node[], consts: Record<string, tf.Tensor>): tf.io.ModelArtifacts {
  const constNodes = Object.entries(consts).map(([name, t]) => ({
    name,
    op: 'Const',
    attr: { value: { tensor: { dtype: t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } }, dtype: t.dtype === 'int32' ? int32 : float },
  }));
  const weightSpecs = Object.entries(consts).map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype as 'float32' | 'int32' }));
  const buffers = Object.values(consts).map((t) => new Uint8Array(t.dataSync().buffer.slice(0)));
  const data = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  buffers.reduce((at, b) => (data.set(b, at), at + b.length), 0);
  return {
    modelTopology: { node: [...constNodes, ...nodes], versions: {}, library: {} },
    weightSpecs,
    weightData: data.buffer,
    format: 'graph-model',
  };
}

const conv = (strides: number[], padding: string, extra: Record<string, unknown> = {}) => ({
  strides: ints(strides),
  padding: str(padding),
  data_format: str('NHWC'),
  dilations: ints([1, 1, 1, 1]),
  ...extra,
});
const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

/**
 * Every op the converter knows, with sizes that make SAME padding uneven (a 3×3
 * kernel at stride 2 on 10 or 8 pixels pads 1, after): strided and dilated convolutions, a depthwise multiplier of 2, explicit
 * padding, a [C] constant broadcast, both ResizeBilinear modes, MaxPool, Mean
 * with and without keep_dims, and a Reshape + TopK on the NHWC order.
 */
function tinyGraph(): tf.io.ModelArtifacts {
  const nodes: Node[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '10' }, { size: '10' }, { size: '3' }] } } },
    },
    {
      name: 'c1',
      op: '_FusedConv2D',
      input: ['x', 'w1', 'b1'],
      attr: { ...conv([1, 2, 2, 1], 'SAME'), num_args: { i: '1' }, fused_ops: strs(['BiasAdd', 'Relu6']), T: float },
    },
    {
      name: 'd1',
      op: 'FusedDepthwiseConv2dNative',
      input: ['c1', 'dw', 'db'],
      // 2×2 dilated by 3 at stride 1: SAME pads 3 pixels on each axis, 1 before and 2 after.
      attr: {
        ...conv([1, 1, 1, 1], 'SAME', { dilations: ints([1, 3, 3, 1]) }),
        num_args: { i: '1' },
        fused_ops: strs(['BiasAdd', 'Relu']),
        T: float,
      },
    },
    {
      name: 'c2',
      op: 'Conv2D',
      input: ['d1', 'w2'],
      attr: conv([1, 1, 1, 1], 'EXPLICIT', { explicit_paddings: ints([0, 0, 1, 0, 0, 1, 0, 0]) }),
    },
    { name: 'm', op: 'Mul', input: ['c2', 'scale'] },
    { name: 'a', op: 'Add', input: ['m', 'c1'] },
    { name: 's', op: 'Sub', input: ['a', 'half'] },
    { name: 'sig', op: 'Sigmoid', input: ['s'] },
    { name: 'up', op: 'ResizeBilinear', input: ['sig', 'size8'], attr: { align_corners: { b: false }, half_pixel_centers: { b: true } } },
    {
      name: 'up2',
      op: 'ResizeBilinear',
      input: ['sig', 'size10'],
      attr: { align_corners: { b: false }, half_pixel_centers: { b: false } },
    },
    { name: 'r', op: 'Relu', input: ['up'] },
    { name: 'cat', op: 'ConcatV2', input: ['up', 'r', 'axis'] },
    {
      name: 'mp',
      op: 'MaxPool',
      input: ['cat'],
      attr: { ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC') },
    },
    { name: 'id', op: 'Identity', input: ['mp'] },
    { name: 'se', op: 'Mean', input: ['id', 'hw'], attr: { keep_dims: { b: true } } },
    { name: 'gated', op: 'Mul', input: ['id', 'se'] },
    { name: 'pooled', op: 'Mean', input: ['gated', 'hw'], attr: { keep_dims: { b: false } } },
    { name: 'flat', op: 'Reshape', input: ['gated', 'shape'] },
    { name: 'top', op: 'TopKV2', input: ['flat', 'k'], attr: { sorted: { b: true } } },
  ];
  return artifacts(nodes, {
    w1: rand([3, 3, 3, 4], 1),
    b1: rand([4], 2),
    dw: rand([2, 2, 4, 2], 3),
    db: rand([8], 4),
    w2: rand([2, 2, 8, 4], 5),
    scale: rand([4], 6),
    half: tf.scalar(0.5),
    size8: tf.tensor1d([8, 8], 'int32'),
    size10: tf.tensor1d([10, 10], 'int32'),
    axis: tf.scalar(3, 'int32'),
    hw: tf.tensor1d([1, 2], 'int32'),
    shape: tf.tensor1d([1, -1], 'int32'),
    k: tf.scalar(7, 'int32'),
  });
}

const OUTPUTS: GraphOutputSpec[] = [
  { tensor: 'pooled', name: 'pooled', dims: ['N', 8] },
  { tensor: 'gated', name: 'grid', dims: ['N', 4, 4, 8] },
  { tensor: 'up2', name: 'up2', dims: ['N', 10, 10, 4] },
  { tensor: 'c1', name: 'avg', dims: ['N', 4], globalAvgPool: true },
  { tensor: 'top', name: 'scores', dims: [1, 7] },
  { tensor: 'top:1', name: 'indices', dims: [1, 7], type: 'int32' },
];

async function runOnnx(bytes: Uint8Array, x: tf.Tensor4D, fetch: string[]): Promise<Record<string, ArrayLike<number>>> {
  const ort = await loadOrt();
  const session = await createSession(bytes);
  const out = await session.run({ pixels: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) }, fetch);
  const values = Object.fromEntries(fetch.map((name) => [name, Array.from(out[name]!.data as Float32Array | Int32Array)]));
  await session.release();
  return values;
}

describe('tfjs graph model → ONNX exporter', () => {
  it('gives what tfjs gives for every supported op', async () => {
    const source = tinyGraph();
    const model = await tf.loadGraphModel(tf.io.fromMemory(source));
    const bytes = exportGraphModel(source, {
      graphName: 'tiny',
      input: { node: 'x', name: 'pixels', dims: ['N', 10, 10, 3] },
      outputs: OUTPUTS,
    });
    // One image for the outputs behind Reshape [1, -1] and TopK, two for the rest (the batch stays free).
    for (const [n, fetch] of [
      [1, ['pooled', 'grid', 'up2', 'avg', 'scores', 'indices']],
      [2, ['pooled', 'grid', 'up2', 'avg']],
    ] as const) {
      const x = tf.randomUniform([n, 10, 10, 3], 0, 255, 'float32', 7) as tf.Tensor4D;
      const tensors = model.execute({ x }, ['pooled', 'gated', 'up2', 'top', 'top:1']) as tf.Tensor[];
      const avg = tf.tidy(() => (model.execute({ x }, 'c1') as tf.Tensor).mean([1, 2]));
      const want: Record<string, ArrayLike<number>> = {
        pooled: tensors[0]!.dataSync(),
        grid: tensors[1]!.dataSync(),
        up2: tensors[2]!.dataSync(),
        avg: avg.dataSync(),
        scores: tensors[3]!.dataSync(),
        indices: tensors[4]!.dataSync(),
      };
      const got = await runOnnx(bytes, x, [...fetch]);
      for (const name of fetch) {
        if (name === 'indices') expect(Array.from(got[name]!), name).toEqual(Array.from(want[name]!));
        else expect(agreement(want[name]!, got[name]!).maxAbs, `${name}, batch ${n}`).toBeLessThan(1e-5);
      }
      tf.dispose([x, avg, ...tensors]);
    }
    model.dispose();
  });

  it('names the node whose op it cannot convert, and checks the input', () => {
    const graph = artifacts(
      [
        { name: 'x', op: 'Placeholder', attr: { dtype: float } },
        { name: 'soft', op: 'Softmax', input: ['x'] },
      ],
      {},
    );
    const opts = {
      graphName: 'bad',
      input: { node: 'x', name: 'pixels', dims: [1, 2, 2, 3] },
      outputs: [{ tensor: 'soft', name: 'y', dims: [1, 2, 2, 3] }],
    };
    expect(() => exportGraphModel(graph, opts)).toThrow(/node soft: op Softmax is not supported/);
    expect(() => exportGraphModel(graph, { ...opts, input: { ...opts.input, node: 'soft' } })).toThrow(/no Placeholder "soft"/);
  });
});
