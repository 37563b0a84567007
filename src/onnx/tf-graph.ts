import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { dataTypeCode, GraphBuilder, type Dim, type ElemType } from './graph.js';

/**
 * Export a TF.js graph model (a frozen GraphDef as model.json + weights) to ONNX.
 *
 * Only the subgraph the wanted outputs depend on is converted, so a graph can
 * be cut before post-processing that is simpler in TypeScript; an op outside
 * the supported set throws with its node name. As in keras.ts, 4-D tensors
 * are NCHW inside (ONNX convolutions want it): the NHWC input is transposed
 * once, axis arguments are remapped, and a tensor goes back to NHWC only where
 * an op depends on the memory order (Reshape, TopK) or leaves the graph.
 * TF 'SAME' padding puts the odd pixel after, which is ONNX's SAME_UPPER.
 */

export interface GraphInputSpec {
  /** The Placeholder's node name. */
  node: string;
  /** ONNX input name. */
  name: string;
  /** NHWC dims, a string for a size chosen at run time. */
  dims: Dim[];
}

export interface GraphOutputSpec {
  /** A node's output: "name" or "name:1". */
  tensor: string;
  /** ONNX output name. */
  name: string;
  /** Declared dims (NHWC for image tensors; after pooling [N, C]). */
  dims: Dim[];
  type?: ElemType;
  /** Average a [N, H, W, C] tensor over H×W to [N, C]. */
  globalAvgPool?: boolean;
}

export interface TfGraphExportOptions {
  input: GraphInputSpec;
  outputs: GraphOutputSpec[];
  graphName: string;
  /** Written into the model's metadata_props. */
  metadata?: Record<string, string>;
}

const attrValue = z
  .object({
    s: z.string().optional(),
    i: z.union([z.string(), z.number()]).optional(),
    f: z.number().optional(),
    b: z.boolean().optional(),
    type: z.string().optional(),
    list: z.object({ i: z.array(z.union([z.string(), z.number()])).optional(), s: z.array(z.string()).optional() }).optional(),
  })
  .passthrough();
const nodeSchema = z.object({
  name: z.string(),
  op: z.string(),
  input: z.array(z.string()).default([]),
  attr: z.record(attrValue).default({}),
});
const topologySchema = z.object({ node: z.array(nodeSchema) });
type NodeJson = z.infer<typeof nodeSchema>;

/** A converted tensor: its ONNX name, its rank, and whether a 4-D one is stored NCHW (TF sees NHWC). */
interface Value {
  name: string;
  rank: number;
  nchw: boolean;
}

/** NHWC axis → its position in NCHW. */
const NCHW_AXIS = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

const TF_TYPES: Record<string, ElemType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int64' };

const decode64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

class TfGraphExporter {
  private readonly g: GraphBuilder;
  private readonly nodes = new Map<string, NodeJson>();
  private readonly values = new Map<string, Value>();

  constructor(
    topology: unknown,
    private readonly weights: tf.NamedTensorMap,
    private readonly opts: TfGraphExportOptions,
  ) {
    this.g = new GraphBuilder(opts.graphName);
    for (const n of topologySchema.parse(topology).node) this.nodes.set(n.name, n);
  }

  run(): Uint8Array {
    const { input } = this.opts;
    if (this.nodes.get(input.node)?.op !== 'Placeholder') throw new Error(`graph has no Placeholder "${input.node}"`);
    for (const o of this.opts.outputs) this.g.reserve(o.name);
    const x = this.g.input(input.name, input.dims);
    this.values.set(input.node, { name: this.g.op('Transpose', [x], { perm: TO_NCHW }, 'input_nchw'), rank: 4, nchw: true });
    for (const o of this.opts.outputs) {
      const v = this.value(o.tensor);
      let out: string;
      if (o.globalAvgPool) {
        if (v.rank !== 4) throw new Error(`output ${o.name}: ${o.tensor} is not an image tensor to pool`);
        out = this.g.op('ReduceMean', [v.name], { axes: v.nchw ? [2, 3] : [1, 2], keepdims: 0 }, undefined, o.name);
      } else {
        out = this.g.op('Identity', [this.nhwc(v).name], {}, undefined, o.name);
      }
      this.g.output(out, o.dims, o.type);
    }
    return this.g.encode('captioner tfjs-graph exporter', this.opts.metadata);
  }

  /** The converted tensor "node" or "node:k", converting its node (and what it needs) first. */
  private value(ref: string): Value {
    const known = this.values.get(ref);
    if (known) return known;
    const [nodeName, port = '0'] = ref.split(':');
    const node = this.nodes.get(nodeName!);
    if (!node) throw new Error(`graph has no node "${nodeName}"`);
    if (node.op === 'Const') throw new Error(`${ref} is a constant where a computed tensor was expected`);
    const outs = this.convert(node);
    outs.forEach((v, i) => this.values.set(i === 0 ? node.name : `${node.name}:${i}`, v));
    const v = outs[Number(port)];
    if (!v) throw new Error(`node ${node.name} (${node.op}) has no output ${port}`);
    return v;
  }

  private dataInputs(node: NodeJson): string[] {
    return node.input.filter((i) => !i.startsWith('^'));
  }

  private isConst(ref: string): boolean {
    return this.nodes.get(ref.split(':')[0]!)?.op === 'Const';
  }

  private constant(ref: string): tf.Tensor {
    const t = this.weights[ref.split(':')[0]!];
    if (!t || !this.isConst(ref)) throw new Error(`${ref} is not a constant with weights`);
    return t;
  }

  private constInts(ref: string): number[] {
    return Array.from(this.constant(ref).dataSync());
  }

  private attrInts(node: NodeJson, key: string): number[] {
    const list = node.attr[key]?.list?.i;
    if (!list) throw new Error(`node ${node.name} (${node.op}) lacks the attribute ${key}`);
    return list.map(Number);
  }

  private attrString(node: NodeJson, key: string): string | undefined {
    const s = node.attr[key]?.s;
    return s === undefined ? undefined : decode64(s);
  }

  /** A 4-D value in TF's NHWC order (a transpose when it is stored NCHW). */
  private nhwc(v: Value): Value {
    if (!v.nchw) return v;
    return { name: this.g.op('Transpose', [v.name], { perm: TO_NHWC }, `${v.name}_nhwc`), rank: 4, nchw: false };
  }

  private nchw(v: Value): Value {
    if (v.nchw) return v;
    if (v.rank !== 4) throw new Error(`${v.name} is rank ${v.rank}, not an image tensor`);
    return { name: this.g.op('Transpose', [v.name], { perm: TO_NCHW }, `${v.name}_nchw`), rank: 4, nchw: true };
  }

  /** A constant operand of an elementwise op whose other operand is `like`: laid out to broadcast as TF's does. */
  private constOperand(ref: string, like: Value): Value {
    const t = this.constant(ref);
    if (t.dtype !== 'float32') throw new Error(`${ref}: only float32 constants can be elementwise operands`);
    if (like.nchw && t.rank === 4) {
      const values = tf.tidy(() => tf.transpose(t, TO_NCHW).dataSync() as Float32Array).slice();
      const [n, h, w, c] = t.shape as [number, number, number, number];
      return { name: this.g.floats(ref, values, [n, c, h, w]), rank: 4, nchw: true };
    }
    const values = (t.dataSync() as Float32Array).slice();
    // A [C] vector broadcasts against NHWC's last axis: against NCHW it must be [C, 1, 1].
    if (like.nchw && t.rank === 1 && t.size > 1) return { name: this.g.floats(ref, values, [t.size, 1, 1]), rank: 3, nchw: false };
    if (like.nchw && t.rank > 1) throw new Error(`${ref}: a rank-${t.rank} constant cannot broadcast against an image tensor`);
    return { name: this.g.floats(ref, values, t.shape), rank: t.rank, nchw: false };
  }

  private binary(node: NodeJson, onnxOp: string): Value {
    const [a, b] = this.dataInputs(node) as [string, string];
    if (this.isConst(a) && this.isConst(b)) throw new Error(`node ${node.name}: both operands are constants`);
    let va = this.isConst(a) ? undefined : this.value(a);
    let vb = this.isConst(b) ? undefined : this.value(b);
    if (va && vb && va.nchw !== vb.nchw) {
      // Mixed layouts: compute in TF's order.
      va = this.nhwc(va);
      vb = this.nhwc(vb);
    }
    const left = va ?? this.constOperand(a, vb!);
    const right = vb ?? this.constOperand(b, va!);
    const nchw = left.nchw || right.nchw;
    return { name: this.g.op(onnxOp, [left.name, right.name], {}, node.name), rank: Math.max(left.rank, right.rank), nchw };
  }

  private unary(node: NodeJson, onnxOp: string, inputs: string[] = [], attrs = {}): Value {
    const x = this.value(this.dataInputs(node)[0]!);
    return { ...x, name: this.g.op(onnxOp, [x.name, ...inputs], attrs, node.name) };
  }

  private bounds?: string[];
  /** Clip's min and max for Relu6, one pair of scalars for the whole graph. */
  private relu6Bounds(): string[] {
    return (this.bounds ??= [this.g.floats('relu6_min', new Float32Array([0]), []), this.g.floats('relu6_max', new Float32Array([6]), [])]);
  }

  /** Conv, DepthwiseConv and their fused forms (bias, then Relu or Relu6). */
  private conv(node: NodeJson, depthwise: boolean, fused: boolean): Value {
    const [xRef, wRef, ...args] = this.dataInputs(node) as [string, string, ...string[]];
    const x = this.nchw(this.value(xRef));
    if ((this.attrString(node, 'data_format') ?? 'NHWC') !== 'NHWC') throw new Error(`node ${node.name}: only NHWC is supported`);
    const strides = this.attrInts(node, 'strides');
    const dilations = node.attr.dilations ? this.attrInts(node, 'dilations') : [1, 1, 1, 1];
    const filter = this.constant(wRef);
    const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
    const attrs: Record<string, number[] | number | string> = {
      kernel_shape: [kh, kw],
      strides: [strides[1]!, strides[2]!],
      dilations: [dilations[1]!, dilations[2]!],
    };
    const padding = this.attrString(node, 'padding');
    const dilated = dilations[1] !== 1 || dilations[2] !== 1;
    if (padding === 'SAME' && !dilated) attrs.auto_pad = 'SAME_UPPER';
    else if (padding === 'SAME') {
      // ORT refuses auto_pad with dilations. At stride 1 (TF allows no other with dilation) SAME pads
      // (k - 1)·d in all, whatever the input size, the odd pixel after.
      if (strides[1] !== 1 || strides[2] !== 1) throw new Error(`node ${node.name}: dilation with a stride above 1 is not supported`);
      const [th, tw] = [(kh - 1) * dilations[1]!, (kw - 1) * dilations[2]!];
      attrs.pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
    } else if (padding === 'VALID') attrs.pads = [0, 0, 0, 0];
    else if (padding === 'EXPLICIT') {
      // explicit_paddings: [before, after] per NHWC axis; ONNX pads: [top, left, bottom, right].
      const p = this.attrInts(node, 'explicit_paddings');
      attrs.pads = [p[2]!, p[4]!, p[3]!, p[5]!];
    } else throw new Error(`node ${node.name}: padding ${padding} is not supported`);
    // TF filters are HWIO (depthwise: H, W, C, multiplier); ONNX wants OIHW (depthwise: C·M, 1, H, W, group C).
    const weights = tf.tidy(() =>
      depthwise ? tf.transpose(filter.reshape([kh, kw, cin * cout, 1]), [2, 3, 0, 1]) : tf.transpose(filter, [3, 2, 0, 1]),
    );
    const wShape = weights.shape;
    const wName = this.g.floats(wRef, (weights.dataSync() as Float32Array).slice(), wShape);
    weights.dispose();
    if (depthwise) attrs.group = cin;
    const inputs = [x.name, wName];
    let activation: string | undefined;
    if (fused) {
      const ops = (node.attr.fused_ops?.list?.s ?? []).map(decode64);
      const [first, second, ...rest] = ops;
      if (first !== 'BiasAdd' || args.length !== 1 || rest.length > 0 || (second && second !== 'Relu' && second !== 'Relu6'))
        throw new Error(`node ${node.name}: fused ops [${ops.join(', ')}] are not supported (BiasAdd, then Relu or Relu6)`);
      const bias = this.constant(args[0]!);
      inputs.push(this.g.floats(args[0]!, (bias.dataSync() as Float32Array).slice(), bias.shape));
      activation = second;
    }
    let out = this.g.op('Conv', inputs, attrs, activation ? `${node.name}_conv` : node.name);
    if (activation === 'Relu') out = this.g.op('Relu', [out], {}, node.name);
    if (activation === 'Relu6') out = this.g.op('Clip', [out, ...this.relu6Bounds()], {}, node.name);
    return { name: out, rank: 4, nchw: true };
  }

  private convert(node: NodeJson): Value[] {
    const ins = this.dataInputs(node);
    switch (node.op) {
      case 'Identity':
        return [this.value(ins[0]!)];
      case '_FusedConv2D':
        return [this.conv(node, false, true)];
      case 'Conv2D':
        return [this.conv(node, false, false)];
      case 'FusedDepthwiseConv2dNative':
        return [this.conv(node, true, true)];
      case 'DepthwiseConv2dNative':
        return [this.conv(node, true, false)];
      case 'Relu':
        return [this.unary(node, 'Relu')];
      case 'Sigmoid':
        return [this.unary(node, 'Sigmoid')];
      case 'Relu6':
        return [this.unary(node, 'Clip', this.relu6Bounds())];
      case 'Add':
      case 'AddV2':
        return [this.binary(node, 'Add')];
      case 'Sub':
        return [this.binary(node, 'Sub')];
      case 'Mul':
        return [this.binary(node, 'Mul')];
      case 'Equal':
        return [this.binary(node, 'Equal')];
      case 'Cast': {
        const to = TF_TYPES[node.attr.DstT?.type ?? ''];
        if (!to) throw new Error(`node ${node.name}: Cast to ${node.attr.DstT?.type} is not supported`);
        return [this.unary(node, 'Cast', [], { to: dataTypeCode(to) })];
      }
      case 'Mean': {
        let x = this.value(ins[0]!);
        const keep = node.attr.keep_dims?.b === true;
        const axes = this.constInts(ins[1]!).map((a) => (a < 0 ? a + x.rank : a));
        const spatial = axes.length === 2 && axes.includes(1) && axes.includes(2);
        // Without keep_dims only a spatial mean keeps NCHW's remaining order ([N, C]) equal to TF's.
        if (x.nchw && !keep && !spatial) x = this.nhwc(x);
        const onnxAxes = x.nchw ? axes.map((a) => NCHW_AXIS[a]!) : axes;
        const name = this.g.op('ReduceMean', [x.name], { axes: onnxAxes, keepdims: keep ? 1 : 0 }, node.name);
        return [{ name, rank: keep ? x.rank : x.rank - axes.length, nchw: keep && x.nchw }];
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map((r) => this.value(r));
        const [axisIn] = this.constInts(ins[ins.length - 1]!);
        const allNchw = parts.every((p) => p.nchw);
        const vs = allNchw ? parts : parts.map((p) => this.nhwc(p));
        const rank = vs[0]!.rank;
        const axis = axisIn! < 0 ? axisIn! + rank : axisIn!;
        const name = this.g.op(
          'Concat',
          vs.map((p) => p.name),
          { axis: allNchw ? NCHW_AXIS[axis]! : axis },
          node.name,
        );
        return [{ name, rank, nchw: allNchw }];
      }
      case 'ResizeBilinear': {
        const x = this.nchw(this.value(ins[0]!));
        const [h, w] = this.constInts(ins[1]!);
        // TF: align_corners, half_pixel_centers, or neither (in·out⁻¹ scaling from the corner: ONNX's asymmetric).
        const mode = node.attr.align_corners?.b ? 'align_corners' : node.attr.half_pixel_centers?.b ? 'half_pixel' : 'asymmetric';
        const nc = this.g.op(
          'Slice',
          [this.g.op('Shape', [x.name]), this.g.ints('zero', [0]), this.g.ints('two', [2])],
          {},
          `${node.name}_nc`,
        );
        const sizes = this.g.op('Concat', [nc, this.g.ints(`${node.name}_hw`, [h!, w!])], { axis: 0 }, `${node.name}_sizes`);
        const name = this.g.op('Resize', [x.name, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: mode }, node.name);
        return [{ name, rank: 4, nchw: true }];
      }
      case 'MaxPool': {
        const x = this.nchw(this.value(ins[0]!));
        const k = this.attrInts(node, 'ksize');
        const s = this.attrInts(node, 'strides');
        const padding = this.attrString(node, 'padding');
        if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`node ${node.name}: MaxPool padding ${padding} is not supported`);
        const attrs = { kernel_shape: [k[1]!, k[2]!], strides: [s[1]!, s[2]!], auto_pad: padding === 'SAME' ? 'SAME_UPPER' : 'VALID' };
        return [{ name: this.g.op('MaxPool', [x.name], attrs, node.name), rank: 4, nchw: true }];
      }
      case 'Reshape': {
        const x = this.nhwc(this.value(ins[0]!));
        const shape = this.constInts(ins[1]!);
        if (shape.includes(0)) throw new Error(`node ${node.name}: a 0 in a Reshape shape is not supported`);
        const name = this.g.op('Reshape', [x.name, this.g.ints(`${node.name}_shape`, shape)], {}, node.name);
        return [{ name, rank: shape.length, nchw: false }];
      }
      case 'TopKV2': {
        const x = this.nhwc(this.value(ins[0]!));
        const k = this.constInts(ins[1]!);
        if (node.attr.sorted?.b === false) throw new Error(`node ${node.name}: unsorted TopK is not supported`);
        const [values, indices] = this.g.opMulti('TopK', [x.name, this.g.ints(`${node.name}_k`, k)], { axis: -1, largest: 1, sorted: 1 }, [
          node.name,
          `${node.name}_indices64`,
        ]);
        // TF's indices are int32; ONNX's int64.
        const idx32 = this.g.op('Cast', [indices!], { to: dataTypeCode('int32') }, `${node.name}_indices`);
        return [
          { name: values!, rank: x.rank, nchw: false },
          { name: idx32, rank: x.rank, nchw: false },
        ];
      }
      default:
        throw new Error(`node ${node.name}: op ${node.op} is not supported by the ONNX exporter (cut the graph before it)`);
    }
  }
}

/**
 * Convert a loaded tfjs graph model's artifacts (topology + weights; float16
 * quantised weights are dequantised by tf.io.decodeWeights) to ONNX bytes.
 */
export function exportGraphModel(artifacts: tf.io.ModelArtifacts, opts: TfGraphExportOptions): Uint8Array {
  const { modelTopology, weightSpecs, weightData } = artifacts;
  if (!modelTopology || !weightSpecs || !weightData) throw new Error('graph model artifacts lack a topology or weights');
  const weights = tf.io.decodeWeights(weightData, weightSpecs);
  try {
    return new TfGraphExporter(modelTopology, weights, opts).run();
  } finally {
    tf.dispose(Object.values(weights));
  }
}
