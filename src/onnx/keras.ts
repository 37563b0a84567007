import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { GraphBuilder } from './graph.js';

/**
 * Export a TF.js Layers model (Keras functional topology) to ONNX.
 *
 * Inside the graph tensors are NCHW, as ONNX convolutions want; the input stays
 * NHWC like the tfjs encoders' and is transposed once. Weights are read from
 * the loaded model, so quantised weights arrive dequantised by tfjs itself.
 * Shapes are static (except the batch), which lets Keras 'same' padding become
 * explicit pads: TF puts the odd pixel after, not before.
 */

/** A graph output: a layer's tensor, or its global average over H×W (a [N, C] vector). */
export interface OutputSpec {
  /** ONNX output name. */
  name: string;
  layer: string;
  globalAvgPool?: boolean;
}

export interface KerasExportOptions {
  outputs: OutputSpec[];
  /** Divide the raw input by this first (e.g. 255, as the tfjs encoder does), so callers feed 0..255 pixels. */
  inputDivisor?: number;
  /** Name of the graph input (default "pixels"). */
  inputName?: string;
  graphName?: string;
  /** Written into the model's metadata_props (e.g. a hash of the source weights). */
  metadata?: Record<string, string>;
  /** Store large weights as uint8 codes (see GraphBuilder): for models whose tfjs weights were uint8 already. */
  quantize?: boolean;
}

/** Weights with fewer values (biases, batch-norm vectors) stay float32 under `quantize`. */
const QUANTIZE_FROM = 1024;

const inboundSchema = z.array(z.array(z.tuple([z.string(), z.number(), z.number()]).rest(z.unknown())));
const layerSchema = z.object({
  name: z.string(),
  class_name: z.string(),
  config: z.record(z.unknown()),
  inbound_nodes: inboundSchema,
});
const topologySchema = z.object({ config: z.object({ layers: z.array(layerSchema) }) });
type LayerJson = z.infer<typeof layerSchema>;

/** A tensor of the graph: its ONNX name and shape without the batch ([C, H, W] or [D]). */
interface Value {
  name: string;
  shape: number[];
}

const pair = z.tuple([z.number(), z.number()]);
const convConfig = z.object({
  kernel_size: pair,
  strides: pair,
  padding: z.enum(['valid', 'same']),
  dilation_rate: pair.default([1, 1]),
  activation: z.string().default('linear'),
  use_bias: z.boolean().default(true),
  data_format: z.literal('channels_last').default('channels_last'),
});
const poolConfig = z.object({ pool_size: pair, strides: pair.nullable(), padding: z.enum(['valid', 'same']) });

/** Keras output size and [before, after] pads of one spatial axis. */
export function kerasPads(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'valid' | 'same',
): { out: number; pads: [number, number] } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - span) / stride) + 1, pads: [0, 0] };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
}

function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor | undefined {
  return layer.weights.find((w) => w.originalName.split('/').pop()!.startsWith(suffix))?.read();
}

function requireWeight(layer: tf.layers.Layer, suffix: string): tf.Tensor {
  const w = weight(layer, suffix);
  if (!w) throw new Error(`layer ${layer.name} has no weight "${suffix}"`);
  return w;
}

/** Float32 values of a tensor after `f` (transposes), disposed on the way. */
function values(t: tf.Tensor, f: (x: tf.Tensor) => tf.Tensor = (x) => x): Float32Array {
  return tf.tidy(() => f(t).dataSync() as Float32Array).slice();
}

class KerasExporter {
  private readonly g: GraphBuilder;
  private readonly values = new Map<string, Value>();

  constructor(
    private readonly model: tf.LayersModel,
    private readonly opts: KerasExportOptions,
  ) {
    this.g = new GraphBuilder(opts.graphName ?? model.name, opts.quantize ? QUANTIZE_FROM : Infinity);
  }

  run(): Uint8Array {
    const topo = topologySchema.parse(this.model.toJSON(null, false));
    for (const o of this.opts.outputs) {
      if (!topo.config.layers.some((l) => l.name === o.layer)) throw new Error(`model ${this.model.name} has no layer "${o.layer}"`);
      this.g.reserve(o.name);
    }
    const wanted = new Set(this.opts.outputs.map((o) => o.layer));
    for (const l of topo.config.layers) {
      if (wanted.size === 0) break; // nothing past the last wanted layer is exported
      this.values.set(l.name, this.layer(l));
      wanted.delete(l.name);
    }
    for (const o of this.opts.outputs) {
      const v = this.values.get(o.layer)!;
      this.g.output(this.finalOutput(v, o), ['N', ...this.outputShape(v, o)]);
    }
    return this.g.encode('captioner keras exporter', this.opts.metadata);
  }

  private outputShape(v: Value, o: OutputSpec): number[] {
    if (!o.globalAvgPool) return v.shape.length === 3 ? [v.shape[1]!, v.shape[2]!, v.shape[0]!] : v.shape;
    if (v.shape.length !== 3) throw new Error(`output ${o.name}: layer ${o.layer} is not an image tensor to pool`);
    return [v.shape[0]!];
  }

  /** Image tensors leave the graph NHWC like the Keras model's; a pooled one as [N, C]. */
  private finalOutput(v: Value, o: OutputSpec): string {
    if (o.globalAvgPool) {
      const pooled = this.g.op('GlobalAveragePool', [v.name], {}, `${o.name}_pool`);
      return this.g.op('Flatten', [pooled], { axis: 1 }, undefined, o.name);
    }
    if (v.shape.length === 3) return this.g.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }, undefined, o.name);
    return this.g.op('Identity', [v.name], {}, undefined, o.name);
  }

  private inputsOf(l: LayerJson): Value[] {
    return (l.inbound_nodes[0] ?? []).map(([name]) => {
      const v = this.values.get(name);
      if (!v) throw new Error(`layer ${l.name}: input ${name} comes later in the topology`);
      return v;
    });
  }

  private layer(l: LayerJson): Value {
    const ins = this.inputsOf(l);
    const x = ins[0]!;
    const layer = l.class_name === 'InputLayer' ? undefined : this.model.getLayer(l.name);
    const c = l.config;
    switch (l.class_name) {
      case 'InputLayer':
        return this.input(l);
      case 'Dropout':
        return x;
      case 'ZeroPadding2D': {
        const [[t, b], [left, r]] = z.tuple([pair, pair]).parse(c.padding);
        const pads = this.g.ints(`${l.name}_pads`, [0, 0, t, left, 0, 0, b, r]);
        return {
          name: this.g.op('Pad', [x.name, pads], { mode: 'constant' }, l.name),
          shape: [x.shape[0]!, x.shape[1]! + t + b, x.shape[2]! + left + r],
        };
      }
      case 'Conv2D':
        return this.conv(l, x, layer!, false);
      case 'DepthwiseConv2D':
        return this.conv(l, x, layer!, true);
      case 'BatchNormalization':
        return this.batchNorm(l, x, layer!);
      case 'ReLU':
        return this.relu(l, x);
      case 'Activation':
        return this.activation(x, z.string().parse(c.activation), l.name);
      case 'Add':
        return {
          name: this.g.op(
            ins.length === 2 ? 'Add' : 'Sum',
            ins.map((i) => i.name),
            {},
            l.name,
          ),
          shape: x.shape,
        };
      case 'Concatenate':
        return this.concat(l, ins);
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return this.pool(l, x);
      case 'GlobalAveragePooling2D': {
        const pooled = this.g.op('GlobalAveragePool', [x.name], {}, `${l.name}_pool`);
        return { name: this.g.op('Flatten', [pooled], { axis: 1 }, l.name), shape: [x.shape[0]!] };
      }
      case 'Flatten':
        return this.flatten(l, x);
      case 'Dense':
        return this.dense(l, x, layer!);
      default:
        throw new Error(`layer ${l.name}: ${l.class_name} is not supported by the ONNX exporter`);
    }
  }

  private input(l: LayerJson): Value {
    const shape = z.array(z.number().nullable()).parse(l.config.batch_input_shape);
    const [h, w, ch] = shape.slice(1) as [number, number, number];
    let name = this.g.input(this.opts.inputName ?? 'pixels', ['N', h, w, ch]);
    if (this.opts.inputDivisor !== undefined) {
      const d = this.g.floats('input_divisor', new Float32Array([this.opts.inputDivisor]), []);
      name = this.g.op('Div', [name, d], {}, 'scaled');
    }
    return { name: this.g.op('Transpose', [name], { perm: [0, 3, 1, 2] }, l.name), shape: [ch, h, w] };
  }

  private conv(l: LayerJson, x: Value, layer: tf.layers.Layer, depthwise: boolean): Value {
    const c = convConfig.parse(l.config);
    const [C, H, W] = x.shape as [number, number, number];
    const [kh, kw] = c.kernel_size;
    const hp = kerasPads(H, kh, c.strides[0], c.dilation_rate[0], c.padding);
    const wp = kerasPads(W, kw, c.strides[1], c.dilation_rate[1], c.padding);
    let kernel: string;
    let outC: number;
    if (depthwise) {
      // [kh, kw, C, m] → [C·m, 1, kh, kw]: output channel c·m + j reads input channel c, as in TF.
      const k = requireWeight(layer, 'depthwise_kernel');
      outC = C * k.shape[3]!;
      kernel = this.g.floats(
        `${l.name}_W`,
        values(k, (t) => t.transpose([2, 3, 0, 1])),
        [outC, 1, kh, kw],
      );
    } else {
      const k = requireWeight(layer, 'kernel'); // [kh, kw, C, F] → [F, C, kh, kw]
      outC = k.shape[3]!;
      kernel = this.g.floats(
        `${l.name}_W`,
        values(k, (t) => t.transpose([3, 2, 0, 1])),
        [outC, C, kh, kw],
      );
    }
    const inputs = [x.name, kernel];
    const bias = c.use_bias ? weight(layer, 'bias') : undefined;
    if (bias) inputs.push(this.g.floats(`${l.name}_B`, values(bias), [outC]));
    const name = this.g.op(
      'Conv',
      inputs,
      {
        kernel_shape: [kh, kw],
        strides: c.strides,
        dilations: c.dilation_rate,
        pads: [hp.pads[0], wp.pads[0], hp.pads[1], wp.pads[1]],
        group: depthwise ? C : 1,
      },
      c.activation === 'linear' ? l.name : `${l.name}_conv`,
    );
    return this.activation({ name, shape: [outC, hp.out, wp.out] }, c.activation, l.name);
  }

  private batchNorm(l: LayerJson, x: Value, layer: tf.layers.Layer): Value {
    const epsilon = z.number().parse(l.config.epsilon);
    const axis = z.number().parse(l.config.axis);
    if (axis !== -1 && axis !== x.shape.length)
      throw new Error(`layer ${l.name}: BatchNormalization over axis ${axis} is not the channel axis`);
    const C = x.shape[0]!;
    const ones = new Float32Array(C).fill(1);
    const gamma = weight(layer, 'gamma');
    const beta = weight(layer, 'beta');
    const args = [
      this.g.floats(`${l.name}_scale`, gamma ? values(gamma) : ones, [C]),
      this.g.floats(`${l.name}_bias`, beta ? values(beta) : new Float32Array(C), [C]),
      this.g.floats(`${l.name}_mean`, values(requireWeight(layer, 'moving_mean')), [C]),
      this.g.floats(`${l.name}_var`, values(requireWeight(layer, 'moving_variance')), [C]),
    ];
    return { name: this.g.op('BatchNormalization', [x.name, ...args], { epsilon: { f: epsilon } }, l.name), shape: x.shape };
  }

  private relu(l: LayerJson, x: Value): Value {
    const c = z
      .object({
        max_value: z.number().nullable().default(null),
        negative_slope: z.literal(0).default(0),
        threshold: z.literal(0).default(0),
      })
      .parse(l.config);
    if (c.max_value === null) return { name: this.g.op('Relu', [x.name], {}, l.name), shape: x.shape };
    const lo = this.g.floats(`${l.name}_min`, new Float32Array([0]), []);
    const hi = this.g.floats(`${l.name}_max`, new Float32Array([c.max_value]), []);
    return { name: this.g.op('Clip', [x.name, lo, hi], {}, l.name), shape: x.shape };
  }

  private activation(x: Value, fn: string, name: string): Value {
    const ops: Record<string, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };
    if (fn === 'linear') return x;
    if (fn === 'relu6') return this.relu({ name, class_name: 'ReLU', config: { max_value: 6 }, inbound_nodes: [] }, x);
    const op = ops[fn];
    if (!op) throw new Error(`activation "${fn}" (${name}) is not supported by the ONNX exporter`);
    if (op === 'Softmax' && x.shape.length !== 1) throw new Error(`${name}: softmax only over vectors`);
    return { name: this.g.op(op, [x.name], {}, name), shape: x.shape };
  }

  private concat(l: LayerJson, ins: Value[]): Value {
    const rank = ins[0]!.shape.length + 1;
    const axis = z.number().parse(l.config.axis);
    const keras = axis < 0 ? axis + rank : axis;
    if (keras !== rank - 1) throw new Error(`layer ${l.name}: Concatenate over axis ${axis} is not the channel axis`);
    const shape = [...ins[0]!.shape];
    shape[0] = ins.reduce((n, i) => n + i.shape[0]!, 0);
    return {
      name: this.g.op(
        'Concat',
        ins.map((i) => i.name),
        { axis: 1 },
        l.name,
      ),
      shape,
    };
  }

  private pool(l: LayerJson, x: Value): Value {
    const c = poolConfig.parse(l.config);
    const strides = c.strides ?? c.pool_size;
    const [C, H, W] = x.shape as [number, number, number];
    const hp = kerasPads(H, c.pool_size[0], strides[0], 1, c.padding);
    const wp = kerasPads(W, c.pool_size[1], strides[1], 1, c.padding);
    const attrs = { kernel_shape: c.pool_size, strides, pads: [hp.pads[0], wp.pads[0], hp.pads[1], wp.pads[1]] };
    // TF averages over the window's real pixels only: count_include_pad 0, ONNX's default.
    const op = l.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
    return { name: this.g.op(op, [x.name], attrs, l.name), shape: [C, hp.out, wp.out] };
  }

  private flatten(l: LayerJson, x: Value): Value {
    if (x.shape.length === 1) return x;
    const [C, H, W] = x.shape as [number, number, number];
    // Keras flattens NHWC order; with 1×1 maps that is the channel order already.
    const nhwc = H * W === 1 ? x.name : this.g.op('Transpose', [x.name], { perm: [0, 2, 3, 1] }, `${l.name}_nhwc`);
    return { name: this.g.op('Flatten', [nhwc], { axis: 1 }, l.name), shape: [C * H * W] };
  }

  private dense(l: LayerJson, x: Value, layer: tf.layers.Layer): Value {
    const c = z
      .object({ units: z.number(), activation: z.string().default('linear'), use_bias: z.boolean().default(true) })
      .parse(l.config);
    if (x.shape.length !== 1) throw new Error(`layer ${l.name}: Dense over a ${x.shape.length}-d tensor is not supported`);
    const k = requireWeight(layer, 'kernel');
    const inputs = [x.name, this.g.floats(`${l.name}_W`, values(k), [x.shape[0]!, c.units])];
    const bias = c.use_bias ? weight(layer, 'bias') : undefined;
    if (bias) inputs.push(this.g.floats(`${l.name}_B`, values(bias), [c.units]));
    const name = this.g.op('Gemm', inputs, {}, c.activation === 'linear' ? l.name : `${l.name}_gemm`);
    return this.activation({ name, shape: [c.units] }, c.activation, l.name);
  }
}

/** Serialised ONNX ModelProto of `model`, cut at the requested outputs. */
export function exportLayersModel(model: tf.LayersModel, opts: KerasExportOptions): Uint8Array {
  if (opts.outputs.length === 0) throw new Error('exportLayersModel: name at least one output');
  return new KerasExporter(model, opts).run();
}
